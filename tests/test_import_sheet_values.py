"""The import reads .xlsx rows through its own copy of openpyxl's read-only row loop, with
plain inline strings read directly (bot.import_xlsx._SheetParser), from a workbook whose sheets
are sized without reading their rows (bot.import_xlsx._ExcelReader). Whatever the file holds, the
sheets and rows must be exactly what openpyxl's load_workbook and iter_rows give."""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from bot import import_xlsx

SHEET_XML = "xl/worksheets/sheet1.xml"
ROWS: list[list[Any]] = [
    ["客户姓名", "公司", "电话", "跟进时间", "备注"],
    ["王磊", " 上海  某某科技 ", "138 0013 8000", datetime(2026, 3, 12, 9, 30), None],  # noqa: DTZ001
    [None, None, None, None, None],
    ["Lee", "Acme", 13800138000, date(2026, 3, 1), True],
    ["", "x", 2.5, 45000, CellRichText("plain ", TextBlock(InlineFont(b=True), "bold"))],
    ["=not a formula", "a\nb", -1, time(9, 15), False],
]


Read = tuple[list[str], list[int | None], list[list[object]]]  # sheet names, size, rows


def values_both_ways(path: Path) -> tuple[Read, Read]:
    def read(fast: bool) -> Read:
        if fast:
            reader = import_xlsx._ExcelReader(path, read_only=True, data_only=True)
            reader.read()
            workbook = reader.wb
        else:
            workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet: Any = workbook.worksheets[0]
            found = import_xlsx._sheet_values(sheet) if fast else sheet.iter_rows(values_only=True)
            size = [sheet.min_row, sheet.max_row, sheet.min_column, sheet.max_column]
            return workbook.sheetnames, size, [list(row) for row in found]
        finally:
            workbook.close()

    return read(fast=True), read(fast=False)


def write_streamed(path: Path) -> Path:
    """As streaming writers (openpyxl's write-only mode included) write: inline strings, no
    dimension before the rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("跟进")
    for row in ROWS:
        sheet.append(row)
    book.save(path)
    return path


def write_normal(path: Path) -> Path:
    """As Excel writes: shared strings, a dimension, date styles; with a gap of missing rows."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    book.create_sheet("second").append(["not read"])
    for number, row in enumerate(ROWS, start=1):
        for column, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=number + (3 if number > 3 else 0), column=column, value=value)
    book.save(path)
    return path


def rewrite_sheet(path: Path, edit: re.Pattern[str], replacement: str) -> Path:
    with zipfile.ZipFile(path) as source:
        files = {name: source.read(name) for name in source.namelist()}
    files[SHEET_XML] = edit.sub(replacement, files[SHEET_XML].decode()).encode()
    edited = path.with_name(f"edited-{path.name}")
    with zipfile.ZipFile(edited, "w") as target:
        for name, data in files.items():
            target.writestr(name, data)
    return edited


@pytest.mark.parametrize("write", [write_streamed, write_normal])
def test_rows_are_openpyxls(tmp_path: Path, write: object) -> None:
    assert callable(write)
    fast, openpyxl_read = values_both_ways(write(tmp_path / "sheet.xlsx"))

    assert fast == openpyxl_read
    assert any("bold" in str(value) for row in fast[2] for value in row)  # rich text, read


def test_cells_without_coordinates_and_empty_inline_strings(tmp_path: Path) -> None:
    path = write_streamed(tmp_path / "sheet.xlsx")
    # Cells and rows without their r="…" (allowed, and written by some tools), and an inline
    # string with an empty <t/>.
    edited = rewrite_sheet(path, re.compile(r' r="[A-Z]*\d+"'), "")
    edited = rewrite_sheet(edited, re.compile(r"<t>王磊</t>"), "<t/>")

    fast, openpyxl_read = values_both_ways(edited)

    assert fast == openpyxl_read
    assert fast[2][1][0] == ""


def test_a_dimension_pads_and_cuts_rows_as_openpyxl_does(tmp_path: Path) -> None:
    path = write_streamed(tmp_path / "sheet.xlsx")
    edited = rewrite_sheet(path, re.compile(r"<sheetData>"), '<dimension ref="A1:G4"/><sheetData>')

    fast, openpyxl_read = values_both_ways(edited)

    assert fast == openpyxl_read
    assert fast[1] == [1, 4, 1, 7]
    assert {len(row) for row in fast[2]} == {7}
