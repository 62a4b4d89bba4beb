"""Reading a spreadsheet for `followup-bot import` (bot.importer): file → checked rows, and the
helper processes that read it and write the .xlsx report beside the importing process.

Everything here needs no database, settings or Slack — the helper processes import this module
and not bot.importer, so each carries only the file formats and the rules (bot.import_rules), not
SQLAlchemy and Slack — and everything that crosses to the importing process is picklable.
openpyxl is loaded only where a workbook is read or written (bot.import_xlsx).
"""

from __future__ import annotations

import base64
import codecs
import csv
import fcntl
import json
import logging
import os
import pickle
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import IO, Any, Final, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

from bot import import_rules as rules
from bot.validation import (
    COMPANY_MAX,
    NAME_MAX,
    NEXT_ACTION_MAX,
    NOTE_MAX,
    VAGUE_NOTE_MESSAGES,
    FieldError,
    NoteKind,
    normalize_email,
    normalize_phone,
)

logger = logging.getLogger(__name__)

# Rows are read and checked (and sent to the importing process) this many at a time.
CHUNK_ROWS: Final = 500
# A contact logged a few minutes "in the future" is clock skew, as in the form.
CONTACT_CLOCK_SKEW: Final = timedelta(minutes=10)


class ImportFileError(Exception):
    """The file can't be imported at all (unreadable, no header row, a required column missing,
    a bad owner map): one line for the person running the import."""


@dataclass(frozen=True)
class ReadSettings:
    path: Path
    sheet: str | None
    order: rules.DateOrder
    zone: ZoneInfo
    default_time: time
    now: datetime
    phone_region: str


@dataclass(frozen=True)
class SheetInfo:
    """What the reader learned before the first row: sent ahead of the rows."""

    sheet: str  # "" for a CSV file, which has no sheets
    header_row: int
    columns: rules.HeaderMap
    estimated_rows: int | None


@dataclass(frozen=True)
class RowValues:
    """A row that passed every check that needs neither the database nor Slack."""

    customer_name: str
    company: str
    phone_e164: str | None
    email: str | None
    contacted_at: datetime
    method: str
    summary: str
    feedback: str
    owner: str  # as written; resolved to a Slack user by the importer
    next_at: datetime | None  # None: no next contact (lost, or not given)
    next_action: str
    status: str
    notes: str | None


@dataclass(frozen=True)
class ParsedRow:
    number: int  # the row number the spreadsheet shows
    cells: tuple[object, ...]  # the row as read (merged values filled in), for the report
    fingerprint: str
    sheet: str  # the sheet the row comes from (for a corrected report: the original sheet)
    values: RowValues | None  # None when rejected
    problems: tuple[str, ...]  # why rejected
    fixes: tuple[str, ...]  # what was changed or is worth a look (outcome "fixed")
    info: tuple[str, ...]  # facts for the report that change nothing (a merged cell read)


@dataclass
class SheetSource:
    name: str
    rows: Iterator[tuple[int, tuple[object, ...]]]
    merged: dict[int, list[tuple[int, int]]]  # 0-based column → (first, last) rows of ranges
    estimated_rows: int | None


def _open_sheet(settings: ReadSettings, stack: ExitStack) -> SheetSource:
    suffix = settings.path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from bot.import_xlsx import open_xlsx  # openpyxl: only where a workbook is read

        return open_xlsx(settings.path, settings.sheet, stack)
    if settings.sheet is not None:
        raise ImportFileError("--sheet only applies to .xlsx files; a CSV file has one table")
    return _open_csv(settings.path, stack)


def _open_csv(path: Path, stack: ExitStack) -> SheetSource:
    encoding = detect_encoding(path)
    try:
        stream = stack.enter_context(path.open(encoding=encoding, newline=""))
        first_line = stream.readline()
        stream.seek(0)
    except (OSError, UnicodeDecodeError) as error:
        raise ImportFileError(f"{path.name} can't be read as text ({error})") from error
    delimiter = max(",\t;", key=first_line.count)
    reader = csv.reader(stream, delimiter=delimiter)

    def rows() -> Iterator[tuple[int, tuple[object, ...]]]:
        try:
            for number, row in enumerate(reader, start=1):
                yield number, tuple(row)
        except (UnicodeDecodeError, csv.Error) as error:
            raise ImportFileError(f"{path.name}: {error}") from error

    return SheetSource("", rows(), {}, None)


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else GB18030 — what Chinese Excel writes
    for "CSV". The whole file is checked as UTF-8 (streamed), since the first non-ASCII
    character may be far down."""
    with path.open("rb") as stream:
        head = stream.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        stream.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := stream.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


class _MergeFiller:
    """Fills blank customer cells inside vertical merged ranges from the range's first cell."""

    def __init__(self, merged: Mapping[int, list[tuple[int, int]]], columns: rules.HeaderMap):
        self._ranges = {
            column.index: merged[column.index]
            for column in columns.columns
            if column.field in rules.CUSTOMER_FIELDS and column.index in merged
        }
        self._headers = {column.index: column.header for column in columns.columns}
        self._next = dict.fromkeys(self._ranges, 0)
        self._top: dict[int, tuple[int, object]] = {}

    def fill(self, number: int, cells: list[object]) -> list[str]:
        """Fill `cells` (row `number`) in place; say which cells were filled."""
        filled: list[str] = []
        for column, spans in self._ranges.items():
            position = self._next[column]
            while position < len(spans) and spans[position][1] < number:
                position += 1
            self._next[column] = position
            if position == len(spans) or spans[position][0] > number:
                continue
            first = spans[position][0]
            if column >= len(cells):  # a row that ends before this column
                cells.extend([None] * (column + 1 - len(cells)))
            if first == number:
                self._top[column] = (number, cells[column])
            elif rules.is_blank(cells[column]) and column in self._top:
                top_row, value = self._top[column]
                if top_row == first:
                    cells[column] = value
                    filled.append(f"'{self._headers[column]}' from merged cell (row {first})")
        return filled


class _RowChecker:
    """Turns one row of cells into a ParsedRow: every check that needs no database or Slack."""

    def __init__(self, settings: ReadSettings, sheet: str, columns: rules.HeaderMap) -> None:
        self.settings = settings
        self.sheet = sheet
        self.columns = columns
        self._index = {c.field: c.index for c in columns.columns if c.field is not None}
        self._phones: dict[str, str | FieldError] = {}
        self._emails: dict[str, str | FieldError] = {}
        # Dates repeat too (a sheet's contact dates are a few hundred days; "下周三" relative to
        # each): a date cell's reading, by everything it depends on besides the settings.
        self._contact_moments: dict[Hashable, datetime | str] = {}
        self._next_moments: dict[Hashable, datetime | str | None] = {}
        # So do the notes a team writes ("报价200套…") and its words for methods and statuses.
        self._vague: dict[tuple[str, NoteKind], bool] = {}
        self._words: dict[tuple[str, str], str | None] = {}
        # What each column is called in the fingerprint (None: not part of it), worked out once.
        self._keys = [_fingerprint_key(column) for column in columns.columns]
        self._kept = [c.index for c in columns.columns if c.kind != "report"]
        self._sheet_column = next(
            (
                c.index
                for c in columns.columns
                if c.kind == "report" and rules.header_key(c.header) == _REPORT_SHEET_KEY
            ),
            None,
        )

    def check(self, number: int, cells: Sequence[object], info: list[str]) -> ParsedRow:
        problems: list[str] = []
        fixes: list[str] = []
        values = self._values(cells, problems, fixes)
        fingerprint, sheet = self._fingerprint(cells)
        width = len(cells)
        return ParsedRow(
            number=number,
            cells=tuple(_report_value(cells[i]) if i < width else None for i in self._kept),
            fingerprint=fingerprint,
            sheet=sheet,
            values=None if problems else values,
            problems=tuple(problems),
            fixes=tuple(fixes),
            info=tuple(info),
        )

    def _cell(self, cells: Sequence[object], name: rules.Field) -> object:
        index = self._index.get(name)
        return cells[index] if index is not None and index < len(cells) else None

    def _text(self, cells: Sequence[object], name: rules.Field) -> str:
        return rules.cell_text(self._cell(cells, name))

    def _fingerprint(self, cells: Sequence[object]) -> tuple[str, str]:
        """The row's identity: its sheet and its values, each keyed by its column's meaning."""
        keys, known = self._keys, len(self._keys)
        keyed: list[tuple[str, object]] = []
        for index, value in enumerate(cells):
            key = keys[index] if index < known else f"column {index + 1}"
            if key is not None:
                keyed.append((key, value))
        sheet = self.sheet
        if self._sheet_column is not None and self._sheet_column < len(cells):
            # A corrected import report: its rows are the original sheet's rows.
            sheet = rules.cell_text(cells[self._sheet_column])
        return rules.row_fingerprint(sheet, keyed), sheet

    def _values(
        self, cells: Sequence[object], problems: list[str], fixes: list[str]
    ) -> RowValues | None:
        name = self._required(cells, "customer_name", "customer name", NAME_MAX, problems)
        company = self._required(cells, "company", "company", COMPANY_MAX, problems)
        phone, email = self._contacts(cells, problems, fixes)
        contacted_at = self._contacted_at(cells, problems)
        method = self._word(cells, "method", rules.method_from, _METHOD_HINT, problems)
        status = self._word(cells, "status", rules.status_from, _STATUS_HINT, problems)
        summary = self._required(cells, "summary", "summary", NOTE_MAX, problems)
        if summary and self._is_vague(summary, "summary"):
            fixes.append(f"vague summary, kept as written — {VAGUE_NOTE_MESSAGES['summary']}")
        feedback = self._feedback(cells, problems, fixes)
        owner = self._required(cells, "owner", "owner", 200, problems)
        lost = status == "lost"
        next_at = self._next_at(cells, contacted_at, lost, problems, fixes)
        next_action = self._next_action(cells, lost, problems, fixes)
        notes = self._notes(cells, problems)
        if problems or contacted_at is None or method is None or status is None:
            return None
        return RowValues(
            customer_name=name,
            company=company,
            phone_e164=phone,
            email=email,
            contacted_at=contacted_at,
            method=method,
            summary=summary,
            feedback=feedback,
            owner=owner,
            next_at=next_at,
            next_action=next_action,
            status=status,
            notes=notes,
        )

    def _required(
        self,
        cells: Sequence[object],
        name: rules.Field,
        label: str,
        limit: int,
        problems: list[str],
    ) -> str:
        text = self._text(cells, name)
        if not text:
            problems.append(f"{label} is missing")
        elif len(text) > limit:
            problems.append(f"{label} is longer than {limit} characters")
        return text

    def _contacts(
        self, cells: Sequence[object], problems: list[str], fixes: list[str]
    ) -> tuple[str | None, str | None]:
        raw_phone, raw_email = self._text(cells, "phone"), self._text(cells, "email")
        phone = _memo(self._phones, raw_phone, self._phone) if raw_phone else None
        email = _memo(self._emails, raw_email, normalize_email) if raw_email else None
        good_phone = phone if isinstance(phone, str) else None
        good_email = email if isinstance(email, str) else None
        bad = [
            f"{label} '{raw}' invalid ({error})"
            for label, raw, error in (("phone", raw_phone, phone), ("email", raw_email, email))
            if isinstance(error, FieldError)
        ]
        if good_phone or good_email:
            fixes.extend(f"{problem}, dropped" for problem in bad)
        elif bad:
            problems.extend(bad)
        else:
            problems.append("no phone or email — give at least one")
        return good_phone, good_email

    def _is_vague(self, text: str, kind: NoteKind) -> bool:
        return _remembered(self._vague, (text, kind), _note_is_vague, (text, kind))

    def _phone(self, raw: str) -> str:
        if _SCIENTIFIC.fullmatch(raw):
            raise FieldError(
                "Excel turned it into a number in scientific notation — format the column as "
                "text and type the number again"
            )
        return normalize_phone(raw, self.settings.phone_region)

    def _contacted_at(self, cells: Sequence[object], problems: list[str]) -> datetime | None:
        raw = self._cell(cells, "contacted_at")
        if rules.is_blank(raw):
            problems.append("contact date is missing")
            return None
        found = _remembered(self._contact_moments, _cell_key(raw), self._contact_moment, raw)
        if isinstance(found, str):
            problems.append(found)
            return None
        return found

    def _contact_moment(self, raw: object) -> datetime | str:
        """The contact moment in a (non-blank) cell, or why it can't be one."""
        settings = self.settings
        cell = rules.parse_date_cell(raw, order=settings.order, zone=settings.zone)
        if cell is None:
            return (
                f"contact date '{rules.cell_text(raw)}' isn't a date this import reads — "
                "write it like 2026-03-12 or 3/12/2026"
            )
        moment = rules.contact_moment(
            cell, zone=settings.zone, default_time=settings.default_time, now=settings.now
        )
        if moment > settings.now + CONTACT_CLOCK_SKEW:
            shown = rules.describe_moment(moment, settings.zone)
            return f"contact date {shown} is in the future"
        return moment

    def _word(
        self,
        cells: Sequence[object],
        name: Literal["method", "status"],
        read: Callable[[str], str | None],
        hint: str,
        problems: list[str],
    ) -> str | None:
        text = self._text(cells, name)
        if not text:
            problems.append(f"{name} is missing")
            return None
        value = _remembered(self._words, (name, text), _read_word, (read, text))
        if value is None:
            problems.append(f"{name} '{text}' isn't known — use {hint}")
        return value

    def _feedback(self, cells: Sequence[object], problems: list[str], fixes: list[str]) -> str:
        text = self._text(cells, "feedback")
        if not text:
            fixes.append("no customer feedback")
        elif len(text) > NOTE_MAX:
            problems.append(f"feedback is longer than {NOTE_MAX} characters")
        elif self._is_vague(text, "feedback"):
            fixes.append(f"vague feedback, kept as written — {VAGUE_NOTE_MESSAGES['feedback']}")
        return text

    def _next_at(
        self,
        cells: Sequence[object],
        contacted_at: datetime | None,
        lost: bool,
        problems: list[str],
        fixes: list[str],
    ) -> datetime | None:
        raw = self._cell(cells, "next_at")
        if rules.is_blank(raw):
            if not lost:
                fixes.append("no next contact date — stored as done, nothing to remind")
            return None
        if contacted_at is None:
            return None  # already rejected; a relative date can't be read without it
        cell_key = _cell_key(raw)
        key = None if cell_key is None else (cell_key, contacted_at, contacted_at.tzinfo)
        found = _remembered(self._next_moments, key, self._next_moment, (raw, contacted_at))
        if isinstance(found, str):
            problems.append(found)
            return None
        return found

    def _next_moment(self, cell: tuple[object, datetime]) -> datetime | str:
        """The next-contact moment in a (non-blank) cell, or why it can't be one."""
        raw, contacted_at = cell
        settings = self.settings
        moment = rules.next_moment(
            raw,
            contacted_at=contacted_at,
            order=settings.order,
            zone=settings.zone,
            default_time=settings.default_time,
        )
        if moment is None:
            return (
                f"next contact '{rules.cell_text(raw)}' isn't a date this import reads — "
                "write a date (2026-03-12) or e.g. 下周三, 3天后, next Friday"
            )
        zone = settings.zone
        if moment.astimezone(zone).date() < contacted_at.astimezone(zone).date():
            return (
                f"next contact {rules.describe_moment(moment, zone)} is before the contact "
                f"({rules.describe_moment(contacted_at, zone)})"
            )
        return moment

    def _next_action(
        self, cells: Sequence[object], lost: bool, problems: list[str], fixes: list[str]
    ) -> str:
        text = self._text(cells, "next_action")
        if not text:
            if not lost:
                fixes.append("no next step")
        elif len(text) > NEXT_ACTION_MAX:
            problems.append(f"next step is longer than {NEXT_ACTION_MAX} characters")
        elif self._is_vague(text, "next_action"):
            fixes.append(f"vague next step, kept as written — {VAGUE_NOTE_MESSAGES['next_action']}")
        return text

    def _notes(self, cells: Sequence[object], problems: list[str]) -> str | None:
        """The notes column, then every unknown column as "Header: value"."""
        lines = [self._text(cells, "notes")]
        for column in self.columns.columns:
            if column.kind in ("unknown", "blank") and column.index < len(cells):
                value = rules.cell_text(cells[column.index])
                lines.append(f"{column_label(column)}: {value}" if value else "")
        for index in range(len(self.columns.columns), len(cells)):
            value = rules.cell_text(cells[index])
            if value:
                lines.append(f"Column {_column_letter(index + 1)}: {value}")
        notes = "\n".join(line for line in lines if line)
        if len(notes) > NOTE_MAX:
            problems.append(
                f"notes (with the columns kept in notes) are longer than {NOTE_MAX} characters"
            )
        return notes or None


_REPORT_SHEET_KEY: Final = rules.header_key(rules.REPORT_SHEET_COLUMN)


def _fingerprint_key(column: rules.Column) -> str | None:
    if column.kind == "field":
        return str(column.field)
    if column.kind in ("unknown", "blank"):
        return f"column {rules.header_key(column_label(column))}"
    return None  # the import report's own columns


def column_label(column: rules.Column) -> str:
    """How a column is named in notes and in the report: its header, or "Column F"."""
    return column.header or f"Column {_column_letter(column.index + 1)}"


_SCIENTIFIC: Final = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")
_METHOD_HINT: Final = (
    "phone, wechat, email, visit, meeting or message (电话, 微信, 邮件, 拜访, 会议, 短信)"
)
_STATUS_HINT: Final = (
    "prospect, interested, won, existing or lost (潜在客户, 意向客户, 已成交, 老客户, 已流失)"
)
# Normalising the same phone or email again for each of a customer's rows is wasted work; a
# customer's rows are seldom far apart, and the reader process's memory counts too.
_MEMO_SIZE: Final = 10_000


def _memo(
    memo: dict[str, str | FieldError], raw: str, normalise: Callable[[str], str]
) -> str | FieldError:
    found = memo.get(raw)
    if found is None:
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        try:
            found = normalise(raw)
        except FieldError as error:
            found = error
        memo[raw] = found
    return found


_Key = TypeVar("_Key", bound=Hashable)
_Found = TypeVar("_Found")
_Argument = TypeVar("_Argument")


def _remembered(
    memo: dict[_Key, _Found],
    key: _Key | None,
    compute: Callable[[_Argument], _Found],
    argument: _Argument,
) -> _Found:
    """compute(argument), remembered under `key` (None: not remembered)."""
    if key is None:
        return compute(argument)
    try:
        return memo[key]
    except KeyError:
        pass
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    found = memo[key] = compute(argument)
    return found


def _note_is_vague(note: tuple[str, NoteKind]) -> bool:
    return rules.is_vague(*note)


def _read_word(word: tuple[Callable[[str], str | None], str]) -> str | None:
    read, text = word
    return read(text)


def _cell_key(value: object) -> tuple[type, object] | None:
    """A cell's value as a memo key: with its type, as 1, 1.0 and True are equal keys; None for
    a kind of value not worth remembering (or not hashable)."""
    kind = type(value)
    return (kind, value) if kind in (str, int, float, datetime) else None


def _report_value(value: object) -> object:
    """Cells travel to the report (maybe from another process): plain values only."""
    if value is None or isinstance(value, str | int | float | bool | datetime):
        return value
    return rules.cell_text(value)


def read_sheet(settings: ReadSettings) -> Iterator[SheetInfo | list[ParsedRow]]:
    """The sheet's SheetInfo, then its non-blank rows after the header, checked, in chunks."""
    with ExitStack() as stack:
        source = _open_sheet(settings, stack)
        header_row, columns = _find_header(source, settings.path)
        yield SheetInfo(source.name, header_row, columns, _data_rows(source, header_row))
        checker = _RowChecker(settings, source.name, columns)
        merges = _MergeFiller(source.merged, columns)
        # A corrected report's own columns don't make a row: its column-notes line is blank.
        skipped = {column.index for column in columns.columns if column.kind == "report"}
        chunk: list[ParsedRow] = []
        for number, raw in source.rows:
            cells = list(raw)
            blank = all(rules.is_blank(v) for i, v in enumerate(cells) if i not in skipped)
            filled = merges.fill(number, cells)
            if blank:
                continue  # blank and trailing rows are nothing to report
            chunk.append(checker.check(number, cells, filled))
            if len(chunk) == CHUNK_ROWS:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _find_header(source: SheetSource, path: Path) -> tuple[int, rules.HeaderMap]:
    seen = 0
    for number, raw in source.rows:
        if all(rules.is_blank(value) for value in raw):
            continue
        if rules.is_header_row(raw):
            columns = rules.map_headers(raw)
            missing = columns.missing_required()
            if missing:
                raise ImportFileError(
                    f"{path.name}: the header row (row {number}) has no column for "
                    + "; ".join(missing)
                )
            return number, columns
        seen += 1
        if seen == rules.HEADER_SEARCH_ROWS:
            break
    raise ImportFileError(
        f"{path.name}: no header row found in the first {rules.HEADER_SEARCH_ROWS} rows — "
        "expected column names such as 客户姓名, 公司, 电话, 跟进时间, 跟进内容, 跟进人, 客户状态"
    )


def _data_rows(source: SheetSource, header_row: int) -> int | None:
    return None if source.estimated_rows is None else max(0, source.estimated_rows - header_row)


# --- helper processes ------------------------------------------------------------------------
#
# The reader (and the .xlsx report writer) run as plain child processes of this interpreter:
# `python -c` importing this module, with pickles streamed through a pipe. Not multiprocessing:
# its "spawn" imports the parent's __main__ in every child (for the command line, the whole
# bot: Slack, Bolt, the database layer), which doubled the import's memory. A pipe also bounds
# what waits between the processes, and tells each side when the other is gone: a helper ends
# by itself when the importing process dies without a word (`kill -9`, the OOM killer) — on a
# write to a pipe nobody reads, or at the end of its input — instead of holding the file open.

_HELPER_CODE: Final = (
    # openpyxl loads numpy and Pillow if installed, for cell types and images neither helper
    # meets: a third of a helper's memory. A None in sys.modules makes their import fail.
    "import json, sys; "
    "sys.modules.update(numpy=None, PIL=None); "
    "sys.path[:0] = [p for p in json.loads(sys.argv[2]) if p not in sys.path]; "
    "from bot.import_reader import _helper_main; _helper_main()"
)
_PIPE_BYTES: Final = 1 << 20  # room for a few chunks in flight between the processes


def start_helper(role: str, argument: object, **pipes: Any) -> subprocess.Popen[bytes]:
    """`role` ("read" or "report") with its pickled `argument`, in a child process."""
    payload = base64.b64encode(pickle.dumps(argument, protocol=pickle.HIGHEST_PROTOCOL))
    command = [sys.executable, "-c", _HELPER_CODE, role, json.dumps(sys.path), payload.decode()]
    process = subprocess.Popen(command, **pipes)  # noqa: S603 — this interpreter, our own code
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            _widen_pipe(stream.fileno())
    return process


def _widen_pipe(descriptor: int) -> None:
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only; elsewhere the default 64 KB
    if set_size is not None:
        with suppress(OSError):
            fcntl.fcntl(descriptor, set_size, _PIPE_BYTES)


def _helper_main() -> None:
    """The child process's entry (see _HELPER_CODE)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the importing process
    # Pickles only ever come from the importing process and its own children, through pipes.
    role, argument = sys.argv[1], pickle.loads(base64.b64decode(sys.argv[3]))  # noqa: S301
    # The pickles go to the original stdout; anything else printed by accident to stderr.
    stream = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    try:
        if role == "read":
            _read_into(argument, stream)
        else:
            _write_report_from(argument, sys.stdin.buffer)
        stream.close()
    except BrokenPipeError:
        os._exit(1)  # the importing process is gone


@dataclass(frozen=True)
class _ReaderFailed:
    message: str
    file_error: bool


DONE: Final = "done"


def send_item(stream: IO[bytes], item: object) -> None:
    pickle.dump(item, stream, protocol=pickle.HIGHEST_PROTOCOL)
    stream.flush()


def _read_into(settings: ReadSettings, stream: IO[bytes]) -> None:
    """The reader process: read_sheet's output into `stream`, then DONE or the failure."""
    try:
        for item in read_sheet(settings):
            send_item(stream, item)
        send_item(stream, DONE)
    except ImportFileError as error:
        send_item(stream, _ReaderFailed(str(error), file_error=True))
    except BrokenPipeError:
        raise
    except Exception as error:  # reported in the importing process, which decides what to do
        logger.exception("reading %s failed", settings.path)
        send_item(stream, _ReaderFailed(f"{error.__class__.__name__}: {error}", file_error=False))


@contextmanager
def read_in_background(settings: ReadSettings) -> Iterator[Iterator[SheetInfo | list[ParsedRow]]]:
    """read_sheet in a second process; the pipe between bounds what waits (memory stays flat)."""
    reader = start_helper("read", settings, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    stream = reader.stdout
    if stream is None:
        raise RuntimeError("the reader process has no output")

    def items() -> Iterator[SheetInfo | list[ParsedRow]]:
        while True:
            try:
                item = pickle.load(stream)  # noqa: S301 — from our own reader process
            except EOFError:
                raise ImportFileError("the reader process stopped unexpectedly") from None
            if isinstance(item, _ReaderFailed):
                if item.file_error:
                    raise ImportFileError(item.message)
                raise RuntimeError(f"reading {settings.path.name} failed: {item.message}")
            if item == DONE:
                return
            yield item

    try:
        yield items()
    finally:
        stream.close()
        if reader.poll() is None:
            reader.terminate()
        reader.wait(timeout=10)


def _column_letter(number: int) -> str:
    """A column's letter (1 → "A", 27 → "AA"), as openpyxl's get_column_letter."""
    letters = ""
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


# --- the report file -------------------------------------------------------------------------
# One line per non-blank row, written as the import goes: by the importing process for a CSV
# report, by a helper process (bot.importer's _ReportInBackground) for an .xlsx one.


class ReportFile(Protocol):
    def write(self, values: Sequence[object]) -> None: ...

    def close(self) -> None: ...


# Excel runs a CSV cell starting with these as a formula ("=HYPERLINK(…)"); phone numbers
# ("+86 …") and negative numbers are left alone.
_CSV_FORMULA: Final = re.compile(r"[=@]|[+-][^\d\s.]")


class _CsvReport:
    def __init__(self, path: Path) -> None:
        # UTF-8 with a BOM: Excel opens it with the Chinese intact.
        self._stream = path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._stream)

    def write(self, values: Sequence[object]) -> None:
        self._writer.writerow([self._cell(value) for value in values])

    @staticmethod
    def _cell(value: object) -> str:
        text = "" if value is None else rules.cell_text(value)
        return "'" + text if _CSV_FORMULA.match(text) else text

    def close(self) -> None:
        self._stream.close()


def report_file(path: Path) -> ReportFile:
    if path.suffix.lower() == ".csv":
        return _CsvReport(path)
    from bot.import_xlsx import XlsxReport  # openpyxl: only where a workbook is written

    return XlsxReport(path)


def _write_report_from(path: Path, source: IO[bytes]) -> None:
    """The report process: rows from `source` into the report file until DONE."""
    report = report_file(path)
    try:
        while True:
            try:
                rows = pickle.load(source)  # noqa: S301 — from the importing process
            except EOFError:
                os._exit(1)  # the importing process is gone without a word
            if rows == DONE:
                return
            for values in rows:
                report.write(values)
    finally:
        report.close()
