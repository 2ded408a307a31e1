"""The pages through the app (no browser): sign-in, forms, errors, and no 500 for any input.

The browser tests (tests/browser/) look at the same pages in Chromium; these
check what a browser cannot easily: cookies, CSRF, redirects, status codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.store.campaign import approve_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.rounds import import_folder_as_round, solve_round
from allocator.store.users import add_user, set_password
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario

TOKENS: dict[str, str] = {}
NAMES = {"planner": "an", "sponsor": "s1"}
PASSWORDS = {"planner": "an-plans-rounds-7", "sponsor": "s1-sees-figures-9"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A store with round 1 approved, round 2 a draft, and a planner and a sponsor."""
    tmp = tmp_path_factory.mktemp("pages")
    url = f"sqlite:///{tmp / 'pages.db'}"
    scenario("sample", 3).write(tmp / "s")
    engine = make_engine(url)
    prepare(engine)
    with make_sessions(engine)() as session:
        first = import_folder_as_round(session, tmp / "s", "Đợt 1", "setup")
        solve_round(session, first.id, "setup")
        approve_round(session, first.id, "setup")
        import_folder_as_round(session, tmp / "s", "Đợt 2", "setup")
        TOKENS["planner"] = add_user(session, "an", "planner", None, "setup")[1]
        sponsor = str(pd.read_csv(tmp / "s" / "lots.csv")["sponsor_id"].iloc[0])
        TOKENS["sponsor"] = add_user(session, "s1", "sponsor", sponsor, "setup")[1]
        TOKENS["sponsor_id"] = sponsor
        for role, name in NAMES.items():
            set_password(session, name, PASSWORDS[role], "setup")
    engine.dispose()
    TOKENS["folder"] = str(tmp / "s")
    with TestClient(create_app(Settings(database_url=url))) as client:
        yield client


def sign_in(app: TestClient, role: str, **more: str) -> Response:
    """Post the sign-in form as a browser does: the page first, for its CSRF token."""
    app.cookies.clear()
    form = csrf(app.get("/login").text)
    return app.post("/login", data={"name": NAMES[role], "password": PASSWORDS[role],
                                    "csrf": form, **more}, follow_redirects=False)


SESSIONS: dict[str, str] = {}


def signed_in(app: TestClient, role: str) -> TestClient:
    """The app signed in as `role`, reusing the role's session while it lives."""
    app.cookies.clear()
    if role not in ("planner", "sponsor"):
        return app
    if role in SESSIONS:
        app.cookies.set("allocator_session", SESSIONS[role])
        if app.get("/", follow_redirects=False).headers["location"] != "/login":
            return app
    answer = sign_in(app, role)
    assert answer.status_code == 303, answer.text[:300]
    SESSIONS[role] = app.cookies["allocator_session"]
    return app


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def test_signing_in_sets_a_private_cookie_and_lands_on_the_role_s_page(app: TestClient) -> None:
    app.cookies.clear()
    assert app.get("/rounds", follow_redirects=False).headers["location"] == \
        "/login?next=%2Frounds"
    form = csrf(app.get("/login").text)
    wrong = app.post("/login", data={"name": "an", "password": "not-the-password",
                                     "csrf": form})
    assert wrong.status_code == 401 and "không đúng" in wrong.text
    assert "token" not in app.get("/login").text  # API tokens do not open the pages
    api_token = app.post("/login", data={"name": "an", "password": TOKENS["planner"],
                                         "csrf": form})
    assert api_token.status_code == 401
    for role, home in (("planner", "/rounds"), ("sponsor", "/portal")):
        answer = sign_in(app, role)
        assert answer.headers["location"] == home
        cookie = next(c for c in answer.headers.get_list("set-cookie")
                      if c.startswith("allocator_session=")).lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert PASSWORDS[role].lower() not in cookie  # a session id, never the password
    back = sign_in(app, "planner", next="/rounds/1")
    assert back.headers["location"] == "/rounds/1"
    for evil in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        answer = sign_in(app, "planner", next=evil)
        assert answer.headers["location"] == "/rounds", evil
        assert app.get(f"/lang/en?next={evil}", follow_redirects=False
                       ).headers["location"] == "/"


def test_signing_out_ends_the_session_on_the_server(app: TestClient) -> None:
    client = signed_in(app, "planner")
    cookie = client.cookies.get("allocator_session")
    assert cookie and client.get("/rounds").status_code == 200
    out = client.post("/logout", data={"csrf": csrf(client.get("/rounds").text)},
                      follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set("allocator_session", cookie)  # a copy kept by someone else
    assert client.get("/rounds", follow_redirects=False).status_code == 303  # to /login


def test_a_form_posted_from_another_site_is_refused(app: TestClient) -> None:
    client = signed_in(app, "planner")
    token = csrf(client.get("/rounds/1").text)
    evil = {"Origin": "https://evil.example"}
    assert client.post("/rounds/1/close", data={"csrf": token}, headers=evil).status_code == 403
    app.cookies.clear()
    form = {"name": "s1", "password": PASSWORDS["sponsor"], "csrf": csrf(app.get("/login").text)}
    assert app.post("/login", data=form, headers=evil,
                    follow_redirects=False).status_code == 403
    assert "set-cookie" not in app.post("/login", data=form, headers=evil,
                                        follow_redirects=False).headers
    # Nor from a page that never showed this browser the form (login CSRF).
    app.cookies.delete("allocator_form")
    assert app.post("/login", data=form, follow_redirects=False).status_code == 403


def test_damaged_zips_are_refused_with_a_reason(app: TestClient) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("households.csv", "lots.csv", "points.csv"):
            archive.write(Path(TOKENS["folder"]) / name, name)
    good = buffer.getvalue()
    start = 30 + int.from_bytes(good[26:28], "little") + int.from_bytes(good[28:30], "little")
    damaged = good[:start + 10] + bytes(range(40)) + good[start + 50:]  # in deflate data
    unsupported = bytearray(good)  # a compression method nobody has, in both headers
    unsupported[8:10] = (99).to_bytes(2, "little")
    central = good.find(b"PK\x01\x02")
    unsupported[central + 10:central + 12] = (99).to_bytes(2, "little")
    client = signed_in(app, "planner")
    token = csrf(client.get("/rounds").text)
    bearer = {"Authorization": f"Bearer {TOKENS['planner']}"}
    for data in (damaged, bytes(unsupported), b"PK\x03\x04 not really", b""):
        page = client.post("/rounds/upload", data={"csrf": token},
                           files={"file": ("x.zip", data)})
        assert page.status_code == 422, page.text[:300]
        api = client.post("/api/rounds/import-folder", files={"file": ("x.zip", data)},
                          headers=bearer)
        assert api.status_code == 422, api.text[:300]


def test_forms_that_change_something_need_the_page_s_csrf_token(app: TestClient) -> None:
    client = signed_in(app, "planner")
    for path in ("/rounds/2/solve", "/rounds/1/approve", "/rounds/1/variant", "/rounds",
                 "/logout"):
        answer = client.post(path, data={"csrf": "0" * 32})
        assert answer.status_code == 403, path
    token = csrf(client.get("/rounds/1").text)
    made = client.post("/rounds/1/variant", data={"csrf": token, "budget_percent": "10"},
                       follow_redirects=False)
    assert made.status_code == 303
    page = client.get(made.headers["location"])
    assert "Nháp" in page.text and "ngân sách +10%" in page.text


def test_a_sponsor_is_kept_to_its_own_portal(app: TestClient) -> None:
    client = signed_in(app, "sponsor")
    for path in ("/rounds", "/rounds/1", "/rounds/compare?a=1&b=1", "/rounds/1/report.html",
                 "/rounds/1/handover.csv", "/rounds/1/progress"):
        assert client.get(path).status_code == 403, path
    portal = client.get("/portal")
    assert portal.status_code == 200
    assert client.get("/portal?round=2").status_code == 404  # a draft is not shown
    other = client.get("/portal?round=1&sponsor=SOMEONE-ELSE")
    assert other.text.count("data-lot=") == portal.text.count("data-lot=") > 0
    figures = client.get("/portal/figures.csv?round=1")
    assert figures.content.startswith(b"\xef\xbb\xbf")
    households = pd.read_csv(Path(TOKENS["folder"]) / "households.csv", dtype=str)
    for text in (portal.text, figures.content.decode("utf-8-sig")):
        for column in ("head_name", "phone", "national_id"):
            for value in households[column].dropna().unique():
                assert value not in text, (column, value)


def test_errors_are_pages_for_people_and_json_for_the_api(app: TestClient) -> None:
    client = signed_in(app, "planner")
    for path, code in (("/rounds/999", 404), ("/rounds/abc", 422), ("/nowhere", 404),
                       ("/rounds/compare?a=1&b=2", 409), ("/rounds/compare?a=1", 422),
                       ("/rounds/2/report.html", 404)):
        answer = client.get(path)
        assert answer.status_code == code, path
        assert answer.headers["content-type"].startswith("text/html"), path
    assert client.get("/api/rounds/abc").headers["content-type"] == "application/json"
    token = csrf(client.get("/rounds").text)
    bad = client.post("/rounds", data={"csrf": token, "budget_vnd": "nhiều"})
    assert bad.status_code == 422 and "nhiều" in bad.text
    upload = client.post("/rounds/upload", data={"csrf": token},
                         files={"file": ("x.zip", b"not a zip")})
    assert upload.status_code == 422
    approved_again = client.post("/rounds/1/approve", data={"csrf": token})
    assert approved_again.status_code == 409 and "approved" in approved_again.text


def test_the_dashboard_shows_the_round_s_figures(app: TestClient) -> None:
    client = signed_in(app, "planner")
    page = client.get("/rounds/1").text
    for key in ("eligible", "served", "coverage_poor", "coverage_near_poor", "budget_used_vnd",
                "devices_left"):
        assert f'data-kpi="{key}"' in page
    assert client.get("/rounds/1/report.html").headers["content-disposition"].startswith(
        "attachment")
    english = client.get("/lang/en?next=/rounds/1")
    assert "Households served" in english.text
    client.get("/lang/vi?next=/rounds/1")


TEXT = st.text(max_size=40)
PAGES = ["/", "/login", "/set-password", "/rounds", "/portal", "/rounds/compare", "/rounds/{}",
         "/rounds/{}/progress", "/rounds/{}/report.html", "/rounds/{}/handover.{}",
         "/portal/figures.csv", "/lang/{}"]
POSTS = ["/login", "/logout", "/set-password", "/rounds", "/rounds/upload", "/rounds/{}/solve",
         "/rounds/{}/approve", "/rounds/{}/close", "/rounds/{}/variant"]


@pytest.mark.parametrize("role", ["planner", "sponsor", "anonymous"])
@settings(max_examples=60, deadline=None)
@given(get=st.sampled_from(PAGES), post=st.sampled_from(POSTS),
       parts=st.lists(st.one_of(TEXT, st.integers(-5, 2**40).map(str)), min_size=2,
                      max_size=2),
       query=st.dictionaries(st.sampled_from(["a", "b", "round", "sponsor", "next", "lang"]),
                             TEXT, max_size=3),
       form=st.dictionaries(st.sampled_from(["password", "next", "name", "budget_vnd",
                                             "budget_percent", "csrf", "t", "again"]),
                            TEXT, max_size=4))
def test_no_page_answers_500(app: TestClient, role: str, get: str, post: str,
                             parts: list[str], query: dict[str, str],
                             form: dict[str, str]) -> None:
    client = signed_in(app, role)
    safe = [quote(p, safe="") or "1" for p in parts]
    answer = client.get(get.format(*safe), params=query, follow_redirects=False)
    assert answer.status_code < 500, (get, safe, query)
    if role == "planner" and "csrf" in form:
        form["csrf"] = csrf(client.get("/rounds").text)
    answer = client.post(post.format(*safe), data=form, follow_redirects=False)
    assert answer.status_code < 500, (post, safe, form)


def test_every_label_on_the_pages_exists_in_both_languages() -> None:
    from allocator.report.labels import LABELS
    from api.pages.labels import PAGE_LABELS

    root = Path(__file__).resolve().parents[2]
    folders = [root / "api/pages/templates", root / "allocator/report/templates"]
    used = {key for folder in folders for page in folder.glob("*.html")
            for key in re.findall(r'(?<![\w.])t\("([a-z0-9_]+)"\)',  # not r.get("x")
                                  page.read_text(encoding="utf-8"))}
    assert used, "no labels found"
    missing = sorted(k for k in used if k not in LABELS and k not in PAGE_LABELS)
    assert missing == []
    assert not set(LABELS) & set(PAGE_LABELS)  # one meaning per key
    from api.pages.planner import STEPS
    assert set(STEPS.values()) <= set(PAGE_LABELS)  # the progress bar's words
    for vi, en in [*LABELS.values(), *PAGE_LABELS.values()]:
        assert vi.strip() and en.strip()
