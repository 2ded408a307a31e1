"""Uploads of any bytes under any name: never a server error, and a refusal writes nothing.

Random bytes, truncated zips and workbooks, XLSX files with formulas, cells
with NUL or line breaks, cells longer than their columns and odd file names go
to every upload route, on SQLite and PostgreSQL. Every answer is below 500,
and after a refused upload every table is byte for byte as it was.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from allocator.contract import COMMUNE_COLUMNS, HOUSEHOLD_COLUMNS, LOT_COLUMNS, POINT_COLUMNS
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.users import add_user
from api.main import create_app
from api.settings import Settings
from tests.tables import fingerprint

COLUMNS = {"households": HOUSEHOLD_COLUMNS, "lots": LOT_COLUMNS, "points": POINT_COLUMNS,
           "communes": COMMUNE_COLUMNS}
FOLDER = "/api/rounds/import-folder"
ROUTES = [f"/api/imports/{kind}" for kind in COLUMNS] + [FOLDER]
GOOD_CELLS = {"household_id": "HH1", "commune_code": "26740", "poverty_status": "poor",
              "members": "3", "twog_handsets": "1", "smartphones": "0", "flags": "student",
              "lot_id": "L1", "sponsor_id": "S1", "sponsor_name": "Nhà tài trợ", "model": "A1",
              "network": "4G", "quantity": "5", "unit_price_vnd": "1000000",
              "sponsor_subsidy_vnd": "500000", "point_id": "P1", "capacity": "10",
              "name": "Phường Bến Nghé", "head_name": "Nguyễn Văn An", "phone": "0912345678",
              "lat": "10.77", "lon": "106.70"}


@pytest.fixture()
def service(db_url: str) -> Iterator[tuple[TestClient, dict[str, str], Engine]]:
    engine = make_engine(db_url)
    prepare(engine)  # the city's communes come with a new store
    with make_sessions(engine)() as session:
        token = add_user(session, "an", "planner", None, "setup")[1]
    app = create_app(Settings(database_url=db_url, run_worker=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {token}"}, engine
    engine.dispose()


# Cells: good ones, and text of every kind (NUL, line breaks, long, non-Latin).
cells = st.one_of(
    st.sampled_from(list(GOOD_CELLS.values()) + ["", "-1", "1e400", "=1+1", "26740;99999"]),
    st.text(max_size=12),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=60, max_size=400),
    st.sampled_from(["a\x00b", "Nguyễn\r\nAn", "x\ty", "\u2028", "H" * 65, "9" * 41]),
)


@st.composite
def tables(draw: st.DrawFn, kind: str) -> list[list[str]]:
    """A header of the kind's columns (some dropped, some odd) and a few rows."""
    names = [c.name for c in COLUMNS[kind]]
    header = draw(st.lists(st.sampled_from(names + ["Mã hộ", "", "extra"]), min_size=1,
                           max_size=len(names) + 2, unique=True)) \
        if draw(st.booleans()) else names
    rows = draw(st.lists(st.lists(st.one_of(
        st.builds(lambda: None), cells), min_size=len(header), max_size=len(header)),
        max_size=4))
    return [header] + [[GOOD_CELLS.get(header[i], "x") if cell is None else cell
                        for i, cell in enumerate(row)] for row in rows]


def as_csv(table: list[list[str]]) -> bytes:
    import csv

    out = io.StringIO()
    csv.writer(out).writerows(table)
    return out.getvalue().encode()


def as_xlsx(table: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in table:
        # openpyxl refuses control characters in a cell; a formula is written as one.
        sheet.append([openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE.sub("", str(v))
                      if isinstance(v, str) else v for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def as_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@st.composite
def payloads(draw: st.DrawFn, route: str) -> bytes:
    kind = route.rsplit("/", 1)[-1]
    if route == FOLDER:
        files = {f"{k}.csv": as_csv(draw(tables(k))) for k in ("households", "lots", "points")
                 if draw(st.booleans())}
        if draw(st.booleans()):
            files["round.json"] = json.dumps({"budget_vnd": draw(cells)}).encode()
        if draw(st.booleans()):
            files["dir/../households.csv"] = draw(st.binary(max_size=50))
        made = as_zip(files)
    else:
        made = draw(st.one_of(
            st.builds(as_csv, tables(kind)),
            st.builds(as_xlsx, tables(kind)),
            st.builds(as_xlsx, st.just([["household_id", "members"], ["HH9", "=1/0"],
                                        ["=A2", "=SUM(B1:B2)"]])),
        ))
    # The cut is drawn from a fixed range: a workbook's length varies with the
    # time written into it, and a strategy bounded by it would not replay.
    made = draw(st.one_of(st.just(made), st.binary(max_size=300),
                          st.integers(0, 1 << 16).map(lambda n: made[:n % max(len(made), 1)])))
    return made


file_names = st.one_of(
    st.sampled_from(["households.csv", "ho.xlsx", "dot.zip", "", ".", "../../etc/passwd",
                     "C:\\Users\\an\\hộ.csv", "a\x00b.csv", "ệ" * 200 + ".csv", "x" * 300,
                     "no-suffix", "thư mục/tệp.xlsx", "\r\n.csv"]),
    st.text(max_size=40).map(lambda t: t + ".csv"),
)


@settings(max_examples=60)
@given(data=st.data())
def test_uploads_never_fail_the_server_and_refusals_change_nothing(
        service: tuple[TestClient, dict[str, str], Engine], data: st.DataObject) -> None:
    client, headers, engine = service
    route = data.draw(st.sampled_from(ROUTES), label="route")
    body = data.draw(payloads(route), label="payload")
    name = data.draw(file_names, label="file name")
    query = data.draw(st.sampled_from(["", "?name=%C4%90%E1%BB%A3t", "?name=a%00b",
                                       "?name=" + "x" * 199]), label="query")
    before = fingerprint(engine)
    answer = client.post(route + (query if route == FOLDER else ""), headers=headers,
                         files={"file": (name, body, "application/octet-stream")})
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert fingerprint(engine) == before, answer.text


def folder_zip() -> bytes:
    """A small valid contract folder (the bundled city communes)."""
    return as_zip({
        "households.csv": as_csv([["household_id", "commune_code", "poverty_status", "members",
                                   "twog_handsets", "smartphones"],
                                  ["HH1", "26740", "poor", "3", "1", "0"]]),
        "lots.csv": as_csv([[c.name for c in LOT_COLUMNS[:8]],
                            ["L1", "S1", "Nhà tài trợ", "A1", "4G", "5", "1000000", "500000"]]),
        "points.csv": as_csv([["point_id", "commune_code", "capacity"], ["P1", "26740", "10"]]),
    })


def test_a_zip_bomb_round_is_refused_with_a_sentence(
        service: tuple[TestClient, dict[str, str], Engine]) -> None:
    """D3: a small zip unpacking past the limit (64 MB by default) is a 422, nothing kept."""
    client, headers, engine = service
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive, \
            archive.open("households.csv", "w", force_zip64=True) as member:
        for _ in range(70):
            member.write(b"," * 2**20)
    before = fingerprint(engine)
    answer = client.post(FOLDER, headers=headers,
                         files={"file": ("bomb.zip", buffer.getvalue(), "application/zip")})
    assert answer.status_code == 422
    assert answer.json()["detail"] == "households.csv in the zip unpacks to more than 64 MB"
    assert fingerprint(engine) == before


def test_the_unpacked_limit_comes_from_the_settings(db_url: str) -> None:
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        token = add_user(session, "an", "planner", None, "setup")[1]
    engine.dispose()
    app = create_app(Settings(database_url=db_url, run_worker=False, max_unpacked_mb=1))
    big = as_csv([["commune_code", "name"]] + [[f"X{i}", "y" * 100] for i in range(20_000)])
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.post("/api/imports/communes", headers={"Authorization": f"Bearer {token}"},
                             files={"file": ("communes.csv", big, "text/csv")})
    assert answer.status_code == 413
    assert answer.json()["detail"] == "communes.csv is larger than 1 MB"


@pytest.mark.parametrize("name", ["Đợt\x00một", "Đợt\nmột", "Đ" * 201])
def test_a_round_name_with_control_characters_or_too_long_is_a_422(
        service: tuple[TestClient, dict[str, str], Engine], name: str) -> None:
    client, headers, engine = service
    before = fingerprint(engine)
    made = client.post("/api/rounds", headers=headers, json={"name": name, "policy": {}})
    assert made.status_code == 422, made.text
    folder = client.post(FOLDER, headers=headers, params={"name": name},
                         files={"file": ("dot.zip", folder_zip(), "application/zip")})
    assert folder.status_code == 422, folder.text
    assert fingerprint(engine) == before


def test_a_zip_with_a_long_file_name_makes_a_round_named_within_the_column(
        service: tuple[TestClient, dict[str, str], Engine]) -> None:
    client, headers, _ = service
    made = client.post(FOLDER, headers=headers,
                       files={"file": ("Đ" * 250 + ".zip", folder_zip(), "application/zip")})
    assert made.status_code == 201, made.text
    name = made.json()["name"]  # at most 255 bytes, as any file name is kept
    assert name == "Đ" * 125 + ".zip"


@pytest.mark.parametrize("name", ["hộ\x00.csv", "ệ" * 200 + ".csv", "../../hộ.csv"])
def test_an_odd_upload_file_name_is_only_a_label(
        service: tuple[TestClient, dict[str, str], Engine], name: str, tmp_path: Path) -> None:
    client, headers, _ = service
    body = as_csv([["commune_code", "name"], ["X1", "Xã Một"]])
    answer = client.post("/api/imports/communes", headers=headers,
                         files={"file": (name, body, "text/csv")})
    assert answer.status_code == 200, answer.text
    shown = answer.json()["file"]
    assert "\x00" not in shown and "/" not in shown and len(shown.encode()) <= 255
