"""Registry workbooks (XLSX) read as text cells, a chunk of rows at a time.

An XLSX file is a zip: its parts are held to the upload limits (declared and
actual unpacked sizes) before openpyxl opens it, and the first sheet is read in
read-only mode, never past the header's columns or Excel's row limit, so
neither a bomb nor a sheet claiming the size XFD1048576 costs more than its
real rows. Formulas count as the value Excel last showed (a formula never
computed reads as empty).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

from allocator.issues import InputIssue
from allocator.limits import (
    ARCHIVE_ERRORS,
    MAX_COLUMNS,
    MAX_SHEET_ROWS,
    Limits,
    TooLarge,
    check_archive,
)
from allocator.reading import CHUNK_ROWS, RawTable

HEADING_ROWS = 20  # how far down a printed paper's header row may be looked for
Rows = Callable[[list[str]], bool]


def open_xlsx(path: Path, name: str, issues: list[InputIssue], limits: Limits,
              find_header: Rows | None = None, until: Rows | None = None
              ) -> RawTable | None:
    """Start reading the first sheet; None (with an issue) if the workbook cannot be read.

    The header is the first row, or the first of the top rows `find_header` accepts
    (a printed paper has a heading above its table); with `until`, the table ends
    before the first row it accepts (the paper's total line and signatures).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            check_archive(archive, limits, name)
    except TooLarge as err:
        issues.append(InputIssue(name, 0, "", f"is refused: {err}"))
        return None
    except ARCHIVE_ERRORS as err:
        issues.append(InputIssue(name, 0, "", f"cannot be read as XLSX: {_said(err)}"))
        return None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds for a damaged workbook
        issues.append(InputIssue(name, 0, "", f"cannot be read as XLSX: {_said(err)}"))
        return None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # a sheet's declared size can be wrong, or huge
        at, first = 1, next(sheet.iter_rows(min_row=1, max_row=1, max_col=MAX_COLUMNS + 1,
                                            values_only=True), ())
        if find_header is not None:
            top = sheet.iter_rows(min_row=1, max_row=HEADING_ROWS, max_col=MAX_COLUMNS + 1,
                                  values_only=True)
            at, first = next(((n, values) for n, values in enumerate(top, start=1)
                              if find_header([cell_text(v) for v in values])), (at, first))
    except Exception as err:
        book.close()
        issues.append(InputIssue(name, 1, "", f"cannot be read as XLSX: {_said(err)}"))
        return None
    header = [cell_text(v) for v in first]
    while header and not header[-1]:
        header.pop()
    if len(header) > MAX_COLUMNS:
        book.close()
        issues.append(InputIssue(name, 1, "", f"the header has more than {MAX_COLUMNS} "
                                              "columns"))
        return None
    if not header:
        book.close()
        issues.append(InputIssue(name, 1, "", "is empty: a header row is required"))
        return None
    table = RawTable(name, header, iter(()))
    table.chunks = _chunks(book, sheet, table, issues, at + 1, until)
    return table


def _chunks(book: Any, sheet: Any, table: RawTable, issues: list[InputIssue],
            first: int = 2, until: Rows | None = None) -> Iterator[pd.DataFrame]:
    width = len(table.header)
    rows: list[list[str]] = []
    start = row = first
    try:
        for values in sheet.iter_rows(min_row=first, max_row=MAX_SHEET_ROWS + 1,
                                      max_col=width, values_only=True):
            if until is not None and until([cell_text(v) for v in values]):
                break
            if row > MAX_SHEET_ROWS:
                if any(v is not None for v in values):
                    table.failed = True
                    issues.append(InputIssue(table.name, row, "", "is past Excel's last row "
                                             f"({MAX_SHEET_ROWS:,})"))
                break
            rows.append([cell_text(v) for v in values] + [""] * (width - len(values)))
            row += 1
            if len(rows) == CHUNK_ROWS:
                yield _frame(rows, table.header, start)
                rows, start = [], row
        if rows:
            yield _frame(rows, table.header, start)
    except Exception as err:  # a damaged sheet part
        table.failed = True
        issues.append(InputIssue(table.name, row, "", f"cannot be read as XLSX: {_said(err)}"))
    finally:
        book.close()


def _frame(rows: list[list[str]], header: list[str], start: int) -> pd.DataFrame:
    """Rows of text cells, columns named as in the header, indexed by spreadsheet row."""
    frame = pd.DataFrame(rows, index=pd.RangeIndex(start, start + len(rows)), dtype=object)
    frame.columns = header
    return frame


def cell_text(value: object) -> str:
    """A cell as the text a person sees: whole numbers without '.0', dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _said(error: BaseException) -> str:
    return (str(error) or type(error).__name__)[:200]
