"""Odd input to the campaign's API and commands is refused with a sentence, never a 500 or
an internal error: a quantity given as true, "3" or 3.0, a pickup deadline on the
calendar's last day, digits that are not ASCII. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.users import add_user
from api.main import create_app
from api.settings import Settings


@pytest.fixture()
def api(db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        token = add_user(session, "an", "planner", None, "setup")[1]
    engine.dispose()
    with TestClient(create_app(Settings(database_url=db_url, run_worker=False))) as client:
        yield client, {"Authorization": f"Bearer {token}"}


# A round that does not exist: the body is refused before the round is looked for.
@pytest.mark.parametrize("method,path,body", [
    ("PUT", "/api/campaign/budget", {"budget_vnd": True}),
    ("PUT", "/api/campaign/budget", {"budget_vnd": "12"}),
    ("PUT", "/api/campaign/budget", {"budget_vnd": 12.5}),
    ("PATCH", "/api/campaign/settings", {"no_show_limit": True}),
    ("PATCH", "/api/campaign/settings", {"pickup_days": "3"}),
    ("POST", "/api/campaign/lots/L1/pledge", {"devices": True}),
    ("POST", "/api/campaign/lots/L1/faulty", {"devices": 2.5}),
    ("POST", "/api/rounds/7/approve", {"pickup_days": True}),
    ("POST", "/api/rounds/7/approve", {"pickup_deadline": "9999-12-31"}),
    ("PUT", "/api/rounds/7/pickup-deadline", {"pickup_deadline": "9999-12-31"}),
    ("POST", "/api/rounds/7/replan", {"lot_quantities": {"L1": True}}),
    ("POST", "/api/rounds/7/replan", {"lot_quantities": {"L1": "5"}}),
    ("POST", "/api/rounds/7/replan", {"budget_vnd": False}),
])
def test_odd_numbers_and_days_are_a_422(api: tuple[TestClient, dict[str, str]], method: str,
                                        path: str, body: dict[str, Any]) -> None:
    client, auth = api
    answer = client.request(method, path, headers=auth, json=body)
    assert answer.status_code == 422, answer.text
    # The campaign is as it was: a budget of true was not taken as 1 VND.
    assert client.get("/api/campaign", headers=auth).json()["budget"]["total_vnd"] is None


def test_whole_numbers_are_still_taken(api: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = api
    answer = client.put("/api/campaign/budget", headers=auth, json={"budget_vnd": 5_000})
    assert answer.status_code == 200 and answer.json()["total_vnd"] == 5_000
    answer = client.patch("/api/campaign/settings", headers=auth,
                          json={"no_show_limit": 2, "pickup_days": 7})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["no_show_limit"], answer.json()["pickup_days"]) == (2, 7)
    # JSON Schema's integer allows 12.0, the whole number 12 (the document says integer).
    answer = client.put("/api/campaign/budget", headers=auth, json={"budget_vnd": 12.0})
    assert answer.status_code == 200 and answer.json()["total_vnd"] == 12
    answer = client.post("/api/campaign/lots/L1/faulty", headers=auth, json={"devices": 2.0})
    assert answer.status_code == 404, answer.text  # the body was taken; there is no lot L1


@pytest.fixture()
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    from allocator import cli

    engine = make_engine(db_url)
    prepare(engine)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", db_url)
    cli._store_commands()
    yield CliRunner()


@pytest.mark.parametrize("args,says", [
    (["campaign", "budget", "²"], "not a whole amount of VND"),
    (["campaign", "budget", "1²"], "not a whole amount of VND"),
    (["round", "replan", "1", "--lot", "L1=²", "--no-solve"], "write LOT=QUANTITY"),
    (["round", "deadline", "1", "9999-12-31"], "too far ahead"),
    (["round", "approve", "1", "--deadline", "31/12/9999"], "too far ahead"),
])
def test_the_commands_refuse_odd_numbers_and_days_with_a_sentence(
        cli: CliRunner, args: list[str], says: str) -> None:
    from allocator import cli as commands

    result = cli.invoke(commands.app, args)
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.output.split()), result.output


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_number_json_cannot_hold_is_a_422_not_a_500(api: tuple[TestClient, dict[str, str]],
                                                      value: str) -> None:
    client, auth = api
    for method, path, body in (
            ("PUT", "/api/campaign/budget", '{"budget_vnd": %s}'),
            ("POST", "/api/rounds/1/approve", '{"pickup_days": %s}'),
            ("POST", "/api/rounds/1/replan", '{"lot_quantities": {"L1": %s}}')):
        answer = client.request(method, path, headers={**auth, "Content-Type":
                                                       "application/json"},
                                content=body % value)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["problems"][0]["field"].startswith("body."), answer.text
