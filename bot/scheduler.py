"""The in-process ticker. APScheduler only says "sweep now"; it holds no reminders — the database
does — so a restart loses nothing and several instances can tick at once safely."""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bot.erasure import purge_expired
from bot.services import Services

logger = logging.getLogger(__name__)


def sweep_once(services: Services) -> None:
    try:
        report = services.reminders.sweep(services.clock())
    except Exception:
        # A failed sweep (database restarting, say) must not stop the next one.
        logger.exception("reminder sweep failed; the next tick tries again")
        return
    for line in report.lines():
        logger.info("reminders: %s", line)


def summarise_if_due(services: Services) -> None:
    try:
        results = services.summary.run_due(services.clock())
    except Exception:
        logger.exception("morning summary failed; the next tick tries again")
        return
    for result in results:
        logger.info("summary for %s: %s", result.channel_id, result.outcome)


def housekeeping(services: Services) -> None:
    try:
        purge_expired(services.db, services.settings, services.clock())
    except Exception:
        logger.exception("housekeeping failed; the next tick tries again")


SUMMARY_TICK_SECONDS = 60
HOUSEKEEPING_SECONDS = 3600


def start_scheduler(services: Services) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        sweep_once,
        "interval",
        seconds=services.settings.remind_sweep_seconds,
        args=[services],
        id="reminder-sweep",
        # Catch up at once after downtime; never run two sweeps of one process at a time.
        next_run_time=datetime.now(services.settings.zone),
        max_instances=1,
        coalesce=True,
    )
    if services.settings.summary_channel_ids:
        # Each tick checks the database: posted today already? Then nothing happens. A bot that
        # was down at summary time posts at its next tick, marked late, the same day only.
        scheduler.add_job(
            summarise_if_due,
            "interval",
            seconds=SUMMARY_TICK_SECONDS,
            args=[services],
            id="morning-summary",
            next_run_time=datetime.now(services.settings.zone),
            max_instances=1,
            coalesce=True,
        )
    # Retention and forgetting old event ids: hourly, so a bot that is down at any given hour
    # still purges the same day.
    scheduler.add_job(
        housekeeping,
        "interval",
        seconds=HOUSEKEEPING_SECONDS,
        args=[services],
        id="housekeeping",
        next_run_time=datetime.now(services.settings.zone),
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    return scheduler
