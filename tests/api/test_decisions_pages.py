"""The round page's budget curve and bottleneck sections (no browser): the request
buttons and their CSRF, progress while the workers compute, the sections once done in
Vietnamese and English, the downloadable report and the curve's file."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from allocator.store import analyses
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.jobs import JobSettings, work
from allocator.store.rounds import compute_results, import_folder_as_round, solve_round
from allocator.store.users import add_user, set_password
from allocator.validate import Scenario
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario

FAST = JobSettings(heartbeat_seconds=0.2, stale_seconds=1.0, max_attempts=2, poll_seconds=0.1)
PASSWORDS = {"an": "an-plans-rounds-7", "s1": "s1-sees-figures-9"}
CURVE = {"points": [{"budget_vnd": b, "served": s, "stage0": 0, "stage1": 3 * s,
                     "stage2": b, "stage3": 1.5 * s, "status": "OPTIMAL", "by_status": {},
                     "by_commune": {}}
                    for b, s in ((0, 0), (400_000_000, 120), (500_000_000, 150),
                                 (900_000_000, 180))],
         "saturation_vnd": 900_000_000, "max_stage1": 540, "round_budget_vnd": 400_000_000,
         "seconds": 0.5,
         "next_step": {"served_more": 30,
                       "sentence_vi": "100 triệu đồng tiếp theo sẽ phục vụ thêm 30 hộ (90 điểm "
                                      "ưu tiên).",
                       "sentence_en": "The next 100 million VND would serve 30 more households "
                                      "(90 priority points)."}}
BOTTLENECKS = {
    "base": {"stage0": 0, "stage1": 360, "stage2": 1, "served": 120, "budget_vnd": 1},
    "binding": [{"kind": "budget", "subject": "", "sentence_vi": "Ngân sách đã dùng hết <b>",
                 "sentence_en": "The budget is spent <b>"}],
    "relaxations": [{"kind": "lot_stock", "subject": f"L{i}", "confirmed": i != 3,
                     "gain_weight": 20 - i, "gain_served": 5, "gain_stage0": None,
                     "sentence_vi": f"Thêm 20 máy cho lô L{i}: thêm 5 hộ",
                     "sentence_en": f"20 more devices in lot L{i}: 5 more households"}
                    for i in range(14)],
    "lots": [], "seconds": 1.0, "top": 10}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Any, dict]]:
    """Round 1 solved, round 2 a draft; no worker in the app (the test runs the queue)."""
    tmp = tmp_path_factory.mktemp("decision-pages")
    url = f"sqlite:///{tmp / 'pages.db'}"
    scenario("sample", 3).write(tmp / "s")
    engine = make_engine(url)
    prepare(engine)
    sessions = make_sessions(engine)
    with sessions() as session:
        solved = import_folder_as_round(session, tmp / "s", "Đợt 1", "setup").id
        solve_round(session, solved, "setup", settings=FAST)
        draft = import_folder_as_round(session, tmp / "s", "Đợt 2", "setup").id
        add_user(session, "an", "planner", None, "setup")
        sponsor = str(pd.read_csv(tmp / "s" / "lots.csv")["sponsor_id"].iloc[0])
        add_user(session, "s1", "sponsor", sponsor, "setup")
        for name, password in PASSWORDS.items():
            set_password(session, name, password, "setup")
    with TestClient(create_app(Settings(database_url=url, run_worker=False))) as client:
        yield client, sessions, {"solved": solved, "draft": draft}
    engine.dispose()


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def _sign_in(client: TestClient, name: str) -> TestClient:
    client.cookies.clear()
    answer = client.post("/login", data={"name": name, "password": PASSWORDS[name],
                                         "csrf": _csrf(client.get("/login").text)},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    return client


def _run_queued(sessions: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(result: dict[str, Any]) -> Any:
        def compute(scenario: Scenario, progress: Any, workers: int | None) -> dict[str, Any]:
            return result
        return compute

    monkeypatch.setitem(analyses.COMPUTE, "curve", fake(CURVE))
    monkeypatch.setitem(analyses.COMPUTE, "bottlenecks", fake(BOTTLENECKS))
    work(sessions, compute_results, "test-worker", FAST, threading.Event(), once=True)


def test_the_sections_ask_show_progress_then_their_results(
        app: tuple[TestClient, Any, dict], monkeypatch: pytest.MonkeyPatch) -> None:
    client, sessions, ids = app
    n = ids["solved"]
    _sign_in(client, "an")
    page = client.get(f"/rounds/{n}").text
    for text in ("Đường cong ngân sách", "Điểm nghẽn", 'id="request-curve"',
                 'id="request-bottlenecks"', "Tính đường cong ngân sách", "Tìm điểm nghẽn"):
        assert text in page, text
    assert "class='curve'" not in page and 'id="curve-progress"' not in page
    assert client.get(f"/rounds/{n}/analyses/curve/progress").status_code == 404
    refused = client.post(f"/rounds/{n}/analyses/curve", data={"csrf": "0" * 32})
    assert refused.status_code == 403
    token = _csrf(page)
    for kind in ("curve", "bottlenecks"):
        asked = client.post(f"/rounds/{n}/analyses/{kind}", data={"csrf": token},
                            follow_redirects=False)
        assert asked.status_code == 303 and asked.headers["location"] == f"/rounds/{n}#{kind}"
    waiting = client.get(f"/rounds/{n}").text
    assert 'id="curve-progress"' in waiting and 'id="bottlenecks-progress"' in waiting
    assert f'data-url="/rounds/{n}/analyses/curve/progress"' in waiting
    assert 'id="request-curve"' not in waiting  # no second button while it runs
    assert client.get(f"/rounds/{n}/analyses/curve/progress").json() == \
        {"status": "queued", "label": "Đang chờ đến lượt", "fraction": 0.0}
    _run_queued(sessions, monkeypatch)
    assert client.get(f"/rounds/{n}/analyses/curve/progress").json()["status"] == "done"
    done = client.get(f"/rounds/{n}").text
    assert "class='curve'" in done and "100 triệu đồng tiếp theo sẽ phục vụ thêm 30 hộ" in done
    assert "Bão hoà (900 triệu đồng)" in done and "Đợt này (400 triệu đồng)" in done
    assert 'id="curve-table"' in done and 'id="curve-csv"' in done
    assert "Ngân sách đã dùng hết &lt;b&gt;" in done  # the engine's words are escaped
    changes = re.search(r'<ol id="changes">(.*?)</ol>', done, re.S)
    assert changes is not None
    listed = re.findall(r"<li>(.*?)</li>", changes.group(1))
    # The ten best confirmed changes, in the engine's order; the unconfirmed one is left out.
    assert listed == [f"Thêm 20 máy cho lô L{i}: thêm 5 hộ" for i in range(14) if i != 3][:10]
    assert 'id="request-curve"' in done and "Tính lại đường cong" in done
    assert not re.search(r"<style|\sstyle=", done)  # the style policy allows none inline
    english = client.get(f"/lang/en?next=/rounds/{n}").text
    for text in ("Budget curve", "Bottlenecks", "The next 100 million VND would serve 30 more",
                 "Saturation (900 million VND)", "The budget is spent", "Compute the curve again"):
        assert text in english, text
    client.get(f"/lang/vi?next=/rounds/{n}")
    report = client.get(f"/rounds/{n}/report.html")
    assert report.status_code == 200
    assert "Đường cong ngân sách" in report.text and "class='curve'" in report.text
    assert "Thêm 20 máy cho lô L0" in report.text
    assert "<form" not in report.text and "/analyses/" not in report.text  # no buttons
    csv = client.get(f"/rounds/{n}/curve.csv")
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    assert csv.content.decode("utf-8-sig").splitlines()[0] == \
        "budget_vnd,served,stage0,stage1,stage2,stage3,status"


def test_a_round_without_results_has_no_sections_and_refuses_a_request(
        app: tuple[TestClient, Any, dict]) -> None:
    client, _, ids = app
    _sign_in(client, "an")
    n = ids["draft"]
    page = client.get(f"/rounds/{n}").text
    assert "Đường cong ngân sách" not in page and 'id="request-curve"' not in page
    refused = client.post(f"/rounds/{n}/analyses/curve", data={"csrf": _csrf(page)})
    assert refused.status_code == 409 and "chưa có kết quả" in refused.text
    assert refused.headers["content-type"].startswith("text/html")
    assert client.get(f"/rounds/{n}/curve.csv").status_code == 404
    assert client.post(f"/rounds/{n}/analyses/map", data={"csrf": _csrf(page)}
                       ).status_code == 422
    assert client.post("/rounds/999/analyses/curve", data={"csrf": _csrf(page)}
                       ).status_code == 404


def test_a_report_without_analyses_has_no_sections(app: tuple[TestClient, Any, dict],
                                                   tmp_path: Path) -> None:
    from allocator.report import render_report

    client, sessions, ids = app
    with sessions() as session:
        from allocator.store.models import Round

        row = session.get_one(Round, ids["solved"])
        html = render_report(row.dashboard or {}, row.summary or {}, "x")
    assert "Đường cong ngân sách" not in html and "Điểm nghẽn" not in html


def test_sponsors_reach_none_of_it(app: tuple[TestClient, Any, dict]) -> None:
    client, _, ids = app
    _sign_in(client, "s1")
    n = ids["solved"]
    for path in (f"/rounds/{n}/analyses/curve/progress", f"/rounds/{n}/curve.csv"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/rounds/{n}/analyses/curve",
                       data={"csrf": _csrf(client.get("/portal").text)}).status_code == 403


JUNK = ["0", "-1", "99999999999", "abc", "1.5", "%00", "%E2%80%AE", "curve%20", "1;DROP", " "]


@pytest.mark.parametrize("junk", JUNK)
def test_no_route_of_the_sections_answers_500(app: tuple[TestClient, Any, dict],
                                              junk: str) -> None:
    client, _, ids = app
    _sign_in(client, "an")
    token = _csrf(client.get("/rounds").text)
    n = ids["solved"]
    for path in (f"/rounds/{junk}/analyses/curve/progress",
                 f"/rounds/{n}/analyses/{junk}/progress", f"/rounds/{junk}/curve.csv",
                 f"/rounds/{junk}"):
        assert client.get(path).status_code < 500, path
    for path in (f"/rounds/{junk}/analyses/curve", f"/rounds/{n}/analyses/{junk}"):
        answer = client.post(path, data={"csrf": token}, follow_redirects=False)
        assert answer.status_code in (303, 404, 409, 422), (path, answer.status_code)


def test_the_sections_words_exist_in_both_languages() -> None:
    from allocator.report.curve_svg import WORDS
    from allocator.report.decisions import DECISION_LABELS
    from allocator.report.labels import LABELS
    from api.pages.labels import PAGE_LABELS

    assert not set(DECISION_LABELS) & (set(LABELS) | set(PAGE_LABELS))  # one meaning per key
    for vi, en in DECISION_LABELS.values():
        assert vi.strip() and en.strip() and vi != en
    assert set(WORDS["vi"]) == set(WORDS["en"])
    root = Path(__file__).resolve().parents[2]
    template = (root / "allocator/report/templates/decisions.html").read_text(encoding="utf-8")
    used = set(re.findall(r'w\("([a-z0-9_]+)"\)', template))
    assert used and used <= set(DECISION_LABELS)
