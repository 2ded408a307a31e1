"""Registry imports: Vietnamese headers, CSV and XLSX, upsert by id, all or nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from allocator.reference import hcmc_communes
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.models import Household, HouseholdContact, Lot, Sponsor

TABLES = ("communes", "households", "household_contacts", "sponsors", "lots", "points")


@pytest.fixture()
def session(tmp_path: Path, db_url: str) -> Iterator[Session]:
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as s:
        communes = hcmc_communes()[["commune_code", "name", "lat", "lon"]]
        communes.to_csv(tmp_path / "communes.csv", index=False)
        assert import_file(s, "communes", tmp_path / "communes.csv", "test").ok
        yield s
    engine.dispose()


def fingerprint(session: Session) -> str:
    digest = hashlib.sha256()
    for table in TABLES:
        for row in session.execute(text(f"SELECT * FROM {table} ORDER BY 1")):  # noqa: S608
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


VIETNAMESE_HOUSEHOLDS = (
    "\ufeffMã hộ,Mã xã,Hộ nghèo/cận nghèo,Số nhân khẩu,Số máy 2G,Số điện thoại thông minh,"
    "Diện ưu tiên,Họ tên chủ hộ,Số điện thoại\n"
    "HH1,26740,Hộ nghèo,3,1,0,merit_family,Nguyễn Văn An,0912345678\n"
    "HH2,26740,cận nghèo,2,1,0,,Trần Thị Bình,0987654321\n")


def test_vietnamese_headers_and_status_words(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "ho.csv"
    path.write_text(VIETNAMESE_HOUSEHOLDS, encoding="utf-8")
    report = import_file(session, "households", path, "planner")
    assert report.ok and (report.inserted, report.updated) == (2, 0)
    statuses = dict(session.execute(select(Household.id, Household.poverty_status)).all())
    assert statuses == {"HH1": "poor", "HH2": "near_poor"}
    contact = session.get(HouseholdContact, "HH2")
    assert contact is not None and contact.head_name == "Trần Thị Bình"
    again = import_file(session, "households", path, "planner")
    assert (again.inserted, again.updated) == (0, 2)


def test_xlsx_import_creates_sponsors(session: Session, tmp_path: Path) -> None:
    frame = pd.DataFrame({"Mã lô": ["L1", "L2"], "Mã nhà tài trợ": ["VT", "VT"],
                          "Tên nhà tài trợ": ["Viettel", "Viettel"],
                          "Mẫu máy": ["Sumo", "A06"], "Mạng": ["4G", "4G"],
                          "Số lượng": ["5", "3"], "Giá bán lẻ": ["1590000", "2690000"],
                          "Mức tài trợ": ["1590000", "1000000"]})
    frame.to_excel(tmp_path / "lots.xlsx", index=False)
    report = import_file(session, "lots", tmp_path / "lots.xlsx", "planner")
    assert report.ok, report.issues
    assert session.scalars(select(Sponsor.name)).all() == ["Viettel"]
    assert sorted(session.scalars(select(Lot.quantity))) == [3, 5]


def test_invalid_import_changes_nothing_and_names_rows(session: Session,
                                                       tmp_path: Path) -> None:
    good = tmp_path / "ho.csv"
    good.write_text(VIETNAMESE_HOUSEHOLDS, encoding="utf-8")
    assert import_file(session, "households", good, "planner").ok
    before = fingerprint(session)
    bad = tmp_path / "ho2.csv"
    bad.write_text(VIETNAMESE_HOUSEHOLDS.replace("HH2,26740,cận nghèo,2", "HH2,26740,cận nghèo,x")
                   .replace("HH1,26740", "HH3,99999"), encoding="utf-8")
    report = import_file(session, "households", bad, "planner")
    assert not report.ok
    text_issues = [str(i) for i in report.issues]
    assert any(t.startswith("ho2.csv, row 3, column members") for t in text_issues)
    assert fingerprint(session) == before
    unknown = tmp_path / "ho3.csv"
    unknown.write_text(VIETNAMESE_HOUSEHOLDS.replace("HH1,26740", "HH9,99999"),
                       encoding="utf-8")
    report = import_file(session, "households", unknown, "planner")
    assert [str(i) for i in report.issues] == [
        "ho3.csv, row 2, column commune_code: unknown commune '99999' "
        "(import the commune first)"]
    assert fingerprint(session) == before
