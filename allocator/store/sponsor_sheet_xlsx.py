"""The sponsor sheet as an XLSX workbook to print on A4 portrait or to keep.

Three sheets (use of the lots, idle devices and why, changes), each with the title
block on top, a bold header row frozen on screen and repeated on every printed page,
columns sized to fit the page's width. Figures are written as the HTML sheet shows
them (text, right-aligned): Vietnamese separators whatever the reader's Excel locale,
and a hidden count ("<5", "*", "–") is text anyway. Every text cell goes through
`allocator.tabular.safe_cell`, so a name starting with "=" is never a formula.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from allocator.report.labels import Text
from allocator.store.a4_sheet import print_on_a4
from allocator.store.sponsor_sheet import (
    OFFICE,
    SponsorSheet,
    Table,
    change_table,
    figure_columns,
    reason_table,
    use_table,
)
from allocator.tabular import safe_cell

HEADER_ROW = 6  # rows 1-4: the title block; 5: blank
# Column widths (characters) by header position; text columns wrap.
USE_WIDTHS = (10, 18, 7, 9, 13, 13, 10, 10, 9, 9, 16)
REASON_WIDTHS = (10, 18, 10, 52, 9)
CHANGE_WIDTHS = (10, 10, 44, 11, 11, 11)
WRAPPED = {"reason": 3, "change": 2}  # the column (0-based) of long text, per table
LINE = Side(style="thin", color="808080")
BOX = Border(left=LINE, right=LINE, top=LINE, bottom=LINE)
HEAD_FILL = PatternFill("solid", fgColor="DDE4EC")
MARGINS = PageMargins(left=0.5, right=0.5, top=0.6, bottom=0.6)  # inches


def as_xlsx(sheet: SponsorSheet, t: Text) -> bytes:
    """The workbook's bytes, in the language of `t` (which holds the page labels)."""
    book = Workbook()
    first = book.active
    assert first is not None
    use = use_table(sheet, t)
    _table(first, sheet, t, t("sheet_use"), use, _use_widths(use), None,
           [t("sheet_all_used")] if sheet.total.idle == "0" else [])
    notes = [] if sheet.analysed else [t("sheet_no_analysis")]
    reasons = reason_table(sheet, t)
    _table(book.create_sheet(), sheet, t, t("sheet_idle_why"), reasons, REASON_WIDTHS,
           WRAPPED["reason"], notes)
    changes = change_table(sheet, t)
    more = notes or ([t("sheet_change_note")] if changes[1] else
                     [t("sheet_no_change")] if _has_idle(sheet) else [])
    _table(book.create_sheet(), sheet, t, t("sheet_changes"), changes, CHANGE_WIDTHS,
           WRAPPED["change"], more)
    book.properties.title = f"{t('sheet_title')}: {sheet.sponsor_name}"[:255]
    book.properties.creator = OFFICE[1 if t.lang == "en" else 0]
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _has_idle(sheet: SponsorSheet) -> bool:
    return any(x.idle != "0" for x in sheet.lots)


def _use_widths(table: Table) -> tuple[int, ...]:
    """The use table has a handed-over column only once the round is approved."""
    return USE_WIDTHS if len(table[0]) == len(USE_WIDTHS) else USE_WIDTHS[:7] + USE_WIDTHS[8:]


def _table(page: Worksheet, sheet: SponsorSheet, t: Text, name: str, table: Table,
           widths: Sequence[int], wrapped: int | None, notes: list[str]) -> None:
    header, rows = table
    page.title = _clean(name)[:31]
    office = OFFICE[1 if t.lang == "en" else 0]
    when = ""
    if sheet.round_date is not None:
        said = t("sheet_approved_on") if sheet.approved else t("sheet_solved_on")
        when = f" ({said} {sheet.round_date:%d/%m/%Y})"
    block = [(f"{t('sheet_title').upper()} — {name}", 13),
             (office, 10),
             (f"{t('round')} {sheet.round_id}: {sheet.round_name}{when}", 10),
             (f"{t('sponsor')}: {sheet.sponsor_name} ({sheet.sponsor_id}) · "
              f"{t('sheet_issued')}: {sheet.issued:%d/%m/%Y}", 10)]
    for row, (text, size) in enumerate(block, start=1):
        cell = page.cell(row=row, column=1, value=_text(text))
        cell.font = Font(bold=row in (1, 4), size=size)
    for column, width in enumerate(widths, start=1):
        page.column_dimensions[get_column_letter(column)].width = width
    for column, text in enumerate(header, start=1):
        cell = page.cell(row=HEADER_ROW, column=column, value=_text(text))
        cell.font = Font(bold=True)
        cell.fill = HEAD_FILL
        cell.border = BOX
        cell.alignment = Alignment(wrap_text=True, vertical="center",
                                   horizontal="left" if column == 1 else "center")
    page.row_dimensions[HEADER_ROW].height = 30
    numeric = figure_columns(header, t)
    for r, values in enumerate(rows, start=HEADER_ROW + 1):
        last = values[0] == t("total")
        for column, value in enumerate(values, start=1):
            cell = page.cell(row=r, column=column, value=_text(value))
            cell.border = BOX
            cell.font = Font(bold=last)
            cell.alignment = Alignment(
                wrap_text=column - 1 == wrapped, vertical="top",
                horizontal="right" if column - 1 in numeric else "left")
        if wrapped is not None:
            lines = max(1, -(-len(values[wrapped]) // max(1, widths[wrapped] - 2)))
            page.row_dimensions[r].height = 15 * lines
    end = HEADER_ROW + len(rows) + 1
    legend = t("aggregates_only_no_household_s_name_phon")
    for offset, text in enumerate([*notes, legend], start=1):
        row = end + offset
        page.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(header))
        cell = page.cell(row=row, column=1, value=_text(text))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.font = Font(italic=text == legend, size=9 if text == legend else 10)
        page.row_dimensions[row].height = 14 * max(1, -(-len(text) // max(1, sum(widths) - 4)))
    print_on_a4(page, header_row=HEADER_ROW, columns=len(header),
                last_row=end + len(notes) + 1, margins=MARGINS, centred=True,
                footer=f"{t('sheet_title')} · {sheet.sponsor_id}")


def _clean(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def _text(value: str) -> str | None:
    """A cell's text, safe from formula injection; characters XML cannot hold replaced."""
    safe = safe_cell(value)
    return None if safe is None or safe == "" else _clean(str(safe))
