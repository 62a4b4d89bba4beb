"""unique customer phone and email

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_email"))
        batch_op.drop_index(batch_op.f("ix_customers_phone_e164"))
        batch_op.create_index(
            "uq_customers_email",
            ["email"],
            unique=True,
            sqlite_where=sa.text("email IS NOT NULL"),
            postgresql_where=sa.text("email IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_customers_phone_e164",
            ["phone_e164"],
            unique=True,
            sqlite_where=sa.text("phone_e164 IS NOT NULL"),
            postgresql_where=sa.text("phone_e164 IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_customers_phone_e164",
            sqlite_where=sa.text("phone_e164 IS NOT NULL"),
            postgresql_where=sa.text("phone_e164 IS NOT NULL"),
        )
        batch_op.drop_index(
            "uq_customers_email",
            sqlite_where=sa.text("email IS NOT NULL"),
            postgresql_where=sa.text("email IS NOT NULL"),
        )
        batch_op.create_index(batch_op.f("ix_customers_phone_e164"), ["phone_e164"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_email"), ["email"], unique=False)
