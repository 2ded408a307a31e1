"""keep.csv of a re-plan (contract section 5): stages K1-K3 before stage 0."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator.solve as solve_module
from allocator.aggregate import build_units
from allocator.model import (
    KEEP_LOT,
    KEEP_POINT,
    KEEP_STAGES,
    AllocationModel,
    build_model,
    keep_bound,
    solution_vector,
    stage_objective,
)
from allocator.problem import build_problem
from allocator.reroute import rerouted
from allocator.validate import read_scenario
from tests.allocator.helpers import (
    household,
    lot,
    make_round,
    point,
    solve_round,
    write_round,
)
from tests.allocator.oracle import Round
from tests.allocator.test_cli import EXAMPLES, allocator
from tests.allocator.test_properties import rounds

KEEP_HEADER = "household_id,lot_id,point_id\n"


def _summary(out: Path) -> dict[str, Any]:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_replan_example_reaches_its_published_optimum(tmp_path: Path) -> None:
    done = allocator("solve", EXAMPLES / "ex03_replan", "--out", tmp_path / "out", "--quiet")
    assert done.returncode == 0, done.stderr
    summary = _summary(tmp_path / "out")
    expect = json.loads((EXAMPLES / "ex03_replan" / "expect.json").read_text(encoding="utf-8"))
    assert summary["status"] == "OPTIMAL" and summary["budget_repairs"] == 0
    for key in ("keep_served", "keep_point", "keep_lot", "stage0", "stage1", "stage2"):
        assert summary[key] == expect[key], key
    assert summary["stage3"] == expect["stage3"]  # per-household distances to 6 decimals


def _with_keep(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "scenario"
    shutil.copytree(EXAMPLES / "ex01_small", folder)
    (folder / "keep.csv").write_text(text, encoding="utf-8")
    return folder


def _refused(tmp_path: Path, text: str) -> list[str]:
    out = tmp_path / "out"
    done = allocator("solve", _with_keep(tmp_path, text), "--out", out, "-q")
    assert done.returncode == 2, done.stdout + done.stderr
    assert not out.exists() or not any(out.iterdir())
    return done.stderr.splitlines()


def test_unknown_ids_are_refused_and_located(tmp_path: Path) -> None:
    lines = _refused(tmp_path, KEEP_HEADER + "HH01,VT-01,UB-26740\nHH99,XX-01,UB-26740\n"
                               "HH02,CT-01,NOPE\n")
    text = "\n".join(lines)
    assert "keep.csv, row 3, column household_id: unknown household 'HH99'" in text
    assert "keep.csv, row 3, column lot_id: unknown lot 'XX-01'" in text
    assert "keep.csv, row 4, column point_id: unknown point 'NOPE'" in text
    assert "row 2" not in text


def test_household_kept_twice_is_refused(tmp_path: Path) -> None:
    text = "\n".join(_refused(tmp_path, KEEP_HEADER + "HH01,VT-01,UB-26740\n"
                                        "HH01,CT-01,UB-26740\n"))
    assert "keep.csv, row 3, column household_id: duplicate id 'HH01'" in text


def test_missing_column_is_refused(tmp_path: Path) -> None:
    text = "\n".join(_refused(tmp_path, "household_id,lot_id\nHH01,VT-01\n"))
    assert "keep.csv, row 1, column point_id: required column is missing" in text


def test_unsuitable_kept_lot_or_point_is_still_valid(tmp_path: Path) -> None:
    # HH04 has no 2G handset (not eligible); HH01 is kept at a point out of its reach.
    folder = _with_keep(tmp_path, KEEP_HEADER + "HH04,VT-01,UB-26740\nHH01,CT-01,BD-25750\n")
    done = allocator("solve", folder, "--out", tmp_path / "out", "-q")
    assert done.returncode == 0, done.stderr
    summary = _summary(tmp_path / "out")
    assert summary["keep_point"] == 0 and summary["keep_served"] <= 1


def test_without_keep_nothing_changes(tmp_path: Path) -> None:
    plain = EXAMPLES / "ex02_random"
    header_only = tmp_path / "scenario"
    shutil.copytree(plain, header_only)
    (header_only / "keep.csv").write_text(KEEP_HEADER, encoding="utf-8")
    for name, folder in (("a", plain), ("b", header_only)):
        done = allocator("solve", folder, "--out", tmp_path / name, "-q")
        assert done.returncode == 0, done.stderr
        summary = _summary(tmp_path / name)
        assert (summary["keep_served"], summary["keep_point"], summary["keep_lot"]) == (0, 0, 0)
    for name in ("allocations.csv", "unserved.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@st.composite
def replans(draw: Any) -> Round:
    rnd = draw(rounds(max_households=5, max_lots=2, max_points=2))
    ids = [h["household_id"] for h in rnd.households]
    kept = draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids)))
    rnd.keep = [{"household_id": h,
                 "lot_id": draw(st.sampled_from([lot["lot_id"] for lot in rnd.lots])),
                 "point_id": draw(st.sampled_from([p["point_id"] for p in rnd.points]))}
                for h in kept]
    return rnd


@settings(max_examples=max(60, settings.default.max_examples), deadline=None)
@given(replans())
def test_keep_optimum_equals_brute_force(rnd: Round) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        allocation, rows, reasons = solve_round(Path(tmp), rnd)
    kept, expected = rnd.brute_force_keep()
    assert allocation.status.value == "OPTIMAL"
    assert rnd.keep_values(rows) == kept
    assert rnd.check(rows)[:3] == expected[:3]
    assert allocation.values.as_tuple()[:3] == expected[:3]
    assert abs(allocation.values.stage3 - expected[3]) < 1e-6
    served = {r["household_id"] for r in rows}
    assert served.isdisjoint(reasons)
    assert served | set(reasons) == {h["household_id"] for h in rnd.households}


@st.composite
def replans_of_a_plan(draw: Any) -> Round:
    """A round is planned, then changed as re-plans are: a point, a lot or the budget shrinks.

    Kept households then mostly still fit, so the keep stages are usually proven by
    counting and the distance stage models only what they leave open.
    """
    rnd = draw(rounds(max_households=5, max_lots=2, max_points=2))
    with tempfile.TemporaryDirectory() as tmp:
        _, rows, _ = solve_round(Path(tmp), rnd)
    rnd.keep = [{"household_id": r["household_id"], "lot_id": r["lot_id"],
                 "point_id": r["point_id"]} for r in rows]
    change = draw(st.sampled_from(["point", "lot", "budget", "none"]))
    if change == "point":
        shrunk = draw(st.sampled_from(rnd.points))
        shrunk["capacity"] = draw(st.integers(0, int(shrunk["capacity"])))
    elif change == "lot":
        shrunk = draw(st.sampled_from(rnd.lots))
        shrunk["quantity"] = draw(st.integers(0, int(shrunk["quantity"])))
    elif change == "budget":
        rnd.policy["budget_vnd"] = draw(st.integers(0, int(rnd.policy["budget_vnd"])))
    return rnd


@settings(max_examples=max(60, settings.default.max_examples), deadline=None)
@given(replans_of_a_plan())
def test_replan_of_a_plan_equals_brute_force(rnd: Round) -> None:
    _solves_as_brute_force(rnd)


def _solves_as_brute_force(rnd: Round) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        allocation, rows, _ = solve_round(Path(tmp), rnd)
    kept, expected = rnd.brute_force_keep()
    assert allocation.status.value == "OPTIMAL"
    assert rnd.keep_values(rows) == kept
    assert rnd.check(rows)[:3] == expected[:3]
    assert abs(allocation.values.stage3 - expected[3]) < 1e-6


@settings(max_examples=max(40, settings.default.max_examples // 2), deadline=None)
@given(st.one_of(replans(), replans_of_a_plan()))
def test_cold_start_and_routing_per_class_keep_the_keep_stages(rnd: Round) -> None:
    # No greedy start: the keep stages are solved, not counted. No site model: the
    # routing per class must still hand kept households over at their kept points.
    with patch.object(solve_module, "GREEDY_START_MAX_HOUSEHOLDS", 0), \
            patch.object(solve_module, "SITE_MODEL_MAX_COLUMNS", 0), \
            patch.object(solve_module, "PRICE_CAPACITY", False), \
            tempfile.TemporaryDirectory() as tmp:
        _, rows, _ = solve_round(Path(tmp), rnd)
    kept, expected = rnd.brute_force_keep()
    assert rnd.keep_values(rows) == kept
    assert rnd.check(rows)[:3] == expected[:3]


def test_routing_per_class_hands_over_at_the_kept_point_not_the_nearest() -> None:
    rnd = make_round([household("H1", lat=10.7805, lon=106.704)], [lot("L1")],
                     [point("NEAR", lat=10.7805, lon=106.705),
                      point("FAR", lat=10.7805, lon=106.714)],
                     budget_vnd=10_000_000, max_distance_km=30.0)
    rnd.keep = [{"household_id": "H1", "lot_id": "L1", "point_id": "FAR"}]
    for priced in (False, True):
        with patch.object(solve_module, "SITE_MODEL_MAX_COLUMNS", 0), \
                patch.object(solve_module, "PRICE_CAPACITY", priced), \
                tempfile.TemporaryDirectory() as tmp:
            _, rows, _ = solve_round(Path(tmp), rnd)
        assert [r["point_id"] for r in rows] == ["FAR"]


def _displaced_round() -> Round:
    """Two households told to come to point C, which has closed; A and B have room for one each.

    The points are in another unit, so reach is by distance alone. H1 (first by weight)
    is nearest to A but also reaches B; H2 reaches only A. Served
    nearest first, H1 takes A and H2 is left out; both are served only with H1 at B.
    """
    rnd = make_round([household("H1", lat=10.7805, lon=106.705),
                      household("H2", status="near_poor", lat=10.7805, lon=106.695)],
                     [lot("L1", quantity=1), lot("L2", quantity=2)],
                     [point(name, "25750", capacity=room, lat=10.7805, lon=lon)
                      for name, room, lon in (("A", 1, 106.704), ("B", 1, 106.714),
                                              ("C", 0, 106.700))],
                     budget_vnd=10_000_000, max_distance_km=1.5)
    rnd.keep = [{"household_id": "H1", "lot_id": "L1", "point_id": "C"},
                {"household_id": "H2", "lot_id": "L2", "point_id": "C"}]
    return rnd


def test_displaced_kept_households_are_placed_together_and_counted() -> None:
    solved: list[int] = []
    original = solve_module._solve_stage

    def recording(*args: Any) -> Any:
        solved.append(args[4])  # the stage
        return original(*args)

    with patch.object(solve_module, "_solve_stage", recording), \
            tempfile.TemporaryDirectory() as tmp:
        allocation, rows, _ = solve_round(Path(tmp), _displaced_round())
    assert allocation.status.value == "OPTIMAL"
    assert {r["household_id"]: (r["lot_id"], r["point_id"]) for r in rows} == \
        {"H1": ("L1", "B"), "H2": ("L2", "A")}
    assert not set(solved) & set(KEEP_STAGES)  # the start reached every counting bound


def _feasible(model: AllocationModel, x: np.ndarray) -> bool:
    milp = model.milp
    lb, ub = np.concatenate(milp.lb), np.concatenate(milp.ub)
    rows, cols = np.concatenate(milp.entries_row), np.concatenate(milp.entries_col)
    activity = np.bincount(rows, weights=np.concatenate(milp.entries_val) * x[cols],
                           minlength=milp.n_rows)
    return bool((x >= lb).all() and (x <= ub).all() and
                (activity >= np.concatenate(milp.row_lb) - 1e-9).all() and
                (activity <= np.concatenate(milp.row_ub) + 1e-9).all())


def test_rerouting_keeps_the_households_served_and_reaches_kept_points_and_lots() -> None:
    rnd = _displaced_round()
    rnd.points[2]["capacity"] = 1  # C is open again: H1 and H2 could both be handed over there
    rnd.points[0]["capacity"] = 2
    with tempfile.TemporaryDirectory() as tmp:
        problem = build_problem(read_scenario(write_round(Path(tmp) / "s", rnd)))
    classes = build_units(problem, by_site=False)
    model = build_model(problem, classes)
    # Both served at A, each with the other's kept lot: no kept point, no kept lot.
    index = {h: i for i, h in enumerate(problem.hh_id.to_pylist())}
    lots, points = list(problem.lot_id), list(problem.point_id)
    lot_of = np.array([lots.index("L2"), lots.index("L1")])[[index["H1"], index["H2"]]]
    point_of = np.full(2, points.index("A"))
    hint = solution_vector(model, problem, classes, lot_of, point_of)
    assert _feasible(model, hint)
    for stage, best in ((KEEP_POINT, 1), (KEEP_LOT, 2)):
        objective, _ = stage_objective(model, problem, classes, stage)
        assert hint @ objective == 0
        x = rerouted(model, problem, classes, stage, hint)
        assert _feasible(model, x)
        assert np.array_equal(x[model.take], hint[model.take])
        assert x @ objective == best == keep_bound(problem, classes, stage, 2)


@settings(max_examples=max(30, settings.default.max_examples // 3), deadline=None)
@given(st.one_of(replans(), replans_of_a_plan()))
def test_keep_stages_with_stage_3_built_alongside(rnd: Round) -> None:
    # What stage 3 needs is built alongside the stages (as on national) with keep.csv
    # too: the sites are not, since the keep stages settle who may be served where.
    with patch.object(solve_module, "PREPARE_MIN_COLUMNS", 0):
        _solves_as_brute_force(rnd)
