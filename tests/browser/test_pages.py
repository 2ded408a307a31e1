"""The pages in a real browser: Debian's Chromium, headless, driven by Playwright.

Every page is photographed at 1366×768 and at 390×844 (a phone) into
tests/output/browser/, and must fit the phone's width without sideways scrolling.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from tests.browser.conftest import (
    ALLOCATOR,
    World,
    digits,
    new_context,
    shoot,
    sign_in,
    wait_until_solved,
)


def test_planner_solves_approves_varies_and_compares(chromium: Any, world: World) -> None:
    anonymous = new_context(chromium)
    shoot(anonymous, f"{world.url}/login", "login", world)
    page = anonymous.new_page()
    page.goto(f"{world.url}/rounds/1")
    assert "/login" in page.url  # pages need a signed-in user
    anonymous.close()

    context, page = sign_in(chromium, world, "planner")
    assert page.url.endswith("/rounds")
    page.goto(f"{world.url}/rounds/{world.draft_round}")
    assert page.get_attribute("#round-status", "data-status") == "draft"
    page.click("#solve")
    page.wait_for_load_state("load")
    assert page.locator("#progress").count() == 1, "the solve was not shown in progress"
    labels = wait_until_solved(page)
    assert labels, "no progress was shown"
    assert page.locator("#finished").inner_text() == "✓ Xong"

    summary = json.loads((world.result / "summary.json").read_text(encoding="utf-8"))
    figures = json.loads((world.result / "dashboard.json").read_text(encoding="utf-8"))
    expected = {"eligible": summary["eligible"], "served": summary["served"],
                "budget_used_vnd": summary["budget_used_vnd"],
                "devices_left": summary["devices_left"]}
    for key, value in expected.items():
        card = page.locator(f"[data-kpi={key}]")
        assert card.get_attribute("data-value") == str(value), key
        if key == "budget_used_vnd":  # in words ("3,2 tỷ đồng"), exact on hover
            exact = (card.locator(".v").get_attribute("title") or "").split(" / ")
            assert digits(exact[0]) == value and digits(exact[1]) == summary["budget_vnd"]
            assert card.locator(".v").inner_text().endswith("đồng")
        else:
            assert digits(card.locator(".v").inner_text()) == value, key
    for status in ("poor", "near_poor"):
        v = figures["kpis"]["by_status"][status]
        card = page.locator(f"[data-kpi=coverage_{status}]")
        assert abs(float(card.get_attribute("data-value")) - v["served"] / v["eligible"]) < 1e-6
        assert card.locator(".s").inner_text().replace(".", "") == \
            f"{v['served']} / {v['eligible']}"
    reasons = {row.locator("td").nth(1).inner_text():
               digits(row.locator("td").nth(2).inner_text())
               for row in page.locator("#reason-table tbody tr").all()}
    assert reasons == figures["unserved_by_reason"]
    assert page.locator("svg.map circle").count() >= 100
    assert page.locator("#commune-table tbody tr").count() == len(figures["communes"])

    # The commune table sorts by a column, both ways.
    header = page.locator("#commune-table thead th").nth(2)
    column = "#commune-table tbody tr td:nth-child(3)"
    header.click()
    ups = [int(x) for x in page.eval_on_selector_all(
        column, "cells => cells.map(c => c.dataset.sort)")]
    assert ups == sorted(ups)
    header.click()
    downs = [int(x) for x in page.eval_on_selector_all(
        column, "cells => cells.map(c => c.dataset.sort)")]
    assert downs == sorted(ups, reverse=True)
    shoot(context, f"{world.url}/rounds/{world.draft_round}", "round-dashboard", world)

    # Round 2, approved from the terminal, already holds phones for these households: the
    # confirmation warns, the ledger refuses the approval, says why, and the round stays
    # solved.
    page.click("#approve")
    page.wait_for_load_state("load")
    assert "Không thể phê duyệt" in page.locator("#approve-confirmation").inner_text()
    page.click("#confirm-approve")
    page.wait_for_load_state("load")
    assert page.get_attribute("#round-status", "data-status") == "solved"
    assert "hai máy hoặc hai suất" in page.locator("p.error[role=alert]").inner_text()

    # A variant with 10% more budget, solved and compared side by side.
    page.fill("#budget-percent", "10")
    page.click("#make-variant")
    page.wait_for_load_state("load")
    variant = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert page.get_attribute("#round-status", "data-status") == "draft"
    page.click("#solve")
    page.wait_for_load_state("load")
    wait_until_solved(page)
    page.click(f"a[href='/rounds/compare?a={world.draft_round}&b={variant}']")
    page.wait_for_load_state("load")
    budget_row = page.locator("#compare-kpis tbody tr").first
    first, second = (int(budget_row.locator("td").nth(i).locator("[data-vnd]")
                         .get_attribute("data-vnd")) for i in (1, 2))
    assert second == round(first * 1.1)
    assert page.locator("#compare-communes tbody tr").count() >= len(figures["communes"])
    compare_url = page.url
    shoot(context, compare_url, "compare", world)
    shoot(context, f"{world.url}/rounds", "rounds", world)

    page.goto(f"{world.url}/lang/en?next=/rounds/{world.draft_round}")
    assert page.locator("[data-kpi=served] .k").inner_text() == "Households served"
    shoot(context, f"{world.url}/rounds/{world.draft_round}", "round-dashboard-en", world)
    page.goto(f"{world.url}/lang/vi?next=/rounds")
    context.close()


def test_sponsor_sees_only_its_own_lots_in_suppressed_counts(chromium: Any,
                                                             world: World) -> None:
    lots = pd.read_csv(world.scenario / "lots.csv", dtype=str)
    own = set(lots.loc[lots["sponsor_id"] == world.sponsor_id, "lot_id"])
    households = pd.read_csv(world.scenario / "households.csv", dtype=str)
    allocations = pd.read_csv(world.result / "allocations.csv", dtype=str)
    mine = allocations.loc[allocations["sponsor_id"] == world.sponsor_id, "household_id"]
    # Three collected phones: a small count the sponsor must see only as "<5".
    recorded = httpx.post(f"{world.url}/api/rounds/{world.approved_round}/handovers",
                          json={"household_ids": list(mine[:3])},
                          headers={"Authorization": f"Bearer {world.planner_token}"},
                          timeout=30)
    assert recorded.status_code == 200, recorded.text

    context, page = sign_in(chromium, world, "sponsor")
    assert page.url.endswith("/portal")
    # Sponsors see approved rounds only: the planner's solved variant is not offered.
    offered = {o.get_attribute("value") for o in page.locator("#round option").all()}
    assert str(world.approved_round) in offered and offered <= {"1", "2"}
    page.goto(f"{world.url}/portal?round={world.approved_round}")
    shown_lots = {row.get_attribute("data-lot") for row in page.locator("#lots tbody tr[data-lot]")
                  .all()}
    assert shown_lots and shown_lots <= own
    assert own - shown_lots <= set(lots.loc[lots["sponsor_id"] == world.sponsor_id,
                                            "lot_id"]) - set(allocations["lot_id"])
    handed = [cell.inner_text() for cell in page.locator("#lots [data-figure=handed_over]").all()]
    allocated = [c.inner_text() for c in page.locator("#lots [data-figure=allocated]").all()]
    assert any(a.replace(".", "").isdigit() and int(a.replace(".", "")) >= 5
               for a in allocated)  # the key figure is kept, grouped as every count
    assert "<5" in handed and all(h in ("0", "<5", "*", "–") for h in handed)
    counts = [c.inner_text() for c in page.locator("#communes tbody td:nth-child(3)").all()]
    assert "<5" in counts
    assert all(c in ("<5", "*", "–") or int(c.replace(".", "")) >= 5 for c in counts)
    assert page.locator("svg.map circle").count() >= 160  # all of the city's units
    assert page.locator(".bars .bar-fill").count() == 6

    html = page.content()
    _no_personal_data(html, households, mine)

    # Another sponsor's id in the address changes nothing; planner pages are closed.
    other = next(s for s in lots["sponsor_id"].unique() if s != world.sponsor_id)
    page.goto(f"{world.url}/portal?round={world.approved_round}&sponsor={other}")
    assert {row.get_attribute("data-lot") for row in page.locator("#lots tbody tr[data-lot]")
            .all()} == shown_lots
    for path in ("/rounds", f"/rounds/{world.approved_round}",
                 f"/rounds/{world.approved_round}/handover.xlsx"):
        response = page.goto(f"{world.url}{path}")
        assert response is not None and response.status == 403, path

    page.goto(f"{world.url}/portal?round={world.approved_round}")
    with page.expect_download() as download:
        page.click("#csv")
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    # The lots table (one table per file): lot, model, quantity, allocated, handed over,
    # pending, idle; the last row is the total.
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[1:]
    assert {r[0] for r in rows[:-1]} == shown_lots
    for r in rows:
        for field in r[3:6]:
            assert field in ("", "0", "<5", "*", "–") or int(field) >= 5, r
    _no_personal_data(data.decode("utf-8-sig"), households, mine)
    shoot(context, f"{world.url}/portal?round={world.approved_round}", "portal", world)
    context.close()


def _no_personal_data(text: str, households: pd.DataFrame, served: pd.Series) -> None:
    """No name, phone, ID number, household id or home coordinate of anyone served."""
    who = households[households["household_id"].isin(set(served))]
    for column in ("household_id", "head_name", "phone", "national_id", "lat", "lon"):
        for value in who[column].dropna().unique():
            assert str(value) not in text, (column, value)


def test_the_html_report_opens_offline_with_its_charts(chromium: Any, world: World,
                                                       tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    done = subprocess.run([str(ALLOCATOR), "report", str(world.result), "--html", str(report)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    context = new_context(chromium, offline=True)
    asked: list[str] = []
    context.route("**/*", lambda route: (asked.append(route.request.url),
                                         route.continue_() if route.request.url.startswith(
                                             "file:") else route.abort()))
    page = context.new_page()
    page.goto(report.as_uri())
    assert all(url.startswith("file:") for url in asked), asked
    assert page.locator("svg.map circle").count() >= 100
    assert page.locator("svg.map").is_visible() and page.locator(".bars").first.is_visible()
    assert page.locator(".bars .bar-fill").count() >= 1
    summary = json.loads((world.result / "summary.json").read_text(encoding="utf-8"))
    assert page.get_attribute("[data-kpi=served]", "data-value") == str(summary["served"])
    page.locator("#commune-table thead th").nth(4).click()  # sorting works offline too
    assert page.get_attribute("#commune-table thead th:nth-child(5)", "aria-sort") == "ascending"
    shoot(context, report.as_uri(), "report", world)
    context.close()


def test_a_person_sets_a_password_from_the_one_time_link(chromium: Any, world: World) -> None:
    context = new_context(chromium)
    shoot(context, world.new_person_link, "set-password", world)
    page = context.new_page()
    page.goto(world.new_person_link)
    assert page.input_value("#name") == "mai"
    page.fill("#password", "mai-hands-phones-over")
    page.fill("#again", "mai-hands-phones-over")
    page.click("form[action='/set-password'] button[type=submit]")
    page.wait_for_load_state("load")
    assert page.url.endswith("/login?done=password")
    page.fill("#name", "mai")
    page.fill("#password", "mai-hands-phones-over")
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state("load")
    assert page.url.endswith("/rounds")
    page.goto(world.new_person_link)  # the link worked once
    assert page.locator("#password").count() == 0
    context.close()


def test_no_page_breaks_the_content_security_policy(chromium: Any, world: World) -> None:
    """The pages and the API docs work under the policy: nothing refused, nothing elsewhere."""
    n = world.approved_round
    refused: list[str] = []
    asked: list[str] = []
    for role, paths in (("planner", ["/rounds", f"/rounds/{n}", f"/rounds/{world.draft_round}",
                                     f"/rounds/compare?a={n}&b={n}", f"/portal?round={n}",
                                     "/docs"]),
                        ("sponsor", ["/portal", f"/portal?round={n}"])):
        context, page = sign_in(chromium, world, role)
        page.on("console", lambda m: refused.append(m.text)
                if "Content Security Policy" in m.text else None)
        page.on("request", lambda r: asked.append(r.url))
        for path in paths:
            page.goto(f"{world.url}{path}")
            page.wait_for_load_state("load")
            if path == "/docs":
                page.wait_for_selector(".opblock", timeout=30_000)
        context.close()
    assert not refused, refused
    assert all(url.startswith(world.url) for url in asked), asked
