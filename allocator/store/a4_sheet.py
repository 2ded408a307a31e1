"""A worksheet set up to print on A4: the one print setup of every paper the store writes
(handover lists, the sponsor sheet, the sponsor's figures).

The header row is frozen on screen and repeated at the top of every printed page, the
print area ends at the table's last row (notes and signatures included), and the table
is fitted to the page's width, never to its height, so a long list runs on over as many
pages as it needs. The footer numbers the pages; its left part may name the paper.
"""

from __future__ import annotations

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

PAGES = "&P / &N"  # "page / pages", in Excel's header codes


def print_on_a4(page: Worksheet, *, header_row: int, columns: int, last_row: int,
                landscape: bool = False, margins: PageMargins | None = None,
                centred: bool = False, pages: str = PAGES, footer: str | None = None,
                font: str | None = None) -> None:
    """Lay `page` out on A4 with row `header_row` as its print title.

    `columns` and `last_row` bound the print area; `margins` replace the sheet's own
    (Excel's default when None); `centred` centres the table across the page; `pages`
    is the footer's centre ("&P / &N" or worded, such as "Trang &P / &N"); `footer`
    names the paper at the footer's left (plain text); `font` is both parts' face.
    """
    page.freeze_panes = page.cell(row=header_row + 1, column=1)
    page.print_title_rows = f"{header_row}:{header_row}"
    page.print_area = f"A1:{get_column_letter(columns)}{last_row}"
    page.page_setup.paperSize = page.PAPERSIZE_A4
    page.page_setup.orientation = "landscape" if landscape else "portrait"
    page.page_setup.fitToWidth = 1
    page.page_setup.fitToHeight = 0
    page.sheet_properties.pageSetUpPr.fitToPage = True
    if centred:
        page.print_options.horizontalCentered = True
    if margins is not None:
        page.page_margins = margins
    page.oddFooter.center.text = pages
    if font is not None:
        page.oddFooter.center.font = font
    if footer is not None:
        # "&" starts a header code (page number, font, ...): one in a name is doubled.
        page.oddFooter.left.text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", footer)[:100] \
            .replace("&", "&&")
        if font is not None:
            page.oddFooter.left.font = font
