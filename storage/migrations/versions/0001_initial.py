"""customers, follow-ups, change log, slack user cache

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_log")),
    )
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_change_log_entity_entity_id", ["entity", "entity_id"], unique=False
        )

    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('prospect', 'interested', 'won', 'existing', 'lost')",
            name=op.f("ck_customers_status_known"),
        ),
        sa.CheckConstraint(
            "phone_e164 IS NOT NULL OR email IS NOT NULL", name=op.f("ck_customers_has_contact")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_email"), ["email"], unique=False)
        batch_op.create_index("ix_customers_owner_id_status", ["owner_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_phone_e164"), ["phone_e164"], unique=False)

    op.create_table(
        "slack_users",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_slack_users")),
    )
    op.create_table(
        "followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("status_after", sa.String(length=16), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_action", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submission_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "method IN ('phone', 'wechat', 'email', 'visit', 'meeting', 'message')",
            name=op.f("ck_followups_method_known"),
        ),
        sa.CheckConstraint("state IN ('open', 'done')", name=op.f("ck_followups_state_known")),
        sa.CheckConstraint(
            "status_after IN ('prospect', 'interested', 'won', 'existing', 'lost')",
            name=op.f("ck_followups_status_after_known"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_followups_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups")),
        sa.UniqueConstraint("submission_key", name=op.f("uq_followups_submission_key")),
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followups_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            "ix_followups_owner_id_state_next_at", ["owner_id", "state", "next_at"], unique=False
        )
        batch_op.create_index("ix_followups_state_next_at", ["state", "next_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_index("ix_followups_state_next_at")
        batch_op.drop_index("ix_followups_owner_id_state_next_at")
        batch_op.drop_index(batch_op.f("ix_followups_customer_id"))

    op.drop_table("followups")
    op.drop_table("slack_users")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_phone_e164"))
        batch_op.drop_index("ix_customers_owner_id_status")
        batch_op.drop_index(batch_op.f("ix_customers_email"))

    op.drop_table("customers")
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.drop_index("ix_change_log_entity_entity_id")

    op.drop_table("change_log")
