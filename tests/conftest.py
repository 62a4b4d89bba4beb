"""Shared fixtures: databases (SQLite and PostgreSQL, built by the real migrations), the fake Slack
Web API, and the bot itself served over HTTP on loopback by the same server stack as production.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.app import create_app
from bot.i18n import MISSING
from bot.server import make_http_server, stop_http_server
from bot.services import Services
from bot.settings import Settings
from storage import crypto
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Base
from tests.fake_slack import FakeSlack
from tests.postgres import PostgresUnavailableError, throwaway_postgres
from tests.slack_requests import Response, SlackRequests, view_submission

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
# Friday 27 Nov 2026, 10:00 in Shanghai, 21:00 the day before in New York.
FIXED_NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)

REP = "U0REP0001"
REP_NY = "U0REPNY01"
COLLEAGUE = "U0COLL001"


@pytest.fixture(autouse=True)
def _no_real_slack_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own tokens (environment or .env) must never reach a test."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "DATABASE_URL", "DEFAULT_", "PORT", "FIELD_ENCRYPTION_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _clear_text_after_each_test() -> Iterator[None]:
    """The field cipher is process-wide: a test that set a key must not leave it to the next."""
    yield
    crypto.configure(None)


@pytest.fixture(autouse=True)
def _every_message_translated() -> Iterator[None]:
    """Whatever a test made the bot say, in English or Chinese, must come from the catalogs:
    a message id missing from one would reach a user untranslated."""
    MISSING.drain()
    yield
    missing = sorted(MISSING.drain())
    assert not missing, f"messages missing from the catalogs: {missing}"


# --- databases -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once; each test gets a copy, which is far faster than migrating per test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    external = os.environ.get("FOLLOWUP_TEST_POSTGRES_URL")
    if external:
        # The tests empty every table between tests: refuse anything not named as a test database.
        if "test" not in (make_url(external).database or ""):
            pytest.fail("FOLLOWUP_TEST_POSTGRES_URL must name a database containing 'test'")
        upgrade(external)
        yield external
        return
    try:
        with throwaway_postgres() as url:
            upgrade(url)
            yield url
    except PostgresUnavailableError as why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true: {why}")
        pytest.skip(f"PostgreSQL not available: {why}")


def _truncate_all(db: Database) -> None:
    names = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each storage and end-to-end test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "followup.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_url")
    cleaner = Database(url)
    _truncate_all(cleaner)
    yield url
    cleaner.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


# --- the bot over HTTP -----------------------------------------------------------------------


@dataclass
class MutableClock:
    """The app's notion of "now"; tests move it instead of waiting."""

    now: datetime = FIXED_NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.start()
    fake.set_user(REP, tz="Asia/Shanghai")
    fake.set_user(REP_NY, tz="America/New_York")
    fake.set_user(COLLEAGUE, tz="Asia/Shanghai")
    yield fake
    fake.stop()
    fake.assert_all_valid()


def make_settings(slack: FakeSlack, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.base_url,
        "database_url": database_url,
        "default_tz": "Asia/Shanghai",
        "default_phone_region": "CN",
        "http_threads": 8,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Bot:
    """The running app plus the handles a test needs to drive and inspect it."""

    slack: FakeSlack
    requests: SlackRequests
    services: Services
    clock: MutableClock
    url: str

    @property
    def db(self) -> Database:
        return self.services.db

    def open_modal(
        self, text: str = "", *, user_id: str = REP, channel_id: str = "C0SALES01"
    ) -> dict[str, Any]:
        """Type /followup like a rep and return the modal the bot opened."""
        before = len(self.slack.calls_to("views.open"))
        response = self.requests.command(text, user_id=user_id, channel_id=channel_id)
        assert response.status == 200, response.text
        calls = self.slack.wait_for("views.open", count=before + 1)
        # What Slack answered: the view as sent, plus the id and hash Slack gave it.
        opened: dict[str, Any] = calls[before].response["view"]
        return opened

    def submit(
        self, view: dict[str, Any], values: dict[str, Any], *, user_id: str = REP
    ) -> Response:
        payload = view_submission(view, values, user_id=user_id)
        return self.requests.interactive(payload)


@contextmanager
def running_bot(slack: FakeSlack, database_url: str, **overrides: Any) -> Iterator[Bot]:
    """The app served over HTTP on a free loopback port, until the block ends."""
    clock = MutableClock()
    settings = make_settings(slack, database_url, **overrides)
    app, services = create_app(settings, clock=clock)
    server = make_http_server(app, settings, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, name="bolt-http", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}/slack/events"
    try:
        requests = SlackRequests(url, SIGNING_SECRET, response_url_base=slack.response_url_base)
        yield Bot(slack, requests, services, clock, url)
    finally:
        stop_http_server(server)
        thread.join(timeout=10)
        # Let listeners still working after their ack (confirmations, Home redraws) finish
        # while the fake Slack is still there to answer them.
        services.listeners.shutdown(wait=True)
        services.db.dispose()


@pytest.fixture
def bot(slack: FakeSlack, database_url: str) -> Iterator[Bot]:
    with running_bot(slack, database_url) as running:
        yield running
