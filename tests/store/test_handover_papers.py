"""The handover lists as printed papers, read back with openpyxl on a real store (SQLite and
PostgreSQL): a sheet per point (or commune) holding its own households only, numbered
from 1, under the national heading, the office, the round and its approval day; a bold
header frozen on screen and repeated on every printed page; A4 with every column inside
the printable width; signature blocks at the end. Only an approved round has lists."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from allocator.pickup_codes import display_code
from allocator.store import paper_list
from allocator.store.campaign import approve_round, close_round, create_round
from allocator.store.handover import COLUMNS as LIST_COLUMNS
from allocator.store.models import AllocationRow, Commune, Round, User
from allocator.store.papers import (
    DEFAULT_OFFICE,
    OFFICE_ENV,
    NoSuchPlace,
    NotHandingOver,
    Papers,
    handover_papers,
    office_from_env,
    papers_table,
)
from allocator.store.papers_xlsx import (
    A4_PT,
    COLUMNS,
    HEADER_ROW,
    MARGINS,
    MOTTO,
    NATION,
    ROW_PT,
    SIGNED,
    TITLE,
    as_workbook,
    column_px,
    file_name,
    landscape_for,
    printable_px,
)
from allocator.store.rounds import solve_round
from tests.store.point_store import imei

VIETNAM = dt.timezone(dt.timedelta(hours=7))


def _solved(session: Session) -> Round:
    row = create_round(session, {"budget_vnd": 150_000_000}, "Đợt thử giấy tờ", "planner")
    return solve_round(session, row.id, "planner")


def _approved(session: Session) -> Round:
    return approve_round(session, _solved(session).id, "planner")


def _book(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def _allocations(session: Session, round_id: int) -> list[AllocationRow]:
    return list(session.scalars(select(AllocationRow).where(AllocationRow.round_id == round_id)))


def _table(page: Worksheet) -> list[dict[str, object]]:
    """The sheet's households: the rows under the header, down to the total line."""
    header = [c.value for c in page[HEADER_ROW]]
    rows = []
    for values in page.iter_rows(min_row=HEADER_ROW + 1, values_only=True):
        if isinstance(values[0], str) and values[0].startswith("Cộng:"):
            break
        rows.append(dict(zip(header, values, strict=True)))
    return rows


def _texts(page: Worksheet, first: int, last: int) -> list[str]:
    return [str(c.value) for row in page.iter_rows(min_row=first, max_row=last) for c in row
            if c.value is not None]


def _cell(page: Worksheet, text: str, rows: range) -> openpyxl.cell.Cell:
    found = [c for r in rows for c in page[r] if c.value == text]
    assert len(found) == 1, (text, [c.value for r in rows for c in page[r]])
    return found[0]


def _check_paper(page: Worksheet, row: Round, place: str, kind: str) -> None:
    """What every list carries, whatever its point or commune."""
    columns = COLUMNS[kind]
    # the national heading, bold and centred over its block; the office, bold
    for text, at in ((NATION, 1), (MOTTO, 2)):
        cell = _cell(page, text, range(at, at + 1))
        assert cell.font.b and cell.alignment.horizontal == "center"
    office = page.cell(row=1, column=1)
    assert office.value == DEFAULT_OFFICE.upper() and office.font.b
    title = _cell(page, TITLE, range(3, HEADER_ROW))
    assert title.font.b and title.alignment.horizontal == "center"
    assert row.approved_at is not None
    approved = row.approved_at.replace(tzinfo=dt.UTC).astimezone(VIETNAM)
    heading = " ".join(_texts(page, 1, HEADER_ROW - 1))
    assert f"Đợt {row.id}: {row.name}" in heading
    assert f"Phê duyệt ngày {approved:%d/%m/%Y}" in heading
    assert place in heading
    # the header: bold, frozen, repeated on every printed page
    header = page[HEADER_ROW]
    assert [c.value for c in header] == [c.header for c in columns]
    assert all(c.font.b for c in header)
    assert page.freeze_panes == f"A{HEADER_ROW + 1}"
    assert page.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    # A4, landscape as these columns need, fitted to the width, page numbers below
    setup = page.page_setup
    assert int(setup.paperSize) == 9 and setup.orientation == "landscape"  # 9: A4
    assert setup.fitToWidth == 1 and setup.fitToHeight == 0
    assert page.sheet_properties.pageSetUpPr.fitToPage
    assert "&P" in (page.oddFooter.center.text or "") and "&N" in page.oddFooter.center.text
    widths = [page.column_dimensions[chr(ord("A") + i)].width for i in range(len(columns))]
    margins = page.page_margins
    printable = (A4_PT[1] - 72 * (margins.left + margins.right)) * 96 / 72
    assert sum(column_px(w) for w in widths) <= printable
    # rows tall enough to sign, numbered from 1 on this sheet
    households = _table(page)
    assert [h["STT"] for h in households] == list(range(1, len(households) + 1))
    assert all(page.row_dimensions[HEADER_ROW + i].height >= ROW_PT
               for i in range(1, len(households) + 1))
    # the end: the total line, then the signature blocks
    end = HEADER_ROW + len(households) + 1
    assert page.cell(row=end, column=1).value == f"Cộng: {len(households)} hộ."
    foot = _texts(page, end + 1, page.max_row)
    assert "Người lập biểu" in foot and "Đại diện UBND phường/xã" in foot
    assert foot.count(SIGNED) == (3 if kind == "point" else 2)
    # the page prints down to the room left to sign in, under the signers' names
    last = int(str(page.print_area).rsplit("$", 1)[1])
    assert last == page.max_row + 1 and page.row_dimensions[last].height >= 60


def test_a_sheet_per_point_holds_its_own_households_under_the_official_heading(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        row = _approved(session)
        allocations = _allocations(session, row.id)
        book = _book(as_workbook(handover_papers(session, row.id)))
    by_point: dict[str, set[str]] = {}
    for a in allocations:
        by_point.setdefault(a.point_id, set()).add(a.household_id)
    assert book.sheetnames == sorted(by_point)  # one sheet per point with households
    codes = {a.household_id: display_code(a.pickup_code) for a in allocations}
    for page in book.worksheets:
        _check_paper(page, row, f"Điểm nhận: {page.title}", "point")
        households = _table(page)
        # no household of another point; every one of its own, once
        assert Counter(h["Mã hộ"] for h in households) == Counter(by_point[page.title])
        assert all(h["Mã nhận"] == codes[str(h["Mã hộ"])] for h in households)


def test_a_sheet_per_commune_names_the_commune(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        row = _approved(session)
        allocations = _allocations(session, row.id)
        names = dict(session.execute(select(Commune.code, Commune.name)).all())
        papers = handover_papers(session, row.id, "commune")
        book = _book(as_workbook(papers))
    by_commune: dict[str, set[str]] = {}
    for a in allocations:
        by_commune.setdefault(a.commune_code, set()).add(a.household_id)
    assert [s.key for s in papers.sheets] == sorted(by_commune)
    assert len(book.worksheets) == len(by_commune)
    for sheet, page in zip(papers.sheets, book.worksheets, strict=True):
        assert sheet.name == names[sheet.key] and page.title.startswith(sheet.key)
        _check_paper(page, row, f"Xã, phường: {sheet.key} – {names[sheet.key]}", "commune")
        assert {h["Mã hộ"] for h in _table(page)} == by_commune[sheet.key]


def test_one_points_list_is_its_own_file_and_an_officer_gets_only_their_points(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        row = _approved(session)
        allocations = _allocations(session, row.id)
        busiest, _ = Counter(a.point_id for a in allocations).most_common(1)[0]
        one = _book(as_workbook(handover_papers(session, row.id, "point", busiest)))
        mine = handover_papers(session, row.id, points=[busiest])
        commune = next(a.commune_code for a in allocations if a.point_id == busiest)
        theirs = handover_papers(session, row.id, "commune", commune, points=[busiest])
        with pytest.raises(NoSuchPlace):
            handover_papers(session, row.id, "point", "NO-SUCH-POINT")
    assert one.sheetnames == [busiest]
    assert {h["Mã hộ"] for h in _table(one.worksheets[0])} == {
        a.household_id for a in allocations if a.point_id == busiest}
    assert [s.key for s in mine.sheets] == [busiest]
    assert set(theirs.sheets[0].rows["point_id"]) == {busiest}


def test_only_a_round_handing_phones_over_has_lists(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        solved = _solved(session)
        with pytest.raises(NotHandingOver) as refused:
            handover_papers(session, solved.id)
        assert refused.value.status == "solved"
        assert "chỉ lập cho đợt đã phê duyệt" in refused.value.said("vi")
        assert "approved" in refused.value.said("en")
        approve_round(session, solved.id, "planner")
        assert handover_papers(session, solved.id).sheets
        close_round(session, solved.id, "planner", force=True)
        with pytest.raises(NotHandingOver):  # closed: the handovers are over
            handover_papers(session, solved.id)


def test_the_csv_holds_the_same_rows_numbered_per_list(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        row = _approved(session)
        papers = handover_papers(session, row.id)
    table = papers_table(papers)
    assert list(table.columns) == list(LIST_COLUMNS.values())
    assert len(table) == sum(len(s.rows) for s in papers.sheets)
    for sheet in papers.sheets:
        mine = table[table["Mã điểm"] == sheet.key]
        assert list(mine["STT"]) == list(range(1, len(mine) + 1))


def test_the_office_is_a_setting(sessions: sessionmaker[Session],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(OFFICE_ENV, "UBND Phường Sài Gòn")
    assert office_from_env() == "UBND Phường Sài Gòn"
    with sessions() as session:
        row = _approved(session)
        book = _book(as_workbook(handover_papers(session, row.id)))
    assert book.worksheets[0].cell(row=1, column=1).value == "UBND PHƯỜNG SÀI GÒN"
    monkeypatch.delenv(OFFICE_ENV)
    assert office_from_env() == DEFAULT_OFFICE


def test_every_list_fits_across_a4_landscape() -> None:
    for kind, columns in COLUMNS.items():
        assert landscape_for(columns), kind  # too wide for portrait, so landscape
        assert sum(column_px(c.width) for c in columns) <= printable_px(landscape=True)
    assert printable_px(True) == pytest.approx((841.89 - 72 * (MARGINS.left + MARGINS.right))
                                               * 4 / 3)


def test_the_signed_paper_typed_back_records_its_rows(sessions: sessionmaker[Session],
                                                      tmp_path: Path) -> None:
    """The point writes có and the IMEI on its printed list; the same workbook uploaded
    back records that household, and the heading and signatures are not read as rows."""
    with sessions() as session:
        row = _approved(session)
        allocations = _allocations(session, row.id)
        busiest, _ = Counter(a.point_id for a in allocations).most_common(1)[0]
        book = _book(as_workbook(handover_papers(session, row.id, "point", busiest)))
        page = book.worksheets[0]
        header = [c.value for c in page[HEADER_ROW]]
        first = HEADER_ROW + 1
        page.cell(row=first, column=header.index("Đã nhận") + 1, value="có")
        page.cell(row=first, column=header.index("IMEI") + 1, value=imei(7))
        path = tmp_path / "da-ky.xlsx"
        book.save(path)
        planner = User(name="planner", role="planner")
        report = paper_list.upload(session, planner, row.id, path)
        assert report.ok, report.issues
        assert (report.recorded, report.not_handed) == (1, len(_table(page)) - 1)


def test_a_file_name_is_plain_whatever_the_point_id() -> None:
    papers = Papers(3, "Đợt", "approved", None, DEFAULT_OFFICE, [])
    name = file_name(papers, "point", 'Điểm \U00031569 "x"\r\n')
    assert re.fullmatch(r"ban-giao-dot-3-[A-Za-z0-9_-]+\.xlsx", name), name
    assert file_name(papers, "commune", None) == "ban-giao-dot-3-theo-xa.xlsx"
