"""Faults the bot survives, each end to end: PostgreSQL restarting under the running bot, the Slack
API down for a while, the process killed with SIGKILL mid-summary and mid-import, and the clock
jumping forward and back. Each test fails without the protection it names.

The sweep killed between claim and send is tests/test_remind_processes.py
(test_killed_between_claim_and_send_is_delivered_once_after_the_lease).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import socketserver
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from random import Random
from string import ascii_letters, digits
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, insert
from sqlalchemy import select as sql_select

from bot.importer import PARALLEL_MIN_BYTES, ROWS_PER_COMMIT
from bot.scheduler import summarise_if_due, sweep_once
from handlers.reminder_blocks import followup_id_from_block
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Customer, FollowUp, ImportedRow, ReminderDelivery, SummaryRun
from tests.conftest import BOT_TOKEN, COLLEAGUE, FIXED_NOW, REP, SIGNING_SECRET, running_bot
from tests.fake_slack import Call, FakeSlack
from tests.postgres import PostgresServer, PostgresUnavailableError, free_port
from tests.slack_requests import Response
from tests.test_cli import clean_env, command
from tests.test_followup_e2e import good_values
from tests.test_reminders_e2e import DUE

SUMMARY_CHANNEL = "C0SUMMARY1"


# --- helpers ---------------------------------------------------------------------------------


def add_due(db: Database, owner_id: str, count: int, *, due_ago: timedelta) -> list[int]:
    """`count` open follow-ups of `owner_id`, each with its own customer, due `due_ago` ago."""
    due = FIXED_NOW - due_ago
    with db.transaction() as session:
        first = int(session.scalar(sql_select(func.count()).select_from(Customer)) or 0) + 1
        customer_ids = session.scalars(
            insert(Customer).returning(Customer.id),
            [
                {
                    "name": f"Customer {owner_id} {n}",
                    "company": f"Company {owner_id} {n}",
                    "phone_e164": f"+86139{first + n:08d}",
                    "owner_id": owner_id,
                    "status": "interested",
                    "created_by": owner_id,
                }
                for n in range(count)
            ],
        ).all()
        return list(
            session.scalars(
                insert(FollowUp).returning(FollowUp.id),
                [
                    {
                        "customer_id": customer_id,
                        "author_id": owner_id,
                        "owner_id": owner_id,
                        "contacted_at": due - timedelta(days=7),
                        "method": "phone",
                        "summary": "Quoted 200 seats at ¥80; comparing with Acme.",
                        "feedback": "Needs CFO sign-off in December.",
                        "status_after": "interested",
                        "next_at": due,
                        "next_action": "Send the revised quote",
                        "remind_at": due,
                    }
                    for customer_id in customer_ids
                ],
            ).all()
        )


def reminded(slack: FakeSlack) -> Counter[int]:
    """How many delivered DMs showed each follow-up (a digest shows several)."""
    return Counter(
        followup_id
        for call in slack.calls_to("chat.postMessage")
        if call.ok and str(call.args.get("channel", "")).startswith("D")
        for block in call.args.get("blocks") or []
        if (followup_id := followup_id_from_block(block.get("block_id"))) is not None
    )


def dms_to(slack: FakeSlack, user_id: str) -> list[Call]:
    return [
        call
        for call in slack.calls_to("chat.postMessage")
        if call.ok and call.args.get("channel") == f"D{user_id}"
    ]


def summaries_posted(slack: FakeSlack) -> list[Call]:
    return [
        call
        for call in slack.calls_to("chat.postMessage")
        if call.ok and call.args.get("channel") == SUMMARY_CHANNEL
    ]


def count(db: Database, model: type[Any]) -> int:
    with db.reader() as session:
        return int(session.scalar(sql_select(func.count()).select_from(model)) or 0)


# --- the Slack API down for a while ----------------------------------------------------------


class FlakySlack(FakeSlack):
    """The fake Slack that can be unavailable: while `unavailable`, every call is answered
    503 service_unavailable (the fake still records it)."""

    unavailable = False

    def _answer(self, call: Call, parse_error: str | None) -> tuple[int, dict[str, Any], Any]:
        if self.unavailable:
            return 503, {"ok": False, "error": "service_unavailable"}, {}
        return super()._answer(call, parse_error)


class _ReusableServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # bind the same port again at once after shut()
    daemon_threads = True


class Gate:
    """A TCP door in front of a server on loopback: open, connections pass through; shut,
    nothing listens on its port and connections are refused — Slack or the network down."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: socketserver.ThreadingTCPServer | None = None
        self.open()

    def open(self) -> None:
        target = self.target_port

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with socket.create_connection(("127.0.0.1", target)) as upstream:
                    ends = {self.request: upstream, upstream: self.request}
                    while True:
                        ready, _, _ = select.select(list(ends), [], [], 5)
                        if not ready:
                            return
                        for end in ready:
                            data = end.recv(65536)
                            if not data:
                                return
                            ends[end].sendall(data)

        server = _ReusableServer(("127.0.0.1", self.port), Pipe)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self._server = server

    def shut(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"


@pytest.fixture
def flaky_slack() -> Iterator[FlakySlack]:
    fake = FlakySlack()
    fake.start()
    for user in (REP, COLLEAGUE):
        fake.set_user(user, tz="Asia/Shanghai")
    yield fake
    fake.stop()
    fake.assert_all_valid()


@pytest.fixture
def gate(flaky_slack: FlakySlack) -> Iterator[Gate]:
    door = Gate(flaky_slack.port)
    yield door
    door.shut()


def test_slack_down_then_back_delivers_each_reminder_and_the_summary_once(
    flaky_slack: FlakySlack, gate: Gate, database_url: str
) -> None:
    slack = flaky_slack
    with running_bot(
        slack, database_url, slack_api_url=gate.url, summary_channels=SUMMARY_CHANNEL
    ) as bot:
        singles = add_due(bot.db, REP, 2, due_ago=timedelta(hours=1))
        digest = add_due(bot.db, COLLEAGUE, 6, due_ago=timedelta(minutes=30))
        services = bot.services

        gate.shut()  # connections refused
        sweep_once(services)
        summarise_if_due(services)

        bot.clock.advance(timedelta(minutes=3))
        gate.open()
        slack.unavailable = True  # answering, but 503 to everything
        sweep_once(services)
        summarise_if_due(services)
        # After its first failure the sweep stopped calling Slack (SweepReport.slack_unavailable):
        # one recipient was tried, the client's own retries aside.
        tried = {call.args.get("users") for call in slack.calls_to("conversations.open")}
        assert len(tried) == 1, tried
        assert reminded(slack) == Counter()
        assert summaries_posted(slack) == []

        slack.unavailable = False
        for minutes in (5, 1, 60):
            bot.clock.advance(timedelta(minutes=minutes))
            sweep_once(services)
            summarise_if_due(services)

        assert reminded(slack) == Counter(singles + digest)
        assert len(dms_to(slack, REP)) == 2
        assert len(dms_to(slack, COLLEAGUE)) == 1  # the digest rule held through the outage
        assert len(summaries_posted(slack)) == 1
        assert count(bot.db, ReminderDelivery) == 8


# --- PostgreSQL stopped and started again under the running bot ------------------------------


@pytest.fixture
def restartable_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own: stopping the session's would break every other test."""
    try:
        server = PostgresServer(durable=True)
    except PostgresUnavailableError as why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true: {why}")
        pytest.skip(f"PostgreSQL not available: {why}")
    try:
        server.start()
        upgrade(server.url)
        yield server
    finally:
        server.remove()


def new_customer(n: int) -> dict[str, Any]:
    return good_values(
        customer_name=f"Outage Customer {n}",
        company=f"Outage Trading {n} Co., Ltd.",
        phone=f"+86 139 5500 {n:04d}",
        email=None,
    )


def assert_saved(response: Response) -> None:
    """The form closed: an empty 200 (Bolt's 500 has an empty body too)."""
    assert (response.status, response.body in (b"", b"{}")) == (200, True), response.text


@pytest.mark.postgres
def test_the_running_bot_keeps_serving_across_a_postgresql_restart(
    slack: FakeSlack, restartable_postgres: PostgresServer
) -> None:
    server = restartable_postgres
    with running_bot(slack, server.url) as bot:
        form = bot.open_modal()
        assert_saved(bot.submit(form, new_customer(1)))  # the pool is warm
        # Saving ends, after the ack, by redrawing the rep's Home tab: until then the bot is
        # still at work, and a restart would hit that work instead of the next request.
        slack.wait_for("views.publish")

        # A restart nobody noticed (a failover, a minor upgrade) while a rep filled in the
        # form: every pooled connection is dead, and the submission that comes next must not
        # be the one to find out (pool_pre_ping).
        second_form = bot.open_modal()
        server.stop()
        server.start()
        assert_saved(bot.submit(second_form, new_customer(2)))

        server.stop()  # and now an outage with reps at work
        started = time.monotonic()
        during = bot.submit({**form, "id": "VOUTAGE0001"}, new_customer(3))
        answered_in = time.monotonic() - started
        # Answered at once, not left to Slack's timeout: an error in the form, or Bolt's 500
        # (Slack then shows its own "trouble connecting" in the modal).
        assert answered_in < 3.0
        assert during.status == 500 or during.json().get("response_action") == "errors"
        started = time.monotonic()
        command = bot.requests.command("", user_id=REP)
        # The ack stands although opening the form failed after it (bot.app.KeptAck).
        assert (command.status, time.monotonic() - started < 3.0) == (200, True)
        sweep_once(bot.services)  # logs the failure; must not raise

        server.start()
        assert_saved(bot.submit(bot.open_modal(), new_customer(4)))
        with bot.db.reader() as session:
            names = session.scalars(sql_select(Customer.name).order_by(Customer.id)).all()
        assert names == [f"Outage Customer {n}" for n in (1, 2, 4)]

        bot.clock.now = DUE
        report = bot.services.reminders.sweep(DUE)
        assert len(report.sent) == 3
        assert sorted(reminded(slack).values()) == [1, 1, 1]


# --- killed with SIGKILL in the middle of a summary ----------------------------------------


def cli(
    slack: FakeSlack, database_url: str, workdir: Path, *args: str, **env: str
) -> subprocess.Popen[str]:
    """`followup-bot ARGS` in a process group of its own, where its helper processes can be
    found after it is killed (and cleaned up, whatever happens)."""
    return subprocess.Popen(
        command(*args),
        cwd=workdir,
        env=clean_env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack.base_url,
            DATABASE_URL=database_url,
            **env,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finished(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out


def kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL, to the process alone: no cleanup, no rollback sent — the database sees the
    connection drop — and whatever helper processes it started must notice by themselves."""
    process.kill()
    process.wait(timeout=30)
    assert_helpers_end(process)


def living_in_group(group: int) -> list[int]:
    """Processes of a process group that haven't exited (zombies waiting to be reaped have)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == group and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            alive.append(int(stat.parent.name))
    return alive


def assert_helpers_end(process: subprocess.Popen[str]) -> None:
    """The killed process's helper processes exit by themselves, soon; none is left waiting
    for ever on a queue nobody reads (cli() started it as a process group of its own)."""
    try:
        deadline = time.monotonic() + 30
        while living_in_group(process.pid):
            orphans = living_in_group(process.pid)
            assert time.monotonic() < deadline, f"helpers outlived the killed process: {orphans}"
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)


def wait_until_held(reached: threading.Event, process: subprocess.Popen[str]) -> None:
    """Until the process's request is held at the fake Slack (or the process ended early)."""
    deadline = time.monotonic() + 90
    while not reached.wait(timeout=0.05):
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the process ended ({process.returncode}) before it was held:\n{out}{err}")
        assert time.monotonic() < deadline, "the process never reached the held call"


def hold_first(reached: threading.Event, release: threading.Event) -> Any:
    """A fake Slack answer that holds the first call until released, then fails it: the process
    was killed while its request was in flight, and Slack never completed it."""

    def answer(call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        reached.set()
        release.wait(timeout=60)
        return 503, {"ok": False, "error": "service_unavailable"}, {}

    return answer


def test_summary_killed_between_claim_and_post_is_posted_once_by_a_later_run(
    slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    reached, release = threading.Event(), threading.Event()
    slack.on("chat.postMessage", hold_first(reached, release))
    now = FIXED_NOW.isoformat()  # Friday 10:00 in Shanghai: due there, --force or not
    summary = ("summary", "--force", "--channel", SUMMARY_CHANNEL)
    zone = {"DEFAULT_TZ": "Asia/Shanghai"}

    doomed = cli(slack, database_url, tmp_path, *summary, "--now", now, **zone)
    wait_until_held(reached, doomed)
    kill(doomed)
    release.set()
    slack.wait_for("chat.postMessage", lambda call: call.status == 503)
    slack.reset()  # Slack is itself again

    db = Database(database_url)
    try:
        with db.reader() as session:
            (run,) = session.scalars(sql_select(SummaryRun)).all()
        assert (run.status, run.message_ts, run.posted_at) == ("claimed", None, None)

        held = finished(cli(slack, database_url, tmp_path, *summary, "--now", now, **zone))
        assert held.strip() == f"{SUMMARY_CHANNEL}: held by another process"
        after_lease = (FIXED_NOW + timedelta(minutes=6)).isoformat()
        posted = finished(
            cli(slack, database_url, tmp_path, *summary, "--now", after_lease, **zone)
        )
        assert posted.strip() == f"{SUMMARY_CHANNEL}: posted"

        assert len(summaries_posted(slack)) == 1
        with db.reader() as session:
            (run,) = session.scalars(sql_select(SummaryRun)).all()
        assert run.status == "posted"
        assert run.message_ts == summaries_posted(slack)[0].response["ts"]
    finally:
        db.dispose()


# --- killed with SIGKILL in the middle of an import ----------------------------------------

IMPORT_HEADERS = [
    "客户姓名",
    "公司",
    "电话",
    "跟进时间",
    "跟进方式",
    "跟进内容",
    "客户反馈",
    "跟进人",
    "下次跟进时间",
    "下次跟进事项",
    "客户状态",
    "备注",
]
IMPORT_ROWS = 1200  # with the notes below, over 1 MiB: read by a second process, as big files are
LATE_OWNER = "U0LATE0001"
LATE_OWNER_EMAIL = "late.owner@example.cn"
# The row whose owner is written as an email, looked up in Slack while the import runs: held
# there, the import is killed with rows 1-500 committed and the current group half-written.
HELD_ROW = 800


@pytest.fixture(scope="module")
def big_sheet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("import") / "big.xlsx"
    random = Random(9)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("跟进")
    sheet.append(IMPORT_HEADERS)
    for n in range(1, IMPORT_ROWS + 1):
        customer = (n + 1) // 2  # two follow-ups per customer
        sheet.append(
            [
                f"王{'磊娜伟芳'[customer % 4]}{customer}",
                f"上海某某{customer}科技有限公司",
                f"138 {customer // 10000:04d} {customer % 10000:04d}",
                f"2026/{1 + n % 11}/{1 + n % 27}",
                "电话" if n % 2 else "微信",
                f"报价{100 + n % 400}套，客户比较了竞品价格和售后服务",
                "预算在下个季度审批，需要CFO签字",
                LATE_OWNER_EMAIL if n == HELD_ROW else f"U0OWNER{customer % 20:03d}",
                "下周三",
                "发送修改后的报价单",
                "有意向",
                "".join(random.choices(ascii_letters + digits, k=1400)),  # incompressible
            ]
        )
    book.save(path)
    assert path.stat().st_size >= PARALLEL_MIN_BYTES
    return path


def assert_whole_rows(db: Database) -> int:
    """Every stored follow-up came with its customer and its row's fingerprint, and every
    fingerprint with its follow-up: no row half-imported. Returns the rows stored."""
    with db.reader() as session:
        followups = session.scalar(sql_select(func.count()).select_from(FollowUp)) or 0
        fingerprints = session.scalar(
            sql_select(func.count(func.distinct(ImportedRow.fingerprint)))
        )
        joined = session.scalar(
            sql_select(func.count())
            .select_from(ImportedRow)
            .join(FollowUp, FollowUp.id == ImportedRow.followup_id)
            .join(Customer, Customer.id == FollowUp.customer_id)
        )
        without_followup = session.scalar(
            sql_select(func.count())
            .select_from(Customer)
            .where(~sql_select(FollowUp.id).where(FollowUp.customer_id == Customer.id).exists())
        )
    assert followups == fingerprints == joined
    assert without_followup == 0
    return int(followups)


def test_import_killed_midway_completes_each_row_once_when_run_again(
    slack: FakeSlack, database_url: str, tmp_path: Path, big_sheet: Path
) -> None:
    slack.set_user(LATE_OWNER, email=LATE_OWNER_EMAIL)
    reached, release = threading.Event(), threading.Event()
    slack.on("users.lookupByEmail", hold_first(reached, release))

    report = str(tmp_path / "report.xlsx")  # written by a third process, as for a big file
    doomed = cli(slack, database_url, tmp_path, "import", str(big_sheet), "--report", report)
    wait_until_held(reached, doomed)
    kill(doomed)  # its reader and report processes must follow by themselves
    release.set()
    slack.wait_for("users.lookupByEmail", lambda call: call.status == 503)
    slack.reset()

    db = Database(database_url)
    try:
        stored = assert_whole_rows(db)
        assert stored == HELD_ROW - HELD_ROW % ROWS_PER_COMMIT  # whole groups, committed

        out = finished(cli(slack, database_url, tmp_path, "import", str(big_sheet)))

        assert f"{stored} already imported before" in out
        assert assert_whole_rows(db) == IMPORT_ROWS
        assert count(db, Customer) == IMPORT_ROWS // 2
        with db.reader() as session:
            held = session.scalar(
                sql_select(func.count())
                .select_from(FollowUp)
                .where(FollowUp.owner_id == LATE_OWNER)
            )
        assert held == 1
    finally:
        db.dispose()


# --- the clock jumping forward, then back ----------------------------------------------------

MANAGER = "U0MANAGER1"


def test_clock_jumps_forward_catch_up_once_and_back_resend_nothing(
    slack: FakeSlack, database_url: str
) -> None:
    slack.set_user(MANAGER, tz="Asia/Shanghai")
    with running_bot(
        slack, database_url, summary_channels=SUMMARY_CHANNEL, admin_user_ids=MANAGER
    ) as bot:
        # Coming due over the next two days: 3 for REP, 7 for COLLEAGUE.
        rep = [
            *add_due(bot.db, REP, 1, due_ago=-timedelta(hours=1)),
            *add_due(bot.db, REP, 1, due_ago=-timedelta(days=1)),
            *add_due(bot.db, REP, 1, due_ago=-timedelta(days=2)),
        ]
        colleague = [
            followup_id
            for hours in (2, 5, 9, 20, 26, 30, 40)
            for followup_id in add_due(bot.db, COLLEAGUE, 1, due_ago=-timedelta(hours=hours))
        ]
        services = bot.services
        sweep_once(services)
        summarise_if_due(services)  # Friday's summary
        assert reminded(slack) == Counter()
        assert len(summaries_posted(slack)) == 1

        bot.clock.advance(timedelta(days=3))  # Monday, 10:00 in Shanghai
        sweep_once(services)
        summarise_if_due(services)
        sweep_once(services)
        summarise_if_due(services)

        # Everything due in the skipped days, once; the rules for many at once still hold.
        with bot.db.reader() as session:
            sent = Counter(
                (row.followup_id, row.kind) for row in session.scalars(sql_select(ReminderDelivery))
            )
        assert set(sent.values()) == {1}
        assert {fid for fid, kind in sent if kind == "due"} == {*rep, *colleague}
        # Overdue by 48 h at Monday 10:00: REP's first two, COLLEAGUE's first four.
        escalated = {fid for fid, kind in sent if kind == "escalation"}
        assert escalated == {*rep[:2], *colleague[:4]}
        assert {fid for fid, kind in sent if kind == "escalation_manager"} == escalated
        assert len(dms_to(slack, REP)) == 3 + 2  # each due one alone, then the escalations
        assert len(dms_to(slack, COLLEAGUE)) == 1 + 4  # 7 due at once: one digest
        assert len(dms_to(slack, MANAGER)) == 6
        assert len(summaries_posted(slack)) == 2  # Monday's, not one per skipped day
        posts = len(slack.calls_to("chat.postMessage"))

        bot.clock.now = FIXED_NOW + timedelta(hours=1)  # back to Friday
        sweep_once(services)
        summarise_if_due(services)
        bot.clock.advance(timedelta(days=3))  # and forward again over the same days
        sweep_once(services)
        summarise_if_due(services)

        assert len(slack.calls_to("chat.postMessage")) == posts  # nothing sent again
        assert count(bot.db, ReminderDelivery) == sum(sent.values())
