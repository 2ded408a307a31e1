"""The printed papers in Chromium: the round report and a point's handover list, printed to
PDF on A4 (`page.pdf`), every page A4 and no table wider than the printable width.

The handover list is a workbook; Chromium cannot print XLSX, so its sheet is drawn as
HTML the way Excel lays it out (column widths in pixels as Excel draws them, the
sheet's margins and orientation, merged cells, bold, the header row repeated on every
page) and that is printed. A cell whose text runs past its column fails, as a column
past the page does. PDFs and screenshots go to tests/output/browser.
"""

from __future__ import annotations

import html
import io
import re
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from allocator.store.papers import DEFAULT_OFFICE
from allocator.store.papers_xlsx import A4_PT, MOTTO, NATION, column_px
from tests.browser.conftest import VIEWPORTS, World, sign_in

A4_MM = (210, 297)
PX_PER_MM = 96 / 25.4
REPORT_MARGIN_MM = (12, 11, 14, 11)  # allocator/report/static/paper.css: @page margin


def _pages(pdf: bytes) -> list[tuple[float, float]]:
    """Each PDF page's size in points."""
    from pypdf import PdfReader

    return [(float(p.mediabox.width), float(p.mediabox.height))
            for p in PdfReader(io.BytesIO(pdf)).pages]


def _a4(size: tuple[float, float], landscape: bool) -> bool:
    """A4 within 2 pt (Chromium rounds A4 to 8.27 × 11.7 inches: 595.92 × 842.88)."""
    width, height = (A4_PT[1], A4_PT[0]) if landscape else A4_PT
    return abs(size[0] - width) <= 2 and abs(size[1] - height) <= 2


def _fits(page: Any, printable_px: float) -> dict[str, Any]:
    """Under print media, at the printable width: how wide each table and the page are,
    what overflows its box, and which table columns are empty on every row."""
    page.emulate_media(media="print")
    page.set_viewport_size({"width": int(printable_px), "height": 1100})
    return page.evaluate("""(room) => {
      const tables = [...document.querySelectorAll('table')].map(t => ({
        id: t.id || t.className, width: t.scrollWidth,
        empty: [...Array(t.rows[0] ? t.rows[0].cells.length : 0).keys()].filter(i =>
          t.tBodies.length && [...t.tBodies].every(b => b.rows.length &&
            [...b.rows].every(r => !(r.cells[i] ? r.cells[i].textContent.trim() : '')))),
      }));
      const cut = [...document.querySelectorAll('td, th, .scroll')].filter(e =>
        e.scrollWidth > e.clientWidth + 1 || (e.classList.contains('scroll') &&
          e.scrollHeight > e.clientHeight + 1)).map(e => e.textContent.slice(0, 40));
      return {room, page: document.documentElement.scrollWidth, tables, cut};
    }""", printable_px)


@pytest.fixture(scope="module")
def planner(chromium: Any, world: World) -> Iterator[tuple[Any, Any]]:
    context, page = sign_in(chromium, world, "planner")
    yield context, page
    context.close()


def test_the_report_prints_on_a4_with_heading_status_and_signatures(
        planner: tuple[Any, Any], world: World, tmp_path: Path) -> None:
    context, _ = planner
    answer = context.request.get(f"{world.url}/rounds/{world.approved_round}/report.html")
    assert answer.status == 200
    report = tmp_path / "report.html"
    report.write_bytes(answer.body())
    page = context.new_page()
    page.goto(report.as_uri())
    heading = page.locator("#paper-heading").inner_text()
    assert NATION in heading and MOTTO in heading and DEFAULT_OFFICE.upper() in heading
    status = page.locator("#paper-status").inner_text()
    assert "Trạng thái đợt: Đã phê duyệt" in status
    assert re.search(r"Ngày phê duyệt: \d\d/\d\d/\d{4}", status), status
    signed = page.locator("#paper-signatures").inner_text()
    assert "Người lập báo cáo" in signed and "(Ký, ghi rõ họ tên)" in signed

    room = (A4_MM[0] - REPORT_MARGIN_MM[1] - REPORT_MARGIN_MM[3]) * PX_PER_MM
    found = _fits(page, room)
    assert found["page"] <= room + 1, found
    assert all(t["width"] <= room for t in found["tables"]), found["tables"]
    assert not [t for t in found["tables"] if t["empty"]], found["tables"]
    assert not found["cut"], found["cut"]
    pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=True)
    sizes = _pages(pdf)
    assert sizes and all(_a4(s, landscape=False) for s in sizes), sizes
    (world.output / "report-a4.pdf").write_bytes(pdf)
    print(f"report: {len(sizes)} A4 pages, widest table {max(t['width'] for t in found['tables'])}"
          f" px of {room:.0f}")
    page.screenshot(path=str(world.output / "report-print-a4.png"), full_page=True)
    page.close()

    # In English the heading and signatures are English too.
    context.request.get(f"{world.url}/lang/en")
    english = context.request.get(f"{world.url}/rounds/{world.approved_round}/report.html")
    context.request.get(f"{world.url}/lang/vi")
    text = english.text()
    assert "SOCIALIST REPUBLIC OF VIET NAM" in text and "Prepared by" in text


def test_a_points_handover_list_prints_on_a4_landscape(chromium: Any, world: World,
                                                       tmp_path: Path) -> None:
    allocations = pd.read_csv(world.result / "allocations.csv", dtype=str)
    point = str(allocations["point_id"].value_counts().idxmax())  # the officer's point
    other = str(allocations.loc[allocations["point_id"] != point, "point_id"].iloc[0])
    context, page = sign_in(chromium, world, "point")
    base = f"{world.url}/point/rounds/{world.approved_round}/handover-list.xlsx"
    assert context.request.get(f"{base}?point={other}").status == 403
    answer = context.request.get(f"{base}?point={point}")
    assert answer.status == 200 and answer.body()[:2] == b"PK"
    book = openpyxl.load_workbook(io.BytesIO(answer.body()))
    assert book.sheetnames == [point]
    sheet = book.worksheets[0]

    # Only the point's own households: as the store allocated them.
    listed = httpx.get(f"{world.url}/api/rounds/{world.approved_round}/allocations",
                       params={"point": point, "limit": 1000},
                       headers={"Authorization": f"Bearer {world.planner_token}"}, timeout=30)
    own = {a["household_id"] for a in listed.json()["items"]}
    rows = _rows(sheet)
    assert own and {r["Mã hộ"] for r in rows} == own
    assert [r["STT"] for r in rows] == list(range(1, len(own) + 1))

    paper = tmp_path / "handover.html"
    paper.write_text(sheet_html(sheet), encoding="utf-8")
    page.goto(paper.as_uri())
    margins = sheet.page_margins
    landscape = sheet.page_setup.orientation == "landscape"
    room = ((A4_PT[1] if landscape else A4_PT[0]) - 72 * (margins.left + margins.right)) * 4 / 3
    found = _fits(page, room)
    assert landscape and found["page"] <= room + 1, found
    assert all(t["width"] <= room for t in found["tables"]), (found["tables"], room)
    assert not found["cut"], found["cut"]
    # a household id and a pickup code are read on one line, never broken in two
    broken = page.evaluate("""() => [...document.querySelectorAll('tbody tr')]
      .filter(r => r.cells.length > 3 && /^\\d+$/.test(r.cells[0].textContent))
      .flatMap(r => [r.cells[1], r.cells[2]])
      .filter(td => { const range = document.createRange(); range.selectNodeContents(td);
                      return range.getClientRects().length > 1; })
      .map(td => td.textContent)""")
    assert not broken, broken
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    sizes = _pages(pdf)
    assert len(sizes) >= 2 and all(_a4(s, landscape=True) for s in sizes), sizes
    (world.output / "handover-list-a4.pdf").write_bytes(pdf)
    _header_on_every_page(pdf)
    print(f"handover list of {point}: {len(own)} households, {len(sizes)} A4 landscape "
          f"pages, table {max(t['width'] for t in found['tables'])} px of {room:.0f}")
    page.screenshot(path=str(world.output / "handover-list-print-a4.png"), full_page=True)
    context.close()


def test_a_round_not_approved_has_no_lists_and_says_why(planner: tuple[Any, Any],
                                                        world: World) -> None:
    context, page = planner
    solved = _solved(world, world.draft_round)
    page.goto(f"{world.url}/rounds/{solved}")
    assert page.locator("#handover-by-point, #handover-by-commune").count() == 0
    page.goto(f"{world.url}/rounds/{world.approved_round}")
    assert page.locator("#handover-by-point").count() == 1
    assert page.locator("#handover-by-commune").count() == 1
    with page.expect_download() as download:
        page.click("#handover-by-commune")
    assert download.value.suggested_filename.endswith("-theo-xa.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert len(book.sheetnames) > 10 and all(s[:5].isdigit() for s in book.sheetnames)

    for lang, said in (("vi", "chỉ lập cho đợt đã phê duyệt"), ("en", "only for an approved")):
        page.goto(f"{world.url}/lang/{lang}?next=/rounds/{solved}")
        shown = page.goto(f"{world.url}/rounds/{solved}/handover.xlsx")
        assert shown is not None and shown.status == 409
        assert said in page.locator("main").inner_text()
        for label, (width, height) in VIEWPORTS.items():
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=str(world.output / f"handover-refused-{lang}-{width}x{height}"
                                                    ".png"), full_page=True)
            assert label
    page.goto(f"{world.url}/lang/vi")
    page.set_viewport_size({"width": 1366, "height": 768})


def _solved(world: World, round_id: int) -> int:
    """The round solved through the API (the browser tests' draft round)."""
    headers = {"Authorization": f"Bearer {world.planner_token}"}
    state = httpx.get(f"{world.url}/api/rounds/{round_id}", headers=headers, timeout=30).json()
    if state["status"] in ("draft", "failed"):
        asked = httpx.post(f"{world.url}/api/rounds/{round_id}/solve", headers=headers,
                           timeout=30)
        assert asked.status_code == 202, asked.text
    for _ in range(600):
        state = httpx.get(f"{world.url}/api/rounds/{round_id}", headers=headers,
                          timeout=30).json()
        if state["status"] not in ("draft", "solving"):
            break
        time.sleep(0.5)
    assert state["status"] == "solved", state
    return round_id


def _rows(sheet: Worksheet) -> list[dict[str, Any]]:
    """The sheet's households: under the header row (the print titles), down to the total."""
    first = int(str(sheet.print_title_rows).split(":")[0].strip("$"))
    header = [c.value for c in sheet[first]]
    out = []
    for values in sheet.iter_rows(min_row=first + 1, values_only=True):
        if not isinstance(values[0], int):
            break
        out.append(dict(zip(header, values, strict=True)))
    return out


def _header_on_every_page(pdf: bytes) -> None:
    from pypdf import PdfReader

    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages, start=1):
        # pypdf splits Vietnamese letters from their marks: compare without spaces
        text = unicodedata.normalize("NFC", re.sub(r"\s+", "", page.extract_text()))
        if "Ngườilậpbiểu" in text and "STT" not in text:
            continue  # a last page holding the signatures only
        assert "STT" in text and "Mãnhận" in text, (number, text[:200])


# --- a sheet drawn as Excel lays it out --------------------------------------------------

def sheet_html(sheet: Worksheet) -> str:
    """The sheet as an HTML page Chromium prints as Excel would: each column as many
    pixels wide as Excel draws it, rows at their heights, merged cells spanning, fonts,
    the sheet's paper, orientation and margins, its print-title rows repeated."""
    columns = sheet.max_column
    widths = [column_px(sheet.column_dimensions[get_column_letter(c)].width or 8.43)
              for c in range(1, columns + 1)]
    title = int(str(sheet.print_title_rows).split(":")[0].strip("$"))
    spans: dict[tuple[int, int], int] = {}
    covered: set[tuple[int, int]] = set()
    for merged in sheet.merged_cells.ranges:
        spans[(merged.min_row, merged.min_col)] = merged.max_col - merged.min_col + 1
        covered |= {(merged.min_row, c) for c in range(merged.min_col + 1, merged.max_col + 1)}
    last = int(str(sheet.print_area).rsplit("$", 1)[1])

    def row_html(r: int) -> str:
        height = sheet.row_dimensions[r].height or 15
        cells = []
        for c in range(1, columns + 1):
            if (r, c) in covered:
                continue
            cell = sheet.cell(row=r, column=c)
            value = "" if cell.value is None else cell.value
            if cell.number_format == "#,##0" and isinstance(value, int | float):
                value = f"{value:,.0f}".replace(",", ".")
            font, align = cell.font, cell.alignment
            number = isinstance(cell.value, int | float)
            style = [f"font-family:'{font.name or 'Calibri'}'", f"font-size:{font.sz or 11}pt",
                     f"text-align:{align.horizontal or ('right' if number else 'left')}",
                     f"vertical-align:{'middle' if align.vertical == 'center' else 'bottom'}",
                     "white-space:" + ("normal" if align.wrap_text else "nowrap")]
            if font.b:
                style.append("font-weight:bold")
            if font.i:
                style.append("font-style:italic")
            if cell.border and cell.border.left and cell.border.left.style:
                style.append("border:1px solid #000")
            span = spans.get((r, c), 1)
            cells.append(f'<td colspan="{span}" style="{";".join(style)}">'
                         f"{html.escape(str(value))}</td>")
        return f'<tr style="height:{height}pt">{"".join(cells)}</tr>'

    margins = sheet.page_margins
    orientation = sheet.page_setup.orientation or "portrait"
    cols = "".join(f'<col style="width:{w}px">' for w in widths)
    table = (f'<table style="width:{sum(widths)}px">'
             f"<colgroup>{cols}</colgroup>")
    heading = "".join(row_html(r) for r in range(1, title))
    body = "".join(row_html(r) for r in range(title + 1, last + 1))
    return f"""<!doctype html><html lang="vi"><head><meta charset="utf-8">
<style>
@page {{ size: A4 {orientation}; margin: {margins.top}in {margins.right}in {margins.bottom}in
  {margins.left}in; }}
body {{ margin: 0; }}
table {{ table-layout: fixed; border-collapse: collapse; }}
td {{ padding: 0 2px; overflow: hidden; overflow-wrap: normal; line-height: 1.15; }}
tr {{ break-inside: avoid; }}
thead {{ display: table-header-group; }}
</style></head><body>
{table}<tbody>{heading}</tbody></table>
{table}<thead>{row_html(title)}</thead><tbody>{body}</tbody></table>
</body></html>"""
