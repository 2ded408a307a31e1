"""Follow-up calls through the app and the command line, on SQLite and PostgreSQL: the
planner's draw, the call list and answers of planners and point officers (another
point's household reads as not on the list, a 404), the share of phones in use on the
campaign page and in /api/campaign, and the sponsor's suppressed view of it."""

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
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from allocator.disclosure import HIDDEN
from allocator.report.labels import Text
from allocator.store import ledger
from allocator.store.campaign import approve_round, create_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.models import AllocationRow, AuditEntry, Case, FollowUp, Round
from allocator.store.rounds import record_handovers, solve_round
from allocator.store.users import add_user, set_password
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario

ALLOCATOR = Path(sys.executable).parent / "allocator"
PASSWORD = "calls-households-back-7"
NAMES = {"planner": "hoa", "sponsor": "tt", "mine": "cb-mot", "theirs": "cb-hai"}


@dataclass
class Store:
    url: str
    sessions: sessionmaker[Session]
    round_id: int  # handed over 60 days ago, drawn at 20%
    early: int  # handed over today: not due
    tokens: dict[str, str]
    point: str  # officer "mine"'s point
    other: str  # officer "theirs"'s point
    sponsor_id: str


def _round(session: Session, name: str, budget: int, handed: int | None) -> int:
    row = create_round(session, {"budget_vnd": budget}, name, "setup")
    solve_round(session, row.id, "setup")
    approve_round(session, row.id, "setup")
    ids = list(session.scalars(select(AllocationRow.household_id)
                               .where(AllocationRow.round_id == row.id)
                               .order_by(AllocationRow.household_id)))
    record_handovers(session, row.id, ids if handed is None else ids[:handed], "setup")
    return row.id


def api(client: TestClient, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def build(url: str, tmp: Path) -> Store:
    folder = tmp / "sample"
    scenario("sample", 4).write(folder)
    engine = make_engine(url)
    prepare(engine)
    sessions = make_sessions(engine)
    with sessions() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, folder / f"{kind}.csv", "setup").ok
        ledger.set_budget(session, 2_000_000_000, "setup")
        first = _round(session, "Đợt 1", 600_000_000, None)
        early = _round(session, "Đợt 2", 100_000_000, 5)
        # Round 1's handovers were two months ago: its follow-up is due.
        past = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=60)
        session.execute(update(AllocationRow).where(AllocationRow.round_id == first,
                                                    AllocationRow.handed_over_at.is_not(None))
                        .values(handed_over_at=past))
        session.execute(update(Round).where(Round.id == first).values(
            pickup_deadline=past + dt.timedelta(days=5)))
        session.commit()
        tokens = {}
        _, tokens["planner"] = add_user(session, NAMES["planner"], "planner", None, "setup")
        sponsor_id = str(session.scalar(select(AllocationRow.sponsor_id)
                                        .where(AllocationRow.round_id == first).limit(1)))
        _, tokens["sponsor"] = add_user(session, NAMES["sponsor"], "sponsor", sponsor_id,
                                        "setup")
    with TestClient(create_app(Settings(database_url=url, run_worker=False))) as client:
        drawn = client.post(f"/api/rounds/{first}/followups",
                            json={"share": 0.2, "minimum": 30, "seed": 2025},
                            headers=api(client, tokens["planner"]))
        assert drawn.status_code == 201, drawn.text
    with sessions() as session:
        by_point: dict[str, int] = {}
        for r in session.scalars(select(FollowUp).where(FollowUp.round_id == first)):
            by_point[r.point_id] = by_point.get(r.point_id, 0) + 1
        point, other = sorted(by_point, key=lambda p: (-by_point[p], p))[:2]
        _, tokens["mine"] = add_user(session, NAMES["mine"], "point", None, "setup",
                                     points=[point])
        _, tokens["theirs"] = add_user(session, NAMES["theirs"], "point", None, "setup",
                                       points=[other])
        for name in NAMES.values():
            set_password(session, name, PASSWORD, "setup")
    return Store(url, sessions, first, early, tokens, point, other, sponsor_id)


@pytest.fixture(scope="module")
def store(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    tmp = tmp_path_factory.mktemp("followup")
    url = module_db_url
    made = build(url, tmp)
    yield made
    made.sessions.kw["bind"].dispose()


@pytest.fixture(scope="module")
def app(store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=store.url, run_worker=False))) as client:
        yield client


def _listed(store: Store, point: str | None = None) -> list[FollowUp]:
    with store.sessions() as session:
        query = select(FollowUp).where(FollowUp.round_id == store.round_id)
        if point:
            query = query.where(FollowUp.point_id == point)
        return list(session.scalars(query.order_by(FollowUp.household_id)))


def test_only_a_planner_draws_once_and_not_before_the_day(app: TestClient,
                                                         store: Store) -> None:
    path = f"/api/rounds/{store.round_id}/followups"
    for who in ("sponsor", "mine"):
        assert app.post(path, json={}, headers=api(app, store.tokens[who])).status_code == 403
    again = app.post(path, json={}, headers=api(app, store.tokens["planner"]))
    assert again.status_code == 409 and "seed 2025" in again.json()["detail"]
    early = app.post(f"/api/rounds/{store.early}/followups",
                     headers=api(app, store.tokens["planner"]))
    assert early.status_code == 409
    assert re.search(r"due on \d\d/\d\d/\d{4}", early.json()["detail"])
    assert "đến hạn gọi lại từ ngày" in early.json()["detail_vi"]
    for body in ({"share": 0}, {"share": 1.5}, {"share": "0.1"}, {"share": True},
                 {"minimum": -1}, {"minimum": 3.5}, {"minimum": "3"}, {"seed": -1},
                 {"seed": 2**53}, {"seed": 2**63}, {"other": 1}):
        answer = app.post(f"/api/rounds/{store.early}/followups", json=body,
                          headers=api(app, store.tokens["planner"]))
        assert answer.status_code == 422, body
        assert answer.json()["problems"][0]["field"].startswith("body"), body
    # JSON Schema's integer allows 3.0: it is the whole number 3 (and the round not due yet).
    assert app.post(f"/api/rounds/{store.early}/followups", json={"minimum": 3.0},
                    headers=api(app, store.tokens["planner"])).status_code == 409
    assert app.post("/api/rounds/999999/followups", json={},
                    headers=api(app, store.tokens["planner"])).status_code == 404


def test_the_call_list_is_the_officer_s_points_only_and_its_read_is_audited(
        app: TestClient, store: Store) -> None:
    path = f"/api/rounds/{store.round_id}/followups"
    everyone = app.get(path, headers=api(app, store.tokens["planner"])).json()
    listed = _listed(store)
    assert everyone["listed"] == len(listed) and everyone["drawn_at"]
    mine = app.get(path, headers=api(app, store.tokens["mine"])).json()
    assert {h["point_id"] for h in mine["households"]} == {store.point}
    assert mine["listed"] == len(_listed(store, store.point))
    assert all(h["head_name"] and h["phone"] for h in mine["households"])
    assert all("national_id" not in h for h in mine["households"])
    # Asking for another point's households gives none of them.
    asked = app.get(path, params={"point": store.other},
                    headers=api(app, store.tokens["mine"])).json()
    assert asked["households"] == []
    assert app.get(path, headers=api(app, store.tokens["sponsor"])).status_code == 403
    with store.sessions() as session:
        reads = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "read follow-up list", AuditEntry.actor == NAMES["mine"])).all()
    assert reads and reads[-1].target == f"round {store.round_id}"


def test_answers_at_the_officer_s_own_points_and_never_received_opens_a_case(
        app: TestClient, store: Store) -> None:
    mine = _listed(store, store.point)
    theirs = _listed(store, store.other)
    path = f"/api/rounds/{store.round_id}/followups"
    first, second = mine[0].household_id, mine[1].household_id
    answer = app.post(f"{path}/{first}", json={"answer": "not_in_use", "reason": "sold"},
                      headers=api(app, store.tokens["mine"]))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["answer"], answer.json()["answered_by"]) == ("not_in_use",
                                                                       NAMES["mine"])
    refused = app.post(f"{path}/{theirs[0].household_id}", json={"answer": "in_use"},
                       headers=api(app, store.tokens["mine"]))
    assert refused.status_code == 404  # as for a household never drawn: nothing learnt
    assert app.post(f"{path}/{first}", json={"answer": "in_use"},
                    headers=api(app, store.tokens["sponsor"])).status_code == 403
    assert app.post(f"{path}/nobody", json={"answer": "in_use"},
                    headers=api(app, store.tokens["planner"])).status_code == 404
    for body in ({"answer": "not_in_use"}, {"answer": "in_use", "reason": "sold"},
                 {"answer": "lost"}, {"answer": "not_in_use", "reason": "lost"},
                 {"answer": "in_use", "note": "x" * 1001}, {"answer": "in_use", "note": "a\x00"}):
        bad = app.post(f"{path}/{second}", json=body, headers=api(app, store.tokens["mine"]))
        assert bad.status_code == 422, body
    done = app.post(f"{path}/{second}", json={"answer": "never_received", "note": "đi vắng"},
                    headers=api(app, store.tokens["mine"]))
    assert done.status_code == 200
    with store.sessions() as session:
        case = session.scalars(select(Case).where(Case.household_id == second)).one()
    assert (case.kind, case.round_id, case.opened_by) == ("never_received", store.round_id,
                                                          NAMES["mine"])


def test_the_share_in_use_for_planners_and_for_the_sponsor(app: TestClient,
                                                          store: Store) -> None:
    listed = [r for r in _listed(store) if r.answer is None]
    ours = [r for r in listed if r.sponsor_id == store.sponsor_id][:12]
    for i, r in enumerate(ours):
        answer = "in_use" if i < 10 else "not_in_use"
        app.post(f"/api/rounds/{store.round_id}/followups/{r.household_id}",
                 json={"answer": answer, "reason": "" if i < 10 else "broken"},
                 headers=api(app, store.tokens["planner"]))
    every = _listed(store)
    answered = [r for r in every if r.answer]
    figures = app.get("/api/campaign", headers=api(app, store.tokens["planner"])).json()
    share = figures["followup"]
    assert share["answered"] == len(answered)
    assert share["in_use"] == sum(r.answer == "in_use" for r in answered)
    line = next(s for s in share["by_sponsor"] if s["sponsor_id"] == store.sponsor_id)
    ours_answered = [r for r in answered if r.sponsor_id == store.sponsor_id]
    assert line["answered"] == len(ours_answered)
    assert line["share_in_use"] == pytest.approx(
        sum(r.answer == "in_use" for r in ours_answered) / len(ours_answered))
    seen = app.get("/api/sponsor/followup", headers=api(app, store.tokens["sponsor"]))
    assert seen.status_code == 200
    lines = seen.json()
    assert lines[-1]["lot_id"] == ""
    rest = len(ours_answered) - sum(r.answer == "in_use" for r in ours_answered)
    assert rest >= 2
    if rest < 5:  # a small count: hidden, and the share with it
        assert lines[-1]["not_in_use"] in HIDDEN and lines[-1]["share_in_use"] in HIDDEN
    assert all(x["answered"] in HIDDEN or int(x["answered"]) == 0 or int(x["answered"]) >= 5
               for x in lines)
    text = seen.text
    assert not any(r.household_id in text for r in every)
    assert app.get("/api/sponsor/followup",
                   headers=api(app, store.tokens["planner"])).status_code == 403


# --- the pages -----------------------------------------------------------------------------


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def signed_in(app: TestClient, who: str) -> TestClient:
    app.cookies.clear()
    form = csrf(app.get("/login").text)
    answer = app.post("/login", data={"name": NAMES[who], "password": PASSWORD, "csrf": form},
                      follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    return app


def test_the_officer_s_page_lists_their_households_and_records_answers(
        app: TestClient, store: Store) -> None:
    client = signed_in(app, "mine")
    page = client.get(f"/rounds/{store.round_id}/followups")
    assert page.status_code == 200
    shown = set(re.findall(r'data-household="([^"]+)"', page.text))
    assert shown == {r.household_id for r in _listed(store, store.point)}
    assert "Đang dùng" in page.text and "Chưa nhận được máy" in page.text
    assert "<script" not in page.text.replace('<script src="/static/app.js" defer></script>', "")
    assert " style=" not in page.text
    token = csrf(page.text)
    household = [r for r in _listed(store, store.point) if r.answer is None][0].household_id
    missing = client.post(f"/rounds/{store.round_id}/followups/{household}",
                          data={"csrf": token, "answer": "not_in_use", "note": "giữ lại"})
    assert missing.status_code == 422
    assert 'id="answer-error"' in missing.text and "giữ lại" in missing.text
    done = client.post(f"/rounds/{store.round_id}/followups/{household}",
                       data={"csrf": token, "answer": "not_in_use", "reason": "cannot_operate"},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith(f"#h-{household}")
    assert f'data-household="{household}" data-answer="not_in_use"' in client.get(
        f"/rounds/{store.round_id}/followups").text
    theirs = _listed(store, store.other)[0].household_id
    refused = client.post(f"/rounds/{store.round_id}/followups/{theirs}",
                          data={"csrf": token, "answer": "in_use"})
    assert refused.status_code == 404
    assert client.post(f"/rounds/{store.round_id}/followups",
                       data={"csrf": token}).status_code == 403  # officers do not draw
    assert client.get("/followups").status_code == 200


def test_planner_pages_and_who_may_not_see_them(app: TestClient, store: Store) -> None:
    client = signed_in(app, "planner")
    rounds = client.get("/followups").text
    assert f'data-round="{store.round_id}"' in rounds and f'data-round="{store.early}"' in rounds
    early = client.get(f"/rounds/{store.early}/followups").text
    assert 'id="draw-form"' in early and 'id="followup-due"' in early
    refused = client.post(f"/rounds/{store.early}/followups",
                          data={"csrf": csrf(early), "share_percent": "5", "minimum": "30"})
    assert refused.status_code == 409 and "đến hạn gọi lại" in refused.text
    campaign = client.get("/campaign").text
    assert 'id="in-use"' in campaign and 'id="nav-followups"' in campaign
    answered = [r for r in _listed(store) if r.answer]
    if answered:
        used = sum(r.answer == "in_use" for r in answered)
        table = campaign.split('id="campaign-in-use"')[1]
        total = re.search(r'<tr data-total="1">.*?</tr>', table)
        assert total and f"<b>{len(answered)}</b>" in total.group(0)
        assert f"<b>{Text('vi').percent(used, len(answered))}</b>" in total.group(0)
    client = signed_in(app, "sponsor")
    for path in ("/followups", f"/rounds/{store.round_id}/followups"):
        assert client.get(path).status_code == 403
    portal = client.get("/portal/campaign")
    assert portal.status_code == 200 and 'id="in-use"' in portal.text
    assert not any(r.household_id in portal.text for r in _listed(store))


# --- the command line -------------------------------------------------------------------


def test_the_command_line(store: Store, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from allocator.cli_followup import followup_app

    env = {"DATABASE_URL": store.url}
    r = str(store.round_id)
    # Once through the installed command, to see it is registered; then in this process.
    again = subprocess.run([str(ALLOCATOR), "followup", "draw", r], cwd=tmp_path,
                           env={**os.environ, **env}, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 2 and "one draw" in again.stderr

    def run(*args: str) -> tuple[int, str]:
        done = CliRunner().invoke(followup_app, list(args), env=env)
        return done.exit_code, done.output

    assert run("draw", str(store.early), "--share", "2")[0] == 2
    code, said = run("draw", str(store.early))
    assert code == 2 and "is due on" in said
    code, said = run("list", r, "--out", str(tmp_path / "calls.csv"))
    assert code == 0, said
    table = pd.read_csv(tmp_path / "calls.csv", dtype=str, keep_default_na=False,
                        encoding="utf-8-sig")
    assert sorted(table["Mã hộ"]) == [f.household_id for f in _listed(store)]
    assert (table["Họ tên chủ hộ"] != "").all()
    household = [f for f in _listed(store) if f.answer is None][0].household_id
    code, said = run("answer", r, household, "not_in_use")
    assert code == 2 and "needs a reason" in said
    code, said = run("answer", r, household, "not_in_use", "--reason", "broken")
    assert code == 0, said
    assert run("answer", r, "nobody", "in_use")[0] == 2
    assert run("list", "999999")[0] == 2
