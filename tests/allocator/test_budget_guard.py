"""The exact budget check catches a model that lets the solver overspend, and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import allocator.model as model_module
from allocator.cli import app
from allocator.milp import Milp
from allocator.model import AllocationModel
from allocator.problem import Problem, build_problem
from allocator.solve import InternalError, solve
from allocator.validate import read_scenario
from tests.allocator.guards import budget_repairs_in
from tests.allocator.helpers import household, lot, make_round, point, write_round
from tests.allocator.oracle import Round

BUDGET = 2_000_000
SET_ROW_UB = Milp.set_row_ub  # the real one, for loosening even where repairs are disabled


def two_households_one_dong_short() -> Round:
    """Serving both costs 2,000,001 VND, one more than the budget; either alone fits.

    Public costs 1,000,000 and 1,000,001 share no factor, so the model counts in
    single dong and a budget row one unit too loose allows exactly a 1 VND overspend.
    """
    return make_round([household("A"), household("B")],
                      [lot("L", quantity=1, price=1_000_000, subsidy=0),
                       lot("M", quantity=1, price=1_000_001, subsidy=0)],
                      [point("P")], budget_vnd=BUDGET)


def loosen_budget_row_by_one_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    add_budget_limit = model_module.add_budget_limit

    def loose(model: AllocationModel, problem: Problem) -> None:
        add_budget_limit(model, problem)
        upper = model.milp.row_ub_of(model.budget_row)
        SET_ROW_UB(model.milp, model.budget_row, upper + 1)

    monkeypatch.setattr(model_module, "add_budget_limit", loose)


def test_the_instance_needs_no_repair_with_the_real_budget_row(tmp_path: Path) -> None:
    problem = build_problem(read_scenario(write_round(tmp_path, two_households_one_dong_short())))
    allocation = solve(problem)
    assert allocation.budget_repairs == 0
    assert int((allocation.lot_of >= 0).sum()) == 1 and allocation.values.stage2 == 1_000_000


def test_a_budget_row_loosened_by_one_dong_is_caught_counted_and_repaired(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        no_budget_repairs: list) -> None:
    problem = build_problem(read_scenario(write_round(tmp_path, two_households_one_dong_short())))
    loosen_budget_row_by_one_unit(monkeypatch)
    allocation = solve(problem)
    # Stage 1 took both households for 2,000,001 VND; the exact check caught it once.
    assert allocation.budget_repairs == 1
    assert [(r.stage, r.budget_repairs) for r in allocation.stages] == [(1, 1), (2, 0), (3, 0)]
    assert allocation.values.stage2 <= BUDGET
    assert int((allocation.lot_of >= 0).sum()) == 1 and allocation.values.stage1 == 100
    # The guard every test carries saw it, and would fail any test that did not expect it.
    assert budget_repairs_in(no_budget_repairs) == [[(1, 1)]]
    no_budget_repairs.clear()


def test_allocator_solve_reports_the_repairs_in_summary_json(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        no_budget_repairs: list) -> None:
    folder = write_round(tmp_path / "scenario", two_households_one_dong_short())
    loosen_budget_row_by_one_unit(monkeypatch)
    done = CliRunner().invoke(app, ["solve", str(folder), "--out", str(tmp_path / "out"), "-q"])
    assert done.exit_code == 0, done.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["budget_repairs"] == 1
    assert [s["budget_repairs"] for s in summary["stages"]] == [1, 0, 0]
    assert summary["budget_used_vnd"] <= BUDGET and summary["served"] == 1
    no_budget_repairs.clear()


def test_a_solver_that_keeps_overspending_is_an_internal_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    problem = build_problem(read_scenario(write_round(tmp_path, two_households_one_dong_short())))
    loosen_budget_row_by_one_unit(monkeypatch)
    monkeypatch.setattr(Milp, "set_row_ub", lambda self, row, value: None)  # repairs do nothing
    with pytest.raises(InternalError, match="overspending the budget"):
        solve(problem)
