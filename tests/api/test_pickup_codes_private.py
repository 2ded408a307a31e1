"""No pickup code reaches a sponsor: every route of the service, asked with a sponsor's
token and with a sponsor's signed-in browser, answers without any code of an approved
round, in its stored form (ABCDEFGH) or as printed (ABCD-EFGH).

A code is what a household shows to collect its phone; whoever holds it can collect in
its place, so only the household, its point and the planners may see it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Mount, Route

from allocator.pickup_codes import display_code
from allocator.store import ledger
from allocator.store.campaign import approve_round, create_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.models import AllocationRow
from allocator.store.rounds import record_handovers, solve_round
from allocator.store.sign_in import start_session
from allocator.store.users import add_user
from api.main import create_app
from api.pages.auth import COOKIE
from api.settings import Settings
from scenarios.named import scenario


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    scenario("sample", 5).write(folder)
    return folder


@pytest.fixture()
def world(db_url: str, sample: Path) -> Iterator[tuple[TestClient, dict[str, str], dict]]:
    """An approved round with some phones handed over; a sponsor's token and browser."""
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, sample / f"{kind}.csv", "setup").ok
        ledger.set_budget(session, 400_000_000, "setup")
        row = create_round(session, {"budget_vnd": 300_000_000}, "Đợt 1", "setup")
        solve_round(session, row.id, "setup")
        approve_round(session, row.id, "setup")
        served = session.execute(select(AllocationRow.household_id, AllocationRow.point_id,
                                        AllocationRow.sponsor_id, AllocationRow.pickup_code)
                                 .where(AllocationRow.round_id == row.id)).all()
        record_handovers(session, row.id, [s[0] for s in served[:20]], "setup")
        sponsor = pd.Series([s[2] for s in served]).value_counts().index[0]
        user, token = add_user(session, "s1", "sponsor", str(sponsor), "setup")
        cookie = start_session(session, user)
        planner = add_user(session, "an", "planner", None, "setup")[1]
        session.commit()
        facts = {"round": row.id, "household": served[0][0], "point": served[0][1],
                 "sponsor": str(sponsor), "codes": [s[3] for s in served]}
    engine.dispose()
    with TestClient(create_app(Settings(database_url=db_url, run_worker=False))) as client:
        yield client, {"token": token, "cookie": cookie, "planner": planner}, facts


def _path(template: str, facts: dict) -> str:
    """A route's path with its parameters filled in with real ids (never a code)."""
    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        if "round" in name or "version" in name:
            return str(facts["round"])
        if name == "household_id":
            return str(facts["household"])
        if name == "point_id":
            return str(facts["point"])
        if name == "kind":
            return "households"
        return "1" if name.endswith("id") else "en"
    return re.sub(r"{([^}]+)}", fill, template)


def _routes(app: FastAPI) -> list[tuple[str, list[str]]]:
    """Every path and its methods, routers included (FastAPI 0.16x keeps an included
    router as one entry of `app.routes` that expands to its routes)."""
    found = []
    for entry in app.routes:
        if isinstance(entry, Mount):
            continue  # static files and the docs' assets
        if hasattr(entry, "effective_route_contexts"):
            found += [(c.path, sorted(c.methods or ())) for c in entry.effective_route_contexts()]
        elif isinstance(entry, APIRoute | Route):
            found.append((entry.path, sorted(entry.methods or ())))
    return found


def test_no_pickup_code_appears_in_any_sponsor_response(world: tuple) -> None:
    client, who, facts = world
    codes = [c for c in facts["codes"] if c]
    assert len(codes) == len(facts["codes"]) > 100
    hidden = re.compile("|".join(re.escape(f) for c in codes for f in (c, display_code(c))))
    routes = _routes(client.app)  # type: ignore[arg-type]
    assert "/api/sponsor/lots" in dict(routes) and "/portal" in dict(routes)
    queries = ("", f"?round={facts['round']}&sponsor={facts['sponsor']}")
    asked = answered = 0
    for credentials in ("token", "cookie"):
        client.cookies.clear()
        headers = {}
        if credentials == "token":
            headers = {"Authorization": f"Bearer {who['token']}"}
        else:
            client.cookies.set(COOKIE, who["cookie"])
        for template, methods in routes:
            path = _path(template, facts)
            for method in methods:
                if method == "HEAD" or (credentials == "cookie" and method != "GET") \
                        or path == "/logout":
                    continue  # a browser's forms need its CSRF field; signing out ends it
                for query in queries if method == "GET" else ("",):
                    answer = client.request(method, path + query, headers=headers,
                                            follow_redirects=False)
                    asked += 1
                    answered += answer.status_code == 200
                    found = hidden.search(answer.text)
                    assert found is None, (credentials, method, path + query,
                                           answer.status_code, found.group(0))
    # The sponsor's own routes and pages did answer (the check is not vacuous).
    assert answered >= 10, answered
    for path in ("/api/sponsor/lots", f"/api/sponsor/rounds/{facts['round']}/distribution",
                 f"/api/sponsor/rounds/{facts['round']}/distribution.csv"):
        got = client.get(path, headers={"Authorization": f"Bearer {who['token']}"})
        assert got.status_code == 200 and not hidden.search(got.text), path
    client.cookies.set(COOKIE, who["cookie"])
    for path in (f"/portal?round={facts['round']}", "/portal/campaign",
                 f"/portal/figures.csv?round={facts['round']}"):
        got = client.get(path)
        assert got.status_code == 200 and not hidden.search(got.text), path
    assert asked > 100, asked
    # A planner's handover list does hold them: the search finds a code where there is one.
    listed = client.get(f"/api/rounds/{facts['round']}/handover",
                        headers={"Authorization": f"Bearer {who['planner']}"})
    assert listed.status_code == 200 and hidden.search(listed.text)
