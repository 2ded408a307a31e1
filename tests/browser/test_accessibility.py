"""axe-core over every page, for every role, in both languages and at both sizes.

Each page the server draws (every GET route of api/pages that answers HTML) is
opened in Debian's Chromium by the people who use it: a planner, a sponsor, a
point officer and someone not signed in. axe-core (installed with npm, as
.ci/run does: `npm install --prefix tests/browser --no-save axe-core@4`) runs
once per page, language (vi, the default, and en, the reader's cookie) and size
(1366×768 and 390×844), and must report no violation.

Before that the store gets what the pages show when in use: handovers, a
re-plan, a solved variant, a case; so the sections that only appear then are
checked too.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute

from tests.browser.conftest import VIEWPORTS, World, _run, signed_in_context

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
LANGS = ("vi", "en")
# Every violation found, not only the first few, so one run shows all there is to fix.
RUN_AXE = """async () => {
  const found = await axe.run(document, {resultTypes: ["violations"]});
  return found.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(" ") + " :: "
      + (n.failureSummary || "").replace(/\\s+/g, " ").slice(0, 300))}));
}"""

# (who, the route as api/pages declares it, the address opened: {names} from `ids`).
PAGES: list[tuple[str, str, str]] = [
    ("anonymous", "/login", "/login"),
    ("anonymous", "/set-password", "/set-password?t={link}"),
    ("anonymous", "/glossary", "/glossary"),
    ("planner", "/rounds", "/rounds"),
    ("planner", "/rounds/{round_id}", "/rounds/{draft}"),
    ("planner", "/rounds/{round_id}", "/rounds/{approved}"),
    ("planner", "/rounds/{round_id}", "/rounds/{replan}"),
    ("planner", "/rounds/{round_id}", "/rounds/{variant}"),
    ("planner", "/rounds/{round_id}", "/rounds/999999"),  # the error page
    ("planner", "/rounds/compare", "/rounds/compare?a={approved}&b={variant}"),
    ("planner", "/rounds/{round_id}/approve", "/rounds/{replan}/approve"),
    ("planner", "/rounds/{round_id}/close", "/rounds/{approved}/close"),
    ("planner", "/rounds/{round_id}/diff", "/rounds/{replan}/diff"),
    ("planner", "/rounds/{round_id}/report.html", "/rounds/{approved}/report.html"),
    ("planner", "/rounds/{round_id}/sponsors/{sponsor_id}/sheet.html",
     "/rounds/{approved}/sponsors/{sponsor}/sheet.html"),
    ("planner", "/rounds/{round_id}/slips", "/rounds/{approved}/slips"),
    ("planner", "/slips", "/slips"),
    ("planner", "/rounds/{round_id}/followups", "/rounds/{approved}/followups"),
    ("planner", "/followups", "/followups"),
    ("planner", "/campaign", "/campaign"),
    ("planner", "/households", "/households"),
    ("planner", "/households", "/households?q={head}"),
    ("planner", "/households/{household_id}", "/households/{handed}"),
    ("planner", "/cases", "/cases"),
    ("planner", "/cases/{case_id}", "/cases/{case}"),
    ("planner", "/point", "/point"),
    ("planner", "/point/{round_id}/{household_id}", "/point/{approved}/{handed}"),
    ("planner", "/portal", "/portal?sponsor={sponsor}&round={approved}"),
    ("planner", "/portal/campaign", "/portal/campaign?sponsor={sponsor}"),
    ("planner", "/glossary", "/glossary"),
    ("sponsor", "/portal", "/portal"),
    ("sponsor", "/portal/campaign", "/portal/campaign"),
    ("sponsor", "/glossary", "/glossary"),
    ("point", "/point", "/point"),
    ("point", "/point", "/point?q={head}"),
    ("point", "/point/{round_id}/{household_id}", "/point/{approved}/{handed}"),
    ("point", "/point/{round_id}/{household_id}", "/point/{approved}/{waiting}"),
    ("point", "/cases", "/cases"),
    ("point", "/cases/{case_id}", "/cases/{case}"),
    ("point", "/followups", "/followups"),
    ("point", "/rounds/{round_id}/followups", "/rounds/{approved}/followups"),
    ("point", "/slips", "/slips"),
    ("point", "/rounds/{round_id}/slips", "/rounds/{approved}/slips"),
    ("point", "/glossary", "/glossary"),
]
# GET routes of api/pages that answer a file, a redirect or JSON: nothing for axe to read.
NOT_PAGES = {"/", "/lang/{code}", "/rounds/{round_id}/progress",
             "/rounds/{round_id}/analyses/{kind}/progress", "/rounds/{round_id}/curve.csv",
             "/rounds/{round_id}/handover.{kind}", "/rounds/{round_id}/diff.csv",
             "/point/rounds/{round_id}/handover-list.xlsx", "/portal/figures.xlsx",
             "/portal/figures.csv", "/portal/figures.zip",
             "/rounds/{round_id}/sponsors/{sponsor_id}/sheet.xlsx"}


def test_every_page_route_is_checked() -> None:
    """A page added to api/pages is added here too, or named as not a page."""
    import api.pages

    routes = set()
    for module in pkgutil.iter_modules(api.pages.__path__):
        part = importlib.import_module(f"api.pages.{module.name}")
        if isinstance(getattr(part, "router", None), APIRouter):
            routes |= {r.path for r in part.router.routes
                       if isinstance(r, APIRoute) and "GET" in r.methods}
    checked = {route for _, route, _ in PAGES}
    assert routes - NOT_PAGES - checked == set()
    assert checked - routes == set(), "a checked page no longer exists"
    assert NOT_PAGES - routes == set()


@dataclass(frozen=True)
class Site:
    world: World
    ids: dict[str, str]
    contexts: dict[str, Any]  # role -> a signed-in browser context


@pytest.fixture(scope="module")
def axe_path() -> Path:
    if not AXE.exists():
        why = (f"{AXE} is missing: `npm install --prefix tests/browser --no-save axe-core@4` "
               "(.ci/run does)")
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(why)
        pytest.skip(why)
    return AXE


def _in_use(world: World, chromium: Any, planner: Any) -> dict[str, str]:
    """Handovers, a re-plan, a solved variant and a case: what the pages show in use."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{world.scenario.parent / 'store.db'}"}
    cwd = world.scenario.parent
    for kind in ("lots", "points", "households"):  # the registry cases and look-ups read
        _run("import", kind, str(world.scenario / f"{kind}.csv"), env=env, cwd=cwd)
    api = httpx.Client(base_url=f"{world.url}/api", timeout=60,
                       headers={"Authorization": f"Bearer {world.planner_token}"})
    approved = world.approved_round
    allocations = pd.read_csv(world.result / "allocations.csv", dtype=str)
    households = pd.read_csv(world.scenario / "households.csv", dtype=str)
    points = pd.read_csv(world.scenario / "points.csv", dtype=str)
    busiest = str(allocations["point_id"].value_counts().idxmax())
    here = allocations[allocations["point_id"] == busiest]["household_id"].tolist()
    done = api.post(f"/rounds/{approved}/handovers", json={"household_ids": here[:3]})
    assert done.status_code == 200, done.text
    commune = points.set_index("point_id").loc[busiest, "commune_code"]
    unserved = households[(households["commune_code"] == commune)
                          & ~households["household_id"].isin(allocations["household_id"])]
    case = api.post("/cases", json={"household_id": unserved["household_id"].iloc[0],
                                    "kind": "why_not_me", "note": "Hộ hỏi vì sao chưa được"})
    assert case.status_code == 201, case.text
    other = allocations["point_id"].value_counts().index[1]
    _run("round", "replan", str(approved), "--close-point", str(other), "--name", "Điều chỉnh",
         env=env, cwd=cwd)
    replan_id = max(int(r["id"]) for r in api.get("/rounds").json())
    page = planner.new_page()
    page.goto(f"{world.url}/rounds/{approved}")
    page.fill("#budget-percent", "10")
    page.click("#make-variant")
    page.wait_for_load_state("load")
    variant = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.close()
    _run("round", "solve", str(variant), env=env, cwd=cwd)
    return {"draft": str(world.draft_round), "approved": str(approved),
            "replan": str(replan_id), "variant": str(variant), "link": world.new_person_link
            .split("t=", 1)[1], "sponsor": world.sponsor_id, "handed": here[0],
            "waiting": here[-1], "case": str(case.json()["id"]),
            "head": households.set_index("household_id").loc[here[0], "head_name"]
            .split()[-1]}


@pytest.fixture(scope="module")
def site(world: World, chromium: Any, axe_path: Path) -> Iterator[Site]:
    contexts = {role: signed_in_context(chromium, world, role)
                for role in ("anonymous", "planner", "sponsor", "point")}
    ids = _in_use(world, chromium, contexts["planner"])
    for context in contexts.values():
        context.add_init_script(path=str(axe_path))
    yield Site(world, ids, contexts)
    for context in contexts.values():
        context.close()


def _opened_here(route: Any) -> None:
    """The report as the browser shows it when opened, not saved (it is sent as a download)."""
    response = route.fetch()
    route.fulfill(response=response, headers={
        k: v for k, v in response.headers.items() if k.lower() != "content-disposition"})


def _name(role: str, address: str) -> str:
    return f"{role}:{address}"


@pytest.mark.parametrize(("role", "route", "address"), PAGES,
                         ids=[_name(r, a) for r, _, a in PAGES])
def test_no_axe_violation(site: Site, role: str, route: str, address: str) -> None:
    """axe-core finds nothing on the page, in Vietnamese and English, on a desk and a phone."""
    url = site.world.url + address.format(**site.ids)
    context = site.contexts[role]
    found: list[str] = []
    page = context.new_page()
    page.route("**/report.html", _opened_here)
    try:
        for lang in LANGS:
            context.add_cookies([{"name": "lang", "value": lang, "url": site.world.url}])
            page.set_viewport_size({"width": 1366, "height": 768})
            page.goto(url)
            page.wait_for_load_state("load")
            assert page.evaluate("document.documentElement.lang") == lang, url
            for label, (width, height) in VIEWPORTS.items():
                page.set_viewport_size({"width": width, "height": height})
                for v in page.evaluate(RUN_AXE):
                    found.append(f"[{lang} {label}] {v['id']} ({v['impact']}): {v['help']}\n"
                                 + "\n".join(f"    {n}" for n in v["nodes"]))
    finally:
        page.close()
    assert not found, f"{url}\n" + "\n".join(found)
