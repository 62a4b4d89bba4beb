"""The rules for reading a team's follow-up spreadsheet: which header means which field, which
status and method words mean what, how dates in cells are read, and which notes are vague.

Pure functions and tables only: no files, no database, no Slack. `bot.importer` reads the
spreadsheet and applies these rules; every table here is data, so adding a team's own word is a
one-line change (and a test case in tests/test_import_rules.py).

Decisions worth knowing:

* Headers are compared by `header_key`: NFKC, case-folded, text in brackets dropped ("手机（必填）"
  is "手机"), spaces and punctuation dropped ("E-mail" is "email"). A header not in the table is
  never guessed: its values are kept in the follow-up's notes as "Header: value" lines and the
  header is reported. A second column for a field already mapped is treated the same way.
* Status and method words go through the same key, so "Closed Won", "closed-won" and "CLOSED WON"
  are one word. A word not in the table rejects the row (with the reason): a guessed status would
  corrupt the pipeline figures.
* Numeric dates: a four-digit year first is always year-month-day. Otherwise `DateOrder` decides:
  "mdy" (the default) reads 3/12/2026 and 3/12 as 12 March — what both US sheets and Chinese
  sheets (3/12 = 3月12日) mean; "dmy" reads them as 3 December; "ymd" reads 26/3/12 as 2026-03-12
  and, like "mdy", a year-last or yearless date month first.
* Excel serial numbers (days since 1899-12-30, the 1900 date system) are read when they fall in
  1970-2099; a bare number outside that range in a date column is not a date.
* A date without a year: a contact date gets the latest year that doesn't put it in the future;
  a next-contact date the first one on or after the contact. A date without a time of day gets
  DEFAULT_REMIND_HOUR (as in the form); a contact dated today without a time is "now" if that
  hour hasn't come yet.
* A next-contact cell that isn't a date ("下周", "3天后", "next Friday") is read by
  `bot.dates.parse_when` relative to the row's contact moment, in DEFAULT_TZ.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Final, Literal, TypeVar
from zoneinfo import ZoneInfo

from bot.dates import parse_when
from bot.validation import (
    FILLER_PHRASES,
    HAN_CHARACTER_POINTS,
    MINIMUM_POINTS,
    OTHER_CHARACTER_POINTS,
    FieldError,
    NoteKind,
    check_specific_note,
)

# The checker's own normalisation and script test: the fast path below must see the note exactly
# as check_specific_note does, so it borrows them rather than keeping copies that could drift.
from bot.validation import _is_han as is_han_character
from bot.validation import _normalise_note as normalise_note

Field = Literal[
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
DateOrder = Literal["mdy", "dmy", "ymd"]
DATE_ORDERS: Final[tuple[DateOrder, ...]] = ("mdy", "dmy", "ymd")

# ---------------------------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------------------------

# Header text → field, Chinese and English, as sales teams actually label their columns.
# Ambiguous labels are deliberately absent: "客户名称" is the customer's *company* in many B2B
# sheets and the person's name in others, so it is reported as unknown instead of guessed.
HEADER_SYNONYMS: Final[Mapping[Field, tuple[str, ...]]] = {
    "customer_name": (
        "客户姓名", "姓名", "联系人", "联系人姓名", "客户", "Name", "Customer", "Customer name",
        "Contact", "Contact name",
    ),
    "company": ("公司", "单位", "公司名称", "公司名", "单位名称", "企业名称", "Company",
                "Company name"),
    "phone": (
        "电话", "手机", "手机号", "手机号码", "电话号码", "联系方式", "联系电话", "Phone",
        "Mobile", "Phone number", "Mobile phone", "Tel", "Telephone",
    ),
    "email": ("邮箱", "电子邮件", "电子邮箱", "邮件地址", "Email", "E-mail", "Email address"),
    "contacted_at": (
        "跟进时间", "跟进日期", "联系时间", "联系日期", "日期", "Date", "Contacted",
        "Contacted at", "Contact date",
    ),
    "method": ("跟进方式", "沟通方式", "方式", "Method", "Contact method"),
    "summary": ("跟进内容", "沟通内容", "内容", "跟进记录", "沟通记录", "Summary"),
    "feedback": ("客户反馈", "反馈", "客户意见", "Feedback", "Customer feedback"),
    "owner": ("跟进人", "负责人", "责任人", "业务员", "销售人员", "Owner", "Account owner",
              "Sales rep"),
    "next_at": (
        "下次跟进时间", "下次跟进日期", "下次联系", "下次联系时间", "下次跟进", "Next",
        "Next date", "Next contact", "Next follow-up",
    ),
    "next_action": ("下次跟进事项", "下次跟进内容", "下一步", "下一步计划", "Next action",
                    "Next step", "Next steps"),
    "status": ("客户状态", "状态", "Status", "Customer status"),
    "notes": ("备注", "说明", "Notes", "Note", "Remarks", "Remark", "Comments"),
}  # fmt: skip

# Columns a row can't be imported without. A sheet missing one of them is refused as a whole,
# before any row is read: every row would be rejected for the same reason.
REQUIRED_FIELDS: Final[tuple[Field, ...]] = (
    "customer_name",
    "company",
    "contacted_at",
    "method",
    "summary",
    "owner",
    "status",
)
CONTACT_FIELDS: Final[tuple[Field, ...]] = ("phone", "email")  # at least one of the two

# Fields describing the customer rather than the contact. A sheet often merges these cells
# down over all of one customer's rows; only they inherit a merged range's value.
CUSTOMER_FIELDS: Final[frozenset[Field]] = frozenset(
    {"customer_name", "company", "phone", "email", "owner", "status"}
)

# The import report's own columns (bilingual), before the sheet's original columns. They are
# recognised when a corrected report is imported again: the sheet column stands in for the sheet
# name in each row's fingerprint, so rows already imported are skipped as "already imported",
# and the others are skipped by the mapping.
REPORT_SHEET_COLUMN: Final = "Sheet · 工作表"
REPORT_COLUMNS: Final[tuple[str, ...]] = (
    "Row · 行号",
    "Outcome · 结果",
    "What was changed · 修改",
    "Why rejected · 拒绝原因",
    REPORT_SHEET_COLUMN,
)

# Text in brackets is a remark for people ("手机（必填）", "Phone (mobile)"), not the name.
_BRACKETED: Final = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】")


def header_key(text: str) -> str:
    """How headers (and status/method words) are compared: NFKC, case-folded, bracketed remarks,
    spaces and punctuation dropped. '  E-mail ' → 'email', '手机（必填）' → '手机'."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = _BRACKETED.sub("", folded)
    return "".join(ch for ch in folded if ch.isalnum())


_Value = TypeVar("_Value", bound=str)


def _index_synonyms(table: Mapping[_Value, Iterable[str]]) -> dict[str, _Value]:
    index: dict[str, _Value] = {}
    for value, words in table.items():
        for word in words:
            key = header_key(word)
            if index.setdefault(key, value) != value:
                raise ValueError(f"'{word}' is listed for both {index[key]} and {value}")
    return index


_FIELD_OF_HEADER: Final[dict[str, Field]] = _index_synonyms(HEADER_SYNONYMS)
_REPORT_HEADER_KEYS: Final = frozenset(header_key(column) for column in REPORT_COLUMNS)

ColumnKind = Literal["field", "unknown", "report", "blank"]


@dataclass(frozen=True)
class Column:
    """One column of the sheet and what the import does with it."""

    index: int  # 0-based position in the row
    header: str  # as written (stripped)
    kind: ColumnKind
    field: Field | None = None  # for kind "field"
    remark: str = ""  # why an "unknown" column wasn't mapped


@dataclass(frozen=True)
class HeaderMap:
    columns: tuple[Column, ...]

    def index_of(self, field: Field) -> int | None:
        for column in self.columns:
            if column.field == field:
                return column.index
        return None

    @property
    def mapped_fields(self) -> frozenset[Field]:
        return frozenset(c.field for c in self.columns if c.field is not None)

    @property
    def unmapped_headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns if c.kind == "unknown")

    def missing_required(self) -> list[str]:
        """Plain descriptions of required columns the sheet lacks, e.g. "owner (跟进人/…)"."""
        missing = [
            _describe_field(field) for field in REQUIRED_FIELDS if field not in self.mapped_fields
        ]
        if not self.mapped_fields & set(CONTACT_FIELDS):
            missing.append(f"{_describe_field('phone')} or {_describe_field('email')}")
        return missing


def _describe_field(field: Field) -> str:
    examples = " / ".join(HEADER_SYNONYMS[field][:3])
    return f"{field} ({examples} …)"


def _cell_header(value: object) -> str:
    return "" if value is None else " ".join(str(value).split())


def map_headers(cells: Sequence[object]) -> HeaderMap:
    """Which field each column holds. The first column for a field wins; a later one for the
    same field, and any header not in HEADER_SYNONYMS, is "unknown" (kept in notes, reported)."""
    columns: list[Column] = []
    taken: dict[Field, str] = {}
    for index, cell in enumerate(cells):
        header = _cell_header(cell)
        key = header_key(header)
        if not key:
            columns.append(Column(index, header, "blank"))
        elif key in _REPORT_HEADER_KEYS:
            columns.append(Column(index, header, "report"))
        elif key not in _FIELD_OF_HEADER:
            columns.append(Column(index, header, "unknown", remark="not a known column name"))
        elif _FIELD_OF_HEADER[key] in taken:
            field = _FIELD_OF_HEADER[key]
            remark = f"a second column for {field} (the first is '{taken[field]}')"
            columns.append(Column(index, header, "unknown", remark=remark))
        else:
            field = _FIELD_OF_HEADER[key]
            taken[field] = header
            columns.append(Column(index, header, "field", field=field))
    return HeaderMap(tuple(columns))


# A title row ("2026年客户跟进表") or a blank line may come first; the header row is the first
# one naming at least this many known fields.
HEADER_MIN_FIELDS: Final = 3
HEADER_SEARCH_ROWS: Final = 10


def is_header_row(cells: Sequence[object]) -> bool:
    return len(map_headers(cells).mapped_fields) >= HEADER_MIN_FIELDS


# ---------------------------------------------------------------------------------------------
# Status and method words
# ---------------------------------------------------------------------------------------------

# What teams write in their status column → the app's five statuses. Compared by header_key.
# "closed" alone is read as won (sales teams say "closed" for a deal they got, "closed lost"
# otherwise). Anything else rejects the row, naming the word and the statuses it could be.
STATUS_SYNONYMS: Final[Mapping[str, tuple[str, ...]]] = {
    "prospect": ("prospect", "潜在", "潜在客户", "lead", "cold", "new"),
    "interested": ("interested", "有意向", "意向", "意向客户", "warm", "hot"),
    "won": ("won", "成交", "已成交", "签约", "已签约", "closed", "closed won"),
    "existing": ("existing", "老客户", "回头客", "customer"),
    "lost": ("lost", "流失", "已流失", "无效", "丢单", "dead", "closed lost"),
}

# How the contact happened → the app's six methods. Unknown words reject the row; there is no
# default, because "phone" for a visit would be a silent lie in the history.
METHOD_SYNONYMS: Final[Mapping[str, tuple[str, ...]]] = {
    "phone": ("phone", "电话", "打电话", "call", "phone call"),
    "wechat": ("wechat", "微信", "wx", "weixin"),
    "email": ("email", "邮件", "电子邮件", "电邮"),
    "visit": ("visit", "拜访", "上门", "上门拜访"),
    "meeting": ("meeting", "会议", "面谈", "开会"),
    "message": ("message", "短信", "sms", "消息"),
}

_STATUS_OF_WORD: Final = _index_synonyms(STATUS_SYNONYMS)
_METHOD_OF_WORD: Final = _index_synonyms(METHOD_SYNONYMS)


def status_from(text: str) -> str | None:
    """The app's status for a word from the sheet, or None if the word isn't in the table."""
    return _STATUS_OF_WORD.get(header_key(text))


def method_from(text: str) -> str | None:
    return _METHOD_OF_WORD.get(header_key(text))


# ---------------------------------------------------------------------------------------------
# Cell values
# ---------------------------------------------------------------------------------------------


def cell_text(value: object) -> str:
    """A cell as text, the way the sheet shows it: 13800138000.0 → '13800138000', trimmed."""
    if type(value) is str:  # by far the most common: first, and without isinstance's cost
        # A printable string's only whitespace is the ASCII space: with no run of two and none
        # at either end, splitting and joining would give it back unchanged.
        if value.isprintable() and "  " not in value and value[:1] != " " and value[-1:] != " ":
            return value
        joined = " ".join(value.split())
        # The same object when nothing changed: a row's text then pickles once, not twice.
        return value if joined == value else joined
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time.min else value.date().isoformat()
    return cell_text(str(value)) if isinstance(value, str) else str(value)


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if type(value) is str:
        return not value or value.isspace()
    return cell_text(value) == ""


def row_fingerprint(sheet: str, fields: Iterable[tuple[str, object]]) -> str:
    """sha256 of the sheet name and the row's non-blank values, each under its column's key.

    Keys are field names (or header keys for unknown columns) sorted, so the same row exported
    with its columns in another order, or with Chinese instead of English headers, or with an
    extra empty column, is still the same row; values are compared as the sheet shows them.
    """
    pairs = sorted((key, cell_text(value)) for key, value in fields if not is_blank(value))
    # Unit and record separators can't be typed into a cell, so the joined text is unambiguous.
    payload = "\x1e".join([sheet, *(f"{key}\x1f{text}" for key, text in pairs)])
    return hashlib.sha256(unicodedata.normalize("NFKC", payload).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------

# 1970-01-01 and 2100-01-01 as Excel serial numbers (1900 date system).
EXCEL_SERIAL_MIN: Final = 25_569
EXCEL_SERIAL_MAX: Final = 73_051


@dataclass(frozen=True)
class CellDate:
    """A calendar date (and maybe a time of day) read from a cell, as wall-clock values."""

    year: int | None  # None: the cell gave no year ("3/12", "3月12日")
    month: int
    day: int
    clock: time | None  # None: the cell gave no time of day


_CLOCK: Final = r"(?:[ t]+(?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2})(?:\.\d+)?)?)?"
_YEAR_FIRST: Final = re.compile(
    rf"(?P<a>\d{{4}})\s*[-/.年]\s*(?P<b>\d{{1,2}})\s*[-/.月]\s*(?P<c>\d{{1,2}})\s*[日号]?{_CLOCK}"
)
_THREE_PART: Final = re.compile(
    rf"(?P<a>\d{{1,2}})[-/.](?P<b>\d{{1,2}})[-/.](?P<c>\d{{4}}|\d{{2}}){_CLOCK}"
)
_TWO_PART: Final = re.compile(rf"(?P<a>\d{{1,2}})[-/.](?P<b>\d{{1,2}}){_CLOCK}")
_CHINESE_MONTH_DAY: Final = re.compile(
    rf"(?P<a>\d{{1,2}})\s*月\s*(?P<b>\d{{1,2}})\s*[日号]?{_CLOCK}"
)
_SERIAL: Final = re.compile(r"\d{5}(?:\.\d+)?")


def _checked(year: int | None, month: int, day: int, clock: time | None) -> CellDate | None:
    try:
        date(2000 if year is None else year, month, day)  # 2000: a leap year, so 2/29 passes
    except ValueError:
        return None
    return CellDate(year, month, day, clock)


def _clock_of(match: re.Match[str]) -> time | Literal[False] | None:
    """The matched time of day, None if there was none, False if it was impossible."""
    if match["hh"] is None:
        return None
    hour, minute, second = int(match["hh"]), int(match["mi"]), int(match["ss"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        return False
    return None if (hour, minute, second) == (0, 0, 0) else time(hour, minute, second)


def _from_datetime(value: datetime, zone: ZoneInfo) -> CellDate:
    if value.tzinfo is not None:
        value = value.astimezone(zone)
    clock = value.time().replace(microsecond=0)
    return CellDate(value.year, value.month, value.day, None if clock == time.min else clock)


def _from_serial(number: float, zone: ZoneInfo) -> CellDate | None:
    if not EXCEL_SERIAL_MIN <= number < EXCEL_SERIAL_MAX:
        return None
    # openpyxl only here: the importing process reads no dates and needn't load it.
    from openpyxl.utils.datetime import from_excel

    moment = from_excel(number)
    return _from_datetime(moment, zone) if isinstance(moment, datetime) else None


def _two_digit_year(year: int) -> int:
    return 2000 + year if year < 100 else year


def _numeric_date(text: str, order: DateOrder) -> CellDate | None:
    for pattern in (_YEAR_FIRST, _THREE_PART, _TWO_PART, _CHINESE_MONTH_DAY):
        match = pattern.fullmatch(text)
        if match is None:
            continue
        clock = _clock_of(match)
        if clock is False:
            return None
        a, b = int(match["a"]), int(match["b"])
        if pattern is _YEAR_FIRST:
            return _checked(a, b, int(match["c"]), clock)
        if pattern is _THREE_PART:
            c, year_last = int(match["c"]), len(match["c"]) == 4
            if order == "ymd" and not year_last:
                return _checked(_two_digit_year(a), b, c, clock)
            month, day = (b, a) if order == "dmy" else (a, b)
            return _checked(_two_digit_year(c), month, day, clock)
        if pattern is _TWO_PART and order == "dmy":
            return _checked(None, b, a, clock)
        return _checked(None, a, b, clock)
    return None


def parse_date_cell(value: object, *, order: DateOrder, zone: ZoneInfo) -> CellDate | None:
    """A cell's date: a datetime cell, an Excel serial number, or numeric text in `order`.

    None when the cell isn't a date this reader knows (relative words are for `next_moment`).
    Aware values (ISO text with an offset) are converted to wall-clock time in `zone`.
    """
    if isinstance(value, datetime):
        return _from_datetime(value, zone)
    if isinstance(value, date):
        return CellDate(value.year, value.month, value.day, None)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return _from_serial(float(value), zone)
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if _SERIAL.fullmatch(text):
        return _from_serial(float(text), zone)
    found = _numeric_date(text, order)
    if found is not None or not text[:4].isdigit():
        return found
    try:  # ISO 8601 with an offset or a 'z': "2026-03-12t06:30:00z"
        return _from_datetime(datetime.fromisoformat(text.upper()), zone)
    except ValueError:
        return None


def _wall_clock(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """UTC instant of a wall-clock time in `zone` (fold=0: the first of two ambiguous times)."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def contact_moment(
    cell: CellDate, *, zone: ZoneInfo, default_time: time, now: datetime
) -> datetime:
    """When a contact happened, in UTC. No year: the latest year not in the future; no time:
    `default_time`, or now if that is still to come today (a contact can't be in the future)."""
    today = now.astimezone(zone).date()
    day = _on_or_before(cell, today) if cell.year is None else date(cell.year, cell.month, cell.day)
    moment = _wall_clock(day, cell.clock or default_time, zone)
    if cell.clock is None and moment > now and moment.astimezone(zone).date() == today:
        return now
    return moment


def _date_or_none(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _on_or_before(cell: CellDate, latest: date) -> date:
    """The last date with this month and day on or before `latest` (Feb 29: a leap year)."""
    year = latest.year
    while (found := _date_or_none(year, cell.month, cell.day)) is None or found > latest:
        year -= 1
    return found


def _on_or_after(cell: CellDate, earliest: date) -> date:
    """The first date with this month and day on or after `earliest` (Feb 29 waits for a leap
    year)."""
    year = earliest.year
    while (found := _date_or_none(year, cell.month, cell.day)) is None or found < earliest:
        year += 1
    return found


def next_moment(
    value: object,
    *,
    contacted_at: datetime,
    order: DateOrder,
    zone: ZoneInfo,
    default_time: time,
) -> datetime | None:
    """The next-contact moment in UTC, or None if the cell can't be read.

    Dates as in `parse_date_cell` (a yearless one falls on or after the contact); anything else
    ("下周", "3天后", "next Friday") is read by parse_when relative to the contact moment.
    """
    cell = parse_date_cell(value, order=order, zone=zone)
    if cell is not None:
        contact_day = contacted_at.astimezone(zone).date()
        day = (
            _on_or_after(cell, contact_day)
            if cell.year is None
            else date(cell.year, cell.month, cell.day)
        )
        return _wall_clock(day, cell.clock or default_time, zone)
    if not isinstance(value, str):
        return None
    parsed = parse_when(value, zone, contacted_at, default_time)
    return None if parsed is None else parsed.at_utc


def describe_moment(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------------------------
# Vague notes, quickly
# ---------------------------------------------------------------------------------------------
#
# check_specific_note strips every filler phrase with one large regex, which costs a few hundred
# microseconds a note — minutes over a 100,000-row sheet with three notes a row. Most notes in a
# real sheet are plainly specific, and that can be proved much faster: a Han character that
# occurs in no filler phrase, and a run of Latin letters and digits that is no concatenation of
# filler words, can never be stripped (Latin phrases match whole runs only). If what can't be
# stripped already scores enough points, the note is specific; otherwise the real check decides.

_LATIN: Final = "0-9a-z\u00c0-\u024f"  # validation's Latin-or-digit class
_HAN: Final = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"  # as _is_han
_LATIN_RUN: Final = re.compile(f"[{_LATIN}]+")
_HAN_CHARACTER: Final = re.compile(f"[{_HAN}]")
_OTHER_ALNUM: Final = re.compile(f"[^\\W_{_LATIN}{_HAN}]")  # letters/digits of other scripts
_NOT_ALNUM: Final = re.compile(r"[\W_]+")
_FILLER_HAN: Final = frozenset(
    ch for phrase in FILLER_PHRASES for ch in normalise_note(phrase) if is_han_character(ch)
)
_FILLER_HAN_CHARACTER: Final = re.compile(f"[{''.join(sorted(_FILLER_HAN))}]")
_FILLER_WORDS: Final = frozenset(
    word
    for phrase in FILLER_PHRASES
    if not any(is_han_character(ch) for ch in phrase)
    for word in normalise_note(phrase).split()
)
_LONGEST_FILLER_WORD: Final = max(map(len, _FILLER_WORDS))
# The reasoning above holds while Chinese phrases are Han characters only (a Latin letter in one
# would be stripped anywhere, even inside a word); should one ever hold more, always run the check.
_FAST_PATH_SOUND: Final = not any(
    ch.isalnum() and not is_han_character(ch)
    for phrase in FILLER_PHRASES
    if any(is_han_character(c) for c in phrase)
    for ch in normalise_note(phrase)
)


def fast_normalise_note(text: str) -> str:
    """validation's note normalisation (NFKC, case-folded, every run of non-alphanumerics one
    space) with one regex instead of a loop over characters: `\\W` is exactly "not
    str.isalnum()", apart from the underscore, which is listed."""
    return _NOT_ALNUM.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


_word_breaks: dict[str, bool] = {}


def _made_of_filler_words(run: str) -> bool:
    """Whether `run` splits into filler words ("followup" = "follow" + "up"). Remembered: the
    same words come back in note after note."""
    known = _word_breaks.get(run)
    if known is not None:
        return known
    ends = [True] + [False] * len(run)
    for end in range(1, len(run) + 1):
        start_from = max(0, end - _LONGEST_FILLER_WORD)
        ends[end] = any(
            ends[start] and run[start:end] in _FILLER_WORDS for start in range(start_from, end)
        )
    if len(_word_breaks) > 100_000:
        _word_breaks.clear()
    _word_breaks[run] = ends[-1]
    return ends[-1]


def _unstrippable_points(normalised: str) -> int:
    han = len(_HAN_CHARACTER.findall(normalised)) - len(_FILLER_HAN_CHARACTER.findall(normalised))
    latin = sum(
        len(run) for run in _LATIN_RUN.findall(normalised) if not _made_of_filler_words(run)
    )
    other = len(_OTHER_ALNUM.findall(normalised))
    return han * HAN_CHARACTER_POINTS + (latin + other) * OTHER_CHARACTER_POINTS


def surely_specific(text: str, kind: NoteKind) -> bool:
    """True only if check_specific_note would accept the note (a fast, one-sided test)."""
    if not _FAST_PATH_SOUND:
        return False
    return _unstrippable_points(fast_normalise_note(text)) >= MINIMUM_POINTS[kind]


def is_vague(text: str, kind: NoteKind) -> bool:
    """check_specific_note's verdict, computed quickly for the notes that are plainly fine."""
    if surely_specific(text, kind):
        return False
    try:
        check_specific_note(text, kind=kind)
    except FieldError:
        return True
    return False


# ---------------------------------------------------------------------------------------------
# Owners
# ---------------------------------------------------------------------------------------------


def owner_key(text: str) -> str:
    """How owner names from the sheet and the owner map are compared: NFKC, case-folded, single
    spaces ("Zhang  San" = "zhang san"); not the fuzzy person key — an owner is a colleague, and
    a near miss must not hand a customer to the wrong one."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
