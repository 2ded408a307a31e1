"""Every page on a phone (390×844): no table wider than the screen, and every column of
every table on it, the key columns first.

On a phone a table of four columns or more is read as cards (app.css, app.js): a
row's first cell heads its card and every other cell sits under its column's name.
Each page, in Vietnamese and English, is checked in Debian's Chromium over a real
`allocator serve` holding what the pages show in use (handovers, a re-plan, a solved
variant, a case), and photographed in Vietnamese into tests/output/browser/phone-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import VIEWPORTS, World, signed_in_context
from tests.browser.test_accessibility import PAGES, Site, _in_use, _name, _opened_here

PHONE = VIEWPORTS["phone"]
# The tables a planner missed on a phone, which must be there to be checked.
EXPECTED = {("planner", "/rounds"): {"rounds-table"},
            ("planner", "/rounds/{approved}"): {"commune-table", "lot-table", "point-table"},
            ("planner", "/rounds/compare?a={approved}&b={variant}"): {
                "compare-kpis", "compare-reasons", "compare-communes"},
            ("sponsor", "/portal"): {"lots", "communes"}}
# Every visible table: its box within the screen (and within any box that clips it), and
# in its first rows every cell with something in it on the screen; a table shown as cards
# names each cell's column.
CHECK = """() => {
  const width = document.documentElement.clientWidth, problems = [], seen = [];
  if (document.documentElement.scrollWidth > width + 1) {
    const wide = Array.from(document.body.querySelectorAll("*")).filter(
      e => e.getBoundingClientRect().right > width + 1 && !Array.from(e.children).some(
        c => c.getBoundingClientRect().right > width + 1)).slice(0, 3);
    problems.push(`the page is ${document.documentElement.scrollWidth - width}px too wide: `
      + wide.map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
        + (e.className && e.className.baseVal === undefined ? "." + e.className : "")).join(", "));
  }
  for (const table of document.querySelectorAll("table")) {
    if (!table.getClientRects().length) continue;  // folded away (a closed <details>)
    const name = table.id || table.className || "a table";
    seen.push(name);
    let left = 0, right = width;
    for (let box = table.parentElement; box; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== "visible") {
        const r = box.getBoundingClientRect();
        left = Math.max(left, r.left); right = Math.min(right, r.right);
      }
    }
    const r = table.getBoundingClientRect();
    if (r.right > right + 1 || r.left < left - 1)
      problems.push(`${name} is ${Math.round(r.width)}px wide in ${Math.round(right - left)}px`);
    const heads = table.tHead && table.tHead.rows.length
      ? Array.from(table.tHead.rows[0].cells, h => h.textContent.replace(/\\s+/g, " ").trim())
      : [];
    const rows = Array.from(table.tBodies).flatMap(b => Array.from(b.rows)).slice(0, 3);
    for (const row of rows) {
      Array.from(row.cells).forEach((cell, i) => {
        const column = heads[i] || `column ${i + 1}`;
        const c = cell.getBoundingClientRect();
        if (cell.textContent.trim() && (c.width < 1 || c.right > right + 1 || c.left < left - 1))
          problems.push(`${name}: "${column}" is off the screen`);
        else if (cell.scrollWidth > cell.clientWidth + 1)
          problems.push(`${name}: "${column}" spills out of its cell`);
        if (table.hasAttribute("data-cards") && i > 0 && heads[i]
            && row.cells.length === heads.length
            && !getComputedStyle(cell, "::before").content.includes(heads[i]))
          problems.push(`${name}: "${column}" is not named in its card`);
      });
    }
  }
  return {problems, seen};
}"""


@pytest.fixture(scope="module")
def site(world: World, chromium: Any) -> Iterator[Site]:
    contexts = {role: signed_in_context(chromium, world, role)
                for role in ("anonymous", "planner", "sponsor", "point")}
    ids = _in_use(world, chromium, contexts["planner"])
    yield Site(world, ids, contexts)
    for context in contexts.values():
        context.close()


@pytest.mark.parametrize(("role", "route", "address"), PAGES,
                         ids=[_name(r, a) for r, _, a in PAGES])
def test_every_column_is_on_a_phone(site: Site, role: str, route: str, address: str) -> None:
    url = site.world.url + address.format(**site.ids)
    context = site.contexts[role]
    page = context.new_page()
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.route("**/report.html", _opened_here)
    found: list[str] = []
    try:
        for lang in ("vi", "en"):
            context.add_cookies([{"name": "lang", "value": lang, "url": site.world.url}])
            page.goto(url)
            page.wait_for_load_state("load")
            checked = page.evaluate(CHECK)
            found += [f"[{lang}] {p}" for p in checked["problems"]]
            missing = EXPECTED.get((role, address), set()) - set(checked["seen"])
            assert not missing, f"{url}: {missing} not shown"
            if lang == "vi" and checked["seen"]:
                slug = re.sub(r"[^a-z0-9]+", "-", f"{role} {address}".lower()).strip("-")
                page.screenshot(path=str(site.world.output / f"phone-{slug}.png"),
                                full_page=True)
    finally:
        page.close()
    assert not found, f"{url}\n" + "\n".join(found)



# What the tip under the map says, the dot marked, and how far that dot's edge is from
# the tap (the browser itself moves a tap onto a small target near the finger).
TAPPED = """([x, y]) => {
  const tip = document.querySelector("figure.map-figure [data-map-tip]");
  const chosen = document.querySelector("svg.map circle.chosen");
  const box = chosen && chosen.getBoundingClientRect();
  return {tip: tip.textContent, chosen: chosen && chosen.querySelector("title").textContent,
          away: box && Math.hypot(box.left + box.width / 2 - x, box.top + box.height / 2 - y)
            - box.width / 2};
}"""


@pytest.mark.parametrize(("role", "address"), [
    ("planner", "/rounds/{approved}"), ("planner", "/campaign"), ("sponsor", "/portal")])
def test_a_tap_names_the_commune(site: Site, chromium: Any, role: str, address: str) -> None:
    """On a phone, with no hover to show a dot's <title>, a tap names its commune under the
    map; the key says what each colour means and accounts for every commune drawn."""
    context = chromium.new_context(storage_state=site.contexts[role].storage_state(),
                                   viewport={"width": PHONE[0], "height": PHONE[1]},
                                   has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(site.world.url + address.format(**site.ids))
        figure = page.locator("figure.map-figure")
        places = page.locator("svg.map circle.place")
        counted = sum(int(x) for x in figure.locator("figcaption li").evaluate_all(
            "items => items.filter(i => i.dataset.step !== 'none').map(i => i.dataset.places)"))
        # The key counts far islands too; they are listed beside the map, not drawn.
        assert places.count() > 10 and 0 <= counted - places.count() <= 3
        assert figure.locator(".map-key-title").inner_text().strip()
        for n in range(0, places.count(), max(1, places.count() // 8)):
            dot = places.nth(n)
            dot.scroll_into_view_if_needed()
            box = dot.bounding_box()
            assert box is not None
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.evaluate("document.querySelector('[data-map-tip]').textContent = ''")
            page.touchscreen.tap(x, y)
            shown = page.evaluate(TAPPED, [x, y])
            assert shown["tip"] == shown["chosen"]
            assert shown["away"] <= 12, shown  # under the finger
            assert ":" in shown["tip"]  # "Phường …: 12/20 (60,0%)"
        figure.screenshot(path=str(site.world.output / f"phone-map-tapped-{role}-"
                                   f"{address.strip('/').split('/')[0]}.png"))
    finally:
        context.close()
