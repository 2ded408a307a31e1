"""windows.csv in the store: imported from the terminal, the API or a workbook; an import
replaces the windows of the points it names; a bad file changes nothing and every
problem is located by file, row and column."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from allocator.issues import issue_lines
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.models import AuditEntry, PickupWindow
from allocator.store.users import add_user
from api.main import create_app
from api.settings import Settings
from tests.tables import fingerprint

POINTS = "point_id,name,commune_code,capacity\nP1,Điểm 1,26740,50\nP2,Điểm 2,26740,50\n"
HEADER = "point_id,date,start,end,capacity\n"


@pytest.fixture()
def store(tmp_path: Path, db_url: str) -> Iterator[tuple[Engine, Session]]:
    engine = make_engine(db_url)
    prepare(engine)
    (tmp_path / "points.csv").write_text(POINTS, encoding="utf-8")
    with make_sessions(engine)() as session:
        assert import_file(session, "points", tmp_path / "points.csv", "setup").ok
        yield engine, session
    engine.dispose()


def _file(folder: Path, text: str, name: str = "windows.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _windows(session: Session) -> set[tuple]:
    session.expire_all()
    return {(w.point_id, w.day, w.opens, w.closes, w.capacity)
            for w in session.scalars(select(PickupWindow))}


def test_an_import_replaces_the_windows_of_the_points_it_names(
        store: tuple[Engine, Session], tmp_path: Path) -> None:
    _, session = store
    first = _file(tmp_path, "\ufeffMã điểm,Ngày,Giờ mở,Giờ đóng,Số suất\n"
                            "P1,2026-12-01,08:00,11:00,40\nP1,2026-12-01,14:00,17:00,30\n"
                            "P2,2026-12-02,7:30,9:00:00,5\n")
    report = import_file(session, "windows", first, "planner")
    assert report.ok, issue_lines(report.issues)
    assert (report.inserted, report.updated) == (3, 0)
    day1, day2 = dt.date(2026, 12, 1), dt.date(2026, 12, 2)
    assert _windows(session) == {("P1", day1, dt.time(8), dt.time(11), 40),
                                 ("P1", day1, dt.time(14), dt.time(17), 30),
                                 ("P2", day2, dt.time(7, 30), dt.time(9), 5)}
    again = import_file(session, "windows",
                        _file(tmp_path, HEADER + "P1,2026-12-03,08:00,10:00,12\n", "p1.csv"),
                        "planner")
    assert again.ok and (again.inserted, again.updated) == (1, 2)
    assert _windows(session) == {("P1", dt.date(2026, 12, 3), dt.time(8), dt.time(10), 12),
                                 ("P2", day2, dt.time(7, 30), dt.time(9), 5)}
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "import windows")
                            .order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.actor == "planner" and entry.target == "p1.csv"
    assert entry.detail == {"points": 1, "windows": 1, "replaced": 2}


def test_a_workbook_is_read_too(store: tuple[Engine, Session], tmp_path: Path) -> None:
    _, session = store
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["point_id", "date", "start", "end", "capacity"],
                ["P2", "2026-12-04", "08:00", "11:00", 9]):
        sheet.append(row)
    book.save(tmp_path / "windows.xlsx")
    report = import_file(session, "windows", tmp_path / "windows.xlsx", "planner")
    assert report.ok, issue_lines(report.issues)
    assert _windows(session) == {("P2", dt.date(2026, 12, 4), dt.time(8), dt.time(11), 9)}


BAD_ROWS = [
    ("P1,2026-02-30,08:00,11:00,5", "row 2, column date: must be a date written YYYY-MM-DD"),
    ("P1,2026-12-01,8h,11:00,5", "row 2, column start: must be a time written HH:MM"),
    ("P1,2026-12-01,08:00,25:00,5", "row 2, column end: must be a time written HH:MM"),
    ("P1,2026-12-01,11:00,08:00,5", "row 2, column end: must be after start"),
    ("P1,2026-12-01,08:00,11:00,-1", "row 2, column capacity:"),
    ("P1,2026-12-01,08:00,11:00,99999999999", "row 2, column capacity:"),
    ("NOPE,2026-12-01,08:00,11:00,5", "row 2, column point_id: unknown point 'NOPE'"),
    (f"{'P' * 65},2026-12-01,08:00,11:00,5", "row 2, column point_id: is too long"),
    (",2026-12-01,08:00,11:00,5", "row 2, column point_id:"),
]


@pytest.mark.parametrize(("row", "expected"), BAD_ROWS)
def test_a_bad_row_is_located_and_changes_nothing(store: tuple[Engine, Session],
                                                   tmp_path: Path, row: str,
                                                   expected: str) -> None:
    engine, session = store
    assert import_file(session, "windows",
                       _file(tmp_path, HEADER + "P2,2026-12-01,08:00,11:00,5\n", "w0.csv"),
                       "planner").ok
    before = fingerprint(engine)
    report = import_file(session, "windows", _file(tmp_path, HEADER + row + "\n"), "planner")
    lines = issue_lines(report.issues)
    assert not report.ok
    assert any(line.startswith(f"windows.csv, {expected}") for line in lines), lines
    assert fingerprint(engine) == before


def test_every_problem_of_a_file_is_located_and_nothing_changes(
        store: tuple[Engine, Session], tmp_path: Path) -> None:
    engine, session = store
    before = fingerprint(engine)
    text = HEADER + ("P1,2026-12-01,08:00,11:00,5\n"
                     "P1,2026-12-01,10:00,12:00,5\n"  # overlaps row 2
                     "P2,2026-12-01,08:00,11:00,5\n"
                     "P2,2026-12-01,08:00,11:00,7\n"  # the same window again
                     "P3,2026-12-01,08:00,11:00,5\n")
    report = import_file(session, "windows", _file(tmp_path, text), "planner")
    lines = issue_lines(report.issues)
    assert "windows.csv, row 3, column start: overlaps the window at row 2 (point 'P1', " \
           "2026-12-01)" in lines
    assert "windows.csv, row 5, column start: is the same window as row 4 (point 'P2', " \
           "2026-12-01)" in lines
    assert any(line.startswith("windows.csv, row 6, column point_id: unknown point 'P3'")
               for line in lines)
    assert fingerprint(engine) == before


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "windows.csv"),
    (b"point_id,date,start\nP1,2026-12-01,08:00\n", "windows.csv, row 1"),
    ("point_id,date,start,end,capacity\nP1,2026-12-01,08:00,11:00,5\n".encode("utf-16"),
     "windows.csv"),
    (b"\x00\x01PK garbage", "windows.csv"),
])
def test_a_damaged_file_changes_nothing(store: tuple[Engine, Session], tmp_path: Path,
                                        content: bytes, expected: str) -> None:
    engine, session = store
    before = fingerprint(engine)
    (tmp_path / "windows.csv").write_bytes(content)
    report = import_file(session, "windows", tmp_path / "windows.csv", "planner")
    assert not report.ok and issue_lines(report.issues)[0].startswith(expected)
    (tmp_path / "windows.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    broken = import_file(session, "windows", tmp_path / "windows.xlsx", "planner")
    assert not broken.ok and issue_lines(broken.issues)[0].startswith("windows.xlsx")
    assert fingerprint(engine) == before


def test_the_api_and_the_terminal_import_windows(store: tuple[Engine, Session], db_url: str,
                                                 tmp_path: Path) -> None:
    engine, session = store
    planner = add_user(session, "an", "planner", None, "setup")[1]
    officer = add_user(session, "p1", "point", None, "setup", points=["P1"])[1]
    auth = {"Authorization": f"Bearer {planner}"}
    good = (HEADER + "P1,2026-12-01,08:00,11:00,5\n").encode()
    bad = (HEADER + "P1,2026-12-01,08:00,11:00,5\nP9,2026-12-01,08:00,11:00,5\n").encode()
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        done = client.post("/api/imports/windows", files={"file": ("khung-gio.csv", good)},
                           headers=auth)
        assert done.status_code == 200, done.text
        assert done.json() == {"kind": "windows", "file": "khung-gio.csv", "inserted": 1,
                               "updated": 0}
        before = fingerprint(engine)
        refused = client.post("/api/imports/windows", files={"file": ("k2.csv", bad)},
                              headers=auth)
        assert refused.status_code == 422
        assert "k2.csv, row 3, column point_id: unknown point 'P9'" in refused.text
        assert client.post("/api/imports/windows", files={"file": ("k.csv", good)},
                           headers={"Authorization": f"Bearer {officer}"}).status_code == 403
        assert fingerprint(engine) == before

    env = {**os.environ, "DATABASE_URL": db_url}
    command = [str(Path(sys.executable).parent / "allocator"), "import", "windows"]
    refused_cli = subprocess.run([*command, str(_file(tmp_path, bad.decode(), "k2.csv"))],
                                 env=env, capture_output=True, text=True, timeout=120)
    assert refused_cli.returncode == 2
    assert "k2.csv, row 3, column point_id: unknown point 'P9'" in refused_cli.stderr
    assert fingerprint(engine) == before
    two = HEADER + "P2,2026-12-01,08:00,11:00,5\nP2,2026-12-02,08:00,11:00,5\n"
    done_cli = subprocess.run([*command, str(_file(tmp_path, two, "k3.csv"))], env=env,
                              capture_output=True, text=True, timeout=120)
    assert done_cli.returncode == 0, done_cli.stderr
    assert "windows: 2 added" in done_cli.stdout
    assert {w[0] for w in _windows(session)} == {"P1", "P2"}
