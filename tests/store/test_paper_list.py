"""Signed paper lists uploaded back (SQLite and PostgreSQL): a good file records every row
marked handed over; a damaged file or any bad row leaves the store byte-for-byte as it
was, with every problem located by row and column."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from allocator.limits import Limits
from allocator.store import paper_list, point_desk
from allocator.store.campaign import close_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.models import AllocationRow, AuditEntry, Handover
from allocator.store.point_desk import NotFound
from tests.store.point_store import PointStore, at_point, build, imei, national_id
from tests.tables import fingerprint

HEADER = "Mã nhận máy,Đã nhận,IMEI,Ghi chú"


@pytest.fixture()
def made(db_url: str, tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], PointStore]]:
    engine = make_engine(db_url)
    prepare(engine)
    sessions = make_sessions(engine)
    with sessions() as session:
        store = build(session, tmp_path / "registry")
    yield sessions, store
    engine.dispose()


def _csv(folder: Path, lines: list[str], name: str = "list.csv", bom: bool = True) -> Path:
    path = folder / name
    path.write_bytes(("\ufeff" if bom else "").encode() + "\n".join(lines).encode() + b"\n")
    return path


def _xlsx(folder: Path, rows: list[list[Any]], name: str = "list.xlsx") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    path = folder / name
    book.save(path)
    return path


def _upload(session: Session, store: PointStore, path: Path, point: str = "P-SG",
            **given: Any) -> paper_list.PaperReport:
    return paper_list.upload(session, store.officers[point], store.round_id, path, **given)


def _where(report: paper_list.PaperReport) -> set[tuple[int, str]]:
    return {(i.row, i.column) for i in report.issues}


def test_a_good_csv_records_the_handed_rows(made: Any, tmp_path: Path) -> None:
    sessions, store = made
    mine = at_point(store, "P-SG")
    path = _csv(tmp_path, [HEADER, f"{store.codes[mine[0]]},có,{imei(1)},ký đủ",
                           f"{store.codes[mine[1]].lower()},không,,vắng",
                           f"{store.codes[mine[2]][:4]}-{store.codes[mine[2]][4:]},x,"
                           f"{imei(2)[:5]} {imei(2)[5:]},", ",,,"])
    with sessions() as session:
        report = _upload(session, store, path)
        assert report.ok, report.issues
        assert (report.recorded, report.not_handed) == (2, 1)
        records = list(session.scalars(select(Handover).order_by(Handover.id)))
        assert [(r.household_id, r.imei, r.via, r.identity, r.officer) for r in records] == [
            (mine[0], imei(1), "paper", "paper list", "officer-P-SG"),
            (mine[2], imei(2), "paper", "paper list", "officer-P-SG")]
        assert "signed on the paper list" in records[0].identity_note
        assert records[0].note == "ký đủ"
        handed = set(session.scalars(select(AllocationRow.household_id).where(
            AllocationRow.handed_over_at.is_not(None))))
        assert handed == {mine[0], mine[2]}
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "upload paper handover list")).one()
        assert entry.actor == "officer-P-SG" and entry.detail["recorded"] == 2
        # the desk shows them as handed
        assert point_desk.get(session, store.officers["P-SG"], store.round_id,
                              mine[0]).outcome == "handed"


def test_a_good_xlsx_with_english_headers_records(made: Any, tmp_path: Path) -> None:
    sessions, store = made
    mine = at_point(store, "P-SG")
    path = _xlsx(tmp_path, [["code", "handed over", "IMEI", "note", "Mã hộ"],
                            [store.codes[mine[0]], "yes", int(imei(5)), None, mine[0]],
                            [store.codes[mine[1]], 1, imei(6), "ok", mine[1]],
                            [store.codes[mine[2]], 0, None, None, None]])
    with sessions() as session:
        report = _upload(session, store, path)
        assert report.ok, report.issues
        assert (report.recorded, report.not_handed) == (2, 1)


def test_a_csv_saved_by_vietnamese_excel_with_semicolons_records(made: Any,
                                                                  tmp_path: Path) -> None:
    """Excel in Vietnamese settings (decimal mark ',') saves CSV split at ';': the list
    the officer typed back is read as written, not refused for missing columns."""
    sessions, store = made
    mine = at_point(store, "P-SG")
    path = _csv(tmp_path, [HEADER.replace(",", ";"),
                           f"{store.codes[mine[0]]};có;{imei(21)};ký, đủ",
                           f"{store.codes[mine[1]]};không;;"])
    with sessions() as session:
        report = _upload(session, store, path)
        assert report.ok, report.issues
        assert (report.recorded, report.not_handed) == (1, 1)
        assert session.scalars(select(Handover.note)).one() == "ký, đủ"


def test_a_planner_uploads_for_any_point(made: Any, tmp_path: Path) -> None:
    sessions, store = made
    households = [at_point(store, "P-SG")[0], at_point(store, "P-BT")[0]]
    path = _csv(tmp_path, [HEADER] + [f"{store.codes[h]},có,{imei(10 + n)},"
                                      for n, h in enumerate(households)])
    with sessions() as session:
        report = paper_list.upload(session, store.planner, store.round_id, path)
        assert report.ok and report.recorded == 2


def _refused_unchanged(session: Session, store: PointStore, path: Path,
                       **given: Any) -> paper_list.PaperReport:
    before = fingerprint(session.get_bind())  # type: ignore[arg-type]
    report = _upload(session, store, path, **given)
    assert not report.ok and report.recorded == 0
    assert fingerprint(session.get_bind()) == before  # type: ignore[arg-type]
    return report


def test_every_kind_of_bad_row_is_located_and_nothing_is_written(made: Any,
                                                                 tmp_path: Path) -> None:
    sessions, store = made
    mine, theirs = at_point(store, "P-SG"), at_point(store, "P-BT")
    with sessions() as session:
        # one household handed over at the desk already, with its IMEI
        point_desk.record(session, store.officers["P-SG"], round_id=store.round_id,
                          household_id=mine[2], id_last4=national_id(int(mine[2][1:]))[-4:],
                          authorised_note="", outcome="handed", imei=imei(30), iccid="",
                          note="", idempotency_key="desk-00001")
        bad_luhn = imei(31)[:-1] + str((int(imei(31)[-1]) + 1) % 10)
        lines = [HEADER + ",Mã hộ",
                 f"{store.codes[mine[0]]},có,{imei(32)},,{mine[0]}",  # 2: good
                 f"ZZZZZZZZ,có,{imei(33)},,",  # 3: unknown code
                 f"{store.codes[mine[1]]},có,{bad_luhn},,",  # 4: IMEI fails Luhn
                 f"{store.codes[theirs[0]]},có,{imei(34)},,",  # 5: another point's code
                 f"{store.codes[mine[2]]},có,{imei(35)},,",  # 6: already handed over
                 f"{store.codes[mine[1]]},x,{imei(32)},,",  # 7: code twice, IMEI of row 2
                 f"{store.codes[theirs[1]]},có,{imei(30)},,",  # 8: IMEI of the campaign
                 "not a code,có,,,",  # 9: not a code, no IMEI
                 f"{store.codes[theirs[2]]},có,{imei(36)},,{mine[0]}",  # 10: theirs anyway
                 "=HYPERLINK(\"x\"),không,,,",  # 11: a formula
                 f"{store.codes[mine[1]][:7]}\x00,có,{imei(37)},,",  # 12: NUL
                 f"{store.codes[mine[1]]},có lẽ,{imei(38)},,",  # 13: neither yes nor no
                 f"{store.codes[mine[1]]},không,{imei(39)},,"]  # 14: IMEI but not handed
        report = _refused_unchanged(session, store, _csv(tmp_path, lines))
        found = _where(report)
        expected = {(3, "Mã nhận máy"), (4, "IMEI"), (5, "Mã nhận máy"), (6, "Mã nhận máy"),
                    (7, "Mã nhận máy"), (7, "IMEI"), (8, "IMEI"), (9, "Mã nhận máy"),
                    (9, "IMEI"), (10, "Mã nhận máy"), (11, "Mã nhận máy"), (12, "Mã nhận máy"),
                    (13, "Đã nhận"), (14, "IMEI")}
        assert expected <= found, sorted(found - expected) + sorted(expected - found)
        assert not [i for i in report.issues if i.row == 2], report.issues
        said = {(i.row, i.column): i.message for i in report.issues}
        assert "another point" in said[(5, "Mã nhận máy")]
        assert "already handed over" in said[(6, "Mã nhận máy")]
        assert "row 2" in said[(7, "IMEI")] and "row 4" in said[(7, "Mã nhận máy")]
        assert "another handover" in said[(8, "IMEI")]
        assert "formula" in said[(11, "Mã nhận máy")]
        assert "control character" in said[(12, "Mã nhận máy")]
        assert [(i.row, i.column) for i in report.issues] == sorted(
            (i.row, i.column) for i in report.issues)


def test_a_household_id_that_does_not_match_its_code_is_located(made: Any,
                                                                tmp_path: Path) -> None:
    sessions, store = made
    mine = at_point(store, "P-SG")
    path = _csv(tmp_path, [HEADER + ",Mã hộ", f"{store.codes[mine[0]]},có,{imei(1)},,{mine[1]}"])
    with sessions() as session:
        assert _where(_refused_unchanged(session, store, path)) == {(2, "Mã hộ")}


@pytest.mark.parametrize("content, where", [
    (b"\xff\xfe\x00bad", {(1, "")}),  # not UTF-8 (a UTF-16 file)
    (b"", {(1, "")}),
    (b"\xef\xbb\xbf", {(1, "")}),  # a BOM and nothing else
    (b"code,IMEI\nABCDEFGH,1\n", {(1, "")}),  # no handed-over column
    (b"code,handed,handed over,IMEI\n", {(1, "handed over")}),
    (b"code,handed,imei\n\"unclosed,x,1\n", {(0, "")}),
    (b"code,handed,imei\nAB\x00CDEFG,x,1\n", {(2, "code")}),
])
def test_a_damaged_csv_is_refused_cleanly(made: Any, tmp_path: Path, content: bytes,
                                          where: set[tuple[int, str]]) -> None:
    sessions, store = made
    path = tmp_path / "list.csv"
    path.write_bytes(content)
    with sessions() as session:
        assert _where(_refused_unchanged(session, store, path)) == where


def test_damaged_workbooks_and_other_files_are_refused_cleanly(made: Any,
                                                               tmp_path: Path) -> None:
    sessions, store = made
    mine = at_point(store, "P-SG")
    good = _xlsx(tmp_path, [["code", "handed", "imei"], [store.codes[mine[0]], "có", imei(1)]])
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    noise = tmp_path / "noise.xlsx"
    noise.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    text = tmp_path / "list.txt"
    text.write_text("code,handed,imei\n")
    # a formula Excel never computed reads as empty: the code is missing, said so
    formula = _xlsx(tmp_path, [["code", "handed", "imei"], ["=A1&\"X\"", "có", imei(1)]],
                    "formula.xlsx")
    with sessions() as session:
        for path in (cut, noise, text):
            report = _refused_unchanged(session, store, path)
            assert [i.row for i in report.issues] == [0] or report.issues[0].row <= 1, path
        report = _refused_unchanged(session, store, formula)
        assert _where(report) == {(2, "code")}


def test_a_huge_file_or_too_many_rows_is_refused(made: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    sessions, store = made
    mine = at_point(store, "P-SG")
    rows = [HEADER, f"{store.codes[mine[0]]},không,,"] + [",,," for _ in range(50)]
    path = _csv(tmp_path, rows)
    with sessions() as session:
        report = _refused_unchanged(session, store, path, limits=Limits(max_file_bytes=100))
        assert _where(report) == {(0, "")} and "MB" in report.issues[0].message
        monkeypatch.setattr(paper_list, "MAX_ROWS", 10)
        report = _refused_unchanged(session, store, path)
        assert _where(report) == {(12, "")}


def test_a_closed_round_takes_no_paper_list(made: Any, tmp_path: Path) -> None:
    sessions, store = made
    mine = at_point(store, "P-SG")
    path = _csv(tmp_path, [HEADER, f"{store.codes[mine[0]]},có,{imei(1)},"])
    with sessions() as session:
        close_round(session, store.round_id, "planner", force=True)
        before = fingerprint(session.get_bind())  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            _upload(session, store, path)
        assert fingerprint(session.get_bind()) == before  # type: ignore[arg-type]
        assert session.scalar(select(func.count()).select_from(Handover)) == 0


def test_the_same_list_twice_records_once(made: Any, tmp_path: Path) -> None:
    sessions, store = made
    mine = at_point(store, "P-SG")
    path = _csv(tmp_path, [HEADER, f"{store.codes[mine[0]]},có,{imei(1)},"])
    with sessions() as session:
        assert _upload(session, store, path).ok
        report = _refused_unchanged(session, store, path)
        assert _where(report) == {(2, "Mã nhận máy"), (2, "IMEI")}


def test_issue_lines_read_as_a_spreadsheet_shows_them(made: Any, tmp_path: Path) -> None:
    sessions, store = made
    path = _csv(tmp_path, [HEADER, "ZZZZZZZZ,có,123,"], name="điểm P-SG.csv")
    with sessions() as session:
        report = _refused_unchanged(session, store, path)
        text = io.StringIO("\n".join(str(i) for i in report.issues)).getvalue()
        assert "điểm P-SG.csv, row 2, column IMEI" in text
        assert "điểm P-SG.csv, row 2, column Mã nhận máy" in text


def test_the_command_line_records_a_list_under_the_officer(made: Any, tmp_path: Path,
                                                           db_url: str) -> None:
    import os
    import subprocess
    import sys

    sessions, store = made
    mine, theirs = at_point(store, "P-SG"), at_point(store, "P-BT")
    command = [str(Path(sys.executable).parent / "allocator"), "round", "paper-list",
               str(store.round_id)]
    env = {**os.environ, "DATABASE_URL": db_url}
    bad = _csv(tmp_path, [HEADER, f"{store.codes[theirs[0]]},có,{imei(1)},"], "bad.csv")
    with sessions() as session:
        before = fingerprint(session.get_bind())  # type: ignore[arg-type]
    refused = subprocess.run([*command, str(bad), "--as", "officer-P-SG"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert "bad.csv, row 2, column Mã nhận máy" in refused.stderr
    assert "Nothing was recorded" in refused.stderr
    nobody = subprocess.run([*command, str(bad), "--as", "nobody"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert nobody.returncode == 2 and "nobody" in nobody.stderr
    with sessions() as session:
        assert fingerprint(session.get_bind()) == before  # type: ignore[arg-type]
    good = _csv(tmp_path, [HEADER, f"{store.codes[mine[0]]},có,{imei(1)},"], "good.csv")
    done = subprocess.run([*command, str(good), "--as", "officer-P-SG"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 handovers recorded under officer-P-SG" in done.stdout
    with sessions() as session:
        record = session.scalars(select(Handover)).one()
        assert (record.officer, record.via, record.household_id) == ("officer-P-SG", "paper",
                                                                      mine[0])


def test_the_printed_handover_list_filled_in_by_hand_uploads_back(made: Any,
                                                                   tmp_path: Path) -> None:
    """The point prints its handover list, writes có/không and the IMEI in its empty
    columns, and the list typed back (the same workbook) records exactly those rows."""
    from allocator.store.handover import as_xlsx, handover_list

    sessions, store = made
    with sessions() as session:
        table = handover_list(session, store.round_id, "P-SG")
        assert {"Đã nhận", "IMEI", "Ghi chú", "Ký nhận"} <= set(table.columns)
        assert (table[["Đã nhận", "IMEI", "Ghi chú"]] == "").all().all()
        table.loc[0, ["Đã nhận", "IMEI", "Ghi chú"]] = ["có", imei(40), "chữ ký đủ"]
        table.loc[1, "Đã nhận"] = "không"
        path = tmp_path / "typed-back.xlsx"
        path.write_bytes(as_xlsx(table))
        report = _upload(session, store, path)
        assert report.ok, report.issues
        # a row left blank is not handed over, like one marked 'không'
        assert (report.recorded, report.not_handed) == (1, len(table) - 1)
        record = session.scalars(select(Handover)).one()
        assert (record.household_id, record.imei, record.note) == (
            table.loc[0, "Mã hộ"], imei(40), "chữ ký đủ")
