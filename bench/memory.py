"""Resident memory of a real `followup-bot serve`: `python -m bench.memory [--requests 10000]
[--seed-followups 100000] [--database-url URL]`.

Starts `followup-bot serve` as its own process (HTTP mode, scheduler on, SQLite by default) with
SLACK_API_URL pointing at the fake Slack Web API in this process, and reads its VmRSS from
/proc/<pid>/status: idle (after start-up and its first reminder sweep), after `--requests`
requests and after twice as many. The requests are the latency bench's four kinds, in turn:
/followup, a valid submission (a new customer each), an invalid one, a Done button.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench.latency import (
    KINDS,
    SIGNING_SECRET,
    BenchFakeSlack,
    Workload,
    done_targets,
    first_new_customer,
    load,
    seed_unless_seeded,
)
from bench.seed import add_database_arguments, bench_database, owner_id
from storage.db import Database
from tests.postgres import free_port

TARGET_MB: Final = 150.0
GROWTH_TOLERANCE_MB: Final = 2.0  # allocator noise; more than this between the rounds is growth
CONCURRENCY: Final = 4
SETTLE_SECONDS: Final = 1.0


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB, from /proc/<pid>/status."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_quiet(pid: int, *, settle: float = SETTLE_SECONDS, timeout: float = 600.0) -> None:
    """Until the process has used (almost) no CPU for `settle` seconds: its work is done."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(settle)
        now = cpu_seconds(pid)
        if now - last < 0.02:
            return
        last = now
    raise RuntimeError("followup-bot serve never went quiet")


@dataclass
class MemoryResult:
    idle_mb: float = 0.0
    rounds: list[tuple[int, float]] = field(default_factory=list)  # (requests so far, RSS MB)
    peak_mb: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def growth_mb(self) -> float:
        return self.rounds[-1][1] - self.rounds[-2][1] if len(self.rounds) >= 2 else 0.0

    @property
    def target_met(self) -> bool:
        return self.peak_mb <= TARGET_MB and self.growth_mb <= GROWTH_TOLERANCE_MB


def serve_environment(database_url: str, api_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-bench",  # noqa: S106 - the fake Slack accepts any xoxb- token
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=api_url,
        DATABASE_URL=database_url,
        HOST="127.0.0.1",
        PORT=str(port),
        DEFAULT_TZ="Asia/Shanghai",
        LOG_LEVEL="WARNING",
    )
    return env


def _wait_for_health(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"followup-bot serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("followup-bot serve did not come up")


def run(
    database_url: str,
    *,
    requests: int,
    owners: int = 500,
    reps: int = 50,
    settle: float = SETTLE_SECONDS,
    log: Callable[[str], None] = print,
) -> MemoryResult:
    rep_ids = [owner_id(n) for n in range(reps)]
    db = Database(database_url)
    try:
        targets = done_targets(db, rep_ids, requests // len(KINDS) // reps + 1)
        first_customer = first_new_customer(db)
    finally:
        db.dispose()
    result = MemoryResult()
    fake = BenchFakeSlack()
    fake.start()
    port = free_port()
    script = Path(sys.executable).with_name("followup-bot")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    process = subprocess.Popen(
        [*command, "serve"],
        env=serve_environment(database_url, fake.base_url, port),
        stdout=subprocess.DEVNULL,
    )
    try:
        for n in range(owners):
            fake.set_user(owner_id(n), tz="Asia/Shanghai")
        _wait_for_health(port, process)
        url = f"http://127.0.0.1:{port}/slack/events"
        wait_until_quiet(process.pid, settle=settle)  # start-up and the first reminder sweep
        result.idle_mb = rss_mb(process.pid)[0]
        log(f"  idle: {result.idle_mb:.1f} MB")
        workload = Workload(
            reps=rep_ids,
            done_targets=targets,
            response_url_base=fake.response_url_base,
            first_customer=first_customer,
        )
        load(url, [workload.build("command")], 1)
        while fake.last_view is None:
            time.sleep(0.05)
        workload.use_view(fake.last_view)
        sent = 0
        for _ in range(2):
            batch = [workload.build(KINDS[i % len(KINDS)]) for i in range(requests)]
            _, statuses = load(url, batch, CONCURRENCY)
            for status, count in statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + count
            sent += requests
            wait_until_quiet(process.pid, settle=settle)
            rss = rss_mb(process.pid)[0]
            result.rounds.append((sent, rss))
            log(f"  after {sent:,} requests: {rss:.1f} MB")
        result.peak_mb = rss_mb(process.pid)[1]
    finally:
        process.terminate()
        process.wait(timeout=60)
        fake.stop()
    return result


def report(result: MemoryResult, database: str) -> str:
    lines = [f"followup-bot serve on {database}, RSS from /proc/<pid>/status"]
    lines.append(f"  idle                 {result.idle_mb:6.1f} MB")
    lines.extend(f"  after {n:>6,} requests {mb:6.1f} MB" for n, mb in result.rounds)
    lines.append(f"  peak (VmHWM)         {result.peak_mb:6.1f} MB")
    verdict = "met" if result.target_met else "MISSED"
    lines.append(
        f"growth between the last two rounds: {result.growth_mb:+.1f} MB; "
        f"target <= {TARGET_MB:.0f} MB and no growth: {verdict}"
    )
    lines.append(f"answers: {dict(sorted(result.statuses.items()))} (299: 200 with form errors)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> MemoryResult:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_arguments(parser)
    parser.add_argument("--requests", type=int, default=10_000, help="requests per round")
    parser.add_argument(
        "--seed-followups",
        type=int,
        # Not the latency bench's million: at 100,000 customers a valid submission takes ~1 s
        # (see docs/benchmarks.md), which would make 20,000 requests take hours.
        default=100_000,
        help="follow-ups to seed (a tenth as many customers) if the database holds no customers",
    )
    parser.add_argument(
        "--settle", type=float, default=SETTLE_SECONDS, help="idle seconds that count as quiet"
    )
    args = parser.parse_args(argv)
    with bench_database(args) as url:
        seed_unless_seeded(url, args.seed_followups)
        result = run(url, requests=args.requests, settle=args.settle)
        database = url.split("://", 1)[0]
    print(report(result, database))
    return result


if __name__ == "__main__":
    main()
