"""Time one reminder sweep over a large table: `python -m bench.sweep [--open N] [--due N]
[--database-url URL]`. Seeds N open follow-ups (of which --due are due) with bulk inserts, then
runs one sweep against the tests' fake Slack Web API on loopback and prints the timings."""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from bot.app import make_web_client
from bot.reminders import ReminderService
from bot.settings import Settings
from bot.users import UserDirectory
from handlers.reminder_blocks import ReminderBlocks
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Customer, FollowUp
from tests.fake_slack import FakeSlack

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
OWNERS = 500
CHUNK = 20_000


def seed(db: Database, *, open_count: int, due: int, owners: int = OWNERS) -> None:
    for start in range(0, open_count, CHUNK):
        rows = range(start, min(start + CHUNK, open_count))
        with db.transaction() as session:
            session.execute(
                insert(Customer),
                [
                    {
                        "id": n + 1,
                        "name": f"客户 {n}",
                        "company": f"Company {n % 5000}",
                        "phone_e164": f"+86138{n:08d}",
                        "owner_id": f"U0OWNER{n % owners:04d}",
                        "status": "interested",
                        "created_by": "U0SEED",
                    }
                    for n in rows
                ],
            )
            session.execute(
                insert(FollowUp),
                [
                    {
                        "customer_id": n + 1,
                        "author_id": "U0SEED",
                        "owner_id": f"U0OWNER{n % owners:04d}",
                        "contacted_at": NOW - timedelta(days=3),
                        "method": "phone",
                        "summary": "Quoted 200 seats at ¥80; comparing with Acme.",
                        "feedback": "Needs CFO sign-off in December.",
                        "status_after": "interested",
                        "next_at": (
                            at := NOW - timedelta(minutes=1)
                            if n < due
                            else NOW + timedelta(days=1 + n % 300)
                        ),
                        "next_action": "Send the revised quote",
                        "remind_at": at,
                    }
                    for n in rows
                ],
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    upgrade(url)
    db = Database(url)
    started = time.perf_counter()
    seed(db, open_count=args.open, due=args.due)
    seeded_in = time.perf_counter() - started
    print(f"seeded {args.open:,} open follow-ups ({args.due:,} due) in {seeded_in:.1f} s")
    with FakeSlack() as slack:
        for n in range(OWNERS):
            slack.set_user(f"U0OWNER{n:04d}", tz="Asia/Shanghai")
        values: dict[str, object] = {
            "slack_bot_token": "xoxb-bench",  # the fake Slack accepts any bot token
            "slack_signing_secret": "bench",
            "slack_api_url": slack.base_url,
            "database_url": url,
            "remind_digest_over": 1000,
        }
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]
        client = make_web_client(settings)
        users = UserDirectory(db, client, default_zone=settings.zone, clock=lambda: NOW)
        service = ReminderService(
            db=db, client=client, users=users, settings=settings, messages=ReminderBlocks()
        )
        started = time.perf_counter()
        report = service.sweep(NOW)
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        empty = service.sweep(NOW)
        idle = time.perf_counter() - started
    if len(report.sent) != args.due or empty.sent:
        raise SystemExit(f"expected {args.due} DMs then none, got {len(report.sent)}")
    print(
        f"sweep: {len(report.sent):,} DMs in {elapsed:.2f} s "
        f"({elapsed / max(len(report.sent), 1) * 1000:.2f} ms per DM, fake Slack on loopback)"
    )
    print(f"second sweep (nothing due) over {args.open:,} open: {idle * 1000:.1f} ms")


if __name__ == "__main__":
    main()
