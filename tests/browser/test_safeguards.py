"""Decisions with safeguards in a real browser (Debian's Chromium via Playwright), over the
demo world: round 2 was approved from the terminal.

The planner makes a +10% variant of round 2 and solves it; the page shows it beside
its base and says approving it supersedes round 2. A second +10% variant, sent with
Enter from the percentage field, is refused and linked to the first. The approval
asks for confirmation (phones reserved, households to tell, the deadline, the round
superseded); once confirmed, round 2 is superseded and the sponsor's portal opens the
variant. Tabs left on the confirmation are refused in Vietnamese. Closing asks too,
and says what goes back to stock.

Every step is photographed at 1366×768 and 390×844 into tests/output/browser/ and
must fit the phone's width without sideways scrolling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.browser.conftest import VIEWPORTS, World, shoot, sign_in, wait_until_solved


def _at_both_sizes(context: Any, name: str, world: World, act: Callable[[Any], None]) -> None:
    """Do `act` on a fresh page at each screen size, then photograph what it shows."""
    for label, (width, height) in VIEWPORTS.items():
        page = context.new_page()
        page.set_viewport_size({"width": width, "height": height})
        act(page)
        page.wait_for_load_state("load")
        overflow = page.evaluate("document.documentElement.scrollWidth") - width
        assert overflow <= 1, f"{name} is {overflow}px wider than the {label} screen"
        path = world.output / f"{name}-{width}x{height}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 5_000
        page.close()


def _round_id(page: Any) -> int:
    return int(page.url.split("?")[0].rstrip("/").rsplit("/", 1)[1])


def test_decisions_ask_first_and_a_variant_supersedes_its_base(chromium: Any,
                                                               world: World) -> None:
    base = world.approved_round
    context, page = sign_in(chromium, world, "planner")

    # A +10% variant of the approved round, solved in the browser.
    page.goto(f"{world.url}/rounds/{base}")
    page.fill("#budget-percent", "10")
    with page.expect_navigation():
        page.click("#make-variant")
    variant = _round_id(page)
    with page.expect_navigation():
        page.click("#solve")
    wait_until_solved(page)
    result = page.locator("#variant-result")
    assert result.get_attribute("data-same-data") == "1"
    assert "Cùng dữ liệu với đợt" in page.inner_text("#variant-inputs")
    assert page.locator("#variant-beside tbody tr").count() == 5
    assert page.inner_text("#variant-overlap").startswith("Hộ được nhận ở cả hai: ")
    assert page.get_attribute("#supersedes-next", "data-supersedes") == str(base)
    assert page.inner_text("#approve") == f"Phê duyệt, thay cho đợt {base}…"
    for step in ("#next-approve", "#next-compare", "#next-discard"):
        assert page.locator(step).count() == 1, step
    shoot(context, f"{world.url}/rounds/{variant}", "safeguards-variant-beside-base", world)

    # The same variant again, sent with Enter from the percentage field: refused, linked.
    def twice(tab: Any) -> None:
        tab.goto(f"{world.url}/rounds/{base}")
        tab.fill("#budget-percent", "+10")
        with tab.expect_navigation():
            tab.press("#budget-percent", "Enter")
        alert = tab.inner_text("p.error[role=alert]")
        assert f"Đợt {variant} đã có đúng dữ liệu và chính sách" in alert, alert
        assert tab.get_attribute("#duplicate-round", "href") == f"/rounds/{variant}"
        assert tab.get_attribute("#round-status", "data-status") == "approved"  # not closed

    _at_both_sizes(context, "safeguards-duplicate-variant", world, twice)

    # Approving asks first and says what it commits; two tabs are left on the question.
    def asked(tab: Any) -> None:
        tab.goto(f"{world.url}/rounds/{variant}")
        with tab.expect_navigation():
            tab.click("#approve")
        box = tab.locator("#approve-confirmation")
        assert box.get_attribute("data-supersedes") == str(base)
        said = tab.inner_text("#approve-commits")
        phones = int(box.get_attribute("data-phones"))
        assert f"{phones:,}".replace(",", ".") + " máy được giữ cho" in said
        assert "hộ cần được báo" in said and "hạn nhận máy" in said
        assert f"Đợt {base}" in said and "được thay bằng đợt này" in said
        buttons = tab.locator("#approve-confirmation a.button, #approve-confirmation button")
        assert buttons.first.get_attribute("id") == "cancel-approve"

    _at_both_sizes(context, "safeguards-approve-confirm", world, asked)
    stale = []
    for width, height in VIEWPORTS.values():
        tab = context.new_page()
        tab.set_viewport_size({"width": width, "height": height})
        tab.goto(f"{world.url}/rounds/{variant}/approve")
        stale.append(tab)

    page.goto(f"{world.url}/rounds/{variant}/approve")
    with page.expect_navigation():
        page.click("#confirm-approve")
    assert page.get_attribute("#round-status", "data-status") == "approved"
    assert page.inner_text("#decided") == (f"Đã phê duyệt đợt {variant}; đợt {base} đã được "
                                           "thay bằng đợt này.")
    assert page.locator(f"#replaces a[href='/rounds/{base}']").count() == 1
    page.goto(f"{world.url}/rounds/{base}")
    assert page.get_attribute("#round-status", "data-status") == "superseded"
    assert page.locator(f"#superseded-by a[href='/rounds/{variant}']").count() == 1
    shoot(context, f"{world.url}/rounds/{variant}?done=approved_superseding",
          "safeguards-approved-variant", world)
    shoot(context, f"{world.url}/rounds/{base}", "safeguards-superseded-base", world)

    # The tabs still showing the question: refused in Vietnamese, nothing approved twice.
    for (width, height), tab in zip(VIEWPORTS.values(), stale, strict=True):
        with tab.expect_navigation():
            tab.click("#confirm-approve")
        alert = tab.inner_text("p.error[role=alert]")
        assert alert.startswith(f"Đợt {variant} đang ở trạng thái “Đã phê duyệt”; chỉ có thể "
                                "phê duyệt đợt ở trạng thái “Đã tính, chờ duyệt”."), alert
        assert "approved" not in alert and "only" not in alert
        overflow = tab.evaluate("document.documentElement.scrollWidth") - width
        assert overflow <= 1, f"the stale tab is {overflow}px wider than {width}px"
        tab.screenshot(path=str(world.output / f"safeguards-stale-tab-{width}x{height}.png"),
                       full_page=True)
        tab.close()

    # The approved round's page: closing is neither the first action nor a form to submit.
    page.goto(f"{world.url}/rounds/{variant}")
    actions = page.locator(".actions > a, .actions > form button")
    assert actions.first.get_attribute("id") != "close"
    assert actions.last.get_attribute("id") == "close"
    assert page.locator("form[action$='/close']").count() == 0

    # Closing asks first: what goes back to stock, who becomes a no-show, what stays.
    def closing(tab: Any) -> None:
        tab.goto(f"{world.url}/rounds/{variant}")
        with tab.expect_navigation():
            tab.click("#close")
        box = tab.locator("#close-confirmation")
        released = int(box.get_attribute("data-released"))
        assert released > 0 and box.get_attribute("data-early") == "1"
        said = tab.inner_text("#close-commits")
        count = f"{released:,}".replace(",", ".")
        assert f"{count} máy chưa trao được trả về kho" in said
        assert f"{count} hộ chưa đến nhận bị ghi là không đến nhận" in said
        assert "0 lượt trao máy đã ghi nhận" in said and "chưa đến" in said
        buttons = tab.locator("#close-confirmation a.button, #close-confirmation button")
        assert buttons.first.get_attribute("id") == "cancel-close"

    _at_both_sizes(context, "safeguards-close-confirm", world, closing)
    assert page.get_attribute("#round-status", "data-status") == "approved"

    # The sponsor's portal opens the approved variant, not the superseded round.
    sponsor, portal = sign_in(chromium, world, "sponsor")
    offered = portal.locator("#round option[selected]")
    assert offered.get_attribute("value") == str(variant)
    sponsor.close()

    page.goto(f"{world.url}/rounds/{variant}/close")
    with page.expect_navigation():
        page.click("#confirm-close")
    assert page.get_attribute("#round-status", "data-status") == "closed"
    assert page.inner_text("#decided") == f"Đã đóng đợt {variant}."
    context.close()
