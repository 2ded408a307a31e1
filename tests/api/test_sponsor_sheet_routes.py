"""The sponsor sheet through the app: the printable page (Vietnamese and English), the XLSX
and the JSON; planners only; 404 and 409 with a sentence; no personal data; with and
without the round's bottleneck analysis (the real one, worked out by the store)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient

from allocator.store.analyses import analyse_round, request_analysis
from allocator.store.campaign import approve_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.rounds import import_folder_as_round, solve_round
from allocator.store.users import add_user, set_password
from api.main import create_app
from api.settings import Settings
from tests.store.test_sponsor_sheet import SPONSOR, personal_data, write_scenario

NAMES = {"planner": "an", "sponsor": "s1", "point": "po"}
PASSWORD = "sheets-for-meetings-4"
TOKENS: dict[str, str] = {}
SHEET = "/rounds/{round}/sponsors/{sponsor}/sheet"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scenario(tmp_path_factory.mktemp("sheet-routes") / "s")


@pytest.fixture(scope="module")
def app(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Round 1 approved, with its bottleneck analysis; round 2 the same round solved,
    without one; round 3 a draft; round 4 solved, its analysis requested (no worker runs
    it here). A planner, a sponsor and a point officer."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'sheet.db'}"
    engine = make_engine(url)
    prepare(engine)
    with make_sessions(engine)() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, folder / f"{kind}.csv", "setup").ok
        for name in ("Đợt 1", "Đợt 2", "Đợt 3", "Đợt 4"):
            import_folder_as_round(session, folder, name, "setup")
        for round_id in (1, 2, 4):
            solve_round(session, round_id, "setup")
        approve_round(session, 1, "setup")
        analyse_round(session, 1, "bottlenecks", "setup")
        request_analysis(session, 4, "bottlenecks", "setup")
        point = next(line.split(",")[0] for line in
                     (folder / "points.csv").read_text(encoding="utf-8").splitlines()[1:])
        for role, name in NAMES.items():
            TOKENS[role] = add_user(session, name, role, "OP01" if role == "sponsor" else None,
                                    "setup", points=[point] if role == "point" else ())[1]
            set_password(session, name, PASSWORD, "setup")
    engine.dispose()
    with TestClient(create_app(Settings(database_url=url, run_worker=False))) as client:
        yield client


def as_user(app: TestClient, role: str) -> TestClient:
    app.cookies.clear()
    if role == "anonymous":
        return app
    page = app.get("/login").text
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert token
    answer = app.post("/login", data={"name": NAMES[role], "password": PASSWORD,
                                      "csrf": token.group(1)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    return app


def api(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def _xlsx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "".join(archive.read(n).decode("utf-8") for n in archive.namelist())


def test_the_round_page_links_each_sponsor_s_sheet(app: TestClient) -> None:
    page = as_user(app, "planner").get("/rounds/1")
    assert page.status_code == 200
    links = re.search(r'<ul id="sponsor-sheet-links">(.*?)</ul>', page.text, re.S)
    assert links and "Phiếu làm việc với nhà tài trợ" in page.text
    for sponsor in ("OP01", "UN05", SPONSOR):
        for kind in ("html", "xlsx"):
            assert f'{SHEET.format(round=1, sponsor=sponsor)}.{kind}"' in links.group(1)


def test_the_printable_sheet_in_vietnamese_and_english(app: TestClient, folder: Path) -> None:
    client = as_user(app, "planner")
    vi = client.get(SHEET.format(round=1, sponsor="OP01") + ".html")
    assert vi.status_code == 200 and vi.headers["content-type"].startswith("text/html")
    for words in ("Sở Khoa học và Công nghệ TP. Hồ Chí Minh", "Phiếu làm việc với nhà tài trợ",
                  "Viettel", "Đợt 1", "phê duyệt ngày", "Nokia C32", "2.090.000 ₫",
                  "Đã trao máy", "Máy chưa dùng và lý do", 'id="sheet-reasons"',
                  "Ngân sách còn lại không đủ chi", 'id="sheet-changes"', "Tăng ngân sách 10%",
                  'href="/static/sponsor_sheet.css"', "?lang=en"):
        assert words in vi.text, words
    assert 'lang="vi"' in vi.text and "sheet-no-analysis" not in vi.text
    en = client.get(SHEET.format(round=1, sponsor="OP01") + ".html?lang=en")
    assert en.status_code == 200 and '<html lang="en">' in en.text
    for words in ("Department of Science and Technology", "Sponsor meeting sheet", "approved on",
                  "2,090,000 ₫", "Idle devices and why", "10% more budget"):
        assert words in en.text, words
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=|<script>", vi.text + en.text)
    with_small = client.get(SHEET.format(round=1, sponsor=SPONSOR) + ".html")
    assert with_small.status_code == 200 and "&lt;5" in with_small.text
    for value in personal_data(folder):
        for page in (vi, en, with_small):
            assert value not in page.text, value


def test_without_an_analysis_the_sheet_gives_use_and_says_where_reasons_come_from(
        app: TestClient) -> None:
    client = as_user(app, "planner")
    page = client.get(SHEET.format(round=2, sponsor="OP01") + ".html")
    assert page.status_code == 200
    assert 'id="sheet-no-analysis"' in page.text and "phân tích điểm nghẽn" in page.text
    assert 'action="/rounds/2/analyses/bottlenecks"' in page.text and 'name="csrf"' in page.text
    assert 'id="sheet-use"' in page.text and 'id="sheet-reasons"' not in page.text
    assert "Đã trao máy" not in page.text  # not approved: nothing handed over yet
    figures = client.get("/api/rounds/2/sponsors/OP01/sheet", headers=api("planner"))
    assert figures.status_code == 200
    data = figures.json()
    assert data["analysed"] is False and data["handed_over_shown"] is False
    assert [x["idle_reasons"] for x in data["lots"]] == [[], []]
    book = openpyxl.load_workbook(io.BytesIO(
        client.get(SHEET.format(round=2, sponsor="OP01") + ".xlsx").content))
    assert len(book.sheetnames) == 3
    # Requested and not finished: the sheet says so instead of offering it again.
    waiting = client.get(SHEET.format(round=4, sponsor="OP01") + ".html")
    assert 'id="sheet-analysis-running"' in waiting.text
    assert 'id="sheet-no-analysis"' in waiting.text and "sheet-run-analysis" not in waiting.text


def test_the_workbook_and_the_json(app: TestClient, folder: Path) -> None:
    client = as_user(app, "planner")
    answer = client.get(SHEET.format(round=1, sponsor="OP01") + ".xlsx")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="phieu-nha-tai-tro-OP01-dot-1.xlsx"' in answer.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["Sử dụng các lô máy", "Máy chưa dùng và lý do",
                               "Thay đổi giúp dùng máy"]
    for page in book.worksheets:
        assert page.freeze_panes == "A7" and page.print_title_rows == "$6:$6"
        assert page["A6"].font.bold
    english = client.get(SHEET.format(round=1, sponsor="OP01") + ".xlsx?lang=en")
    assert openpyxl.load_workbook(io.BytesIO(english.content)).sheetnames[0] == "Use of the lots"
    data = client.get("/api/rounds/1/sponsors/OP01/sheet", headers=api("planner")).json()
    assert data["analysed"] and data["sponsor_name"] == "Viettel"
    assert data["office_vi"] == "Sở Khoa học và Công nghệ TP. Hồ Chí Minh"
    lot = data["lots"][0]
    assert lot["lot_id"] == "LOT-001" and lot["idle_reasons"][0]["reason"] == "budget"
    assert lot["change"]["kind"] == "budget" and lot["change"]["households"].isdigit()
    texts = [_xlsx_text(answer.content), _xlsx_text(english.content)]
    for sponsor in (SPONSOR, "UN05"):
        texts.append(str(client.get(f"/api/rounds/1/sponsors/{sponsor}/sheet",
                                    headers=api("planner")).json()))
        texts.append(_xlsx_text(client.get(SHEET.format(round=1, sponsor=sponsor)
                                           + ".xlsx").content))
    for value in personal_data(folder):
        for text in texts:
            assert value not in text, value


def test_only_planners_get_the_sheet(app: TestClient) -> None:
    paths = [SHEET.format(round=1, sponsor="OP01") + ".html",
             SHEET.format(round=1, sponsor="OP01") + ".xlsx"]
    for role in ("sponsor", "point"):
        client = as_user(app, role)
        for path in paths:
            assert client.get(path).status_code == 403, (role, path)
        assert client.get("/api/rounds/1/sponsors/OP01/sheet",
                          headers=api(role)).status_code == 403
    client = as_user(app, "anonymous")
    for path in paths:
        assert client.get(path, follow_redirects=False).headers["location"].startswith("/login")
    assert client.get("/api/rounds/1/sponsors/OP01/sheet").status_code == 401


def test_unknown_round_or_sponsor_is_404_and_a_round_without_results_409(
        app: TestClient) -> None:
    client = as_user(app, "planner")
    cases = [(99, "OP01", 404, "Không có đợt 99"), (1, "NOPE", 404, "không có lô máy nào"),
             (3, "OP01", 409, "chưa có kết quả")]
    for round_id, sponsor, status, words in cases:
        for kind in ("html", "xlsx"):
            page = client.get(SHEET.format(round=round_id, sponsor=sponsor) + f".{kind}")
            assert page.status_code == status and words in page.text, (round_id, sponsor, kind)
        answer = client.get(f"/api/rounds/{round_id}/sponsors/{sponsor}/sheet",
                            headers=api("planner"))
        assert answer.status_code == status and words in answer.json()["detail_vi"]
    for odd in ("%00", "a%2Fb", "x" * 65):
        assert client.get(f"/api/rounds/1/sponsors/{odd}/sheet",
                          headers=api("planner")).status_code in (404, 422), odd
