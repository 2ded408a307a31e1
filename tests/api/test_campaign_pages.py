"""The campaign pages through the app (no browser), on SQLite and PostgreSQL: the campaign
page and its forms, pickup deadlines and re-plans on the round page, the re-plan
difference, and the sponsor portal's view of the whole campaign.

The browser test (tests/browser/test_campaign_pages.py) looks at the same pages in
Chromium; these check figures, status codes, refusals and what a sponsor may see.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from allocator.disclosure import HIDDEN, _pinned
from allocator.store import ledger, sponsor_campaign
from allocator.store.campaign import approve_round, close_round, create_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.models import AllocationRow, Lot, Round
from allocator.store.progress import campaign_figures
from allocator.store.rounds import record_handovers, solve_round
from allocator.store.sponsor_view import sponsor_view, visible_rounds
from allocator.store.users import add_user, set_password
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario

PASSWORDS = {"planner": "hoa-plans-the-campaign-3", "sponsor": "tt-sees-its-lots-only-4"}
NAMES = {"planner": "hoa", "sponsor": "tt"}
BUDGET = 2_000_000_000


@dataclass
class Store:
    url: str
    folder: Path
    sessions: sessionmaker[Session]
    sponsor_id: str
    approved: int  # round 1: approved, some phones handed over


def build(url: str, tmp: Path) -> Store:
    """The sample city in the registry, the campaign budget set, round 1 made from the
    ledger, solved and approved, and 40 of its phones handed over; a planner and the
    sponsor with the most devices in it."""
    folder = tmp / "sample"
    scenario("sample", 4).write(folder)
    engine = make_engine(url)
    prepare(engine)
    sessions = make_sessions(engine)
    with sessions() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, folder / f"{kind}.csv", "setup").ok
        ledger.set_budget(session, BUDGET, "setup")
        first = create_round(session, {}, "Đợt 1", "setup")
        solve_round(session, first.id, "setup")
        approve_round(session, first.id, "setup")
        served = session.scalars(select(AllocationRow.household_id).where(
            AllocationRow.round_id == first.id).order_by(AllocationRow.household_id)).all()
        record_handovers(session, first.id, list(served[:40]), "setup")
        # The sponsor with the most devices in this round: several communes, small counts.
        sponsor_id = session.execute(
            select(AllocationRow.sponsor_id).where(AllocationRow.round_id == first.id)
            .group_by(AllocationRow.sponsor_id).order_by(func.count().desc(),
                                                          AllocationRow.sponsor_id)).scalar()
        add_user(session, NAMES["planner"], "planner", None, "setup")
        add_user(session, NAMES["sponsor"], "sponsor", sponsor_id, "setup")
        for role, name in NAMES.items():
            set_password(session, name, PASSWORDS[role], "setup")
    return Store(url, folder, sessions, str(sponsor_id), first.id)


@pytest.fixture(scope="module")
def store(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store the tests only read (or change and put back), whatever their order."""
    tmp = tmp_path_factory.mktemp("campaign-pages")
    url = module_db_url
    made = build(url, tmp)
    yield made
    made.sessions.kw["bind"].dispose()


def client_for(url: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=url, run_worker=False)))


@pytest.fixture(scope="module")
def app(store: Store) -> Iterator[TestClient]:
    with client_for(store.url) as client:
        yield client


def alert(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>([^<]*)<', html)
    assert found, "no refusal on the page"
    return found.group(1)


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def as_role(app: TestClient, role: str) -> TestClient:
    app.cookies.clear()
    if role == "anonymous":
        return app
    form = csrf(app.get("/login").text)
    answer = app.post("/login", data={"name": NAMES[role], "password": PASSWORDS[role],
                                      "csrf": form}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    return app


def kpi(html: str, key: str) -> str:
    found = re.search(rf'data-kpi="{key}" data-value="([^"]*)"', html)
    assert found, key
    return found.group(1)


def test_the_planner_sees_the_campaign_s_figures(app: TestClient, store: Store) -> None:
    client = as_role(app, "planner")
    answer = client.get("/campaign")
    assert answer.status_code == 200
    html = answer.text
    with store.sessions() as session:
        figures = campaign_figures(session)
    h = figures["households"]
    assert h["surveyed"] == 2_000 and h["handed_over"] == 40
    assert h["eligible"] == h["handed_over"] + h["reserved"] + h["no_show"] + h["not_reached"]
    for key in ("surveyed", "eligible", "handed_over", "reserved", "no_show", "not_reached"):
        assert kpi(html, key) == str(h[key]), key
    assert kpi(html, "remaining") == str(h["eligible"] - 40)
    assert kpi(html, "budget_total") == str(BUDGET)
    assert int(kpi(html, "budget_committed")) == figures["budget"]["committed_vnd"] > 0
    # Every commune of the city is in the table, with its counts; the map draws them.
    rows = re.findall(r'<tr data-commune="(\w+)">', html)
    assert len(rows) == len(figures["communes"]) == 168
    assert html.count("<circle") >= 100
    assert 'class="sortable" id="campaign-communes"' in html
    # Today's handovers are one bar of the chart; the stock adds up per sponsor.
    assert html.count("class='day'") >= 1
    sponsors = re.findall(r'<tr data-sponsor="([^"]+)">', html)
    assert sponsors == [s["sponsor_id"] for s in figures["stock"]]
    assert sum(s["handed_over"] for s in figures["stock"]) == 40
    assert 'href="/campaign"' in html  # in the header, for planners
    english = client.get("/lang/en?next=/campaign").text
    assert "Households surveyed" in english and "Stock by sponsor" in english
    client.get("/lang/vi?next=/campaign")


def test_the_goal_date_and_the_pace(store: Store) -> None:
    with store.sessions() as session:
        goal = ledger.settings(session).goal_date
        before = campaign_figures(session, goal.replace(day=1))
        after = campaign_figures(session, goal.replace(year=goal.year + 1))
    remaining = before["households"]["eligible"] - 40
    assert before["pace"]["days_left"] == goal.day - 1 and not before["pace"]["goal_passed"]
    assert before["pace"]["needed_per_day"] == pytest.approx(remaining / (goal.day - 1))
    assert after["pace"]["goal_passed"] and after["pace"]["needed_per_day"] is None
    assert after["pace"]["days_past_goal"] >= 365


def test_no_one_but_a_planner_reaches_the_campaign_pages(app: TestClient, store: Store) -> None:
    for role in ("sponsor", "anonymous"):
        client = as_role(app, role)
        for path in ("/campaign", f"/rounds/{store.approved}/diff",
                     f"/rounds/{store.approved}/diff.csv"):
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code == (403 if role == "sponsor" else 303), (role, path)
        for path in ("/campaign/budget", "/campaign/pledge",
                     f"/rounds/{store.approved}/replan"):
            answer = client.post(path, data={"csrf": "0" * 32, "budget_vnd": "1"},
                                 follow_redirects=False)
            assert answer.status_code in (303, 403), (role, path)
    with store.sessions() as session:
        assert ledger.budget(session).total == BUDGET


def test_the_forms_refuse_bad_input_with_a_sentence(app: TestClient, store: Store) -> None:
    client = as_role(app, "planner")
    token = csrf(client.get("/campaign").text)
    for typed, words in (("nhiều tiền", "Không đọc được số tiền"), ("-5", "không thể âm"),
                         ("1e9", "Không đọc được số tiền"), ("", "Hãy nhập số tiền"),
                         ("9" * 30, "quá lớn"), ("3,5 đồng", "số đồng chẵn")):
        answer = client.post("/campaign/budget", data={"csrf": token, "budget_vnd": typed})
        assert answer.status_code == 422, typed
        assert words in alert(answer.text), typed  # the field's reason, in the page's language
        assert f'value="{typed}"' in answer.text  # what was typed is kept
    too_little = client.post("/campaign/budget", data={"csrf": token, "budget_vnd": "1.000"})
    assert too_little.status_code == 409
    assert "the budget cannot be less than" in alert(too_little.text)  # the ledger's words
    with store.sessions() as session:
        lot = session.scalars(select(Lot.id).order_by(Lot.id)).first()
        assert ledger.budget(session).total == BUDGET and lot is not None
        pledged = session.get_one(Lot, lot).quantity
    for devices, lot_id, words in (("không", lot, "choose a lot"), ("", lot, "choose a lot"),
                                   ("5", "", "choose a lot"),
                                   ("0", lot, "must be between 1 and 10,000,000"),
                                   ("20000000", lot, "must be between 1 and 10,000,000"),
                                   ("5", "NO-SUCH-LOT", "no lot NO-SUCH-LOT")):
        answer = client.post("/campaign/pledge", data={"csrf": token, "lot_id": lot_id,
                                                       "devices": devices})
        assert answer.status_code in (409, 422), (devices, lot_id, answer.status_code)
        assert words in alert(answer.text), (devices, lot_id)
        assert f'value="{devices}"' in answer.text  # what was typed is kept
    done = client.post("/campaign/pledge", data={"csrf": token, "lot_id": lot,
                                                 "devices": "7"}, follow_redirects=False)
    assert done.status_code == 303
    assert "Đã ghi cam kết." in client.get(done.headers["location"]).text
    with store.sessions() as session:
        assert session.get_one(Lot, lot).quantity == pledged + 7
    raised = client.post("/campaign/budget", data={"csrf": token,
                                                   "budget_vnd": f"{BUDGET + 1:,}"},
                         follow_redirects=False)
    assert raised.status_code == 303
    forged = client.post("/campaign/budget", data={"csrf": "0" * 32, "budget_vnd": "1"})
    assert forged.status_code == 403
    with store.sessions() as session:
        assert ledger.budget(session).total == BUDGET + 1
        ledger.set_budget(session, BUDGET, "test")


def _sponsor_campaign_page(app: TestClient) -> str:
    client = as_role(app, "sponsor")
    answer = client.get("/portal/campaign")
    assert answer.status_code == 200
    return answer.text


def test_the_portal_s_campaign_view_holds_no_personal_data_and_no_small_count(
        app: TestClient, store: Store) -> None:
    html = _sponsor_campaign_page(app)
    with store.sessions() as session:
        own = set(session.scalars(select(Lot.id).where(Lot.sponsor_id == store.sponsor_id)))
        served = set(session.scalars(select(AllocationRow.household_id)))
    shown_lots = set(re.findall(r'<tr data-lot="([^"]+)">', html))
    assert shown_lots == own
    households = pd.read_csv(store.folder / "households.csv", dtype=str)
    who = households[households["household_id"].isin(served)]
    for column in ("household_id", "head_name", "phone", "national_id", "lat", "lon"):
        for value in who[column].dropna().unique():
            assert str(value) not in html, (column, value)
    figures = [unescape(x) for x in re.findall(
        r'data-figure="(?:handed_over|reserved|released)">(?:<b>)?([^<]*)<', html)]
    assert figures
    for text in figures:
        assert text in HIDDEN or text == "0" or int(text) >= 5, text
    assert 'id="campaign-communes"' not in html  # by commune: round by round only
    # Another sponsor's id in the address changes nothing for a sponsor.
    client = as_role(app, "sponsor")
    other = client.get("/portal/campaign?sponsor=SOMEONE-ELSE").text
    assert set(re.findall(r'<tr data-lot="([^"]+)">', other)) == own
    assert 'href="/portal/campaign"' in client.get("/portal").text


def test_no_hidden_count_of_the_campaign_view_can_be_worked_out(store: Store) -> None:
    with store.sessions() as session:
        for sponsor in session.scalars(select(Lot.sponsor_id).distinct()):
            lots = {lot: (int(q), int(f or 0)) for lot, q, f in session.execute(
                select(Lot.id, Lot.quantity, Lot.faulty).where(Lot.sponsor_id == sponsor))}
            made = sponsor_campaign.figures(sponsor_campaign._counts(session, list(lots)), lots)
            cells, sums, keep, facts = made
            shown = sponsor_campaign.suppress(cells, sums, keep, facts)
            hidden = {k: v for k, v in shown.items() if v in HIDDEN}
            assert not _pinned(cells, sums, hidden, facts), sponsor
            view = sponsor_campaign.sponsor_campaign(session, sponsor)
            assert view is not None
            for line in [*view.lots, view.total]:
                # Available gives away the devices in use: shown only when they are.
                if line.available.isdigit():
                    use = line.pledged - line.faulty - int(line.available)
                    assert use == 0 or use >= 5 or line.handed_over in HIDDEN, line


def test_re_plan_from_the_round_page_and_approve_the_version(db_url: str,
                                                             tmp_path: Path) -> None:
    store = build(db_url, tmp_path)
    with client_for(db_url) as app:
        _re_plan(app, store)
    store.sessions.kw["bind"].dispose()


def _re_plan(app: TestClient, store: Store) -> None:
    client = as_role(app, "planner")
    page = client.get(f"/rounds/{store.approved}").text
    assert 'id="pickup-deadline"' in page and 'id="replan-form"' in page
    token = csrf(page)
    # Closing asks first, and says what it commits; before the deadline, it says so.
    asked = client.get(f"/rounds/{store.approved}/close")
    assert asked.status_code == 200 and 'id="close-confirmation"' in asked.text
    assert 'data-handed-over="40"' in asked.text and 'data-early="1"' in asked.text
    assert "trả về kho" in asked.text and "không đến nhận" in asked.text
    unconfirmed = client.post(f"/rounds/{store.approved}/close", data={"csrf": token})
    assert unconfirmed.status_code == 200 and 'id="confirm-close"' in unconfirmed.text
    early = client.post(f"/rounds/{store.approved}/close", data={"csrf": token, "confirm": "1"})
    assert early.status_code == 409 and "Hãy xác nhận nếu vẫn muốn đóng" in early.text
    bad = client.post(f"/rounds/{store.approved}/replan",
                      data={"csrf": token, "close_points": "NOWHERE", "lot_quantities": "x"})
    assert bad.status_code == 422
    assert "hãy ghi mã lô và số máy dạng LÔ=20" in bad.text  # in the page's language
    unknown = client.post(f"/rounds/{store.approved}/replan",
                          data={"csrf": token, "close_points": "NOWHERE"})
    assert unknown.status_code == 422
    assert f"Đợt {store.approved} không có điểm nhận NOWHERE" in unknown.text
    with store.sessions() as session:
        point = session.execute(
            select(AllocationRow.point_id).where(AllocationRow.round_id == store.approved,
                                                 AllocationRow.handed_over_at.is_(None))
            .group_by(AllocationRow.point_id).order_by(func.count().desc(),
                                                       AllocationRow.point_id)).scalar()
    made = client.post(f"/rounds/{store.approved}/replan",
                       data={"csrf": token, "close_points": str(point)},
                       follow_redirects=False)
    assert made.status_code == 303, made.text[:500]
    version = int(made.headers["location"].rsplit("/", 1)[1])
    with store.sessions() as session:
        solve_round(session, version, "test")
    page = client.get(f"/rounds/{version}").text
    assert f"thay cho đợt {store.approved}…</a>" in page  # "Approve, superseding round N"
    assert 'id="replan-difference"' in page
    changes = int(re.search(r'data-change="changes_point" data-value="(\d+)"', page)[1])
    loses = int(re.search(r'data-change="loses" data-value="(\d+)"', page)[1])
    assert changes + loses >= 1  # the closed point's households moved or lost their phone
    assert int(re.search(r'data-change="handed_over_fixed" data-value="(\d+)"', page)[1]) == 40
    diff = client.get(f"/rounds/{version}/diff")
    assert diff.status_code == 200
    listed = re.findall(r'<tr data-change="(\w+)">', diff.text)
    assert len(listed) == min(500, changes + loses + sum(
        int(n) for n in re.findall(r'data-change="(?:changes_device|changes_point_and_device|'
                                   r'newly_served)" data-value="(\d+)"', page)))
    assert "keeps" not in listed
    sheet = client.get(f"/rounds/{version}/diff.csv")
    assert sheet.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert len(rows) == len(listed) and all(r["point_before"] == str(point)
                                            for r in rows if r["change"] == "changes_point")
    assert client.get(f"/rounds/{store.approved}/diff").status_code == 409  # not a re-plan
    asked = client.get(f"/rounds/{version}/approve").text
    assert f'data-supersedes="{store.approved}"' in asked
    deadline = re.search(r'name="pickup_deadline" value="([0-9-]+)"', asked)[1]
    approved = client.post(f"/rounds/{version}/approve",
                           data={"csrf": token, "confirm": "1", "pickup_deadline": deadline},
                           follow_redirects=False)
    assert approved.status_code == 303
    old = client.get(f"/rounds/{store.approved}").text
    assert 'data-status="superseded"' in old and "Đã được thay bằng phương án mới" in old
    assert f'href="/rounds/{version}"' in old
    new = client.get(f"/rounds/{version}").text
    assert 'data-status="approved"' in new and f'href="/rounds/{version}/close"' in new
    closed = client.post(f"/rounds/{version}/close",
                         data={"csrf": token, "confirm": "1", "force": "1"},
                         follow_redirects=False)
    assert closed.status_code == 303
    with store.sessions() as session:
        assert session.get_one(Round, version).status == "closed"
        figures = campaign_figures(session)
    assert figures["households"]["reserved"] == 0 and figures["households"]["no_show"] > 0
    listing = client.get("/rounds").text
    assert "Đã được thay bằng phương án mới" in listing and "Đã đóng" in listing


@pytest.mark.parametrize("path,form", [
    ("/campaign/budget", {"budget_vnd": "\x00"}),
    ("/campaign/budget", {"budget_vnd": "١٢٣"}),
    ("/campaign/pledge", {"lot_id": "x" * 64, "devices": "1"}),
    ("/campaign/pledge", {"lot_id": "\x00", "devices": "1"}),
    ("/rounds/1/replan", {"lot_quantities": "A=1.2.3.4.5.6.7.8.9.0"}),
    ("/rounds/1/replan", {"withdraw": "\x00 ; ;"}),
    ("/rounds/2147483647/replan", {"close_points": "P"}),
])
def test_odd_input_is_never_a_500(app: TestClient, path: str, form: dict[str, str]) -> None:
    client = as_role(app, "planner")
    token = csrf(client.get("/campaign").text)
    answer = client.post(path, data={"csrf": token, **form}, follow_redirects=False)
    assert answer.status_code < 500, answer.text[:300]
    for get in ("/rounds/2147483647/diff", "/rounds/2147483647/diff.csv", "/rounds/0/diff",
                "/portal/campaign?sponsor=%00", "/campaign?done=%00"):
        assert client.get(get, follow_redirects=False).status_code < 500, get


def test_the_campaign_view_beside_the_round_views_gives_away_no_hidden_count(
        db_url: str, tmp_path: Path) -> None:
    """A closed round shows a lot's allocated devices; were the campaign to show its
    released ones exactly, allocated - released would be the small count of handed-over
    devices that the round view hides. Every campaign figure, less what the round views
    publish exactly, must leave nothing hidden pinned down."""
    store = build(db_url, tmp_path)
    with store.sessions() as session:
        close_round(session, store.approved, "planner", force=True)
        second = create_round(session, {}, "Đợt 2", "setup")
        solve_round(session, second.id, "setup")
        approve_round(session, second.id, "setup")
        served = session.scalars(select(AllocationRow.household_id).where(
            AllocationRow.round_id == second.id).order_by(AllocationRow.household_id)).all()
        record_handovers(session, second.id, list(served[:3]), "setup")
        for sponsor in session.scalars(select(Lot.sponsor_id).distinct()):
            view = sponsor_campaign.sponsor_campaign(session, sponsor)
            assert view is not None
            rounds = [sponsor_view(session, row, sponsor)
                      for row in visible_rounds(session, sponsor)]
            for line in view.lots:
                parts = {"handed_over": [], "reserved": [], "released": []}
                for shown in rounds:
                    for lot in shown.lots:
                        if lot.lot_id != line.lot_id:
                            continue
                        parts["handed_over"].append(lot.handed_over)
                        later = "released" if shown.round_status == "closed" else "reserved"
                        parts[later].append(lot.pending)
                for part, published in parts.items():
                    figure = getattr(line, part)
                    if figure in HIDDEN or figure == "0":
                        continue
                    # Published exactly: so is every round's part of it.
                    assert all(p.isdigit() for p in published), (sponsor, line, part)
    store.sessions.kw["bind"].dispose()


def test_the_round_page_counts_households_still_without_a_window(db_url: str,
                                                                 tmp_path: Path) -> None:
    """Approval gives windows within capacity; those who did not fit are counted on the
    round page, so the planner knows whom the point must still tell a time."""
    store = build(db_url, tmp_path)
    with store.sessions() as session:
        waiting = list(session.scalars(select(AllocationRow).where(
            AllocationRow.round_id == store.approved, AllocationRow.handed_over_at.is_(None),
            AllocationRow.released_at.is_(None)).order_by(AllocationRow.household_id)))
        assert waiting and all(a.window_day is not None for a in waiting)
        with client_for(db_url) as app:
            assert 'id="without-window"' not in as_role(app, "planner").get(
                f"/rounds/{store.approved}").text
        for allocation in waiting[:3]:  # as if their point's windows had been full
            allocation.window_day = allocation.window_start = allocation.window_end = None
        session.commit()
    with client_for(db_url) as app:
        page = as_role(app, "planner").get(f"/rounds/{store.approved}").text
    shown = re.search(r'id="without-window">[^<]*<b>([^<]+)</b>', page)
    assert shown is not None and shown.group(1) == "3"
    store.sessions.kw["bind"].dispose()
