"""field encryption at rest: lookup hashes beside phone and email, room for ciphertext, key state

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27

The unique indexes move from phone_e164/email to their lookup hashes, which are backfilled as
plain SHA-256 (no key: a migration never needs FIELD_ENCRYPTION_KEY). Turning encryption on is
then `followup-bot rotate-key`, which encrypts the values and re-hashes them with the key.
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite rebuilds the table for this; it must stay AUTOINCREMENT (see 0008).
_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}
_BATCH = 1000


def _unkeyed(value: str | None) -> str | None:
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


def _backfill_hashes() -> None:
    customers = sa.table(
        "customers",
        sa.column("id", sa.Integer),
        sa.column("phone_e164", sa.Text),
        sa.column("email", sa.Text),
        sa.column("phone_hash", sa.String),
        sa.column("email_hash", sa.String),
    )
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(customers.c.id, customers.c.phone_e164, customers.c.email)
            .where(customers.c.id > last)
            .order_by(customers.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            customers.update()
            .where(customers.c.id == sa.bindparam("row_id"))
            .values(phone_hash=sa.bindparam("phone"), email_hash=sa.bindparam("mail")),
            [
                {"row_id": row_id, "phone": _unkeyed(phone), "mail": _unkeyed(email)}
                for row_id, phone, email in rows
            ],
        )
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("customers", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("email_hash", sa.String(length=64), nullable=True))
        # Ciphertext is longer than the value it hides.
        batch.alter_column(
            "phone_e164",
            type_=sa.Text(),
            existing_type=sa.String(length=20),
            existing_nullable=True,
        )
        batch.alter_column(
            "email", type_=sa.Text(), existing_type=sa.String(length=320), existing_nullable=True
        )
        batch.drop_index(
            "uq_customers_phone_e164",
            sqlite_where=sa.text("phone_e164 IS NOT NULL"),
            postgresql_where=sa.text("phone_e164 IS NOT NULL"),
        )
        batch.drop_index(
            "uq_customers_email",
            sqlite_where=sa.text("email IS NOT NULL"),
            postgresql_where=sa.text("email IS NOT NULL"),
        )
    _backfill_hashes()
    op.create_index(
        "uq_customers_phone_hash",
        "customers",
        ["phone_hash"],
        unique=True,
        sqlite_where=sa.text("phone_hash IS NOT NULL"),
        postgresql_where=sa.text("phone_hash IS NOT NULL"),
    )
    op.create_index(
        "uq_customers_email_hash",
        "customers",
        ["email_hash"],
        unique=True,
        sqlite_where=sa.text("email_hash IS NOT NULL"),
        postgresql_where=sa.text("email_hash IS NOT NULL"),
    )
    crypto_state = op.create_table(
        "crypto_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=True),
        sa.Column("rotation_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_crypto_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crypto_state")),
    )
    op.bulk_insert(crypto_state, [{"id": 1, "key_id": None}])


def downgrade() -> None:
    state = op.get_bind().execute(sa.text("SELECT key_id FROM crypto_state")).first()
    if state is not None and state[0] is not None:
        raise RuntimeError(
            "the data is encrypted: unset FIELD_ENCRYPTION_KEY, put it in "
            "FIELD_ENCRYPTION_OLD_KEYS and run `followup-bot rotate-key` before downgrading"
        )
    op.drop_table("crypto_state")
    op.drop_index(
        "uq_customers_email_hash",
        table_name="customers",
        sqlite_where=sa.text("email_hash IS NOT NULL"),
        postgresql_where=sa.text("email_hash IS NOT NULL"),
    )
    op.drop_index(
        "uq_customers_phone_hash",
        table_name="customers",
        sqlite_where=sa.text("phone_hash IS NOT NULL"),
        postgresql_where=sa.text("phone_hash IS NOT NULL"),
    )
    with op.batch_alter_table("customers", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.alter_column(
            "email", type_=sa.String(length=320), existing_type=sa.Text(), existing_nullable=True
        )
        batch.alter_column(
            "phone_e164",
            type_=sa.String(length=20),
            existing_type=sa.Text(),
            existing_nullable=True,
        )
        batch.drop_column("email_hash")
        batch.drop_column("phone_hash")
        batch.create_index(
            "uq_customers_email",
            ["email"],
            unique=True,
            sqlite_where=sa.text("email IS NOT NULL"),
            postgresql_where=sa.text("email IS NOT NULL"),
        )
        batch.create_index(
            "uq_customers_phone_e164",
            ["phone_e164"],
            unique=True,
            sqlite_where=sa.text("phone_e164 IS NOT NULL"),
            postgresql_where=sa.text("phone_e164 IS NOT NULL"),
        )
