"""Decisions with safeguards through the app (no browser), on SQLite and PostgreSQL:
approving and closing are confirmed on a page that says what they commit, a variant's
approval supersedes the round it varies, refusals are in the page's language (and in
both in the API), and variants that repeat a round or leave no budget are refused.

The browser test (tests/browser/test_safeguards.py) walks the same pages in Chromium.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from allocator.store.models import AllocationRow, Round
from allocator.store.rounds import solve_round
from allocator.store.users import add_token
from tests.api.test_campaign_pages import NAMES, Store, as_role, build, client_for, csrf


@pytest.fixture(scope="module")
def store(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    made = build(module_db_url, tmp_path_factory.mktemp("safeguards"))
    yield made
    made.sessions.kw["bind"].dispose()


@pytest.fixture(scope="module")
def app(store: Store) -> Iterator[TestClient]:
    with client_for(store.url) as client:
        yield client


def _alert(html: str) -> str:
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', html, re.S)
    assert found, "no refusal on the page"
    return unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def _made(answer: object) -> int:
    location = answer.headers["location"]  # type: ignore[attr-defined]
    return int(location.rsplit("/", 1)[1])


def test_a_variant_is_confirmed_then_supersedes_its_base(app: TestClient,
                                                         store: Store) -> None:
    client = as_role(app, "planner")
    token = csrf(client.get("/rounds").text)
    base = _made(client.post("/rounds", data={"csrf": token, "name": "Gốc",
                                              "budget_vnd": "300.000.000"},
                             follow_redirects=False))
    with store.sessions() as session:
        solve_round(session, base, "test")
    made = client.post(f"/rounds/{base}/variant",
                       data={"csrf": token, "budget_percent": "+10%"}, follow_redirects=False)
    assert made.status_code == 303, made.text[:300]
    variant = _made(made)
    with store.sessions() as session:
        solve_round(session, variant, "test")
        phones = session.scalar(select(func.count()).where(AllocationRow.round_id == variant))

    # Before: the page says the variant's data is its base's, shows both results, and that
    # approving it supersedes the base.
    page = client.get(f"/rounds/{variant}").text
    assert 'data-same-data="1"' in page and "Cùng dữ liệu với đợt" in page
    assert f'id="supersedes-next" data-supersedes="{base}"' in page
    assert 'id="variant-beside"' in page and 'id="next-compare"' in page
    assert f"thay cho đợt {base}…</a>" in page

    # The approval asks first: phones reserved, households to tell, the deadline, the base.
    asked = client.get(f"/rounds/{variant}/approve").text
    assert f'data-phones="{phones}"' in asked and f'data-supersedes="{base}"' in asked
    assert "máy được giữ cho" in asked and "hộ cần được báo" in asked
    assert "chờ duyệt, chuyển sang" in asked
    assert asked.index('id="cancel-approve"') < asked.index('id="confirm-approve"')
    deadline = re.search(r'name="pickup_deadline" value="([0-9-]+)"', asked)[1]
    client.get(f"/lang/en?next=/rounds/{variant}/approve")
    english = client.get(f"/rounds/{variant}/approve").text
    assert f"phones are reserved for {phones:,} households" in english
    assert "households are to be told" in english and "Go back, do not approve" in english
    client.get("/lang/vi?next=/rounds")
    approved = client.post(f"/rounds/{variant}/approve",
                           data={"csrf": token, "confirm": "1", "pickup_deadline": deadline},
                           follow_redirects=False)
    assert approved.headers["location"] == f"/rounds/{variant}?done=approved_superseding"

    # After: both pages say so.
    after = client.get(approved.headers["location"]).text
    assert f"đợt {base} đã được thay bằng đợt này" in after
    assert 'id="replaces"' in after and 'data-status="approved"' in after
    assert f'data-deadline="{deadline}"' in after
    old = client.get(f"/rounds/{base}").text
    assert 'data-status="superseded"' in old and f'href="/rounds/{variant}"' in old

    # A tab still showing the base as solved: refused, in Vietnamese, and in English too.
    stale = client.post(f"/rounds/{base}/approve", data={"csrf": token, "confirm": "1"})
    assert stale.status_code == 409
    assert _alert(stale.text).startswith(
        f"Đợt {base} đang ở trạng thái “Đã được thay bằng phương án mới”; chỉ có thể phê "
        "duyệt đợt ở trạng thái “Đã tính, chờ duyệt”.")
    client.get(f"/lang/en?next=/rounds/{base}")
    english = client.post(f"/rounds/{variant}/approve", data={"csrf": token, "confirm": "1"})
    assert english.status_code == 409
    assert _alert(english.text).startswith(f"round {variant} is approved; it can be approved "
                                           "only when solved")
    client.get("/lang/vi?next=/rounds")
    with store.sessions() as session:
        row = session.get_one(Round, variant)
        assert (row.status, row.replaces) == ("approved", base)
        approve_round_close(client, token, variant)


def approve_round_close(client: TestClient, token: str, round_id: int) -> None:
    """Put the store back: close the variant (confirmed, early)."""
    asked = client.get(f"/rounds/{round_id}/close").text
    assert 'data-early="1"' in asked
    closed = client.post(f"/rounds/{round_id}/close",
                         data={"csrf": token, "confirm": "1", "force": "1"},
                         follow_redirects=False)
    assert closed.headers["location"] == f"/rounds/{round_id}?done=closed"


def test_the_api_answers_a_stale_approval_in_both_languages(app: TestClient,
                                                             store: Store) -> None:
    with store.sessions() as session:
        token = add_token(session, NAMES["planner"], "test")[1]
    app.cookies.clear()
    answer = app.post(f"/api/rounds/{store.approved}/approve", json={},
                      headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 409
    body = answer.json()
    assert body["detail"] == (f"round {store.approved} is approved; it can be approved only "
                              "when solved")
    assert body["detail_vi"].startswith(f"Đợt {store.approved} đang ở trạng thái “Đã phê duyệt”")


def test_a_variant_of_a_round_with_handovers_is_refused_in_words(app: TestClient,
                                                                 store: Store) -> None:
    client = as_role(app, "planner")
    token = csrf(client.get(f"/rounds/{store.approved}").text)
    variant = _made(client.post(f"/rounds/{store.approved}/variant",
                                data={"csrf": token, "budget_percent": "-5"},
                                follow_redirects=False))
    with store.sessions() as session:
        solve_round(session, variant, "test")
    asked = client.get(f"/rounds/{variant}/approve").text
    assert "Không thể phê duyệt:" in asked  # its base's first households have their phones
    refused = client.post(f"/rounds/{variant}/approve", data={"csrf": token, "confirm": "1"})
    assert refused.status_code == 409 and "hai máy" in _alert(refused.text)
    with store.sessions() as session:
        assert session.get_one(Round, store.approved).status == "approved"
        assert session.get_one(Round, variant).status == "solved"


def test_variants_that_repeat_a_round_or_leave_no_budget_are_refused(app: TestClient,
                                                                     store: Store) -> None:
    client = as_role(app, "planner")
    token = csrf(client.get(f"/rounds/{store.approved}").text)
    first = client.post(f"/rounds/{store.approved}/variant",
                        data={"csrf": token, "budget_percent": "7"}, follow_redirects=False)
    assert first.status_code == 303
    again = client.post(f"/rounds/{store.approved}/variant",
                        data={"csrf": token, "budget_percent": "7"})
    assert again.status_code == 409
    assert f'id="duplicate-round">Mở đợt {_made(first)}</a>' in again.text
    assert f"Đợt {_made(first)} đã có đúng dữ liệu và chính sách" in _alert(again.text)
    for typed, code, said in (("-100", 422, "không còn đồng nào"),
                              ("−150%", 422, "không còn đồng nào"),
                              ("mười", 422, "Không đọc được tỷ lệ thay đổi")):
        answer = client.post(f"/rounds/{store.approved}/variant",
                             data={"csrf": token, "budget_percent": typed})
        assert answer.status_code == code, typed
        assert said in _alert(answer.text) and f'value="{typed}"' in answer.text
