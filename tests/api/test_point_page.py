"""The handover page at the point (/point) through the app, on SQLite and PostgreSQL: who may
open what, CSRF, a refused form that keeps what was typed, and a form sent twice that
records once. The browser test (tests/browser/test_point_page.py) drives the same page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from allocator.pickup_codes import display_code
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.models import Handover
from allocator.store.point_desk import last4
from allocator.store.users import add_user, set_password
from api.main import create_app
from api.settings import Settings
from tests.store.point_store import NAMES, PointStore, at_point, build, imei, national_id

PASSWORD = "hands-phones-over-7"
OFFICER = "officer-P-SG"


@dataclass
class Desk:
    client: TestClient
    store: PointStore
    url: str

    def handovers(self, household: str) -> int:
        engine = make_engine(self.url)
        try:
            with make_sessions(engine)() as session:
                return session.scalar(select(func.count()).select_from(Handover).where(
                    Handover.household_id == household, Handover.undone_at.is_(None))) or 0
        finally:
            engine.dispose()


@pytest.fixture
def desk(db_url: str, tmp_path: Path) -> Iterator[Desk]:
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        store = build(session, tmp_path / "registry")
        add_user(session, "s1", "sponsor", "S1", "setup")
        for name in (OFFICER, "planner", "s1"):
            set_password(session, name, PASSWORD, "setup")
    engine.dispose()
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        yield Desk(client, store, db_url)


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def key_of(page: str) -> str:
    found = re.search(r'name="key" value="([^"]+)"', page)
    assert found, "the form has no idempotency key"
    return found.group(1)


def sign_in(client: TestClient, name: str) -> str:
    """Sign in as a browser does; the address the user lands on."""
    client.cookies.clear()
    form = csrf(client.get("/login").text)
    answer = client.post("/login", data={"name": name, "password": PASSWORD, "csrf": form},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    return answer.headers["location"]


def mine(desk: Desk) -> str:
    return at_point(desk.store, "P-SG")[0]


def theirs(desk: Desk) -> str:
    return at_point(desk.store, "P-OTHER")[0]


def id_of(household: str) -> str:
    return national_id(int(household[1:]))


def form_for(page: str, household: str, **typed: str) -> dict[str, str]:
    n = int(household[1:])
    return {"csrf": csrf(page), "key": key_of(page), "id_last4": last4(id_of(household)),
            "outcome": "handed", "imei": imei(100 + n), "iccid": "", "note": ""} | typed


def test_an_officer_lands_on_the_page_and_finds_a_household_of_their_point(desk: Desk) -> None:
    client = desk.client
    assert sign_in(client, OFFICER) == "/point"
    page = client.get("/point")
    assert page.status_code == 200
    assert 'id="desk-points"' in page.text and "P-SG" in page.text
    household = mine(desk)
    code = desk.store.codes[household]
    # The code in any spelling a person or a scanner gives: one household, opened at once.
    for typed in (code, display_code(code).lower(), f" {code[:4]} {code[4:]} "):
        found = client.get("/point", params={"q": typed}, follow_redirects=False)
        assert found.status_code == 303, typed
        assert found.headers["location"] == f"/point/{desk.store.round_id}/{household}"
    by_phone = client.get("/point", params={"q": f"+84 {9012345}{int(household[1:]):02d}"})
    assert f'data-household="{household}"' in by_phone.text
    by_name = client.get("/point", params={"q": NAMES[int(household[1:])].split()[-1].lower()})
    assert f'data-household="{household}"' in by_name.text
    # Another point's household is not found by its code.
    other = client.get("/point", params={"q": desk.store.codes[theirs(desk)]})
    assert other.status_code == 200 and 'id="no-results"' in other.text

    # The officer's other tools: the slips and the handover list of their point.
    listed = f"/point/rounds/{desk.store.round_id}/handover-list.xlsx?point=P-SG"
    assert 'href="/slips"' in page.text and f'href="{listed}"' in page.text
    download = client.get(listed)
    assert download.status_code == 200 and download.content[:2] == b"PK"
    assert client.get(listed.replace("P-SG", "P-OTHER")).status_code == 403

    card = client.get(f"/point/{desk.store.round_id}/{household}")
    assert card.status_code == 200
    assert NAMES[int(household[1:])] in card.text
    # No digit of the ID number is shown: the officer types them from the card.
    assert id_of(household) not in card.text
    shown = re.sub(r"<[^>]*>", " ", card.text)  # what a person reads
    assert not re.search(rf"\b{last4(id_of(household))}\b", shown)


def test_another_point_s_household_planner_and_sponsor_pages_are_refused(desk: Desk) -> None:
    client = desk.client
    sign_in(client, OFFICER)
    round_id = desk.store.round_id
    # another point's household is as one that is not there: trying ids tells nothing
    assert client.get(f"/point/{round_id}/{theirs(desk)}").status_code == 404
    assert client.get(f"/point/{round_id}/NOPE").status_code == 404
    page = client.get(f"/point/{round_id}/{mine(desk)}")
    posted = client.post(f"/point/{round_id}/{theirs(desk)}",
                         data=form_for(page.text, theirs(desk)))
    assert posted.status_code == 404
    assert desk.handovers(theirs(desk)) == 0
    for path in ("/rounds", f"/rounds/{round_id}", "/campaign", "/portal",
                 "/portal/campaign", "/portal/figures.csv"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 403, path
    assert 'href="/portal"' not in page.text  # the header offers no sponsor portal

    # A sponsor may not use the desk; a planner may, at every point.
    sign_in(client, "s1")
    assert client.get("/point").status_code == 403
    assert sign_in(client, "planner") == "/rounds"
    assert client.get(f"/point/{round_id}/{theirs(desk)}").status_code == 200


def test_a_point_with_a_control_character_is_refused_not_sent_to_the_database(
        desk: Desk) -> None:
    """A planner may ask for any point's list: a NUL in the point, which PostgreSQL
    refuses, is a 422, not a 500."""
    client = desk.client
    sign_in(client, "planner")
    listed = f"/point/rounds/{desk.store.round_id}/handover-list.xlsx"
    for point in ("\x00", "P-SG\x00", "P-SG\n"):
        assert client.get(listed, params={"point": point}).status_code == 422, repr(point)
    assert client.get(listed, params={"point": "P-SG"}).status_code == 200


def test_the_form_needs_its_csrf_token(desk: Desk) -> None:
    client = desk.client
    sign_in(client, OFFICER)
    household = mine(desk)
    page = client.get(f"/point/{desk.store.round_id}/{household}")
    refused = client.post(f"/point/{desk.store.round_id}/{household}",
                          data=form_for(page.text, household, csrf="0" * 32))
    assert refused.status_code == 403
    other_site = client.post(f"/point/{desk.store.round_id}/{household}",
                             data=form_for(page.text, household),
                             headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403
    assert desk.handovers(household) == 0


def test_a_refused_form_comes_back_with_what_was_typed(desk: Desk) -> None:
    client = desk.client
    sign_in(client, OFFICER)
    household = mine(desk)
    url = f"/point/{desk.store.round_id}/{household}"
    page = client.get(url)
    bad = imei(100)[:-1] + str((int(imei(100)[-1]) + 1) % 10)
    answer = client.post(url, data=form_for(page.text, household, imei=bad, note="hộp móp"))
    assert answer.status_code == 422
    error = re.search(r'<p class="field-error" id="err-imei" role="alert">([^<]+)</p>',
                      answer.text)
    assert error and "Luhn" in error.group(1)
    assert f'value="{bad}"' in answer.text and "hộp móp" in answer.text
    # The 4 ID digits the officer typed are kept too, and the same key stays on the form.
    assert f'value="{last4(id_of(household))}"' in answer.text
    assert key_of(answer.text) == key_of(page.text)

    wrong = "0000" if last4(id_of(household)) != "0000" else "1111"
    answer = client.post(url, data=form_for(page.text, household, id_last4=wrong))
    assert answer.status_code == 422
    assert re.search(r'id="err-id_last4" role="alert">[^<]*không khớp', answer.text)
    # A relative with a letter: the box ticked needs the note.
    answer = client.post(url, data=form_for(page.text, household, id_last4="",
                                            authorised="yes", authorised_note=""))
    assert answer.status_code == 422
    assert re.search(r'id="err-authorised_note" role="alert">[^<]+<', answer.text)
    assert 'id="authorised" name="authorised" value="yes" checked' in answer.text
    assert desk.handovers(household) == 0

    # With script the same refusal is JSON naming the field.
    answer = client.post(url, data=form_for(page.text, household, imei=bad),
                         headers={"Accept": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["field"] == "imei" and answer.json()["ok"] is False


def test_a_form_sent_twice_records_once_and_undo_the_same_day(desk: Desk) -> None:
    client = desk.client
    sign_in(client, OFFICER)
    household = mine(desk)
    url = f"/point/{desk.store.round_id}/{household}"
    page = client.get(url)
    form = form_for(page.text, household)
    first = client.post(url, data=form, follow_redirects=False)
    assert first.status_code == 303
    again = client.post(url, data=form, headers={"Accept": "application/json"})
    assert again.status_code == 200 and again.json()["ok"] is True
    assert first.headers["location"] == again.json()["url"]
    assert desk.handovers(household) == 1

    done = client.get(first.headers["location"])
    assert 'data-outcome="handed"' in done.text and "✓" in done.text
    assert 'id="handover-form"' not in done.text  # handed over: nothing more to record
    handover = re.search(r'data-handover="(\d+)"', done.text)
    assert handover
    undo = client.post(f"{url}/undo", data={"csrf": csrf(done.text),
                                            "handover": handover.group(1),
                                            "reason": "nhầm hộ, ghi lại"},
                       follow_redirects=False)
    assert undo.status_code == 303 and undo.headers["location"].endswith("?undone=1")
    assert desk.handovers(household) == 0
    # Sending the undo again (its answer lost) is not an error.
    repeat = client.post(f"{url}/undo", data={"csrf": csrf(done.text),
                                              "handover": handover.group(1),
                                              "reason": "nhầm hộ, ghi lại"},
                         follow_redirects=False)
    assert repeat.status_code == 303
    fresh = client.get(undo.headers["location"])
    assert 'id="undone"' in fresh.text and key_of(fresh.text) != form["key"]
    recorded = client.post(url, data=form_for(fresh.text, household), follow_redirects=False)
    assert recorded.status_code == 303
    assert desk.handovers(household) == 1


def test_no_inline_script_or_style(desk: Desk) -> None:
    client = desk.client
    sign_in(client, OFFICER)
    household = mine(desk)
    for path in ("/point", f"/point?q={desk.store.codes[household][:3]}zz",
                 f"/point/{desk.store.round_id}/{household}"):
        text = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert "<style" not in text and not re.search(r"\sstyle=", text), path
        assert not re.search(r"\son[a-z]+=", text), path  # no inline event handlers
        assert '<script src="/static/point.js"' in text
    assert client.get("/static/point.js").status_code == 200
    assert client.get("/static/point.css").status_code == 200


def test_every_word_is_in_both_languages(desk: Desk) -> None:
    client = desk.client
    sign_in(client, OFFICER)
    household = mine(desk)
    url = f"/point/{desk.store.round_id}/{household}"
    for lang, words in (("vi", "Máy chạy tốt, có 4G"), ("en", "Works, with 4G")):
        client.cookies.set("lang", lang)
        for path in ("/point", f"/point?q={NAMES[0].split()[-1]}", url):
            text = client.get(path).text
            assert "desk_" not in text, (lang, path)  # a label without its words
        assert words in client.get(url).text
        refused = client.post(url, data=form_for(client.get(url).text, household, imei="1"),
                              headers={"Accept": "application/json"})
        assert ("15 chữ số" if lang == "vi" else "15") in refused.json()["message"]
