"""Checks every test gets for free: no solve needed a budget repair.

A repair (the exact check found an overspend and the stage was solved again)
keeps the result within budget but hides a fault in the model's budget row, so
no test instance may need one. tests/conftest.py imports the fixture, which
makes it apply to every test, in-process solves in the store and service too;
solves in a subprocess are checked through their summary.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import allocator.solve as solve_module
from allocator.solve import Allocation


@pytest.fixture(autouse=True)
def no_budget_repairs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Allocation]]:
    """Every optimal solve during the test, checked for budget repairs when it ends.

    A test that provokes repairs on purpose asks for this list, checks what it holds
    and clears it.
    """
    seen: list[Allocation] = []
    lexicographic = solve_module._lexicographic

    def recorded(*args: Any, **kwargs: Any) -> Allocation:
        allocation = lexicographic(*args, **kwargs)
        seen.append(allocation)
        return allocation

    monkeypatch.setattr(solve_module, "_lexicographic", recorded)
    yield seen
    repaired = budget_repairs_in(seen)
    assert not repaired, f"solves needed budget repairs, (stage, count): {repaired}"


def budget_repairs_in(allocations: list[Allocation]) -> list[list[tuple[int, int]]]:
    """(stage, repairs) of every stage that needed any, per allocation that did."""
    return [[(r.stage, r.budget_repairs) for r in a.stages if r.budget_repairs]
            for a in allocations if a.budget_repairs]


def assert_no_budget_repairs(result_dir: Path) -> None:
    """The solve that wrote `result_dir` needed no budget repair, in any stage."""
    summary = json.loads((result_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["budget_repairs"] == 0, summary["stages"]
    assert all(stage["budget_repairs"] == 0 for stage in summary["stages"]), summary["stages"]
