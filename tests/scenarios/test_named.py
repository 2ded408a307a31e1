"""Named scenarios: deterministic for a seed, valid under the contract, realistic in shape."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from allocator.problem import build_problem
from allocator.reference import national_communes
from allocator.solve import solve
from allocator.validate import read_scenario
from scenarios.generator import generate
from scenarios.named import SCENARIOS, VN_UNIVERSAL, scenario
from tests.allocator.guards import assert_no_budget_repairs

ALLOCATOR = Path(sys.executable).parent / "allocator"
CITY = [n for n in SCENARIOS if n not in ("hcmc-universal", "national", "vn-universal")]


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    for folder, seed in (("a", 3), ("b", 3), ("c", 4)):
        scenario("demo", seed).write(tmp_path / folder)
    for name in ("households.csv", "lots.csv", "points.csv", "round.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "households.csv").read_bytes() != \
        (tmp_path / "c" / "households.csv").read_bytes()


@pytest.mark.parametrize("name", CITY)
def test_city_scenarios_are_valid_and_solve(tmp_path: Path, name: str) -> None:
    scenario(name, 1).write(tmp_path)
    problem = build_problem(read_scenario(tmp_path))
    allocation = solve(problem, time_limit_s=120)
    assert allocation.values.stage1 > 0


def test_demo_looks_like_a_city_round() -> None:
    tables = scenario("demo", 1)
    hh, lots, points = tables.households, tables.lots, tables.points
    eligible = hh[hh["poverty_status"].isin(["poor", "near_poor"]) &
                  (hh["twog_handsets"] > 0) & (hh["smartphones"] == 0)]
    assert 14_000 <= len(eligible) <= 16_000
    ratio = (hh["poverty_status"] == "near_poor").sum() / (hh["poverty_status"] == "poor").sum()
    assert 4.5 <= ratio <= 5.8
    assert 0.08 <= (hh["needs"] != "").mean() <= 0.14
    for flag in ("merit_family", "elderly_alone", "disability", "student"):
        assert hh["flags"].str.contains(flag).any()
    assert hh["commune_code"].nunique() == 168
    assert 20 <= lots["sponsor_id"].nunique() <= 40 and 40 <= len(lots) <= 80
    assert lots["unit_price_vnd"].between(1_000_000, 3_500_000).all()
    donated = (lots["sponsor_subsidy_vnd"] == lots["unit_price_vnd"]).mean()
    assert 0.2 <= donated <= 0.5
    assert (lots["allowed_communes"] != "").any() and (lots["allowed_statuses"] == "poor").any()
    assert 230 <= len(points) <= 270 and points["commune_code"].nunique() == 168
    assert (points["point_id"].str.startswith("UB-")).sum() == 168


def test_demo_budget_binds(tmp_path: Path) -> None:
    scenario("demo", 1).write(tmp_path)
    problem = build_problem(read_scenario(tmp_path))
    greedy = solve(problem, "greedy")
    assert greedy.values.stage2 > 0.99 * problem.budget
    assert int((greedy.lot_of >= 0).sum()) < int((problem.hh_reason == "").sum())


def test_universal_widens_eligibility() -> None:
    tables = scenario("hcmc-universal", 1)
    assert 240_000 <= len(tables.households) <= 260_000
    assert set(tables.round["eligible_statuses"]) == {"poor", "near_poor", "other"}
    assert (tables.households["poverty_status"] == "other").mean() > 0.8


def test_national_covers_every_unit_of_34_provinces() -> None:
    tables = scenario("national", 1)
    assert len(tables.households) == 2_000_000
    assert tables.communes is not None and len(tables.communes) == 3321
    assert tables.households["commune_code"].nunique() > 3000
    assert pd.Series(tables.points["commune_code"]).nunique() == 3321


def test_vn_universal_is_listed_and_its_recipe_makes_a_valid_folder(tmp_path: Path) -> None:
    assert "vn-universal" in SCENARIOS and "8,000,000" in SCENARIOS["vn-universal"][0]
    assert VN_UNIVERSAL.households == 8_000_000
    # The same recipe at a four-hundredth of the size: 8M rows are for the benchmark.
    small = replace(VN_UNIVERSAL, households=20_000, sponsors=20, lots=30, post_offices=20,
                    operator_shops=10)
    generate(national_communes(), small, 1, write_communes=True).write(tmp_path)
    problem = build_problem(read_scenario(tmp_path))
    assert len(problem.hh_id) == 20_000
    eligible = problem.hh_reason == ""
    assert 0.9 <= eligible.mean() <= 1.0
    statuses = pd.read_csv(tmp_path / "households.csv")["poverty_status"]
    assert set(statuses) == {"poor", "near_poor", "other"}
    assert len(pd.read_csv(tmp_path / "communes.csv")) == 3321
    assert len(pd.read_csv(tmp_path / "points.csv")) == 3321 + 20 + 10


def test_scenario_then_solve_from_the_command_line(tmp_path: Path) -> None:
    made = subprocess.run([str(ALLOCATOR), "scenario", "sample", "--out", str(tmp_path / "s"),
                           "--seed", "5"], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    done = subprocess.run([str(ALLOCATOR), "solve", str(tmp_path / "s"), "--out",
                           str(tmp_path / "r"), "-q"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r" / "allocations.csv").exists()
    assert_no_budget_repairs(tmp_path / "r")
    bad = subprocess.run([str(ALLOCATOR), "scenario", "nowhere", "--out", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown scenario" in bad.stderr
    assert not (tmp_path / "x").exists()
