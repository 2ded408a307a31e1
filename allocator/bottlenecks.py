"""What binds a round, and which single realistic change would serve the most.

1. Solve the round exactly (the base).
2. List what binds in the base optimum: the budget, each lot given out while
   households who could take it are left, each full point that leaves households
   with no other point with room, each lot restriction (communes, statuses) that
   keeps idle devices from households left unserved, and the reach limit.
3. Build one realistic step of relaxation per binding resource (see relax.py) and
   rank them by a cheap estimate on the linear relaxation of the aggregated
   model: for budget, stock and capacity, the row's dual value times the step; for
   a restriction or reach, a re-solve of that linear relaxation with the change.
4. Confirm the best of them (and, for every lot with idle devices, a change estimated
   to put them to use) by exact re-solves in parallel, each starting from the
   base optimum, which every relaxation keeps feasible. Gains are exact
   differences of optima: stage 1 (priority weight), households served and, with
   a fairness floor, stage 0. Confirmed changes are ranked by the contract's own
   order: stage 0 gain, then weight, then households.

Everything reported is counted per lot, point, commune and status: no household
is named.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from allocator.aggregate import build_units
from allocator.binding import binding_entries
from allocator.contract import STATUSES
from allocator.lot_use import (
    LotUse,
    leftovers,
    lot_uses,
)
from allocator.milp import INF, solve_lp
from allocator.model import build_model, stage_objective
from allocator.parallel import Outcome, Solvers, solve_outcome
from allocator.problem import Problem, build_problem
from allocator.relax import (
    BUDGET_STEP,
    KINDS,
    STATUS_EN,
    STATUS_VI,
    Change,
    apply_change,
    budget_step,
    count,
    describe,
    describe_any,
    number,
)
from allocator.validate import Scenario

Progress = Callable[[str], None]
EXTRA_CONFIRMED = 5   # confirmed beyond `top`, in case some gain nothing
SAME_CONFIRMED = 3    # confirmed of one kind with the same estimate (e.g. donated lots)
MAX_LOT_CHANGES = 10  # further confirmations for lots with idle devices, at most
COMMUNES_NAMED = 2    # communes named in a sentence


class ResultMismatch(ValueError):
    """The result a caller holds is not the optimum of this scenario."""


@dataclass
class Relaxation:
    """A change, its estimated worth and, once re-solved exactly, its gains."""

    change: Change
    change_vi: str
    change_en: str
    estimate_weight: float
    estimate_stage0: float = 0.0
    confirmed: bool = False
    status: str | None = None        # of the exact re-solve
    gain_weight: int | None = None
    gain_served: int | None = None
    gain_stage0: int | None = None   # only with a fairness floor
    by_status: dict[str, int] = field(default_factory=dict)
    by_commune: dict[str, int] = field(default_factory=dict)
    devices_more: dict[str, int] = field(default_factory=dict)  # lot id -> devices more used
    seconds: float | None = None     # the exact re-solve's
    sentence_vi: str = ""
    sentence_en: str = ""

    def gain_key(self) -> tuple[int, int, int]:
        return (self.gain_stage0 or 0, self.gain_weight or 0, self.gain_served or 0)

    @property
    def gains(self) -> bool:
        """Confirmed, and better by the contract's order."""
        return self.confirmed and self.gain_key() > (0, 0, 0)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.change.kind, "subject": self.change.subject,
                "amount": self.change.amount, "communes": list(self.change.communes),
                "change_vi": self.change_vi, "change_en": self.change_en,
                "estimate_weight": round(self.estimate_weight, 1),
                "estimate_stage0": round(self.estimate_stage0, 1),
                "confirmed": self.confirmed, "status": self.status,
                "gain_weight": self.gain_weight, "gain_served": self.gain_served,
                "gain_stage0": self.gain_stage0, "sentence_vi": self.sentence_vi,
                "sentence_en": self.sentence_en, "by_status": dict(self.by_status),
                "by_commune": dict(self.by_commune), "devices_more": dict(self.devices_more),
                "seconds": None if self.seconds is None else round(self.seconds, 3)}


@dataclass
class Bottlenecks:
    base: dict[str, Any]
    binding: list[dict[str, Any]]
    relaxations: list[Relaxation]  # confirmed first, best first
    lots: list[LotUse]
    seconds: float
    top: int = 10
    grouped: list[dict[str, Any]] = field(default_factory=list)  # see `best_sentences`

    def best(self, n: int | None = None) -> list[Relaxation]:
        """The confirmed changes that gain, best first (the `top` of them by default)."""
        return [r for r in self.relaxations if r.gains][:self.top if n is None else n]

    def best_sentences(self, n: int | None = None) -> list[dict[str, Any]]:
        """The best confirmed changes as sentences for a meeting, best first.

        Changes of one kind and the same gains (more devices in any of several donated
        lots, say) make one sentence naming them all.
        """
        return self.grouped[:self.top if n is None else n]

    def to_json(self) -> dict[str, Any]:
        return {"base": dict(self.base), "binding": [dict(b) for b in self.binding],
                "relaxations": [r.to_json() for r in self.relaxations],
                "lots": [u.to_json() for u in self.lots], "seconds": round(self.seconds, 3),
                "top": self.top, "best": [dict(b) for b in self.best_sentences()]}


def find_bottlenecks(scenario: Scenario, top: int = 10, workers: int | None = None,
                     progress: Progress | None = None,
                     expect: Mapping[str, int] | None = None) -> Bottlenecks:
    """What binds the round, and the changes that would serve more, confirmed exactly.

    `workers` solver processes run the exact re-solves (default: one per core; 1 runs
    them here). `expect` (stage0, stage1, stage2, served of a result the caller
    holds) is checked against the base optimum first: ResultMismatch if it differs.
    """
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    problem = build_problem(scenario)
    budget_change = Change("budget", amount=BUDGET_STEP) if problem.budget > 0 else None
    with Solvers(scenario, workers) as solvers, ThreadPoolExecutor(1) as submitter:
        jobs: dict[Change, Future[Future[Outcome]]] = {}

        def confirm(change: Change, start: tuple[np.ndarray, np.ndarray] | None) -> None:
            # Handing a job to a new solver process blocks until that process has
            # started and read the scenario (a second or two), so a thread does it.
            if change in jobs:
                return
            if solvers.workers == 1:  # solved here and now, one after another
                jobs[change] = Future()
                jobs[change].set_result(_submit(solvers, scenario, change, start))
            else:
                jobs[change] = submitter.submit(_submit, solvers, scenario, change, start)

        if budget_change is not None and solvers.workers > 1:
            confirm(budget_change, None)  # almost always worth it; runs beside the base
        say("base: exact solve")
        base = solve_outcome(problem)
        if expect is not None:
            _check_expected(expect, base)
        start = (base.lot_of, base.point_of)
        left = leftovers(problem, scenario, base.lot_of, base.point_of)
        uses = lot_uses(problem, left)
        say("what binds")
        binding, changes = binding_entries(problem, scenario, left, uses)
        say("estimates: linear relaxation")
        estimator = _Estimator(problem)
        relaxations = {c: _relaxation(c, scenario) for c in changes}
        by_row = [c for c in changes if c.kind in ("budget", "lot_stock", "point_capacity")]
        for change in by_row:
            relaxations[change].estimate_stage0, relaxations[change].estimate_weight = \
                estimator.by_dual(change)
        binding = _rank_binding(binding, relaxations)
        # The best by their duals start while the restrictions and reach are estimated.
        for change in _to_confirm(by_row, relaxations, top):
            confirm(change, start)
        for change in changes:
            if change not in by_row:
                say(f"estimates: {change.kind} {change.subject}".rstrip())
                relaxations[change].estimate_stage0, relaxations[change].estimate_weight = \
                    estimator.by_resolve(scenario, change)
        for change in _to_confirm(changes, relaxations, top) + \
                _lot_changes(uses, changes, relaxations):
            confirm(change, start)
        say(f"exact re-solves: {len(jobs)}")
        for done, (change, job) in enumerate(jobs.items(), start=1):
            _confirm(relaxations[change], job.result().result(), base, problem)
            say(f"exact re-solves: {done} of {len(jobs)} done")
    names = _commune_names(scenario)
    floor = problem.policy.min_commune_share > 0
    for relaxation in relaxations.values():
        if not floor and relaxation.confirmed:
            relaxation.gain_stage0 = None
        relaxation.sentence_vi, relaxation.sentence_en = _sentences(
            relaxation, names, relaxation.change_vi, relaxation.change_en)
    ordered = sorted(relaxations.values(), key=_final_key)
    _attach_lot_changes(uses, ordered)
    return Bottlenecks(base=_base_json(problem, base), binding=binding, relaxations=ordered,
                       lots=uses, seconds=time.perf_counter() - started, top=top,
                       grouped=_grouped(ordered, scenario, names))


def _submit(solvers: Solvers, scenario: Scenario, change: Change,
            start: tuple[np.ndarray, np.ndarray] | None) -> Future[Outcome]:
    if change.kind == "budget":  # the worker's problem is reused at another budget
        budget = scenario.policy.budget_vnd
        return solvers.submit(budget_vnd=budget + budget_step(budget, change.amount),
                              start=start)
    return solvers.submit(variant=partial(apply_change, change=change), start=start)


def _check_expected(expect: Mapping[str, int], base: Outcome) -> None:
    found = {"stage0": base.stage0, "stage1": base.stage1, "stage2": base.stage2,
             "served": base.served}
    differ = [f"{k} {int(expect[k]):,} in the result but {found[k]:,} on solving again"
              for k in found if k in expect and int(expect[k]) != found[k]]
    if differ:
        raise ResultMismatch("; ".join(differ))


def _base_json(problem: Problem, base: Outcome) -> dict[str, Any]:
    return {"status": base.status, "stage0": base.stage0, "stage1": base.stage1,
            "stage2": base.stage2, "stage3": base.stage3, "served": base.served,
            "eligible": int((problem.hh_reason == "").sum()), "budget_vnd": problem.budget,
            "budget_used_vnd": base.stage2,
            "max_distance_km": problem.policy.max_distance_km, "by_status": base.by_status}


def _relaxation(change: Change, scenario: Scenario) -> Relaxation:
    return Relaxation(change, describe(change, "vi", scenario), describe(change, "en", scenario),
                      0.0)


def _estimate_key(r: Relaxation) -> tuple[Any, ...]:
    return (-round(r.estimate_stage0, 6), -round(r.estimate_weight, 6),
            KINDS.index(r.change.kind), r.change.subject)


def _final_key(r: Relaxation) -> tuple[Any, ...]:
    if r.confirmed:
        s0, w, n = r.gain_key()
        return (0, -s0, -w, -n, KINDS.index(r.change.kind), r.change.subject)
    return (1, *_estimate_key(r))


# What binds -----------------------------------------------------------------------------


def _rank_binding(entries: list[dict[str, Any]], relaxations: dict[Change, Relaxation]
                  ) -> list[dict[str, Any]]:
    """Stock and capacity bind where one more unit is worth something (a positive dual);
    each says what its step is estimated to be worth, and the most valuable come first."""
    worth = {(c.kind, c.subject): r for c, r in relaxations.items()
             if c.kind in ("lot_stock", "point_capacity")}
    kept = []
    for entry in entries:
        r = worth.get((entry["kind"], entry["subject"]))
        if r is not None:
            if (round(r.estimate_stage0, 6), round(r.estimate_weight, 6)) <= (0.0, 0.0):
                continue  # tight, but more of it would serve no one (to first order)
            entry["estimate_weight"] = round(r.estimate_weight, 1)
            entry["estimate_stage0"] = round(r.estimate_stage0, 1)
        kept.append(entry)
    order = ("budget", "reach", "lot_stock", "lot_communes", "lot_statuses", "point_capacity")
    return sorted(kept, key=lambda e: (order.index(e["kind"]), -e.get("estimate_stage0", 0),
                                       -e.get("estimate_weight", 0), e["subject"]))


# Estimates ------------------------------------------------------------------------------


class _Estimator:
    """Stage 0 and stage 1 of the aggregated model's linear relaxation, and their duals."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.values, self.duals, self.rows, self.cost_unit = _lp(problem)

    def by_dual(self, change: Change) -> tuple[float, float]:
        """What the change is worth to first order: each stage's row dual times the step."""
        p = self.problem
        if change.kind == "budget":
            row = self.rows["budget"]
            step = budget_step(p.budget, change.amount) / self.cost_unit
        elif change.kind == "lot_stock":
            row = self.rows["stock"] + int(np.flatnonzero(p.lot_id == change.subject)[0])
            step = change.amount
        else:
            row = self.rows["capacity"] + int(np.flatnonzero(p.point_id == change.subject)[0])
            step = change.amount
        stage0, stage1 = (float(d[row] * step) if len(d) else 0.0 for d in self.duals)
        return stage0, stage1

    def by_resolve(self, scenario: Scenario, change: Change) -> tuple[float, float]:
        """The change's worth on the linear relaxation, solved again with the change made."""
        values, _, _, _ = _lp(build_problem(apply_change(scenario, change)))
        return values[0] - self.values[0], values[1] - self.values[1]


def _lp(problem: Problem) -> tuple[tuple[float, float], tuple[np.ndarray, np.ndarray],
                                   dict[str, int], int]:
    """Optimal stage 0 and stage 1 of the linear relaxation, their row duals, row offsets."""
    classes = build_units(problem, by_site=False)
    model = build_model(problem, classes)
    milp = model.milp
    # Devices per route and handovers per (place, point) are also capped by stock and
    # capacity in their bounds; lifting those caps (the rows still hold) makes the duals
    # land on the stock and capacity rows instead of on bounds.
    milp.ub[0][:] = INF
    milp.ub[3][:] = INF
    start = np.concatenate([[0], np.cumsum([len(b) for b in milp.row_ub])])
    rows = {"stock": int(start[3]), "capacity": int(start[4]), "budget": model.budget_row}
    if len(milp.row_ub[3]) != len(problem.lot_id) or \
            len(milp.row_ub[4]) != len(problem.point_id) or start[5] != model.budget_row:
        raise RuntimeError("the model's rows are not in the order the estimates expect")
    value0, duals0 = 0.0, np.zeros(0)
    if problem.policy.min_commune_share > 0:
        c0, _ = stage_objective(model, problem, classes, 0)
        milp.set_objective(c0, True)
        first = solve_lp(milp)
        value0, duals0 = float(first.objective), first.duals
        cols = np.flatnonzero(c0)
        milp.add_row(cols, c0[cols], value0 - 1e-6 * max(1.0, abs(value0)), INF)
    c1, _ = stage_objective(model, problem, classes, 1)
    milp.set_objective(c1, True)
    second = solve_lp(milp)
    value1 = float(second.objective) if milp.n_vars else 0.0
    return (value0, value1), (duals0, second.duals), rows, model.cost_unit


# Confirmations --------------------------------------------------------------------------


def _lot_changes(uses: list[LotUse], changes: list[Change],
                 relaxations: dict[Change, Relaxation]) -> list[Change]:
    """For lots with idle devices, a change that may put them to use, by the reason they idle.

    Only changes estimated to gain: when a change leaves the linear relaxation's optimum
    as it was, its exact gain is at most the base's integrality gap (7 priority points
    on demo, less than one household: the model is nearly a network flow), so no exact
    re-solve is spent on it.
    """
    by_key = {(c.kind, c.subject): c for c in changes}
    wanted: list[Change] = []

    def want(change: Change | None) -> None:
        if change is not None and change not in wanted:
            wanted.append(change)

    for use in uses:
        if use.idle <= 0:
            continue
        if use.devices("communes_exhausted"):
            want(by_key.get(("lot_communes", use.lot_id)))
        if use.devices("statuses"):
            want(by_key.get(("lot_statuses", use.lot_id)))
        if use.devices("budget"):
            want(by_key.get(("budget", "")))
        if use.devices("points_full"):
            full = {str(p) for p in use.full_points}
            points = [c for c in changes if c.kind == "point_capacity" and c.subject in full]
            if points:
                want(min(points, key=lambda c: _estimate_key(relaxations[c])))
            want(by_key.get(("reach", "")))
    return [c for c in wanted if _gains(relaxations[c])][:MAX_LOT_CHANGES]


def _gains(r: Relaxation) -> bool:
    """Estimated to gain something (to a thousandth)."""
    return (round(r.estimate_stage0, 3), round(r.estimate_weight, 3)) > (0.0, 0.0)


def _to_confirm(changes: list[Change], relaxations: dict[Change, Relaxation], top: int
                ) -> list[Change]:
    """The changes worth an exact re-solve: about the best `top` + EXTRA_CONFIRMED by estimate.

    Only changes estimated to gain are taken. Lots (or points) of one kind with the same
    estimate, such as donated lots that each serve 20 more households, are one place;
    every place gets its best change first, then a second member, up to SAME_CONFIRMED,
    so the list is not ten times the same news while places remain.
    """
    places: dict[Any, list[Change]] = {}
    for change in sorted(changes, key=lambda c: _estimate_key(relaxations[c])):
        r = relaxations[change]
        if not _gains(r):
            continue
        estimate = (round(r.estimate_stage0, 3), round(r.estimate_weight, 3))
        key: Any = (change.kind, estimate) if change.kind in ("lot_stock", "point_capacity") \
            else change
        places.setdefault(key, []).append(change)
    limit = top + EXTRA_CONFIRMED
    best = list(places.values())[:limit]
    chosen: list[Change] = []
    for layer in range(SAME_CONFIRMED):
        chosen += [members[layer] for members in best if layer < len(members)]
    return chosen[:limit]


def _confirm(relaxation: Relaxation, outcome: Outcome, base: Outcome, problem: Problem) -> None:
    relaxation.status = outcome.status
    relaxation.seconds = outcome.seconds
    if outcome.status != "OPTIMAL":
        return  # not proven: its gains would not be exact
    relaxation.confirmed = True
    relaxation.gain_weight = outcome.stage1 - base.stage1
    relaxation.gain_served = outcome.served - base.served
    relaxation.gain_stage0 = outcome.stage0 - base.stage0
    relaxation.by_status = {s: outcome.by_status.get(s, 0) - base.by_status.get(s, 0)
                            for s in STATUSES}
    communes = set(outcome.by_commune) | set(base.by_commune)
    relaxation.by_commune = {c: d for c in sorted(communes)
                             if (d := outcome.by_commune.get(c, 0) - base.by_commune.get(c, 0))}
    n_lots = len(problem.lot_id)
    before = np.bincount(base.lot_of[base.lot_of >= 0], minlength=n_lots)
    after = np.bincount(outcome.lot_of[outcome.lot_of >= 0], minlength=n_lots)
    relaxation.devices_more = {str(problem.lot_id[i]): int(after[i] - before[i])
                               for i in np.flatnonzero(after > before)}


def _attach_lot_changes(uses: list[LotUse], ordered: list[Relaxation]) -> None:
    """Each idle lot's change: the confirmed one that puts the most of its devices to use."""
    for use in uses:
        if use.idle <= 0:
            continue
        best, devices = None, 0
        for r in ordered:  # best first, so a tie keeps the better change
            n = min(r.devices_more.get(use.lot_id, 0), use.idle) if r.gains else 0
            if n > devices:
                best, devices = r, n
        if best is not None:
            use.change, use.change_devices = best.to_json(), devices


# Sentences ------------------------------------------------------------------------------


def _commune_names(scenario: Scenario) -> dict[str, str]:
    communes = scenario.communes
    names = communes["name"].astype(str).to_numpy(object) if "name" in communes.columns \
        else communes["commune_code"].astype(str).to_numpy(object)
    return {str(c): (str(n) if n and n != "nan" else str(c))
            for c, n in zip(communes["commune_code"], names)}


def _grouped(ordered: list[Relaxation], scenario: Scenario,
             names: dict[str, str]) -> list[dict[str, Any]]:
    """Confirmed changes that gain, best first; one kind with equal gains as one sentence."""
    groups: list[list[Relaxation]] = []
    for r in ordered:
        if not r.gains:
            continue
        last = groups[-1][0] if groups else None
        if last is not None and r.change.kind in ("lot_stock", "point_capacity") and \
                last.change.kind == r.change.kind and last.change.amount == r.change.amount \
                and last.gain_key() == r.gain_key():
            groups[-1].append(r)
        else:
            groups.append([r])
    best = []
    for group in groups:
        first, changes = group[0], [r.change for r in group]
        vi, en = _sentences(first, names, describe_any(changes, "vi", scenario),
                            describe_any(changes, "en", scenario), _shared_where(group, names))
        best.append({"kind": first.change.kind, "subjects": [c.subject for c in changes],
                     "gain_weight": first.gain_weight, "gain_served": first.gain_served,
                     "gain_stage0": first.gain_stage0, "sentence_vi": vi, "sentence_en": en})
    return best


def _sentences(r: Relaxation, names: dict[str, str], change_vi: str, change_en: str,
               where: tuple[str, str] | None = None) -> tuple[str, str]:
    """The sentences for a change phrased `change_vi` / `change_en`, from its gains;
    `where` replaces the change's own ', mostly ... in ...' (for merged changes)."""
    if not r.confirmed:
        w_vi = number(round(max(r.estimate_weight, 0.0)), "vi")
        w_en = number(round(max(r.estimate_weight, 0.0)), "en")
        return (f"{change_vi}: ước tính thêm khoảng {w_vi} điểm ưu tiên (chưa kiểm chứng "
                f"bằng lời giải chính xác).",
                f"{change_en}: an estimated {w_en} more priority points (not confirmed by "
                f"an exact solve).")
    s0, w, n = r.gain_key()
    if (s0, w, n) <= (0, 0, 0):
        return (f"{change_vi} không phục vụ thêm hộ nào.",
                f"{change_en} would serve no more households.")
    where_vi, where_en = _where(r, names) if where is None else where
    if n > 0 and w >= 0:
        vi = f"{change_vi} sẽ phục vụ thêm {number(n, 'vi')} hộ " \
             f"({number(w, 'vi')} điểm ưu tiên){where_vi}"
        en = f"{change_en} would serve {number(n, 'en')} more " \
             f"household{'' if n == 1 else 's'} ({count(w, 'priority point')}){where_en}"
    elif w > 0 and n == 0:
        vi = f"{change_vi} sẽ tăng thêm {number(w, 'vi')} điểm ưu tiên nhờ phục vụ các hộ " \
             f"ưu tiên hơn thay cho các hộ khác"
        en = f"{change_en} would add {count(w, 'priority point')} by serving households " \
             f"of higher priority instead of others"
    elif w > 0:
        vi = f"{change_vi} sẽ tăng thêm {number(w, 'vi')} điểm ưu tiên nhờ phục vụ các hộ " \
             f"ưu tiên hơn (ít hơn {number(-n, 'vi')} hộ)"
        en = f"{change_en} would add {count(w, 'priority point')} by serving households " \
             f"of higher priority ({number(-n, 'en')} fewer)"
    else:
        vi = f"{change_vi} sẽ phục vụ nhiều hộ hơn trong mức sàn công bằng của các " \
             f"xã/phường (điểm ưu tiên thay đổi {w:+d}, số hộ {n:+d})"
        en = f"{change_en} would serve more households within the communes' fairness " \
             f"floors (priority points change by {w:+d}, households by {n:+d})"
    if s0 > 0:
        vi += f"; thêm {number(s0, 'vi')} hộ trong mức sàn công bằng của các xã/phường"
        en += f"; {number(s0, 'en')} more household{'' if s0 == 1 else 's'} within the " \
              f"communes' fairness floors"
    return vi + ".", en + "."


def _shared_where(group: list[Relaxation], names: dict[str, str]) -> tuple[str, str]:
    """What every change of a merged sentence can truly say of where its households are.

    Lots of equal gains may serve different communes (each kept to its own): the places
    are named only when every change gains in the same ones, else the status alone when
    every change's is the same, else nothing.
    """
    for place in (True, False):
        said = {_where(r, names, place) for r in group}
        if len(said) == 1:
            return said.pop()
    return "", ""


def _where(r: Relaxation, names: dict[str, str], place_named: bool = True
           ) -> tuple[str, str]:
    """', chủ yếu hộ nghèo ở Phường X, Phường Y' / ', mostly poor households in ...'."""
    gains = {s: d for s, d in r.by_status.items() if d > 0}
    total = sum(gains.values())
    status = max(gains, key=lambda s: (gains[s], -STATUSES.index(s))) if gains else None
    communes = sorted(((d, c) for c, d in r.by_commune.items() if d > 0),
                      key=lambda t: (-t[0], t[1]))[:COMMUNES_NAMED] if place_named else []
    place = ", ".join(names.get(c, c) for _, c in communes)
    if status is not None and 2 * gains[status] >= total:
        vi = f", chủ yếu {STATUS_VI[status]}" + (f" ở {place}" if place else "")
        en = f", mostly {STATUS_EN[status]} households" + (f" in {place}" if place else "")
        return vi, en
    if place:
        return f", nhiều nhất ở {place}", f", most of them in {place}"
    return "", ""
