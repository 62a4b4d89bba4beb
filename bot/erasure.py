"""A customer's right to be forgotten (PIPL, GDPR), and retention of closed follow-ups.

Erasing keeps an anonymous stub — status, owner, dates, counts — so the team's numbers stay
true, and logs *that* an erasure happened, by whom and when, never what was erased. Messages the
bot already posted in Slack are Slack's to delete; the README says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.settings import Settings
from storage import queries
from storage.db import Database
from storage.erasure import (
    closed_followups_before,
    delete_followups,
    scrub_customer,
)
from storage.events import forget_events_before

logger = logging.getLogger(__name__)

ERASE_ACTION = "erased"
# Who the change log names when an operator erases from the command line.
COMMAND_LINE_ACTOR = "command-line"
RETENTION_BATCH = 500
EVENT_MEMORY = timedelta(days=1)


class AdminOnlyError(Exception):
    """Only ADMIN_USER_IDS may erase personal data."""


@dataclass(frozen=True)
class CustomerToErase:
    """What an admin is shown before confirming."""

    id: int
    name: str
    company: str
    followups: int
    already_erased: bool


@dataclass(frozen=True)
class ErasureReport:
    customer_id: int
    followups: int
    log_entries: int
    already_erased: bool = False


def require_admin(settings: Settings, actor_id: str) -> None:
    if actor_id != COMMAND_LINE_ACTOR and actor_id not in settings.admins:
        raise AdminOnlyError(actor_id)


def preview_erasure(
    db: Database, settings: Settings, *, customer_id: int, actor_id: str
) -> CustomerToErase | None:
    require_admin(settings, actor_id)
    with db.reader() as session:
        customer = queries.get_customer(session, customer_id)
        if customer is None:
            return None
        return CustomerToErase(
            id=customer.id,
            name=customer.name,
            company=customer.company,
            followups=queries.count_followups(session, customer.id),
            already_erased=customer.erased_at is not None,
        )


def erase_customer(
    db: Database, settings: Settings, *, customer_id: int, actor_id: str, now: datetime
) -> ErasureReport | None:
    """Erase one customer's personal data everywhere the bot stores it, in one transaction.
    None if there is no such customer; erasing twice is harmless."""
    require_admin(settings, actor_id)
    with db.transaction() as session:
        customer = queries.get_customer(session, customer_id, lock=True)
        if customer is None:
            return None
        if customer.erased_at is not None:
            return ErasureReport(customer.id, 0, 0, already_erased=True)
        counts = scrub_customer(session, customer, now)
        queries.log_change(
            session,
            actor_id=actor_id,
            entity="customer",
            entity_id=customer.id,
            action=ERASE_ACTION,
            before=None,
            after={"followups": counts.followups},
            at=now,
        )
    logger.info("customer %s erased by %s", customer_id, actor_id)
    return ErasureReport(customer_id, counts.followups, counts.log_entries)


def purge_expired(db: Database, settings: Settings, now: datetime) -> int:
    """Delete follow-ups closed more than RETENTION_DAYS ago (if set), in small batches so a
    first run over years of data never holds a long lock; forget old Slack event ids."""
    with db.transaction() as session:
        forget_events_before(session, now - EVENT_MEMORY)
    if settings.retention_days is None:
        return 0
    cutoff = now - timedelta(days=settings.retention_days)
    purged = 0
    while True:
        with db.transaction() as session:
            batch = closed_followups_before(session, cutoff, limit=RETENTION_BATCH)
            purged += delete_followups(session, batch)
        if len(batch) < RETENTION_BATCH:
            break
    if purged:
        logger.info("retention: deleted %d follow-ups closed before %s", purged, cutoff)
    return purged
