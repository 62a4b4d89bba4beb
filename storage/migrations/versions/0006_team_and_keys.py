"""team, name keys

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_members",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("manager_id", sa.String(length=32), nullable=True),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('manager', 'rep')", name=op.f("ck_team_members_role_known")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_team_members")),
    )
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_team_members_manager_id"), ["manager_id"], unique=False
        )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_key", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("company_key", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("owner_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_customers_company_key"), ["company_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_name_key"), ["name_key"], unique=False)

    _backfill_keys()


def _backfill_keys() -> None:
    """Fill the comparable keys of existing customers with the app's own normalisation.

    Importing app code into a migration is usually avoided; here the keys *are* that code's
    output, and a copy frozen in the migration would drift from what new rows get.
    """
    from bot.matching import normalize_company, normalize_person

    connection = op.get_bind()
    customers = sa.table(
        "customers",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("company", sa.String),
        sa.column("name_key", sa.String),
        sa.column("company_key", sa.String),
        sa.column("owner_since", sa.DateTime),
        sa.column("created_at", sa.DateTime),
    )
    rows = connection.execute(sa.select(customers.c.id, customers.c.name, customers.c.company))
    for customer_id, name, company in rows.fetchall():
        connection.execute(
            customers.update()
            .where(customers.c.id == customer_id)
            .values(name_key=normalize_person(name), company_key=normalize_company(company))
        )
    connection.execute(customers.update().values(owner_since=customers.c.created_at))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_name_key"))
        batch_op.drop_index(batch_op.f("ix_customers_company_key"))
        batch_op.drop_column("owner_since")
        batch_op.drop_column("company_key")
        batch_op.drop_column("name_key")

    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_members_manager_id"))

    op.drop_table("team_members")
