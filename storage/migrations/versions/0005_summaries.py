"""summary runs, cached user names

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summary_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=36), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("chart_file_id", sa.String(length=32), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('claimed', 'posted')", name=op.f("ck_summary_runs_status_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summary_runs")),
        sa.UniqueConstraint(
            "channel_id", "local_date", name=op.f("uq_summary_runs_channel_id_local_date")
        ),
    )
    with op.batch_alter_table("slack_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("slack_users", schema=None) as batch_op:
        batch_op.drop_column("name")

    op.drop_table("summary_runs")
