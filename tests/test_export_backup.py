"""Export, backup and restore: the command line as a real process, `/followup export` through
signed requests and the fake Slack's file uploads, and a backup taken while a writer is busy.

Follow-ups are logged through the modal, the way reps create them, so the export reads exactly
what the bot stores.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.backup import (
    BackupError,
    NativeToolRequiredError,
    backup,
    inspect_database,
    restore,
)
from bot.cli import main as cli_main
from bot.exporter import (
    COLUMNS,
    SHEET_TITLES,
    ZH_METHOD_WORDS,
    ZH_STATUS_WORDS,
    CountedRows,
    ExportFilter,
    Lang,
    export_rows,
    headers,
    write_export,
)
from bot.import_rules import CellDate, map_headers, method_from, parse_date_cell, status_from
from storage.db import Database
from storage.models import (
    METHODS,
    STATUSES,
    Base,
    ChangeLog,
    Customer,
    FollowUp,
    TeamMember,
    utcnow,
)
from tests.conftest import BOT_TOKEN, COLLEAGUE, FIXED_NOW, REP, REP_NY, SIGNING_SECRET, Bot
from tests.conftest import running_bot as running_bot_
from tests.fake_slack import Call, FakeSlack
from tests.test_cli import run
from tests.test_reminders_e2e import log_followup

ADMIN = "U0ADMIN01"
EN_HEADERS = [en for en, _zh in COLUMNS]
ZH_HEADERS = [zh for _en, zh in COLUMNS]
DEFAULT_SUMMARY = "Quoted 200 seats at ¥80 per seat; they compare us with Acme on SSO."
DEFAULT_FEEDBACK = "Needs CFO sign-off; budget is decided in December."
DEFAULT_NEXT = "Send the revised quote with a 3-year discount"


def cli_knows(command: str) -> bool:
    """Whether `followup-bot COMMAND` exists yet (it is wired into bot/cli.py separately)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            cli_main([command, "--help"])
        except SystemExit as exit_:
            return exit_.code == 0
    return False


def slack_export_wired() -> bool:
    import handlers.commands

    return hasattr(handlers.commands, "run_export_command")


needs_cli_export = pytest.mark.skipif(
    not cli_knows("export"), reason="`followup-bot export` isn't wired into bot/cli.py yet"
)
needs_cli_backup = pytest.mark.skipif(
    not (cli_knows("backup") and cli_knows("restore")),
    reason="`followup-bot backup/restore` aren't wired into bot/cli.py yet",
)
needs_slack_export = pytest.mark.skipif(
    not slack_export_wired(), reason="`/followup export` isn't routed in handlers/commands.py yet"
)


# --- seeding, through the modal ----------------------------------------------------------------


def _ts(days_ago: int) -> int:
    return int((FIXED_NOW - timedelta(days=days_ago)).timestamp())


# The rows each seeded follow-up exports as (English codes, times in DEFAULT_TZ Asia/Shanghai;
# FIXED_NOW is Fri 27 Nov 2026 10:00 there).
ROW_E = [
    "Zhao Min",
    "Hangzhou Xinghe Trading Co., Ltd.",
    "+8613700137000",
    "zhao.min@xinghe.cn",
    "2026-11-23 10:00",
    "visit",
    DEFAULT_SUMMARY,
    DEFAULT_FEEDBACK,
    COLLEAGUE,
    "2026-12-01 15:00",
    DEFAULT_NEXT,
    "prospect",
    "",
    "open",
]
ROW_A = [
    "Wang Lei",
    "Shanghai Mingde Technology Co., Ltd.",
    "+8613800138000",
    "wang.lei@mingde.cn",
    "2026-11-24 10:00",
    "phone",
    DEFAULT_SUMMARY,
    DEFAULT_FEEDBACK,
    REP,
    "2026-12-01 15:00",
    DEFAULT_NEXT,
    "prospect",
    "",
    "done",  # superseded by ROW_C
]
ROW_B = [
    "John Smith",
    "Acme Co., Ltd.",
    "+12125550100",
    "john@acme.com",
    "2026-11-25 10:00",
    "email",
    DEFAULT_SUMMARY,
    DEFAULT_FEEDBACK,
    REP_NY,
    "2026-11-27 23:00",  # "tomorrow 10am" typed in New York, shown in Shanghai
    DEFAULT_NEXT,
    "interested",
    "",
    "open",
]
ROW_C = [
    "Wang Lei",
    "Shanghai Mingde Technology Co., Ltd.",
    "+8613800138000",
    "wang.lei@mingde.cn",
    "2026-11-26 10:00",
    "wechat",
    "Walked them through SSO setup; they asked for a 3-year price.",
    DEFAULT_FEEDBACK,
    REP,
    "2026-12-01 15:00",
    DEFAULT_NEXT,
    "interested",
    "",
    "open",
]
ROW_D = [
    "李娜",
    "北京某某科技有限公司",
    "+8613900139000",
    "li.na@mouke.cn",
    "2026-11-27 10:00",
    "meeting",
    DEFAULT_SUMMARY,
    DEFAULT_FEEDBACK,
    REP,
    "2026-12-02 15:00",
    "安排技术演示并确认参会人员",
    "prospect",
    "=带上报价单和案例",  # a formula-looking note must stay text
    "open",
]
ALL_ROWS = [ROW_E, ROW_A, ROW_B, ROW_C, ROW_D]  # oldest contact first


def seed(bot: Bot) -> None:
    """Five follow-ups by three people, logged through the modal (not in contact order)."""
    log_followup(bot, contacted_at=_ts(3), status="prospect")  # A
    log_followup(
        bot,
        user_id=REP_NY,
        customer_name="John Smith",
        company="Acme Co., Ltd.",
        phone="+1 212 555 0100",
        email="john@acme.com",
        contacted_at=_ts(2),
        method="email",
        next_at="tomorrow 10am",
    )  # B
    log_followup(
        bot,
        contacted_at=_ts(1),
        method="wechat",
        summary="Walked them through SSO setup; they asked for a 3-year price.",
    )  # C
    log_followup(
        bot,
        customer_name="李娜",
        company="北京某某科技有限公司",
        phone="+86 139 0013 9000",
        email="li.na@mouke.cn",
        method="meeting",
        next_at="下周三下午3点",
        next_action="安排技术演示并确认参会人员",
        notes="=带上报价单和案例",
        status="prospect",
    )  # D
    log_followup(
        bot,
        user_id=COLLEAGUE,
        customer_name="Zhao Min",
        company="Hangzhou Xinghe Trading Co., Ltd.",
        phone="+86 137 0013 7000",
        email="zhao.min@xinghe.cn",
        contacted_at=_ts(4),
        method="visit",
        status="prospect",
    )  # E


# --- reading files -----------------------------------------------------------------------------


def xlsx_rows(data: bytes) -> list[list[str]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    (sheet,) = workbook.worksheets
    rows = [
        ["" if value is None else str(value) for value in row]
        for row in sheet.iter_rows(values_only=True)
    ]
    workbook.close()
    # The sheet is named in the language of its headers.
    assert sheet.title == SHEET_TITLES["zh" if rows and rows[0] == ZH_HEADERS else "en"]
    return rows


def in_chinese(*rows: list[str]) -> list[list[str]]:
    """Rows as a Chinese export writes them: status and method as the words the importer reads
    back (the State column stays a code)."""
    return [
        [*row[:5], ZH_METHOD_WORDS[row[5]], *row[6:11], ZH_STATUS_WORDS[row[11]], *row[12:]]
        for row in rows
    ]


def rows_in(lang: Lang, rows: list[list[str]]) -> list[list[str]]:
    return in_chinese(*rows) if lang == "zh" else rows


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def export_log(db: Database) -> list[ChangeLog]:
    with db.reader() as session:
        return list(
            session.scalars(
                select(ChangeLog).where(ChangeLog.entity == "export").order_by(ChangeLog.id)
            )
        )


# --- the command line --------------------------------------------------------------------------


def cli_env(database_url: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DATABASE_URL": database_url,
        "DEFAULT_TZ": "Asia/Shanghai",
    }


@needs_cli_export
def test_cli_exports_xlsx_with_every_followup_oldest_first(
    bot: Bot, database_url: str, tmp_path: Path
) -> None:
    seed(bot)

    result = run(tmp_path, "export", "out.xlsx", **cli_env(database_url))

    assert result.returncode == 0, result.stderr
    assert "5 follow-ups" in result.stdout
    rows = xlsx_rows((tmp_path / "out.xlsx").read_bytes())
    assert rows == [EN_HEADERS, *ALL_ROWS]
    (logged,) = export_log(bot.db)
    assert logged.actor_id == "cli"
    assert logged.action == "export"
    assert logged.after == {"rows": 5, "filter": {}, "format": "xlsx", "lang": "en"}
    assert not list(tmp_path.glob(".*partial"))


@needs_cli_export
def test_cli_exports_csv_to_a_file_and_to_stdout(
    bot: Bot, database_url: str, tmp_path: Path
) -> None:
    seed(bot)

    to_file = run(tmp_path, "export", "out.csv", **cli_env(database_url))
    to_stdout = run(tmp_path, "export", "-", **cli_env(database_url))

    assert to_file.returncode == 0, to_file.stderr
    assert to_stdout.returncode == 0, to_stdout.stderr
    # A file for Excel starts with a byte-order mark (else it garbles Chinese); a pipe doesn't.
    written = (tmp_path / "out.csv").read_bytes()
    assert written.startswith(b"\xef\xbb\xbf")
    # In CSV a leading "=" would run as a formula in Excel: it is defused with a quote.
    safe_d = [*ROW_D[:12], "'" + ROW_D[12], ROW_D[13]]
    expected = [EN_HEADERS, ROW_E, ROW_A, ROW_B, ROW_C, safe_d]
    assert csv_rows(written.decode("utf-8-sig")) == expected
    assert csv_rows(to_stdout.stdout) == expected
    assert "5 follow-ups" in to_stdout.stderr  # the count never mixes into the CSV
    assert len(export_log(bot.db)) == 2


@needs_cli_export
def test_cli_filters_and_chinese_headers(bot: Bot, database_url: str, tmp_path: Path) -> None:
    seed(bot)
    env = cli_env(database_url)

    by_owner = run(tmp_path, "export", "rep.xlsx", "--owner", REP, "--lang", "zh", **env)
    by_status = run(tmp_path, "export", "interested.xlsx", "--status", "interested", **env)
    by_date = run(tmp_path, "export", "recent.xlsx", "--since", "2026-11-25", **env)
    everything_filtered = run(
        tmp_path, "export", "none.xlsx", "--status", "won", "--owner", REP, **env
    )

    for result in (by_owner, by_status, by_date, everything_filtered):
        assert result.returncode == 0, result.stderr
    assert xlsx_rows((tmp_path / "rep.xlsx").read_bytes()) == [
        ZH_HEADERS,
        *in_chinese(ROW_A, ROW_C, ROW_D),
    ]
    assert xlsx_rows((tmp_path / "interested.xlsx").read_bytes()) == [EN_HEADERS, ROW_B, ROW_C]
    # "since" is a day in DEFAULT_TZ: 25 Nov 10:00 in Shanghai is in, 24 Nov is out.
    assert xlsx_rows((tmp_path / "recent.xlsx").read_bytes()) == [
        EN_HEADERS,
        ROW_B,
        ROW_C,
        ROW_D,
    ]
    assert xlsx_rows((tmp_path / "none.xlsx").read_bytes()) == [EN_HEADERS]
    filters = [row.after["filter"] for row in export_log(bot.db) if row.after]
    assert filters[0] == {"owner": REP}
    assert filters[2] == {"since": "2026-11-25"}


@needs_cli_export
def test_cli_refuses_an_unknown_file_type_and_writes_nothing(
    bot: Bot, database_url: str, tmp_path: Path
) -> None:
    result = run(tmp_path, "export", "out.pdf", **cli_env(database_url))

    assert result.returncode == 2
    assert ".xlsx or .csv" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.pdf").exists()
    assert export_log(bot.db) == []


# --- the importer's contract -------------------------------------------------------------------

EXPORTED_FIELDS = [
    "customer_name",
    "company",
    "phone",
    "email",
    "contacted_at",
    "method",
    "summary",
    "feedback",
    "owner",
    "next_at",
    "next_action",
    "status",
    "notes",
]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_importer_reads_every_exported_header_as_the_same_field(lang: Lang) -> None:
    columns = map_headers(headers(lang)).columns

    assert [column.field for column in columns[:13]] == EXPORTED_FIELDS
    # The State column must never be taken for another field (状态 alone would be "status").
    assert columns[13].field not in EXPORTED_FIELDS


def test_the_importer_reads_exported_codes_and_times_back() -> None:
    zone = ZoneInfo("Asia/Shanghai")

    assert all(status_from(status) == status for status in STATUSES)
    assert all(method_from(method) == method for method in METHODS)
    assert parse_date_cell("2026-11-24 10:00", order="mdy", zone=zone) == CellDate(
        2026, 11, 24, time(10, 0)
    )


# --- round trip through the importer ------------------------------------------------------------


def importer_available() -> bool:
    return importlib.util.find_spec("bot.importer") is not None


def empty_database(db: Database) -> None:
    """Delete every row (children first), leaving the migrated schema: an empty database."""
    with db.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())


def followups_of(db: Database) -> list[tuple[Any, ...]]:
    with db.reader() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    Customer.name,
                    Customer.phone_e164,
                    FollowUp.author_id,
                    FollowUp.owner_id,
                    FollowUp.contacted_at,
                    FollowUp.method,
                    FollowUp.summary,
                    FollowUp.feedback,
                    FollowUp.status_after,
                    FollowUp.next_at,
                    FollowUp.next_action,
                    FollowUp.notes,
                    FollowUp.state,
                )
                .join(Customer, FollowUp.customer_id == Customer.id)
                .order_by(FollowUp.contacted_at, FollowUp.id)
            )
        ]


def customers_of(db: Database) -> list[tuple[Any, ...]]:
    with db.reader() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    Customer.name,
                    Customer.company,
                    Customer.phone_e164,
                    Customer.email,
                    Customer.owner_id,
                    Customer.status,
                ).order_by(Customer.name)
            )
        ]


# Until bot/import_rules.py knows the State column, the importer keeps it in each follow-up's
# notes ("State: open"), so the round trip can't be exact yet. strict: once it can, this xfail
# fails, and the marker goes.
STATE_COLUMN_UNREAD = map_headers([COLUMNS[-1][0]]).columns[0].kind != "field"


@pytest.mark.skipif(not importer_available(), reason="bot/importer.py doesn't exist yet")
@pytest.mark.xfail(
    STATE_COLUMN_UNREAD,
    reason="bot/import_rules.py doesn't map the State/跟进状态 column yet (kept in notes)",
    strict=True,
)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_export_then_import_into_an_empty_database_gives_the_same_data(
    bot: Bot, tmp_path: Path, lang: Lang
) -> None:
    from bot.importer import ImportOptions, run_import

    seed(bot)
    exported = tmp_path / "export.xlsx"
    first = CountedRows(
        export_rows(bot.db, bot.services.settings, viewer_id=None, filt=ExportFilter(), lang=lang)
    )
    write_export(first, exported, "xlsx")
    customers, followups = customers_of(bot.db), followups_of(bot.db)
    empty_database(bot.db)

    summary = run_import(
        bot.services,
        ImportOptions(
            path=exported,
            sheet=None,
            dry_run=False,
            owner_map=None,
            report=None,
            date_order="mdy",
            actor_id="import",
        ),
        progress=False,
    )

    assert (summary.rows, summary.rejected, summary.unmapped_headers) == (5, 0, ())
    assert customers_of(bot.db) == customers
    assert followups_of(bot.db) == followups
    again = write_export(
        export_rows(bot.db, bot.services.settings, viewer_id=None, filt=ExportFilter(), lang=lang),
        None,
        "xlsx",
    )
    assert again is not None
    expected = [headers(lang), *rows_in(lang, ALL_ROWS)]
    assert xlsx_rows(again) == xlsx_rows(exported.read_bytes()) == expected


# --- /followup export through Slack ------------------------------------------------------------


def export_via_slack(bot: Bot, text: str, user_id: str) -> tuple[dict[str, Any], Call]:
    """Type `/followup <text>`; the immediate answer and the final ephemeral message."""
    answered = len(bot.slack.calls_to("response_url"))
    response = bot.requests.command(text, user_id=user_id)
    assert response.status == 200, response.text
    (*_, final) = bot.slack.wait_for("response_url", count=answered + 1, timeout=15)
    ack: dict[str, Any] = response.json() if response.body else {}
    return ack, final


def uploaded_rows(slack: FakeSlack, user_id: str) -> list[list[str]]:
    """The one export file DMed to this user, read as xlsx."""
    (complete,) = [
        call
        for call in slack.calls_to("files.completeUploadExternal")
        if call.args.get("channel_id") == f"D{user_id}"
    ]
    assert complete.ok, complete.response
    (shared,) = complete.response["files"]
    assert shared["name"].endswith(".xlsx")
    return xlsx_rows(slack.uploaded(shared["id"]))


def make_team(bot: Bot, *, manager: str, reps: list[str]) -> None:
    with bot.db.transaction() as session:
        session.add(TeamMember(user_id=manager, role="manager", manager_id=None, updated_by=ADMIN))
        for rep in reps:
            session.add(TeamMember(user_id=rep, role="rep", manager_id=manager, updated_by=ADMIN))


@needs_slack_export
def test_a_rep_gets_only_their_own_followups_in_their_dm(bot: Bot) -> None:
    seed(bot)

    ack, final = export_via_slack(bot, "export", REP)

    assert ack["response_type"] == "ephemeral"
    assert "Preparing" in ack["text"]
    assert final.args["text"] == "Sent to your DM: 3 follow-ups."
    assert final.args.get("response_type") == "ephemeral"
    assert uploaded_rows(bot.slack, REP) == [EN_HEADERS, ROW_A, ROW_C, ROW_D]
    (logged,) = export_log(bot.db)
    assert (logged.actor_id, logged.at) == (REP, FIXED_NOW)
    assert logged.after == {"rows": 3, "filter": {}, "format": "xlsx", "lang": "en"}


@needs_slack_export
def test_a_manager_gets_their_teams_followups(bot: Bot) -> None:
    seed(bot)
    make_team(bot, manager=REP_NY, reps=[REP])

    _ack, final = export_via_slack(bot, "export", REP_NY)

    assert final.args["text"] == "Sent to your DM: 4 follow-ups."
    assert uploaded_rows(bot.slack, REP_NY) == [EN_HEADERS, ROW_A, ROW_B, ROW_C, ROW_D]


@needs_slack_export
def test_an_admin_gets_everyones_followups(slack: FakeSlack, database_url: str) -> None:
    slack.set_user(ADMIN, tz="Asia/Shanghai")
    with running_bot_(slack, database_url, admin_user_ids=ADMIN) as bot:
        seed(bot)

        _ack, final = export_via_slack(bot, "export", ADMIN)

        assert final.args["text"] == "Sent to your DM: 5 follow-ups."
        assert uploaded_rows(bot.slack, ADMIN) == [EN_HEADERS, *ALL_ROWS]
        (complete,) = bot.slack.calls_to("files.completeUploadExternal")
        assert "Everyone's follow-ups: 5 follow-ups" in complete.args["initial_comment"]


@needs_slack_export
def test_filters_and_chinese_headers_through_slack(bot: Bot) -> None:
    seed(bot)

    _ack, final = export_via_slack(bot, "export status=interested lang=zh since=2026-11-26", REP)

    assert final.args["text"] == "Sent to your DM: 1 follow-up."
    assert uploaded_rows(bot.slack, REP) == [ZH_HEADERS, *in_chinese(ROW_C)]
    (logged,) = export_log(bot.db)
    assert logged.after == {
        "rows": 1,
        "filter": {"since": "2026-11-26", "status": "interested"},
        "format": "xlsx",
        "lang": "zh",
    }


@needs_slack_export
def test_chinese_slack_users_get_chinese_headers_by_default(bot: Bot) -> None:
    bot.slack.set_user(REP, tz="Asia/Shanghai", locale="zh-CN")
    seed(bot)

    export_via_slack(bot, "export", REP)

    assert uploaded_rows(bot.slack, REP)[0] == ZH_HEADERS


@needs_slack_export
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("export status=maybe", "“maybe” isn't a status"),
        ("export since=yesterday", "isn't a date like 2026-01-01"),
        ("export lang=fr", "use lang=en or lang=zh"),
        ("export owner=U0REP0001", "Unknown option “owner”"),
        ("export won", "isn't key=value"),
        ("export status=won status=lost", "given twice"),
    ],
)
def test_bad_arguments_get_a_clear_answer_and_nothing_is_sent(
    bot: Bot, text: str, problem: str
) -> None:
    response = bot.requests.command(text, user_id=REP)

    body = response.json()
    assert body["response_type"] == "ephemeral"
    assert problem in body["text"]
    assert "Usage: `/followup export" in body["text"]
    assert bot.slack.calls_to("files.getUploadURLExternal") == []
    assert export_log(bot.db) == []


@needs_slack_export
def test_nothing_to_export_sends_no_file(bot: Bot) -> None:
    _ack, final = export_via_slack(bot, "export status=won", REP)

    assert final.args["text"] == "No follow-ups to export (status Won) — nothing was sent."
    assert bot.slack.calls_to("files.getUploadURLExternal") == []
    assert export_log(bot.db) == []


@needs_slack_export
def test_a_failed_upload_is_reported_and_not_logged(bot: Bot) -> None:
    seed(bot)
    bot.slack.fail_next("files.getUploadURLExternal", error="not_allowed_token_type")

    _ack, final = export_via_slack(bot, "export", REP)

    assert "nothing was sent" in final.args["text"]
    assert export_log(bot.db) == []


# --- backup and restore (SQLite) ---------------------------------------------------------------


@pytest.fixture
def live_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "live.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def add_customer(db: Database, n: int) -> None:
    """One customer and their follow-up, in one transaction — so a consistent copy always has
    exactly as many follow-ups as customers."""
    now = utcnow()
    with db.transaction() as session:
        customer = Customer(
            name=f"Customer {n}",
            company=f"Company {n}",
            phone_e164=f"+86138{n:08d}",
            email=None,
            owner_id=REP,
            status="prospect",
            created_by=REP,
        )
        session.add(customer)
        session.add(
            FollowUp(
                customer=customer,
                author_id=REP,
                owner_id=REP,
                contacted_at=now,
                method="phone",
                summary=f"Call {n}",
                feedback="Wants a quote",
                status_after="prospect",
                next_at=now + timedelta(days=1),
                next_action="Send the quote",
            )
        )


def count(db: Database, model: type[Customer] | type[FollowUp]) -> int:
    with db.reader() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


class Writer:
    """Adds customers in a loop on its own thread until stopped; tells waiters each commit."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self.committed = 0
        self._thread = threading.Thread(target=self._run, name="writer", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            add_customer(self._db, self.committed)
            with self._changed:
                self.committed += 1
                self._changed.notify_all()

    def wait_until(self, at_least: int) -> int:
        with self._changed:
            assert self._changed.wait_for(lambda: self.committed >= at_least, timeout=60)
            return self.committed

    @contextlib.contextmanager
    def running(self) -> Iterator[Writer]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=60)


def test_backup_while_writes_run_is_consistent_and_checked(live_url: str, tmp_path: Path) -> None:
    db = Database(live_url)
    target = tmp_path / "backups" / "followup-2026-11-27.db"
    target.parent.mkdir()
    try:
        with Writer(db).running() as writer:
            before = writer.wait_until(50)
            report = backup(live_url, target)
            # The writer kept going during and after the copy.
            after = writer.wait_until(writer.committed + 20)
        final = count(db, Customer)
    finally:
        db.dispose()

    copied = report.facts.rows["customers"]
    assert report.facts.integrity == "ok"
    assert report.facts.revision is not None
    assert before <= copied < after <= final
    # One instant's state: every customer's follow-up and every follow-up's customer.
    assert report.facts.rows["followups"] == copied
    with contextlib.closing(sqlite3.connect(target)) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        orphans = copy.execute(
            "SELECT count(*) FROM followups f LEFT JOIN customers c ON c.id = f.customer_id "
            "WHERE c.id IS NULL"
        ).fetchone()
        assert orphans == (0,)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    # A self-contained file: no -wal beside it, and no half-written leftovers.
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    assert inspect_database(target).rows == report.facts.rows
    assert any(f"customers: {copied:,} rows" in line for line in report.lines())


def test_backup_never_overwrites_a_file(live_url: str, tmp_path: Path) -> None:
    target = tmp_path / "existing.db"
    target.write_bytes(b"the only good backup")

    with pytest.raises(BackupError, match="already exists"):
        backup(live_url, target)

    assert target.read_bytes() == b"the only good backup"


def test_restore_asks_first_and_replaces_only_when_told(live_url: str, tmp_path: Path) -> None:
    db = Database(live_url)
    try:
        for n in range(3):
            add_customer(db, n)
        saved = tmp_path / "three.db"
        backup(live_url, saved)
        for n in range(3, 8):
            add_customer(db, n)
        questions: list[str] = []

        def decline(question: str) -> bool:
            questions.append(question)
            return False

        assert restore(live_url, saved, confirm=decline) is None
        assert count(db, Customer) == 8
        (question,) = questions
        assert "8 customers, 8 follow-ups" in question
        assert f"with {saved} (3 customers, 3 follow-ups)" in question
        assert question.endswith("Type yes to continue")

        report = restore(live_url, saved, confirm=lambda _question: True)

        # The bot's open engine sees the restored data at its next transaction.
        assert count(db, Customer) == 3
        assert count(db, FollowUp) == 3
    finally:
        db.dispose()
    assert report is not None
    assert report.facts.integrity == "ok"
    assert report.facts.rows["customers"] == 3
    assert report.saved_previous is not None
    assert inspect_database(report.saved_previous).rows["customers"] == 8


def test_restore_refuses_what_isnt_a_followup_bot_database(live_url: str, tmp_path: Path) -> None:
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("not a database")
    foreign = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(foreign)) as connection:
        connection.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    asked: list[str] = []

    def ask(question: str) -> bool:
        asked.append(question)
        return True

    for source, reason in [
        (not_sqlite, "not a readable SQLite database"),
        (foreign, "no alembic_version"),
        (tmp_path / "missing.db", "doesn't exist"),
    ]:
        with pytest.raises(BackupError, match=reason):
            restore(live_url, source, confirm=ask)

    assert asked == []


def test_postgresql_gets_the_pg_dump_and_pg_restore_commands() -> None:
    url = "postgresql://followup:s3cret@db.internal:5432/followup"

    with pytest.raises(NativeToolRequiredError) as dump:
        backup(url, Path("followup.dump"))
    with pytest.raises(NativeToolRequiredError) as restored:
        restore(url, Path("followup.dump"), confirm=lambda _question: True)

    assert dump.value.command == (
        'pg_dump --format=custom --file="followup.dump" '
        '"postgresql://followup@db.internal:5432/followup"'
    )
    assert restored.value.command == (
        "pg_restore --clean --if-exists --no-owner --single-transaction "
        '--dbname="postgresql://followup@db.internal:5432/followup" "followup.dump"'
    )
    for error in (dump.value, restored.value):
        assert "s3cret" not in str(error)
        assert "PGPASSWORD" in str(error)


@needs_cli_backup
def test_cli_backup_and_restore(live_url: str, tmp_path: Path) -> None:
    db = Database(live_url)
    try:
        add_customer(db, 1)
        env = cli_env(live_url)

        made = run(tmp_path, "backup", "copy.db", **env)
        add_customer(db, 2)
        refused = run(tmp_path, "backup", "copy.db", **env)
        restored = run(tmp_path, "restore", "copy.db", "--yes", **env)

        assert made.returncode == 0, made.stderr
        assert "integrity ok" in made.stdout
        assert refused.returncode != 0
        assert "already exists" in refused.stderr
        assert restored.returncode == 0, restored.stderr
        assert count(db, Customer) == 1
    finally:
        db.dispose()
