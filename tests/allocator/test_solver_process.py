"""Large solves run in a helper process that is stopped when HiGHS runs past its time.

The helper's own answers must be HiGHS's answers; a helper that does not answer in
time is killed and the caller gets "no solution, time limit"; a helper that dies in a
solve makes it an error, and one that cannot start leaves the solves to the caller; a
helper never outlives a caller killed -9 and never prints a traceback on Ctrl-C.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from ortools.math_opt import model_parameters_pb2, parameters_pb2, result_pb2

from allocator import solver_process
from allocator.milp import INF, Milp, SolveStatus, solve_lp
from allocator.problem import build_problem
from allocator.solve import solve
from allocator.validate import read_scenario
from scenarios.named import scenario
from tests.allocator.small_models import highs_error_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_helper_left() -> Iterator[None]:
    solver_process.close()
    yield
    solver_process.close()


@pytest.fixture
def every_model_in_the_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solver_process, "MIN_COLUMNS", 0)


def _knapsacks(n: int, rows: int, seed: int = 1) -> Milp:
    """max c x over n binaries under `rows` random knapsack rows: hard enough to branch."""
    rng = np.random.default_rng(seed)
    milp = Milp()
    x = milp.add_vars(0, 1, n)
    for _ in range(rows):
        a = rng.integers(1_000, 100_000, n).astype(float)
        milp.add_row(x, a, -INF, float(a.sum() // 2))
    milp.set_objective(rng.integers(1_000, 100_000, n).astype(float), True)
    return milp


def _helper_pid() -> int:
    helper = solver_process._helpers.helper
    assert helper.alive()
    return int(helper.process.pid)


def test_the_helper_answers_what_highs_answers_here(monkeypatch: pytest.MonkeyPatch) -> None:
    for seed in range(4):
        milp = _knapsacks(30, 3, seed)
        monkeypatch.setattr(solver_process, "MIN_COLUMNS", 0)
        there, there_lp = milp.solve(30.0, 0.0), solve_lp(milp)
        _helper_pid()  # answered by a live helper
        monkeypatch.setattr(solver_process, "MIN_COLUMNS", 10**9)
        here, here_lp = milp.solve(30.0, 0.0), solve_lp(milp)
        assert there.status is here.status is SolveStatus.OPTIMAL
        assert there.objective == here.objective
        assert np.array_equal(there.values, here.values)
        assert there_lp.objective == pytest.approx(here_lp.objective, rel=1e-12)
        assert np.allclose(there_lp.duals, here_lp.duals)


@pytest.mark.usefixtures("every_model_in_the_helper")
@pytest.mark.parametrize("solver_type", solver_process.SOLVER_TYPES)
def test_the_helper_solves_with_the_solver_asked_for(solver_type: int) -> None:
    milp = _knapsacks(30, 3)
    proto = milp.to_proto()
    del proto.variables.integers[:]
    proto.variables.integers.extend([False] * milp.n_vars)
    params = parameters_pb2.SolveParametersProto()
    params.time_limit.seconds = 30
    there = solver_process.solve(proto, params,
                                 model_parameters_pb2.ModelSolveParametersProto(), solver_type)
    _helper_pid()  # answered by a live helper
    here = solver_process.solve_binding(proto, params,
                                        model_parameters_pb2.ModelSolveParametersProto(),
                                        solver_type)
    assert there.termination.reason == here.termination.reason \
        == result_pb2.TERMINATION_REASON_OPTIMAL
    # HiGHS says so in its termination's detail; GLOP leaves it empty.
    highs = solver_type == parameters_pb2.SOLVER_TYPE_HIGHS
    assert ("HighsModelStatus" in there.termination.detail) is highs
    assert there.solutions[0].primal_solution.objective_value == pytest.approx(
        here.solutions[0].primal_solution.objective_value, rel=1e-12)


@pytest.mark.usefixtures("every_model_in_the_helper")
def test_a_solver_the_engine_does_not_use_is_refused_in_the_helper_too() -> None:
    milp = _knapsacks(5, 1)
    with pytest.raises(solver_process.SolverFailed, match="not a solver of this engine"):
        solver_process.solve(milp.to_proto(), parameters_pb2.SolveParametersProto(),
                             model_parameters_pb2.ModelSolveParametersProto(),
                             parameters_pb2.SOLVER_TYPE_GSCIP)
    with pytest.raises(ValueError, match="not a solver of this engine"):
        solver_process.solve_binding(milp.to_proto(), parameters_pb2.SolveParametersProto(),
                                     model_parameters_pb2.ModelSolveParametersProto(),
                                     parameters_pb2.SOLVER_TYPE_GSCIP)


@pytest.mark.usefixtures("every_model_in_the_helper")
def test_models_larger_than_a_pipe_buffer_go_through_whole(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 30,000 columns: a model of about 1 MB against the pipe's 64 KB.
    rng = np.random.default_rng(2)
    milp = Milp()
    x = milp.add_vars(0, 1, 30_000, integer=False)
    milp.add_row(x, rng.integers(1, 100, len(x)).astype(float), -INF, 50_000.0)
    milp.set_objective(rng.integers(1, 100, len(x)).astype(float), True)
    monkeypatch.setattr(solver_process, "MIN_COLUMNS", 0)
    there = solve_lp(milp)
    monkeypatch.setattr(solver_process, "MIN_COLUMNS", 10**9)
    here = solve_lp(milp)
    assert there.status is here.status is SolveStatus.OPTIMAL
    assert there.objective == pytest.approx(here.objective, rel=1e-12)
    assert np.allclose(there.values, here.values)


@pytest.mark.usefixtures("every_model_in_the_helper")
def test_one_helper_serves_every_solve_of_a_thread() -> None:
    milp = _knapsacks(10, 2)
    milp.solve(10.0, 0.0)
    first = _helper_pid()
    milp.solve(10.0, 0.0)
    assert _helper_pid() == first


@pytest.mark.usefixtures("every_model_in_the_helper")
def test_a_helpers_peak_is_its_own_not_its_callers() -> None:
    # Until its exec a new helper runs on its caller's pages, and the kernel's count for
    # a finished child includes them: with 400 MB held here, that count would be more
    # than 400 MB. The helper's own count (VmHWM, from its exec) is what it added.
    ballast = np.ones(50_000_000)
    with open("/proc/self/status") as status:
        held_mb = next(int(line.split()[1]) for line in status
                       if line.startswith("VmRSS:")) / 1024
    assert held_mb > 400
    _knapsacks(10, 2).solve(10.0, 0.0)
    solver_process.close()
    assert 0 < solver_process.helpers_peak_mb() < held_mb - 300
    del ballast


_FREED_HEAP = """
import numpy as np
from allocator.solver_process import give_back_memory

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024

small = [np.ones(8_000) for _ in range(4_000)]  # 64 KB each: glibc's heap, not mmap
last = np.ones(8_000)  # (above them: the heap's top cannot simply shrink)
del small
before = rss_mb()
give_back_memory()
print(before, rss_mb())
"""


def test_memory_freed_in_this_process_goes_back_to_the_system() -> None:
    # 250 MB of arrays freed stay resident in glibc's heap until given back.
    if not _glibc():
        pytest.skip("malloc_trim is glibc's")
    done = subprocess.run([sys.executable, "-c", _FREED_HEAP], capture_output=True, text=True,
                          timeout=60, check=True)
    before, after = map(float, done.stdout.split())
    assert before - after > 150, (before, after)


def _glibc() -> bool:
    return platform.libc_ver()[0] == "glibc"


@pytest.mark.usefixtures("every_model_in_the_helper")
def test_the_caller_gives_memory_back_while_its_helper_solves(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(solver_process, "give_back_memory", lambda: calls.append(1))
    _knapsacks(10, 2).solve(10.0, 0.0)
    assert calls


@pytest.mark.usefixtures("every_model_in_the_helper")
def test_highs_own_error_in_the_helper_is_an_error_status() -> None:
    milp = highs_error_model()  # HiGHS's MIP stops with an internal error on it
    _knapsacks(5, 1).solve(10.0, 0.0)
    pid = _helper_pid()
    result = milp.solve(10.0, 0.5)
    assert _helper_pid() == pid  # reported by the helper, which lives on
    assert result.status in (SolveStatus.ERROR, SolveStatus.INFEASIBLE)
    assert len(result.values) == 0


def _started(module: str) -> solver_process.Helper:
    helper = solver_process.Helper(module)
    assert helper.ready(60.0)
    return helper


def _stuck_helper(monkeypatch: pytest.MonkeyPatch) -> list[solver_process.Helper]:
    started: list[solver_process.Helper] = []
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # helpers run with -P: no current directory

    def stuck() -> solver_process.Helper:
        started.append(_started("tests.allocator.stuck_solver"))
        return started[-1]

    monkeypatch.setattr(solver_process, "_helper", stuck)
    monkeypatch.setattr(solver_process, "GRACE_S", 0.5)
    monkeypatch.setattr(solver_process, "GRACE_SHARE", 0.0)
    return started


@pytest.mark.usefixtures("every_model_in_the_helper")
@pytest.mark.parametrize("maximize", [True, False])
def test_a_solve_that_runs_past_its_time_is_stopped(monkeypatch: pytest.MonkeyPatch,
                                                     maximize: bool) -> None:
    started = _stuck_helper(monkeypatch)
    milp = _knapsacks(10, 2)
    if not maximize:
        milp.set_objective(-np.asarray(milp.objective), False)
    result = milp.solve(0.5, 0.0)
    assert result.status is SolveStatus.NO_SOLUTION
    assert result.out_of_time
    assert len(result.values) == 0
    # The bound claims nothing: a caller taking it as proven learns nothing false.
    assert result.bound == (INF if maximize else -INF)
    (helper,) = started
    assert helper.process.returncode == -signal.SIGKILL  # stopped, and reaped


@pytest.mark.usefixtures("every_model_in_the_helper")
def test_an_lp_that_runs_past_its_time_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    _stuck_helper(monkeypatch)
    result = solve_lp(_knapsacks(10, 2), 0.5)
    assert result.status is SolveStatus.NO_SOLUTION


def _solver_module(folder: Path, name: str, body: str,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    (folder / f"{name}.py").write_text(
        "import sys\nfrom multiprocessing.connection import Connection\n" + body)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(folder), str(ROOT)]))
    monkeypatch.setattr(solver_process, "Helper", partial(solver_process.Helper, name))
    monkeypatch.setattr(solver_process, "_unavailable", False)


@pytest.mark.usefixtures("every_model_in_the_helper")
@pytest.mark.parametrize(("name", "body"), [
    # An interpreter that cannot run the helper (embedded, frozen): it never says it is
    # ready.
    ("dying_solver", "sys.exit(1)\n"),
    # A service updated on disk while it runs starts helpers of the new code (or the
    # other way round): one that reads three messages per solve would take the fourth
    # for the next model. Its first word differs.
    ("older_solver", "import time\n"
                     "Connection(int(sys.argv[2]), readable=False).send_bytes(b'ready')\n"
                     "time.sleep(3600)\n"),
])
def test_where_no_helper_can_start_the_caller_solves(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path, name: str,
                                                     body: str) -> None:
    # Every solve of the process then goes on in the caller, as before helpers.
    _solver_module(tmp_path, name, body, monkeypatch)
    milp = _knapsacks(10, 2)
    result = milp.solve(30.0, 0.0)
    assert result.status is SolveStatus.OPTIMAL
    assert solver_process._unavailable
    assert getattr(solver_process._helpers, "helper", None) is None
    monkeypatch.setattr(solver_process, "MIN_COLUMNS", 10**9)
    assert milp.solve(30.0, 0.0).objective == result.objective


@pytest.mark.usefixtures("every_model_in_the_helper")
def test_a_helper_that_dies_in_a_solve_makes_it_an_error(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    # Out of memory, say: the caller does not try the same here (it would likely die
    # of it too, or run past its time): the solve is an error, the round goes on.
    _solver_module(tmp_path, "crashing_solver",
                   "from allocator.solver_process import READY\n"
                   "Connection(int(sys.argv[2]), readable=False).send_bytes(READY)\n"
                   "ask = Connection(int(sys.argv[1]), writable=False)\n"
                   "for _ in range(4):\n    ask.recv_bytes()\nsys.exit(9)\n", monkeypatch)
    result = _knapsacks(10, 2).solve(30.0, 0.0)
    assert result.status is SolveStatus.ERROR
    assert solve_lp(_knapsacks(10, 2)).status is SolveStatus.ERROR  # a new helper, same end


@pytest.mark.usefixtures("every_model_in_the_helper")
def test_a_solve_cut_short_stops_its_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C (or SIGTERM, which the service turns into it) while the caller waits: the
    # helper is stopped at once, so its answer is never read as the next solve's and
    # ending the round does not wait for HiGHS.
    milp = _knapsacks(10, 2)
    milp.solve(10.0, 0.0)
    helper = solver_process._helpers.helper

    def interrupted(_wait: object) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(helper.answer, "poll", interrupted)
    with pytest.raises(KeyboardInterrupt):
        milp.solve(10.0, 0.0)
    assert helper.process.returncode == -signal.SIGKILL
    solver_process.close()  # at once: nothing is waited for
    assert milp.solve(10.0, 0.0).status is SolveStatus.OPTIMAL  # a new helper
    assert solver_process._helpers.helper is not helper


_PARENT = """
import sys
from allocator import solver_process
from tests.allocator.test_solver_process import _knapsacks
solver_process.MIN_COLUMNS = 0
helper = solver_process._helper()
solver_process._helper = lambda: helper
print(helper.process.pid, flush=True)
try:
    _knapsacks(400, 12).solve(600.0, 0.0)  # minutes of branching
except KeyboardInterrupt:  # as the allocator command answers Ctrl-C
    sys.exit(130)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie (exited, its parent not yet reaping) is gone too.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def test_the_helper_does_not_outlive_a_caller_killed_9() -> None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    helper = 0
    try:
        assert parent.stdout is not None
        helper = int(parent.stdout.readline())
        time.sleep(1.0)  # the solve is under way in the helper
        assert not _gone(helper)
        parent.kill()
        parent.wait()
        for _ in range(300):  # the helper looks once a second; allow a busy machine
            if _gone(helper):
                break
            time.sleep(0.1)
        assert _gone(helper)
    finally:
        if parent.poll() is None:
            parent.kill()
        if helper and not _gone(helper):
            os.kill(helper, signal.SIGKILL)


def test_a_round_leaves_no_helper_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    # The helper lives for one round: a service's worker thread keeps no idle process.
    monkeypatch.setattr(solver_process, "MIN_COLUMNS", 0)
    started: list[solver_process.Helper] = []
    start_helper = solver_process.Helper.__init__

    def recorded(self: solver_process.Helper, *args: object) -> None:
        start_helper(self, *args)  # type: ignore[arg-type]
        started.append(self)

    monkeypatch.setattr(solver_process.Helper, "__init__", recorded)
    with tempfile.TemporaryDirectory() as tmp:
        scenario("sample", 1).write(Path(tmp))
        allocation = solve(build_problem(read_scenario(Path(tmp))))
    assert allocation.status is SolveStatus.OPTIMAL
    assert started  # every solve of the round went through a helper
    assert all(helper.process.returncode == 0 for helper in started)  # ended, and reaped
    assert getattr(solver_process._helpers, "helper", None) is None


_IDLE_PARENT = _PARENT.replace("_knapsacks(400, 12).solve(600.0, 0.0)",
                               "_knapsacks(10, 2).solve(60.0, 0.0); time.sleep(600)")
_IDLE_PARENT = _IDLE_PARENT.replace("import sys", "import sys, time")


@pytest.mark.parametrize("helper_state", ["solving", "idle"])
def test_ctrl_c_stops_the_caller_and_its_helper_without_a_traceback(helper_state: str
                                                                    ) -> None:
    # Ctrl-C in a terminal reaches the whole process group, the helper too, in the
    # middle of a solve or between two (the caller routing, say).
    script = _PARENT if helper_state == "solving" else _IDLE_PARENT
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    helper = 0
    try:
        assert parent.stdout is not None
        helper = int(parent.stdout.readline())
        time.sleep(1.0)  # the solve is under way in the helper
        os.killpg(parent.pid, signal.SIGINT)
        _, stderr = parent.communicate(timeout=120)
        assert parent.returncode == 130
        for _ in range(300):
            if _gone(helper):
                break
            time.sleep(0.1)
        assert _gone(helper)
        assert "Traceback" not in stderr, stderr
    finally:
        if parent.poll() is None:
            parent.kill()
        if helper and not _gone(helper):
            os.kill(helper, signal.SIGKILL)
