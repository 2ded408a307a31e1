"""Cases through the API and the pages, on SQLite and PostgreSQL: a commune officer opens
"why not me?" cases for their communes only and reads no personal data; a planner reads
the engine's explanation, corrects the registry, answers, closes and reopens; refusals
are 403, 404, 409 or 422, never 500; sponsors are refused everywhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.store import ledger
from allocator.store.campaign import approve_round, create_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.models import (
    AllocationRow,
    AuditEntry,
    Household,
    HouseholdContact,
    UnservedRow,
)
from allocator.store.rounds import solve_round
from allocator.store.users import add_user, set_password
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario

POINT, HOME = "UB-25747", "25747"
PASSWORD = "a-long-pass-phrase-7"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    scenario("sample", 4).write(folder)
    return folder


@dataclass
class Service:
    client: TestClient
    auth: dict[str, dict[str, str]]  # role -> bearer header
    served: str
    unserved: str
    elsewhere: str
    national_ids: list[str]  # of every household of the store
    url: str


@pytest.fixture()
def service(db_url: str, sample: Path) -> Iterator[Service]:
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, sample / f"{kind}.csv", "setup").ok
        ledger.set_budget(session, 400_000_000, "setup")
        row = create_round(session, {}, "r", "setup")
        solve_round(session, row.id, "setup")
        approve_round(session, row.id, "setup")
        served, sponsor = session.execute(
            select(AllocationRow.household_id, AllocationRow.sponsor_id)
            .where(AllocationRow.commune_code == HOME)
            .order_by(AllocationRow.household_id)).first()
        unserved = _unserved(session, Household.commune_code == HOME)
        elsewhere = _unserved(session, Household.commune_code != HOME)
        tokens = {"planner": add_user(session, "hoa", "planner", None, "setup")[1],
                  "point": add_user(session, "lan", "point", None, "setup",
                                    points=[POINT])[1],
                  "sponsor": add_user(session, "tt", "sponsor", sponsor, "setup")[1]}
        for name in ("hoa", "lan", "tt"):
            set_password(session, name, PASSWORD, "setup")
        ids = [i for i in session.scalars(select(HouseholdContact.national_id)) if i]
    engine.dispose()
    assert len(ids) > 100
    with TestClient(create_app(Settings(database_url=db_url, run_worker=False))) as client:
        yield Service(client, {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()},
                      served, unserved, elsewhere, ids, db_url)


def _unserved(session: Session, where: Any) -> str:
    found = session.scalar(select(UnservedRow.household_id)
                           .join(Household, Household.id == UnservedRow.household_id)
                           .where(where).order_by(UnservedRow.household_id))
    assert found
    return found


def _call(s: Service, role: str, method: str, path: str, code: int, **body: Any) -> Any:
    answer = s.client.request(method, path, headers=s.auth[role], json=body or None)
    assert answer.status_code == code, (method, path, answer.text)
    if role == "point":
        text = answer.text
        assert not any(i in text for i in s.national_ids), (path, "a full ID number")
        assert not any(f'"{key}"' in text for key in ("head_name", "phone", "correction"))
    return answer.json()


def test_an_officer_opens_cases_of_their_communes_only(service: Service) -> None:
    s = service
    case = _call(s, "point", "POST", "/api/cases", 201, household_id=s.unserved,
                 note="Bà hỏi tại UBND phường")
    assert (case["status"], case["kind"], case["commune_code"]) == ("open", "why_not_me", HOME)
    assert "national_id" not in case and "answered_by" not in case
    # A served household (409), another commune's or an unknown one (404, the same words:
    # trying ids tells an officer nothing), a second case (409): refused, each with its
    # sentence in English and Vietnamese.
    served = _call(s, "point", "POST", "/api/cases", 409, household_id=s.served)
    assert "phone to collect" in served["detail"] and "đang có máy chờ nhận" in \
        served["detail_vi"]
    elsewhere = _call(s, "point", "POST", "/api/cases", 404, household_id=s.elsewhere)
    unknown = _call(s, "point", "POST", "/api/cases", 404, household_id="NOPE")
    assert unknown["detail"] == "there is no household NOPE in the communes of your points"
    assert elsewhere["detail"] == unknown["detail"].replace("NOPE", s.elsewhere)
    again = _call(s, "point", "POST", "/api/cases", 409, household_id=s.unserved)
    assert f"case {case['id']}" in again["detail"]
    _call(s, "point", "POST", "/api/cases", 403, household_id=s.served, kind="never_received",
          round_id=1)
    # Strict bodies: an unknown field, a NUL, a true as a round id: 422.
    _call(s, "point", "POST", "/api/cases", 422, household_id=s.unserved, urgent=True)
    _call(s, "point", "POST", "/api/cases", 422, household_id=s.unserved, note="a\x00b")
    for raw in ('{"household_id": "' + s.unserved + '", "note": "a\\ud800b"}',
                '{"household_id": "H\\ud800"}'):
        sent = s.client.post("/api/cases", content=raw.encode(), headers={
            **s.auth["point"], "Content-Type": "application/json"})
        assert sent.status_code == 422, sent.text
    _call(s, "planner", "POST", "/api/cases", 422, household_id=s.served,
          kind="never_received", round_id=True)
    missing = _call(s, "planner", "POST", "/api/cases", 422, household_id=s.served,
                    kind="never_received")
    assert "names the round" in missing["detail"]
    _call(s, "planner", "POST", "/api/cases", 404, household_id=s.unserved,
          kind="never_received", round_id=1)
    _call(s, "planner", "POST", "/api/cases", 422, household_id="   ")
    # The planner opens one elsewhere; the officer sees only theirs.
    other = _call(s, "planner", "POST", "/api/cases", 201, household_id=s.elsewhere)
    listed = _call(s, "point", "GET", "/api/cases?status=open", 200)
    assert [c["id"] for c in listed["items"]] == [case["id"]]
    assert listed["counts"] == {"open": 1, "answered": 0, "closed": 0}
    assert _call(s, "planner", "GET", "/api/cases", 200)["total"] == 2
    _call(s, "point", "GET", f"/api/cases/{other['id']}", 404)  # as if it were not there
    mine = _call(s, "point", "GET", f"/api/cases/{case['id']}", 200)
    assert "explanation" not in mine
    # Officers do not answer, correct, close or reopen.
    for action, body in (("answer", {"text": "x"}), ("close", {}), ("reopen", {"reason": "x"}),
                         ("correction", {"members": 3})):
        _call(s, "point", "POST", f"/api/cases/{case['id']}/{action}", 403, **body)


def test_a_planner_explains_corrects_answers_closes_and_reopens(service: Service) -> None:
    s = service
    case = _call(s, "point", "POST", "/api/cases", 201, household_id=s.unserved)
    path = f"/api/cases/{case['id']}"
    seen = _call(s, "planner", "GET", path, 200)
    told = seen["explanation"]
    assert told["rounds"][0]["outcome"] == "unserved" and told["rounds"][0]["say_vi"]
    assert "head_name" in seen and "national_id" not in seen
    _call(s, "planner", "POST", f"{path}/close", 409)
    _call(s, "planner", "POST", f"{path}/reopen", 409, reason="x")
    # Corrections: unknown field, bad values, a personal field: refused, registry unchanged.
    _call(s, "planner", "POST", f"{path}/correction", 422, head_name="X")
    _call(s, "planner", "POST", f"{path}/correction", 422, members=0)
    _call(s, "planner", "POST", f"{path}/correction", 422, flags="bogus")
    _call(s, "planner", "POST", f"{path}/correction", 422, members="4")
    _call(s, "planner", "POST", f"{path}/correction", 422, members=None)
    _call(s, "planner", "POST", f"{path}/correction", 422, answer="only an answer")
    _call(s, "planner", "POST", f"{path}/correction", 404, commune_code="NO-SUCH")
    same = _call(s, "planner", "POST", f"{path}/correction", 409,
                 twog_handsets=told["registry"]["twog_handsets"])
    assert "nothing to correct" in same["detail"] and same["detail_vi"]
    # Coordinates go in pairs: clearing one the registry's other keeps is refused by the
    # records (409); one given and the other cleared in the request is wrong in itself.
    assert told["registry"]["lon"] is not None
    alone = _call(s, "planner", "POST", f"{path}/correction", 409, lat=None)
    assert "clear lat and lon together" in alone["detail"] and alone["detail_vi"]
    _call(s, "planner", "POST", f"{path}/correction", 422, lat=10.8, lon=None)
    _call(s, "planner", "POST", f"{path}/correction", 422, needs="a\tb")
    _call(s, "planner", "POST", f"{path}/correction", 422, commune_code="x" * 17)
    before = told["registry"]
    fixed = _call(s, "planner", "POST", f"{path}/correction", 200,
                  twog_handsets=before["twog_handsets"] + 1)
    assert fixed["status"] == "answered"
    assert fixed["changes"] == {"twog_handsets": [before["twog_handsets"],
                                                  before["twog_handsets"] + 1]}
    entry = re.search(r"audit entry (\d+)", fixed["correction"])
    assert entry
    engine = make_engine(s.url)
    with make_sessions(engine)() as session:
        audited = session.get(AuditEntry, int(entry.group(1)))
        assert audited is not None and audited.action == "correct household"
        assert session.get(Household, s.unserved).twog_handsets == before["twog_handsets"] + 1
        reads = session.scalars(select(AuditEntry.action).where(
            AuditEntry.target == f"case {case['id']}")).all()
    engine.dispose()
    assert reads[:3] == ["open case", "read case", "correct registry for case"]
    # The officer sees the answer, not the correction.
    assert _call(s, "point", "GET", path, 200)["answer"] == fixed["answer"]
    assert _call(s, "planner", "POST", f"{path}/answer", 200,
                 text="Đã sửa sổ hộ; hộ được xét ở đợt sau.")["status"] == "answered"
    assert _call(s, "planner", "POST", f"{path}/close", 200)["status"] == "closed"
    _call(s, "planner", "POST", f"{path}/close", 409)
    _call(s, "planner", "POST", f"{path}/answer", 409, text="late")
    _call(s, "planner", "POST", f"{path}/correction", 409, members=9)
    assert _call(s, "planner", "POST", f"{path}/reopen", 200,
                 reason="Hộ quay lại hỏi")["status"] == "open"
    _call(s, "planner", "POST", f"{path}/answer", 422, text="")
    _call(s, "planner", "POST", f"{path}/answer", 422, text=" \n ")
    _call(s, "planner", "POST", f"{path}/answer", 422, text="x", extra=1)
    _call(s, "planner", "GET", "/api/cases/999999", 404)
    _call(s, "planner", "POST", "/api/cases/999999/close", 404)
    _call(s, "planner", "GET", "/api/cases/99999999999", 422)
    _call(s, "planner", "GET", "/api/cases?status=lost", 422)


def test_sponsors_are_refused_on_every_case_route(service: Service) -> None:
    s = service
    case = _call(s, "planner", "POST", "/api/cases", 201, household_id=s.unserved)
    for method, path, body in (
            ("GET", "/api/cases", {}), ("GET", f"/api/cases/{case['id']}", {}),
            ("POST", "/api/cases", {"household_id": s.unserved}),
            ("POST", f"/api/cases/{case['id']}/answer", {"text": "x"}),
            ("POST", f"/api/cases/{case['id']}/close", {}),
            ("POST", f"/api/cases/{case['id']}/reopen", {"reason": "x"}),
            ("POST", f"/api/cases/{case['id']}/correction", {"members": 3})):
        _call(s, "sponsor", method, path, 403, **body)
    assert s.client.get("/api/cases").status_code == 401


# --- pages ---------------------------------------------------------------------------


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def _sign_in(client: TestClient, name: str) -> None:
    client.cookies.clear()
    form = _csrf(client.get("/login").text)
    answer = client.post("/login", data={"name": name, "password": PASSWORD, "csrf": form},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text


def _clean(html: str) -> str:
    """No inline script or style (the CSP forbids them)."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html and "<style" not in html
    return html


def test_the_pages_for_an_officer_and_a_planner(service: Service) -> None:
    s, client = service, service.client
    _sign_in(client, "lan")
    listed = _clean(client.get("/cases").text)
    assert 'id="nav-cases"' in listed and "Khiếu nại" in listed
    opened = client.post("/cases", data={"csrf": _csrf(listed), "household_id": s.unserved,
                                         "note": "Hỏi tại UBND"}, follow_redirects=False)
    assert opened.status_code == 303
    case_path = opened.headers["location"].split("?")[0]
    mine = _clean(client.get(case_path).text)
    assert s.unserved in mine and "correction-form" not in mine and "case-rounds" not in mine
    assert not any(i in mine for i in s.national_ids)
    refused = client.post("/cases", data={"csrf": _csrf(listed), "household_id": s.elsewhere})
    assert refused.status_code == 404 and "trong các xã của điểm nhận" in refused.text
    twice = client.post("/cases", data={"csrf": _csrf(listed), "household_id": s.unserved})
    assert twice.status_code == 409
    assert client.post(f"{case_path}/close", data={"csrf": _csrf(listed)}).status_code == 403

    _sign_in(client, "tt")
    assert client.get("/cases").status_code == 403
    assert client.get(case_path).status_code == 403

    _sign_in(client, "hoa")
    page = _clean(client.get("/cases?status=open").text)
    assert 'data-status="open" data-count="1"' in page
    seen = _clean(client.get(case_path).text)
    assert 'id="case-rounds"' in seen and 'data-outcome="unserved"' in seen
    token = _csrf(seen)
    assert client.post(f"{case_path}/close", data={"csrf": token}).status_code == 409
    bad = client.post(f"{case_path}/correction", data={"csrf": token, "members": "0"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    done = client.post(f"{case_path}/answer",
                       data={"csrf": token, "text": "Hộ chưa đủ điều kiện"},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("done=answered")
    closed = client.post(f"{case_path}/close", data={"csrf": token}, follow_redirects=True)
    assert closed.status_code == 200 and 'data-status="closed"' in closed.text
    assert client.get("/cases/0").status_code == 404
    assert client.get("/cases/999999").status_code == 404


def test_odd_input_on_the_case_pages_is_never_a_500(service: Service) -> None:
    s, client = service, service.client
    _sign_in(client, "hoa")
    token = _csrf(client.get("/cases").text)
    case = _call(s, "planner", "POST", "/api/cases", 201, household_id=s.unserved)["id"]
    odd = ["", " ", "\x00", "a\nb", "9" * 30, "-1", "1e309", "nan", "Hộ nghèo", "'; drop",
           "x" * 200]
    for text in odd:
        for path, form in (
                ("/cases", {"household_id": text, "note": text, "kind": text}),
                (f"/cases/{case}/answer", {"text": text}),
                (f"/cases/{case}/reopen", {"reason": text}),
                (f"/cases/{case}/correction", {"members": text, "lat": text, "flags": text,
                                               "commune_code": text, "answer": text})):
            answer = client.post(path, data={"csrf": token, **form}, follow_redirects=False)
            assert answer.status_code < 500, (path, form, answer.text[:300])
        quoted = quote(text, safe="")
        for path in (f"/cases/{quoted}", f"/cases?status={quoted}"):
            assert client.get(path).status_code < 500, path
