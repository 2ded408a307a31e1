"""Limits on input, checked before the work, the same on SQLite and PostgreSQL.

Each bad cell is refused with its file, row and column before anything is
written, and every table stays byte for byte as it was.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from allocator import reading
from allocator.issues import MAX_ISSUES, InvalidInput, issue_lines
from allocator.limits import MB, Limits
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import KINDS, import_file
from allocator.store.limits import STORED_IN, column_length, registry_bounds, scenario_bounds
from allocator.store.models import Household, HouseholdContact, Lot
from allocator.validate import read_scenario
from api.uploads import BadUpload, UploadTooLarge, safe_filename, unpack_contract_zip
from tests.tables import fingerprint

HEADER = "household_id,commune_code,poverty_status,members,twog_handsets,smartphones," \
         "head_name,phone\n"
LOTS = "lot_id,sponsor_id,sponsor_name,model,network,quantity,unit_price_vnd," \
       "sponsor_subsidy_vnd\n"


@pytest.fixture()
def store(db_url: str) -> Iterator[tuple[Engine, Session]]:
    """A fresh store (the city's communes come with it) holding one household."""
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        yield engine, session
    engine.dispose()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(store: tuple[Engine, Session], tmp_path: Path, kind: str, text: str) -> list[str]:
    """Import `text` and return the report's lines, checking nothing was written."""
    engine, session = store
    before = fingerprint(engine)
    report = import_file(session, kind, write(tmp_path, f"{kind}.csv", text), "test")
    assert not report.ok
    assert fingerprint(engine) == before
    return issue_lines(report.issues)


LONG = "Nguyễn " * 40  # 280 characters


@pytest.mark.parametrize(("row", "wanted"), [
    ("HH1,26740,poor,3,1,0,Nguyễn\x00An,0912", "households.csv, row 2, column head_name: "
     "holds a control character (U+0000) at position 7"),
    (f"HH1,26740,poor,3,1,0,{LONG},0912", "households.csv, row 2, column head_name: is too "
     "long: 279 characters (at most 200)"),
    (f"{'H' * 65},26740,poor,3,1,0,An,0912", "households.csv, row 2, column household_id: is "
     "too long: 65 characters (at most 64)"),
    ("HH1,26740,poor,3,1,0,An," + "9" * 41, "households.csv, row 2, column phone: is too long: "
     "41 characters (at most 40)"),
    ("HH\x001,26740,poor,3,1,0,An,0912", "households.csv, row 2, column household_id: holds a "
     "control character (U+0000) at position 3"),
    ('HH1,26740,poor,3,1,0,"Nguyễn\r\nAn",0912', "households.csv, row 2, column head_name: "
     "holds a control character (U+000D) at position 7"),
    ("HH1,26740,poor,3,1,0,Nguyễn\tAn,0912", "households.csv, row 2, column head_name: holds a "
     "control character (U+0009) at position 7"),
    ("HH1,26740,poor,3000000000,1,0,An,0912", "households.csv, row 2, column members: is too "
     "large (at most 2,147,483,647)"),
])
def test_a_bad_household_cell_is_located_and_nothing_is_written(
        store: tuple[Engine, Session], tmp_path: Path, row: str, wanted: str) -> None:
    lines = refused(store, tmp_path, "households", HEADER + row + "\n")
    assert any(line.startswith(wanted) for line in lines), lines


def test_a_lot_model_longer_than_its_column_is_refused(store: tuple[Engine, Session],
                                                      tmp_path: Path) -> None:
    lines = refused(store, tmp_path, "lots", LOTS + f"L1,S1,Sponsor,{'M' * 201},4G,5,10,5\n")
    assert lines[0].startswith("lots.csv, row 2, column model: is too long: 201 characters "
                               "(at most 200)"), lines


def test_cells_at_the_column_sizes_are_kept_whole(store: tuple[Engine, Session],
                                                  tmp_path: Path) -> None:
    """SQLite would keep anything; what is accepted must be what PostgreSQL keeps too."""
    _, session = store
    name, phone, hid = "Ạ" * 200, "9" * 40, "H" * 64
    report = import_file(session, "households", write(
        tmp_path, "h.csv", HEADER + f"{hid},26740,poor,3,1,0,{name},{phone}\n"), "test")
    assert report.ok, report.issues
    contact = session.get(HouseholdContact, hid)
    assert contact is not None and (contact.head_name, contact.phone) == (name, phone)


def test_bounds_come_from_the_tables() -> None:
    households = registry_bounds("households")
    assert households.lengths["household_id"] == column_length(Household.id) == 64
    assert households.lengths["phone"] == column_length(HouseholdContact.phone) == 40
    assert households.lengths["commune_code"] == 16  # through the foreign key to communes
    assert registry_bounds("lots").lengths["model"] == column_length(Lot.model) == 200
    assert households.maxima["members"] == 2**31 - 1
    # Every file column is stored somewhere, and every stored column is in the file.
    for kind, columns in KINDS.items():
        stored = {given for _, mapping in STORED_IN[kind] for given in mapping.values()}
        assert stored == {c.name for c in columns}, kind


def test_a_round_folder_is_held_to_the_same_bounds(tmp_path: Path) -> None:
    write(tmp_path, "households.csv", HEADER + f"{'H' * 65},26740,poor,3,1,0,An,0912\n")
    write(tmp_path, "lots.csv", LOTS + "L1,S1,Sponsor,Phone,4G,5,10,5\n")
    write(tmp_path, "points.csv", "point_id,commune_code,capacity\nP1,26740,10\n")
    with pytest.raises(InvalidInput) as caught:
        read_scenario(tmp_path, scenario_bounds())
    assert any(line.startswith("households.csv, row 2, column household_id: is too long")
               for line in caught.value.lines())


def test_a_report_stops_at_a_thousand_problems_and_counts_the_rest(
        store: tuple[Engine, Session], tmp_path: Path) -> None:
    rows = "".join(f"HH{i},26740,poor,many,1,0,An,0912\n" for i in range(3_000))
    lines = refused(store, tmp_path, "households", HEADER + rows)
    assert len(lines) == MAX_ISSUES + 1
    assert lines[0].startswith("households.csv, row 2, column members: must be a whole number")
    assert lines[-1] == "... and 2,000 more problems"


def test_a_file_read_in_chunks_finds_an_id_repeated_in_a_later_chunk(
        store: tuple[Engine, Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "CHUNK_ROWS", 7)
    rows = [f"HH{i},26740,poor,3,1,0,An,0912" for i in range(30)] + ["HH3,26740,poor,3,1,0,B,1"]
    lines = refused(store, tmp_path, "households", HEADER + "\n".join(rows) + "\n")
    assert lines == ["households.csv, row 32, column household_id: duplicate id 'HH3' "
                     "(first at row 5)"]


def test_chunked_imports_insert_then_update_every_row(
        store: tuple[Engine, Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "CHUNK_ROWS", 7)
    _, session = store
    first = "".join(f"HH{i},26740,poor,3,1,0,An {i},09{i}\n" for i in range(20))
    report = import_file(session, "households", write(tmp_path, "a.csv", HEADER + first), "t")
    assert (report.inserted, report.updated) == (20, 0)
    again = "".join(f"HH{i},26740,near_poor,2,1,0,Bình {i},08{i}\n" for i in range(10, 25))
    report = import_file(session, "households", write(tmp_path, "b.csv", HEADER + again), "t")
    assert (report.inserted, report.updated) == (5, 10)
    session.expire_all()
    assert session.scalar(select(Household.poverty_status).where(Household.id == "HH12")) \
        == "near_poor"
    assert session.get(HouseholdContact, "HH12").head_name == "Bình 12"  # type: ignore[union-attr]
    assert session.get(HouseholdContact, "HH3").head_name == "An 3"  # type: ignore[union-attr]
    assert len(session.scalars(select(Household.id)).all()) == 25


def _workbook(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_bomb_is_refused_before_it_is_parsed(store: tuple[Engine, Session],
                                                     tmp_path: Path) -> None:
    engine, session = store
    big: list[list[object]] = [["household_id", "head_name"]]
    big += [[f"HH{i}", "x" * 1000] for i in range(2_000)]
    path = tmp_path / "households.xlsx"
    path.write_bytes(_workbook(big))
    before = fingerprint(engine)
    report = import_file(session, "households", path, "t", limits=Limits(max_file_bytes=MB))
    assert [str(i) for i in report.issues] == [
        "households.xlsx: is refused: xl/worksheets/sheet1.xml in households.xlsx unpacks to "
        "more than 1 MB"]
    assert fingerprint(engine) == before


def test_xlsx_formulas_count_as_shown_and_a_lying_sheet_size_costs_nothing(
        store: tuple[Engine, Session], tmp_path: Path) -> None:
    _, session = store
    data = _workbook([["household_id", "commune_code", "poverty_status", "members",
                       "twog_handsets", "smartphones", "head_name"],
                      ["HH1", 26740, "Hộ nghèo", 3, 1, 0, "=HYPERLINK(\"x\")"],
                      ["HH2", "26740", "poor", "=1+1", 1, 0, "An"]])
    # Claim the sheet spans every row and column Excel has.
    data = _rewrite_member(data, "xl/worksheets/sheet1.xml",
                           lambda xml: xml.replace(b'<dimension ref="A1:G3"/>',
                                                   b'<dimension ref="A1:XFD1048576"/>'))
    path = tmp_path / "households.xlsx"
    path.write_bytes(data)
    report = import_file(session, "households", path, "t")
    # The formula of HH2's members was never computed by Excel: it reads as empty.
    assert [str(i) for i in report.issues] == [
        "households.xlsx, row 3, column members: is empty but required"]


def _rewrite_member(data: bytes, name: str, change: object) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            target.writestr(info.filename, change(content) if info.filename == name  # type: ignore[operator]
                            else content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def bomb(rows: int, width: int = 1_000) -> bytes:
    """A zipped folder whose households.csv is `rows` rows of commas."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive, \
            archive.open("households.csv", "w", force_zip64=True) as member:
        for _ in range(rows // 100):
            member.write((b"," * (width - 1) + b"\n") * 100)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_from_its_declared_size(tmp_path: Path) -> None:
    with pytest.raises(BadUpload, match="households.csv in the zip unpacks to more than 1 MB"):
        unpack_contract_zip(io.BytesIO(bomb(5_000)), tmp_path, Limits(max_file_bytes=MB))
    assert not list(tmp_path.iterdir())


def test_a_zip_that_lies_about_its_size_is_refused_while_unpacking(tmp_path: Path) -> None:
    data = bytearray(bomb(5_000))
    # Forge the central directory: declare 100 bytes instead of 5 MB.
    at = data.rfind(b"PK\x01\x02")
    data[at + 24:at + 28] = struct.pack("<I", 100)
    with pytest.raises(BadUpload):
        unpack_contract_zip(io.BytesIO(bytes(data)), tmp_path, Limits(max_file_bytes=MB))


def test_a_zip_too_large_as_sent_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    with pytest.raises(UploadTooLarge, match="the zip is larger than 4 MB"):
        unpack_contract_zip(io.BytesIO(b"\0" * (5 * MB)), tmp_path, Limits(max_file_bytes=MB))


def test_a_damaged_zip_is_a_sentence(tmp_path: Path) -> None:
    good = bomb(100, 10)
    for damaged in (good[:len(good) // 2], good[:-30], zlib.compress(good), b""):
        with pytest.raises(BadUpload, match="zip"):
            unpack_contract_zip(io.BytesIO(damaged), tmp_path)


@pytest.mark.parametrize(("raw", "wanted"), [
    ("households.csv", "households.csv"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\an\\hộ.csv", "hộ.csv"),
    ("ho\x00.csv", "ho.csv"),
    ("\x00", "default.csv"),
    ("..", "default.csv"),
    ("", "default.csv"),
    (None, "default.csv"),
])
def test_upload_file_names_are_made_safe(raw: str | None, wanted: str) -> None:
    assert safe_filename(raw, "default.csv") == wanted


def test_a_long_file_name_is_cut_to_255_bytes_keeping_its_suffix() -> None:
    name = safe_filename("ệ" * 300 + ".xlsx", "x.csv")
    assert name.endswith(".xlsx") and len(name.encode()) <= 255
    assert name.startswith("ệ") and "\ufffd" not in name


def test_every_way_of_making_a_round_holds_its_name_and_folder_to_the_store(
        store: tuple[Engine, Session], tmp_path: Path) -> None:
    """The store itself checks a round's name and a round folder's cells, so the API, the
    pages and the command line all refuse the same things, before anything is written."""
    from allocator.store.campaign import create_round
    from allocator.store.rounds import derive_round, import_folder_as_round
    from scenarios.named import scenario

    engine, session = store
    folder = tmp_path / "s"
    scenario("sample", 2).write(folder)
    before = fingerprint(engine)
    for name in ("Đợt\x001", "x" * 201, "a\nb"):
        with pytest.raises(InvalidInput) as problem:
            import_folder_as_round(session, folder, name, "planner")
        assert "round name" in str(problem.value.issues[0])
        with pytest.raises(InvalidInput):
            create_round(session, {}, name, "planner")
    assert fingerprint(engine) == before
    row = import_folder_as_round(session, folder, "Đợt 1", "planner")
    with pytest.raises(InvalidInput):
        derive_round(session, row.id, {"budget_vnd": 1}, "bad\x7fname", "planner")
    # A household id longer than the store's column is refused at import, located.
    text = (folder / "households.csv").read_text(encoding="utf-8").splitlines()
    first = text[1].split(",")
    first[0] = "H" * 65
    (folder / "households.csv").write_text("\n".join([text[0], ",".join(first), *text[2:]])
                                           + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as problem:
        import_folder_as_round(session, folder, "Đợt 2", "planner")
    assert any(i.file == "households.csv" and i.row == 2 and i.column == "household_id"
               for i in problem.value.issues)
