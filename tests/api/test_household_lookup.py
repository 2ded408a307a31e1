"""Why not me? through the API and the pages, on SQLite and PostgreSQL: planners search by
id, phone or ID number and read a household round by round; sponsors and point officers
are refused; every look-up is audited; no input is a 500."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from allocator.lookup_words import CAUSE, binding_kinds
from allocator.store import ledger
from allocator.store.campaign import approve_round, create_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.models import AllocationRow, AuditEntry, HouseholdContact, UnservedRow
from allocator.store.rounds import solve_round
from allocator.store.users import add_user, set_password
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario

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
    outranked: tuple[str, str]  # household, detail
    ineligible: tuple[str, str]  # household, reason
    phone: str  # of the outranked household
    url: str


@pytest.fixture()
def service(db_url: str, sample: Path) -> Iterator[Service]:
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, sample / f"{kind}.csv", "setup").ok
        ledger.set_budget(session, 400_000_000, "setup")
        row = create_round(session, {}, "Đợt 1", "setup")
        solve_round(session, row.id, "setup")
        approve_round(session, row.id, "setup")
        served, sponsor = session.execute(select(AllocationRow.household_id,
                                                 AllocationRow.sponsor_id)
                                          .order_by(AllocationRow.household_id)).first()
        rows = session.execute(select(UnservedRow.household_id, UnservedRow.reason,
                                      UnservedRow.detail).order_by(UnservedRow.household_id)).all()
        outranked = next((h, d) for h, r, d in rows if r == "outranked")
        ineligible = next((h, r) for h, r, _ in rows if r != "outranked")
        phone = session.scalar(select(HouseholdContact.phone)
                               .where(HouseholdContact.household_id == outranked[0]))
        tokens = {"planner": add_user(session, "hoa", "planner", None, "setup")[1],
                  "point": add_user(session, "lan", "point", None, "setup",
                                    points=["UB-25747"])[1],
                  "sponsor": add_user(session, "tt", "sponsor", sponsor, "setup")[1]}
        for name in ("hoa", "lan", "tt"):
            set_password(session, name, PASSWORD, "setup")
    engine.dispose()
    assert phone
    with TestClient(create_app(Settings(database_url=db_url, run_worker=False)),
                    raise_server_exceptions=False) as client:
        yield Service(client, {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()},
                      served, outranked, ineligible, phone, db_url)


def _get(s: Service, role: str, path: str, code: int) -> Any:
    answer = s.client.get(path, headers=s.auth[role])
    assert answer.status_code == code, (path, answer.text[:300])
    return answer.json()


def _audit(s: Service) -> list[AuditEntry]:
    engine = make_engine(s.url)
    with make_sessions(engine)() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    engine.dispose()
    return entries


def test_a_planner_finds_a_household_and_reads_why(service: Service) -> None:
    s = service
    household, detail = s.outranked
    spaced = f"+84 {s.phone[1:4]} {s.phone[4:7]} {s.phone[7:]}"
    found = _get(s, "planner", f"/api/households?q={quote(spaced)}", 200)
    assert [i["household_id"] for i in found["items"]] == [household]
    item = found["items"][0]
    assert item["matched_by"] == ["phone"] and item["head_name"] and item["commune_name"]
    told = _get(s, "planner", f"/api/households/{quote(household)}", 200)
    entry = told["rounds"][0]
    kinds = binding_kinds("outranked", detail)
    assert (entry["outcome"], entry["reason"], entry["detail"]) == ("unserved", "outranked",
                                                                     detail)
    assert tuple(entry["binding"]) == kinds == ("budget",)
    assert CAUSE["budget"][0] in entry["explanation_vi"]
    assert CAUSE["budget"][1] in entry["explanation_en"]
    would = entry["would_serve"]
    assert would["lot"]["public_cost_vnd"] > would["budget_left_vnd"]
    assert would["point"]["in_reach"] and would["cutoff_weight"] is not None
    assert told["head_name"] == item["head_name"] and told["phone"] == s.phone
    served = _get(s, "planner", f"/api/households/{quote(s.served.lower())}", 200)
    assert served["household_id"] == s.served
    assert served["rounds"][0]["outcome"] == "served" and served["rounds"][0]["code_issued"]
    ineligible, reason = s.ineligible
    other = _get(s, "planner", f"/api/households/{quote(ineligible)}", 200)["rounds"][0]
    assert other["reason"] == reason and other["would_serve"] is None
    assert CAUSE[reason][1] in other["explanation_en"]
    entries = _audit(s)
    assert [(e.actor, e.action) for e in entries[-4:]] == [
        ("hoa", "search households"), ("hoa", "look up household"),
        ("hoa", "look up household"), ("hoa", "look up household")]
    assert entries[-4].detail["households"] == [household]
    assert s.phone[1:] not in str(entries[-4].detail)


def test_refusals_are_sentences_never_500s(service: Service) -> None:
    s = service
    for query in ("", "%20%20", "x" * 101, "x" * 5000, "a%00b", "%0A", "%7F"):
        refused = _get(s, "planner", f"/api/households?q={query}", 422)
        assert "1 to 100 characters" in refused["detail"], query
        assert "từ 1 đến 100 ký tự" in refused["detail_vi"], query
        assert refused["problems"][0]["field"] == "query.q", query
    assert _get(s, "planner", "/api/households", 422)["problems"][0]["field"] == "query.q"
    for query in ("' OR '1'='1", "%25", "_", "Hộ nghèo", "🙂", "\u0301", "\u202e12", "0" * 100,
                  "1;DROP TABLE households"):
        assert _get(s, "planner", f"/api/households?q={quote(query)}", 200)["items"] == []
    # Bytes that are not UTF-8 arrive as U+FFFD: a search that finds nothing.
    assert _get(s, "planner", "/api/households?q=%ED%A0%80", 200)["items"] == []
    unknown = _get(s, "planner", "/api/households/NO-SUCH", 404)
    assert unknown["detail"] == "no household NO-SUCH in the registry or in any round"
    _get(s, "planner", f"/api/households/{'x' * 65}", 422)
    for odd in ("%00", "%ED%A0%80", "..", "%2e%2e", "'", "🙂", "a%20b", "%E2%80%AE"):
        answer = s.client.get(f"/api/households/{odd}", headers=s.auth["planner"])
        assert answer.status_code in (404, 422), (odd, answer.text[:200])


def test_sponsors_and_point_officers_are_refused(service: Service) -> None:
    s = service
    for role in ("sponsor", "point"):
        for path in (f"/api/households?q={s.served}", f"/api/households/{s.served}",
                     "/api/households?q=", "/api/households/NO-SUCH"):
            _get(s, role, path, 403)
    assert s.client.get("/api/households?q=x").status_code == 401
    assert not [e for e in _audit(s) if e.action in ("search households", "look up household")]


# --- pages -------------------------------------------------------------------------------


def _sign_in(client: TestClient, name: str) -> None:
    client.cookies.clear()
    form = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/login").text)
    assert form
    answer = client.post("/login", data={"name": name, "password": PASSWORD,
                                         "csrf": form.group(1)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def _clean(html: str) -> str:
    """No inline script or style (the CSP forbids them)."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html and "<style" not in html
    return html


def test_the_pages_in_vietnamese_and_english(service: Service) -> None:
    s, client = service, service.client
    household, _ = s.outranked
    _sign_in(client, "hoa")
    empty = _clean(client.get("/households").text)
    assert 'id="nav-households"' in empty and 'id="household-search"' in empty
    assert 'id="household-results"' not in empty
    found = _clean(client.get(f"/households?q={quote(s.phone)}").text)
    assert f'data-household="{household}"' in found and "số điện thoại" in found
    page = _clean(client.get(f"/households/{quote(household)}").text)
    assert 'data-outcome="unserved"' in page and 'data-binding="budget"' in page
    assert CAUSE["budget"][0] in page and 'data-figure="cutoff"' in page
    assert "Điểm nhận gần nhất còn chỗ" in page
    english = unescape(_clean(client.get(f"/lang/en?next=/households/{quote(household)}").text))
    assert CAUSE["budget"][1] in english and "Nearest point with room" in english
    assert CAUSE["budget"][0] not in english
    served = _clean(client.get(f"/households/{quote(s.served)}").text)
    assert 'data-outcome="served"' in served and "Pickup code: issued" in served
    none = client.get("/households?q=NO-SUCH-ONE")
    assert none.status_code == 200 and 'id="no-results"' in none.text
    bad = client.get(f"/households?q={'x' * 101}")
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert client.get("/households/NO-SUCH").status_code == 404
    for name in ("tt", "lan"):
        _sign_in(client, name)
        listed = client.get("/households")
        assert listed.status_code == 403 and 'id="nav-households"' not in listed.text
        assert client.get(f"/households/{quote(household)}").status_code == 403


def test_odd_input_on_the_pages_is_never_a_500(service: Service) -> None:
    client = service.client
    _sign_in(client, "hoa")
    odd = ["", " ", "%00", "a%0Ab", "9" * 30, "-1", "nan", quote("Hộ nghèo"), quote("'; drop"),
           "x" * 300, "%ED%A0%80", quote("\u202e"), quote("🙂" * 50), "%25", "..%2F..%2Fetc"]
    for text in odd:
        for path in (f"/households?q={text}", f"/households/{text}"):
            answer = client.get(path)
            assert answer.status_code < 500, (path, answer.text[:300])
