"""Answer latency over real HTTP: `python -m bench.latency [--requests 2000] [--concurrency 1 8]
[--seed-followups 1000000] [--database-url URL | --postgres]`.

The app runs as in production — `create_app(settings)` served by bot/server.py's waitress server
with HTTP_THREADS=8, in a process of its own — and answers signed requests built exactly as Slack
sends them (tests/slack_requests.py). The fake Slack Web API runs in a third process, so neither it
nor the load generator competes with the app for the interpreter lock.

Four kinds of request, each timed from sending it until the app's HTTP response has been read:

* `command`  — `/followup`: the app acks (empty 200) and opens the form with views.open *after*
  the ack, in its listener thread, so views.open is not inside the measured time;
* `valid`    — a view_submission of the form, a new customer each time: validated and stored
  before the ack (the ack is sent after the commit); confirmation DM and Home refresh follow it;
* `invalid`  — a view_submission with bad phone, date and summary: `response_action: errors`;
* `button`   — Done on a reminder DM (a different open follow-up each time): acked at once; the
  update, chat.update and Home refresh follow in the listener thread.

The baseline, measured in the same run, is a bare slack_bolt App answering the same requests with a
no-op `ack()` listener per kind, on the same server factory, thread count and signing. Each kind is
reported as p50/p95/p99 and as a ratio to the baseline's for the same kind and concurrency. Before
timing, each of the `--reps` sales reps has run /followup once (their users.info is then cached in
the database, as it is after a rep's first use) and every kind has been sent a few times; after
each phase the bench waits until the app's listeners have finished their after-ack work, and
reports how long that took ("drain"), so no phase inherits the previous one's backlog.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import itertools
import json
import logging
import multiprocessing
import os
import secrets
import statistics
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Final

from sqlalchemy import func, select

from bench.seed import add_database_arguments, bench_database, database_versions, owner_id, seed
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Customer, FollowUp
from tests.fake_slack import Call, FakeSlack
from tests.slack_requests import block_actions, new_trigger_id, sign, view_submission

SIGNING_SECRET: Final = "bench-signing-secret"  # noqa: S105 - signs loopback requests only
BOT_TOKEN: Final = "xoxb-bench"  # noqa: S105 - the fake Slack accepts any xoxb- token
KINDS: Final = ("command", "valid", "invalid", "button")
FORM: Final = "application/x-www-form-urlencoded"
WARM_UP_PER_KIND: Final = 20
TARGET_RATIO: Final = 2.0
TARGET_P99_MS: Final = 100.0
DRAIN_TIMEOUT: Final = 600.0


# --- the processes: fake Slack, and the server under test -----------------------------------


class BenchFakeSlack(FakeSlack):
    """The tests' fake without its Block Kit validation (the tests do that, and what Slack
    spends validating costs the bot nothing), keeping counts of calls instead of the calls, and
    forgetting messages and modals once answered, so a long run doesn't grow it."""

    def __init__(self) -> None:
        super().__init__(strict_messages=False)
        self._counts: dict[tuple[str, int], int] = {}
        self.last_view: dict[str, Any] | None = None

    def _validate(self, call: Call) -> Any:
        return None

    def _answer(self, call: Call, parse_error: str | None) -> Any:
        status, body, extra = super()._answer(call, parse_error)
        with self._lock:
            key = (call.method, int(status))
            self._counts[key] = self._counts.get(key, 0) + 1
            self._calls.clear()
            self._messages.clear()
            if call.method == "views.open" and body.get("ok"):
                self.last_view = body["view"]
                self._views.pop(body["view"]["id"], None)
        return status, body, extra

    def call_counts(self) -> dict[str, int]:
        with self._lock:
            return {f"{m} {s}": n for (m, s), n in sorted(self._counts.items())}


def _fake_slack_process(conn: Connection, users: list[str]) -> None:
    """Serve the fake Slack Web API until told to stop; answer questions about its calls."""
    fake = BenchFakeSlack()
    fake.start()
    for user in users:
        fake.set_user(user, tz="Asia/Shanghai")
    conn.send((fake.base_url, fake.response_url_base))
    while True:
        question = conn.recv()
        if question == "view":
            conn.send(fake.last_view)
        elif question == "calls":
            conn.send(fake.call_counts())
        elif question == "stop":
            counts = fake.call_counts()
            fake.stop()
            conn.send(counts)
            return


def app_settings_values(database_url: str, slack_api_url: str) -> dict[str, Any]:
    return {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack_api_url,
        "database_url": database_url,
        "default_tz": "Asia/Shanghai",
        "default_phone_region": "CN",
        "http_threads": 8,
        "log_level": "WARNING",
    }


def _bare_app(signing_secret: str, api_url: str) -> Any:
    """A bare slack_bolt App: one no-op listener per kind of request, nothing else. Its client
    points at the fake Slack too: Bolt calls auth.test once, on the first request."""
    import re

    from slack_bolt import Ack, App
    from slack_sdk import WebClient

    client = WebClient(token=BOT_TOKEN, base_url=api_url)
    app = App(client=client, signing_secret=signing_secret, token_verification_enabled=False)

    def no_op(ack: Ack) -> None:
        ack()

    app.command(re.compile(".*"))(no_op)
    app.view(re.compile(".*"))(no_op)
    app.action(re.compile(".*"))(no_op)
    return app


def _server_process(conn: Connection, target: str, values: dict[str, Any]) -> None:
    """Serve the app (or the bare baseline) over HTTP until told to stop."""
    from concurrent.futures import Future

    from bot import dates
    from bot.app import create_app
    from bot.server import make_http_server, stop_http_server
    from bot.settings import Settings

    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    # Waitress warns each time a request waits for a thread; the bench measures that waiting.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    pending = _PendingCounter()
    services = None
    if target == "app":
        dates.warm_up()  # as `followup-bot serve` does
        app, services = create_app(settings)
        executor = services.listeners
        submit = executor.submit

        def counted_submit(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            pending.add(1)
            future = submit(fn, *args, **kwargs)
            future.add_done_callback(lambda _: pending.add(-1))
            return future

        executor.submit = counted_submit  # type: ignore[method-assign]
    else:
        app = _bare_app(SIGNING_SECRET, str(values["slack_api_url"]))
    server = make_http_server(app, settings, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    conn.send(int(server.effective_port))
    while True:
        question = conn.recv()
        if question == "pending":
            conn.send(pending.value)
        elif question == "stop":
            stop_http_server(server)
            thread.join(timeout=10)
            if services is not None:
                services.listeners.shutdown(wait=True)
                services.db.dispose()
            conn.send(pending.value)
            return


class _PendingCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self, delta: int) -> None:
        with self._lock:
            self.value += delta


@dataclass
class Child:
    process: multiprocessing.process.BaseProcess
    conn: Connection

    def ask(self, question: str) -> Any:
        self.conn.send(question)
        return self.conn.recv()


@contextmanager
def child(target: Callable[..., None], *args: Any) -> Iterator[tuple[Child, Any]]:
    """Run `target(conn, *args)` in a fresh interpreter; yield it and the first thing it sends."""
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    process = context.Process(target=target, args=(child_end, *args), daemon=True)
    process.start()
    handle = Child(process, parent_end)
    try:
        if not parent_end.poll(120):
            raise RuntimeError(f"{target.__name__} did not start")
        yield handle, parent_end.recv()
    finally:
        if process.is_alive():
            with suppress(EOFError, OSError):
                handle.ask("stop")
            process.join(timeout=60)
        if process.is_alive():
            process.kill()


# --- requests -----------------------------------------------------------------------------


def _word(n: int, length: int) -> str:
    """A made-up word, different for each n: bench customers and companies look like nobody
    else (a shared prefix would make every new company a look-alike of the last one)."""
    letters = "bcdfghjklmnprstvwz"
    vowels = "aeiou"
    chars = []
    for i in range(length):
        n = (n * 2654435761 + i * 40503 + 1) % 2**32
        pool = vowels if i % 2 else letters
        chars.append(pool[(n >> 16) % len(pool)])
    return "".join(chars)


@dataclass(frozen=True)
class Request:
    kind: str
    body: bytes


class Workload:
    """Builds the requests, exactly as Slack would send them, for reps and targets given."""

    def __init__(
        self,
        *,
        reps: Sequence[str],
        done_targets: dict[str, list[int]],
        response_url_base: str,
        first_customer: int = 1,
    ) -> None:
        self.reps = list(reps)
        self.view: dict[str, Any] | None = None  # the form as the app opened it
        self.response_url_base = response_url_base.rstrip("/")
        self._targets = {rep: itertools.cycle(ids) for rep, ids in done_targets.items() if ids}
        self._n = itertools.count(1)
        self._customer = itertools.count(first_customer)
        self._rep = itertools.cycle(self.reps)
        self.valid_sent = 0

    def use_view(self, view: dict[str, Any]) -> None:
        self.view = copy.deepcopy(view)

    def _response_url(self, kind: str) -> str:
        return f"{self.response_url_base}/{kind}/T000TEST/{next(self._n)}/{secrets.token_hex(8)}"

    def build(self, kind: str) -> Request:
        rep = next(self._rep)
        if kind == "command":
            return Request(kind, self._command(rep))
        if kind == "valid":
            self.valid_sent += 1
            return Request(kind, self._submission(rep, self._valid_values(rep)))
        if kind == "invalid":
            values = {**self._valid_values(rep), "phone": "12", "next_at": "someday"}
            return Request(kind, self._submission(rep, {**values, "summary": "ok"}))
        if kind == "button":
            return Request(kind, self._button(rep))
        raise ValueError(kind)

    def _command(self, rep: str) -> bytes:
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
            "response_url": self._response_url("commands"),
            "trigger_id": new_trigger_id(),
        }
        return urllib.parse.urlencode(fields).encode("utf-8")

    def _valid_values(self, rep: str) -> dict[str, Any]:
        n = next(self._customer)
        # +86 173: a prefix bench/seed.py never uses, so every submission is a new customer.
        return {
            "customer_name": f"{_word(n, 5).title()} {_word(n * 7 + 3, 7).title()}",
            "company": f"{_word(n * 13 + 1, 8).title()} {_word(n * 17 + 5, 6).title()} Co., Ltd.",
            "phone": f"+86 173 {n // 10_000 % 10_000:04d} {n % 10_000:04d}",  # n < 10**8
            "email": f"bench.customer.{n}@mingde.cn",
            "method": "phone",
            "summary": "Quoted 200 seats at ¥80 per seat; they compare us with Acme on SSO.",
            "feedback": "Needs CFO sign-off; budget is decided in December.",
            "owner": rep,
            "next_at": "next Tue 3pm",
            "next_action": "Send the revised quote with a 3-year discount",
            "status": "interested",
        }

    def _submission(self, rep: str, values: dict[str, Any]) -> bytes:
        if self.view is None:
            raise RuntimeError("no form yet: call use_view() with the view the app opened")
        # A view id of its own, unique across runs: the app keys each submission by it.
        view = {**self.view, "id": f"V{secrets.token_hex(6).upper()}"}
        payload = view_submission(view, values, user_id=rep)
        return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode("utf-8")

    def _button(self, rep: str) -> bytes:
        from bot.i18n import DEFAULT_LANGUAGE, translator
        from handlers.reminder_blocks import DONE, actions_block_id, item_actions

        followup_id = next(self._targets[rep]) if rep in self._targets else 1
        message = {
            "type": "message",
            "user": "UBOT",
            "bot_id": "BBOT",
            "text": "Follow-up due",
            "ts": f"1700000000.{next(self._n) % 1_000_000:06d}",
            "blocks": [item_actions(followup_id, translator(DEFAULT_LANGUAGE))],
        }
        payload = block_actions(
            DONE,
            block_id=actions_block_id(followup_id),
            user_id=rep,
            channel_id=f"D{rep}",
            message=message,
            response_url=self._response_url("actions"),
        )
        return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode("utf-8")


def send(url: str, body: bytes) -> tuple[int, float]:
    """POST one signed request on a new connection, as Slack does; (status, seconds)."""
    parts = urllib.parse.urlsplit(url)
    started = time.perf_counter()
    timestamp = int(time.time())
    headers = {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": sign(SIGNING_SECRET, timestamp, body),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request("POST", parts.path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        status = response.status
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    if status == 200 and b'"response_action"' in data and b'"errors"' in data:
        status = 299  # answered, with form errors (what an invalid submission should get)
    return status, elapsed


def load(
    url: str, requests: Sequence[Request], concurrency: int
) -> tuple[list[float], Counter[int]]:
    """Send every request with `concurrency` clients; their latencies (s) and statuses."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    queue = iter(requests)

    def client() -> None:
        while True:
            with lock:
                request = next(queue, None)
            if request is None:
                return
            status, seconds = send(url, request.body)
            with lock:
                latencies.append(seconds)
                statuses[status] += 1

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(client) for _ in range(concurrency)]:
            future.result()
    return latencies, statuses


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Percentiles:
    count: int
    p50: float  # ms
    p95: float
    p99: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Percentiles:
        cuts = statistics.quantiles([s * 1000 for s in seconds], n=100, method="inclusive")
        return cls(len(seconds), cuts[49], cuts[94], cuts[98])


@dataclass(frozen=True)
class Phase:
    target: str  # "app" or "baseline"
    kind: str
    concurrency: int
    latency: Percentiles
    statuses: dict[int, int]
    seconds: float  # wall time of the phase
    drain: float  # after the last answer, until the app's listeners were idle


def load_average() -> str:
    """The machine's 1-minute load average over its CPU count: other work skews timings."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


@dataclass
class LatencyResult:
    database: str
    followups: int
    customers: int
    reps: int
    phases: list[Phase] = field(default_factory=list)
    load: list[str] = field(default_factory=list)  # load average at the start and at the end
    stored: int = 0  # customers added by valid submissions
    valid_sent: int = 0
    slack_calls: dict[str, int] = field(default_factory=dict)

    def phase(self, target: str, kind: str, concurrency: int) -> Phase:
        return next(
            p
            for p in self.phases
            if (p.target, p.kind, p.concurrency) == (target, kind, concurrency)
        )

    def ratio(self, kind: str, concurrency: int) -> float:
        app = self.phase("app", kind, concurrency).latency.p99
        return app / self.phase("baseline", kind, concurrency).latency.p99

    def target_met(self, concurrency: int) -> bool:
        p99 = self.phase("app", "valid", concurrency).latency.p99
        return self.ratio("valid", concurrency) <= TARGET_RATIO and p99 < TARGET_P99_MS

    @property
    def all_answered(self) -> bool:
        """Every request got 200 (299: 200 with form errors, for invalid submissions only)."""
        for p in self.phases:
            expected = 299 if p.kind == "invalid" and p.target == "app" else 200
            if set(p.statuses) != {expected}:
                return False
        return True


def report(result: LatencyResult) -> str:
    lines = [
        f"{result.database}: {result.followups:,} follow-ups, {result.customers:,} customers; "
        f"{result.reps} reps; waitress, 8 threads; new connection per request",
        f"{'kind':<8} {'c':>2} {'n':>5}  {'app p50/p95/p99 ms':>22}  "
        f"{'baseline p50/p95/p99 ms':>24}  {'p50x':>5} {'p99x':>5} {'req/s':>6} {'drain':>6}",
    ]
    for p in result.phases:
        if p.target != "app":
            continue
        base = result.phase("baseline", p.kind, p.concurrency)
        a, b = p.latency, base.latency
        lines.append(
            f"{p.kind:<8} {p.concurrency:>2} {a.count:>5}  "
            f"{a.p50:>6.1f} {a.p95:>6.1f} {a.p99:>7.1f}  "
            f"{b.p50:>7.1f} {b.p95:>6.1f} {b.p99:>7.1f}  "
            f"{a.p50 / b.p50:>5.2f} {a.p99 / b.p99:>5.2f} {a.count / p.seconds:>6.0f} "
            f"{p.drain:>5.1f}s"
        )
    levels = sorted({p.concurrency for p in result.phases if p.kind == "valid"})
    for c in levels:
        p99 = result.phase("app", "valid", c).latency.p99
        verdict = "met" if result.target_met(c) else "MISSED"
        lines.append(
            f"target, valid submission at c={c}: p99 {p99:.1f} ms (< {TARGET_P99_MS:.0f}), "
            f"{result.ratio('valid', c):.2f}x baseline p99 (<= {TARGET_RATIO:.0f}x): {verdict}"
        )
    lines.append(
        f"stored: {result.stored:,} new customers for {result.valid_sent:,} valid submissions; "
        f"all answered as expected: {result.all_answered}"
    )
    lines.append("machine: " + " -> ".join(result.load))
    return "\n".join(lines)


# --- the run ------------------------------------------------------------------------------


def seed_unless_seeded(url: str, followups: int, log: Callable[[str], None] = print) -> None:
    """Migrate `url` and, if it holds no customers yet, seed `followups` follow-ups (a tenth as
    many customers, 1% of them due now; bench/seed.py)."""
    upgrade(url)
    db = Database(url)
    try:
        customers, _ = _counts(db)
    finally:
        db.dispose()
    if customers or not followups:
        return
    seeded = seed(
        url,
        customers=max(1, followups // 10),
        followups=followups,
        due=min(10_000, followups // 100),
    )
    log(f"seeded {seeded.followups:,} follow-ups in {seeded.seconds:.0f} s")


def first_new_customer(db: Database) -> int:
    """The first bench customer number no earlier run has stored (their phones are +86 173…)."""
    with db.reader() as session:
        highest = session.scalar(
            select(func.max(Customer.phone_e164)).where(Customer.phone_e164.like("+86173%"))
        )
    return int(highest[6:]) + 1 if highest else 1


def done_targets(db: Database, reps: Sequence[str], per_rep: int) -> dict[str, list[int]]:
    """Open follow-ups of each rep, due ones first: what their Done buttons point at."""
    targets: dict[str, list[int]] = {}
    with db.reader() as session:
        for rep in reps:
            ids = session.scalars(
                select(FollowUp.id)
                .where(FollowUp.owner_id == rep, FollowUp.state == "open")
                .order_by(FollowUp.remind_at.is_(None), FollowUp.remind_at, FollowUp.id)
                .limit(per_rep)
            ).all()
            targets[rep] = list(ids)
    return targets


def _counts(db: Database) -> tuple[int, int]:
    with db.reader() as session:
        customers = session.scalar(select(func.count()).select_from(Customer)) or 0
        followups = session.scalar(select(func.count()).select_from(FollowUp)) or 0
    return int(customers), int(followups)


def _wait_until_idle(server: Child) -> float:
    started = time.perf_counter()
    while server.ask("pending") > 0:
        if time.perf_counter() - started > DRAIN_TIMEOUT:
            raise RuntimeError("the app's listeners did not finish their work")
        time.sleep(0.02)
    return time.perf_counter() - started


def _measure(
    target: str,
    url: str,
    server: Child,
    workload: Workload,
    result: LatencyResult,
    *,
    requests: int,
    concurrency: Sequence[int],
    kinds: Sequence[str],
    warm_up: int,
    log: Callable[[str], None],
) -> None:
    warm = [workload.build("command") for _ in workload.reps]
    warm += [workload.build(kind) for kind in kinds for _ in range(warm_up)]
    load(url, warm, 2)
    _wait_until_idle(server)
    for c in concurrency:
        for kind in kinds:
            batch = [workload.build(kind) for _ in range(requests)]
            started = time.perf_counter()
            latencies, statuses = load(url, batch, c)
            seconds = time.perf_counter() - started
            drain = _wait_until_idle(server)
            phase = Phase(
                target, kind, c, Percentiles.of(latencies), dict(statuses), seconds, drain
            )
            result.phases.append(phase)
            log(
                f"  {target} {kind} c={c}: p50 {phase.latency.p50:.1f} p99 "
                f"{phase.latency.p99:.1f} ms, drain {drain:.1f} s, {dict(statuses)}"
            )


def run(
    database_url: str,
    *,
    requests: int,
    concurrency: Sequence[int],
    seed_followups: int,
    reps: int = 50,
    kinds: Sequence[str] = KINDS,
    warm_up: int = WARM_UP_PER_KIND,
    log: Callable[[str], None] = print,
) -> LatencyResult:
    seed_unless_seeded(database_url, seed_followups, log)
    rep_ids = [owner_id(n) for n in range(reps)]
    db = Database(database_url)
    try:
        customers, followups = _counts(db)
        clicks_per_rep = -(-(requests * len(concurrency) + warm_up) // reps)
        targets = done_targets(db, rep_ids, clicks_per_rep)
        first_customer = first_new_customer(db)
    finally:
        db.dispose()
    result = LatencyResult(database_versions(database_url), followups, customers, reps)
    result.load.append(load_average())
    with child(_fake_slack_process, rep_ids) as (fake, (api_url, response_url_base)):
        values = app_settings_values(database_url, api_url)
        workload = Workload(
            reps=rep_ids,
            done_targets=targets,
            response_url_base=response_url_base,
            first_customer=first_customer,
        )
        for target in ("app", "baseline"):
            with child(_server_process, target, values) as (server, port):
                url = f"http://127.0.0.1:{port}/slack/events"
                if workload.view is None:  # the form as the app really opens it
                    send(url, workload.build("command").body)
                    workload.use_view(_wait_for_view(fake))
                valid_before = workload.valid_sent
                _measure(
                    target,
                    url,
                    server,
                    workload,
                    result,
                    requests=requests,
                    concurrency=concurrency,
                    kinds=kinds,
                    warm_up=warm_up,
                    log=log,
                )
                if target == "app":
                    result.valid_sent = workload.valid_sent - valid_before
        result.slack_calls = fake.ask("calls")
    result.load.append(load_average())
    db = Database(database_url)
    try:
        result.stored = _counts(db)[0] - customers
    finally:
        db.dispose()
    return result


def _wait_for_view(fake: Child) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        view = fake.ask("view")
        if view:
            return dict(view)
        time.sleep(0.05)
    raise RuntimeError("the app never opened the form")


def main(argv: Sequence[str] | None = None) -> LatencyResult:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_arguments(parser)
    parser.add_argument("--requests", type=int, default=2_000, help="timed requests per kind")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument(
        "--seed-followups",
        type=int,
        default=1_000_000,
        help="follow-ups to seed (a tenth as many customers) if the database holds no customers",
    )
    parser.add_argument("--reps", type=int, default=50, help="distinct sales reps sending")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument(
        "--warm-up", type=int, default=WARM_UP_PER_KIND, help="untimed requests per kind first"
    )
    args = parser.parse_args(argv)
    with bench_database(args) as url:
        result = run(
            url,
            requests=args.requests,
            concurrency=args.concurrency,
            seed_followups=args.seed_followups,
            reps=args.reps,
            kinds=args.kinds,
            warm_up=args.warm_up,
        )
    print(report(result))
    return result


if __name__ == "__main__":
    main()
