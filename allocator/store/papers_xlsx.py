"""Handover lists laid out to be printed on A4, signed and filed (openpyxl).

Each list is a sheet: the national heading and the issuing office, the title, the
round with its approval day, the point (or commune), then the table of households
and the signature blocks. The header row is bold, frozen on screen and repeated on
every printed page; rows are tall enough to sign in. Column widths are chosen so
that the table fits the printable width of the page at 100%: Excel draws a column
of width w (in widths of the default font's digit, 7 px for Calibri 11) as
trunc(7w) pixels at 96 per inch, and `fits` checks the sum against the page less
its margins. Fit-to-width stays on for readers whose fonts run wider.

The list typed back after signing (`allocator.store.paper_list`) is read from its
header row down to the total line (`TOTAL`), so the heading and signatures above
and below it are not taken for households.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass
from functools import cache

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, NamedStyle, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from allocator.store.a4_sheet import print_on_a4
from allocator.store.papers import Papers, Sheet
from allocator.tabular import safe_cell

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập – Tự do – Hạnh phúc"
TITLE = "DANH SÁCH BÀN GIAO ĐIỆN THOẠI THÔNG MINH"
TOTAL = "Cộng"  # the line under the table: "Cộng: 37 hộ."; a typed-back list ends there
SIGNED = "(Ký, ghi rõ họ tên)"
FONT = "Times New Roman"  # the face of Vietnamese administrative papers
HEADER_ROW = 8  # rows 1-2: national heading and office; 4-6: title, round, place; 7: gap
ROW_PT = 30  # a data row: room for a signature and for an IMEI written by hand

# The page: A4 in points, margins in inches (as Excel keeps them).
A4_PT = (595.28, 841.89)
MARGINS = PageMargins(left=0.35, right=0.35, top=0.5, bottom=0.6, header=0.25, footer=0.3)
DIGIT_PX = 7  # the default font's (Calibri 11) digit width, which column widths count in


@dataclass(frozen=True)
class Column:
    key: str  # allocator.store.handover's column key
    header: str
    width: float  # Excel's column width
    number: bool = False


# Widths hold a 15-character household id, a pickup code and an IMEI on one line at 10 pt;
# names, communes and models wrap within the row's two lines (every cell wraps, so a
# longer id breaks onto a second line rather than being cut).
_FIRST = (Column("stt", "STT", 4.5, number=True), Column("household_id", "Mã hộ", 16),
          Column("pickup_code", "Mã nhận", 13.5), Column("head_name", "Họ tên chủ hộ", 17),
          Column("phone", "Số điện thoại", 10.5))
_LAST = (Column("model", "Mẫu máy", 11.5),
         Column("copay_vnd", "Hộ đóng góp (đồng)", 8.5, number=True),
         Column("window", "Ngày giờ nhận", 11), Column("handed", "Đã nhận", 6.5),
         Column("imei", "IMEI", 16.5), Column("note", "Ghi chú", 7.5),
         Column("signature", "Ký nhận", 13))
# A point's list says where each household lives; a commune's, where it collects.
COLUMNS = {"point": (*_FIRST, Column("commune_name", "Xã, phường", 12.5), *_LAST),
           "commune": (*_FIRST, Column("point_name", "Điểm nhận", 12.5), *_LAST)}
SIGNERS = {"point": ("Người lập biểu", "Cán bộ điểm nhận", "Đại diện UBND phường/xã"),
           "commune": ("Người lập biểu", "Đại diện UBND phường/xã")}

THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def column_px(width: float) -> int:
    """The pixels Excel draws a column of this width in (ECMA-376, 18.3.1.13)."""
    return int(((256 * width + int(128 / DIGIT_PX)) / 256) * DIGIT_PX)


def printable_px(landscape: bool) -> float:
    """The page's width less its left and right margins, in pixels at 96 per inch."""
    width_pt = A4_PT[1] if landscape else A4_PT[0]
    return (width_pt - 72 * (MARGINS.left + MARGINS.right)) * 96 / 72


def table_px(columns: Sequence[Column]) -> int:
    return sum(column_px(c.width) for c in columns)


def fits(columns: Sequence[Column], landscape: bool) -> bool:
    return table_px(columns) <= printable_px(landscape)


def landscape_for(columns: Sequence[Column]) -> bool:
    """Portrait when the table fits across it, landscape otherwise."""
    if fits(columns, landscape=False):
        return False
    if not fits(columns, landscape=True):
        raise ValueError(f"{table_px(columns)} px of columns do not fit across A4")
    return True


def as_workbook(papers: Papers) -> bytes:
    """The lists as one workbook, a sheet each."""
    book = Workbook()
    for name, font in (("paper_cell", Font(name=FONT, size=10)),
                       ("paper_head", Font(name=FONT, size=10, bold=True))):
        style = NamedStyle(name=name, font=font, border=BOX,
                           alignment=Alignment(vertical="center", wrap_text=True))
        book.add_named_style(style)
    first = book.active
    assert first is not None
    book.remove(first)
    used: set[str] = set()
    # A round without households still gets its (empty) paper, never a workbook without sheets.
    sheets: list[Sheet | None] = list(papers.sheets) or [None]
    for sheet in sheets:
        page = book.create_sheet(_sheet_name(sheet, used))
        _lay_out(page, papers, sheet)
    book.properties.title = f"{TITLE.capitalize()} – đợt {papers.round_id}"
    book.properties.creator = _clean(papers.office)[:255]
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def file_name(papers: Papers, kind: str, only: str | None) -> str:
    """A file name of plain characters (an HTTP header is latin-1)."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", only or "")[:60]
    tail = f"-{safe}" if safe else ("-theo-xa" if kind == "commune" else "")
    return f"ban-giao-dot-{papers.round_id}{tail}.xlsx"


def place_line(sheet: Sheet) -> str:
    if sheet.kind == "point":
        text = f"Điểm nhận: {sheet.key}" + (f" – {sheet.name}" if sheet.name else "")
        return text + (f" · Địa chỉ: {sheet.address}" if sheet.address else "")
    return f"Xã, phường: {sheet.key}" + (f" – {sheet.name}" if sheet.name else "")


def round_line(papers: Papers) -> str:
    approved = (f" · Phê duyệt ngày {papers.approved_on:%d/%m/%Y}"
                if papers.approved_on else "")
    return f"Đợt {papers.round_id}: {papers.round_name}{approved}"


def _lay_out(page: Worksheet, papers: Papers, sheet: Sheet | None) -> None:
    kind = sheet.kind if sheet is not None else "point"
    columns = COLUMNS[kind]
    last = len(columns)
    for at, column in enumerate(columns, start=1):
        page.column_dimensions[get_column_letter(at)].width = column.width
    left, right = _halves(columns)
    _put(page, 1, 1, left, _clean(papers.office).upper(), bold=True, size=11)
    _put(page, 1, right, last, NATION, bold=True, size=11)
    _put(page, 2, right, last, MOTTO, bold=True, size=11)
    page.row_dimensions[1].height = 30  # a long office name takes two lines
    _put(page, 4, 1, last, TITLE, bold=True, size=14)
    _put(page, 5, 1, last, round_line(papers), size=11)
    _put(page, 6, 1, last, place_line(sheet) if sheet is not None else "", size=11)
    page.row_dimensions[7].height = 6
    for at, column in enumerate(columns, start=1):
        cell = page.cell(row=HEADER_ROW, column=at, value=column.header)
        cell.style = "paper_head"
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    page.row_dimensions[HEADER_ROW].height = 42  # three lines of a wrapped heading
    count = 0
    if sheet is not None and len(sheet.rows):
        keys = [c.key for c in columns]
        looks = _looks(page, columns)
        for count, values in enumerate(sheet.rows[keys].itertuples(index=False, name=None),
                                       start=1):
            r = HEADER_ROW + count
            for at, value in enumerate(values, start=1):
                page.cell(row=r, column=at, value=_value(value))._style = copy(looks[at - 1])
            page.row_dimensions[r].height = ROW_PT
    end = HEADER_ROW + count + 1
    _put(page, end, 1, last, f"{TOTAL}: {count} hộ.", bold=True, size=11, align="left")
    _signatures(page, end + 2, columns, SIGNERS[kind])
    _print_setup(page, papers, sheet, columns, end + 5)


def _looks(page: Worksheet, columns: Sequence[Column]) -> list[StyleArray]:
    """Each column's cell style, made once: a data cell copies it (setting a named
    style on each of a city's 100,000 cells costs seconds)."""
    looks = []
    for column in columns:
        cell = page.cell(row=HEADER_ROW + 1, column=1)
        cell.style = "paper_cell"
        if column.number:
            cell.number_format = "#,##0"
        looks.append(copy(cell._style))
    return looks


def _signatures(page: Worksheet, row: int, columns: Sequence[Column],
                signers: Sequence[str]) -> None:
    """A block per signer across the page, under a place-and-day line to fill in."""
    spans = _spans(len(columns), len(signers))
    _put(page, row, spans[-1][0], spans[-1][1], "…………, ngày …… tháng …… năm 20……",
         italic=True, size=11)
    for (start, stop), who in zip(spans, signers, strict=True):
        _put(page, row + 1, start, stop, who, bold=True, size=11)
        _put(page, row + 2, start, stop, SIGNED, italic=True, size=10)
    page.row_dimensions[row + 3].height = 60  # room to sign


def _print_setup(page: Worksheet, papers: Papers, sheet: Sheet | None,
                 columns: Sequence[Column], last_row: int) -> None:
    where = f" · {sheet.key}" if sheet is not None else ""
    print_on_a4(page, header_row=HEADER_ROW, columns=len(columns), last_row=last_row,
                landscape=landscape_for(columns), margins=MARGINS, centred=True,
                pages="Trang &P / &N", footer=f"Đợt {papers.round_id}{where}", font=FONT)


def _put(page: Worksheet, row: int, start: int, stop: int, text: str, *, bold: bool = False,
         italic: bool = False, size: float = 11, align: str = "center") -> None:
    if stop > start:
        page.merge_cells(start_row=row, start_column=start, end_row=row, end_column=stop)
    cell = page.cell(row=row, column=start, value=_value(text))
    cell.font = _font(size, bold, italic)
    cell.alignment = _aligned(align)


@cache
def _font(size: float, bold: bool, italic: bool) -> Font:
    return Font(name=FONT, size=size, bold=bold, italic=italic)


@cache
def _aligned(horizontal: str) -> Alignment:
    return Alignment(horizontal=horizontal, vertical="center", wrap_text=True)


def _halves(columns: Sequence[Column]) -> tuple[int, int]:
    """The last column of the office's block (left half) and the first of the national
    heading's (right half), as an administrative paper places them."""
    total = sum(c.width for c in columns)
    run, left, right = 0.0, 1, len(columns)
    for at, column in enumerate(columns, start=1):
        if run + column.width <= 0.5 * total:
            left = at
        if run >= 0.5 * total:
            right = min(right, at)
        run += column.width
    return left, right


def _spans(count: int, parts: int) -> list[tuple[int, int]]:
    """`parts` runs of columns across `count` columns, as even as whole columns allow."""
    edges = [round(i * count / parts) for i in range(parts + 1)]
    return [(edges[i] + 1, edges[i + 1]) for i in range(parts)]


def _sheet_name(sheet: Sheet | None, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    if sheet is None:
        base = "Danh sách"
    elif sheet.kind == "point":
        base = sheet.key
    else:
        base = f"{sheet.key} {sheet.name}".strip()
    base = re.sub(r"[\[\]:*?/\\]", "_", _clean(base)).strip("'") or "Danh sách"
    name, n = base[:31], 1
    while name.lower() in used:
        n += 1
        name = f"{base[:31 - len(str(n)) - 1]}~{n}"
    used.add(name.lower())
    return name


def _clean(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def _value(value: object) -> str | int | float | None:
    """A cell's value: numbers as numbers, text never a formula, blanks empty."""
    safe = safe_cell(value)
    if isinstance(safe, str):
        return _clean(safe) or None
    return safe
