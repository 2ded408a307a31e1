"""What sponsors are shown: no small count, and none that the other figures pin down.

The figures are built exactly as the portal, its CSV and the sponsor API build
them; an exact attack (CP-SAT over every table consistent with what is shown and
with what a reader knows besides: listed communes are not zero, a lot gives at most
its quantity, a flag counts at most every household) must leave every "<5" with
at least two possible values.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from allocator.contract import FLAGS, STATUSES
from allocator.disclosure import PRIMARY, SECONDARY, SMALL, WITHHELD, suppress
from allocator.store.campaign import approve_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.models import AllocationRow, Round
from allocator.store.rounds import import_folder_as_round, solve_round
from allocator.store.sponsor_view import (
    VIEWS,
    Allocated,
    figures,
    make_view,
    publish,
    sponsor_view,
)
from allocator.store.users import add_user, set_password
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario
from tests.allocator.test_disclosure import exact_ranges

ALLOCATED = st.builds(
    Allocated,
    lot_id=st.sampled_from(["L1", "L2", "L3"]),
    commune_code=st.sampled_from([f"C{i}" for i in range(6)]),
    poverty_status=st.sampled_from(STATUSES),
    flags=st.sets(st.sampled_from(FLAGS[:3]), max_size=2).map(";".join),
    handed_over=st.booleans())


@settings(max_examples=80)
@given(st.lists(ALLOCATED, max_size=45), st.booleans(), st.lists(st.integers(0, 3),
                                                                  min_size=4, max_size=4))
def test_no_small_count_can_be_worked_out(allocated: list[Allocated], spare_lot: bool,
                                          spare: list[int]) -> None:
    lots = sorted({a.lot_id for a in allocated} | ({"L9"} if spare_lot else set()))
    quantities = {lot: sum(a.lot_id == lot for a in allocated) + extra
                  for lot, extra in zip(lots, spare, strict=False)}
    made = figures(allocated, lots, quantities)
    got = publish(made)
    for key, n in made.cells.items():
        if 0 < n < SMALL:
            assert got[key] in (PRIMARY, WITHHELD), key
        elif got[key] not in (SECONDARY, WITHHELD):
            assert got[key] == str(n), key
    for key, (low, high) in exact_ranges(made.cells, made.sums, got, made.facts).items():
        assert low < high, f"{key} is pinned to {low}: {got}"
    assert made.cells[("total", "a")] == len(allocated)
    assert made.facts.nonzero == {k for k in made.cells if k[0] == "commune"}


@settings(max_examples=40)
@given(st.lists(ALLOCATED, min_size=5, max_size=40))
def test_handovers_never_change_the_allocation_figures(allocated: list[Allocated]) -> None:
    """Allocations are fixed once approved: a sponsor who looked before and after a
    handover sees the same allocation figures, so two looks tell no more than one."""
    lots = sorted({a.lot_id for a in allocated})
    before = publish(figures([a._replace(handed_over=False) for a in allocated], lots))
    after = publish(figures(allocated, lots))
    assert {k: t for k, t in after.items() if k[-1] not in ("h", "p")} == \
        {k: t for k, t in before.items() if k[-1] not in ("h", "p")}


def test_the_figures_add_up_and_keep_the_lots_in_view() -> None:
    allocated = ([Allocated("L1", "C1", "poor", "disability", True)] * 3 +
                 [Allocated("L1", "C2", "near_poor", "", False)] * 20 +
                 [Allocated("L2", "C2", "poor", "merit_family", False)] * 9)
    cells, sums, keep, _ = figures(allocated, ["L1", "L2"])
    got = suppress(cells, sums, keep)
    assert (got[("lot", "L1", "a")], got[("lot", "L2", "a")], got[("total", "a")]) == \
        ("23", "9", "32")
    assert got[("lot", "L1", "h")] == "<5" and got[("lot", "L1", "p")] == "*"
    assert got[("commune", "C1")] == "<5" and got[("commune", "C2")] == "*"
    assert got[("group", "disability")] == "<5" and got[("group", "merit_family")] == "9"


# --- Through the store and the service: which rounds a sponsor sees, and kept figures ---

@pytest.fixture()
def rounds(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    """Round 1 approved; round 2 solved, not approved; round 3 approved without the
    sponsor's lots. A sponsor with an API token and a password, and a planner's token."""
    folder, other = tmp_path / "s", tmp_path / "other"
    scenario("sample", 3).write(folder)
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        for approve in (True, False):
            row = import_folder_as_round(session, folder, "Đợt", "setup")
            solve_round(session, row.id, "setup")
            if approve:
                approve_round(session, row.id, "setup")
        served = Counter(session.scalars(select(AllocationRow.sponsor_id)
                                         .where(AllocationRow.round_id == 1)))
        mine = served.most_common(1)[0][0]
        shutil.copytree(folder, other)
        lots = pd.read_csv(folder / "lots.csv", dtype=str)
        lots[lots["sponsor_id"] != mine].to_csv(other / "lots.csv", index=False)
        # Other households: one household never holds phones of two approved rounds.
        households = pd.read_csv(folder / "households.csv", dtype=str, keep_default_na=False)
        households["household_id"] = "B-" + households["household_id"]
        households.to_csv(other / "households.csv", index=False)
        row = import_folder_as_round(session, other, "Đợt", "setup")
        solve_round(session, row.id, "setup")
        approve_round(session, row.id, "setup")
        world: dict[str, Any] = {
            "sponsor_id": mine,
            "sponsor": add_user(session, "s1", "sponsor", mine, "setup")[1],
            "planner": add_user(session, "an", "planner", None, "setup")[1],
            "password": "s1-sees-its-figures-9"}
        set_password(session, "s1", world["password"], "setup")
    engine.dispose()
    VIEWS.clear()
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        yield client, world


def _page_session(client: TestClient, world: dict[str, Any]) -> None:
    """Sign in at /login as a browser does; the client keeps the session cookie."""
    form = re.search(r'name="csrf" value="([^"]*)"', client.get("/login").text)
    answer = client.post("/login", data={"name": "s1", "password": world["password"],
                                         "csrf": form.group(1) if form else ""},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]


def test_rounds_a_sponsor_may_not_see_answer_like_rounds_that_do_not_exist(
        rounds: tuple[TestClient, dict[str, Any]]) -> None:
    """Not approved (2), approved without its lots (3), no such round (4, 2**31 - 1):
    every sponsor route answers each the same, so none tells which rounds exist."""
    client, world = rounds
    bearer = {"Authorization": f"Bearer {world['sponsor']}"}
    for route in ("distribution", "distribution.csv", "lots"):
        assert client.get(f"/api/sponsor/rounds/1/{route}", headers=bearer).status_code == 200
        answers = {}
        for n in (2, 3, 4, 2**31 - 1):
            got = client.get(f"/api/sponsor/rounds/{n}/{route}", headers=bearer)
            answers[n] = (got.status_code, got.json()["detail"].replace(str(n), "N"),
                          got.headers["content-type"])
        assert set(answers.values()) == {(404, "no results for round N", "application/json")}
    _page_session(client, world)
    assert client.get("/portal?round=1").status_code == 200
    listed = client.get("/portal").text
    assert "#1 " in listed and "#2 " not in listed and "#3 " not in listed
    for path in ("/portal?round={}", "/portal/figures.csv?round={}"):
        pages = {n: client.get(path.format(n)) for n in (2, 3, 4, 2**31 - 1)}
        assert {p.status_code for p in pages.values()} == {404}
        # The same page but for the round's number (in the message and the links).
        texts = {p.text.replace(f"round {n}", "round N").replace(f"%3D{n}", "%3DN")
                 for n, p in pages.items()}
        assert len(texts) == 1


def test_kept_figures_are_the_fresh_ones_and_a_handover_changes_them(
        rounds: tuple[TestClient, dict[str, Any]], db_url: str) -> None:
    client, world = rounds
    engine = make_engine(db_url)
    sessions = make_sessions(engine)
    sponsor = world["sponsor_id"]
    bearer = {"Authorization": f"Bearer {world['sponsor']}"}
    with sessions() as session:
        row = session.get(Round, 1)
        assert row is not None
        first = sponsor_view(session, row, sponsor)
        assert sponsor_view(session, row, sponsor) is first  # kept, the audit not run again
        assert first == make_view(session, row, sponsor)
        households = list(session.scalars(select(AllocationRow.household_id).where(
            AllocationRow.round_id == 1, AllocationRow.sponsor_id == sponsor)))
    before = client.get("/api/sponsor/rounds/1/lots", headers=bearer).json()
    assert {x["handed_over"] for x in before} <= {"0", "–"}
    recorded = client.post("/api/rounds/1/handovers", json={"household_ids": households[:7]},
                           headers={"Authorization": f"Bearer {world['planner']}"})
    assert recorded.status_code == 200, recorded.text
    after = client.get("/api/sponsor/rounds/1/lots", headers=bearer).json()
    assert after != before
    with sessions() as session:
        row = session.get(Round, 1)
        assert row is not None
        again = sponsor_view(session, row, sponsor)
        assert again is not first and again == make_view(session, row, sponsor)
        assert [x._asdict() for x in again.lots] == after
        assert again.total.allocated == first.total.allocated
        assert again.total.handed_over != first.total.handed_over
    engine.dispose()
