"""Reasons that say what happened: households not eligible by their rule, apart from eligible
households left unserved by the resource that stopped them, named with its amounts in
English and Vietnamese, in `unserved.csv` and on the round's page alike."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.dashboard import dashboard
from allocator.explain import RULES, VI_MARK, in_language, unserved_causes
from allocator.problem import build_problem
from allocator.report.labels import Text
from allocator.report.reasons import unserved_view
from allocator.result import unserved_frame
from allocator.solve import solve
from allocator.validate import read_scenario
from tests.allocator.helpers import household, lot, make_round, point, write_round


def _solved(tmp_path: Path) -> tuple[Any, Any, pd.DataFrame, dict[str, Any]]:
    """Budget for two phones out of four households in Sài Gòn; in Phú Lợi a donated lot
    and a point with room for one of two; and one household for each eligibility rule."""
    households = [household(f"H{i}") for i in range(1, 5)] + [
        household("C1", commune="25750"), household("C2", commune="25750"),
        household("X1", status="other"), household("X2", smartphones=1),
        household("X3", twog_handsets=0)]
    lots = [lot("L1", quantity=10, price=1_000_000, subsidy=100_000,
                allowed_communes="26740"),
            lot("L2", quantity=10, allowed_communes="25750")]
    points = [point("P1", capacity=10), point("P2", commune="25750", capacity=1)]
    rnd = make_round(households, lots, points, budget_vnd=2_000_000)
    folder = write_round(tmp_path / "round", rnd)
    scenario = read_scenario(folder)
    problem = build_problem(scenario)
    allocation = solve(problem, "optimal")
    unserved = unserved_frame(problem, allocation)
    figures = dashboard(problem, allocation, scenario.communes, scenario.lots, scenario.points,
                        unserved)
    return problem, allocation, unserved, figures


def test_each_detail_names_the_resource_with_its_amounts_in_both_languages(
        tmp_path: Path) -> None:
    _, _, unserved, _ = _solved(tmp_path)
    rows = {r.household_id: (r.reason, r.detail) for r in unserved.itertuples()}
    # Which two of H1..H4, and which of C1 and C2, are served is a tie.
    left = sorted(h for h in rows if h.startswith("H"))
    other = next(h for h in rows if h.startswith("C"))
    assert {h: r for h, (r, _) in rows.items()} == {
        left[0]: "outranked", left[1]: "outranked", other: "outranked",
        "X1": "not_eligible_status", "X2": "has_smartphone", "X3": "no_2g_handset"}
    budget = rows[left[0]][1]
    assert in_language(budget, "en") == ("budget: 200,000 VND left, the cheapest suitable "
                                         "device in stock costs the budget 900,000 VND")
    assert in_language(budget, "vi") == ("Ngân sách không đủ: chỉ còn 200.000 đồng, mà máy phù "
                                         "hợp rẻ nhất còn trong kho cần ngân sách chi 900.000 "
                                         "đồng")
    assert in_language(rows[other][1], "en") == "capacity: every point in reach is full (P2)"
    assert in_language(rows[other][1], "vi") == "Hết chỗ: mọi điểm nhận trong tầm đã kín (P2)"
    assert in_language(rows["X1"][1], "vi") == ("Không thuộc diện của đợt: hộ khác, trong khi "
                                                "đợt này dành cho hộ nghèo, hộ cận nghèo")
    assert in_language(rows["X2"][1], "vi") == "Đã có điện thoại thông minh 4G/5G"
    for reason, detail in rows.values():
        assert detail.count(VI_MARK) == 1, detail
        english, vietnamese = detail.split(VI_MARK)
        # Programs split the English part at "; " into resources: the Vietnamese part
        # must not add one, and both name the same amounts.
        assert "; " not in vietnamese, detail
        if reason == "outranked":
            claims = {part.split(":")[0] for part in detail.split("; ")}
            assert claims <= {"budget", "stock", "capacity", "priority"}, detail
        amounts = re.findall(r"\d[\d,.]*\d", english)
        assert [a.replace(",", ".") for a in amounts] == re.findall(r"\d[\d.]*\d", vietnamese)


def test_a_detail_with_one_part_reads_the_same_in_both_languages() -> None:
    said = "national_id also given for B"
    assert in_language(said, "vi") == in_language(said, "en") == said
    assert in_language("", "vi") == ""


def test_the_counts_tell_rules_apart_from_resources(tmp_path: Path) -> None:
    _, _, unserved, figures = _solved(tmp_path)
    causes = figures["unserved_causes"]
    assert causes["budget_left_vnd"] == 200_000
    assert {r["reason"]: r["households"] for r in causes["not_eligible"]} == {
        "not_eligible_status": 1, "has_smartphone": 1, "no_2g_handset": 1}
    assert [r["reason"] for r in causes["not_eligible"]] == \
        [r for r in RULES if r in {"not_eligible_status", "has_smartphone", "no_2g_handset"}]
    assert causes["eligible"] == [
        {"kinds": ["budget"], "households": 2, "cost_min_vnd": 900_000,
         "cost_max_vnd": 900_000},
        {"kinds": ["capacity"], "households": 1}]
    total = sum(r["households"] for r in causes["not_eligible"] + causes["eligible"])
    assert total == len(unserved) == sum(figures["unserved_by_reason"].values())
    assert sum(d["households"] for d in causes["details"]) == 3
    assert causes["distinct_details"] == 2


def test_two_resources_at_once_are_one_line(tmp_path: Path) -> None:
    """A household held back by the budget and by full points is counted once, under both."""
    frame = pd.DataFrame({
        "household_id": ["A", "B", "C"], "reason": ["outranked"] * 3,
        "detail": ["budget: 5 VND left, the cheapest suitable device in stock costs the budget "
                   "7 VND; capacity: every point in reach is full (P1) | x",
                   "budget: 5 VND left, the cheapest suitable device in stock costs the budget "
                   "9 VND | y", "priority: z | w"]})
    problem, _, _, _ = _solved(tmp_path)
    causes = unserved_causes(problem, frame, problem.budget - 5)
    assert causes["eligible"] == [
        {"kinds": ["budget"], "households": 1, "cost_min_vnd": 9, "cost_max_vnd": 9},
        {"kinds": ["budget", "capacity"], "households": 1, "cost_min_vnd": 7,
         "cost_max_vnd": 7},
        {"kinds": ["priority"], "households": 1}]


def test_the_page_words_name_the_budget_left_and_the_cheapest_cost(tmp_path: Path) -> None:
    _, _, _, figures = _solved(tmp_path)
    vi = unserved_view(figures, Text("vi"))
    en = unserved_view(figures, Text("en"))
    assert vi is not None and en is not None
    assert [r.label for r in vi.eligible] == [
        "Ngân sách không đủ: chỉ còn 200.000 ₫, mà máy phù hợp rẻ nhất cần ngân sách chi "
        "900.000 ₫", "Hết chỗ: mọi điểm nhận trong tầm đã kín"]
    assert en.eligible[0].label == ("Budget: 200,000 ₫ left, the cheapest suitable phone costs "
                                    "the budget 900,000 ₫")
    assert [r.label for r in vi.not_eligible] == [
        "Không thuộc diện của đợt (đợt dành cho hộ nghèo, hộ cận nghèo)",
        "Không dùng máy 2G", "Đã có điện thoại thông minh"]
    # The details as unserved.csv words them, in the page's language.
    assert vi.details[0] == (in_language(figures["unserved_causes"]["details"][0]["detail"],
                                         "vi"), 2)
    assert en.details[0][0].startswith("budget: 200,000 VND left")
    assert 'aria-label="Không đủ điều kiện"' in str(vi.not_eligible_chart).replace("'", '"')


def test_a_round_solved_before_the_counts_were_kept_shows_the_reasons_as_before() -> None:
    assert unserved_view({"unserved_by_reason": {"outranked": 3}}, Text("vi")) is None
