"""Pickup slips on a real store (SQLite and PostgreSQL): what a slip says, one per allocation of
the point, a QR code of the code, who may read them (audited), and the command line."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import segno
from fastapi.testclient import TestClient
from sqlalchemy import select

from allocator.pickup_codes import display_code, draw_codes
from allocator.slips import Slip, qr_svg, render_file
from allocator.store.campaign import approve_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.models import AllocationRow, AuditEntry
from allocator.store.rounds import import_folder_as_round, solve_round
from allocator.store.users import add_user, set_password
from api import pages
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario

ALLOCATOR = Path(sys.executable).parent / "allocator"
PASSWORD = "slips-are-printed-42"
CCCD = "Mang theo Căn cước công dân (CCCD)"
NO_WINDOW = "Điểm nhận sẽ báo giờ"


@dataclass
class Store:
    url: str
    folder: Path
    busiest: str  # the point with the most slips; officer "po" works there
    other: str  # another point; officer "qo" works there
    codes: dict[str, str]  # household -> canonical code, at the busiest point
    no_window: str  # a household of the busiest point whose allocation has no window


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("slips") / "s"
    scenario("sample", 3).write(path)
    return path


@pytest.fixture()
def store(db_url: str, folder: Path) -> Iterator[Store]:
    """Round 1 approved (with codes and windows), round 2 a draft; a planner, a sponsor and
    two point officers, each with a password."""
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        first = import_folder_as_round(session, folder, "Đợt 1", "setup")
        solve_round(session, first.id, "setup")
        approve_round(session, first.id, "setup")
        import_folder_as_round(session, folder, "Đợt 2", "setup")
        rows = list(session.scalars(select(AllocationRow).where(AllocationRow.round_id == 1)))
        # Approval gives codes and windows; a round approved before that may lack them.
        missing = [a for a in rows if a.pickup_code is None]
        for a, code in zip(missing, draw_codes(len(missing), {r.pickup_code for r in rows})):
            a.pickup_code = code
        for a in rows:
            if a.window_day is None:
                a.window_day, a.window_start, a.window_end = (
                    dt.date(2026, 9, 7), dt.time(8), dt.time(11))
        counts = pd.Series([a.point_id for a in rows]).value_counts()
        busiest, other = str(counts.index[0]), str(counts.index[1])
        here = sorted((a for a in rows if a.point_id == busiest), key=lambda a: a.household_id)
        here[0].window_day = here[0].window_start = here[0].window_end = None
        codes = {a.household_id: str(a.pickup_code) for a in here}
        session.commit()
        sponsor = str(pd.read_csv(folder / "lots.csv")["sponsor_id"].iloc[0])
        add_user(session, "an", "planner", None, "setup")
        add_user(session, "s1", "sponsor", sponsor, "setup")
        add_user(session, "po", "point", None, "setup", points=[busiest])
        add_user(session, "qo", "point", None, "setup", points=[other])
        for name in ("an", "s1", "po", "qo"):
            set_password(session, name, PASSWORD, "setup")
    engine.dispose()
    yield Store(db_url, folder, busiest, other, codes, here[0].household_id)


@pytest.fixture()
def app(store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=store.url))) as client:
        yield client


def as_user(app: TestClient, name: str) -> TestClient:
    app.cookies.clear()
    form = re.search(r'name="csrf" value="([0-9a-f]+)"', app.get("/login").text)
    assert form
    answer = app.post("/login", data={"name": name, "password": PASSWORD,
                                      "csrf": form.group(1)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    return app


def slips_in(html: str) -> list[str]:
    return re.findall(r'<article class="slip"[^>]* data-household="([^"]+)"', html)


def audit(store: Store, action: str) -> list[AuditEntry]:
    engine = make_engine(store.url)
    with make_sessions(engine)() as session:
        found = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                     .order_by(AuditEntry.id)))
    engine.dispose()
    return found


def test_a_point_s_page_holds_one_slip_per_allocation_with_its_code_as_a_qr_code(
        app: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    client = as_user(app, "an")
    assert 'href="/rounds/1/slips"' in client.get("/rounds/1").text  # the round page links
    # Only a round open for pickup has slips; every refusal is a page, never a 500.
    draft = client.get("/rounds/2/slips")
    assert draft.status_code == 409 and "phê duyệt" in draft.text and not slips_in(draft.text)
    assert "/rounds/2/slips" not in client.get("/rounds/2").text
    assert client.get("/rounds/99/slips").status_code == 404
    unknown = client.get("/rounds/1/slips", params={"point": "NO-SUCH-POINT"})
    assert unknown.status_code == 404 and "NO-SUCH-POINT" in unknown.text
    assert client.get("/rounds/1/slips", params={"point": "x\x00"}).status_code == 422
    assert client.get("/rounds/1/slips", params={"page": 0}).status_code == 422
    assert audit(store, "read pickup slips") == []
    answer = client.get("/rounds/1/slips", params={"point": store.busiest})
    assert answer.status_code == 200
    html = answer.text
    assert sorted(slips_in(html)) == sorted(store.codes)  # one slip per allocation, no other
    people = pd.read_csv(store.folder / "households.csv", dtype=str).set_index("household_id")
    points = pd.read_csv(store.folder / "points.csv", dtype=str).set_index("point_id")
    assert points.loc[store.busiest, "name"] in html
    for household, code in store.codes.items():
        assert people.loc[household, "head_name"] in html
        assert f'data-code="{code}"' in html and display_code(code) in html
        # The QR code is segno's for this code, built here from the code alone.
        expected = segno.make(code, micro=False).svg_inline(
            omitsize=True, svgclass="qr", lineclass=None, title=display_code(code))
        assert expected in html
    assert html.count(CCCD) == len(store.codes) and "Ủy ban nhân dân Phường" in html
    untimed = [a for a in html.split("<article")[1:] if NO_WINDOW in a]
    assert len(untimed) == 1 and f'data-household="{store.no_window}"' in untimed[0]
    assert html.count('<section class="sheet"') == -(-len(store.codes) // 4)
    # Within the content security policy: no script or style in the page itself.
    assert "'unsafe-inline'" not in answer.headers["content-security-policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html, re.IGNORECASE)
    assert '<link rel="stylesheet" href="/static/slips.css">' in html
    assert "@page{size:A4" in client.get("/static/slips.css").text
    # Every read is audited: who, which round, which point.
    [entry] = audit(store, "read pickup slips")
    assert entry.actor == "an" and entry.target == "round 1"
    assert entry.detail == {"point": store.busiest, "page": 1, "slips": len(store.codes)}
    # Without a point, the first point of the round; a long point is cut into pages.
    first = client.get("/rounds/1/slips")
    assert first.status_code == 200 and 'selected' in first.text and slips_in(first.text)
    monkeypatch.setattr(pages.slips, "PER_PAGE", 4)
    seen: list[str] = []
    count = -(-len(store.codes) // 4)
    for number in range(1, count + 1):
        html = client.get("/rounds/1/slips", params={"point": store.busiest, "page": number}).text
        seen += slips_in(html)
        assert f"{number}/{count}" in html
    assert sorted(seen) == sorted(store.codes)  # every slip once over the pages
    beyond = client.get("/rounds/1/slips", params={"point": store.busiest, "page": 999})
    assert beyond.status_code == 200 and slips_in(beyond.text)  # the last page


def test_officers_see_their_own_points_only_and_sponsors_nothing(
        app: TestClient, store: Store) -> None:
    client = as_user(app, "po")
    own = client.get("/rounds/1/slips")  # the officer's point, without asking
    assert own.status_code == 200 and sorted(slips_in(own.text)) == sorted(store.codes)
    assert f'value="{store.other}"' not in own.text  # the selector offers their points only
    assert client.get("/slips").status_code == 200 and "/rounds/1/slips" in \
        client.get("/slips").text
    refused = client.get("/rounds/1/slips", params={"point": store.other})
    assert refused.status_code == 403 and not slips_in(refused.text)
    # Another point's officer never sees this point's codes.
    other = as_user(app, "qo").get("/rounds/1/slips", params={"point": store.busiest})
    assert other.status_code == 403
    assert not any(code in other.text for code in store.codes.values())
    sponsor = as_user(app, "s1")
    for path in ("/rounds/1/slips", f"/rounds/1/slips?point={store.busiest}", "/slips"):
        answer = sponsor.get(path)
        assert answer.status_code == 403 and not slips_in(answer.text)
    app.cookies.clear()
    assert app.get("/rounds/1/slips", follow_redirects=False).headers["location"].startswith(
        "/login")
    reads = audit(store, "read pickup slips")
    assert [(e.actor, e.detail["point"]) for e in reads] == [("po", store.busiest)]


def test_the_command_line_writes_a_point_s_slips_and_refuses_mistakes(
        store: Store, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(ALLOCATOR), "round", "slips", *args], cwd=tmp_path,
                              env={**os.environ, "DATABASE_URL": store.url},
                              capture_output=True, text=True, timeout=300)

    done = run("1", "--out", str(tmp_path / "p.html"), "--point", store.busiest)
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert sorted(slips_in(html)) == sorted(store.codes)
    assert "@page{size:A4" in html.split("</style>")[0]  # the print style sheet, inside
    assert "<script" not in html and "http" not in html.replace("http://www.w3.org", "")
    for args, words in [(("2", "--out", "x.html"), "draft"),
                        (("1", "--out", "/no/such/dir/x.html"), "no such folder"),
                        (("1", "--out", "x.html", "--point", "NOPE"), "NOPE"),
                        (("1", "--out", "x.pdf"), ".html"),
                        (("99", "--out", "x.html"), "no round 99")]:
        refused = run(*args)
        assert refused.returncode == 2 and words in refused.stderr, (args, refused.stderr)
        assert "Traceback" not in refused.stderr
    assert not (tmp_path / "x.html").exists()
    [entry] = audit(store, "download pickup slips")
    assert entry.actor == "cli" and entry.detail["point"] == store.busiest
    assert entry.detail["slips"] == len(store.codes)


def test_a_slip_without_window_or_code_still_prints() -> None:
    code = draw_codes(1)[0]
    base = dict(household_id="H1", head_name="Nguyễn Văn A", commune="Phường Bến Thành",
                point_id="P1", point_name="UBND Phường Bến Thành", point_place="Phường Bến Thành",
                model="Itel A70")
    timed = Slip(**base, code=code, day=dt.date(2026, 9, 7), opens=dt.time(8),
                 closes=dt.time(11))
    html = render_file([timed, Slip(**base, code=None), Slip(**base, code="ABC")], "t")
    assert "Thứ Hai, 07/09/2026" in html and "08:00–11:00" in html
    assert html.count(NO_WINDOW) == 2 and html.count("Chưa có mã nhận máy") == 2
    assert html.count('<svg viewBox') == 1 and str(qr_svg(code)) in html
    assert segno.make(code, micro=False).designator == "1-H"  # room to spare for a fold

