"""What a sponsor downloads of a round: its lots, its idle devices and why, and where its
devices went (by commune, by household group), one table per sheet of an XLSX workbook
or one table per CSV file.

The figures are the portal's, as the portal shows them (`allocator.store.sponsor_view`,
`allocator.store.sponsor_idle`): suppressed counts, no household. Headers and labels
are words in the reader's language (Vietnamese unless asked), never codes such as
`near_poor`; a published count is a number a spreadsheet can add, a hidden one the
text "<5", "*" or "–". The workbook opens each sheet with the sponsor's name, the round,
its status and the day it was made (Vietnam time); a CSV holds its table alone, with
`,` or `;` between cells (Excel set to Vietnamese splits at `;`). Every text cell goes
through `allocator.tabular`, so no name becomes a formula.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from allocator.report.labels import Text
from allocator.store.a4_sheet import print_on_a4
from allocator.store.sponsor_idle import IdleDevices
from allocator.store.sponsor_sheet import OFFICE, VIETNAM
from allocator.store.sponsor_view import CHART_GROUPS, SponsorView
from allocator.tabular import csv_bytes, safe_cell

TABLES = ("lots", "idle", "communes", "groups")
SEPARATORS = {"comma": ",", "semicolon": ";"}
HEADER_ROW = 7  # rows 1-5: the title block; 6: blank
LINE = Side(style="thin", color="808080")
BOX = Border(left=LINE, right=LINE, top=LINE, bottom=LINE)
HEAD_FILL = PatternFill("solid", fgColor="DDE4EC")
MARGINS = PageMargins(left=0.5, right=0.5)  # inches; top and bottom as Excel's own


@dataclass(frozen=True)
class Table:
    key: str  # one of TABLES
    title: str
    header: list[str]
    rows: list[list[object]]
    widths: tuple[int, ...]  # characters, per column
    numeric: frozenset[int]  # columns of counts (right-aligned)


def count(text: str) -> object:
    """A published count as a number; a hidden one ("<5", "*", "–") as its text."""
    return int(text) if text.isdigit() else text


def tables(view: SponsorView, idle: IdleDevices, t: Text) -> list[Table]:
    """The portal's tables, in the reader's words."""
    last = t("released_no_show") if view.round_status == "closed" else t("pending")
    lots = Table("lots", t("table_lots"),
                 [t("lot"), t("model"), t("quantity"), t("given"), t("collected"), last,
                  t("sheet_idle")],
                 [], (12, 24, 10, 11, 11, 13, 11), frozenset({2, 3, 4, 5, 6}))
    idle_of = {x.lot_id: x.idle for x in idle.lots}
    for x in view.lots:
        lots.rows.append([x.lot_id, x.model, x.quantity, count(x.allocated),
                          count(x.handed_over), count(x.pending),
                          count(idle_of.get(x.lot_id, _idle(x.quantity, x.allocated)))])
    lots.rows.append([t("total"), "", view.total.quantity, count(view.total.allocated),
                      count(view.total.handed_over), count(view.total.pending),
                      count(_idle(view.total.quantity, view.total.allocated))])
    why = Table("idle", t("table_idle"),
                [t("lot"), t("model"), t("sheet_idle"), t("reason"), t("devices")], [],
                (12, 22, 11, 52, 9), frozenset({2, 4}))
    for y in idle.lots:
        if y.withheld:
            why.rows.append([y.lot_id, y.model, count(y.idle), t("idle_withheld"), ""])
        for i, (reason, devices) in enumerate(y.reasons):
            why.rows.append([y.lot_id if i == 0 else "", y.model if i == 0 else "",
                             count(y.idle) if i == 0 else "", t(f"sheet_reason_{reason}"),
                             count(devices)])
    communes = Table("communes", t("table_communes"),
                     [t("commune_code"), t("commune"), t("devices")],
                     [[c.code, c.name, count(c.devices)] for c in view.communes],
                     (14, 34, 10), frozenset({2}))
    groups = Table("groups", t("table_groups"), [t("household_group"), t("devices")],
                   [[t(g), count(n)] for g, n in view.groups if g in CHART_GROUPS],
                   (34, 10), frozenset({1}))
    return [lots, why, communes, groups]


def _idle(quantity: int, allocated: str) -> str:
    """Idle devices as the sheet publishes them: exactly when the allocated ones are."""
    return str(quantity - int(allocated)) if allocated.isdigit() else "–"


def as_csv(table: Table, separator: str = ",") -> bytes:
    """One table as a CSV file Excel opens directly (UTF-8 with BOM)."""
    return csv_bytes(table.header, table.rows, separator=separator)


def as_zip(every: Sequence[Table], round_id: int, separator: str = ",") -> bytes:
    """Every table, one CSV file each, in one ZIP."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in every:
            archive.writestr(file_name(round_id, table.key, "csv"), as_csv(table, separator))
    return buffer.getvalue()


def file_name(round_id: int, table: str, ext: str) -> str:
    return f"nha-tai-tro-dot-{round_id}{'-' + table if table else ''}.{ext}"


def as_xlsx(view: SponsorView, every: Sequence[Table], t: Text,
            today: dt.date | None = None) -> bytes:
    """A workbook with one sheet per table, each opening with the sponsor, the round and
    its status, and printing on A4 with its header row on every page."""
    today = today or dt.datetime.now(VIETNAM).date()
    book = Workbook()
    first = book.active
    assert first is not None
    for n, table in enumerate(every):
        page = first if n == 0 else book.create_sheet()
        _sheet(page, view, table, t, today)
    book.properties.title = f"{t('sponsor_figures')}: {view.sponsor_name}"[:255]
    book.properties.creator = OFFICE[1 if t.lang == "en" else 0]
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet(page: Worksheet, view: SponsorView, table: Table, t: Text, today: dt.date) -> None:
    page.title = ILLEGAL_CHARACTERS_RE.sub("\ufffd", table.title)[:31]
    block = [(f"{t('sponsor_figures').upper()} — {table.title}", 13),
             (OFFICE[1 if t.lang == "en" else 0], 10),
             (f"{t('sponsor')}: {view.sponsor_name} ({view.sponsor_id})", 11),
             (f"{t('round')} {view.round_id}: {view.round_name} · {t('status')}: "
              f"{t(view.round_status)}", 11),
             (f"{t('issued_on')}: {today:%d/%m/%Y}", 10)]
    for row, (text, size) in enumerate(block, start=1):
        cell = page.cell(row=row, column=1, value=_text(text))
        cell.data_type = "s"
        cell.font = Font(bold=row in (1, 3, 4), size=size)
    for column, width in enumerate(table.widths, start=1):
        page.column_dimensions[get_column_letter(column)].width = width
    for column, text in enumerate(table.header, start=1):
        cell = page.cell(row=HEADER_ROW, column=column, value=_text(text))
        cell.font = Font(bold=True)
        cell.fill = HEAD_FILL
        cell.border = BOX
        cell.alignment = Alignment(wrap_text=True, vertical="center",
                                   horizontal="center" if column - 1 in table.numeric
                                   else "left")
    page.row_dimensions[HEADER_ROW].height = 30
    total = t("total")
    for r, values in enumerate(table.rows, start=HEADER_ROW + 1):
        for column, value in enumerate(values, start=1):
            cell = page.cell(row=r, column=column, value=_value(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever openpyxl guessed
            cell.border = BOX
            cell.font = Font(bold=values[0] == total)
            wrap = isinstance(value, str) and len(value) > table.widths[column - 1]
            cell.alignment = Alignment(
                wrap_text=wrap, vertical="top",
                horizontal="right" if column - 1 in table.numeric else "left")
            if isinstance(cell.value, int):
                cell.number_format = "#,##0"
        longest = max((len(v) / max(1, table.widths[c] - 2) for c, v in enumerate(values)
                       if isinstance(v, str)), default=1)
        page.row_dimensions[r].height = 15 * max(1, -(-int(longest * 10) // 10))
    end = HEADER_ROW + len(table.rows) + 1
    legend = t("aggregates_only_no_household_s_name_phon")
    page.merge_cells(start_row=end + 1, start_column=1, end_row=end + 1,
                     end_column=len(table.header))
    note = page.cell(row=end + 1, column=1, value=_text(legend))
    note.alignment = Alignment(wrap_text=True, vertical="top")
    note.font = Font(italic=True, size=9)
    page.row_dimensions[end + 1].height = 14 * max(1, -(-len(legend) //
                                                         max(1, sum(table.widths) - 4)))
    print_on_a4(page, header_row=HEADER_ROW, columns=len(table.header), last_row=end + 1,
                margins=MARGINS)


def _value(value: object) -> object:
    """A number as a number; text safe from formula injection, as XML can hold it."""
    safe = safe_cell(value)
    return _text(safe) if isinstance(safe, str) else safe


def _text(value: str) -> str | None:
    safe = safe_cell(value)
    return None if safe is None or safe == "" else ILLEGAL_CHARACTERS_RE.sub("\ufffd",
                                                                              str(safe))
