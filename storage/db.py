"""Engines and sessions.

One place decides how the bot talks to its database. SQLite gets WAL (readers don't block the
writer), foreign keys (off by default in SQLite) and a busy timeout (a second bot thread waits for
a lock instead of failing at once); PostgreSQL gets pre-ping so a restarted server is reconnected.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

# How long a writer waits for a lock before giving up. Below Slack's 3-second answer limit on
# purpose: a rep's submission that can't get the lock must come back with "press Save again"
# while Slack still shows our answer, not time out with the form in limbo.
SQLITE_BUSY_TIMEOUT_MS = 2_000
POSTGRES_LOCK_TIMEOUT_MS = 2_000
POSTGRES_CONNECT_TIMEOUT_S = 2


def normalize_database_url(url: str) -> str:
    """Let users write the usual postgres:// or postgresql:// and still get the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def is_sqlite(url: str) -> bool:
    return make_url(normalize_database_url(url)).get_backend_name() == "sqlite"


IMMEDIATE = "followup_immediate"


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when a transaction begins (see _begin_sqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite(connection: Any) -> None:
    """Writers take SQLite's write lock up front (BEGIN IMMEDIATE).

    With a deferred BEGIN two writers can both read "no such customer" and then both insert;
    taking the lock first makes read-then-write transactions run one after the other, waiting
    up to the busy timeout instead of failing.
    """
    immediate = connection.get_execution_options().get(IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    url = normalize_database_url(url)
    if is_sqlite(url):
        engine = create_engine(
            url,
            # Bolt runs listeners on worker threads; a pooled connection serves one at a time.
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        connect_args={
            "connect_timeout": POSTGRES_CONNECT_TIMEOUT_S,
            "options": f"-c lock_timeout={POSTGRES_LOCK_TIMEOUT_MS}",
        },
    )


class _WriterQueue:
    """This process's SQLite writers, one at a time, each woken the moment the one before it
    is done.

    A writer waiting for SQLite's lock polls for it, sleeping ever longer between tries (up to
    100 ms); with dozens of writers at once (50 reps saving together) one can lose every try
    until the busy timeout runs out and fail with "database is locked" — measured with
    bench/load.py. Queued here instead, no writer starves; SQLite's busy timeout still guards
    against other processes (a `remind` from cron, an import). Re-entrant, as a transaction
    opened inside another one on the same thread would wait on itself."""

    def __init__(self) -> None:
        self._lock = threading.RLock()

    @contextmanager
    def turn(self) -> Iterator[None]:
        if not self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise OperationalError(
                "BEGIN IMMEDIATE", None, TimeoutError("waited too long for the other writers")
            )
        try:
            yield
        finally:
            self._lock.release()


class Database:
    """An engine plus a session factory; the one handle the rest of the bot passes around."""

    def __init__(self, url: str) -> None:
        self.url = normalize_database_url(url)
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = sessionmaker(
            self.engine.execution_options(**{IMMEDIATE: True}), expire_on_commit=False
        )
        self._queue = _WriterQueue() if is_sqlite(self.url) else None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed together, or rolled back together on any error."""
        turn = self._queue.turn() if self._queue is not None else nullcontext()
        with turn, self._writers() as session, session.begin():
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
