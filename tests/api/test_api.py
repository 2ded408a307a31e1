"""The web service on a fresh database per test: auth, rounds, sponsor privacy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.users import add_user
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    scenario("sample", 6).write(folder)
    return folder


@pytest.fixture()
def world(tmp_path: Path, sample: Path,
          db_url: str) -> Iterator[tuple[TestClient, dict[str, str], Path]]:
    url = db_url
    engine = make_engine(url)
    prepare(engine)
    tokens = {}
    with make_sessions(engine)() as session:
        from allocator.reference import hcmc_communes
        hcmc_communes()[["commune_code", "name", "lat", "lon"]].to_csv(tmp_path / "c.csv",
                                                                       index=False)
        for kind, path in (("communes", tmp_path / "c.csv"), ("lots", sample / "lots.csv"),
                           ("points", sample / "points.csv"),
                           ("households", sample / "households.csv")):
            assert import_file(session, kind, path, "setup").ok
        tokens["planner"] = add_user(session, "an", "planner", None, "setup")[1]
        sponsors = pd.read_csv(sample / "lots.csv")["sponsor_id"].unique()
        tokens["sponsor"] = add_user(session, "s1", "sponsor", str(sponsors[0]), "setup")[1]
        tokens["other"] = add_user(session, "s2", "sponsor", str(sponsors[1]), "setup")[1]
    engine.dispose()
    with TestClient(create_app(Settings(database_url=url))) as client:
        yield client, tokens, sample


def _csv_rows(data: bytes) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sponsors_with_allocations(client: TestClient, planner: str, round_id: int, sample: Path,
                              db_url: str) -> dict[str, str]:
    """A sponsor token for every sponsor the round gives devices of.

    Which of equally good lots an optimum uses is a tie, so a test that needs a
    sponsor's allocations picks a sponsor that has some.
    """
    tokens = {}
    engine = make_engine(db_url)
    with make_sessions(engine)() as session:
        for sponsor in pd.read_csv(sample / "lots.csv")["sponsor_id"].unique():
            page = client.get(f"/api/rounds/{round_id}/allocations?sponsor={sponsor}&limit=1",
                              headers=auth(planner)).json()
            if page["total"]:
                tokens[str(sponsor)] = add_user(session, f"sponsor-{sponsor}", "sponsor",
                                                str(sponsor), "setup")[1]
    engine.dispose()
    return tokens


def solved_round(client: TestClient, token: str) -> int:
    made = client.post("/api/rounds", json={"name": "Đợt 1",
                                        "policy": {"budget_vnd": 150_000_000, "seed": 1}},
                       headers=auth(token))
    assert made.status_code == 201, made.text
    round_id = made.json()["id"]
    assert client.post(f"/api/rounds/{round_id}/solve", headers=auth(token)).status_code == 202
    for _ in range(600):
        state = client.get(f"/api/rounds/{round_id}", headers=auth(token)).json()
        if state["status"] in ("solved", "failed"):
            break
        time.sleep(0.1)
    assert state["status"] == "solved", state
    return round_id


def approved_round(client: TestClient, token: str) -> int:
    """Sponsors see approved rounds only."""
    round_id = solved_round(client, token)
    assert client.post(f"/api/rounds/{round_id}/approve", headers=auth(token)).status_code == 200
    return round_id


def test_tokens_are_required_and_roles_enforced(world: tuple) -> None:
    client, tokens, _ = world
    assert client.get("/api/health").status_code == 200
    assert client.get("/api/rounds").status_code == 401
    assert client.get("/api/rounds", headers=auth("nope")).status_code == 401
    assert client.get("/api/rounds", headers=auth(tokens["sponsor"])).status_code == 403
    assert client.get("/api/sponsor/lots", headers=auth(tokens["planner"])).status_code == 403
    assert client.get("/api/rounds/99", headers=auth(tokens["planner"])).status_code == 404


def test_round_lifecycle(world: tuple) -> None:
    client, tokens, _ = world
    token = tokens["planner"]
    round_id = solved_round(client, token)
    page = client.get(f"/api/rounds/{round_id}/allocations?limit=10", headers=auth(token)).json()
    assert page["total"] > 10 and len(page["items"]) == 10
    commune = page["items"][0]["commune_code"]
    filtered = client.get(f"/api/rounds/{round_id}/allocations?commune={commune}",
                          headers=auth(token)).json()
    assert filtered["items"] and all(i["commune_code"] == commune for i in filtered["items"])
    reasons = client.get(f"/api/rounds/{round_id}/unserved?reason=outranked&limit=5",
                         headers=auth(token)).json()
    assert all(i["reason"] == "outranked" for i in reasons["items"])
    assert client.post(f"/api/rounds/{round_id}/approve", headers=auth(token)).status_code == 200
    assert client.post(f"/api/rounds/{round_id}/approve", headers=auth(token)).status_code == 409
    assert client.post(f"/api/rounds/{round_id}/solve", headers=auth(token)).status_code == 409
    bad = client.post("/api/rounds", json={"policy": {"budjet": 1}}, headers=auth(token))
    assert bad.status_code == 422 and "budjet" in bad.text


def test_sponsors_see_only_their_own_aggregates(world: tuple, db_url: str) -> None:
    client, tokens, sample = world
    draft = solved_round(client, tokens["planner"])
    assert client.get(f"/api/sponsor/rounds/{draft}/distribution",
                      headers=auth(tokens["sponsor"])).status_code == 404  # not approved
    round_id = approved_round(client, tokens["planner"])
    mine = client.get("/api/sponsor/lots", headers=auth(tokens["sponsor"])).json()
    lots = pd.read_csv(sample / "lots.csv")
    own = set(lots.loc[lots["sponsor_id"] == lots["sponsor_id"].unique()[0], "lot_id"])
    assert {lot["lot_id"] for lot in mine} == own
    text, rows = "", []
    given = sponsors_with_allocations(client, tokens["planner"], round_id, sample, db_url)
    assert given
    for token in [tokens["sponsor"], *given.values()]:
        body = client.get(f"/api/sponsor/rounds/{round_id}/distribution", headers=auth(token))
        assert body.status_code == 200
        rows += body.json()
        text += body.text + client.get("/api/sponsor/lots", headers=auth(token)).text
    assert all(r["devices"] in ("0", "<5", "*", "–") or int(r["devices"]) >= 5 for r in rows)
    assert any(r["devices"] == "<5" for r in rows)
    households = pd.read_csv(sample / "households.csv", dtype=str)
    for column in ("head_name", "phone", "national_id", "lat", "lon", "household_id"):
        for value in households[column].dropna().unique()[:200]:
            assert str(value) not in text, (column, value)
    for path in ("/api/rounds", f"/api/rounds/{round_id}", f"/api/rounds/{round_id}/allocations",
                 f"/api/rounds/{round_id}/unserved"):
        assert client.get(path, headers=auth(tokens["sponsor"])).status_code == 403


def test_handover_lists_and_kpis(world: tuple) -> None:
    client, tokens, sample = world
    token = tokens["planner"]
    round_id = solved_round(client, token)
    first_point = client.get(f"/api/rounds/{round_id}/allocations?limit=1",
                             headers=auth(token)).json()["items"][0]["point_id"]
    # A solved round is not a decision yet: no list to print and sign.
    for format in ("csv", "xlsx"):
        early = client.get(f"/api/rounds/{round_id}/handover?format={format}",
                           headers=auth(token))
        assert early.status_code == 409, early.text
        assert "approved" in early.json()["detail"]
        assert "đã phê duyệt" in early.json()["detail_vi"]
    assert client.post(f"/api/rounds/{round_id}/approve", headers=auth(token)).status_code == 200
    csv = client.get(f"/api/rounds/{round_id}/handover?point={first_point}", headers=auth(token))
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    lines = _csv_rows(csv.content)
    assert lines[0][:5] == ["STT", "Mã hộ", "Mã nhận", "Họ tên chủ hộ", "Số điện thoại"] and \
        lines[0][-5:] == ["Ngày giờ nhận", "Đã nhận", "IMEI", "Ghi chú", "Ký nhận"]
    assert len(lines) > 1 and all(first_point in line for line in lines[1:])
    xlsx = client.get(f"/api/rounds/{round_id}/handover?format=xlsx", headers=auth(token))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    import io

    import openpyxl
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    listed = [row for page in book.worksheets for row in page.iter_rows(values_only=True)
              if isinstance(row[0], int)]  # a household's row starts with its number
    total = client.get(f"/api/rounds/{round_id}/allocations?limit=1", headers=auth(token)).json()
    assert len(listed) == total["total"] and first_point in book.sheetnames
    assert client.get(f"/api/rounds/{round_id}/handover?format=pdf",
                      headers=auth(token)).status_code == 422
    figures = client.get(f"/api/rounds/{round_id}/kpis", headers=auth(token)).json()
    assert figures["served"] == total["total"] and 0 <= figures["coverage_poor"] <= 1
    assert figures["budget_used_vnd"] <= figures["budget_vnd"]


def test_upload_import_is_all_or_nothing(world: tuple) -> None:
    client, tokens, _ = world
    token = tokens["planner"]
    good = "Mã điểm,Tên điểm,Mã xã,Công suất\nP-NEW,Điểm mới,26740,10\n".encode()
    done = client.post("/api/imports/points", files={"file": ("diem.csv", good)},
                       headers=auth(token))
    assert done.status_code == 200 and done.json()["inserted"] == 1
    bad = "Mã điểm,Tên điểm,Mã xã,Công suất\nP-X,X,26740,-1\nP-Y,Y,99999,1\n".encode()
    refused = client.post("/api/imports/points", files={"file": ("diem2.csv", bad)},
                          headers=auth(token))
    assert refused.status_code == 422
    assert "diem2.csv, row 2, column capacity" in refused.text
    assert client.post("/api/imports/nothing", files={"file": ("a.csv", good)},
                       headers=auth(token)).status_code == 404
    assert client.post("/api/imports/points", files={"file": ("a.pdf", good)},
                       headers=auth(token)).status_code == 422
    assert client.post("/api/imports/points", files={"file": ("a.csv", good)},
                       headers=auth(tokens["sponsor"])).status_code == 403


def test_a_sponsor_token_opens_no_planner_route(world: tuple) -> None:
    """Every route outside /sponsor, with sensible arguments, refuses a sponsor's token."""
    client, tokens, _ = world
    round_id = solved_round(client, tokens["planner"])
    schema = client.get("/openapi.json").json()
    tried = 0
    for path, methods in schema["paths"].items():
        if path.startswith("/api/sponsor") or path in ("/api/health",):
            continue
        concrete = path.replace("{round_id}", str(round_id)).replace("{kind}", "households")
        for method in methods:
            kwargs: dict = {"headers": auth(tokens["sponsor"])}
            if path == "/api/imports/{kind}":
                kwargs["files"] = {"file": ("h.csv", b"household_id\n")}
            elif method == "post":
                kwargs["json"] = {}
            response = client.request(method.upper(), concrete, **kwargs)
            assert response.status_code == 403, (method, path, response.status_code)
            tried += 1
    assert tried >= 12


def test_a_sponsor_sees_only_its_own_devices(world: tuple) -> None:
    client, tokens, sample = world
    round_id = approved_round(client, tokens["planner"])
    everything = client.get(f"/api/rounds/{round_id}/allocations?limit=1000",
                            headers=auth(tokens["planner"])).json()["items"]
    lots = pd.read_csv(sample / "lots.csv")
    first, second = lots["sponsor_id"].unique()[:2]
    for token, sponsor_id in ((tokens["sponsor"], first), (tokens["other"], second)):
        rows = client.get(f"/api/sponsor/rounds/{round_id}/distribution",
                          headers=auth(token)).json()
        mine = [a for a in everything if a["sponsor_id"] == sponsor_id]
        communes = {a["commune_code"] for a in mine}
        by_commune = {r["commune_code"]: r["devices"] for r in rows if r["group"] == "all"}
        assert set(by_commune) == communes
        for commune in communes:  # each count as it is, or hidden
            n = sum(a["commune_code"] == commune for a in mine)
            assert by_commune[commune] == str(n) or by_commune[commune] in ("<5", "*", "–")
        assert {r["group"] for r in rows if r["commune_code"] == "all"} >= {"poor", "near_poor"}
        csv = client.get(f"/api/sponsor/rounds/{round_id}/distribution.csv?table=communes",
                         headers=auth(token))
        assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
        assert len(_csv_rows(csv.content)[1:]) == len(communes)


def test_a_zipped_contract_folder_becomes_a_round(world: tuple) -> None:
    import io
    import zipfile

    client, tokens, sample = world
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("households.csv", "lots.csv", "points.csv", "round.json"):
            archive.write(sample / name, f"sample/{name}")
    made = client.post("/api/rounds/import-folder?name=zip", headers=auth(tokens["planner"]),
                       files={"file": ("sample.zip", buffer.getvalue())})
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "draft" and made.json()["name"] == "zip"
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("households.csv", "household_id\nA\n")
    refused = client.post("/api/rounds/import-folder", headers=auth(tokens["planner"]),
                          files={"file": ("bad.zip", broken.getvalue())})
    assert refused.status_code == 422
    assert {"message": "file is missing", "file": "lots.csv", "row": None, "column": None,
            "field": None} in refused.json()["problems"]
    not_zip = client.post("/api/rounds/import-folder", headers=auth(tokens["planner"]),
                          files={"file": ("x.zip", b"not a zip")})
    assert not_zip.status_code == 422


def test_every_write_is_audited_and_rounds_close(world: tuple, db_url: str) -> None:
    from sqlalchemy import select

    from allocator.store.models import AuditEntry

    client, tokens, sample = world
    token = tokens["planner"]
    round_id = solved_round(client, token)
    assert client.post(f"/api/rounds/{round_id}/close", headers=auth(token)).status_code == 409
    assert client.post(f"/api/rounds/{round_id}/approve", headers=auth(token)).status_code == 200
    early = client.post(f"/api/rounds/{round_id}/close", headers=auth(token))
    assert early.status_code == 409 and "Confirm" in early.json()["detail"]
    closed = client.post(f"/api/rounds/{round_id}/close", headers=auth(token),
                         json={"force": True})
    assert closed.status_code == 200, closed.text
    assert client.get(f"/api/rounds/{round_id}", headers=auth(token)).json()["status"] == "closed"
    engine = make_engine(db_url)
    with make_sessions(engine)() as session:
        actions = [(a.actor, a.action) for a in session.scalars(
            select(AuditEntry).order_by(AuditEntry.id))]
    engine.dispose()
    for action in ("create round", "solve round", "approve round", "close round"):
        assert ("an", action) in actions, actions
    assert ("setup", "import households") in actions and ("setup", "add user") in actions


def test_other_sponsors_ids_give_nothing(world: tuple) -> None:
    client, tokens, sample = world
    round_id = solved_round(client, tokens["planner"])
    lots = pd.read_csv(sample / "lots.csv")
    mine = client.get("/api/sponsor/lots", headers=auth(tokens["sponsor"])).json()
    for other in lots["sponsor_id"].unique()[1:]:
        tried = client.get(f"/api/sponsor/lots?sponsor_id={other}", headers=auth(tokens["sponsor"]))
        assert tried.json() == mine  # the token decides, not the query
        assert client.get(f"/api/rounds/{round_id}/allocations?sponsor={other}",
                          headers=auth(tokens["sponsor"])).status_code == 403


def test_handovers_are_recorded_and_sponsors_see_pending(world: tuple, db_url: str) -> None:
    client, tokens, sample = world
    token = tokens["planner"]
    round_id = solved_round(client, token)
    own, sponsor = next(iter(sponsors_with_allocations(client, token, round_id, sample,
                                                       db_url).items()))
    mine = client.get(f"/api/rounds/{round_id}/allocations?sponsor={own}&limit=3",
                      headers=auth(token)).json()["items"]
    ids = [a["household_id"] for a in mine]
    body = {"household_ids": ids}
    assert client.post(f"/api/rounds/{round_id}/handovers", json=body,
                       headers=auth(token)).status_code == 409  # not approved yet
    assert client.post(f"/api/rounds/{round_id}/approve", headers=auth(token)).status_code == 200
    done = client.post(f"/api/rounds/{round_id}/handovers", json=body, headers=auth(token))
    assert done.status_code == 200 and done.json() == {"recorded": len(ids), "new": len(ids)}
    again = client.post(f"/api/rounds/{round_id}/handovers", json=body, headers=auth(token))
    assert again.json()["new"] == 0
    unknown = client.post(f"/api/rounds/{round_id}/handovers", json={"household_ids": ["nobody"]},
                          headers=auth(token))
    assert unknown.status_code == 409 and "nobody" in unknown.text  # no phone of theirs here
    use = client.get(f"/api/sponsor/rounds/{round_id}/lots", headers=auth(sponsor)).json()
    handed_lots = {a["lot_id"] for a in mine}
    for u in use:
        figures = (u["allocated"], u["handed_over"], u["pending"])
        # Three handovers are a small count: hidden, and so is what would reveal them.
        assert u["handed_over"] == ("<5" if u["lot_id"] in handed_lots else "0")
        assert sum(not f.isdigit() for f in figures) != 1
        if all(f.isdigit() for f in figures):
            assert int(u["pending"]) == int(u["allocated"]) - int(u["handed_over"])
    assert client.post(f"/api/rounds/{round_id}/handovers", json=body,
                       headers=auth(sponsor)).status_code == 403


def test_a_point_id_of_any_text_makes_a_safe_file_name(world: tuple) -> None:
    client, tokens, _ = world
    round_id = approved_round(client, tokens["planner"])
    odd = client.get(f"/api/rounds/{round_id}/handover", params={"point": "Điểm \U00031569 \"x\""},
                     headers=auth(tokens["planner"]))
    assert odd.status_code == 404 and "Điểm" in odd.json()["detail_vi"]  # not a point of it
    some = client.get(f"/api/rounds/{round_id}/allocations?limit=1",
                      headers=auth(tokens["planner"])).json()["items"][0]["point_id"]
    named = client.get(f"/api/rounds/{round_id}/handover", params={"point": some},
                       headers=auth(tokens["planner"]))
    assert named.status_code == 200
    assert 'filename="ban-giao-dot-' in named.headers["content-disposition"]
