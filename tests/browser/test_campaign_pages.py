"""The campaign pages in a real browser (Debian's Chromium, headless, driven by Playwright).

A real `allocator serve` over a store whose registry holds the `sample` city
(`allocator import`). The planner sets the campaign budget on /campaign, makes
round 1 from the registry, solves and approves it; phones are handed over (API);
then re-plans it with its busiest point closed, solves the new version, reads
the re-plan difference and approves the version, which supersedes round 1. The
sponsor looks at its devices over the whole campaign.

Every page is photographed at 1366×768 and at 390×844 into tests/output/browser/
and must fit the phone's width without sideways scrolling.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import (
    ALLOCATOR,
    OUTPUT,
    _link,
    _run,
    _set_password,
    shoot,
    wait_until_solved,
)

PLANNER = ("thu", "thu-runs-the-campaign")
SPONSOR = ("nha-tai-tro", "sees-its-own-devices")
BUDGET = 3_000_000_000


@dataclass
class Campaign:
    url: str
    folder: Path
    env: dict[str, str]
    cwd: Path
    token: str
    output: Path

    def api(self, method: str, path: str, **options: Any) -> httpx.Response:
        return httpx.request(method, f"{self.url}/api{path}", timeout=60,
                             headers={"Authorization": f"Bearer {self.token}"}, **options)

    def allocations(self, round_id: int) -> list[dict[str, Any]]:
        """Every allocation of a round, a page of the API at a time."""
        items: list[dict[str, Any]] = []
        while True:
            got = self.api("GET", f"/rounds/{round_id}/allocations",
                           params={"limit": 1000, "offset": len(items)}).json()
            items += got["items"]
            if not got["items"] or len(items) >= got["total"]:
                return items


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory, browser_path: Path
             ) -> Iterator[Campaign]:
    tmp = tmp_path_factory.mktemp("campaign-browser")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'store.db'}"}
    folder = tmp / "sample"
    _run("scenario", "sample", "--out", str(folder), env=env, cwd=tmp)
    for kind in ("lots", "points", "households"):
        _run("import", kind, str(folder / f"{kind}.csv"), env=env, cwd=tmp)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env["ALLOCATOR_BASE_URL"] = url
    link = _link(_run("user", "add", PLANNER[0], "--role", "planner", env=env, cwd=tmp))
    token = _run("token", "add", PLANNER[0], env=env, cwd=tmp).strip().splitlines()[-1]
    server = subprocess.Popen([str(ALLOCATOR), "serve", "--port", str(port)], env=env,
                              cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        _set_password(link, PLANNER[1])
        OUTPUT.mkdir(parents=True, exist_ok=True)
        yield Campaign(url, folder, env, tmp, token, OUTPUT)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _sign_in(chromium: Any, campaign: Campaign, who: tuple[str, str]) -> tuple[Any, Any]:
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(f"{campaign.url}/login")
    page.fill("#name", who[0])
    page.fill("#password", who[1])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state("load")
    return context, page


def _kpi(page: Any, key: str) -> int:
    return int(page.get_attribute(f"[data-kpi={key}]", "data-value"))


def _submit(page: Any, button: str) -> None:
    with page.expect_navigation():
        page.click(button)


def test_the_campaign_from_budget_to_an_approved_re_plan(chromium: Any,
                                                         campaign: Campaign) -> None:
    context, page = _sign_in(chromium, campaign, PLANNER)
    page.click("#nav-campaign")
    page.wait_for_load_state("load")
    assert page.url.endswith("/campaign")
    assert _kpi(page, "surveyed") == 2_000 and _kpi(page, "handed_over") == 0
    eligible = _kpi(page, "eligible")
    assert eligible == _kpi(page, "not_reached") > 0

    # The campaign budget: a refusal in words first, then the budget.
    page.fill("#campaign-budget", "ba tỷ")
    _submit(page, "#set-budget")
    assert "Không đọc được số tiền" in page.inner_text("#campaign-budget-error")
    assert page.input_value("#campaign-budget") == "ba tỷ"  # what was typed is kept
    page.fill("#campaign-budget", f"{BUDGET:,}".replace(",", "."))
    _submit(page, "#set-budget")
    assert page.get_attribute("[data-kpi=budget_total]", "data-value") == str(BUDGET)

    # Round 1 from the registry and the ledger, solved and approved in the browser.
    page.goto(f"{campaign.url}/rounds")
    page.fill("#new-name", "Đợt 1 — chiến dịch")
    _submit(page, "form[action='/rounds'] button[type=submit]")
    first = int(page.url.rstrip("/").rsplit("/", 1)[1])
    _submit(page, "#solve")
    wait_until_solved(page)
    _submit(page, "#approve")  # the confirmation first
    _submit(page, "#confirm-approve")
    assert page.get_attribute("#round-status", "data-status") == "approved"
    assert page.locator("#pickup-deadline").count() == 1
    # Closing asks first, and says it would be before the deadline; going back keeps it.
    _submit(page, "#close")
    assert page.get_attribute("#close-confirmation", "data-early") == "1"
    _submit(page, "#cancel-close")
    assert page.get_attribute("#round-status", "data-status") == "approved"

    allocations = campaign.allocations(first)
    handed = [a["household_id"] for a in allocations[:25]]
    recorded = campaign.api("POST", f"/rounds/{first}/handovers",
                            json={"household_ids": handed})
    assert recorded.status_code == 200, recorded.text
    page.goto(f"{campaign.url}/campaign")
    assert _kpi(page, "handed_over") == 25
    assert _kpi(page, "reserved") == len(allocations) - 25
    assert _kpi(page, "eligible") == eligible
    assert page.locator("svg.days rect.day").count() >= 1
    assert page.locator("svg.map circle").count() >= 100
    assert page.locator("#campaign-communes tbody tr").count() == 168
    header = page.locator("#campaign-communes thead th").nth(3)
    header.click()
    header.click()  # most handed over first
    top = page.locator("#campaign-communes tbody tr td:nth-child(4)").first.inner_text()
    assert int(top) >= 1
    shoot(context, f"{campaign.url}/campaign", "campaign", campaign)

    # A pledge beyond what the ledger allows is refused in words; a good one is recorded.
    page.fill("#pledge-devices", "0")
    _submit(page, "#pledge")
    assert page.locator("#campaign-error").count() == 1
    page.fill("#pledge-devices", "10")
    _submit(page, "#pledge")
    assert page.locator("#campaign-notice").count() == 1

    # Re-plan round 1 with its busiest point closed.
    waiting = Counter(a["point_id"] for a in allocations[25:])
    point = waiting.most_common(1)[0][0]
    shoot(context, f"{campaign.url}/rounds/{first}", "round-open-for-pickup", campaign)
    page.goto(f"{campaign.url}/rounds/{first}")
    page.fill("#replan-points", point)
    _submit(page, "#replan")
    version = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert version != first and page.get_attribute("#round-status", "data-status") == "draft"
    assert page.locator("#replaces").count() == 1
    _submit(page, "#solve")
    wait_until_solved(page)
    assert page.inner_text("#approve").endswith(f"{first}…")  # "... superseding round 1"
    counts = {c.get_attribute("data-change"): int(c.get_attribute("data-value"))
              for c in page.locator("#diff-counts .card").all()}
    assert counts["handed_over_fixed"] == 25
    assert counts["changes_point"] + counts["changes_point_and_device"] + counts["loses"] >= \
        waiting[point] > 0
    shoot(context, f"{campaign.url}/rounds/{version}", "replan-version", campaign)

    page.click("#open-diff")
    page.wait_for_load_state("load")
    rows = page.locator("#diff-table tbody tr")
    changed = sum(v for k, v in counts.items() if k not in ("keeps", "handed_over_fixed"))
    assert rows.count() == min(500, changed)
    moved = page.locator("#diff-table tbody tr[data-change=changes_point] td:nth-child(3)")
    assert all(cell.inner_text() == point for cell in moved.all())
    with page.expect_download() as download:
        page.click("#diff-csv")
    sheet = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert len(sheet.strip().splitlines()) == changed + 1
    shoot(context, page.url, "replan-diff", campaign)

    _submit(page, "#approve")
    assert page.get_attribute("#approve-confirmation", "data-supersedes") == str(first)
    _submit(page, "#confirm-approve")
    assert page.get_attribute("#round-status", "data-status") == "approved"
    page.goto(f"{campaign.url}/rounds/{first}")
    assert page.get_attribute("#round-status", "data-status") == "superseded"
    assert page.locator(f"#superseded-by a[href='/rounds/{version}']").count() == 1
    page.goto(f"{campaign.url}/campaign")
    assert _kpi(page, "handed_over") == 25  # handovers of the superseded round still count
    shoot(context, f"{campaign.url}/rounds/{first}", "round-superseded", campaign)

    page.goto(f"{campaign.url}/lang/en?next=/campaign")
    assert page.locator("[data-kpi=surveyed] .k").inner_text() == "Households surveyed"
    shoot(context, f"{campaign.url}/campaign", "campaign-en", campaign)
    page.goto(f"{campaign.url}/lang/vi?next=/campaign")

    # The sponsor with the most devices in round 1 sees its own lots over the campaign.
    sponsor = Counter(a["sponsor_id"] for a in allocations).most_common(1)[0][0]
    link = _link(_run("user", "add", SPONSOR[0], "--role", "sponsor", "--sponsor", sponsor,
                      env=campaign.env, cwd=campaign.cwd))
    _set_password(link, SPONSOR[1])
    context.close()
    context, page = _sign_in(chromium, campaign, SPONSOR)
    page.click("#to-campaign")
    page.wait_for_load_state("load")
    assert page.url.endswith("/portal/campaign")
    lots = {row.get_attribute("data-lot") for row in page.locator("#campaign-lots tr[data-lot]")
            .all()}
    own = {a["lot_id"] for a in allocations if a["sponsor_id"] == sponsor}
    assert own <= lots
    shown = [cell.inner_text() for cell in page.locator(
        "#campaign-lots [data-figure=handed_over], #campaign-lots [data-figure=reserved]"
    ).all()]
    assert shown and all(x in ("0", "<5", "*", "–") or int(x) >= 5 for x in shown), shown
    html = page.content()
    for household in handed:
        assert household not in html
    assert page.goto(f"{campaign.url}/campaign").status == 403
    shoot(context, f"{campaign.url}/portal/campaign", "portal-campaign", campaign)
    context.close()


def test_the_campaign_pages_keep_to_the_content_security_policy(chromium: Any,
                                                                campaign: Campaign) -> None:
    refused: list[str] = []
    asked: list[str] = []
    context, page = _sign_in(chromium, campaign, PLANNER)
    page.on("console", lambda m: refused.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("request", lambda r: asked.append(r.url))
    for path in ("/campaign", "/portal/campaign", "/rounds"):
        page.goto(f"{campaign.url}{path}")
        page.wait_for_load_state("load")
    context.close()
    assert not refused, refused
    assert asked and all(url.startswith(campaign.url) for url in asked), asked
