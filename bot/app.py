"""The app factory: one Bolt app, the same for Socket Mode and HTTP mode, tests and production."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy.exc import SQLAlchemyError

from bot.reminders import ReminderService
from bot.services import SERVICES_KEY, Clock, Services, system_clock
from bot.settings import Settings
from bot.summary import SummaryService
from bot.users import UserDirectory
from handlers import register_all
from handlers.reminder_blocks import ReminderBlocks
from handlers.summary_blocks import SummaryBlocks
from storage import crypto
from storage.db import Database
from storage.events import first_sighting
from storage.rotation import ensure_key_matches, fill_missing_lookup_hashes

logger = logging.getLogger(__name__)


def make_web_client(settings: Settings) -> WebClient:
    """A Web API client that rides out rate limits (honouring Retry-After) and brief outages."""
    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url or WebClient.BASE_URL,
        timeout=10,
    )
    client.retry_handlers.extend(
        [
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ]
    )
    if not any(isinstance(h, ConnectionErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(ConnectionErrorRetryHandler())
    return client


def make_lookup_client(settings: Settings) -> WebClient:
    """For users.info while a rep waits on Slack's 3-second clock: a short timeout and no
    retries; on failure the cached or default time zone is used instead."""
    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url or WebClient.BASE_URL,
        timeout=2,
    )
    client.retry_handlers.clear()
    return client


class KeptAck(Ack):
    """An ack() that stays given: Slack gets one answer, the first the listener gave.

    When a listener raises after ack() — its follow-up work failing fast, as every database
    call does while the database is down — Bolt's thread runner (slack_bolt 1.30) sets
    ack.response back to None; if the request thread had not read the answer yet, it then
    waits out Slack's 3 seconds and answers 404 "unhandled request" instead of the 200 the
    listener sent. Here the first answer set is kept (an error before any ack() still gets
    Bolt's 500)."""

    def __init__(self) -> None:
        self._answer: BoltResponse | None = None

    @property
    def response(self) -> BoltResponse | None:
        return self._answer

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        if self._answer is None:
            self._answer = value


SLACK_EVENT_ID = re.compile(r"^Ev[A-Za-z0-9]{1,62}$")


def is_repeated_event(services: Services, body: dict[str, Any]) -> bool:
    """An Events API envelope whose event_id was seen before (Slack's retry, a Socket Mode
    redelivery). Recorded before handling: a handler that fails is not retried, which suits
    events here (a Home redraw, a profile refresh) better than handling one twice."""
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    if not isinstance(event_id, str) or not SLACK_EVENT_ID.match(event_id):
        return False
    try:
        with services.db.transaction() as session:
            return not first_sighting(session, event_id, services.clock())
    except SQLAlchemyError:
        # Without the database the event can't be checked; handling it (a Home redraw, a
        # profile refresh) is better than dropping it.
        logger.exception("couldn't check event %s for a repeat", event_id)
        return False


def _fill_missing_lookup_hashes(database: Database) -> None:
    for clash in fill_missing_lookup_hashes(database):
        logger.warning("%s", clash)


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Clock = system_clock,
    check_token: bool = True,
) -> tuple[App, Services]:
    """The Bolt app and its services. `check_token=False` skips Bolt's auth.test at start-up,
    for command-line tools that may not need Slack at all (an import whose owners are ids).

    Raises KeyMismatchError when FIELD_ENCRYPTION_KEY is not the key the data is under."""
    client = make_web_client(settings)
    database = db or Database(settings.database_url)
    cipher = settings.field_cipher()
    crypto.configure(cipher)
    try:
        ensure_key_matches(database, cipher)
        _fill_missing_lookup_hashes(database)
    except Exception:
        if db is None:
            database.dispose()
        raise
    users = UserDirectory(
        database,
        client,
        default_zone=settings.zone,
        clock=clock,
        lookup_client=make_lookup_client(settings),
    )
    services = Services(
        settings=settings,
        db=database,
        client=client,
        users=users,
        reminders=ReminderService(
            db=database, client=client, users=users, settings=settings, messages=ReminderBlocks()
        ),
        summary=SummaryService(
            db=database,
            client=client,
            users=users,
            settings=settings,
            messages=SummaryBlocks(),
            clock=clock,
        ),
        clock=clock,
        # Bolt's default is 5 threads; every request waits on one until its listener acks, so
        # the pool must outnumber the server's request threads or requests queue behind it.
        listeners=ThreadPoolExecutor(
            max_workers=settings.http_threads * 4, thread_name_prefix="listener"
        ),
    )
    signing_secret = settings.slack_signing_secret
    app = App(
        client=client,
        signing_secret=signing_secret.get_secret_value() if signing_secret else None,
        # Socket Mode traffic is authenticated by the app token, not request signatures.
        request_verification_enabled=not settings.socket_mode,
        listener_executor=services.listeners,
        token_verification_enabled=check_token,
        logger=logging.getLogger("slack_bolt"),
    )

    @app.middleware
    def keep_the_ack(context: BoltContext, next: Callable[[], None]) -> None:
        context["ack"] = KeptAck()
        next()

    @app.middleware
    def provide_services(context: BoltContext, next: Callable[[], None]) -> None:
        context[SERVICES_KEY] = services
        next()

    @app.middleware
    def handle_each_event_once(
        body: dict[str, Any], next: Callable[[], None]
    ) -> BoltResponse | None:
        if is_repeated_event(services, body):
            logger.info("event %s was delivered before; not handled again", body.get("event_id"))
            return BoltResponse(status=200, body="")
        next()
        return None

    register_all(app)
    return app, services
