"""imported rows

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imported_rows",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["followup_id"],
            ["followups.id"],
            name=op.f("fk_imported_rows_followup_id_followups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_imported_rows")),
    )


def downgrade() -> None:
    op.drop_table("imported_rows")
