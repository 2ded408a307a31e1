"""What a solve loads: each fresh process pays for every module it imports.

A small solve spends much of its time starting up, so the engine and `allocator
solve` keep the store, the web service, the report and package metadata out of
their way. These tests say which modules stay out; they time nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from allocator.result import _solver_version

EXAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "examples" / "ex01_small"
# Never needed to solve a round: the store and service, the HTML report, and
# importlib.metadata (with the email package it imports: 10 ms a solve).
AWAY = ("sqlalchemy", "fastapi", "starlette", "jinja2", "openpyxl", "scipy", "uvicorn",
        "psycopg", "api", "allocator.store", "allocator.report", "scenarios",
        "importlib.metadata", "email")
ENGINE = "import allocator.problem, allocator.result, allocator.solve, allocator.validate"


def loaded(code: str) -> set[str]:
    """The modules of AWAY that a fresh interpreter holds after running `code`."""
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps([m for m in {AWAY!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[2])
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_engine_imports_nothing_it_does_not_solve_with() -> None:
    assert loaded(ENGINE) == set()
    assert loaded(f"{ENGINE}, allocator.cli") == set()


def test_a_whole_solve_and_its_result_folder_load_nothing_else(tmp_path: Path) -> None:
    code = (f"{ENGINE}\n"
            "from allocator.problem import build_problem\n"
            "from allocator.result import allocations_frame, summary, unserved_frame, "
            "write_result\n"
            "from allocator.solve import solve\n"
            "from allocator.validate import read_scenario\n"
            f"problem = build_problem(read_scenario({str(EXAMPLE)!r}))\n"
            "allocation = solve(problem, 'optimal', None)\n"
            f"write_result({str(tmp_path)!r}, allocations_frame(problem, allocation), "
            "unserved_frame(problem, allocation), summary(problem, allocation, {}))")
    assert loaded(code) == set()
    assert (tmp_path / "summary.json").exists()


def test_commands_other_than_solve_do_not_load_the_engine() -> None:
    code = "import allocator.cli"
    probe = f"{code}\nimport sys\nprint('pandas' in sys.modules, 'ortools' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["False", "False"]


def test_the_solver_is_named_by_the_installed_version() -> None:
    assert _solver_version() == f"HiGHS via OR-Tools MathOpt {version('ortools')}"


def test_the_collector_pauses_while_the_engine_loads_and_leaves_it_be() -> None:
    code = """
import gc
from allocator.loading import uncollected
with uncollected():
    assert not gc.isenabled()
    import allocator.problem
frozen = gc.get_freeze_count()
assert gc.isenabled() and frozen > 10_000, frozen
with uncollected():  # nothing new to load: nothing more frozen
    import allocator.problem
assert gc.isenabled() and gc.get_freeze_count() == frozen
gc.disable()
with uncollected():
    pass
assert not gc.isenabled()  # a caller's own choice is left as it was
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "ok"
