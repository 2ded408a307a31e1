"""Counting out a stage's values (price_lattice.py) against brute force on small models.

A false OPTIMAL is the worst answer the engine can give, so these models are made to
reach every corner the proof leans on: both senses, rows of every kind with sides that
are not integers, equalities, negative and infinite column bounds (the box then held by
a row), fixed columns, objectives in steps, starts anywhere among the feasible values,
large coefficients next to small ones, and prices that are not the LP's at all (the
identity holds for any integer prices, so any prices must give a valid answer).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from itertools import product
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator.solve as solve_module
from allocator.lp_rounding import meets_rows
from allocator.milp import INF, LpResult, Milp, SolveStatus, solve_lp
from allocator.price_lattice import (
    IntegerPrices,
    _ways,
    integer_prices,
    restricted,
    settle,
)

# Non-integer parts a side may carry: an integer row's activity never sits there, so
# the sides tighten to integers (and 1e-7 is within HiGHS's feasibility tolerance).
_FRACTIONS = (0.0, 0.0, 0.0, 0.5, 0.25, 0.999, 1e-7)


class _TimedOut(AssertionError):
    pass


@contextmanager
def _returns_within(seconds: float) -> Iterator[None]:
    """Fail, instead of hanging the suite, when the body does not return in time."""
    def stop(signum: int, frame: Any) -> None:
        raise _TimedOut(f"did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _prices(milp: Milp, lp: LpResult) -> IntegerPrices | None:
    """integer_prices, failing (instead of hanging the suite) if it does not return: it is
    arithmetic on a few rows, milliseconds, and once looped forever on some prices."""
    with _returns_within(5.0):
        return integer_prices(milp, lp)


def _settled(milp: Milp, lp: LpResult, start: float, step: int) -> Any:
    """settle as the stage calls it, failing if it overruns its 10 s well past any doubt."""
    with _returns_within(30.0):
        return settle(milp, lp, start, step, 10.0, 0)


class _Case:
    """A small model, the box that holds all its integer points, and those points."""

    def __init__(self, milp: Milp, box: list[tuple[int, int]], step: int) -> None:
        self.milp, self.box, self.step = milp, box, step
        assert milp.objective is not None
        self.objective = milp.objective
        self.points = [x for x in (np.array(p, dtype=float)
                                   for p in product(*(range(lo, hi + 1) for lo, hi in box)))
                       if meets_rows(milp, x)]
        self.values = [float(x @ self.objective) for x in self.points]

    def __repr__(self) -> str:  # what a failing example prints: enough to rebuild it
        milp = self.milp
        rows, cols, vals = milp.entries()
        dense = np.zeros((milp.n_rows, milp.n_vars))
        np.add.at(dense, (rows, cols), vals)
        return (f"_Case(lb={np.concatenate(milp.lb).tolist()}, "
                f"ub={np.concatenate(milp.ub).tolist()}, A={dense.tolist()}, "
                f"row_lb={np.concatenate(milp.row_lb).tolist()}, "
                f"row_ub={np.concatenate(milp.row_ub).tolist()}, "
                f"c={self.objective.tolist()}, maximize={milp.maximize}, step={self.step})")

    @property
    def best(self) -> float:
        return max(self.values) if self.milp.maximize else min(self.values)


@st.composite
def _cases(draw: Any, big: bool = False) -> _Case:
    """A model of 1-5 integer columns and 1-4 rows; rows mostly tight around an anchor
    point of the box so that the model has integer points and its LP prices bite."""
    n = draw(st.integers(1, 5))
    step = draw(st.sampled_from((1, 1, 2, 3, 5)))
    maximize = draw(st.booleans())
    box = []
    for _ in range(n):
        lo = draw(st.integers(-3, 2))
        box.append((lo, lo + draw(st.integers(0, 3))))  # width 0: a fixed column
    anchor = np.array([draw(st.integers(lo, hi)) for lo, hi in box], dtype=float)
    milp = Milp()
    lb = np.array([lo for lo, _ in box], dtype=float)
    ub = np.array([hi for _, hi in box], dtype=float)
    opens = st.lists(st.sampled_from((False, False, False, True)), min_size=n, max_size=n)
    open_low, open_high = np.array(draw(opens)), np.array(draw(opens))
    cols = milp.add_vars(np.where(open_low, -INF, lb), np.where(open_high, INF, ub), n)
    for j in range(n):  # an infinite bound's side held by a row instead
        if open_low[j]:
            milp.add_row(cols[j:j + 1], 1.0, lb[j] - draw(st.sampled_from(_FRACTIONS)), INF)
        if open_high[j]:
            milp.add_row(cols[j:j + 1], 1.0, -INF, ub[j] + draw(st.sampled_from(_FRACTIONS)))
    for r in range(draw(st.integers(1, 4))):
        coefs = np.array(draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)),
                         dtype=float)
        if big and r == 0:  # a budget-like row: large costs on every column
            coefs = np.array(draw(st.lists(st.integers(10 ** 5, 10 ** 7), min_size=n,
                                           max_size=n)), dtype=float)
        at = float(coefs @ anchor)
        kind = draw(st.sampled_from(("le", "ge", "range", "eq", "loose")))
        slack_low = draw(st.integers(0, 2)) + draw(st.sampled_from(_FRACTIONS))
        slack_high = draw(st.integers(0, 2)) + draw(st.sampled_from(_FRACTIONS))
        low, high = {"le": (-INF, at + slack_high), "ge": (at - slack_low, INF),
                     "range": (at - slack_low, at + slack_high), "eq": (at, at),
                     "loose": (float(draw(st.integers(-6, 6))) - slack_low,
                               float(draw(st.integers(-6, 8))) + slack_high)}[kind]
        if low > high:
            low, high = high, low
        milp.add_row(cols, coefs, low, high)
    scale = 1000 if big else 4
    objective = step * np.array(draw(st.lists(st.integers(-scale, scale), min_size=n,
                                              max_size=n)), dtype=float)
    milp.set_objective(objective, maximize)
    return _Case(milp, box, step)


def _lp(data: st.DataObject, milp: Milp) -> LpResult:
    """The relaxation, mostly without presolve as the stage's rounding solves it."""
    return solve_lp(milp, presolve=data.draw(st.sampled_from((False, False, True))))


def _any_prices(draw: Any, milp: Milp, lp: LpResult) -> LpResult:
    """The LP's duals, or small fractions of either sign chosen at random (the identity
    holds for any integer prices, so a proof from them must be as valid)."""
    if draw(st.booleans()):
        return lp
    dens = draw(st.lists(st.sampled_from((1, 2, 3, 4, 7)), min_size=milp.n_rows,
                         max_size=milp.n_rows))
    nums = draw(st.lists(st.integers(-6, 6), min_size=milp.n_rows, max_size=milp.n_rows))
    duals = np.array([float(Fraction(a, b)) for a, b in zip(nums, dens)])
    return LpResult(lp.status, lp.values, lp.objective, duals)


def _pens(milp: Milp, prices: IntegerPrices, x: np.ndarray) -> tuple[int, dict[int, int]]:
    """The pens an integer point carries, in all and as a way (units per pen)."""
    rows, cols, vals = milp.entries()
    activity = np.bincount(rows, weights=vals * x[cols], minlength=milp.n_rows)
    dev = np.abs(x - prices.col_at) * (prices.col_pen > 0)
    slack = np.abs(prices.row_at - activity) * (prices.row_pen > 0)
    way: dict[int, int] = {}
    for pen, moved in ((prices.col_pen, dev), (prices.row_pen, slack)):
        for p, d in zip(pen.tolist(), moved.tolist()):
            if p and d:
                assert d == round(d)
                way[int(p)] = way.get(int(p), 0) + int(round(d))
    return sum(p * k for p, k in way.items()), way


def _check_settled(case: _Case, start: float, settled: Any) -> None:
    """The bound never cuts off the optimum; a proof is the optimum; a point is a point
    of the original model with the value stated."""
    maximize = case.milp.maximize
    best = case.best
    if np.isnan(settled.bound):
        assert not settled.proven and settled.values is None
        return
    assert (settled.bound >= best) if maximize else (settled.bound <= best), \
        (settled.bound, best)
    if settled.values is not None:
        assert meets_rows(case.milp, settled.values)
        assert float(settled.values @ case.objective) == settled.value
        assert settled.proven and settled.value == best and settled.bound == best
        assert (settled.value > start) if maximize else (settled.value < start)
    elif settled.proven:
        assert start == best and settled.bound == best


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_counting_never_claims_more_than_brute_force_finds(data: st.DataObject) -> None:
    _count_and_check(data)


def _count_and_check(data: st.DataObject, big: bool = False, any_prices: bool = False
                     ) -> None:
    """Draw a case (and prices), count from a random feasible start, check the answer."""
    case = data.draw(_cases(big=big))
    lp = _lp(data, case.milp)
    if not case.values or lp.status is not SolveStatus.OPTIMAL:
        return
    if any_prices:
        lp = _any_prices(data.draw, case.milp, lp)
    start = data.draw(st.sampled_from(case.values))
    settled = _settled(case.milp, lp, start, case.step)
    _check_settled(case, start, settled)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_integer_prices_give_a_valid_count(data: st.DataObject) -> None:
    # Prices far from the LP's make a weak bound, many values and many ways: the ways
    # limit and every restriction are exercised, and nothing may be claimed wrongly.
    _count_and_check(data, any_prices=True)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_large_costs_beside_small_ones_are_counted_exactly(data: st.DataObject) -> None:
    # A budget-like row of costs up to 10^7 and objective coefficients up to 1000 steps:
    # HiGHS's tolerances must not turn a feasible restriction infeasible.
    _count_and_check(data, big=True)


@settings(max_examples=250, deadline=None)
@given(data=st.data())
def test_each_way_restricts_to_exactly_its_points(data: st.DataObject) -> None:
    # For every integer point, D times its value is the top less its pens, its way is
    # among those enumerated for that value, and its way's restriction admits it.
    # Conversely every integer point a restriction admits is a point of the model
    # carrying exactly that way's pens.
    case = data.draw(_cases())
    lp = _lp(data, case.milp)
    if not case.values or lp.status is not SolveStatus.OPTIMAL:
        return
    lp = _any_prices(data.draw, case.milp, lp)
    prices = _prices(case.milp, lp)
    if prices is None:
        return
    sense = prices.sense
    for x in case.points:
        pens, way = _pens(case.milp, prices, x)
        assert prices.scale * round(sense * float(x @ case.objective)) == prices.top - pens
        ways = _ways(prices, pens, 10 ** 6)
        assert ways is not None and way in ways
        assert meets_rows(restricted(case.milp, prices, way), x)
    box = [np.array(p, dtype=float)
           for p in product(*(range(lo, hi + 1) for lo, hi in case.box))]
    lowest = min(round(sense * v) for v in case.values)
    value = prices.top // prices.scale
    for _ in range(12):  # the values from the bound down, reached or not
        if value < lowest:
            break
        reach = prices.top - prices.scale * value
        ways = _ways(prices, reach, 50)
        if ways is None:
            break
        for way in ways:
            model = restricted(case.milp, prices, way)
            for x in box:
                if meets_rows(model, x):
                    assert meets_rows(case.milp, x)
                    assert _pens(case.milp, prices, x) == (reach, way)
        value -= 1


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_huge_stage_is_never_called_optimal_short_of_its_optimum(
        data: st.DataObject) -> None:
    # The wiring in solve.py: any model counts as huge here, so every stage of it is
    # rounded and then counted out from the better of the rounding and the hint.
    case = data.draw(_cases())
    if not case.values:
        return
    hint = data.draw(st.sampled_from(case.points))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(solve_module, "MIP_ROOT_MAX_COLUMNS", 0)
        with _returns_within(30.0):
            result, start = solve_module._from_relaxation(
                SimpleNamespace(milp=case.milp, relaxations={}), 2, 10.0, 0, hint)  # type: ignore[arg-type]
    assert result is not None
    maximize, best = case.milp.maximize, case.best
    assert meets_rows(case.milp, result.values) and start is result.values
    assert float(result.values @ case.objective) == result.objective
    if result.status is SolveStatus.OPTIMAL:
        assert result.objective == best
    else:
        assert result.status is SolveStatus.FEASIBLE
    if not np.isnan(result.bound):
        assert (result.bound >= best) if maximize else (result.bound <= best)


def test_a_small_price_off_every_small_fraction_does_not_hang_the_stage() -> None:
    # _scale stops when a price's fraction adds nothing to the scale. Before it did:
    # maximise 5 x, -1 <= x <= 1, 1,762,044 x <= 0 has the row price
    # 5/1,762,044. limit_denominator(10^6) gives 1/352,409 (within 1e-9 absolutely, as
    # any fraction that small is), the scale becomes 352,409, the price times it is
    # 1.0000006 (off relatively), the same fraction is found again, the lcm does not
    # change, and the loop never ended: settle ignored its time limit and the solve
    # hung. A cost row in the hundreds of thousands beside small weights is enough.
    milp = Milp()
    x = milp.add_vars(-1, 1, 1)
    milp.add_row(x, 1_762_044.0, -INF, 0.0)
    milp.set_objective(np.array([5.0]), True)
    lp = solve_lp(milp)
    assert lp.status is SolveStatus.OPTIMAL
    assert lp.duals[0] == pytest.approx(5 / 1_762_044)
    with _returns_within(5.0):
        settled = settle(milp, lp, 0.0, 5, 10.0, 0)
    assert settled.values is None and settled.bound >= 0


def _knapsack() -> Milp:
    """Items 0..2 (0/1) of weights 30, 20, 15 and costs 10 each within 3 units and 25."""
    milp = Milp()
    items = milp.add_vars(0, 1, 3)
    milp.add_row(items, 1.0, -INF, 3)
    milp.add_row(items, np.array([10.0, 10.0, 10.0]), -INF, 25)
    milp.set_objective(np.array([30.0, 20.0, 15.0]), True)
    return milp


def test_a_restriction_called_infeasible_by_presolve_is_not_excluded() -> None:
    # Before restrictions tightened every side to an integer, settle proved a start of
    # 35 optimal though 50 is an integer point. The
    # knapsack of the first test in test_price_lattice.py, beside a gadget with no
    # objective: a in [-1, 0], a >= -0.5; b free, 0 <= b <= 1e-7; c in [2, 4];
    # 2a - 2b + c = 2 (a = b = 0, c = 2 meets it exactly). The gadget's rows carry no
    # price, so every restriction kept their sides as they were, and HiGHS's LP with
    # presolve calls any model holding them INFEASIBLE (without presolve: OPTIMAL; of
    # sides from 1e-10 to 1e-3 only 1e-7, its feasibility tolerance, flips it). The
    # rounding solves the LP without presolve, so the stage reaches the counting, and
    # _try_way takes each presolved INFEASIBLE as the way excluded: 55 and 50 were
    # counted out and the start called optimal. HiGHS's INFEASIBLE is no certificate;
    # sides left fractional in the restriction exposed it, integer sides do not.
    milp = _knapsack()
    a, b, c = milp.add_vars(np.array([-1.0, -INF, 2.0]), np.array([0.0, INF, 4.0]), 3)
    milp.add_row(np.array([a]), 1.0, -0.5, INF)
    milp.add_row(np.array([b]), 1.0, 0.0, INF)
    milp.add_row(np.array([b]), 1.0, -INF, 1e-7)
    milp.add_row(np.array([a, b, c]), np.array([2.0, -2.0, 1.0]), 2.0, 2.0)
    milp.set_objective(np.array([30.0, 20.0, 15.0, 0.0, 0.0, 0.0]), True)
    fifty = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 2.0])
    assert meets_rows(milp, fifty) and float(fifty @ milp.objective) == 50
    lp = solve_lp(milp, presolve=False)  # as lp_rounding.rounded_lp solves it
    assert lp.status is SolveStatus.OPTIMAL and lp.objective == pytest.approx(57.5)
    settled = settle(milp, lp, 35.0, 5, 10.0, 0)
    assert settled.bound >= 50
    assert not settled.proven or (settled.values is not None and settled.value == 50)


def test_a_noise_price_beside_a_fraction_does_not_hang_the_prices() -> None:
    # The same loop as above, once reached by noise: with
    # national's budget price 60/119 the scale is 119, and a row price of 5e-11 (what
    # a simplex leaves on a row that should have none) is then 6e-9 off an integer.
    # Its fraction is 0/1, whose denominator adds nothing to the scale, so the loop
    # found it again forever (any noise price between about 1e-11 and 1e-9 did).
    milp = _knapsack()
    lp = solve_lp(milp)
    lp.duals = np.array([5e-11, 60 / 119])
    with _returns_within(5.0):
        prices = integer_prices(milp, lp)
    assert prices is None or prices.scale % 119 == 0
