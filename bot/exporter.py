"""Export follow-ups as the team's spreadsheet (客户跟进表格): one row per follow-up, customer
columns repeated, oldest first, in xlsx or CSV.

The columns, headers and value formats are the ones `bot.import_rules` reads, so an export can be
imported again (into another database, or after a restore) and give the same customers and
follow-ups: times as "YYYY-MM-DD HH:MM" in DEFAULT_TZ, owners as Slack user ids, status and method
as their fixed English codes — or, in a Chinese export, as the Chinese words the importer reads
back as those codes. The State column stays a code in both: the importer doesn't read it.

Rows are streamed from the database (`yield_per`) and into the file (openpyxl's write-only
workbook), so exporting a million follow-ups never holds them all in memory.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import RowMapping, Select, select
from sqlalchemy.orm import Session

from bot.permissions import visible_owners
from bot.settings import Settings
from storage import queries
from storage.db import Database
from storage.models import Customer, FollowUp, utcnow

if TYPE_CHECKING:  # openpyxl costs ~18 MB: loaded by the first xlsx export, not at start-up
    from openpyxl import Workbook
    from openpyxl.cell.cell import Cell
    from openpyxl.styles import Font
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

logger = logging.getLogger(__name__)

Lang = Literal["en", "zh"]
Format = Literal["xlsx", "csv"]

STDOUT: Final = "-"
CLI_ACTOR: Final = "cli"
SHEET_TITLE: Final = "Follow-ups"
SHEET_TITLES: Final[Mapping[Lang, str]] = {"en": SHEET_TITLE, "zh": "跟进记录"}
TIME_FORMAT: Final = "%Y-%m-%d %H:%M"
# Rows fetched per round trip: big enough to be fast, small enough to keep memory flat.
BATCH_ROWS: Final = 1_000

# (English, Chinese) header per column, in the standard template's order.
COLUMNS: Final = (
    ("Customer", "客户姓名"),
    ("Company", "公司"),
    ("Phone", "电话"),
    ("Email", "邮箱"),
    ("Contacted at", "跟进时间"),
    ("Method", "跟进方式"),
    ("Summary", "跟进内容"),
    ("Customer feedback", "客户反馈"),
    ("Owner", "跟进人"),
    ("Next contact", "下次跟进时间"),
    ("Next action", "下次跟进事项"),
    ("Status", "客户状态"),
    ("Notes", "备注"),
    # Not "状态": the importer reads that as the customer's status (a synonym of 客户状态).
    ("State", "跟进状态"),
)
# Status and method in a Chinese export: the words the team's sheets use, which are also the
# form's labels and words `bot.import_rules` reads back as the codes (a test holds all three
# together). Fixed here rather than taken from the catalog: a file format must not change when a
# translation is reworded.
ZH_STATUS_WORDS: Final[Mapping[str, str]] = {
    "prospect": "潜在客户",
    "interested": "意向客户",
    "won": "已成交",
    "existing": "老客户",
    "lost": "已流失",
}
ZH_METHOD_WORDS: Final[Mapping[str, str]] = {
    "phone": "电话",
    "wechat": "微信",
    "email": "邮件",
    "visit": "拜访",
    "meeting": "会议",
    "message": "短信",
}
# Widths (in characters) that make the sheet readable when opened, same order as COLUMNS.
COLUMN_WIDTHS: Final = (16, 28, 17, 26, 17, 10, 48, 48, 12, 17, 36, 11, 30, 7)

# Spreadsheet programs run a CSV cell starting with one of these as a formula. E.164 phones
# ("+8613800138000") start with "+" but are plain numbers, so they are left alone.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
PHONE_LIKE: Final = re.compile(r"^\+\d{4,15}$")


class ExportError(Exception):
    """Something a person can fix: a bad target or format."""


@dataclass(frozen=True)
class ExportFilter:
    """Which follow-ups to export; every field narrows, None means "any".

    `owner_id` is the follow-up's owner (the Owner column), `since` a local date in DEFAULT_TZ
    compared with the contact time, `status` the customer's status after that contact (the
    Status column) — so a filter always agrees with what the rows show.
    """

    owner_id: str | None = None
    since: date | None = None
    status: str | None = None

    def describe(self) -> dict[str, str]:
        """The filter as it is logged: only what was set."""
        fields = {"owner": self.owner_id, "since": self.since, "status": self.status}
        return {name: str(value) for name, value in fields.items() if value is not None}


def headers(lang: Lang) -> list[str]:
    return [zh if lang == "zh" else en for en, zh in COLUMNS]


def export_rows(
    db: Database,
    settings: Settings,
    *,
    viewer_id: str | None,
    filt: ExportFilter,
    lang: Lang,
) -> Iterator[list[str]]:
    """The header row, then one row per follow-up, oldest contact first.

    `viewer_id` None is the command line (whoever can run it can read the database anyway):
    everything. Otherwise only follow-ups of customers the viewer may see in full — their own,
    their reps' for a manager, everyone's for an admin — the same rule as the customer card, so
    phone and email appear unmasked only where the card would show them unmasked too.
    """
    yield headers(lang)
    zone = settings.zone
    with db.reader() as session:
        query = _export_query(session, settings, viewer_id=viewer_id, filt=filt)
        for row in session.execute(query).yield_per(BATCH_ROWS):
            yield _row(row._mapping, zone, lang)


def _export_query(
    session: Session,
    settings: Settings,
    *,
    viewer_id: str | None,
    filt: ExportFilter,
) -> Select[*tuple[Any, ...]]:
    query = (
        select(
            Customer.name,
            Customer.company,
            Customer.phone_e164,
            Customer.email,
            FollowUp.contacted_at,
            FollowUp.method,
            FollowUp.summary,
            FollowUp.feedback,
            FollowUp.owner_id,
            FollowUp.next_at,
            FollowUp.next_action,
            FollowUp.status_after,
            FollowUp.notes,
            FollowUp.state,
        )
        .join(Customer, FollowUp.customer_id == Customer.id)
        .order_by(FollowUp.contacted_at, FollowUp.id)
        # PostgreSQL: a server-side cursor, so rows arrive in batches rather than all at once.
        .execution_options(yield_per=BATCH_ROWS)
    )
    if viewer_id is not None:
        owners = visible_owners(session, settings, viewer_id)
        if owners is not None:
            query = query.where(Customer.owner_id.in_(sorted(owners)))
    if filt.owner_id is not None:
        query = query.where(FollowUp.owner_id == filt.owner_id)
    if filt.status is not None:
        query = query.where(FollowUp.status_after == filt.status)
    if filt.since is not None:
        start = datetime.combine(filt.since, time.min, tzinfo=settings.zone)
        query = query.where(FollowUp.contacted_at >= start)
    return query


def _row(values: RowMapping, zone: ZoneInfo, lang: Lang) -> list[str]:
    contacted_at: datetime = values["contacted_at"]
    next_at: datetime = values["next_at"]
    # A lost customer has nothing next: the form stores the contact time and an empty next
    # action there (the column is NOT NULL). Export what the rep typed — nothing.
    nothing_next = values["status_after"] == "lost" and not values["next_action"]
    status, method = values["status_after"], values["method"]
    if lang == "zh":
        status, method = ZH_STATUS_WORDS.get(status, status), ZH_METHOD_WORDS.get(method, method)
    return [
        values["name"],
        values["company"],
        values["phone_e164"] or "",
        values["email"] or "",
        contacted_at.astimezone(zone).strftime(TIME_FORMAT),
        method,
        values["summary"],
        values["feedback"],
        values["owner_id"],
        "" if nothing_next else next_at.astimezone(zone).strftime(TIME_FORMAT),
        values["next_action"],
        status,
        values["notes"] or "",
        values["state"],
    ]


# --- files -----------------------------------------------------------------------------------


class CountedRows:
    """Passes rows through, counting the data rows (everything after the header)."""

    def __init__(self, rows: Iterable[list[str]]) -> None:
        self._rows = rows
        self.data_rows = 0

    def __iter__(self) -> Iterator[list[str]]:
        for index, row in enumerate(self._rows):
            if index:
                self.data_rows += 1
            yield row


def write_export(
    rows: Iterable[list[str]], out: Path | None, fmt: Format, *, lang: Lang = "en"
) -> bytes | None:
    """Write the rows (header first) as xlsx or CSV to `out`, or return the file's bytes; `lang`
    names the xlsx sheet.

    CSV gets a byte-order mark, which is how Excel recognises UTF-8 (else Chinese is garbled).
    """
    if out is None:
        buffer = io.BytesIO()
        _write(rows, buffer, fmt, lang)
        return buffer.getvalue()
    # Written beside the target and renamed over it at the end, so an export that fails half
    # way (a full disk, a database error) never leaves a truncated spreadsheet behind.
    partial = out.with_name(f".{out.name}.partial")
    try:
        with partial.open("wb") as stream:
            _write(rows, stream, fmt, lang)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return None


def _write(rows: Iterable[list[str]], stream: BinaryIO, fmt: Format, lang: Lang) -> None:
    if fmt == "xlsx":
        _workbook(rows, SHEET_TITLES[lang]).save(stream)
        return
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    _write_csv(rows, text)
    text.flush()
    text.detach()  # leave the byte stream open for the caller


def _write_csv(rows: Iterable[list[str]], stream: Any) -> None:
    writer = csv.writer(stream)
    for row in rows:
        writer.writerow([_csv_cell(cell) for cell in row])


def _csv_cell(value: str) -> str:
    """Defuse formula injection: a summary typed as "=HYPERLINK(…)" must stay text in Excel."""
    if value.startswith(FORMULA_STARTS) and not PHONE_LIKE.match(value):
        return "'" + value
    return value


def _workbook(rows: Iterable[list[str]], title: str) -> Workbook:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    for index, width in enumerate(COLUMN_WIDTHS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    bold = Font(bold=True)
    for index, row in enumerate(rows):
        sheet.append([_text_cell(sheet, value, bold if index == 0 else None) for value in row])
    return workbook


def _text_cell(sheet: WriteOnlyWorksheet, value: str, font: Font | None) -> Cell:
    # Control characters make openpyxl refuse the whole file; Slack text can carry them.
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    # Always text: openpyxl would otherwise store "=…" as a formula that Excel runs on open.
    cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell


def format_for(target: str) -> Format:
    """The file format a target asks for: `-` (stdout) is CSV, else the file's extension."""
    if target == STDOUT:
        return "csv"
    suffix = Path(target).suffix.lower()
    if suffix == ".xlsx":
        return "xlsx"
    if suffix == ".csv":
        return "csv"
    raise ExportError(f"'{target}' must end in .xlsx or .csv (or be - for CSV on stdout)")


def log_export(
    db: Database,
    *,
    actor_id: str,
    rows: int,
    filt: ExportFilter,
    fmt: Format,
    lang: Lang,
    at: datetime | None = None,
) -> None:
    """One change-log row per export: who took how many follow-ups out, and which."""
    with db.transaction() as session:
        queries.log_change(
            session,
            actor_id=actor_id,
            entity="export",
            entity_id=None,
            action="export",
            before=None,
            after={"rows": rows, "filter": filt.describe(), "format": fmt, "lang": lang},
            at=at or utcnow(),
        )


def export_to(
    db: Database,
    settings: Settings,
    *,
    target: str,
    viewer_id: str | None,
    filt: ExportFilter,
    lang: Lang,
) -> int:
    """The command line's export: write to `target` (a .xlsx/.csv path, or `-` for CSV on
    stdout), log it, and return how many follow-ups were written."""
    fmt = format_for(target)
    rows = CountedRows(export_rows(db, settings, viewer_id=viewer_id, filt=filt, lang=lang))
    if target == STDOUT:
        # No byte-order mark on a pipe: the reader is a program, not Excel.
        sys.stdout.flush()
        stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        _write_csv(rows, stdout)
        stdout.flush()
        stdout.detach()  # sys.stdout still owns the stream
    else:
        write_export(rows, Path(target), fmt, lang=lang)
    log_export(
        db, actor_id=viewer_id or CLI_ACTOR, rows=rows.data_rows, filt=filt, fmt=fmt, lang=lang
    )
    logger.info("exported %d follow-ups to %s (%s)", rows.data_rows, target, filt.describe())
    return rows.data_rows
