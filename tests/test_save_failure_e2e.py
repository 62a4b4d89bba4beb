"""A rep's typing is never lost: when the database can't take a save, the form stays open with
an error that says so, in time for Slack to show it, and nothing is half-saved."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import make_url

from storage.models import Customer, FollowUp
from tests.conftest import REP, Bot
from tests.test_followup_e2e import count, good_values

SLACK_ANSWER_LIMIT_S = 3.0


@contextmanager
def database_locked(database_url: str) -> Iterator[None]:
    """Another process holding the write lock (SQLite) or the tables (PostgreSQL)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(str(url.database), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as locker:
        locker.execute("LOCK TABLE customers, followups IN ACCESS EXCLUSIVE MODE")
        yield
        locker.rollback()


def test_a_locked_database_keeps_the_form_open_with_a_retry_message(
    bot: Bot, database_url: str
) -> None:
    view = bot.open_modal()
    values = good_values(owner=REP)

    with database_locked(database_url):
        started = time.monotonic()
        response = bot.submit(view, values)
        answered_in = time.monotonic() - started

    assert response.status == 200
    assert answered_in < SLACK_ANSWER_LIMIT_S
    body = response.json()
    assert body["response_action"] == "errors"
    assert "your entry is still here" in next(iter(body["errors"].values()))
    assert count(bot, Customer) == 0
    assert count(bot, FollowUp) == 0

    # The same view, submitted again once the database is free, is saved once.
    again = bot.submit(view, values)
    assert again.body in (b"", b"{}"), again.text
    assert count(bot, FollowUp) == 1
