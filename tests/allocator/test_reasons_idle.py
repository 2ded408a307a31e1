"""Why a lot's devices stay idle, worked out with every solve: the parts add up to the idle
devices, and the shortcut that skips summing the room in reach changes no part."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.lot_use import REASONS, idle_reasons, leftovers, lot_uses
from allocator.problem import build_problem
from allocator.solve import solve
from allocator.validate import read_scenario
from tests.allocator.helpers import household, lot, make_round, point, write_round


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), budget=st.sampled_from([0, 900_000, 3_000_000, 10**9]))
def test_idle_parts_add_up_and_the_shortcut_changes_nothing(
        tmp_path_factory: pytest.TempPathFactory, seed: int, budget: int) -> None:
    rng = np.random.default_rng(seed)
    communes = ["26740", "25750"]
    households = [household(f"H{i:03d}", commune=str(rng.choice(communes)),
                            status=str(rng.choice(["poor", "near_poor", "other"])),
                            needs=str(rng.choice(["", "", "large_screen"])))
                  for i in range(int(rng.integers(1, 30)))]
    lots = [lot(f"L{j}", quantity=int(rng.integers(0, 12)),
                price=int(rng.choice([900_000, 1_190_000])),
                subsidy=int(rng.choice([0, 300_000, 900_000])),
                features=str(rng.choice(["", "large_screen"])),
                allowed_communes=str(rng.choice(["", "26740", "25750"])),
                allowed_statuses=str(rng.choice(["", "poor"])))
            for j in range(int(rng.integers(1, 6)))]
    sites = [point(f"P{k}", commune=str(rng.choice(communes)),
                   capacity=int(rng.integers(0, 6))) for k in range(int(rng.integers(1, 4)))]
    folder = write_round(tmp_path_factory.mktemp("idle") / "s",
                         make_round(households, lots, sites, budget_vnd=budget))
    scenario = read_scenario(folder)
    problem = build_problem(scenario)
    allocation = solve(problem, "greedy")
    got = idle_reasons(problem, scenario.lots, allocation.lot_of, allocation.point_of)
    left = leftovers(problem, scenario, allocation.lot_of, allocation.point_of)
    exact = lot_uses(problem, replace(left, home_room_max=np.zeros(0, np.int64)))
    assert got == [[(r, n) for r, n, _, _ in use.idle_reasons] for use in exact]
    for use, parts in zip(exact, got, strict=True):
        assert sum(n for _, n in parts) == use.idle
        assert all(n > 0 and r in REASONS for r, n in parts)
