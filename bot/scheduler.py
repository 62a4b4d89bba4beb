"""The in-process ticker. APScheduler only says "sweep now"; it holds no reminders — the database
does — so a restart loses nothing and several instances can tick at once safely."""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler

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
    scheduler.start()
    return scheduler
