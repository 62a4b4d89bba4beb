"""erased customers: a stub without personal data may have no phone or email

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# SQLite rebuilds the table for this; it must stay AUTOINCREMENT (see 0008).
_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("customers", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint(op.f("ck_customers_has_contact"), type_="check")
        batch.create_check_constraint(
            "has_contact",
            "phone_e164 IS NOT NULL OR email IS NOT NULL OR erased_at IS NOT NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("customers", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.drop_constraint(op.f("ck_customers_has_contact"), type_="check")
        batch.create_check_constraint("has_contact", "phone_e164 IS NOT NULL OR email IS NOT NULL")
        batch.drop_column("erased_at")
