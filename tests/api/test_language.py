"""Every page speaks one language: the reader's.

Each page the server renders (every GET route of api.pages that answers HTML) is
fetched in Vietnamese and in English, as the role that uses it, over a store holding
an approved round with handovers, a solved variant, a solved re-plan, a draft, a
follow-up draw and a case. Every visible text (text nodes, and the title, placeholder,
aria-label and alt a reader sees or hears) must be made of:

- the words of the page's language's label tables: every (Vietnamese, English) table
  of the code (allocator.report.labels, api.pages.labels and the others) and the
  Vietnamese or English sentences the code writes, read word by word;
- data, excepted by rule: numbers, amounts, ids, dates and times (any token holding a
  digit), names and notes from the store (communes, points, sponsors, lots, rounds,
  people, households), and what a <code> element holds (codes, hashes).

An element with its own lang attribute is held to that language (the slips are
Vietnamese first by design, the brand is bilingual). A failure lists each page's
offending texts and the words in them that are not of the page's language.
"""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import pkgutil
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from allocator.store import followup, ledger
from allocator.store.campaign import approve_round, create_round, replan_round
from allocator.store.cases import open_and_commit
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.models import (
    AllocationRow,
    Case,
    Commune,
    HouseholdContact,
    Lot,
    Point,
    Round,
    Sponsor,
    UnservedRow,
    User,
)
from allocator.store.rounds import derive_round, record_handovers, solve_round
from allocator.store.users import add_user, set_password
from api.main import create_app
from api.pages import router as pages_router
from api.settings import Settings
from scenarios.named import scenario

ROOT = Path(__file__).resolve().parents[2]
PASSWORDS = {"planner": "lan-plans-rounds-1", "sponsor": "tt-sees-its-lots-2",
             "point": "hands-phones-over-at-3"}
NAMES = {"planner": "lan", "sponsor": "tt", "point": "diem"}
LANGS = ("vi", "en")
# Letters Vietnamese writes and English does not: a text holding one is Vietnamese.
VIETNAMESE = re.compile(r"[đĐăâêôơưĂÂÊÔƠƯ]|[\u0300-\u0303\u0309\u0323]")
BILINGUAL = r" / | \| | · "  # what stands between the halves of a text in both languages
SKIPPED = {"script", "style", "head", "textarea", "code", "template"}
SPOKEN = ("title", "placeholder", "aria-label", "alt")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


# --- the label tables and the words of each language -------------------------------------


def _modules() -> Iterator[Any]:
    for package in ("allocator", "api"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".migrations" in info.name:
                continue
            try:
                yield importlib.import_module(info.name)
            except Exception:  # a module needing what the test run lacks holds no labels
                continue


def label_pairs() -> list[tuple[str, str]]:
    """Every (Vietnamese, English) label of the code: the module-level tables of pairs,
    and tables kept as {"vi": {...}, "en": {...}}."""
    pairs: list[tuple[str, str]] = []
    for module in _modules():
        for value in vars(module).values():
            if not isinstance(value, dict) or not value:
                continue
            if set(value) == {"vi", "en"} and all(isinstance(v, dict) for v in value.values()):
                vi, en = value["vi"], value["en"]
                pairs += [(str(vi[k]), str(en[k])) for k in vi if k in en]
            elif all(isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, str) for x in v)
                     for v in value.values()):
                pairs += list(value.values())
    return pairs


def _fragments(source: str) -> Iterator[str]:
    """The string literals of a module (f-strings' literal parts too), docstrings aside,
    each bilingual one ("vi / en", "vi | en", "vi · en") split in its halves."""
    tree = ast.parse(source)
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            yield from re.split(BILINGUAL, node.value)


def vocabularies(pairs: list[tuple[str, str]]) -> dict[str, set[str]]:
    """The words of each language: its labels, and the Vietnamese or English sentences
    the code writes (a literal is Vietnamese if it holds a Vietnamese letter)."""
    words: dict[str, set[str]] = {"vi": set(), "en": set()}
    for vi, en in pairs:
        words["vi"] |= _words(vi)
        words["en"] |= _words(en)
    for package in ("allocator", "api"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for text in _fragments(path.read_text(encoding="utf-8")):
                words[_language_of(text)] |= _words(text)
        for path in (ROOT / package).rglob("*.html"):
            for text in _template_text(path.read_text(encoding="utf-8")):
                words[_language_of(text)] |= _words(text)
    return words


def _language_of(text: str) -> str:
    return "vi" if VIETNAMESE.search(unicodedata.normalize("NFD", text)) else "en"


def _template_text(source: str) -> Iterator[str]:
    """What a template writes itself, between its tags and expressions."""
    bare = re.sub(r"\{[{%#].*?[}%#]\}", "\n", source, flags=re.S)
    bare = re.sub(r"<[^>]*>", "\n", bare)
    for line in bare.splitlines():
        yield from (part.strip() for part in re.split(BILINGUAL, line) if part.strip())


def _words(text: str) -> set[str]:
    return {w.casefold() for w in re.findall(r"[^\W\d_]+", unicodedata.normalize("NFC", text))}


def _patterns(label: str) -> Iterator[str]:
    """A label as patterns of whole words: one with {placeholders} gives its fixed parts,
    and what fills them is read like any other text."""
    for part in re.split(r"\{[a-z_0-9]*\}", label):
        part = part.strip()
        if len(part) < 2 or not re.search(r"[^\W\d_]", part):
            continue
        before = r"(?<!\w)" if re.match(r"\w", part[:1]) else ""
        after = r"(?!\w)" if re.match(r"\w", part[-1:]) else ""
        yield before + re.escape(part) + after


@dataclass
class Language:
    """What may be said in one language: its labels (longest first) and its words."""

    labels: list[re.Pattern[str]]
    words: set[str]

    def offending(self, text: str, data: list[str]) -> list[str]:
        """The words of `text` neither from this language nor data."""
        rest = unicodedata.normalize("NFC", text)
        folded = rest.casefold()
        for value in data:  # names first: a lot called "Note 50" is not the label "Note"
            if value.casefold() in folded:  # a heading may print a name in capitals
                rest = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", " ", rest, flags=re.I)
        for label in self.labels:
            rest = label.sub(" ", rest)
        rest = re.sub(r"\S*\d\S*", " ", rest)  # numbers, amounts, ids, dates, times
        rest = re.sub(r"(?<!\w)[A-Z]+(?:-[A-Z0-9]+)+(?!\w)", " ", rest)  # codes: NJMC-NNBG
        return [w for w in re.findall(r"[^\W\d_]+", rest) if w.casefold() not in self.words]


@pytest.fixture(scope="module")
def languages() -> dict[str, Language]:
    pairs = [(vi, en) for vi, en in label_pairs() if vi.strip() and en.strip()]
    words = vocabularies(pairs)
    out = {}
    for i, lang in enumerate(LANGS):
        parts = {x for p in pairs for x in _patterns(p[i])}
        labels = sorted(parts, key=lambda x: len(re.sub(r"\\.", ".", x)), reverse=True)
        out[lang] = Language([re.compile(x) for x in labels], words[lang])
    return out


# --- the visible text of a page --------------------------------------------------------


@dataclass
class Said:
    lang: str
    text: str
    where: str  # the element (and attribute) it was read from


@dataclass
class _Reader(HTMLParser):
    page_lang: str
    found: list[Said] = field(default_factory=list)
    stack: list[tuple[str, str, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def _lang(self) -> str:
        return self.stack[-1][1] if self.stack else self.page_lang

    def _skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][2]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        lang = (given.get("lang") or self._lang()).split("-")[0]
        skip = self._skipping() or tag in SKIPPED or (
            tag == "input" and given.get("type") == "hidden")
        if not skip:
            for name in SPOKEN:
                if given.get(name):
                    self.found.append(Said(lang, str(given[name]), f"<{tag} {name}>"))
        if tag not in VOID:
            self.stack.append((tag, lang, skip))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._skipping():
            self.found.append(Said(self._lang(), text, f"<{self.stack[-1][0]}>"
                                   if self.stack else "text"))


def visible_text(html: str) -> list[Said]:
    found = re.search(r'<html[^>]*\blang="([a-z]+)', html)
    reader = _Reader(found.group(1) if found else "vi")
    reader.feed(html)
    return reader.found


# --- the store and the pages ------------------------------------------------------------


@dataclass
class Store:
    url: str
    data: list[str]  # names and notes from the store, longest first
    pages: dict[str, list[str]]  # role -> addresses


def _build(url: str, tmp: Path) -> Store:
    folder = tmp / "sample"
    scenario("sample", 4).write(folder)
    engine = make_engine(url)
    prepare(engine)
    sessions = make_sessions(engine)
    with sessions() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, folder / f"{kind}.csv", "setup").ok
        ledger.set_budget(session, 2_000_000_000, "setup")
        first = create_round(session, {}, "Đợt 1", "setup")
        solve_round(session, first.id, "setup")
        approve_round(session, first.id, "setup")
        served = session.scalars(select(AllocationRow.household_id).where(
            AllocationRow.round_id == first.id).order_by(AllocationRow.household_id)).all()
        record_handovers(session, first.id, list(served[:40]), "setup")
        variant = derive_round(session, first.id, {"budget_vnd": 1_000_000_000},
                               "Đợt 1 (ngân sách −50%)", "setup")
        solve_round(session, variant.id, "setup")
        point_id, sponsor_id = session.execute(
            select(AllocationRow.point_id, AllocationRow.sponsor_id)
            .where(AllocationRow.round_id == first.id, AllocationRow.handed_over_at.is_(None))
            .group_by(AllocationRow.point_id, AllocationRow.sponsor_id)
            .order_by(func.count().desc(), AllocationRow.point_id)).first() or ("", "")
        waiting = session.scalars(select(AllocationRow.household_id).where(
            AllocationRow.round_id == first.id, AllocationRow.point_id == point_id,
            AllocationRow.handed_over_at.is_(None)).order_by(AllocationRow.household_id)
        ).first()
        followup.draw(session, first.id, "setup", seed=7,
                      now=dt.datetime.now(dt.UTC) + dt.timedelta(days=60))
        version = replan_round(session, first.id, "setup", close_points=[str(point_id)],
                               name="Đợt 1, điều chỉnh")
        solve_round(session, version.id, "setup")
        draft = create_round(session, {"budget_vnd": 500_000_000}, "Đợt nháp", "setup")
        unserved = session.scalars(select(UnservedRow.household_id).where(
            UnservedRow.round_id == first.id).order_by(UnservedRow.household_id)).first()
        case = open_and_commit(session, kind="why_not_me", household_id=str(unserved),
                               actor="setup", note="Hộ hỏi vì sao chưa được nhận")
        add_user(session, NAMES["planner"], "planner", None, "setup")
        add_user(session, NAMES["sponsor"], "sponsor", str(sponsor_id), "setup")
        add_user(session, NAMES["point"], "point", None, "setup", points=[str(point_id)])
        for role, name in NAMES.items():
            set_password(session, name, PASSWORDS[role], "setup")
        data = [str(x) for model in (Commune.name, Point.name, Sponsor.name, Lot.model,
                                     Round.name, User.name, HouseholdContact.head_name,
                                     Case.note, Case.opened_by)
                for x in session.scalars(select(model)).all() if x]
        one, two, new, plan = first.id, variant.id, version.id, draft.id
        case_id = case.id
    engine.dispose()
    data.append(str(getattr(Settings(database_url=url), "office", "")))  # printed on papers
    sid = str(sponsor_id)
    pages = {
        "anonymous": ["/login", "/set-password?t=unknown", "/glossary"],
        "planner": [
            "/rounds", f"/rounds/{one}", f"/rounds/{two}", f"/rounds/{new}", f"/rounds/{plan}",
            f"/rounds/compare?a={one}&b={two}", f"/rounds/{new}/diff",
            f"/rounds/{one}/report.html", f"/rounds/{one}/slips", "/slips",
            f"/rounds/{one}/sponsors/{sid}/sheet.html", "/campaign", "/cases",
            f"/cases/{case_id}", "/followups", f"/rounds/{one}/followups", "/households",
            f"/households?q={unserved}", f"/households/{unserved}", f"/portal?round={one}",
            f"/portal?sponsor={sid}&round={one}", f"/portal/campaign?sponsor={sid}",
            "/point", f"/point?q={waiting}", f"/point/{one}/{waiting}", "/glossary",
            "/rounds/999999",
            # The confirmations a decision asks first, where the pages have them.
            *[f"/rounds/{n}/{step}" for n, step in ((two, "approve"), (new, "approve"),
                                                     (one, "close"))
              if f"/rounds/{{round_id}}/{step}" in _html_routes()]],
        "sponsor": ["/portal", f"/portal?round={one}", "/portal/campaign"],
        "point": ["/point", f"/point?q={waiting}", f"/point/{one}/{waiting}", "/cases",
                  "/followups", f"/rounds/{one}/followups", "/slips", f"/rounds/{one}/slips"],
    }
    return Store(url, sorted(set(data), key=len, reverse=True), pages)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    tmp = tmp_path_factory.mktemp("language")
    return _build(f"sqlite:///{tmp / 'store.db'}", tmp)


@pytest.fixture(scope="module")
def app(store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=store.url, run_worker=False))) as client:
        yield client


def _sign_in(app: TestClient, role: str) -> None:
    app.cookies.clear()
    if role == "anonymous":
        return
    form = re.search(r'name="csrf" value="([0-9a-f]+)"', app.get("/login").text)
    assert form
    answer = app.post("/login", data={"name": NAMES[role], "password": PASSWORDS[role],
                                      "csrf": form.group(1)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]


def _html_routes() -> set[str]:
    """The GET routes of the pages that answer HTML (downloads and JSON progress aside)."""
    found: set[str] = set()

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if hasattr(route, "methods"):
                if "GET" in route.methods and not route.path.endswith(
                        (".csv", ".xlsx", ".zip", ".{kind}", "/progress")) and route.path != "/" \
                        and not route.path.startswith("/lang/"):
                    found.add(route.path)
            else:
                walk(route.original_router.routes)

    walk(pages_router.routes)
    return found


def _route_of(address: str) -> str:
    path = address.split("?")[0]
    if path in _html_routes():
        return path
    for route in _html_routes():
        if re.fullmatch(re.sub(r"\\\{[a-z_]+\\\}", r"[^/]+", re.escape(route)), path):
            return route
    return path


def test_every_page_route_is_visited(store: Store) -> None:
    visited = {_route_of(a) for addresses in store.pages.values() for a in addresses}
    assert _html_routes() <= visited, sorted(_html_routes() - visited)


def test_every_page_speaks_the_reader_s_language(app: TestClient, store: Store,
                                                 languages: dict[str, Language]) -> None:
    problems: list[str] = []
    for role, addresses in store.pages.items():
        for lang in LANGS:
            _sign_in(app, role)
            app.cookies.set("lang", lang)
            for address in addresses:
                answer = app.get(address)
                assert answer.status_code < 500, (address, answer.text[:300])
                seen: set[tuple[str, str]] = set()
                for said in visible_text(answer.text):
                    if (said.lang, said.text) in seen or said.lang not in languages:
                        continue
                    seen.add((said.lang, said.text))
                    wrong = languages[said.lang].offending(said.text, store.data)
                    if wrong:
                        held = lang if said.lang == lang else f"{lang}, lang={said.lang}"
                        problems.append(f"[{held}] {role} {address} {said.where} "
                                        f"{said.text!r}: {' '.join(dict.fromkeys(wrong))}")
    assert not problems, (f"{len(problems)} texts are not in the page's language:\n"
                          + "\n".join(problems))


@pytest.mark.parametrize("lang,text,wrong", [
    ("vi", "Tổng điểm ưu tiên của các hộ được nhận: 12.345", []),
    ("vi", "seed 1 · dữ liệu a4d70c3bfd59", ["seed"]),
    ("vi", "+2,7 pt", ["pt"]),
    ("vi", "+2,7 điểm %", []),
    ("en", "Đợt 3 is approved", ["Đợt"]),
    ("en", "Round 3: Demo (trình duyệt)", []),  # a round's name is data
    ("vi", "Engine 0.9, solver 9.12, seed 1", ["Engine", "solver", "seed"]),
])
def test_the_rule_finds_words_of_the_other_language(languages: dict[str, Language], lang: str,
                                                    text: str, wrong: list[str]) -> None:
    assert languages[lang].offending(text, ["Demo (trình duyệt)"]) == wrong
