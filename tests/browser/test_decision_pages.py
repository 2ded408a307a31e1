"""What a planner negotiates with, in a real browser: the budget curve, the bottlenecks and
the "why not me?" look-up, over the approved demo round of the browser world.

The planner asks for both analyses with the round page's buttons and watches them
finish (the worker inside `allocator serve` runs them); the pages must agree with
the API and with the engine's own unserved.csv. Every page is photographed at
1366×768 and 390×844 into tests/output/browser/ and must fit the phone's width.
"""

from __future__ import annotations

import csv
from typing import Any

import httpx

from allocator.lookup_words import CAUSE
from tests.browser.conftest import World, shoot, sign_in

# The words a Vietnamese explanation uses for each binding resource of unserved.csv.
BINDING_WORDS = {kind: CAUSE[kind][0] for kind in ("budget", "stock", "capacity")}


def _api(world: World, path: str) -> Any:
    answer = httpx.get(f"{world.url}/api{path}", timeout=60,
                       headers={"Authorization": f"Bearer {world.planner_token}"})
    assert answer.status_code == 200, answer.text[:300]
    return answer.json()


def _wait_for(page: Any, selector: str) -> None:
    """Wait until the page (reloaded by its progress box when the analysis ends) shows it."""
    for _ in range(1200):  # a deadline, not a speed target: 10 minutes at most
        try:
            if page.locator(selector).count():
                return
        except Exception:  # the page is reloading under us
            pass
        page.wait_for_timeout(500)
    raise AssertionError(f"{selector} never appeared")


def test_planner_reads_the_curve_the_bottlenecks_and_why_a_household_was_left_out(
        chromium: Any, world: World) -> None:
    context, page = sign_in(chromium, world, "planner")
    round_url = f"{world.url}/rounds/{world.approved_round}"
    page.goto(round_url)
    page.click("#request-curve")
    page.wait_for_load_state("load")
    page.click("#request-bottlenecks")
    page.wait_for_load_state("load")
    _wait_for(page, "#curve svg")
    _wait_for(page, "#changes li")

    curve = _api(world, f"/rounds/{world.approved_round}/analyses/curve")["result"]
    rows = curve["points"]
    assert len(rows) >= 12 and all(r["status"] == "OPTIMAL" for r in rows)
    budgets = [r["budget_vnd"] for r in rows]
    assert budgets == sorted(budgets) and budgets[0] == 0
    assert budgets[-1] == curve["saturation_vnd"]
    stage1 = [r["stage1"] for r in rows]
    assert stage1 == sorted(stage1)
    table = page.locator("#curve-table tbody tr")
    assert table.count() == len(rows)
    sentence = page.locator("#next-step").inner_text()
    assert "100 triệu đồng" in sentence
    step = curve["next_step"]
    assert f"{step['served_more']:,}".replace(",", ".") in sentence

    found = _api(world, f"/rounds/{world.approved_round}/analyses/bottlenecks")["result"]
    confirmed = {r["subject"] for r in found["relaxations"] if r["confirmed"]}
    best = found["best"][:10]
    shown = page.locator("#changes li").all_inner_texts()
    assert shown and shown == [r["sentence_vi"] for r in best]
    assert all((r["gain_weight"] > 0 or (r["gain_stage0"] or 0) > 0)
               and set(r["subjects"]) <= confirmed for r in best)
    assert 1 <= page.locator("#binding li").count() <= 3 * len(
        {b["kind"] for b in found["binding"]}) + len({b["kind"] for b in found["binding"]})
    shoot(context, round_url + "#curve", "decisions-round", world)

    # A household the budget, the stock or the capacity left out, looked up by id.
    with (world.result / "unserved.csv").open(encoding="utf-8") as handle:
        unserved = [r for r in csv.DictReader(handle) if r["reason"] == "outranked"]
    chosen = next(r for r in unserved if r["detail"].split(":")[0] in BINDING_WORDS)
    page.goto(f"{world.url}/households")
    page.fill("#q", chosen["household_id"])
    page.click("#search")
    page.wait_for_load_state("load")
    page.click(f"#household-results a[href$='/households/{chosen['household_id']}']")
    page.wait_for_load_state("load")
    item = page.locator(f"li[data-round='{world.approved_round}']")
    assert item.get_attribute("data-reason") == "outranked"
    kind = chosen["detail"].split(":")[0]
    assert kind in (item.get_attribute("data-binding") or "").split()
    assert BINDING_WORDS[kind] in item.inner_text().lower()
    shoot(context, f"{world.url}/households?q={chosen['household_id']}", "household-search",
          world)
    shoot(context, f"{world.url}/households/{chosen['household_id']}", "household-lookup",
          world)
    context.close()
