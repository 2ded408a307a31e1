"""The one writer of every CSV and XLSX file the project makes for people to open.

Handover lists, sponsor figures and any other table a person opens in Excel or
LibreOffice go through here, so that a name typed into the registry as
`=HYPERLINK(...)` reaches the sheet as text, never as a live formula (formula
or CSV injection). Text that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return gets one leading apostrophe, as OWASP advises; numbers stay numbers.
CSV files are UTF-8 with a BOM and CRLF line ends, so Excel shows Vietnamese
names as written; XLSX cells holding text are typed as strings explicitly.

Outside this writer, on purpose: the engine's contract files (`allocations.csv`
and `unserved.csv` written by `allocator.result`, and the frozen input folders
of a round — `households.csv`, `lots.csv`, `points.csv` — written by the store
and zipped by the round export). Those are read back by programs (the engine,
`round import-folder`, the tests' byte-for-byte comparisons), their bytes are
fixed by the contract, and a changed name would no longer round-trip; they are
data for machines, not sheets for people.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from numbers import Integral, Real

import pandas as pd

# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
# XML 1.0 cannot hold these control characters, so an XLSX cell cannot either.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

Cell = str | int | float | None


def safe_text(text: str) -> str:
    """Text a spreadsheet would run as a formula, kept as text by one leading apostrophe."""
    return QUOTE + text if text.startswith(DANGEROUS) else text


def safe_cell(value: object) -> Cell:
    """A number as a number, a missing value as an empty cell, anything else as safe text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool):
        return safe_text(str(value))
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        number = float(value)
        return None if math.isnan(number) else number
    return safe_text(str(value))


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]],
              separator: str = ",") -> bytes:
    """A CSV file Excel opens directly: UTF-8 with a BOM, CRLF, every text cell made safe.

    Every text cell is quoted, not only those holding a comma: Excel set to Vietnamese
    (and other languages that write 1,5) splits CSV lines at semicolons, and a name
    such as `Lan;=cmd|...` would otherwise start a cell of its own with `=`. With
    `separator=";"` such an Excel opens the file in columns without an import step.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n",
                        quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([safe_cell(x) for x in header])
    for row in rows:
        writer.writerow(["" if (c := safe_cell(x)) is None else c for x in row])
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[object]], sheet: str,
               widths: Sequence[float] = ()) -> bytes:
    """A one-sheet workbook whose text cells are strings, never formulas.

    openpyxl guesses a formula from a leading `=`; every text cell's type is set
    to string after the value, so no guess survives. Characters XML cannot hold
    become U+FFFD, the replacement character, rather than failing the download.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    page = book.create_sheet(sheet[:31])
    for i, width in enumerate(widths, start=1):
        page.column_dimensions[get_column_letter(i)].width = width

    def cells(values: Sequence[object]) -> list[WriteOnlyCell]:
        out = []
        for value in values:
            safe = safe_cell(value)
            if isinstance(safe, str):
                cell = WriteOnlyCell(page, value=_NOT_XML.sub("\ufffd", safe))
                cell.data_type = "s"
            else:
                cell = WriteOnlyCell(page, value=safe)
            out.append(cell)
        return out

    page.append(cells(header))
    for row in rows:
        page.append(cells(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def frame_rows(table: pd.DataFrame) -> Iterable[list[object]]:
    """A frame's rows as plain lists, in column order."""
    return (list(row) for row in table.itertuples(index=False, name=None))


def frame_csv(table: pd.DataFrame) -> bytes:
    """A frame (its columns as the header) through `csv_bytes`."""
    return csv_bytes([str(c) for c in table.columns], frame_rows(table))


def frame_xlsx(table: pd.DataFrame, sheet: str, widths: Sequence[float] = ()) -> bytes:
    """A frame (its columns as the header) through `xlsx_bytes`."""
    return xlsx_bytes([str(c) for c in table.columns], frame_rows(table), sheet, widths)
