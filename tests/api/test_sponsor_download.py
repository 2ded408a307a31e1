"""What a sponsor reads and downloads of a round: every lot with idle devices says why they
are idle (without a bottleneck analysis), and the figures come as an XLSX workbook with one
sheet per table or as one CSV per table (`,` or `;`), in words rather than codes, with the
sponsor, the round and its status on top; no personal data, no count that singles anyone
out; the API's download refuses a round the sponsor may not see as if it did not exist."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from allocator.disclosure import HIDDEN, SMALL
from allocator.store.campaign import approve_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.models import Round
from allocator.store.rounds import import_folder_as_round, solve_round
from allocator.store.users import add_user, set_password
from api.main import create_app
from api.settings import Settings
from tests.store.test_sponsor_sheet import SPONSOR, personal_data, write_scenario

NAMES = {"budget": ("s1", "OP01"), "restricted": ("s2", SPONSOR), "planner": ("an", None)}
PASSWORD = "figures-for-sponsors-5"
TOKENS: dict[str, str] = {}
CODES = ("near_poor", "merit_family", "elderly_alone", "communes_exhausted", "budget")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scenario(tmp_path_factory.mktemp("download") / "s")


@pytest.fixture(scope="module")
def app(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Round 1 approved (no bottleneck analysis), round 2 solved only; Viettel (OP01), whose
    lots stay partly idle for lack of budget, and the test sponsor, whose lot kept to one
    commune stays idle once that commune's households are served."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'download.db'}"
    engine = make_engine(url)
    prepare(engine)
    with make_sessions(engine)() as session:
        for name in ("Đợt 1", "Đợt 2"):
            import_folder_as_round(session, folder, name, "setup")
            solve_round(session, session.query(Round).count(), "setup")
        approve_round(session, 1, "setup")
        for key, (name, sponsor) in NAMES.items():
            role = "planner" if sponsor is None else "sponsor"
            TOKENS[key] = add_user(session, name, role, sponsor, "setup")[1]
            set_password(session, name, PASSWORD, "setup")
    engine.dispose()
    with TestClient(create_app(Settings(database_url=url, run_worker=False))) as client:
        yield client


def signed_in(app: TestClient, who: str, lang: str = "vi") -> TestClient:
    app.cookies.clear()
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', app.get("/login").text)
    assert token
    answer = app.post("/login", data={"name": NAMES[who][0], "password": PASSWORD,
                                      "csrf": token.group(1)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    if lang == "en":
        app.get("/lang/en")
    return app


def bearer(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[who]}"}


def _counts_are_safe(values: list[Any]) -> None:
    for v in values:
        if isinstance(v, int):
            assert v == 0 or v >= SMALL, v
        else:
            assert v in HIDDEN, v


def test_every_lot_with_idle_devices_says_why_without_an_analysis(app: TestClient) -> None:
    page = signed_in(app, "budget").get("/portal?round=1")
    assert page.status_code == 200
    lots = re.findall(r'<li data-lot="([^"]+)" data-idle="([^"]+)">', page.text)
    assert [lot for lot, _ in lots] == ["LOT-001", "LOT-016"]
    for lot, idle in lots:  # Viettel's counts are large: shown exactly, and all for budget
        block = page.text.split(f'data-lot="{lot}" data-idle=')[1].split("</li>\n")[0]
        assert f'data-reason="budget" data-devices="{idle}"' in block
        assert "Ngân sách còn lại không đủ chi phần nhà nước của máy" in block
    assert 'id="idle-source"' in page.text and "kết quả phân bổ của đợt" in page.text
    english = signed_in(app, "budget", "en").get("/portal?round=1")
    assert "The budget left does not pay the public share of the device" in english.text
    assert "Why devices are idle" in english.text

    # The restricted lot: its idle devices are kept to one commune whose households are all
    # served; its small counts stay hidden, and so does what would give them away.
    page = signed_in(app, "restricted").get("/portal?round=1")
    found = re.search(r'<li data-lot="LOT-019" data-idle="([^"]+)">(.*?)</li>\n', page.text,
                      re.S)
    assert found is not None
    assert 'data-reason="communes_exhausted"' in found.group(2)
    devices = re.findall(r'data-devices="([^"]+)"', found.group(2))
    assert devices and all(d in HIDDEN or int(d) >= SMALL for d in devices)
    assert found.group(1) in HIDDEN or int(found.group(1)) >= SMALL


def test_the_workbook_has_one_sheet_per_table_in_words(app: TestClient, folder: Path) -> None:
    client = signed_in(app, "budget")
    for data in (client.get("/portal/figures.xlsx?round=1").content,
                 client.get("/api/sponsor/rounds/1/distribution.xlsx",
                            headers=bearer("budget")).content):
        book = openpyxl.load_workbook(io.BytesIO(data))
        assert book.sheetnames == ["Các lô máy", "Máy chưa dùng và lý do", "Theo xã, phường",
                                   "Theo nhóm hộ"]
        for sheet in book.worksheets:
            top = [str(sheet.cell(row=r, column=1).value) for r in range(1, 6)]
            assert "Viettel (OP01)" in top[2]
            assert top[3] == "Đợt 1: Đợt 1 · Trạng thái: Đã phê duyệt"
            assert sheet.freeze_panes == "A8" and sheet.print_title_rows == "$7:$7"
            assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4
            cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value]
            assert not set(cells) & set(CODES), sheet.title
            for value in personal_data(folder):
                assert value not in cells
        lots = book["Các lô máy"]
        assert [c.value for c in lots[7]] == ["Lô", "Mẫu máy", "Số lượng", "Đã phân bổ",
                                             "Đã trao máy", "Chưa trao", "Máy chưa dùng"]
        rows = [[c.value for c in r] for r in lots.iter_rows(min_row=8, max_row=10)]
        assert [r[0] for r in rows[:-1]] == ["LOT-001", "LOT-016"] and rows[-1][0] == "Tổng"
        for r in rows[:-1]:
            assert isinstance(r[3], int) and r[6] == r[2] - r[3]  # numbers a sheet can add
        why = book["Máy chưa dùng và lý do"]
        reasons = [c.value for c in why["D"][7:9]]
        assert reasons == ["Ngân sách còn lại không đủ chi phần nhà nước của máy"] * 2
        groups = [[c.value for c in r] for r in book["Theo nhóm hộ"].iter_rows(min_row=8,
                                                                                max_row=13)]
        assert [g[0] for g in groups] == ["Hộ nghèo", "Hộ cận nghèo", "Hộ khác",
                                          "Gia đình có công", "Người cao tuổi sống một mình",
                                          "Người khuyết tật"]
        _counts_are_safe([g[1] for g in groups])
    english = openpyxl.load_workbook(io.BytesIO(client.get(
        "/api/sponsor/rounds/1/distribution.xlsx?lang=en", headers=bearer("budget")).content))
    assert english.sheetnames == ["Lots", "Idle devices and why", "By commune",
                                  "By household group"]
    assert english["Lots"]["A4"].value == "Round 1: Đợt 1 · Status: Approved"


def test_one_table_per_csv_with_either_separator(app: TestClient, folder: Path) -> None:
    client = signed_in(app, "restricted")
    headers = {"lots": "Lô", "idle": "Lô", "communes": "Mã xã, phường", "groups": "Nhóm hộ"}
    for table, first in headers.items():
        for sep, mark in (("comma", ","), ("semicolon", ";")):
            for answer in (client.get(f"/portal/figures.csv?round=1&table={table}&sep={sep}"),
                           client.get(f"/api/sponsor/rounds/1/distribution.csv?table={table}"
                                      f"&sep={sep}", headers=bearer("restricted"))):
                assert answer.status_code == 200
                assert answer.content.startswith(b"\xef\xbb\xbf")
                assert f"dot-1-{table}.csv" in answer.headers["content-disposition"]
                text = answer.content.decode("utf-8-sig")
                rows = list(csv.reader(io.StringIO(text), delimiter=mark))
                assert rows[0][0] == first and len({len(r) for r in rows}) == 1, rows
                assert not {c for r in rows for c in r} & set(CODES)
                for value in personal_data(folder):
                    assert value not in text
    communes = list(csv.reader(io.StringIO(client.get(
        "/portal/figures.csv?round=1&table=communes").content.decode("utf-8-sig"))))
    _counts_are_safe([int(c[2]) if c[2].isdigit() else c[2] for c in communes[1:]])
    packed = zipfile.ZipFile(io.BytesIO(client.get("/portal/figures.zip?round=1&sep=semicolon")
                                        .content))
    assert sorted(packed.namelist()) == sorted(f"nha-tai-tro-dot-1-{k}.csv" for k in headers)
    assert packed.read("nha-tai-tro-dot-1-groups.csv").decode("utf-8-sig").startswith(
        '"Nhóm hộ";"Số máy"')


def test_a_round_the_sponsor_may_not_see_is_refused_like_one_that_does_not_exist(
        app: TestClient) -> None:
    answers = set()
    for n in (2, 9, 2**31 - 1):
        for route in ("distribution.xlsx", "distribution.csv?table=groups"):
            got = app.get(f"/api/sponsor/rounds/{n}/{route}", headers=bearer("budget"))
            body = got.json()
            answers.add((got.status_code, body["detail"].replace(str(n), "N"),
                         body["detail_vi"].replace(str(n), "N")))
    assert answers == {(404, "no results for round N", "Không có kết quả cho đợt N.")}
    assert app.get("/api/sponsor/rounds/1/distribution.xlsx",
                   headers=bearer("planner")).status_code == 403
    assert app.get("/api/sponsor/rounds/1/distribution.csv?sep=tab",
                   headers=bearer("budget")).status_code == 422
    document = app.get("/openapi.json").json()
    xlsx = document["paths"]["/api/sponsor/rounds/{round_id}/distribution.xlsx"]["get"]
    assert {"200", "401", "403", "404", "422"} <= set(xlsx["responses"])
    assert xlsx["responses"]["404"]["content"]["application/json"]["schema"]["$ref"] \
        .endswith("/Error")
    signed_in(app, "budget")
    assert app.get("/portal/figures.xlsx?round=2").status_code == 404
