"""Alembic environment: runs migrations against the URL the bot (or a developer) configured."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import text

from storage.db import make_engine, normalize_database_url
from storage.models import Base

config = context.config
# Any fixed number; it names this app's migration lock among the server's advisory locks.
LOCK_KEY = 7_261_540_117
target_metadata = Base.metadata


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("Set DATABASE_URL (or sqlalchemy.url) to run migrations")
    return normalize_database_url(url)


def run_migrations_offline() -> None:
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = database_url()
    engine = make_engine(url)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch migrations rebuild tables; with foreign keys on, dropping the old table
            # would trip its references. The pragma only works outside a transaction, so it
            # goes straight to the driver's connection (foreign keys are on again per connection).
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            # SQLite can't ALTER most things; batch mode rebuilds the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Several instances may start together; let one migrate while the others wait,
                # then find nothing left to do. Migrating may wait for locks as long as it takes,
                # unlike a rep's request (storage/db.py sets a short lock_timeout for those).
                connection.execute(text("SET LOCAL lock_timeout = 0"))
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
