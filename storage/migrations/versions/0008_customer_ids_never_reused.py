"""customer ids are never reused (SQLite AUTOINCREMENT)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # PostgreSQL sequences never reuse ids; SQLite hands out max(rowid) + 1 unless the table is
    # declared AUTOINCREMENT, which needs a rebuild.
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "customers", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "customers", recreate="always", table_kwargs={"sqlite_autoincrement": False}
    ):
        pass
