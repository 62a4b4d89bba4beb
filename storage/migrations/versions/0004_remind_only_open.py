"""only open follow-ups carry a reminder time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE followups SET remind_at = NULL WHERE state <> 'open'")
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_followups_remind_only_open"), "state = 'open' OR remind_at IS NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_followups_remind_only_open"), type_="check")
