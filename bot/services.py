"""The long-lived objects every listener needs, built once by the app factory."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient

from bot.reminders import ReminderService
from bot.settings import Settings
from bot.summary import SummaryService
from bot.users import UserDirectory
from storage.db import Database

Clock = Callable[[], datetime]
SERVICES_KEY = "followup_services"


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    client: WebClient
    users: UserDirectory
    reminders: ReminderService
    summary: SummaryService
    clock: Clock
    # Runs Bolt listeners (and the work they do after ack); owned here so shutdown can drain it.
    listeners: ThreadPoolExecutor


def services_from(context: Any) -> Services:
    """The Services the app factory put into every request's Bolt context."""
    services = context[SERVICES_KEY]
    if not isinstance(services, Services):
        raise TypeError("Bolt context has no followup-bot services; build the app with create_app")
    return services
