"""`followup-bot import`: a deliberately messy follow-up sheet — a title row, Chinese or English
headers, an unknown and a duplicate column, merged customer cells, every kind of bad row, a
blank row and trailing blank rows — imported as .xlsx and as CSV (UTF-8 with BOM, GB18030),
through the command line as its own process and through run_import with the running bot's
services, on SQLite and PostgreSQL, with owners looked up by email in the fake Slack.
"""

from __future__ import annotations

import csv
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot import import_reader, importer
from bot.import_rules import REPORT_COLUMNS
from bot.importer import ImportFileError, ImportOptions, ImportSummary, run_import
from storage import crypto, queries
from storage.crypto import FieldCipher, lookup_hash
from storage.db import Database
from storage.models import ChangeLog, Customer, FollowUp, ImportedRow
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, Bot, running_bot
from tests.fake_slack import FakeSlack
from tests.test_cli import clean_env, command

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZHANG = "U0ZHANG01"
WANG_FANG = "U0WANGF01"
LEE = "U0LEE0001"

FIELDS = (
    "customer_name", "company", "phone", "email", "contacted_at", "method", "summary",
    "feedback", "owner", "next_at", "next_action", "status", "wechat", "phone_2", "notes",
)  # fmt: skip
CHINESE_HEADERS = (
    "客户姓名", "公司", "手机", "邮箱", "跟进时间", "跟进方式", "跟进内容", "客户反馈", "跟进人",
    "下次跟进时间", "下次跟进事项", "客户状态", "微信号", "联系电话", "备注",
)  # fmt: skip
ENGLISH_HEADERS = (
    "Customer", "Company", "Mobile", "E-mail", "Date", "Method", "Summary", "Feedback", "Owner",
    "Next date", "Next step", "Status", "WeChat ID", "Phone", "Notes",
)  # fmt: skip
TITLE_ROW = 1
HEADER_ROW = 2
FIRST_ROW = 3


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock moment as a spreadsheet cell holds it: naive."""
    return datetime(year, month, day, hour, minute)  # noqa: DTZ001


def shanghai(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass(frozen=True)
class Sample:
    cells: dict[str, object]
    outcome: str
    says: tuple[str, ...] = ()  # expected in "what was changed" or "why rejected"


def row(**cells: object) -> dict[str, object]:
    base: dict[str, object] = {
        "method": "电话",
        "summary": "报价200套，单价80元，对比竞品A的SSO功能",
        "feedback": "需要财务总监审批，预算12月确定",
        "owner": "张三",
        "next_at": "2031-01-01",
        "next_action": "发送修订报价单含三年折扣",
        "status": "潜在客户",
    }
    return base | cells


WANG_LEI = {
    "customer_name": "王磊",
    "company": "上海明德科技有限公司",
    "phone": 13800138000,
    "email": "Wang.Lei@Mingde.cn",
    "owner": "张三",
}
# Row number → what it holds and how it must end. Row 21 is blank; 23 and 24 are trailing blanks.
SAMPLES: dict[int, Sample] = {
    3: Sample(
        row(
            **WANG_LEI,
            contacted_at=local(2025, 3, 1, 10, 0),
            next_at=local(2025, 3, 8),
            status="意向客户",
            wechat="wx_wanglei",
            phone_2="021-12345678",
        ),
        "imported",
    ),
    4: Sample(  # in the .xlsx, the customer cells are merged down from row 3
        row(
            **WANG_LEI,
            contacted_at=local(2025, 4, 10, 15, 30),
            method="微信",
            summary="发送三年折扣报价单，客户转给采购部",
            feedback="采购部要求再降5%，月底前答复",
            next_at="2031-01-15",
            next_action="约采购部面谈确认最终价格",
            status="已签约",
        ),
        "merged",
        ("merged into row 3 (same phone)",),
    ),
    5: Sample(
        row(
            customer_name="Li Na",
            company="Acme Co., Ltd.",
            phone="12345",
            email="li.na@acme.com",
            contacted_at="2025/3/5",
            method="Call",
            summary="Quoted 50 seats at $90; needs SSO and audit logs",
            feedback="Wants a 2-year contract price before April",
            owner="lee@team.example",
            next_at="下周",
            next_action="Send the 2-year contract draft",
            status="warm",
        ),
        "fixed",
        ("phone '12345' invalid", "dropped", "has passed — open and overdue"),
    ),
    6: Sample(
        row(
            customer_name="赵六",
            company="北京某某科技有限公司",
            phone="abc",
            email="not-an-email",
            contacted_at="2025-03-06",
        ),
        "rejected",
        ("phone 'abc' invalid", "email 'not-an-email' invalid"),
    ),
    7: Sample(
        row(
            customer_name="陈七",
            company="广州某某物流有限公司",
            phone="139 0013 9000",
            contacted_at="2025-05-06",
            summary="电话沟通，客户有兴趣",
            feedback="很感兴趣",
            next_at="2031-02-01",
            next_action="继续跟进",
        ),
        "fixed",
        ("vague summary", "vague feedback", "vague next step"),
    ),
    8: Sample(
        row(
            customer_name="刘八",
            company="成都某某软件有限公司",
            phone="13300133000",
            contacted_at="2025-05-07",
            summary="",
        ),
        "rejected",
        ("summary is missing",),
    ),
    9: Sample(
        row(
            customer_name="钱九",
            company="重庆某某建材有限公司",
            phone="13400134000",
            contacted_at="2025-05-08",
            status="跟进中",
        ),
        "rejected",
        ("status '跟进中' isn't known",),
    ),
    10: Sample(
        row(
            customer_name="孔十",
            company="天津某某机械有限公司",
            phone="15000150000",
            contacted_at="2025-05-09",
            method="传真",
        ),
        "rejected",
        ("method '传真' isn't known",),
    ),
    11: Sample(
        row(
            customer_name="曹一",
            company="武汉某某医疗有限公司",
            phone="15100151000",
            contacted_at="2025-05-10",
            owner="Zhao",
        ),
        "rejected",
        ("owner 'Zhao' isn't in the owner map",),
    ),
    12: Sample(
        row(
            customer_name="严二",
            company="西安某某能源有限公司",
            phone="15200152000",
            contacted_at="2025-05-11",
            owner="ghost@team.example",
        ),
        "rejected",
        ("owner email 'ghost@team.example' isn't a Slack user",),
    ),
    13: Sample(
        row(
            customer_name="王磊",
            company="上海明德科技",
            phone="13700137000",
            contacted_at="2025-05-20 14:00",
            method="拜访",
            summary="上门拜访采购部，确认最终价格每套76元",
            feedback="同意签约，合同走法务流程",
            next_at="2031-03-01",
            next_action="跟进法务审核合同条款",
            status="已成交",
        ),
        "merged",
        ("merged into row 3 (same name and company)",),
    ),
    14: Sample(  # a copy of row 7
        row(
            customer_name="陈七",
            company="广州某某物流有限公司",
            phone="139 0013 9000",
            contacted_at="2025-05-06",
            summary="电话沟通，客户有兴趣",
            feedback="很感兴趣",
            next_at="2031-02-01",
            next_action="继续跟进",
        ),
        "already imported",
        ("same as row 7",),
    ),
    15: Sample(
        row(
            customer_name="华三",
            company="青岛某某海产有限公司",
            phone="15300153000",
            contacted_at="2030-01-01",
        ),
        "rejected",
        ("contact date 2030-01-01 09:00 is in the future",),
    ),
    16: Sample(
        row(
            customer_name="金四",
            company="长沙某某教育有限公司",
            phone="15500155000",
            contacted_at="sometime",
        ),
        "rejected",
        ("contact date 'sometime' isn't a date",),
    ),
    17: Sample(
        row(
            customer_name="孙八",
            company="深圳某某贸易有限公司",
            phone="13600136000",
            contacted_at="2025-06-01",
            summary="客户确认选择竞品B，停止采购评估",
            feedback="选择了竞品B，价格便宜20%",
            next_at="",
            next_action="",
            status="流失",
        ),
        "imported",
    ),
    18: Sample(
        row(
            customer_name="吴十",
            company="南京某某制造有限公司",
            phone="13200132000",
            contacted_at="2025-06-02",
            method="会议",
            summary="演示了排产模块，对方关注ERP对接",
            feedback="需要确认与用友ERP的接口",
            next_at="",
            next_action="整理ERP接口文档",
            status="有意向",
        ),
        "fixed",
        ("no next contact date — stored as done",),
    ),
    19: Sample(
        row(
            customer_name="周九",
            company="杭州某某网络有限公司",
            phone="135 0013 5000",
            contacted_at="2025-06-03",
            method="邮件",
            summary="发送了年度续约报价，含50个新增账号",
            feedback="希望续约价格不变",
            owner="Wang Fang",
            next_at="2031-04-01",
            next_action="电话确认续约价格",
            status="老客户",
        ),
        "merged",
        ("merged into existing customer #1 (same phone)",),
    ),
    20: Sample(
        row(
            customer_name="郑十一",
            company="苏州某某电子有限公司",
            phone="13100131000",
            contacted_at=46000,  # an Excel serial number: 2025-12-09
            method="短信",
            summary="发送了样品寄送单号和检测报告",
            feedback="收到样品，下周安排测试",
            next_at="3天后",
            next_action="电话确认样品测试结果",
            status="hot",
        ),
        "imported",
        ("next contact 2025-12-12 09:00 has passed",),
    ),
    22: Sample(
        row(
            customer_name="冯十二",
            company="厦门某某食品有限公司",
            phone="13000130000",
            contacted_at="3/12",  # no year: the latest 12 March not in the future
            method="微信",
            summary="报价冷链配送方案每月两万元",
            feedback="需要和老板商量预算",
            next_at="4/1",
            next_action="发送冷链配送合同样本",
            status="lead",
        ),
        "imported",
    ),
}
BLANK_ROWS = (21, 23, 24)
LAST_ROW = 24
EXPECTED_OUTCOMES = {number: sample.outcome for number, sample in SAMPLES.items()}
MERGED_DOWN = ("customer_name", "company", "phone", "email", "owner")


def stored_rows() -> list[int]:
    return [n for n, s in SAMPLES.items() if s.outcome not in ("rejected", "already imported")]


# --- writing the sample ------------------------------------------------------------------------


def csv_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.strftime("%Y-%m-%d %H:%M") if value.hour or value.minute else f"{value:%Y-%m-%d}"
        )
    return str(value)


def sample_grid(headers: Sequence[str]) -> list[list[object]]:
    """Every row of the sheet, from the title row to the last trailing blank one."""
    grid: list[list[object]] = [["2025 客户跟进表 · follow-ups"], list(headers)]
    for number in range(FIRST_ROW, LAST_ROW + 1):
        sample = SAMPLES.get(number)
        if sample is None:
            grid.append(["", "  ", None] if number == LAST_ROW else [])
        else:
            grid.append([sample.cells.get(name) for name in FIELDS])
    return grid


def write_xlsx(path: Path, headers: Sequence[str]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "跟进记录"
    for values in sample_grid(headers):
        sheet.append(values)
    sheet.merge_cells(start_row=TITLE_ROW, start_column=1, end_row=TITLE_ROW, end_column=6)
    # The customer cells of rows 3 and 4 merged, as teams do for one customer's rows.
    for name in MERGED_DOWN:
        column = FIELDS.index(name) + 1
        sheet.merge_cells(start_row=3, start_column=column, end_row=4, end_column=column)
    workbook.save(path)
    return path


def write_csv(path: Path, headers: Sequence[str], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as stream:
        writer = csv.writer(stream)
        for values in sample_grid(headers):
            writer.writerow([csv_text(value) for value in values])
    return path


Variant = Literal["xlsx-zh", "csv-utf8-bom-en", "csv-gb18030-zh"]
VARIANTS: tuple[Variant, ...] = ("xlsx-zh", "csv-utf8-bom-en", "csv-gb18030-zh")


def write_sample(directory: Path, variant: Variant) -> Path:
    if variant == "xlsx-zh":
        return write_xlsx(directory / "客户跟进表.xlsx", CHINESE_HEADERS)
    if variant == "csv-utf8-bom-en":
        return write_csv(directory / "followups.csv", ENGLISH_HEADERS, "utf-8-sig")
    return write_csv(directory / "客户跟进表.csv", CHINESE_HEADERS, "gb18030")


def unmapped_for(variant: Variant) -> tuple[str, ...]:
    return ("WeChat ID", "Phone") if variant.endswith("-en") else ("微信号", "联系电话")


def write_owner_map(directory: Path) -> Path:
    path = directory / "owners.csv"
    path.write_text(f"name,slack_user_id\n张三,{ZHANG}\nWang Fang,{WANG_FANG}\n", "utf-8")
    return path


# --- reading the report ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLine:
    outcome: str
    changes: str
    reasons: str
    cells: tuple[object, ...]


def read_report(path: Path) -> tuple[list[object], dict[int, ReportLine]]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as stream:
            table: list[list[object]] = [list(r) for r in csv.reader(stream)]
    else:
        workbook = load_workbook(path, read_only=True)
        table = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
        workbook.close()
    header, lines = table[0], table[1:]
    found: dict[int, ReportLine] = {}
    # An .xlsx report has no cell for an empty value: its rows can end early.
    padded = [line + [None] * (len(header) - len(line)) for line in lines]
    for number, outcome, changes, reasons, _sheet, *cells in padded:
        if outcome == "columns":
            continue
        assert int(str(number)) not in found, f"row {number} reported twice"
        found[int(str(number))] = ReportLine(
            str(outcome), str(changes or ""), str(reasons or ""), tuple(cells)
        )
    return header, found


def assert_report(path: Path, *, dry_run_of: Path | None = None) -> dict[int, ReportLine]:
    header, lines = read_report(path)
    assert header[:5] == [
        "Row · 行号",
        "Outcome · 结果",
        "What was changed · 修改",
        "Why rejected · 拒绝原因",
        "Sheet · 工作表",
    ]
    assert {n: line.outcome for n, line in lines.items()} == EXPECTED_OUTCOMES
    for number, sample in SAMPLES.items():
        said = lines[number].changes + " | " + lines[number].reasons
        for expected in sample.says:
            assert expected in said, f"row {number}: {expected!r} not in {said!r}"
    assert lines[3].cells[0] == "王磊"
    assert lines[4].cells[0] == "王磊"  # the merged cell's value, so the report can be re-imported
    return lines


# --- the database ------------------------------------------------------------------------------


def seed_existing_customer(db: Database) -> int:
    """周九, already a customer in the bot, with an open follow-up from January."""
    with db.transaction() as session:
        customer = Customer(
            name="周九",
            company="杭州某某网络有限公司",
            name_key="周九",
            company_key="杭州某某网络",
            phone_e164="+8613500135000",
            owner_id=WANG_FANG,
            status="interested",
            created_by=WANG_FANG,
            created_at=shanghai(2025, 1, 5),
            updated_at=shanghai(2025, 1, 5),
        )
        session.add(customer)
        session.flush()
        session.add(
            FollowUp(
                customer_id=customer.id,
                author_id=WANG_FANG,
                owner_id=WANG_FANG,
                contacted_at=shanghai(2025, 1, 5),
                method="phone",
                summary="年度续约沟通，确认账号数量",
                feedback="预计增加50个账号",
                status_after="interested",
                next_at=shanghai(2025, 2, 1),
                next_action="发送续约报价",
                state="open",
                remind_at=shanghai(2025, 2, 1),
                created_at=shanghai(2025, 1, 5),
            )
        )
        return customer.id


def count(db: Database, model: type[Any]) -> int:
    with db.reader() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def customer_by_phone(db: Database, phone: str) -> tuple[Customer, list[FollowUp]]:
    with db.reader() as session:
        customer = session.scalars(
            select(Customer).where(Customer.phone_hash == lookup_hash(phone))
        ).one()
        followups = session.scalars(
            select(FollowUp)
            .where(FollowUp.customer_id == customer.id)
            .order_by(FollowUp.contacted_at)
        ).all()
        return customer, list(followups)


def import_logs(db: Database) -> list[ChangeLog]:
    with db.reader() as session:
        return list(session.scalars(select(ChangeLog).where(ChangeLog.entity == "import")).all())


def assert_database_holds_the_sample(db: Database) -> None:
    new_customers = {"王磊", "Li Na", "陈七", "孙八", "吴十", "郑十一", "冯十二"}
    with db.reader() as session:
        names = set(session.scalars(select(Customer.name)).all())
    assert names == new_customers | {"周九"}
    assert count(db, FollowUp) == len(stored_rows()) + 1  # and 周九's own
    assert count(db, ImportedRow) == len(stored_rows())

    wang, history = customer_by_phone(db, "+8613800138000")
    # Details from the newest row (13); the owner from the row that added them; the email kept.
    assert (wang.company, wang.status, wang.owner_id) == ("上海明德科技", "won", ZHANG)
    assert wang.email == "wang.lei@mingde.cn"
    assert wang.created_at == shanghai(2025, 3, 1, 10, 0)
    assert [f.state for f in history] == ["done", "done", "open"]
    assert [f.author_id for f in history] == [ZHANG] * 3
    assert history[0].notes == "微信号: wx_wanglei\n联系电话: 021-12345678" or history[0].notes == (
        "WeChat ID: wx_wanglei\nPhone: 021-12345678"
    )
    assert history[1].done_at == shanghai(2025, 5, 20, 14, 0)  # closed by row 13's contact
    assert history[2].remind_at == shanghai(2031, 3, 1)
    assert history[2].created_at == shanghai(2025, 5, 20, 14, 0)

    with db.reader() as session:
        li_na = session.scalars(
            select(Customer).where(Customer.email_hash == lookup_hash("li.na@acme.com"))
        ).one()
        (li_na_followup,) = li_na.followups
        assert li_na.phone_e164 is None
        assert li_na.owner_id == LEE
        # 下周 from Wed 5 March: an overdue backlog item — open, but no reminder DM.
        assert li_na_followup.next_at == shanghai(2025, 3, 12)
        assert (li_na_followup.state, li_na_followup.remind_at) == ("open", None)
        assert li_na_followup.escalated

    lost, (lost_followup,) = customer_by_phone(db, "+8613600136000")
    assert (lost.status, lost_followup.state) == ("lost", "done")
    _no_next, (no_next_followup,) = customer_by_phone(db, "+8613200132000")
    assert no_next_followup.state == "done"
    _serial, (serial_followup,) = customer_by_phone(db, "+8613100131000")
    assert serial_followup.contacted_at == shanghai(2025, 12, 9)
    _yearless, (yearless_followup,) = customer_by_phone(db, "+8613000130000")
    assert yearless_followup.contacted_at == shanghai(2026, 3, 12)
    assert yearless_followup.next_at == shanghai(2026, 4, 1)

    existing, (old, new) = customer_by_phone(db, "+8613500135000")
    assert (existing.status, existing.owner_id) == ("existing", WANG_FANG)
    assert (old.state, old.done_by, old.remind_at) == ("done", "import", None)
    assert (new.state, new.remind_at, new.owner_id) == ("open", shanghai(2031, 4, 1), WANG_FANG)

    (log,) = import_logs(db)
    assert log.action == "import"
    assert log.after is not None
    assert (log.after["rows"], log.after["rejected"], log.after["merged"]) == (19, 8, 3)


def assert_summary(summary: ImportSummary, variant: Variant) -> None:
    assert (
        summary.rows,
        summary.imported,
        summary.fixed,
        summary.merged,
        summary.rejected,
        summary.skipped_duplicate_rows,
    ) == (19, 4, 3, 3, 8, 1)
    assert summary.unmapped_headers == unmapped_for(variant)


# --- running it --------------------------------------------------------------------------------


@pytest.fixture
def slack_with_owners(slack: FakeSlack) -> FakeSlack:
    slack.set_user(LEE, email="Lee@Team.example")
    return slack


@pytest.fixture
def bot(slack_with_owners: FakeSlack, database_url: str) -> Iterator[Bot]:
    with running_bot(slack_with_owners, database_url) as running:
        yield running


def options_for(path: Path, directory: Path, **overrides: Any) -> ImportOptions:
    options = ImportOptions(
        path=path,
        sheet=None,
        dry_run=False,
        owner_map=write_owner_map(directory),
        report=directory / "report.xlsx",
        date_order="mdy",
        actor_id="import",
    )
    return replace(options, **overrides)


def cli_import(
    tmp_path: Path, slack: FakeSlack, database_url: str, *args: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.base_url,
        DATABASE_URL=database_url,
        DEFAULT_TZ="Asia/Shanghai",
        DEFAULT_PHONE_REGION="CN",
        **settings,
    )
    return subprocess.run(
        command("import", *args),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_through_the_command_line(
    tmp_path: Path, slack_with_owners: FakeSlack, database_url: str, db: Database
) -> None:
    seed_existing_customer(db)
    sheet = write_sample(tmp_path, "xlsx-zh")
    owners = write_owner_map(tmp_path)
    report = tmp_path / "report.xlsx"
    args = (str(sheet), "--owner-map", str(owners), "--report", str(report))

    result = cli_import(tmp_path, slack_with_owners, database_url, *args)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "19 rows: 4 imported, 3 fixed, 3 merged, 8 rejected, 1 already imported" in result.stdout
    assert "'微信号', '联系电话'" in result.stdout
    assert_report(report)
    assert_database_holds_the_sample(db)
    # Each owner email is asked of Slack once.
    asked = sorted(c.args["email"] for c in slack_with_owners.calls_to("users.lookupByEmail"))
    assert asked == ["ghost@team.example", "lee@team.example"]

    again = cli_import(tmp_path, slack_with_owners, database_url, *args)

    assert again.returncode == 0, again.stderr
    assert "19 rows: 0 imported, 0 fixed, 0 merged, 8 rejected, 11 already imported" in again.stdout
    _header, lines = read_report(report)
    assert {n for n, line in lines.items() if line.outcome == "already imported"} == set(
        stored_rows()
    ) | {14}
    assert count(db, FollowUp) == len(stored_rows()) + 1


def test_an_import_under_a_field_encryption_key_stores_nothing_personal_in_clear(
    tmp_path: Path, slack_with_owners: FakeSlack, database_url: str, db: Database
) -> None:
    # The import writes with its own bulk statements (COPY on PostgreSQL): they must encrypt
    # and hash exactly as the ORM does.
    from tests.test_encryption_e2e import ID_A, KEY_A, assert_all_under, hmac_of, raw_rows

    sheet = write_sample(tmp_path, "xlsx-zh")
    args = (str(sheet), "--owner-map", str(write_owner_map(tmp_path)))

    result = cli_import(
        tmp_path, slack_with_owners, database_url, *args, FIELD_ENCRYPTION_KEY=KEY_A
    )

    assert result.returncode == 0, result.stderr
    assert_all_under(db, ID_A)
    crypto.configure(FieldCipher.from_keys(KEY_A))  # the conftest fixture resets it
    with db.reader() as session:
        customers = session.scalars(select(Customer)).all()
    assert customers
    hashes = {row[2] for row in raw_rows(db)["customers"]}
    for customer in customers:
        assert customer.phone_e164 is None or customer.phone_e164.startswith("+")
        if customer.phone_e164:
            assert hmac_of(KEY_A, customer.phone_e164) in hashes
    # Found again by phone through the keyed hash, as a save from Slack would.
    phone = next(c.phone_e164 for c in customers if c.phone_e164)
    with db.reader() as session:
        assert queries.find_customer_by_contact(session, phone_e164=phone, email=None)


def test_a_file_that_cant_be_imported_is_one_line_and_exit_code_1(
    tmp_path: Path, slack: FakeSlack, database_url: str
) -> None:
    sheet = tmp_path / "notes.csv"
    sheet.write_text("just,some,words\nand,no,headers\n", "utf-8")

    result = cli_import(tmp_path, slack, database_url, str(sheet))

    assert result.returncode == 1
    last_line = result.stderr.splitlines()[-1]  # after the migration's log lines
    assert last_line.startswith("followup-bot: notes.csv: no header row found")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_row_of_a_messy_sheet_gets_its_outcome(
    bot: Bot, tmp_path: Path, variant: Variant
) -> None:
    seed_existing_customer(bot.db)
    sheet = write_sample(tmp_path, variant)
    report = tmp_path / ("report.csv" if variant.startswith("csv") else "report.xlsx")

    summary = run_import(bot.services, options_for(sheet, tmp_path, report=report), progress=False)

    assert_summary(summary, variant)
    assert summary.report_path == report
    lines = assert_report(report)
    if variant == "xlsx-zh":
        assert "'客户姓名' from merged cell (row 3)" in lines[4].changes
    assert_database_holds_the_sample(bot.db)
    assert len(bot.slack.calls_to("users.lookupByEmail")) == 2


def test_importing_again_changes_nothing(bot: Bot, tmp_path: Path) -> None:
    seed_existing_customer(bot.db)
    options = options_for(write_sample(tmp_path, "xlsx-zh"), tmp_path)
    run_import(bot.services, options, progress=False)
    with bot.db.reader() as session:
        before = session.execute(
            select(FollowUp.id, FollowUp.state, FollowUp.version, FollowUp.remind_at)
        ).all()

    again = run_import(bot.services, options, progress=False)

    assert (again.imported, again.fixed, again.merged) == (0, 0, 0)
    assert again.skipped_duplicate_rows == len(stored_rows()) + 1
    assert again.rejected == 8  # rejected rows are still rejected, and still listed
    with bot.db.reader() as session:
        after = session.execute(
            select(FollowUp.id, FollowUp.state, FollowUp.version, FollowUp.remind_at)
        ).all()
    assert after == before
    _header, lines = read_report(options.report or Path())
    assert "imported before: 客户跟进表.xlsx [跟进记录], row 3" in lines[3].changes
    assert [log.action for log in import_logs(bot.db)] == ["import", "import"]


def test_a_dry_run_writes_nothing_but_produces_the_report(bot: Bot, tmp_path: Path) -> None:
    seed_existing_customer(bot.db)
    sheet = write_sample(tmp_path, "xlsx-zh")
    changes_before = count(bot.db, ChangeLog)

    summary = run_import(bot.services, options_for(sheet, tmp_path, dry_run=True), progress=False)

    assert_summary(summary, "xlsx-zh")
    assert_report(tmp_path / "report.xlsx")
    assert (count(bot.db, Customer), count(bot.db, FollowUp), count(bot.db, ImportedRow)) == (
        1,
        1,
        0,
    )
    assert count(bot.db, ChangeLog) == changes_before + 1
    (log,) = import_logs(bot.db)
    assert log.action == "import_dry_run"
    # Still the customer's open follow-up from January, untouched.
    _existing, (january,) = customer_by_phone(bot.db, "+8613500135000")
    assert (january.state, january.version) == ("open", 1)


def test_big_files_are_read_by_a_second_process(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "PARALLEL_MIN_BYTES", 0)
    seed_existing_customer(bot.db)
    sheet = write_sample(tmp_path, "xlsx-zh")

    summary = run_import(bot.services, options_for(sheet, tmp_path), progress=False)

    assert_summary(summary, "xlsx-zh")
    assert_report(tmp_path / "report.xlsx")
    assert_database_holds_the_sample(bot.db)


class _CrashError(Exception):
    pass


@pytest.mark.parametrize("rows_per_commit", [1, importer.ROWS_PER_COMMIT])
def test_a_crash_mid_import_keeps_the_rows_before_it_and_the_rerun_finishes(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows_per_commit: int
) -> None:
    monkeypatch.setattr(importer, "ROWS_PER_COMMIT", rows_per_commit)
    seed_existing_customer(bot.db)
    options = options_for(write_sample(tmp_path, "xlsx-zh"), tmp_path)
    real_write = importer._Writer.write

    def crash_at_row_13(writer: importer._Writer, plan: importer.Plan) -> importer.Written:
        written = real_write(writer, plan)
        if plan.row.number == 13:
            raise _CrashError  # after the row's statements, before its commit
        return written

    monkeypatch.setattr(importer._Writer, "write", crash_at_row_13)
    with pytest.raises(_CrashError):
        run_import(bot.services, options, progress=False)
    with bot.db.reader() as session:
        rows = sorted(session.scalars(select(ImportedRow.row_number)).all())
    # Committed: the rows before 13 — or, committing 200 rows at a time, none yet.
    assert rows == ([n for n in stored_rows() if n < 13] if rows_per_commit == 1 else [])
    assert count(bot.db, FollowUp) == len(rows) + 1  # nothing of row 13 half-written
    assert count(bot.db, Customer) == len({3, 5, 7} & set(rows)) + 1

    monkeypatch.setattr(importer._Writer, "write", real_write)
    rerun = run_import(bot.services, options, progress=False)

    assert rerun.skipped_duplicate_rows == len(rows) + 1  # those rows, and row 14 (a copy)
    assert_database_holds_the_sample_after_a_rerun(bot.db)


def assert_database_holds_the_sample_after_a_rerun(db: Database) -> None:
    assert count(db, FollowUp) == len(stored_rows()) + 1
    assert count(db, ImportedRow) == len(stored_rows())
    _wang, history = customer_by_phone(db, "+8613800138000")
    assert [f.state for f in history] == ["done", "done", "open"]


def test_a_corrected_report_can_be_imported_again(bot: Bot, tmp_path: Path) -> None:
    """The report keeps the original columns: fix a rejected row in it and import the report."""
    seed_existing_customer(bot.db)
    options = options_for(write_sample(tmp_path, "xlsx-zh"), tmp_path)
    run_import(bot.services, options, progress=False)
    workbook = load_workbook(tmp_path / "report.xlsx")
    sheet = workbook.worksheets[0]
    summary_column = len(REPORT_COLUMNS) + FIELDS.index("summary")
    for cells in sheet.iter_rows(min_row=2):
        if cells[0].value == 8:  # the row without a summary
            cells[summary_column].value = "介绍了年度订阅价格和实施周期"
    corrected = tmp_path / "corrected.xlsx"
    workbook.save(corrected)

    summary = run_import(
        bot.services,
        options_for(corrected, tmp_path, report=tmp_path / "second.xlsx"),
        progress=False,
    )

    assert summary.imported == 1  # row 8, now with a summary
    assert summary.rejected == 7
    _header, lines = read_report(tmp_path / "second.xlsx")
    # Report rows line up with the sheet's: its header is row 1 and the column notes row 2.
    assert {n for n, line in lines.items() if line.outcome == "imported"} == {8}
    assert count(bot.db, ImportedRow) == len(stored_rows()) + 1


# --- reading -----------------------------------------------------------------------------------


def read_all(
    path: Path, *, order: Literal["mdy", "dmy", "ymd"] = "mdy"
) -> tuple[import_reader.SheetInfo, list[import_reader.ParsedRow]]:
    settings = import_reader.ReadSettings(
        path=path,
        sheet=None,
        order=order,
        zone=SHANGHAI,
        default_time=datetime.min.time().replace(hour=9),
        now=shanghai(2026, 11, 27, 10),
        phone_region="CN",
    )
    info, *chunks = import_reader.read_sheet(settings)
    assert isinstance(info, import_reader.SheetInfo)
    return info, [row for chunk in chunks if isinstance(chunk, list) for row in chunk]


def test_merged_cells_fill_customer_columns_only(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["姓名", "公司", "手机", "跟进时间", "跟进方式", "跟进内容", "跟进人", "状态"])
    sheet.append(
        [
            "王磊",
            "明德",
            "13800138000",
            "2025-03-01",
            "电话",
            "报价两百套每套八十元",
            "张三",
            "潜在",
        ]
    )
    sheet.append([None, None, None, None, None, "确认采购流程需要三周", None, "潜在"])
    sheet.append([None, None, None, "2025-03-09", "微信", "发送合同草稿给法务审核", None, "意向"])
    for column in ("A", "B", "C", "G"):  # customer columns, merged down three rows
        sheet.merge_cells(f"{column}2:{column}4")
    sheet.merge_cells("D2:D3")  # a contact date merged down: not a customer column
    sheet.merge_cells("E2:E3")
    path = tmp_path / "merged.xlsx"
    workbook.save(path)

    _info, rows = read_all(path)

    first, second, third = rows
    assert first.values is not None
    assert first.values.customer_name == "王磊"
    assert second.values is None  # its date and method are blank: never filled in
    assert set(second.problems) == {"contact date is missing", "method is missing"}
    assert second.cells[:3] == ("王磊", "明德", "13800138000")
    assert third.values is not None, third.problems
    assert (third.values.customer_name, third.values.owner) == ("王磊", "张三")
    assert third.values.status == "interested"
    assert third.info == (
        "'姓名' from merged cell (row 2)",
        "'公司' from merged cell (row 2)",
        "'手机' from merged cell (row 2)",
        "'跟进人' from merged cell (row 2)",
    )


@pytest.mark.parametrize(
    ("content", "encoding", "expected"),
    [
        ("客户姓名,公司\n王磊,明德\n", "utf-8-sig", "utf-8-sig"),
        ("客户姓名,公司\n王磊,明德\n", "utf-8", "utf-8"),
        ("客户姓名,公司\n王磊,明德\n", "gb18030", "gb18030"),
        ("name,company\nWang,Acme\n", "ascii", "utf-8"),
        ("客户姓名\t公司\n", "utf-16", "utf-16"),
    ],
)
def test_csv_encodings_are_detected(
    tmp_path: Path, content: str, encoding: str, expected: str
) -> None:
    path = tmp_path / "sheet.csv"
    path.write_bytes(content.encode(encoding))
    assert import_reader.detect_encoding(path) == expected


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (["title only", "", "still nothing"], "no header row found in the first 10 rows"),
        (
            ["姓名,公司,手机,跟进内容", "王磊,明德,13800138000,报价"],
            "has no column for contacted_at",
        ),
    ],
)
def test_a_sheet_without_a_usable_header_is_refused(
    bot: Bot, tmp_path: Path, lines: list[str], problem: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(ImportFileError, match=re.escape(problem)):
        run_import(bot.services, options_for(path, tmp_path), progress=False)
    assert count(bot.db, Customer) == 0


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"sheet": "Missing"}, "has no sheet 'Missing' — it has '跟进记录'"),
        ({"report": Path("out.pdf")}, "--report must end in .xlsx or .csv"),
        ({"actor_id": "someone"}, "--as needs a Slack user id"),
        ({"path": Path("missing.xlsx")}, "missing.xlsx doesn't exist"),
    ],
)
def test_bad_options_are_refused_before_anything_is_read(
    bot: Bot, tmp_path: Path, change: dict[str, Any], problem: str
) -> None:
    options = replace(options_for(write_sample(tmp_path, "xlsx-zh"), tmp_path), **change)
    with pytest.raises(ImportFileError, match=re.escape(problem)):
        run_import(bot.services, options, progress=False)


def test_an_old_xls_file_is_refused_with_what_to_do(bot: Bot, tmp_path: Path) -> None:
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(ImportFileError, match=re.escape("old .xls file — save it as .xlsx")):
        run_import(bot.services, options_for(old, tmp_path), progress=False)


def test_owner_map_by_email_and_by_name(tmp_path: Path) -> None:
    path = tmp_path / "owners.csv"
    path.write_text(
        "email,slack_user_id,name\nZhang@Team.example,U0ZHANG01,张三\n,U0WANGF01,Wang  Fang\n",
        "utf-8-sig",
    )
    owners = importer.load_owner_map(path)
    assert owners.by_email == {"zhang@team.example": ZHANG}
    assert owners.by_name == {"张三": ZHANG, "wang fang": WANG_FANG}
    path.write_text("name,slack_user_id\n张三,zhang\n", "utf-8")
    with pytest.raises(ImportFileError, match=re.escape("line 2: 'zhang' isn't a Slack user id")):
        importer.load_owner_map(path)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_report_cells_are_never_formulas(tmp_path: Path, suffix: str) -> None:
    """A cell that reads "=HYPERLINK(…)" is reported as that text, not run by Excel."""
    path = tmp_path / f"report{suffix}"
    report = import_reader.report_file(path)
    report.write(['=HYPERLINK("http://x")', "+86 138 0013 8000", "-5", "@SUM(A1)", "a\x01b", ""])
    report.close()
    if suffix == ".xlsx":
        workbook = load_workbook(path)
        sheet = workbook.worksheets[0]
        cells = [(c.value, c.data_type) for c in sheet[1]]
        assert cells[0] == ('=HYPERLINK("http://x")', "s")
        assert [value for value, _ in cells[1:5]] == ["+86 138 0013 8000", "-5", "@SUM(A1)", "ab"]
    else:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            (line,) = list(csv.reader(stream))
        assert line == [
            '\'=HYPERLINK("http://x")',
            "+86 138 0013 8000",
            "-5",
            "'@SUM(A1)",
            "a\x01b",
            "",
        ]


@pytest.mark.parametrize("rows_per_commit", [1, importer.ROWS_PER_COMMIT])
def test_a_phone_a_later_row_adds_is_found_by_its_lookup_hash(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows_per_commit: int
) -> None:
    # The customer is stored by the time row 3 adds the phone (one row per commit), or still
    # waiting for its group's insert: either way the phone is theirs in every lookup.
    monkeypatch.setattr(importer, "ROWS_PER_COMMIT", rows_per_commit)
    first = row(
        customer_name="赵六", company="杭州云帆", email="zhao@yunfan.cn", owner="张三",
        contacted_at="2025-03-01 10:00",
    )  # fmt: skip
    second = first | {"phone": "13900139000", "contacted_at": "2025-03-02 10:00"}
    path = tmp_path / "phone_added.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(CHINESE_HEADERS)
        for cells in (first, second):
            writer.writerow([csv_text(cells.get(name)) for name in FIELDS])

    summary = run_import(bot.services, options_for(path, tmp_path), progress=False)

    assert (summary.imported, summary.merged) == (1, 1), summary
    customer, history = customer_by_phone(bot.db, "+8613900139000")
    assert (customer.email, customer.version) == ("zhao@yunfan.cn", 2)
    assert len(history) == 2
    with bot.db.reader() as session:
        found = queries.find_customer_by_contact(session, phone_e164="+8613900139000", email=None)
    assert found is not None
    assert found.id == customer.id
