"""The new reasons and the sponsors' idle lots in a real browser, at 1366×768 and 390×844.

The round page tells households that are not eligible (by their rule) apart from
eligible households left unserved (by what stopped them, with the amounts), in the
page's language and in the words of unserved.csv; the sponsor portal says, for each of
a sponsor's lots with idle devices, why they are idle, without a bottleneck analysis,
and gives its figures as a workbook. Screenshots go to tests/output/browser/.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

from allocator.disclosure import HIDDEN, SMALL
from allocator.explain import RULES, in_language
from tests.browser.conftest import World, digits, shoot, sign_in

# The parts photographed: the reasons' section, and what follows the idle lots' heading.
REASONS_PART = "#eligible-unserved >> xpath=.."
IDLE_PART = "#idle-why >> xpath=following-sibling::*[1]"


def test_the_round_page_tells_rules_from_resources(chromium: Any, world: World) -> None:
    unserved = pd.read_csv(world.result / "unserved.csv", dtype=str, keep_default_na=False)
    counts = unserved["reason"].value_counts()
    context, page = sign_in(chromium, world, "planner")
    url = f"{world.url}/rounds/{world.approved_round}"
    page.goto(url)
    rules = {row.get_attribute("data-rule"): digits(row.locator("td").nth(1).inner_text())
             for row in page.locator("#not-eligible-table tbody tr").all()}
    assert rules == {r: int(counts[r]) for r in RULES if r in counts}
    causes = {row.get_attribute("data-cause"): (row.locator("td").first.inner_text(),
                                                digits(row.locator("td").nth(1).inner_text()))
              for row in page.locator("#eligible-unserved-table tbody tr").all()}
    eligible = int(counts[[r for r in counts.index if r not in RULES]].sum())
    assert sum(n for _, n in causes.values()) == eligible > 0
    # The demo's budget is what stops them, while phones are left in stock: the page says
    # so with the budget left and what the cheapest suitable phone costs it.
    label, n = causes["budget"]
    assert n == int(unserved["detail"].str.startswith("budget:").sum())
    budget = unserved.loc[unserved["detail"].str.startswith("budget:"), "detail"]
    left = {re.search(r"budget: ([\d,]+) VND left", d).group(1) for d in budget}  # type: ignore[union-attr]
    costs = sorted({int(re.search(r"costs the budget ([\d,]+) VND", d).group(1)  # type: ignore[union-attr]
                        .replace(",", "")) for d in budget})
    assert label.startswith("Ngân sách không đủ: chỉ còn ")
    assert left == {next(iter(left))} and next(iter(left)).replace(",", ".") in label
    assert f"{costs[0]:,}".replace(",", ".") in label and \
        f"{costs[-1]:,}".replace(",", ".") in label
    assert "Ưu tiên thấp hơn khi hết nguồn" not in page.content()
    # Two charts, one per group, and the most common details as unserved.csv words them.
    assert page.locator("#not-eligible .bars .bar-row").count() == len(rules)
    assert page.locator("#eligible-unserved .bars .bar-row").count() == len(causes)
    common = unserved.loc[~unserved["reason"].isin(RULES), "detail"].value_counts()
    first = page.locator("#unserved-details tbody tr").first
    assert first.locator("td").first.inner_text() == in_language(str(common.index[0]), "vi")
    assert digits(first.locator("td").nth(1).inner_text()) == int(common.iloc[0])
    shoot(context, url, "reasons-vi", world, REASONS_PART)

    page.goto(f"{world.url}/lang/en")
    page.goto(url)
    english = page.locator("#eligible-unserved-table tbody tr[data-cause=budget] td").first
    assert english.inner_text().startswith("Budget: ")
    assert page.locator("#not-eligible h3").inner_text().startswith("Not eligible")
    assert page.locator("#unserved-details tbody td").first.inner_text() == \
        in_language(str(common.index[0]), "en")
    shoot(context, url, "reasons-en", world, REASONS_PART)
    context.close()


def _idle_lots(world: World) -> dict[str, dict[str, Any]]:
    figures = json.loads((world.result / "dashboard.json").read_text(encoding="utf-8"))
    return {x["lot_id"]: x for x in figures["lots"] if x["quantity"] > x["given"]}


def test_a_sponsor_reads_why_its_lots_stay_idle(chromium: Any, world: World,
                                                tmp_path: Path) -> None:
    idle = _idle_lots(world)
    assert idle and all(x["idle_reasons"] for x in idle.values())
    context, page = sign_in(chromium, world, "sponsor")
    url = f"{world.url}/portal?round={world.approved_round}"
    page.goto(url)
    assert page.locator("#idle-why").is_visible()
    listed = page.locator("#idle-lots > li").all()
    for item in listed:
        lot = item.get_attribute("data-lot") or ""
        assert lot in idle and idle[lot]["sponsor_id"] == world.sponsor_id
        reasons = {r["reason"]: r["devices"] for r in idle[lot]["idle_reasons"]}
        for reason in item.locator("[data-reason]").all():
            said = reason.get_attribute("data-devices") or ""
            assert reason.get_attribute("data-reason") in reasons
            assert said in HIDDEN or int(said) == reasons[reason.get_attribute("data-reason")]
            assert said in HIDDEN or int(said) >= SMALL
    # A lot whose allocated count the portal shows, and that holds idle devices, is listed.
    shown = {row.get_attribute("data-lot"): row.locator("[data-figure=allocated]").inner_text()
             for row in page.locator("#lots tbody tr[data-lot]").all()}
    for lot, allocated in shown.items():
        if allocated.replace(".", "").isdigit() and lot in idle:
            assert lot in {x.get_attribute("data-lot") for x in listed}, lot
    shoot(context, url, "idle-lots-sponsor", world, IDLE_PART)
    with page.expect_download() as download:
        page.click("#xlsx")
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert len(book.sheetnames) == 4
    assert book.worksheets[0]["A4"].value.endswith("Trạng thái: Đã phê duyệt")
    context.close()

    # A planner previews the portal of the sponsor with the most idle devices: each of its
    # lots with idle devices says why, in either language.
    most = max(idle.values(), key=lambda x: x["quantity"] - x["given"])
    sponsor = most["sponsor_id"]
    context, page = sign_in(chromium, world, "planner")
    url = f"{world.url}/portal?round={world.approved_round}&sponsor={sponsor}"
    page.goto(url)
    mine = [x for x in idle.values() if x["sponsor_id"] == sponsor]
    assert {x.get_attribute("data-lot") for x in page.locator("#idle-lots > li").all()} == \
        {x["lot_id"] for x in mine}
    item = page.locator(f"#idle-lots > li[data-lot='{most['lot_id']}']")
    text = item.inner_text()
    assert f"{most['quantity']:,}".replace(",", ".") + " máy" in text
    for r in most["idle_reasons"]:
        assert item.locator(f"[data-reason={r['reason']}]").count() == 1
    if any(r["reason"] == "budget" for r in most["idle_reasons"]):
        assert "Ngân sách còn lại không đủ chi phần nhà nước của máy" in text
    shoot(context, url, "idle-lots-vi", world, IDLE_PART)
    page.goto(f"{world.url}/lang/en")
    page.goto(url)
    assert page.locator("#idle-why").inner_text() == "Why devices are idle"
    assert f"{most['quantity']:,} devices" in page.locator(
        f"#idle-lots > li[data-lot='{most['lot_id']}']").inner_text()
    shoot(context, url, "idle-lots-en", world, IDLE_PART)
    context.close()
