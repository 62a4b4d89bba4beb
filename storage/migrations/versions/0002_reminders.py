"""reminders: scheduling columns, leases, deliveries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("recipient_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('due', 'escalation', 'escalation_manager', 'reassigned')",
            name=op.f("ck_reminder_deliveries_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('sent', 'undeliverable')", name=op.f("ck_reminder_deliveries_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["followup_id"],
            ["followups.id"],
            name=op.f("fk_reminder_deliveries_followup_id_followups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_deliveries")),
        sa.UniqueConstraint(
            "followup_id",
            "due_at",
            "kind",
            "recipient_id",
            name=op.f("uq_reminder_deliveries_followup_id_due_at_kind_recipient_id"),
        ),
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("remind_attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claim_token", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("escalated", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch_op.create_index(
            "ix_followups_remind_at",
            ["remind_at"],
            unique=False,
            sqlite_where=sa.text("remind_at IS NOT NULL"),
            postgresql_where=sa.text("remind_at IS NOT NULL"),
        )

    with op.batch_alter_table("slack_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dm_channel", sa.String(length=32), nullable=True))

    # Follow-ups logged before reminders existed are reminded too, from their next contact on.
    op.execute("UPDATE followups SET remind_at = next_at WHERE state = 'open'")


def downgrade() -> None:
    with op.batch_alter_table("slack_users", schema=None) as batch_op:
        batch_op.drop_column("dm_channel")

    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_followups_remind_at",
            sqlite_where=sa.text("remind_at IS NOT NULL"),
            postgresql_where=sa.text("remind_at IS NOT NULL"),
        )
        batch_op.drop_column("escalated")
        batch_op.drop_column("claim_token")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("remind_attempts")
        batch_op.drop_column("remind_at")

    op.drop_table("reminder_deliveries")
