"""The .xlsx side of the import (bot.import_reader): openpyxl's read-only reader made quicker
for big sheets, the sheet's merged ranges, and the .xlsx report writer. Imported only where a
workbook is read or written, so a process that does neither never loads openpyxl.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils import column_index_from_string, coordinate_to_tuple
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from bot.import_reader import ImportFileError, SheetSource


def open_xlsx(path: Path, sheet: str | None, stack: ExitStack) -> SheetSource:
    try:
        reader = _ExcelReader(path, read_only=True, data_only=True)
        reader.read()  # load_workbook(path, read_only=True, data_only=True), sized quickly
        workbook = reader.wb
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise ImportFileError(f"{path.name} isn't a readable .xlsx file ({error})") from error
    stack.callback(workbook.close)
    if sheet is None:
        worksheet = workbook.worksheets[0]
    elif sheet in workbook.sheetnames:
        worksheet = workbook[sheet]
    else:
        names = ", ".join(f"'{name}'" for name in workbook.sheetnames)
        raise ImportFileError(f"{path.name} has no sheet '{sheet}' — it has {names}")
    title = str(worksheet.title)
    member = getattr(worksheet, "_worksheet_path", None)
    merged = _merged_ranges(path, member) if isinstance(member, str) else {}
    rows = enumerate(_sheet_values(worksheet), start=1)
    max_row = getattr(worksheet, "max_row", None)
    return SheetSource(title, rows, merged, max_row if isinstance(max_row, int) else None)


class _QuicklySizedWorksheet(ReadOnlyWorksheet):
    """openpyxl's read-only worksheet, but its size (the <dimension> element, which comes before
    the rows if at all) is read without reading the rows: openpyxl waits for the end of the
    rows to learn there is none — a whole extra pass over a sheet from a streaming writer."""

    def _get_size(self) -> None:
        sheet: Any = self  # openpyxl's internals, which its stubs don't describe
        with sheet._get_source() as source:
            for _event, element in iterparse(source, events=("start",)):
                if element.tag == _DATA_TAG:
                    return
                if element.tag == _DIMENSION_TAG:
                    dimensions = SheetDimension.from_tree(element).boundaries  # type: ignore[union-attr]
                    if dimensions is not None:
                        sheet._min_column, sheet._min_row, sheet._max_column, sheet._max_row = (
                            dimensions
                        )
                    return


class _ExcelReader(ExcelReader):
    """openpyxl's reader in read-only mode, making _QuicklySizedWorksheets (its read_worksheets,
    read-only branch)."""

    def read_worksheets(self) -> None:
        reader: Any = self  # openpyxl's internals, which its stubs don't describe
        for sheet, rel in reader.parser.find_sheets():
            if rel.target not in reader.valid_files:
                continue
            if "chartsheet" in rel.Type:
                reader.read_chartsheet(sheet, rel)
                continue
            worksheet: Any = _QuicklySizedWorksheet(
                reader.wb, sheet.name, rel.target, reader.shared_strings
            )
            worksheet.sheet_state = sheet.state
            reader.wb._sheets.append(worksheet)


_DATA_TAG: Final = f"{{{SHEET_MAIN_NS}}}sheetData"
_DIMENSION_TAG: Final = f"{{{SHEET_MAIN_NS}}}dimension"
_INLINE_STRING: Final = f"{{{SHEET_MAIN_NS}}}is"
_INLINE_TEXT: Final = f"{{{SHEET_MAIN_NS}}}t"


class _SheetParser(WorkSheetParser):
    """openpyxl's own sheet parser, but a plain inline string (`<is><t>…</t></is>`, what
    streaming writers — openpyxl's among them — write for every text cell) is read directly.
    openpyxl builds a rich-text object for each, a third of the time it takes to read such a
    sheet. Anything else, and any other inline string (rich text, phonetic runs), is openpyxl's.
    """

    def parse_cell(self, element: Any) -> dict[str, Any]:
        if element.get("t") != "inlineStr" or not self.data_only:
            return super().parse_cell(element)
        child = element.find(_INLINE_STRING)
        if child is None or len(child) != 1 or child[0].tag != _INLINE_TEXT:
            return super().parse_cell(element)
        coordinate = element.get("r")
        if coordinate:
            row, column = coordinate_to_tuple(coordinate)
            self.col_counter = column
        else:
            self.col_counter += 1
            row, column = self.row_counter, self.col_counter
        style_id = element.get("s", 0)
        text = child[0].text
        return {
            "row": row,
            "column": column,
            "value": "" if text is None else text,  # as openpyxl's Text(…).content
            "data_type": "s",
            "style_id": int(style_id) if style_id else style_id,
        }


def _sheet_values(worksheet: Any) -> Iterator[tuple[object, ...]]:
    """`worksheet.iter_rows(values_only=True)` of a read-only worksheet, through _SheetParser:
    openpyxl's ReadOnlyWorksheet._cells_by_row for the whole sheet, step for step. Should a
    later openpyxl lack what this uses, its own iter_rows is used."""
    workbook: Any = getattr(worksheet, "parent", None)
    needed = ("_get_source", "_get_row", "_shared_strings")
    if not all(hasattr(worksheet, name) for name in needed) or not all(
        hasattr(workbook, name) for name in ("data_only", "epoch", "_date_formats")
    ):
        yield from worksheet.iter_rows(values_only=True)
        return
    max_col, max_row = worksheet.max_column, worksheet.max_row
    empty_row: tuple[object, ...] = () if max_col is None else (None,) * max_col
    counter = index = 1
    with worksheet._get_source() as source:
        parser = _SheetParser(
            source,
            worksheet._shared_strings,
            data_only=workbook.data_only,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=getattr(workbook, "_timedelta_formats", set()),
        )
        for index, cells in parser.parse():
            if max_row is not None and index > max_row:
                break
            for _ in range(counter, index):  # rows missing from the file
                counter += 1
                yield empty_row
            if counter <= index:
                counter += 1
                yield worksheet._get_row(cells, 1, max_col, values_only=True)
    if max_row is not None and max_row < index:
        for _ in range(counter, max_row + 1):
            yield empty_row


# <mergeCell ref="A2:A5"/>, with or without a namespace prefix.
_MERGE_CELL: Final = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\bref=\"([A-Z]+)(\d+):([A-Z]+)(\d+)\""
)
_MERGE_SCAN_OVERLAP: Final = 512


def _merged_ranges(path: Path, member: str) -> dict[int, list[tuple[int, int]]]:
    """The sheet's vertical merged ranges, by first column, in row order.

    openpyxl's read-only mode doesn't expose merged cells, and the sheet XML lists them after
    all the rows, so the XML is scanned for them first (decompressing and a regex; no parsing).
    """
    ranges: dict[int, list[tuple[int, int]]] = {}
    with zipfile.ZipFile(path) as archive, archive.open(member.lstrip("/")) as stream:
        pending = b""
        while True:
            chunk = stream.read(1 << 20)
            data = pending + chunk
            # A match starting in the last few hundred bytes may continue in the next chunk.
            cut = len(data) if not chunk else max(0, len(data) - _MERGE_SCAN_OVERLAP)
            for match in _MERGE_CELL.finditer(data, 0, len(data)):
                if match.start() >= cut:
                    break
                first_row, last_row = int(match[2]), int(match[4])
                if last_row > first_row:
                    column = column_index_from_string(match[1].decode()) - 1
                    ranges.setdefault(column, []).append((first_row, last_row))
            if not chunk:
                break
            pending = data[cut:]
    return {column: sorted(spans) for column, spans in ranges.items()}


class XlsxReport:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._workbook = Workbook(write_only=True)
        self._sheet = self._workbook.create_sheet("Import report · 导入报告")

    def write(self, values: Sequence[object]) -> None:
        self._sheet.append([self._cell(value) for value in values])

    def _cell(self, value: object) -> object:
        if not isinstance(value, str):
            return value
        if not value:
            return None  # no cell at all: openpyxl writes an element even for ""
        if value[0] != "=" and not ILLEGAL_CHARACTERS_RE.search(value):
            return value
        cell = WriteOnlyCell(self._sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
        # openpyxl would store "=…" as a formula; a report shows what the sheet said.
        cell.data_type = "s"
        return cell

    def close(self) -> None:
        self._workbook.save(self._path)
