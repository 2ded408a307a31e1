"""Acceptance: every route of the app tried with a point officer's token (SQLite and
PostgreSQL). Only the routes open to point officers answer; no response holds a full ID
number; what answers is limited to the officer's own points."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx import Response
from starlette.routing import Mount

from allocator.store import point_desk
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.models import User
from api import deps
from api.main import create_app
from api.settings import Settings
from tests.store.point_store import (
    NAMES,
    UNSERVED,
    UNSERVED_NAME,
    PointStore,
    at_point,
    build,
    imei,
    national_id,
)

MINE, THEIRS = "P-SG", "P-BT"


@dataclass(frozen=True)
class Endpoint:
    path: str
    method: str
    route: APIRoute


def every_endpoint(app: FastAPI) -> list[Endpoint]:
    """Every (path, method) the app serves, routers included in it too.

    FastAPI 0.16x keeps an included router as one entry of `app.routes` that expands
    to its routes; older versions list the routes themselves. The test below checks
    that this finds at least every operation of the OpenAPI schema, so a change of
    FastAPI that hides routes from it fails loudly instead of testing fewer routes.
    """
    found: list[Endpoint] = []

    def add(path: str, methods: Any, route: Any) -> None:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)  # "{round_id:int}" as the schema says it
        for method in sorted(methods or ()):
            if method != "HEAD":
                found.append(Endpoint(path, method, route))

    for entry in app.routes:
        if isinstance(entry, Mount):
            continue  # static files and the docs' assets: no data
        if hasattr(entry, "effective_route_contexts"):
            for context in entry.effective_route_contexts():
                add(context.path, context.methods, context.original_route)
        elif isinstance(entry, APIRoute):
            add(entry.path, entry.methods, entry)
    return found


def _calls(route: Any) -> set[Any]:
    calls: set[Any] = set()
    pending = list(getattr(route, "dependant", None).dependencies
                   if getattr(route, "dependant", None) else [])
    while pending:
        dependant = pending.pop()
        calls.add(dependant.call)
        pending.extend(dependant.dependencies)
    return calls


def open_to_officers(endpoint: Endpoint) -> bool:
    """Routes a point officer may use: the point desk's (PointDep), and those that take any
    signed-in user and decide by role themselves (cases: a commune officer opens one)."""
    calls = _calls(endpoint.route)
    if deps.point_officer in calls:
        return True
    role_gates = {deps.planner, deps.sponsor}
    return deps.current_user in calls and not calls & role_gates and not any(
        getattr(c, "__name__", "") in ("planner", "sponsor") for c in calls)


@dataclass
class World:
    client: TestClient
    store: PointStore
    other_handover: int
    case_id: int


@pytest.fixture()
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        store = build(session, tmp_path / "registry")
        theirs = at_point(store, THEIRS)[0]
        other = point_desk.record(
            session, session.get(User, store.officers[THEIRS].id), round_id=store.round_id,
            household_id=theirs, id_last4=national_id(int(theirs[1:]))[-4:],
            authorised_note="", outcome="handed", imei=imei(500), iccid="", note="",
            idempotency_key="their-00001")
    engine.dispose()
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        # a case of the other point, opened by its officer (if cases are served)
        opened = client.post("/api/cases", headers=_auth(store, f"officer-{THEIRS}"),
                             json={"kind": "why_not_me", "household_id": UNSERVED,
                                   "note": f"{UNSERVED_NAME} hỏi vì sao chưa được nhận"})
        assert opened.status_code == 201, opened.text
        case_id = opened.json()["id"]
        yield World(client, store, other.id, int(case_id))


def _auth(store: PointStore, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {store.tokens[name]}"}


def _text(response: Response) -> str:
    """What a response says, whatever its form: JSON unescaped, CSV, a workbook's cells."""
    data = response.content
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return "\n".join(book.read(n).decode("utf-8", "replace") for n in book.namelist()
                             if n.endswith(".xml"))
    text = data.decode("utf-8-sig", "replace")
    if "json" in response.headers.get("content-type", ""):
        try:
            return json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            return text
    return text


def _leaks(store: PointStore, text: str) -> list[str]:
    """Full ID numbers anywhere; names, phones and codes of other points' households."""
    numbers = [*range(len(NAMES)), int(UNSERVED[1:])]
    found = [f"ID {national_id(n)}" for n in numbers if national_id(n) in text]
    digits = re.sub(r"\D", "", text)
    found += [f"ID digits {national_id(n)}" for n in numbers
              if national_id(n) in digits and national_id(n) not in text]
    found += [f"{what} of {UNSERVED} (not served, another commune)"
              for what in (UNSERVED_NAME, f"09012345{int(UNSERVED[1:]):02d}") if what in text]
    for household, point in store.points.items():
        if point == MINE:
            continue
        n = int(household[1:])
        code = store.codes[household]
        for what in (NAMES[n], f"09012345{n:02d}", code, f"{code[:4]}-{code[4:]}"):
            if what in text:
                found.append(f"{what} of {household} at {point}")
    return found


def _fill(path: str, world: World, household: str) -> str:
    values = {"round_id": str(world.store.round_id), "household_id": household,
              "handover_id": str(world.other_handover), "case_id": str(world.case_id),
              "lot_id": "LOT-A", "kind": "households", "code": "vi"}
    filled = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "1"), path)
    return filled.replace("{kind}", "csv")


def test_the_route_list_covers_the_openapi_schema(world: World) -> None:
    app = world.client.app
    assert isinstance(app, FastAPI)
    listed = {(e.path, e.method) for e in every_endpoint(app)}
    schema = {(path, method.upper()) for path, item in app.openapi()["paths"].items()
              for method in item}
    assert schema <= listed, sorted(schema - listed)
    assert any(p.startswith("/api/point/") for p, _ in listed)


def test_every_route_with_a_point_token(world: World) -> None:
    client, store = world.client, world.store
    app = client.app
    assert isinstance(app, FastAPI)
    headers = _auth(store, f"officer-{MINE}")
    mine, theirs = at_point(store, MINE)[0], at_point(store, THEIRS)[0]
    answered: list[str] = []
    leaks: list[str] = []
    for endpoint in every_endpoint(app):
        for household in ((mine, theirs) if "{household_id}" in endpoint.path else (mine,)):
            url = _fill(endpoint.path, world, household)
            response = client.request(endpoint.method, url, headers=headers,
                                      follow_redirects=False)
            where = f"{endpoint.method} {url} -> {response.status_code}"
            assert response.status_code < 500, where + " " + response.text[:300]
            leaks += [f"{where}: {leak}" for leak in _leaks(store, _text(response))]
            if not endpoint.path.startswith("/api"):
                # Pages take a browser session, not a token: a sign-in page or a redirect
                # to it (the browser test signs an officer in to the pages).
                assert response.status_code in (200, 303, 400, 401, 403, 404, 405, 422), where
                if response.status_code == 303:
                    assert "/login" in response.headers["location"] or \
                        endpoint.path in ("/logout", "/lang/{code}"), where
                continue
            if endpoint.path == "/api/health":
                assert response.status_code == 200, where  # public: status and version only
            elif open_to_officers(endpoint):
                # no body was sent: a 422 for routes that need one; 403 for the other
                # point's household; 404 for a case that is not there
                assert response.status_code in (200, 201, 403, 404, 409, 422), where
                if response.is_success:
                    answered.append(where)
            else:
                assert response.status_code == 403, where + " " + response.text[:200]
    assert not leaks, leaks
    assert any("/api/point/rounds/" in a and mine in a for a in answered), answered


def _desk(client: TestClient, store: PointStore, name: str, method: str, url: str,
          echoed: str = "", **given: Any) -> Response:
    """A request as `name`; an officer's answer holds nothing of other points (but what
    the request itself sent, `echoed`)."""
    response = client.request(method, url, headers=_auth(store, name) | given.pop("headers", {}),
                              **given)
    assert response.status_code < 500, response.text
    if name == f"officer-{MINE}":
        leaks = _leaks(store, _text(response).replace(echoed, "") if echoed else
                       _text(response))
        assert not leaks, (leaks, response.text)
    return response


def test_the_point_routes_answer_with_the_officers_points_only(world: World) -> None:
    client, store = world.client, world.store
    officer = f"officer-{MINE}"
    mine, theirs = at_point(store, MINE), at_point(store, THEIRS)
    r = store.round_id
    # find: by code, phone or name, never another point's
    found = _desk(client, store, officer, "GET", "/api/point/households",
                  params={"q": store.codes[mine[0]]}).json()
    assert [f["household_id"] for f in found] == [mine[0]]
    assert found[0]["id_last4"] == national_id(int(mine[0][1:]))[-4:]
    assert set(found[0]) >= {"head_name", "phone", "code", "window_day", "model"}
    assert not {"national_id", "lat", "lon", "poverty_status", "flags"} & set(found[0])
    for q in (store.codes[theirs[0]], NAMES[int(theirs[0][1:])], "thi", "van"):
        rows = _desk(client, store, officer, "GET", "/api/point/households",
                     params={"q": q}).json()
        assert {row["point_id"] for row in rows} <= {MINE}, (q, rows)
    assert _desk(client, store, officer, "GET", "/api/point/households",
                 params={"q": "a\x00"}).status_code == 422
    # one household
    assert _desk(client, store, officer, "GET",
                 f"/api/point/rounds/{r}/households/{mine[0]}").status_code == 200
    at = f"/api/point/rounds/{r}/households/"
    elsewhere = _desk(client, store, officer, "GET", at + theirs[0])
    nowhere = _desk(client, store, officer, "GET", at + "NOPE")
    assert elsewhere.status_code == nowhere.status_code == 404  # trying ids tells nothing
    assert elsewhere.json()["detail"].replace(theirs[0], "?") == \
        nowhere.json()["detail"].replace("NOPE", "?")
    assert _desk(client, store, officer, "GET",
                 f"/api/point/rounds/{r}/households/NOPE").status_code == 404
    assert _desk(client, store, officer, "GET",
                 f"/api/point/rounds/{2**31}/households/{mine[0]}").status_code == 422
    # record: the body is strict; a refusal names its field (422 wrong in itself, 409 refused
    # by the records)
    body = {"round_id": r, "household_id": mine[0], "outcome": "handed",
            "id_last4": national_id(int(mine[0][1:]))[-4:], "imei": imei(1),
            "idempotency_key": "api-form-0001"}
    bad = _desk(client, store, officer, "POST", "/api/point/handovers",
                json=body | {"imei": imei(1)[:-1] + "0" if imei(1)[-1] != "0" else "1"})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "body.imei"
    assert "IMEI" in bad.json()["detail"] and "IMEI" in bad.json()["detail_vi"]
    assert body["id_last4"] != "0000"
    wrong = _desk(client, store, officer, "POST", "/api/point/handovers",
                  json=body | {"id_last4": "0000"})
    assert wrong.status_code == 409 and wrong.json()["problems"][0]["field"] == "body.id_last4"
    assert "do not match" in wrong.json()["detail"] and "không khớp" in wrong.json()["detail_vi"]
    for extra in ({"national_id": "x"}, {"via": "paper"}, {"round_id": "1"},
                  {"note": "a\x00b"}, {"imei": "\ud800"}):
        # sent as JSON text: a lone surrogate travels escaped, as a client may send it
        assert _desk(client, store, officer, "POST", "/api/point/handovers",
                     content=json.dumps(body | extra),
                     headers={"Content-Type": "application/json"}).status_code == 422, extra
    other = body | {"household_id": theirs[1], "idempotency_key": "api-form-0002"}
    assert _desk(client, store, officer, "POST", "/api/point/handovers",
                 json=other).status_code == 404
    done = _desk(client, store, officer, "POST", "/api/point/handovers", json=body)
    assert done.status_code == 200 and done.json()["outcome"] == "handed"
    again = _desk(client, store, officer, "POST", "/api/point/handovers", json=body)
    assert again.json()["id"] == done.json()["id"]
    # undo: own record only, with a reason
    handover = done.json()["id"]
    assert _desk(client, store, officer, "POST", f"/api/point/handovers/{handover}/undo",
                 json={}).status_code == 422
    assert _desk(client, store, officer, "POST",
                 f"/api/point/handovers/{world.other_handover}/undo",
                 json={"reason": "not mine"}).status_code == 404
    assert _desk(client, store, officer, "POST", f"/api/point/handovers/{2**31}/undo",
                 json={"reason": "x"}).status_code == 422
    undone = _desk(client, store, officer, "POST", f"/api/point/handovers/{handover}/undo",
                   json={"reason": "nhầm hộ"})
    assert undone.status_code == 200 and undone.json()["undone_by"] == officer
    # the paper list: another point's code is a located error, nothing recorded
    header = "Mã nhận máy,Đã nhận,IMEI,Ghi chú\n"
    paper = header + f"{store.codes[mine[1]]},có,{imei(2)},\n{store.codes[theirs[1]]},có," \
        f"{imei(3)},\n"
    sent = store.codes[theirs[1]]
    refused = _desk(client, store, officer, "POST", f"/api/point/rounds/{r}/paper-list",
                    f"{sent[:4]}-{sent[4:]}",
                    files={"file": ("list.csv", paper.encode(), "text/csv")})
    assert refused.status_code == 422
    assert any(p["row"] == 3 and "another point" in p["message"]
               for p in refused.json()["problems"])
    good = header + f"{store.codes[mine[1]]},có,{imei(2)},\n"
    accepted = _desk(client, store, officer, "POST", f"/api/point/rounds/{r}/paper-list",
                     files={"file": ("list.csv", good.encode(), "text/csv")})
    assert accepted.status_code == 200 and accepted.json()["recorded"] == 1
    assert _desk(client, store, officer, "POST", f"/api/point/rounds/{r}/paper-list",
                 files={"file": ("list.exe", b"MZ", "application/octet-stream")}
                 ).status_code == 422
    # the handover list: own point only
    listed = _desk(client, store, officer, "GET", f"/api/point/rounds/{r}/handover-list",
                   params={"format": "xlsx"})
    assert listed.status_code == 200 and listed.content.startswith(b"PK")
    text = _desk(client, store, officer, "GET", f"/api/point/rounds/{r}/handover-list",
                 params={"point": MINE}).content.decode("utf-8-sig")
    assert all(NAMES[int(h[1:])] in text for h in mine)
    assert _desk(client, store, officer, "GET", f"/api/point/rounds/{r}/handover-list",
                 params={"point": THEIRS}).status_code == 403
    # a planner sees every point
    everyone = _desk(client, store, "planner", "GET", "/api/point/households",
                     params={"q": store.codes[theirs[0]]}).json()
    assert [e["point_id"] for e in everyone] == [THEIRS]
    # a sponsor has no desk
    sponsor_free = client.get("/api/point/households", params={"q": "van"})
    assert sponsor_free.status_code == 401
