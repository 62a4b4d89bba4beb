"""Morning summary at scale: `python -m bench.summary [--open 10000] [--owners 100]
[--customers 11000] [--followups 50000] [--database-url URL | --postgres]`.

Seeds the database (bench/seed.py; skipped when it already holds follow-ups): --open open
follow-ups among --owners owners, a tenth of them due, with their customers' histories and status
changes. Then builds the summary from the database and renders it to Block Kit, as the scheduler
does before posting, several times, and prints the median and the first (cold) run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, inspect, select

from bench.seed import NOW, add_database_arguments, bench_database, database_versions, seed
from bot.app import create_app
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade
from storage.models import FollowUp

RUNS = 5
CHANNEL = "C0BENCH01"


@dataclass(frozen=True)
class SummaryResult:
    open: int
    owners_listed: int  # owners with something due today or overdue, as the summary lists them
    blocks: int
    build_seconds: list[float]
    render_seconds: list[float]
    cpu_seconds: list[float]  # this process's CPU time for build + render


def open_count(url: str) -> int:
    db = Database(url)
    try:
        if not inspect(db.engine).has_table("followups"):
            return 0
        with db.reader() as session:
            found = session.scalar(
                select(func.count()).select_from(FollowUp).where(FollowUp.state == "open")
            )
        return int(found or 0)
    finally:
        db.dispose()


def time_summary(url: str, *, runs: int = RUNS) -> SummaryResult:
    values: dict[str, object] = {
        "slack_bot_token": "xoxb-bench",  # never sent anywhere: building makes no Slack call
        "slack_signing_secret": "bench",
        "slack_api_url": "http://127.0.0.1:9/api/",
        "database_url": url,
        "summary_tz": "Asia/Shanghai",
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]
    _, services = create_app(settings, clock=lambda: NOW, check_token=False)
    builds, renders, cpu = [], [], []
    try:
        for _ in range(runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            data = services.summary.build(CHANNEL, NOW)
            built = time.perf_counter()
            message = services.summary.render(data)
            builds.append(built - started)
            renders.append(time.perf_counter() - built)
            cpu.append(time.process_time() - cpu_started)
    finally:
        services.listeners.shutdown(wait=True)
        services.db.dispose()
    return SummaryResult(
        open=open_count(url),
        owners_listed=len(data.owners),
        blocks=len(message["blocks"]),
        build_seconds=builds,
        render_seconds=renders,
        cpu_seconds=cpu,
    )


def main(argv: Sequence[str] | None = None) -> SummaryResult:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_arguments(parser)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--owners", type=int, default=100)
    parser.add_argument("--customers", type=int, default=None, help="default: --open + 10%%")
    parser.add_argument("--followups", type=int, default=None, help="default: 5 per customer")
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args(argv)
    customers = args.customers or args.open + args.open // 10
    with bench_database(args) as url:
        existing = open_count(url)
        if existing:
            upgrade(url)  # a database seeded by an older version of the app
            print(f"{database_versions(url)}: using the {existing:,} open follow-ups there")
        else:
            seeded = seed(
                url,
                customers=customers,
                followups=args.followups or 5 * customers,
                due=args.open // 10,
                owners=args.owners,
                open_followups=args.open,
                now=NOW,
            )
            print(
                f"{database_versions(url)}: seeded {seeded.customers:,} customers, "
                f"{seeded.followups:,} follow-ups ({seeded.open:,} open), "
                f"{seeded.change_log:,} change-log rows in {seeded.seconds:.1f} s"
            )
        result = time_summary(url, runs=args.runs)
    total = [b + r for b, r in zip(result.build_seconds, result.render_seconds, strict=True)]
    print(
        f"summary over {result.open:,} open follow-ups, {result.owners_listed} owners listed, "
        f"{result.blocks} blocks: median {statistics.median(total) * 1000:.0f} ms "
        f"(build {statistics.median(result.build_seconds) * 1000:.0f} ms, "
        f"render {statistics.median(result.render_seconds) * 1000:.0f} ms), "
        f"first {total[0] * 1000:.0f} ms (target <= 1 s); CPU time of this process: median "
        f"{statistics.median(result.cpu_seconds) * 1000:.0f} ms"
    )
    return result


if __name__ == "__main__":
    main()
