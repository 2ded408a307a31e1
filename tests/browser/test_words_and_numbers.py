"""Amounts typed and read as a Vietnamese office says them, in a real browser (Debian's
Chromium, headless, driven by Playwright), over a real `allocator serve`.

A planner types a budget as "3,5 tỷ" in the new-round form and in the campaign
budget, reads it back as "3,5 tỷ đồng" with the exact amount on hover, types one
the field cannot read and keeps the rest of the form, in Vietnamese and in English;
the technical details of a round are folded away, and the glossary is one click
from every page. Each step is photographed at 1366×768 and 390×844 into
tests/output/browser/ and must fit the phone's width.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.browser.conftest import VIEWPORTS, World, _run, shoot, sign_in


def _photograph(page: Any, name: str, world: World) -> None:
    """The page as it stands (a form's answer cannot be fetched again) at both sizes."""
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        overflow = page.evaluate("document.documentElement.scrollWidth") - width
        assert overflow <= 1, f"{name} is {overflow}px wider than the {label} screen"
        path = world.output / f"{name}-{width}x{height}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 5_000
    page.set_viewport_size({"width": 1366, "height": 768})


def _registry(world: World) -> None:
    """The scenario's households, lots and points as the registry a new round is made of."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{world.scenario.parent / 'store.db'}"}
    for kind in ("lots", "points", "households"):
        _run("import", kind, str(world.scenario / f"{kind}.csv"), env=env,
             cwd=world.scenario.parent)


def test_a_budget_typed_as_3_5_ty(chromium: Any, world: World) -> None:
    _registry(world)
    context, page = sign_in(chromium, world, "planner")

    # A budget the field cannot read: the reason under the field, the name kept.
    page.goto(f"{world.url}/rounds")
    page.fill("#new-name", "Đợt tháng 12")
    page.fill("#new-budget", "ba tỷ rưỡi")
    page.click("form[action='/rounds'] button[type=submit]")
    page.wait_for_load_state("load")
    assert "Không đọc được số tiền" in page.locator("#new-budget-error").inner_text()
    assert page.input_value("#new-name") == "Đợt tháng 12"
    assert page.input_value("#new-budget") == "ba tỷ rưỡi"
    assert page.get_attribute("#new-budget", "aria-invalid") == "true"
    _photograph(page, "budget-refused", world)

    # "3,5 tỷ" makes a round of 3.500.000.000 đồng, read in words, exact on hover.
    page.fill("#new-budget", "3,5 tỷ")
    page.click("form[action='/rounds'] button[type=submit]")
    page.wait_for_load_state("load")
    assert page.get_attribute("#round-status", "data-status") == "draft"
    amount = page.locator("span.money[data-vnd='3500000000']").first
    assert amount.inner_text() == "3,5 tỷ đồng"
    assert amount.get_attribute("title") == "3.500.000.000 ₫"
    details = page.locator("details#technical-details")
    assert details.locator("summary").inner_text() == "Chi tiết kỹ thuật"
    assert not details.evaluate("d => d.open")  # folded until asked for
    assert "seed" not in page.locator("main").inner_text().lower()
    round_url = page.url
    shoot(context, round_url, "budget-3-5-ty-round", world)

    # The campaign budget takes the same words.
    page.goto(f"{world.url}/campaign")
    page.fill("#campaign-budget", "3500 triệu")
    page.click("#set-budget")
    page.wait_for_load_state("load")
    card = page.locator("[data-kpi=budget_total]")
    assert card.get_attribute("data-value") == "3500000000"
    assert card.locator(".v").inner_text() == "3,5 tỷ đồng"
    assert card.locator(".money").get_attribute("title") == "3.500.000.000 ₫"

    # In English the field says why in English, and the round's heading is English.
    page.goto(f"{world.url}/lang/en?next=/rounds")
    page.fill("#new-budget", "-3,5 tỷ")
    page.click("form[action='/rounds'] button[type=submit]")
    page.wait_for_load_state("load")
    assert page.locator("#new-budget-error").inner_text() == "An amount cannot be negative."
    _photograph(page, "budget-refused-en", world)
    page.goto(round_url)
    assert page.locator("h1").inner_text().startswith("Round ")
    assert page.locator("span.money[data-vnd='3500000000']").first.inner_text() == \
        "3.5 billion VND"

    # The glossary, from the footer.
    page.click("#glossary-link")
    page.wait_for_load_state("load")
    assert page.locator("#optimal").inner_text() == "Proven optimal"
    page.goto(f"{world.url}/lang/vi?next=/glossary")
    assert page.locator("#optimal").inner_text() == "Tối ưu đã chứng minh"
    assert page.locator("#copay").inner_text() == "Đồng chi trả"
    shoot(context, f"{world.url}/glossary", "glossary", world)
    context.close()


def test_times_are_vietnam_s(chromium: Any, world: World) -> None:
    """The rounds list shows when each round was made on Vietnam's clock, dd/mm/yyyy."""
    import datetime as dt

    context, page = sign_in(chromium, world, "planner")
    page.goto(f"{world.url}/rounds")
    shown = page.locator("#rounds-table tbody tr td:last-child").first.inner_text()
    made = dt.datetime.strptime(shown, "%d/%m/%Y %H:%M")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=7)
    assert abs((now - made).total_seconds()) < 6 * 3600  # made within the test run
    assert Path(world.output).exists()
    context.close()
