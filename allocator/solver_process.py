"""Large solves (HiGHS's, and GLOP's for some LPs) in a helper process, stopped when
their time is up.

HiGHS checks its time limit often, but not everywhere: on national's stage 3
sub-problem (842,647 columns) a solve given 27.8 s ran 225 s, and the round
took 265 s instead of the 60 s the planner allowed. Nothing inside the process
can stop it: MathOpt's HiGHS ignores the interrupter, and its call does not
return until HiGHS does.

So a large model is solved in a helper process. The caller waits for the
answer until the time limit plus a grace (HiGHS's own stop usually comes
first), and otherwise kills the helper and reports what HiGHS would report on a
time limit without a solution: the caller goes on with the best it already has.
A later solve starts a new helper.

- One helper per calling thread, started on first use and reused for the round
  (solve.solve ends it); starting it and a first small solve take about 0.1 s.
  It is a new Python process, not a fork: the service solves on threads, and a
  forked copy of a threaded process can hang on a lock.
- Whatever HiGHS prints on the helper's standard output (a debug line of its MIP
  solver) is dropped; the command's own output stays clean.
- The helper exits when its caller is gone, even in the middle of a solve (a
  service killed with -9): it watches its parent once a second. It leaves Ctrl-C
  to its caller, so an interrupted command prints no traceback from it.
- Small models solve in the calling process as before, and so does any model
  if no helper can be started. A helper that dies in a solve (out of memory, say)
  makes that solve an error, not a second try here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from ortools.math_opt import (
    callback_pb2,
    model_parameters_pb2,
    model_pb2,
    parameters_pb2,
    result_pb2,
)
from ortools.math_opt.core.python import solver as _mathopt_solver
from pybind11_abseil.status import StatusNotOk

# Models with at least this many columns go to the helper: national's class model
# (497,499) and stage 3 models; hcmc-universal's largest is far below.
MIN_COLUMNS = 300_000
# HiGHS may end a little after its limit in the normal way (writing the solution
# back takes time at this size); only beyond this is it stopped.
GRACE_S = 5.0
GRACE_SHARE = 0.1
# The helper's first word, once it can solve. It names what each solve sends, so a
# helper of other code (a service updated on disk while it runs) is never used.
READY = b"ready: model, parameters, model parameters, solver"
SOLVER_TYPES = (parameters_pb2.SOLVER_TYPE_HIGHS, parameters_pb2.SOLVER_TYPE_GLOP)
START_S = 60.0    # a helper not ready by then is not used


def grace(limit_s: float) -> float:
    """How long past its time limit a solve is waited for."""
    return GRACE_S + GRACE_SHARE * limit_s


def solve_binding(model: model_pb2.ModelProto, params: parameters_pb2.SolveParametersProto,
                  model_params: model_parameters_pb2.ModelSolveParametersProto,
                  solver_type: int = parameters_pb2.SOLVER_TYPE_HIGHS
                  ) -> result_pb2.SolveResultProto:
    """HiGHS (or `solver_type`, one of HiGHS and GLOP) through MathOpt's internal binding
    (milp.solve_proto says why), by keyword."""
    if solver_type not in SOLVER_TYPES:
        raise ValueError(f"not a solver of this engine: {solver_type}")
    return _mathopt_solver.solve(
        model=model, solver_type=solver_type,
        solver_initializer=parameters_pb2.SolverInitializerProto(), parameters=params,
        model_parameters=model_params, message_callback=None,
        callback_registration=callback_pb2.CallbackRegistrationProto(), user_cb=None,
        interrupter=None)


def stopped(model: model_pb2.ModelProto) -> result_pb2.SolveResultProto:
    """What HiGHS reports when its time runs out before any solution: no solution, a
    time limit, and bounds that claim nothing."""
    result = result_pb2.SolveResultProto()
    termination = result.termination
    termination.reason = result_pb2.TERMINATION_REASON_NO_SOLUTION_FOUND
    termination.limit = result_pb2.LIMIT_TIME
    termination.detail = "stopped: the solver ran past its time limit"
    inf = float("inf")
    maximize = model.objective.maximize
    termination.objective_bounds.primal_bound = -inf if maximize else inf
    termination.objective_bounds.dual_bound = inf if maximize else -inf
    return result


class Helper:
    """One helper process, answering one solve at a time over a pair of pipes."""

    def __init__(self, module: str = "allocator.solver_process") -> None:
        # Not multiprocessing: its `spawn` runs the caller's main script again in the
        # child, which a script without a main guard cannot survive. `-P`: the current
        # directory is not searched, so a stray module there is never run. A session of
        # its own: Ctrl-C in a terminal reaches the caller only.
        ask_read, ask_write = os.pipe()
        answer_read, answer_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-P", "-m", module, str(ask_read), str(answer_write),
                 str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                pass_fds=(ask_read, answer_write), close_fds=True, start_new_session=True)
        except BaseException:
            os.close(ask_write)
            os.close(answer_read)
            raise
        finally:
            os.close(ask_read)
            os.close(answer_write)
        self.ask = Connection(ask_write, readable=False)
        self.answer = Connection(answer_read, writable=False)
        self.busy = False

    def alive(self) -> bool:
        return self.process.poll() is None

    def ready(self, wait_s: float) -> bool:
        """Whether the helper started and said so within `wait_s` (else it is stopped)."""
        try:
            if self.answer.poll(wait_s) and self.answer.recv_bytes() == READY:
                return True
        except (EOFError, OSError):
            pass
        self.stop()
        return False

    def solve(self, model: model_pb2.ModelProto, params: parameters_pb2.SolveParametersProto,
              model_params: model_parameters_pb2.ModelSolveParametersProto,
              wait_s: float | None,
              solver_type: int = parameters_pb2.SOLVER_TYPE_HIGHS) -> bytes | None:
        """The serialised result, or None if none came within `wait_s` (the helper is
        then stopped). Raises SolverFailed if the helper died."""
        self.busy = True
        try:
            for message in (model, params, model_params):
                self.ask.send_bytes(message.SerializeToString())  # one copy at a time
            self.ask.send_bytes(str(solver_type).encode("ascii"))
            give_back_memory()  # (the helper solves; this process's solve waits)
            if not self.answer.poll(wait_s):
                self.stop()
                return None
            answer = self.answer.recv_bytes()
            self._measured()
        except (EOFError, OSError):
            self.stop()
            raise SolverFailed(f"the solver process ended during a solve (exit code "
                               f"{self.process.returncode})") from None
        except BaseException:
            # Cut short (Ctrl-C, SIGTERM made one): its answer must never be read as the
            # next solve's, and a helper deep in HiGHS would not see its pipe close.
            self.stop()
            raise
        self.busy = False
        return answer

    def close(self) -> None:
        """End the helper the gentle way (it sees its pipe close and exits), or at once
        if a solve of it was cut short."""
        if self.busy:
            self.stop()
            return
        self._measured()
        self.ask.close()
        try:
            self.process.wait(10.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.answer.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self._measured()
            self.process.kill()
        self.process.wait()
        self.ask.close()
        self.answer.close()

    def _measured(self) -> None:
        """Note the helper's peak resident size as it counts it itself: VmHWM, which
        starts at its exec. (The kernel's count for a finished child, RUSAGE_CHILDREN,
        includes the caller's pages the child ran on between its vfork and its exec: a
        helper started at national's stage 1 counts the caller's 1.2 GB there, its own
        peak being 0.7 GB.) 0 where /proc does not say."""
        global _peak_kb
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                peak = next(int(line.split()[1]) for line in status
                            if line.startswith("VmHWM:"))
        except (OSError, ValueError, IndexError, StopIteration):
            return
        with _peak_lock:
            _peak_kb = max(_peak_kb, peak)


_helpers = threading.local()
_unavailable = False  # set once a helper did not start: this Python cannot run one
_peak_kb = 0  # the largest peak any helper of this process reached (Helper._measured)
_peak_lock = threading.Lock()


def helpers_peak_mb() -> float:
    """The largest peak resident size a helper of this process has reached, in MB, as
    each counts its own (0 if none ran, or where /proc does not say): what the helpers
    add, at most, beside this process's own peak."""
    return _peak_kb / 1024


def _helper() -> Helper | None:
    """This thread's helper, started if need be; None if none can be started."""
    global _unavailable
    helper: Helper | None = getattr(_helpers, "helper", None)
    if helper is not None and helper.alive():
        return helper
    if _unavailable:
        return None
    try:
        helper = Helper()
    except OSError:
        return None
    if not helper.ready(START_S):
        # An interpreter that cannot run `python -P -m` (embedded, frozen): the
        # solves go on in this process, as before there were helpers.
        _unavailable = True
        return None
    _helpers.helper = helper
    return helper


def close() -> None:
    """Let this thread's helper finish and wait for it (its resource use then counts
    among this process's children)."""
    helper: Helper | None = getattr(_helpers, "helper", None)
    if helper is not None:
        _helpers.helper = None
        helper.close()


def solve(model: model_pb2.ModelProto, params: parameters_pb2.SolveParametersProto,
          model_params: model_parameters_pb2.ModelSolveParametersProto,
          solver_type: int = parameters_pb2.SOLVER_TYPE_HIGHS
          ) -> result_pb2.SolveResultProto:
    """Solve as `solve_binding` does, in the helper for large models, never for much
    longer than the time limit in `params`. Raises SolverFailed if the helper dies in
    the solve (it is not tried again here: what killed it would likely kill this
    process too)."""
    if len(model.variables.ids) < MIN_COLUMNS:
        return solve_binding(model, params, model_params, solver_type)
    helper = _helper()
    if helper is None:
        return solve_binding(model, params, model_params, solver_type)
    limit = params.time_limit.ToTimedelta().total_seconds() \
        if params.HasField("time_limit") else None
    answer = helper.solve(model, params, model_params,
                          None if limit is None else limit + grace(limit), solver_type)
    if answer is None:
        return stopped(model)
    if answer[:1] == _ERROR:
        raise SolverFailed(answer[1:].decode("utf-8", "replace"))
    result = result_pb2.SolveResultProto()
    result.ParseFromString(answer)
    return result


def give_back_memory() -> None:
    """Hand the memory this process has freed back to the system, where the C library
    keeps it for later use otherwise (glibc's malloc_trim; nothing elsewhere).

    Freed arrays below glibc's mmap threshold (up to 32 MB once larger ones have been
    freed) stay resident in its heap, and stage 3 frees many: on national the heap held
    up to 480 MB of them. Called as a helper starts a solve, which this process's solve
    waits for while the helper needs memory: national's peak, 2.20 GB to 2.11 GB, in
    the same time."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None
_ERROR = b"\x00"  # a serialised result never starts with a zero byte (field 0 is invalid)


class SolverFailed(Exception):
    """HiGHS's own error in the helper (what the binding raises as StatusNotOk here), or
    the helper's death in a solve; Milp.solve and solve_lp report it as ERROR."""


def _serve(ask: Connection, answer: Connection) -> None:
    """The helper: solve what comes down the pipe until it closes."""
    while True:
        try:
            model_bytes = ask.recv_bytes()
            params_bytes = ask.recv_bytes()
            model_params_bytes = ask.recv_bytes()
            solver_type = int(ask.recv_bytes())
        except (EOFError, OSError):
            return
        model = model_pb2.ModelProto()
        model.ParseFromString(model_bytes)
        del model_bytes
        params = parameters_pb2.SolveParametersProto()
        params.ParseFromString(params_bytes)
        model_params = model_parameters_pb2.ModelSolveParametersProto()
        model_params.ParseFromString(model_params_bytes)
        try:
            result = solve_binding(model, params, model_params,
                                   solver_type).SerializeToString()
        except (StatusNotOk, ValueError) as error:  # the solver's own error: the caller raises it
            result = _ERROR + str(error).encode("utf-8", "replace")
        del model
        answer.send_bytes(result)


def _orphan_watch(parent: int) -> None:
    """Exit once the process that started this helper is gone (re-parented)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


if __name__ == "__main__":
    # Started by Helper: the two pipe ends and the parent's process id. Standard
    # output is already /dev/null (HiGHS's stray prints go nowhere).
    _ask, _answer, _parent = (int(a) for a in sys.argv[1:4])
    # Ctrl-C is the caller's to answer (the command exits quietly); this helper follows,
    # by its pipe or its watch, without a traceback, even if a signal reaches it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_orphan_watch, args=(_parent,), daemon=True).start()
    _answers = Connection(_answer, readable=False)
    _answers.send_bytes(READY)
    _serve(Connection(_ask, writable=False), _answers)
