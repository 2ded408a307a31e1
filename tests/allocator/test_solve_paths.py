"""The solver's other paths: time limits, the large-round distance stage, no greedy start."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import allocator.solve as solve_module
from allocator.aggregate import build_units
from allocator.check import check_allocation
from allocator.milp import MilpResult, SolveStatus
from allocator.model import build_model, stage_objective
from allocator.problem import Problem, build_problem
from allocator.validate import read_scenario
from scenarios.synthetic import synthetic


@pytest.fixture(scope="module")
def problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    folder = tmp_path_factory.mktemp("round")
    synthetic(3_000, 20, 15, 30, seed=21, budget_share=0.3).write(folder)
    return build_problem(read_scenario(folder))


def test_a_tiny_time_limit_still_gives_a_checked_allocation(problem: Problem) -> None:
    allocation = solve_module.solve(problem, time_limit_s=0.001)
    assert check_allocation(problem, allocation.lot_of, allocation.point_of)[0] == []
    assert allocation.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
    if allocation.status is SolveStatus.FEASIBLE and allocation.gap == allocation.gap:
        assert allocation.gap >= 0


def test_a_stopped_solve_never_returns_less_than_the_hand_method(problem: Problem) -> None:
    # Out of time before stage 1 improves on serving nobody (a national round on a busy
    # machine), the engine hands back greedy's allocation, not an empty one.
    stopped = solve_module.solve(problem, time_limit_s=0.001)
    by_hand = solve_module.solve(problem, "greedy")
    assert stopped.values.stage1 >= by_hand.values.stage1
    assert stopped.values.stage1 > 0


def test_large_round_path_keeps_stages_0_to_2_and_reports_feasible(
        problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the priced proof and the site model, only the routing per class is left.
    exact = solve_module.solve(problem)
    monkeypatch.setattr(solve_module, "SITE_MODEL_MAX_COLUMNS", 0)
    monkeypatch.setattr(solve_module, "PRICE_CAPACITY", False)
    routed = solve_module.solve(problem)
    assert exact.status is SolveStatus.OPTIMAL and routed.status is SolveStatus.FEASIBLE
    assert routed.values.as_tuple()[:3] == exact.values.as_tuple()[:3]
    assert routed.values.stage3 >= exact.values.stage3 - 1e-6
    assert routed.stages[-1].stage == 3 and routed.stages[-1].status is SolveStatus.FEASIBLE


def test_large_round_path_bounds_the_distance_by_prices(
        problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    # Points here are small and most are full, where pricing closes slowly: whatever it
    # ends with, its bound is below the optimum and its allocation no shorter.
    exact = solve_module.solve(problem)
    monkeypatch.setattr(solve_module, "SITE_MODEL_MAX_COLUMNS", 0)
    priced = solve_module.solve(problem, time_limit_s=20)
    assert priced.values.as_tuple()[:3] == exact.values.as_tuple()[:3]
    report = priced.stages[-1]
    assert report.stage == 3
    assert report.bound <= exact.values.stage3 + 1e-6 * exact.values.stage3
    assert priced.values.stage3 >= exact.values.stage3 - 1e-6
    if priced.status is SolveStatus.OPTIMAL:
        assert priced.values.stage3 - exact.values.stage3 <= 1e-3


def test_without_greedy_start_the_optimum_is_the_same(
        problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    exact = solve_module.solve(problem)
    monkeypatch.setattr(solve_module, "GREEDY_START_MAX_HOUSEHOLDS", 0)
    cold = solve_module.solve(problem)
    assert cold.status is SolveStatus.OPTIMAL
    assert cold.values.as_tuple()[:3] == exact.values.as_tuple()[:3]
    assert abs(cold.values.stage3 - exact.values.stage3) < 1e-6


def test_seed_changes_only_ties(tmp_path: Path) -> None:
    values = set()
    rows = set()
    for seed in (1, 2):
        tables = synthetic(800, 6, 6, 10, seed=5, budget_share=0.3, with_coordinates=False)
        tables.round["seed"] = seed
        tables.write(tmp_path / str(seed))
        p = build_problem(read_scenario(tmp_path / str(seed)))
        a = solve_module.solve(p)
        values.add((a.values.stage0, a.values.stage1, a.values.stage2,
                    round(a.values.stage3, 6)))
        rows.add(tuple(a.lot_of.tolist()))
    assert len(values) == 1  # same optimum
    assert len(rows) == 2    # households sharing a commune centroid are tied: seed decides


def test_a_loose_first_solve_is_vouched_for_or_solved_again(
        problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stage's first MIP runs with a looser integrality tolerance; its rounded answer
    # must meet every row exactly and reach the bound, or the stage is solved again
    # tightly. With an absurd tolerance (values 0.4 from an integer pass) the answer is
    # still the exact optimum. Stage 1's loose answer is refused whatever the check
    # says, so the tight solve runs at least once however the loose one came out.
    exact = solve_module.solve(problem)
    refused: list[int] = []
    tight_solves: list[int] = []
    real_vouched, real_mip = solve_module._vouched, solve_module._mip

    def vouched(model, result, stage):  # type: ignore[no-untyped-def]
        ok = real_vouched(model, result, stage) and stage != 1
        if not ok:
            refused.append(stage)
        return ok

    def mip(model, stage, gap, share, deadline, seed, hint, integrality):  # type: ignore[no-untyped-def]
        if integrality != solve_module._LOOSE_INTEGRALITY and stage != 3:
            tight_solves.append(stage)
        return real_mip(model, stage, gap, share, deadline, seed, hint, integrality)

    monkeypatch.setattr(solve_module, "_vouched", vouched)
    monkeypatch.setattr(solve_module, "_mip", mip)
    monkeypatch.setattr(solve_module, "_LOOSE_INTEGRALITY", 0.4)
    monkeypatch.setattr(solve_module, "_RELAXATION_FIRST", ())
    loose = solve_module.solve(problem)
    assert 1 in refused
    assert tight_solves == refused  # solved again tightly where refused, and only there
    assert check_allocation(problem, loose.lot_of, loose.point_of)[0] == []
    assert loose.status is SolveStatus.OPTIMAL
    assert loose.values.as_tuple()[:3] == exact.values.as_tuple()[:3]
    assert abs(loose.values.stage3 - exact.values.stage3) < 1e-6


def test_vouching_refuses_broken_rows_and_unproven_claims(problem: Problem) -> None:
    classes = build_units(problem, by_site=False)
    model = build_model(problem, classes)
    objective, maximize = stage_objective(model, problem, classes, 1)
    model.milp.set_objective(objective, maximize)
    nobody = np.zeros(model.milp.n_vars)
    # Serving nobody meets every row: vouched as FEASIBLE, not as OPTIMAL under a bound
    # above it; a value 0.4 off an integer that rounds past a row's side is refused.
    assert solve_module._vouched(model, MilpResult(SolveStatus.FEASIBLE, nobody, 0.0, 1e6,
                                                   0.0), 1)
    assert not solve_module._vouched(model, MilpResult(SolveStatus.OPTIMAL, nobody, 0.0,
                                                       1e6, 0.0), 1)
    assert solve_module._vouched(model, MilpResult(SolveStatus.OPTIMAL, nobody, 0.0, 0.9,
                                                   0.0), 1)  # bound rounds to the step
    broken = nobody.copy()
    broken[model.take[0]] = 0.6  # one household of a class, with no device or point
    assert not solve_module._vouched(model, MilpResult(SolveStatus.FEASIBLE, broken, 0.0,
                                                       1e6, 0.0), 1)


def test_what_stage_3_needs_built_alongside_gives_the_same_allocation(
        problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    # National's tie ranks and sites are built on a thread of their own while its
    # stages' LPs are solved in the helper; here on every round, for the same answer,
    # and the sites built there are the ones used (built once, on that thread).
    alone = solve_module.solve(problem)
    monkeypatch.setattr(solve_module, "PREPARE_MIN_COLUMNS", 0)
    real = solve_module.build_units
    built_on: list[str] = []

    def recorded(problem: Problem, by_site: bool, **kwargs: Any) -> Any:
        if by_site:
            built_on.append(threading.current_thread().name)
        return real(problem, by_site, **kwargs)

    monkeypatch.setattr(solve_module, "build_units", recorded)
    alongside = solve_module.solve(problem)
    assert built_on == ["allocator-prepare"]
    assert alongside.status is alone.status is SolveStatus.OPTIMAL
    assert alongside.values == alone.values
    assert np.array_equal(alongside.lot_of, alone.lot_of)
    assert np.array_equal(alongside.point_of, alone.point_of)


def _failing_alongside(monkeypatch: pytest.MonkeyPatch, part: str) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name.startswith("allocator-prepare"):
            raise MemoryError(f"no room for the {part}")
        return real(*args, **kwargs)

    name = "tie_rank" if part == "ranks" else "build_units"
    real = getattr(solve_module, name)
    monkeypatch.setattr(solve_module, "PREPARE_MIN_COLUMNS", 0)
    monkeypatch.setattr(solve_module, name, broken)


@pytest.mark.parametrize("part", ["ranks", "sites"])
def test_a_failure_while_building_alongside_reaches_the_caller(
        problem: Problem, monkeypatch: pytest.MonkeyPatch, part: str) -> None:
    _failing_alongside(monkeypatch, part)
    with pytest.raises(MemoryError, match=f"no room for the {part}"):
        solve_module.solve(problem)


def test_sites_built_alongside_are_not_waited_for_when_a_stage_stops(
        problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stage that stops (its time is up) leaves the routing per class: stage 3's sites
    # are not needed, and a failure building them is not the solve's.
    _failing_alongside(monkeypatch, "sites")
    real_stage = solve_module._solve_stage

    def stopped_at_2(model: Any, problem: Problem, classes: Any, stage: int,
                     *args: Any) -> Any:
        return None if stage == 2 else real_stage(model, problem, classes, stage, *args)

    monkeypatch.setattr(solve_module, "_solve_stage", stopped_at_2)
    allocation = solve_module.solve(problem)
    assert allocation.status is SolveStatus.FEASIBLE
    assert [r.stage for r in allocation.stages] == [1]
    assert check_allocation(problem, allocation.lot_of, allocation.point_of)[0] == []


def test_a_large_round_drops_the_closed_pairs_and_allocates_the_same(
        problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    # On a large round (no site model after it) stage 3's search takes the sites' open
    # pairs as theirs: the closed ones are not held twice. Here the fixing closes 9 of
    # 3,668; the handovers it returns follow the narrowed pairs, to the same allocation.
    monkeypatch.setattr(solve_module, "SITE_MODEL_MAX_COLUMNS", 0)
    real = solve_module.least_distance
    pairs: list[tuple[int, int]] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        sites = args[3]
        before = len(sites.pp_place)
        found = real(*args, **kwargs)
        pairs.append((before, len(sites.pp_place)))
        if found.found is not None:
            assert len(found.found[1]) == len(sites.pp_place)
        return found

    def kept_whole(*args: Any, **kwargs: Any) -> Any:
        return counted(*args, **{**kwargs, "narrow": False})

    monkeypatch.setattr(solve_module, "least_distance", counted)
    narrowed = solve_module.solve(problem)
    monkeypatch.setattr(solve_module, "least_distance", kept_whole)
    whole = solve_module.solve(problem)
    assert pairs[0][1] < pairs[0][0] and pairs[1][1] == pairs[1][0]
    assert narrowed.status is whole.status and narrowed.values == whole.values
    assert np.array_equal(narrowed.lot_of, whole.lot_of)
    assert np.array_equal(narrowed.point_of, whole.point_of)


_INTERRUPTED = """
import sys, tempfile, threading, time
from pathlib import Path
import allocator.solve as S
from allocator.problem import build_problem
from allocator.validate import read_scenario
from scenarios.synthetic import synthetic

folder = Path(tempfile.mkdtemp())
synthetic(600, 6, 6, 10, seed=3, budget_share=0.3).write(folder)
problem = build_problem(read_scenario(folder))
S.PREPARE_MIN_COLUMNS = 0
real = S.build_units

def slow(problem, by_site, **kwargs):
    if by_site and threading.current_thread().name == "allocator-prepare":
        time.sleep(120)
    return real(problem, by_site, **kwargs)

def interrupted(message):
    if message.startswith("stage 1"):
        raise KeyboardInterrupt

S.build_units = slow
try:
    S.solve(problem, progress=interrupted)
except KeyboardInterrupt:
    print("interrupted")
"""


def test_an_interrupted_solve_does_not_wait_for_what_is_built_alongside() -> None:
    # Ctrl-C in the middle of a large round: the command ends at once, not when the
    # thread building stage 3's sites is done (here it would take two minutes).
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED], capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "interrupted"
