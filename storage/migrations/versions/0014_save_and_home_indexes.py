"""indexes for saving at scale: recently changed customers with their company key (the
look-alike check's cache), and an owner's recently done follow-ups (the Home tab)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_customers_updated_at_company_key"), "customers", ["updated_at", "company_key"]
    )
    op.create_index(
        op.f("ix_followups_owner_id_state_done_at_id"),
        "followups",
        ["owner_id", "state", "done_at", "id"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_followups_owner_id_state_done_at_id"), table_name="followups")
    op.drop_index(op.f("ix_customers_updated_at_company_key"), table_name="customers")
