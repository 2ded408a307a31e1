"""The budget curve: every row is the exact optimum at its budget, saturation is the least
budget reaching the most weight, and the planner's sentence says what the rows say."""

from __future__ import annotations

import csv
import itertools
import json
import subprocess
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from allocator.budget_hull import Bends, BudgetHull
from allocator.curve import (
    Curve,
    CurvePoint,
    NextStep,
    budget_curve,
    next_step,
    next_step_sentence,
)
from allocator.problem import build_problem
from allocator.validate import read_scenario
from tests.allocator.helpers import (
    household,
    lot,
    make_round,
    point,
    run_engine,
    write_round,
)
from tests.allocator.oracle import Round
from tests.allocator.test_cli import ALLOCATOR
from tests.allocator.test_properties import rounds

HEADER = "budget_vnd,served,stage0,stage1,stage2,stage3,status"


def _curve(tmp: Path, rnd: Round, **options: Any) -> Curve:
    folder = write_round(tmp / "scenario", rnd)
    return budget_curve(read_scenario(folder), workers=1, **options)


def _at_budget(rnd: Round, budget: int) -> Round:
    return replace(rnd, policy={**rnd.policy, "budget_vnd": budget})


def _engine_at(tmp: Path, rnd: Round, budget: int) -> tuple[int, int, int, float]:
    """The engine's optimum with `budget` written into round.json (a plain solve)."""
    folder = write_round(tmp / f"at-{budget}", _at_budget(rnd, budget))
    allocation, _, _ = run_engine(folder)
    assert allocation.status.value == "OPTIMAL"
    return allocation.values.as_tuple()


def _values(p: CurvePoint) -> tuple[int, int, int, float]:
    return (p.stage0, p.stage1, p.stage2, p.stage3)


def _assert_same(found: tuple[int, int, int, float], expected: tuple[int, int, int, float]
                 ) -> None:
    assert found[:3] == expected[:3]
    assert abs(found[3] - expected[3]) < 1e-6


def priced_round(**policy: Any) -> Round:
    """Six households, three lots at three public costs, two points of limited room."""
    households = [
        household("H1", status="poor", flags="merit_family"),
        household("H2", status="poor"),
        household("H3", status="near_poor", needs="large_screen"),
        household("H4", status="near_poor", commune="25750"),
        household("H5", status="poor", commune="25750", flags="disability"),
        household("H6", status="near_poor"),
    ]
    lots = [
        lot("FREE", quantity=1, price=2_000_000),
        lot("HALF", quantity=2, price=2_000_000, subsidy=1_000_000, features="large_screen"),
        lot("FULL", quantity=3, price=1_500_000, subsidy=0),
    ]
    points = [point("P1", capacity=3), point("P2", commune="25750", capacity=2)]
    return make_round(households, lots, points, **{"budget_vnd": 1_000_000, **policy})


def floor_round() -> Round:
    """A fairness floor that trades weight for coverage once money allows it.

    Commune 26740 has two poor households and two donated devices kept to it;
    commune 25750 two near-poor households and only paid devices; one point (in
    reach of both) hands over two. At budget 0 both poor households are served
    (floor 1, weight 200); with 1,000,000 VND the floor takes one of each commune
    (floor 2, weight 160): stage 1 falls as the budget rises.
    """
    households = [household("A1", status="poor"), household("A2", status="poor"),
                  household("B1", commune="25750", status="near_poor"),
                  household("B2", commune="25750", status="near_poor")]
    lots = [lot("GIFT", quantity=2, allowed_communes="26740"),
            lot("PAID", quantity=2, price=1_000_000, subsidy=0, allowed_communes="25750")]
    points = [point("P", capacity=2)]
    return make_round(households, lots, points, budget_vnd=0, max_distance_km=30.0,
                      min_commune_share=0.5)


def test_every_row_is_the_independent_optimum_at_its_budget(tmp_path: Path) -> None:
    rnd = priced_round()
    curve = _curve(tmp_path, rnd, points=8)
    budgets = [p.budget_vnd for p in curve.points]
    assert budgets == sorted(set(budgets)) and budgets[0] == 0
    assert budgets[-1] == curve.saturation_vnd
    assert 1_000_000 in budgets  # the round's own budget (its +100 million is past saturation)
    assert curve.saturation_vnd < 101_000_000
    for p in curve.points:
        expected = _at_budget(rnd, p.budget_vnd).brute_force()
        _assert_same(_values(p), expected)
        _assert_same(_values(p), _engine_at(tmp_path, rnd, p.budget_vnd))
        assert p.status == "OPTIMAL"
        assert p.served == sum(p.by_status.values()) == sum(p.by_commune.values())


def test_rows_of_a_round_with_a_fairness_floor_are_its_optimum(tmp_path: Path) -> None:
    rnd = priced_round(min_commune_share=0.5, budget_vnd=0)
    curve = _curve(tmp_path, rnd, points=6, extra_budgets=[2_500_000])
    assert 2_500_000 in [p.budget_vnd for p in curve.points]
    for p in curve.points:
        _assert_same(_values(p), _at_budget(rnd, p.budget_vnd).brute_force())


@pytest.mark.parametrize("make", [priced_round, lambda: priced_round(budget_vnd=0),
                                  lambda: priced_round(copay_vnd={"near_poor": 500_000})])
def test_saturation_is_the_least_budget_with_the_most_weight(tmp_path: Path, make: Any
                                                             ) -> None:
    rnd = make()
    curve = _curve(tmp_path, rnd, points=3)
    saturation = curve.saturation_vnd
    most = _engine_at(tmp_path, rnd, 10**12)[1]
    assert curve.max_stage1 == most == _engine_at(tmp_path, rnd, saturation)[1]
    assert saturation > 0
    assert _engine_at(tmp_path, rnd, saturation - 1)[1] < most
    assert curve.points[-1].budget_vnd == saturation and curve.points[-1].stage1 == most


def test_with_a_floor_saturation_is_least_for_floor_then_weight(tmp_path: Path) -> None:
    # Found: with a floor, stage 1 can fall as the budget rises, so "the most weight" is
    # not what saturates; the floor and the weight together (lexicographically) do.
    rnd = floor_round()
    curve = _curve(tmp_path, rnd, points=4)
    saturation = curve.saturation_vnd
    assert saturation == 1_000_000
    at, below = _engine_at(tmp_path, rnd, saturation), _engine_at(tmp_path, rnd, saturation - 1)
    assert (below[0], below[1]) < (at[0], at[1])
    assert below[1] > at[1]  # less money, more weight: the floor is what money buys here
    assert (at[0], at[1]) == (2, 160) and (below[0], below[1]) == (1, 200)
    first, last = curve.points[0], curve.points[-1]
    assert (first.stage0, first.stage1, last.stage0, last.stage1) == (1, 200, 2, 160)
    assert curve.max_stage1 == 160


def test_max_budget_caps_the_range_and_saturation_is_still_reported(tmp_path: Path) -> None:
    rnd = priced_round(budget_vnd=0)
    full = _curve(tmp_path / "full", rnd, points=4)
    cap = full.saturation_vnd // 2
    capped = _curve(tmp_path / "capped", rnd, points=4, max_budget=cap)
    assert capped.saturation_vnd == full.saturation_vnd
    assert [p.budget_vnd for p in capped.points][-1] == cap
    assert all(p.budget_vnd <= cap for p in capped.points)
    _assert_same(_values(capped.points[-1]), _at_budget(rnd, cap).brute_force())


def test_bad_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="points"):
        _curve(tmp_path, priced_round(), points=1)
    with pytest.raises(ValueError, match="max_budget"):
        _curve(tmp_path, priced_round(), max_budget=-1)


def _no_floor(rnd: Round) -> Round:
    return replace(rnd, policy={**rnd.policy, "min_commune_share": 0.0})


@settings(max_examples=max(15, settings.default.max_examples // 6))
@given(rounds(max_households=12, max_lots=4, max_points=3))
def test_stage_1_never_falls_along_the_curve(rnd: Round) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        curve = _curve(Path(tmp), _no_floor(rnd), points=5)
    weights = [p.stage1 for p in curve.points]
    assert weights == sorted(weights)
    assert weights[-1] == curve.max_stage1
    for p in curve.points:
        assert p.stage2 <= p.budget_vnd
    budgets = [p.budget_vnd for p in curve.points]
    assert budgets == sorted(set(budgets)) and budgets[0] == 0
    assert budgets[-1] == curve.saturation_vnd


@settings(max_examples=max(10, settings.default.max_examples // 10))
@given(rounds(max_households=4, max_lots=2, max_points=2))
def test_rows_equal_brute_force_on_tiny_rounds(rnd: Round) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        curve = _curve(Path(tmp), rnd, points=4)
    for p in curve.points:
        _assert_same(_values(p), _at_budget(rnd, p.budget_vnd).brute_force())


@settings(max_examples=max(10, settings.default.max_examples // 10))
@given(rounds(max_households=40, max_lots=5, max_points=4))
def test_rows_equal_a_plain_solve_at_their_budget(rnd: Round) -> None:
    # Rows at hull vertices leave out households no optimum serves there; a plain solve
    # with the budget in round.json keeps everyone.
    with tempfile.TemporaryDirectory() as tmp:
        curve = _curve(Path(tmp), rnd, points=5)
        for p in curve.points:
            _assert_same(_values(p), _engine_at(Path(tmp), rnd, p.budget_vnd))


def _optimal_servings(rnd: Round) -> tuple[tuple[int, int], set[str]]:
    """Stages 1 and 2 of the optimum, and every household some such optimum serves."""
    options = []
    for h in rnd.households:
        choice: list[tuple[dict[str, Any], dict[str, Any]] | None] = [None]
        if rnd.eligible(h):
            choice += [(lt, p) for lt in rnd.lots if int(lt["quantity"]) > 0
                       and rnd.compatible(h, lt) for p in rnd.points
                       if int(p["capacity"]) > 0 and rnd.reachable(h, p)]
        options.append(choice)
    best: tuple[int, int] | None = None
    served: set[str] = set()
    for combo in itertools.product(*options):
        used = [(h, c) for h, c in zip(rnd.households, combo) if c is not None]
        given = Counter(c[0]["lot_id"] for _, c in used)
        handed = Counter(c[1]["point_id"] for _, c in used)
        cost = sum(rnd.cost(h, c[0]) for h, c in used)
        if cost > int(rnd.rule("budget_vnd")) or \
                any(n > int(lt["quantity"]) for lt in rnd.lots
                    for n in [given[lt["lot_id"]]]) or \
                any(n > int(p["capacity"]) for p in rnd.points for n in [handed[p["point_id"]]]):
            continue
        key = (sum(rnd.weight(h) for h, _ in used), -cost)
        ids = {h["household_id"] for h, _ in used}
        if best is None or key > best:
            best, served = key, set(ids)
        elif key == best:
            served |= ids
    assert best is not None
    return best, served


@settings(max_examples=max(20, settings.default.max_examples // 5))
@given(rounds(max_households=5, max_lots=2, max_points=2))
def test_households_left_out_at_a_vertex_are_served_by_no_optimum(rnd: Round) -> None:
    rnd = _no_floor(rnd)
    with tempfile.TemporaryDirectory() as tmp:
        problem = build_problem(read_scenario(write_round(Path(tmp), rnd)))
    hull = BudgetHull(problem)
    bends = Bends(hull)
    while bends.next() is not None:
        pass
    for vertex in bends.vertices.values():
        shut = hull.never_served(vertex)
        if shut is None or vertex.money <= 0 and not vertex.free_only:
            continue
        (weight, cost), served = _optimal_servings(_at_budget(rnd, vertex.cost_vnd))
        assert (weight, -cost) == (vertex.weight, vertex.cost_vnd)
        assert served.isdisjoint(set(problem.hh_id.filter(shut).to_pylist()))


# The planner's sentence.

def _row(budget: int, served: int, weight: int, by_status: dict[str, int],
         by_commune: dict[str, int]) -> CurvePoint:
    return CurvePoint(budget, served, 0, weight, budget, 0.0, "OPTIMAL", by_status, by_commune)


NAMES = {"26740": "Phường Sài Gòn", "25750": "Phường Phú Lợi", "1": "Xã Một"}


def _two_rows(more: int, weight: int) -> Curve:
    low = _row(3_000_000_000, 1000, 70_000, {"poor": 400, "near_poor": 600, "other": 0},
               {"26740": 500, "25750": 500})
    high = _row(3_100_000_000, 1000 + more, 70_000 + weight,
                {"poor": 400 + more // 4, "near_poor": 600 + more - more // 4, "other": 0},
                {"26740": 500 + more * 3 // 4, "25750": 500 + more - more * 3 // 4})
    top = _row(9_000_000_000, 5000, 300_000, {}, {})
    return Curve([low, high, top], 9_000_000_000, 300_000, 3_000_000_000, 1.0, NAMES)


def test_sentence_names_the_gain_in_both_languages() -> None:
    step = next_step(_two_rows(1234, 74_040))
    assert step is not None and step.served_more == 1234 and step.weight_more == 74_040
    assert step.communes[0] == ("26740", 925)
    assert next_step_sentence(step, NAMES, "vi") == (
        "100 triệu đồng tiếp theo sẽ phục vụ thêm 1.234 hộ (74.040 điểm ưu tiên), chủ yếu "
        "là hộ cận nghèo ở Phường Sài Gòn.")
    assert next_step_sentence(step, NAMES, "en") == (
        "The next 100 million VND would serve 1,234 more households (74,040 priority points), "
        "mostly near-poor households in Phường Sài Gòn.")


def test_sentence_when_the_next_money_serves_no_one_more() -> None:
    step = next_step(_two_rows(0, 0))
    assert step is not None and step.served_more == 0
    vi = next_step_sentence(step, NAMES, "vi")
    en = next_step_sentence(step, NAMES, "en")
    assert vi.startswith("100 triệu đồng tiếp theo sẽ không phục vụ thêm hộ nào.")
    assert "9.000.000.000 đồng" in vi
    assert en.startswith("The next 100 million VND would serve no more households.")
    assert "9,000,000,000 VND" in en


def test_sentence_at_saturation_says_more_money_serves_no_one() -> None:
    curve = _two_rows(10, 600)
    step = next_step(curve, from_budget=9_000_000_000)
    assert step is not None and step.saturated
    assert "thêm tiền không phục vụ thêm hộ nào" in next_step_sentence(step, NAMES, "vi")
    assert "more money would serve no one more" in next_step_sentence(step, NAMES, "en")
    assert next_step(curve, from_budget=12_000_000_000) == replace(
        step, from_budget_vnd=12_000_000_000, to_budget_vnd=12_000_000_000)


def test_step_past_saturation_is_compared_with_the_saturation_row() -> None:
    curve = _two_rows(10, 600)
    step = next_step(curve, from_budget=3_100_000_000, step_vnd=10_000_000_000)
    assert step is not None and step.to_budget_vnd == 9_000_000_000
    assert step.served_more == 5000 - 1010
    assert "Only 5,900,000,000 VND of it is needed" in next_step_sentence(step, NAMES, "en")
    assert next_step(curve, from_budget=3_050_000_000) is None  # no exact row there


def test_money_words() -> None:
    step = NextStep(0, 1_500_000_000, 1_500_000_000, 10**10, 3, 300, 0,
                    {"poor": 3, "near_poor": 0, "other": 0}, [("1", 3)])
    assert next_step_sentence(step, NAMES, "vi").startswith(
        "1,5 tỷ đồng tiếp theo sẽ phục vụ thêm 3 hộ (300 điểm ưu tiên), chủ yếu là hộ nghèo "
        "ở Xã Một.")
    assert next_step_sentence(step, {}, "en").startswith(
        "The next 1.5 billion VND would serve 3 more households (300 priority points), mostly "
        "poor households in 1.")
    one = replace(step, step_vnd=123_456, served_more=1, weight_more=1)
    assert next_step_sentence(one, NAMES, "en").startswith(
        "The next 123,456 VND would serve 1 more household (1 priority point)")


# The command.

def _curve_command(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ALLOCATOR), "curve", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def _priced_folder(tmp: Path) -> Path:
    """Thirty households, devices at 20 million VND of public money: 100 million serves 5."""
    statuses = ["poor", "near_poor", "near_poor"]
    households = [household(f"H{i:02d}", commune=("26740", "25750")[i % 2],
                            status=statuses[i % 3], flags="student" if i % 5 == 0 else "")
                  for i in range(30)]
    lots = [lot("PAID", quantity=30, price=20_000_000, subsidy=0)]
    points = [point("P1", capacity=20), point("P2", commune="25750", capacity=20)]
    return write_round(tmp / "scenario", make_round(households, lots, points,
                                                    budget_vnd=100_000_000))


def test_command_writes_the_curve_and_an_exact_sentence(tmp_path: Path) -> None:
    folder = _priced_folder(tmp_path)
    done = _curve_command(folder, "--out", tmp_path / "curve.csv", "--points", "5",
                          "--workers", "2", "--json", tmp_path / "curve.json", "--quiet")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "curve.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == HEADER
    rows = list(csv.DictReader(text.splitlines()))
    budgets = [int(r["budget_vnd"]) for r in rows]
    assert budgets == sorted(set(budgets))
    assert {0, 100_000_000, 200_000_000, 600_000_000} <= set(budgets)
    by_budget = {int(r["budget_vnd"]): r for r in rows}
    more = int(by_budget[200_000_000]["served"]) - int(by_budget[100_000_000]["served"])
    weight = int(by_budget[200_000_000]["stage1"]) - int(by_budget[100_000_000]["stage1"])
    assert more == 5
    data = json.loads((tmp_path / "curve.json").read_text(encoding="utf-8"))
    assert data["saturation_vnd"] == 600_000_000 and data["round_budget_vnd"] == 100_000_000
    assert [p["budget_vnd"] for p in data["points"]] == budgets
    step = data["next_step"]
    assert (step["served_more"], step["weight_more"]) == (more, weight)
    sentence = (f"100 triệu đồng tiếp theo sẽ phục vụ thêm {more} hộ "
                f"({weight:,} điểm ưu tiên)".replace(",", "."))
    assert step["sentence_vi"].startswith(sentence)
    assert sentence in " ".join(done.stdout.split())
    for r in rows:
        assert r["status"] == "OPTIMAL"
        assert len(r["stage3"].partition(".")[2]) <= 6


def test_command_refuses_a_broken_scenario_and_writes_nothing(tmp_path: Path) -> None:
    folder = _priced_folder(tmp_path)
    lines = (folder / "households.csv").read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",3,", ",ba,", 1)  # members of the third household
    (folder / "households.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = _curve_command(folder, "--out", tmp_path / "curve.csv", "--json",
                          tmp_path / "curve.json")
    assert done.returncode == 2
    assert "households.csv, row 4, column members" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "curve.csv").exists() and not (tmp_path / "curve.json").exists()


@pytest.mark.parametrize("option", [("--points", "1"), ("--max-budget", "-5"),
                                    ("--workers", "0"), ("--time-limit", "0"),
                                    ("--lang", "fr")])
def test_command_refuses_bad_options_in_a_sentence(tmp_path: Path, option: tuple[str, str]
                                                   ) -> None:
    done = _curve_command(tmp_path, "--out", tmp_path / "curve.csv", *option)
    assert done.returncode == 2
    assert option[0] in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "curve.csv").exists()


def test_command_when_the_round_budget_is_past_saturation(tmp_path: Path) -> None:
    rnd = make_round([household("H1"), household("H2", status="near_poor")],
                     [lot("PAID", quantity=2, price=30_000_000, subsidy=0)],
                     [point("P1")], budget_vnd=70_000_000)
    folder = write_round(tmp_path / "scenario", rnd)
    done = _curve_command(folder, "--out", tmp_path / "curve.csv", "--workers", "1",
                          "--lang", "en", "-q")
    assert done.returncode == 0, done.stderr
    assert "saturation budget: 60,000,000 VND" in done.stdout
    assert "already serves as many households" in " ".join(done.stdout.split())
    rows = (tmp_path / "curve.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == HEADER and rows[1].startswith("0,0,0,0,0,0,")
    assert rows[-1].startswith("60000000,2,0,160,60000000,")


@pytest.mark.parametrize("where", ["folder", "under-a-file"])
def test_command_refuses_an_output_it_cannot_write_before_solving(tmp_path: Path,
                                                                  where: str) -> None:
    folder = _priced_folder(tmp_path)
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    target = tmp_path if where == "folder" else tmp_path / "a-file" / "curve.csv"
    done = _curve_command(folder, "--out", target)
    assert done.returncode == 2, done.stderr
    assert str(target) in done.stderr and "Traceback" not in done.stderr
    assert "saturation" not in done.stderr  # refused before the first solve
