"""The spreadsheet-import rules in bot.import_rules: headers, status and method words, dates in
cells, vague notes and row fingerprints. Pure functions: no files, no database."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot import import_rules as rules
from bot.import_rules import CellDate
from bot.validation import FieldError, check_specific_note
from bot.validation import _normalise_note as normalise_note

SHANGHAI = ZoneInfo("Asia/Shanghai")
NINE = time(9, 0)
# Friday 27 Nov 2026, 10:00 in Shanghai.
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def shanghai(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


# --- headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("客户姓名", "customer_name"),
        ("姓名", "customer_name"),
        ("联系人", "customer_name"),
        ("客户", "customer_name"),
        ("Name", "customer_name"),
        (" CUSTOMER ", "customer_name"),
        ("公司", "company"),
        ("单位", "company"),
        ("公司名称", "company"),
        ("Company", "company"),
        ("电话", "phone"),
        ("手机", "phone"),
        ("手机号", "phone"),
        ("联系方式", "phone"),
        ("联系电话", "phone"),
        ("Phone", "phone"),
        ("mobile", "phone"),
        ("手机号（必填）", "phone"),
        ("邮箱", "email"),
        ("电子邮件", "email"),
        ("Email", "email"),
        ("E-mail", "email"),
        ("e－mail", "email"),  # a full-width hyphen
        ("跟进时间", "contacted_at"),
        ("日期", "contacted_at"),
        ("Date", "contacted_at"),
        ("Contacted", "contacted_at"),
        ("跟进方式", "method"),
        ("方式", "method"),
        ("Method", "method"),
        ("跟进内容", "summary"),
        ("沟通内容", "summary"),
        ("内容", "summary"),
        ("Summary", "summary"),
        ("客户反馈", "feedback"),
        ("反馈", "feedback"),
        ("Feedback", "feedback"),
        ("跟进人", "owner"),
        ("负责人", "owner"),
        ("责任人", "owner"),
        ("业务员", "owner"),
        ("Owner", "owner"),
        ("下次跟进时间", "next_at"),
        ("下次联系", "next_at"),
        ("Next", "next_at"),
        ("Next date", "next_at"),
        ("next  DATE", "next_at"),
        ("下次跟进事项", "next_action"),
        ("下一步", "next_action"),
        ("Next action", "next_action"),
        ("Next step", "next_action"),
        ("客户状态", "status"),
        ("状态", "status"),
        ("Status", "status"),
        ("备注", "notes"),
        ("Notes", "notes"),
        ("Remarks", "notes"),
    ],
)
def test_each_header_variant_maps_to_its_field(header: str, field: str) -> None:
    (column,) = rules.map_headers([header]).columns
    assert (column.kind, column.field) == ("field", field)


def test_unknown_blank_and_duplicate_headers() -> None:
    mapping = rules.map_headers(
        ["姓名", "微信号", None, "手机", "联系方式", "客户名称", "Row · 行号"]
    )
    kinds = [(c.kind, c.field) for c in mapping.columns]
    assert kinds == [
        ("field", "customer_name"),
        ("unknown", None),
        ("blank", None),
        ("field", "phone"),
        ("unknown", None),  # a second phone column: not guessed, reported
        ("unknown", None),  # 客户名称 is ambiguous (person or company), so never guessed
        ("report", None),  # the import report's own column, skipped when a report is re-imported
    ]
    assert mapping.unmapped_headers == ("微信号", "联系方式", "客户名称")
    assert "a second column for phone (the first is '手机')" in mapping.columns[4].remark
    assert mapping.index_of("phone") == 3


def test_missing_required_columns_are_named() -> None:
    mapping = rules.map_headers(["姓名", "公司", "跟进内容"])
    missing = " ".join(mapping.missing_required())
    for field in ("contacted_at", "method", "owner", "status", "phone", "email"):
        assert field in missing
    complete = rules.map_headers(["姓名", "公司", "邮箱", "日期", "方式", "内容", "跟进人", "状态"])
    assert complete.missing_required() == []


def test_a_title_row_is_not_the_header_row() -> None:
    assert not rules.is_header_row(["2026 客户跟进表", None, None])
    assert rules.is_header_row(["客户姓名", "公司", "电话"])


def test_the_synonym_tables_have_no_word_twice() -> None:
    # _index_synonyms raises on import if a word were listed under two values; check it does.
    with pytest.raises(ValueError, match="listed for both"):
        rules._index_synonyms({"won": ("closed",), "lost": ("Closed",)})


# --- status and method words -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("潜在", "prospect"),
        ("潜在客户", "prospect"),
        ("Lead", "prospect"),
        ("cold", "prospect"),
        ("NEW", "prospect"),
        ("有意向", "interested"),
        ("意向", "interested"),
        ("意向客户", "interested"),
        ("warm", "interested"),
        ("Interested", "interested"),
        ("hot", "interested"),
        ("成交", "won"),
        ("已成交", "won"),
        ("签约", "won"),
        ("已签约", "won"),
        ("won", "won"),
        ("closed", "won"),
        ("Closed Won", "won"),
        ("closed-won", "won"),
        ("老客户", "existing"),
        ("回头客", "existing"),
        ("existing", "existing"),
        ("customer", "existing"),
        ("流失", "lost"),
        ("无效", "lost"),
        ("丢单", "lost"),
        ("lost", "lost"),
        ("dead", "lost"),
        ("Closed Lost", "lost"),
        (" 已流失 ", "lost"),
    ],
)
def test_status_synonyms(word: str, status: str) -> None:
    assert rules.status_from(word) == status


@pytest.mark.parametrize("word", ["maybe", "跟进中", "A类", "", "closed?won!?x"])
def test_unknown_status_words_are_not_guessed(word: str) -> None:
    assert rules.status_from(word) is None


@pytest.mark.parametrize(
    ("word", "method"),
    [
        ("电话", "phone"),
        ("打电话", "phone"),
        ("Call", "phone"),
        ("phone", "phone"),
        ("微信", "wechat"),
        ("WeChat", "wechat"),
        ("wx", "wechat"),
        ("邮件", "email"),
        ("E-mail", "email"),
        ("拜访", "visit"),
        ("上门", "visit"),
        ("visit", "visit"),
        ("会议", "meeting"),
        ("meeting", "meeting"),
        ("面谈", "meeting"),
        ("短信", "message"),
        ("SMS", "message"),
        ("message", "message"),
        ("消息", "message"),
    ],
)
def test_method_synonyms(word: str, method: str) -> None:
    assert rules.method_from(word) == method


@pytest.mark.parametrize("word", ["传真", "fax", "钉钉", ""])
def test_unknown_methods_are_not_defaulted(word: str) -> None:
    assert rules.method_from(word) is None


# --- dates in cells ----------------------------------------------------------------------------


def cell_date(value: object, order: rules.DateOrder = "mdy") -> CellDate | None:
    return rules.parse_date_cell(value, order=order, zone=SHANGHAI)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (46000, CellDate(2025, 12, 9, None)),  # an Excel serial number
        (46000.5, CellDate(2025, 12, 9, time(12, 0))),
        ("46000", CellDate(2025, 12, 9, None)),  # the same, exported to CSV
        ("2026/3/12", CellDate(2026, 3, 12, None)),
        ("2026-03-12", CellDate(2026, 3, 12, None)),  # ISO
        ("2026-03-12 14:30", CellDate(2026, 3, 12, time(14, 30))),
        ("2026-03-12T14:30:05", CellDate(2026, 3, 12, time(14, 30, 5))),
        ("2026-03-12T06:30:00Z", CellDate(2026, 3, 12, time(14, 30))),  # an instant, in Shanghai
        ("2026.3.12", CellDate(2026, 3, 12, None)),
        ("2026年3月12日", CellDate(2026, 3, 12, None)),
        ("３月１２日", CellDate(None, 3, 12, None)),  # full-width digits
        (datetime(2026, 3, 12, 0, 0), CellDate(2026, 3, 12, None)),  # noqa: DTZ001 - a cell
        (datetime(2026, 3, 12, 15, 45), CellDate(2026, 3, 12, time(15, 45))),  # noqa: DTZ001
        (date(2026, 3, 12), CellDate(2026, 3, 12, None)),
    ],
)
def test_dates_in_cells(value: object, expected: CellDate) -> None:
    assert cell_date(value) == expected


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("3/12", "mdy", CellDate(None, 3, 12, None)),  # 3月12日, as Chinese and US sheets mean
        ("3/12", "ymd", CellDate(None, 3, 12, None)),
        ("3/12", "dmy", CellDate(None, 12, 3, None)),
        ("3/12/2026", "mdy", CellDate(2026, 3, 12, None)),
        ("3/12/2026", "dmy", CellDate(2026, 12, 3, None)),
        ("3/12/2026", "ymd", CellDate(2026, 3, 12, None)),  # year last: month first
        ("3/12/26", "mdy", CellDate(2026, 3, 12, None)),
        ("26/3/12", "ymd", CellDate(2026, 3, 12, None)),
        ("2026/3/12", "dmy", CellDate(2026, 3, 12, None)),  # a four-digit year first always wins
        ("12/3 9:15", "dmy", CellDate(None, 3, 12, time(9, 15))),
    ],
)
def test_numeric_dates_follow_the_date_order(
    text: str, order: rules.DateOrder, expected: CellDate
) -> None:
    assert cell_date(text, order) == expected


@pytest.mark.parametrize(
    "value", ["2/30/2026", "13/13", "2026-02-30", "25:00", "下周", "whenever", 42, 3.5, True, None]
)
def test_non_dates_are_not_read(value: object) -> None:
    assert cell_date(value) is None


def test_feb_29_without_a_year_is_a_date() -> None:
    assert cell_date("2/29") == CellDate(None, 2, 29, None)


def test_a_contact_date_without_a_year_is_the_latest_one_not_in_the_future() -> None:
    def contact(text: str) -> datetime:
        cell = cell_date(text)
        assert cell is not None
        return rules.contact_moment(cell, zone=SHANGHAI, default_time=NINE, now=NOW)

    assert contact("3/12") == shanghai(2026, 3, 12, 9, 0)
    assert contact("12/28") == shanghai(2025, 12, 28, 9, 0)  # Dec 2026 hasn't come yet
    assert contact("2/29") == shanghai(2024, 2, 29, 9, 0)
    assert contact("3/12 14:30") == shanghai(2026, 3, 12, 14, 30)
    # Today without a time: 09:00 has passed at 10:00, so 09:00 it is…
    assert contact("11/27") == shanghai(2026, 11, 27, 9, 0)
    # …but before 09:00 it is "now", not a contact in the future.
    early = shanghai(2026, 11, 27, 8, 0)
    cell = cell_date("11/27")
    assert cell is not None
    assert rules.contact_moment(cell, zone=SHANGHAI, default_time=NINE, now=early) == early


def next_at(value: object, contacted: datetime, order: rules.DateOrder = "mdy") -> datetime | None:
    return rules.next_moment(
        value, contacted_at=contacted, order=order, zone=SHANGHAI, default_time=NINE
    )


def test_next_dates_are_read_relative_to_the_contact() -> None:
    # Thursday 12 March 2026, 14:30.
    contacted = shanghai(2026, 3, 12, 14, 30)
    assert next_at("下周", contacted) == shanghai(2026, 3, 19, 9, 0)
    assert next_at("3天后", contacted) == shanghai(2026, 3, 15, 9, 0)
    assert next_at("下周三下午3点", contacted) == shanghai(2026, 3, 18, 15, 0)
    assert next_at("next Friday", contacted) == shanghai(2026, 3, 13, 9, 0)
    assert next_at("in 2 weeks", contacted) == shanghai(2026, 3, 26, 9, 0)
    assert next_at("2026-04-01", contacted) == shanghai(2026, 4, 1, 9, 0)
    assert next_at("2026-04-01 16:00", contacted) == shanghai(2026, 4, 1, 16, 0)
    assert next_at(46113, contacted) == shanghai(2026, 4, 1, 9, 0)
    assert next_at(datetime(2026, 4, 1, 10, 0), contacted) == shanghai(2026, 4, 1, 10, 0)  # noqa: DTZ001
    assert next_at("4/1", contacted) == shanghai(2026, 4, 1, 9, 0)
    assert next_at("4/1", contacted, "dmy") == shanghai(2027, 1, 4, 9, 0)  # 4 January, next one
    assert next_at("whenever", contacted) is None
    assert next_at("改天", contacted) is None


def test_a_yearless_next_date_falls_on_or_after_the_contact() -> None:
    contacted = shanghai(2025, 12, 20, 10, 0)
    assert next_at("1/5", contacted) == shanghai(2026, 1, 5, 9, 0)
    assert next_at("12/20", contacted) == shanghai(2025, 12, 20, 9, 0)
    assert next_at("5/1", contacted, "dmy") == shanghai(2026, 1, 5, 9, 0)


# --- cell text and fingerprints ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (13800138000.0, "13800138000"),
        (13800138000, "13800138000"),
        (1.5, "1.5"),
        ("  two   words ", "two words"),
        (None, ""),
        (datetime(2026, 3, 12), "2026-03-12"),  # noqa: DTZ001
        (datetime(2026, 3, 12, 9, 30), "2026-03-12 09:30:00"),  # noqa: DTZ001
    ],
)
def test_cell_text(value: object, text: str) -> None:
    assert rules.cell_text(value) == text


def test_fingerprints_ignore_column_order_blank_cells_and_spacing() -> None:
    row = [("customer_name", "王磊"), ("phone", 13800138000.0), ("summary", "报价 200 套")]
    same = [("summary", "报价  200 套 "), ("phone", "13800138000"), ("customer_name", "王磊")]
    with_blank = [*row, ("notes", None), ("column x", "  ")]
    fingerprint = rules.row_fingerprint("跟进表", row)
    assert len(fingerprint) == 64
    assert rules.row_fingerprint("跟进表", same) == fingerprint
    assert rules.row_fingerprint("跟进表", with_blank) == fingerprint
    assert rules.row_fingerprint("Sheet2", row) != fingerprint
    changed = [("customer_name", "王磊"), ("phone", "13800138001"), ("summary", "报价 200 套")]
    assert rules.row_fingerprint("跟进表", changed) != fingerprint


def test_owner_keys_fold_case_width_and_spaces() -> None:
    assert rules.owner_key(" Zhang  San ") == rules.owner_key("ｚｈａｎｇ san") == "zhang san"


# --- vague notes, quickly ----------------------------------------------------------------------

VAGUE_NOTES = [
    "电话沟通，客户有兴趣",
    "called, interested",
    "follow up",
    "同上",
    "客户考虑中",
    "已联系，等回复",
    "talked to customer, went well",
    "下周再联系",
    "ok",
    "followup call",
]
SPECIFIC_NOTES = [
    "报价200套，单价80元，对比竞品A的SSO功能",
    "Quoted 200 seats at $80; they compare us with Acme",
    "需要财务总监审批，预算12月确定",
    "Needs CFO sign-off; budget decided in December",
    "约演示",
    "send quote",
    "价格太高",
]


@pytest.mark.parametrize("note", VAGUE_NOTES + SPECIFIC_NOTES)
def test_is_vague_agrees_with_the_form(note: str) -> None:
    for kind in ("summary", "feedback", "next_action"):
        try:
            check_specific_note(note, kind=kind)
            vague = False
        except FieldError:
            vague = True
        assert rules.is_vague(note, kind) == vague, (note, kind)


def test_the_fast_path_never_passes_a_note_the_form_would_refuse() -> None:
    """Notes built from filler words and content words in both scripts: whenever the fast path
    calls a note specific, check_specific_note agrees."""
    fragments = [
        "电话", "沟通", "客户", "有兴趣", "跟进", "called", "follow", "up", "followup",
        "interested", "the", "报价", "200", "套", "SSO", "seats", "Acme", "预算", "定", "了",
        "in", "good", "王总", "，", " ", "; ", "a", "sent", "info", "demo", "下周", "演示", "fu",
        "f/u", "okay",
    ]  # fmt: skip
    generator = random.Random(20261127)
    fast_hits = 0
    for _ in range(3000):
        note = "".join(generator.choice(fragments) for _ in range(generator.randint(1, 8)))
        for kind in ("summary", "feedback", "next_action"):
            if rules.surely_specific(note, kind):
                fast_hits += 1
                check_specific_note(note, kind=kind)
    assert fast_hits > 500  # the fast path does take most of the specific notes


def test_the_fast_normalisation_is_the_forms_own() -> None:
    """fast_normalise_note must see every note exactly as check_specific_note does."""
    alphabet = (
        "aZ9_ -,.!？。，、：\u3000\u00a0\u200bＡｚ０９ß_İ²½ⅻ王磊電話沟通é\u0301ñ한국어кирилл"
        "\t\n😀ﬁ\U00020000\uf900"
    )
    generator = random.Random(7)
    for _ in range(5000):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 20)))
        assert rules.fast_normalise_note(text) == normalise_note(text), repr(text)
