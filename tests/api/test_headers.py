"""Security headers on every answer, pages that keep the content policy, docs served offline.

The policy forbids inline script and style, so every page the service serves is
parsed, as a planner, a sponsor and someone not signed in, for anything the
browser would block; the pages are found by following their own links.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from httpx import Response

from allocator.store.campaign import approve_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.models import User
from allocator.store.rounds import import_folder_as_round, solve_round
from allocator.store.users import add_user
from api.main import create_app
from api.pages.auth import COOKIE
from api.security import CONTENT_SECURITY_POLICY, may_cache
from api.settings import Settings
from scenarios.named import scenario

SECURITY = {"content-security-policy": CONTENT_SECURITY_POLICY, "x-frame-options": "DENY",
            "x-content-type-options": "nosniff", "referrer-policy": "same-origin"}
TEMPLATES = [*Path("api/pages/templates").glob("*.html"),
             *Path("allocator/report/templates").glob("*.html")]


def _start_session(session: object, user: User) -> str:
    """A signed-in browser session, without going through the sign-in form."""
    for module in ("allocator.store.sign_in", "allocator.store.users"):
        found = getattr(importlib.import_module(module), "start_session", None) \
            if importlib.util.find_spec(module) else None
        if found is not None:
            return str(found(session, user))
    raise AssertionError("no start_session in the store")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict, int]]:
    """Round 1 approved, round 2 a draft; a planner's and a sponsor's browser sessions."""
    tmp = tmp_path_factory.mktemp("headers")
    url = f"sqlite:///{tmp / 'store.db'}"
    scenario("sample", 3).write(tmp / "s")
    engine = make_engine(url)
    prepare(engine)
    with make_sessions(engine)() as session:
        first = import_folder_as_round(session, tmp / "s", "Đợt 1", "setup")
        solve_round(session, first.id, "setup")
        approve_round(session, first.id, "setup")
        import_folder_as_round(session, tmp / "s", "Đợt 2", "setup")
        sponsor = str(pd.read_csv(tmp / "s" / "lots.csv")["sponsor_id"].iloc[0])
        who: dict[str, str] = {}
        for name, role, sponsor_id in (("an", "planner", None), ("s1", "sponsor", sponsor)):
            user, token = add_user(session, name, role, sponsor_id, "setup")[:2]
            who[f"{role}_token"] = token
            who[f"{role}_cookie"] = _start_session(session, user)
        session.commit()
    engine.dispose()
    with TestClient(create_app(Settings(database_url=url))) as client:
        yield client, who, first.id


def _as(client: TestClient, who: dict[str, str], role: str) -> TestClient:
    client.cookies.clear()
    if role != "anonymous":
        client.cookies.set(COOKIE, who[f"{role}_cookie"])
    return client


def _check_headers(answer: Response, path: str) -> None:
    for name, value in SECURITY.items():
        got = answer.headers.get(name)
        # The sign-in and password pages send none at all: their address may hold a link.
        stricter = {"no-referrer"} if name == "referrer-policy" else set()
        assert got == value or got in stricter, (path, answer.status_code, name, got)
    cache = answer.headers.get("cache-control", "")
    if may_cache(path):
        assert "no-store" not in cache, path
    else:
        assert cache == "no-store", (path, answer.status_code, cache)


def test_every_answer_carries_the_security_headers(world: tuple[TestClient, dict, int]) -> None:
    client, who, round_id = world
    bearer = {"Authorization": f"Bearer {who['planner_token']}"}
    sponsor = {"Authorization": f"Bearer {who['sponsor_token']}"}
    client.cookies.clear()
    cases = [
        ("GET", "/api/health", {}, 200),
        ("GET", "/api/rounds", {}, 401),
        ("GET", "/api/rounds", bearer, 200),
        ("GET", f"/api/rounds/{round_id}/allocations", bearer, 200),
        ("GET", f"/api/rounds/{round_id}/unserved", bearer, 200),
        ("GET", f"/api/rounds/{round_id}/handover?format=csv", bearer, 200),
        ("GET", f"/api/rounds/{round_id}/handover?format=xlsx", bearer, 200),
        ("GET", f"/api/rounds/{round_id}/export", bearer, 200),
        ("GET", "/api/registry/households", bearer, 200),
        ("GET", "/api/rounds/999999", bearer, 404),
        ("GET", "/api/rounds/abc", bearer, 404),  # a round's number, or no such page
        ("GET", f"/api/rounds/{round_id}/handover?format=pdf", bearer, 422),
        ("POST", "/api/rounds", bearer, 422),
        ("GET", f"/api/sponsor/rounds/{round_id}/distribution.csv", sponsor, 200),
        ("GET", "/api/sponsor/lots", sponsor, 200),
        ("GET", "/api/rounds", sponsor, 403),
        ("GET", "/login", {}, 200),
        ("GET", "/rounds", {}, 303),
        ("GET", "/no/such/page", {}, 404),
        ("GET", "/static/app.css", {}, 200),
        ("GET", "/static/app.js", {}, 200),
        ("GET", "/static/none.js", {}, 404),
        ("GET", "/openapi.json", {}, 200),
        ("GET", "/docs", {}, 200),
        ("GET", "/docs/init.js", {}, 200),
        ("GET", "/docs/assets/swagger-ui.css", {}, 200),
    ]
    for method, path, headers, status in cases:
        answer = client.request(method, path, headers=headers, follow_redirects=False)
        assert answer.status_code == status, (method, path, answer.text[:200])
        _check_headers(answer, urlsplit(path).path)
    for role in ("planner", "sponsor"):
        _as(client, who, role)
        for path in (f"/rounds/{round_id}", "/portal", f"/portal/figures.csv?round={round_id}",
                     "/rounds/999999", f"/rounds/{round_id}/handover.csv"):
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code < 500, path
            _check_headers(answer, urlsplit(path).path)


class _Inline(HTMLParser):
    """What a page holds that `script-src 'self'; style-src 'self'` would block."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self.links: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "style":
            self.blocked.append("<style>")
        if tag == "script":
            self._in_script = True
            if not named.get("src"):
                self.blocked.append("<script> without src")
        for name, value in attrs:
            if name == "style":
                self.blocked.append(f"<{tag} style=...>")
            if name.startswith("on"):
                self.blocked.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.blocked.append(f"<{tag} {name}=javascript:...>")
            if name in ("href", "src") and value:
                self.links.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.blocked.append("inline script text")


def _inline(html: str) -> _Inline:
    found = _Inline()
    found.feed(html)
    return found


@pytest.mark.parametrize("role", ["planner", "sponsor", "anonymous"])
def test_no_served_page_has_inline_script_or_style(world: tuple[TestClient, dict, int],
                                                   role: str) -> None:
    client, who, round_id = world
    client = _as(client, who, role)
    todo = ["/", "/login", "/rounds", "/portal", f"/rounds/{round_id}", f"/rounds/{round_id + 1}",
            f"/portal?round={round_id}", f"/rounds/compare?a={round_id}&b={round_id}",
            "/rounds/999999", "/no/such/page", "/docs", "/lang/en?next=/rounds"]
    seen: set[str] = set()
    pages = 0
    while todo and len(seen) < 80:
        path = urldefrag(todo.pop(0))[0]
        if path in seen or not path.startswith("/") or path.startswith("//") \
                or path.startswith(("/static/", "/docs/assets/", "/logout")):
            continue
        seen.add(path)
        answer = client.get(path)
        assert answer.status_code < 500, path
        if not answer.headers.get("content-type", "").startswith("text/html") or \
                answer.headers.get("content-disposition", "").startswith("attachment"):
            continue  # downloads (CSV, XLSX, the offline report file) are not pages
        pages += 1
        found = _inline(answer.text)
        assert not found.blocked, (path, found.blocked)
        todo += found.links
    assert pages >= (6 if role == "planner" else 3), seen


def test_no_template_has_inline_script_or_style() -> None:
    """The templates themselves, for pages no crawl reaches (a round while it is solving)."""
    for template in TEMPLATES:
        text = template.read_text(encoding="utf-8")
        # The offline report inlines its own files on purpose: it is a download, not a page.
        text = re.sub(r"\{% if standalone %\}.*?\{% else %\}", "", text)
        found = _inline(text)
        assert not found.blocked, (template, found.blocked)


def test_the_docs_load_only_from_this_server(world: tuple[TestClient, dict, int]) -> None:
    client, _, _ = world
    docs = client.get("/docs")
    assert docs.status_code == 200
    found = _inline(docs.text)
    assert not found.blocked
    urls = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls), urls
    assert not re.search(r"https?://|//[a-z]", docs.text), "the docs page names another host"
    init = client.get("/docs/init.js")
    assert init.status_code == 200 and "validatorUrl: null" in init.text
    for url in urls + [re.search(r'data-openapi="([^"]+)"', docs.text).group(1)]:  # type: ignore[union-attr]
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url).status_code == 200, url
    assert client.get("/redoc").status_code == 404
