"""indexes the benchmarks called for: the sweep's claim order, the summary's time windows

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_followups_owner_id_remind_at"),
        "followups",
        ["owner_id", "remind_at"],
        sqlite_where=sa.text("remind_at IS NOT NULL"),
        postgresql_where=sa.text("remind_at IS NOT NULL"),
    )
    op.create_index(op.f("ix_followups_created_at"), "followups", ["created_at"])
    op.create_index(
        op.f("ix_change_log_entity_action_at"), "change_log", ["entity", "action", "at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_change_log_entity_action_at"), table_name="change_log")
    op.drop_index(op.f("ix_followups_created_at"), table_name="followups")
    op.drop_index(op.f("ix_followups_owner_id_remind_at"), table_name="followups")
