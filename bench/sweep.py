"""Reminder sweep at scale: `python -m bench.sweep [--followups 1000000] [--customers 100000]
[--due 10000] [--database-url URL | --postgres] [--dms]`.

Seeds the database (bench/seed.py; skipped when it already holds follow-ups), shows the query
plan of the claim (EXPLAIN QUERY PLAN on SQLite; EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, rolled
back), then claims every due follow-up the way a sweep does — batches of 100, each claim its own
transaction, the claimed rows settled before the next — and prints the time per batch. Claimed
rows are put back afterwards, so a seeded database can be reused. With --dms, one whole sweep
then runs against the tests' fake Slack Web API on loopback and the DM rate is printed too.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, event, func, select, update
from sqlalchemy.orm import Session

from bench.seed import (
    DEFAULT_OWNERS,
    NOW,
    add_database_arguments,
    bench_database,
    database_versions,
    owner_id,
    seed,
)
from bot.app import create_app
from bot.reminders import CLAIM_BATCH, ReminderItem
from bot.settings import Settings
from storage import reminders as store
from storage.db import Database, is_sqlite
from storage.migrate import upgrade
from storage.models import FollowUp
from tests.fake_slack import FakeSlack

LEASE = timedelta(minutes=5)
ESCALATE_AFTER = timedelta(hours=48)


@dataclass(frozen=True)
class ClaimResult:
    due: int
    claimed: int
    batch_seconds: list[float]  # each full batch: claim, load, commit — as the sweep does it
    batch_cpu_seconds: list[float]  # this process's CPU time for each (on SQLite, all the work)
    settle_seconds: float
    empty_claim_seconds: float  # the claim that finds nothing left
    escalation_check_seconds: float  # every sweep also looks for follow-ups to escalate
    plans: dict[str, str]


def _capture_updates(connection: Connection, work: Callable[[Session], object]) -> list[Any]:
    """The UPDATE statements (SQL and parameters) `work` sends, run in a transaction that is
    then rolled back."""
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            captured.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", grab)
    try:
        with Session(bind=connection) as session:
            work(session)
            session.rollback()
    finally:
        event.remove(connection, "before_cursor_execute", grab)
    return captured


def explain_claims(db: Database, *, now: datetime) -> dict[str, str]:
    """The plan of each claim's UPDATE, as the database runs it; nothing is kept."""
    token = str(uuid.uuid4())
    claims: dict[str, Callable[[Session], object]] = {
        "due reminders": lambda session: store.claim_due_reminders(
            session, now=now, lease_until=now + LEASE, token=token, limit=CLAIM_BATCH
        ),
        "escalations": lambda session: store.claim_due_escalations(
            session,
            overdue_before=now - ESCALATE_AFTER,
            now=now,
            lease_until=now + LEASE,
            token=token,
            limit=CLAIM_BATCH,
        ),
    }
    sqlite = is_sqlite(db.url)
    plans: dict[str, str] = {}
    with db.engine.connect() as connection:
        for name, work in claims.items():
            ((statement, parameters),) = _capture_updates(connection, work)
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
            rows = connection.exec_driver_sql(prefix + statement, parameters).all()
            connection.rollback()
            if sqlite:  # (id, parent, notused, detail): indent children under their parent
                depth = {0: -1}
                lines = []
                for node, parent, _, detail in rows:
                    depth[node] = depth.get(parent, -1) + 1
                    lines.append("  " * depth[node] + str(detail))
                plan = "\n".join(lines)
            else:
                plan = "\n".join(str(row[0]) for row in rows)
            plans[name] = f"{' '.join(statement.split())}\n\n{plan}"
    return plans


def claim_all(db: Database, *, now: datetime, due: int) -> ClaimResult:
    plans = explain_claims(db, now=now)
    token = str(uuid.uuid4())
    lease_until = now + LEASE
    batches: list[float] = []
    cpu: list[float] = []
    claimed: list[int] = []
    settling = 0.0
    while True:
        started, cpu_started = time.perf_counter(), time.process_time()
        # Exactly what ReminderService._deliver_batch does in its claim transaction.
        with db.transaction() as session:
            items = [
                ReminderItem.of(followup)
                for followup in store.claim_due_reminders(
                    session, now=now, lease_until=lease_until, token=token, limit=CLAIM_BATCH
                )
            ]
        elapsed = time.perf_counter() - started
        if not items:
            empty = elapsed
            break
        batches.append(elapsed)
        cpu.append(time.process_time() - cpu_started)
        ids = [item.followup_id for item in items]
        claimed.extend(ids)
        started = time.perf_counter()
        with db.transaction() as session:  # delivered: the sweep settles each one
            for followup_id in ids:
                store.finish_reminder(session, followup_id, token)
        settling += time.perf_counter() - started
    started = time.perf_counter()
    with db.transaction() as session:
        escalations = store.claim_due_escalations(
            session,
            overdue_before=now - ESCALATE_AFTER,
            now=now,
            lease_until=lease_until,
            token=token,
            limit=CLAIM_BATCH,
        )
    escalation_check = time.perf_counter() - started
    if escalations:
        raise SystemExit(f"seeded data should have nothing to escalate, got {len(escalations)}")
    restore(db, claimed)
    return ClaimResult(due, len(claimed), batches, cpu, settling, empty, escalation_check, plans)


def restore(db: Database, ids: Sequence[int]) -> None:
    """Make the claimed follow-ups due again (seeded due rows are reminded at their next_at)."""
    for start in range(0, len(ids), 500):
        with db.transaction() as session:
            session.execute(
                update(FollowUp)
                .where(FollowUp.id.in_(ids[start : start + 500]))
                .values(remind_at=FollowUp.next_at, claimed_until=None, claim_token=None)
                .execution_options(synchronize_session=False)
            )


def count_due(db: Database, now: datetime) -> tuple[int, int]:
    with db.reader() as session:
        total = session.scalar(select(func.count()).select_from(FollowUp)) or 0
        due = (
            session.scalar(
                select(func.count()).select_from(FollowUp).where(FollowUp.remind_at <= now)
            )
            or 0
        )
    return int(total), int(due)


def sweep_with_dms(url: str, *, now: datetime, owners: int) -> tuple[int, float, float]:
    """One real sweep through the fake Slack: (DMs sent, seconds, seconds of an idle sweep)."""
    with FakeSlack() as slack:
        for n in range(owners):
            slack.set_user(owner_id(n), tz="Asia/Shanghai")
        values: dict[str, object] = {
            "slack_bot_token": "xoxb-bench",  # the fake Slack accepts any bot token
            "slack_signing_secret": "bench",
            "slack_api_url": slack.base_url,
            "database_url": url,
            "remind_digest_over": 1000,  # one DM per follow-up: the most work a sweep can do
        }
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]
        _, services = create_app(settings, clock=lambda: now, check_token=False)
        try:
            started = time.perf_counter()
            report = services.reminders.sweep(now)
            elapsed = time.perf_counter() - started
            started = time.perf_counter()
            empty = services.reminders.sweep(now)
            idle = time.perf_counter() - started
        finally:
            services.listeners.shutdown(wait=True)
            services.db.dispose()
    if empty.sent:
        raise SystemExit(f"a second sweep sent {len(empty.sent)} DMs again")
    return len(report.sent), elapsed, idle


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def report(result: ClaimResult) -> list[str]:
    batches = sorted(result.batch_seconds)
    p95 = batches[min(len(batches) - 1, int(len(batches) * 0.95))] if batches else 0.0
    lines = [f"--- EXPLAIN: {name} claim ---\n{plan}\n" for name, plan in result.plans.items()]
    lines += [
        f"claimed {result.claimed:,} of {result.due:,} due in {len(batches)} batches of "
        f"{CLAIM_BATCH}: per batch median {_ms(statistics.median(batches) if batches else 0)}, "
        f"p95 {_ms(p95)}, max {_ms(max(batches, default=0))}, "
        f"total {sum(batches):.2f} s (target <= 50 ms per batch); CPU time of this process "
        f"per batch: median {_ms(statistics.median(result.batch_cpu_seconds) if batches else 0)}",
        f"settling the claimed rows (finish_reminder, a transaction per batch): "
        f"{result.settle_seconds:.2f} s",
        f"claim with nothing due: {_ms(result.empty_claim_seconds)}; "
        f"escalation check with nothing to escalate: {_ms(result.escalation_check_seconds)}",
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> ClaimResult:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_arguments(parser)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--followups", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--owners", type=int, default=DEFAULT_OWNERS)
    parser.add_argument("--dms", action="store_true", help="also time one sweep sending the DMs")
    args = parser.parse_args(argv)
    with bench_database(args) as url:
        db = Database(url)
        try:
            total, due = count_due(db, NOW) if _has_schema(db) else (0, 0)
            if total:
                upgrade(url)  # a database seeded by an older version of the app
                print(f"{database_versions(url)}: using {total:,} follow-ups already there")
            else:
                seeded = seed(
                    url,
                    customers=args.customers,
                    followups=args.followups,
                    due=args.due,
                    owners=args.owners,
                    now=NOW,
                )
                print(
                    f"{database_versions(url)}: seeded {seeded.followups:,} follow-ups "
                    f"({seeded.customers:,} customers, {seeded.due:,} due) in "
                    f"{seeded.seconds:.1f} s"
                )
                total, due = count_due(db, NOW)
            result = claim_all(db, now=NOW, due=due)
            print("\n".join(report(result)))
            if result.claimed != due:
                raise SystemExit(f"claimed {result.claimed}, but {due} were due")
        finally:
            db.dispose()
        if args.dms:
            sent, elapsed, idle = sweep_with_dms(url, now=NOW, owners=args.owners)
            if sent != due:
                raise SystemExit(f"expected {due} DMs, sent {sent}")
            print(
                f"sweep with DMs: {sent:,} DMs in {elapsed:.2f} s "
                f"({elapsed / max(sent, 1) * 1000:.2f} ms per DM, fake Slack on loopback); "
                f"a second sweep (nothing due) over {total:,} follow-ups: {_ms(idle)}"
            )
    return result


def _has_schema(db: Database) -> bool:
    from sqlalchemy import inspect

    return inspect(db.engine).has_table("followups")


if __name__ == "__main__":
    main()
