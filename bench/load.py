"""Fifty sales reps logging follow-ups at once: `python -m bench.load [--seconds 60] [--reps 50]
[--database-url URL | --postgres]`.

Each rep, in a loop until the time is up, types /followup (the app acks; the form opens after the
ack) and submits the form for a new customer — no pause between, so this is the most a team of
that size could ask of the bot. The app runs as in production (`create_app` on bot/server.py's
waitress server, HTTP_THREADS=8) in a process of its own, the fake Slack Web API in a third
(bench/latency.py's processes), and every request is signed as Slack signs it.

Printed: requests and stored follow-ups per second; p50/p95/p99/max answer time of each kind,
timed from sending the request until the app's response was read; answers at or over Slack's
3 seconds (Slack would have shown the rep an error); errors (any status but 200, a form that
came back with errors, no answer); and whether the rows stored equal the submissions accepted.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import func, select

from bench.latency import (
    _fake_slack_process,
    _server_process,
    _wait_for_view,
    _wait_until_idle,
    app_settings_values,
    child,
    first_new_customer,
    send,
)
from bench.seed import add_database_arguments, bench_database, database_versions, owner_id
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Customer, FollowUp
from tests.slack_requests import new_trigger_id, view_submission

SLACK_TIMEOUT: Final = 3.0  # seconds Slack waits for an answer
KINDS: Final = ("command", "submission")


@dataclass(frozen=True)
class Latency:
    count: int
    p50: float  # ms
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        if len(seconds) < 2:
            only = seconds[0] * 1000 if seconds else 0.0
            return cls(len(seconds), only, only, only, only)
        cuts = statistics.quantiles([s * 1000 for s in seconds], n=100, method="inclusive")
        return cls(len(seconds), cuts[49], cuts[94], cuts[98], max(seconds) * 1000)


@dataclass
class LoadResult:
    database: str
    reps: int
    seconds: float = 0.0  # wall time of the timed phase
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    statuses: dict[str, Counter[int]] = field(
        default_factory=lambda: {k: Counter[int]() for k in KINDS}
    )
    unanswered: Counter[str] = field(default_factory=Counter)  # by kind: no answer at all
    why_unanswered: Counter[str] = field(default_factory=Counter)  # by exception
    accepted: int = 0  # submissions answered with an empty 200: stored, as far as the rep knows
    stored: int = 0  # new customers (each with one follow-up) in the database afterwards
    stored_followups: int = 0
    drain: float = 0.0  # after the last answer, until the app's after-ack work was done

    @property
    def errors(self) -> int:
        """Requests not answered 200 (a submission answered with form errors counts too)."""
        wrong = sum(n for c in self.statuses.values() for s, n in c.items() if s != 200)
        return wrong + sum(self.unanswered.values())

    @property
    def late(self) -> int:
        return sum(1 for v in self.latencies.values() for s in v if s >= SLACK_TIMEOUT)

    @property
    def correct(self) -> bool:
        """Every request answered 200 in time, and exactly the accepted submissions stored."""
        submitted = len(self.latencies["submission"]) + self.unanswered["submission"]
        return (
            self.errors == 0
            and self.late == 0
            and self.accepted == submitted
            and self.stored == self.stored_followups == self.accepted
        )


def report(result: LoadResult) -> str:
    lines = [
        f"{result.database}: {result.reps} reps, each /followup then submit, no pause; "
        f"waitress, 8 threads; {result.seconds:.1f} s",
        f"{'kind':<11} {'n':>6} {'req/s':>7}  {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} (ms)",
    ]
    for kind in KINDS:
        lat = Latency.of(result.latencies[kind])
        rate = lat.count / result.seconds if result.seconds else 0.0
        lines.append(
            f"{kind:<11} {lat.count:>6} {rate:>7.1f}  "
            f"{lat.p50:>7.1f} {lat.p95:>7.1f} {lat.p99:>7.1f} {lat.max:>7.1f}"
        )
    every = [s for v in result.latencies.values() for s in v]
    lat = Latency.of(every)
    lines.append(
        f"{'all':<11} {lat.count:>6} {lat.count / max(result.seconds, 1e-9):>7.1f}  "
        f"{lat.p50:>7.1f} {lat.p95:>7.1f} {lat.p99:>7.1f} {lat.max:>7.1f}"
    )
    lines.append(
        f"stored {result.stored} follow-ups ({result.stored / max(result.seconds, 1e-9):.1f}/s) "
        f"for {result.accepted} accepted submissions; errors {result.errors}; "
        f"answers >= {SLACK_TIMEOUT:.0f} s: {result.late}; listeners drained in "
        f"{result.drain:.1f} s; correct: {result.correct}"
    )
    statuses = {kind: dict(c) for kind, c in result.statuses.items()}
    if result.errors:
        lines.append(f"statuses: {statuses}; no answer: {dict(result.why_unanswered)}")
    return "\n".join(lines)


# --- one rep ------------------------------------------------------------------------------


class Requests:
    """The two requests a rep sends, signed bodies built as Slack builds them."""

    def __init__(self, view: dict[str, Any], response_url_base: str, first_customer: int) -> None:
        self.view = view
        self.response_url_base = response_url_base.rstrip("/")
        self._lock = threading.Lock()
        self._next_customer = first_customer

    def command(self, rep: str) -> bytes:
        fields = {
            "token": "legacy-verification-token",
            "team_id": "T000TEST",
            "team_domain": "followup-test",
            "channel_id": "C0SALES01",
            "channel_name": "sales",
            "user_id": rep,
            "user_name": rep.lower(),
            "command": "/followup",
            "text": "",
            "api_app_id": "A000TEST",
            "is_enterprise_install": "false",
            "response_url": f"{self.response_url_base}/commands/T000TEST/"
            f"{secrets.token_hex(4)}/{secrets.token_hex(8)}",
            "trigger_id": new_trigger_id(),
        }
        return urllib.parse.urlencode(fields).encode("utf-8")

    def submission(self, rep: str) -> bytes:
        with self._lock:
            n, self._next_customer = self._next_customer, self._next_customer + 1
        # +86 173: a prefix bench/seed.py never uses, so every submission is a new customer.
        values = {
            "customer_name": f"Load Customer {n}",
            "company": f"Load Trading {n} Co., Ltd.",
            "phone": f"+86 173 {n // 10_000 % 10_000:04d} {n % 10_000:04d}",
            "email": f"load.customer.{n}@mingde.cn",
            "method": "phone",
            "summary": "Quoted 200 seats at ¥80 per seat; they compare us with Acme on SSO.",
            "feedback": "Needs CFO sign-off; budget is decided in December.",
            "owner": rep,
            "next_at": "next Tue 3pm",
            "next_action": "Send the revised quote with a 3-year discount",
            "status": "interested",
        }
        # A view id of its own: the app keys each submission by it.
        view = {**self.view, "id": f"V{secrets.token_hex(6).upper()}"}
        payload = view_submission(view, values, user_id=rep)
        return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode("utf-8")


def _rep_loop(
    rep: str, url: str, requests: Requests, deadline: float, result: LoadResult, lock: Any
) -> None:
    while time.monotonic() < deadline:
        for kind in KINDS:
            body = requests.command(rep) if kind == "command" else requests.submission(rep)
            try:
                status, seconds = send(url, body)
            except Exception as error:  # no answer: counted, and the rep carries on
                with lock:
                    result.unanswered[kind] += 1
                    result.why_unanswered[f"{kind}: {error.__class__.__name__}"] += 1
                continue
            with lock:
                result.latencies[kind].append(seconds)
                result.statuses[kind][status] += 1
                if kind == "submission" and status == 200:
                    result.accepted += 1


# --- the run ------------------------------------------------------------------------------


def _counts(database_url: str) -> tuple[int, int]:
    db = Database(database_url)
    try:
        with db.reader() as session:
            customers = session.scalar(select(func.count()).select_from(Customer)) or 0
            followups = session.scalar(select(func.count()).select_from(FollowUp)) or 0
        return int(customers), int(followups)
    finally:
        db.dispose()


def run(
    database_url: str, *, seconds: float, reps: int, log: Callable[[str], None] = print
) -> LoadResult:
    upgrade(database_url)
    rep_ids = [owner_id(n) for n in range(reps)]
    db = Database(database_url)
    try:
        first_customer = first_new_customer(db)
    finally:
        db.dispose()
    customers_before, followups_before = _counts(database_url)
    result = LoadResult(database_versions(database_url), reps)
    with child(_fake_slack_process, rep_ids) as (fake, (api_url, response_url_base)):
        values = app_settings_values(database_url, api_url)
        with child(_server_process, "app", values) as (server, port):
            url = f"http://127.0.0.1:{port}/slack/events"
            warm = Requests({}, response_url_base, first_customer)
            send(url, warm.command(rep_ids[0]))
            view = _wait_for_view(fake)
            requests = Requests(view, response_url_base, first_customer)
            _wait_until_idle(server)
            log(f"  {reps} reps for {seconds:.0f} s on {result.database} …")
            lock = threading.Lock()
            started = time.monotonic()
            deadline = started + seconds
            with ThreadPoolExecutor(max_workers=reps) as pool:
                for future in [
                    pool.submit(_rep_loop, rep, url, requests, deadline, result, lock)
                    for rep in rep_ids
                ]:
                    future.result()
            result.seconds = time.monotonic() - started
            result.drain = _wait_until_idle(server)
    customers_after, followups_after = _counts(database_url)
    result.stored = customers_after - customers_before
    result.stored_followups = followups_after - followups_before
    return result


def main(argv: Sequence[str] | None = None) -> LoadResult:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_arguments(parser)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the reps keep on")
    parser.add_argument("--reps", type=int, default=50, help="sales reps sending at once")
    args = parser.parse_args(argv)
    with bench_database(args) as url:
        result = run(url, seconds=args.seconds, reps=args.reps)
    print(report(result))
    return result


if __name__ == "__main__":
    main()
