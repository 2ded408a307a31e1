"""Budget fields take amounts as planners say them ("3,5 tỷ", "3500 triệu"); a refused one
keeps what was typed and says why in the page's language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from allocator.store import ledger
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.models import Round
from allocator.store.users import add_user, set_password
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario

NAME, PASSWORD = "lan", "plans-rounds-in-words-5"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    tmp = tmp_path_factory.mktemp("money")
    url = f"sqlite:///{tmp / 'store.db'}"
    scenario("sample", 2).write(tmp / "s")
    engine = make_engine(url)
    prepare(engine)
    sessions = make_sessions(engine)
    with sessions() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, Path(tmp / "s" / f"{kind}.csv"), "setup").ok
        add_user(session, NAME, "planner", None, "setup")
        set_password(session, NAME, PASSWORD, "setup")
    yield url, sessions
    engine.dispose()


@pytest.fixture()
def client(store: tuple[str, object]) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=store[0], run_worker=False))) as app:
        form = _csrf(app.get("/login").text)
        assert app.post("/login", data={"name": NAME, "password": PASSWORD, "csrf": form},
                        follow_redirects=False).status_code == 303
        yield app


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found
    return found.group(1)


def _field_error(html: str, field_id: str) -> str:
    found = re.search(rf'id="{field_id}-error">([^<]*)<', html)
    assert found, f"no error under #{field_id}"
    return found.group(1)


@pytest.mark.parametrize("typed,vnd", [("3,5 tỷ", 3_500_000_000), ("3500 triệu", 3_500_000_000),
                                       ("3.500.000.000", 3_500_000_000),
                                       ("3 500 000 000", 3_500_000_000),
                                       ("3,5 ty", 3_500_000_000), ("890 nghìn", 890_000)])
def test_a_new_round_takes_its_budget_in_words(client: TestClient, store: tuple[str, object],
                                               typed: str, vnd: int) -> None:
    token = _csrf(client.get("/rounds").text)
    made = client.post("/rounds", data={"csrf": token, "name": f"Ngân sách {typed}",
                                        "budget_vnd": typed}, follow_redirects=False)
    assert made.status_code == 303, made.text[:500]
    round_id = int(made.headers["location"].rsplit("/", 1)[1])
    with store[1]() as session:  # type: ignore[operator]
        assert session.get_one(Round, round_id).policy["budget_vnd"] == vnd
    page = client.get(f"/rounds/{round_id}").text
    # The budget reads in words, with the exact amount on hover.
    assert f'data-vnd="{vnd}"' in page


@pytest.mark.parametrize("lang,words", [("vi", "Không đọc được số tiền"),
                                        ("en", "This is not an amount we can read")])
def test_a_refused_budget_keeps_the_form_and_says_why_in_the_page_s_language(
        client: TestClient, lang: str, words: str) -> None:
    client.cookies.set("lang", lang)
    token = _csrf(client.get("/rounds").text)
    refused = client.post("/rounds", data={"csrf": token, "name": "Đợt tháng 12",
                                           "budget_vnd": "ba tỷ rưỡi"})
    assert refused.status_code == 422
    assert words in _field_error(refused.text, "new-budget")
    assert 'value="Đợt tháng 12"' in refused.text and 'value="ba tỷ rưỡi"' in refused.text
    assert 'aria-invalid="true"' in refused.text


def test_the_campaign_budget_takes_words_too(client: TestClient,
                                             store: tuple[str, object]) -> None:
    client.cookies.set("lang", "en")
    token = _csrf(client.get("/campaign").text)
    done = client.post("/campaign/budget", data={"csrf": token, "budget_vnd": "3,5 billion"},
                       follow_redirects=False)
    assert done.status_code == 303
    with store[1]() as session:  # type: ignore[operator]
        assert ledger.budget(session).total == 3_500_000_000
    page = client.get("/campaign").text
    assert ">3.5 billion VND<" in page and 'title="3,500,000,000 ₫"' in page
    refused = client.post("/campaign/budget", data={"csrf": token, "budget_vnd": "-1"})
    assert refused.status_code == 422
    assert _field_error(refused.text, "campaign-budget") == "An amount cannot be negative."
    assert 'value="-1"' in refused.text
