"""What the optimum leaves over, and why each lot's idle devices stay idle.

`Leftovers` holds, for an optimal allocation, the stock, room and budget left
and the eligible households left unserved, counted per lot group and home (the
engine's aggregates: never per named household).

A lot's idle devices are split by why, as a funnel over the households left
unserved: of the devices, those beyond the households left in the lot's
communes are idle because those communes are exhausted; of the rest, those beyond
the ones of an allowed status, for lack of statuses; then of features (the
households left need features the device lacks); then of points (no point with
room in reach); then of budget (what is left does not pay for them). Devices a
household could still take at every step are "other": the room and budget left
went to households of higher priority with other lots. The parts add up to the
idle devices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from allocator.contract import STATUSES
from allocator.problem import Problem
from allocator.relax import STATUS_EN, STATUS_VI, count, number
from allocator.validate import Scenario

REASONS = ("communes_exhausted", "statuses", "features_unneeded", "points_full", "budget",
           "other")


@dataclass
class Leftovers:
    """Stock, room, budget and households an allocation leaves over (lots and points by index)."""

    allocated: np.ndarray    # devices given per lot
    stock_left: np.ndarray   # per lot
    room_left: np.ndarray    # per point
    budget_left: int
    # Unserved eligible households, aggregated by (lot group, home): counts only.
    wait_group: np.ndarray
    wait_home: np.ndarray
    wait_count: np.ndarray
    home_has_point: np.ndarray  # per home: some point with capacity in reach
    home_has_room: np.ndarray   # per home: some point in reach has room left
    # Lots (in the problem's order): features, allowed communes and statuses, net price.
    lot_features: list[set[str]]
    lot_communes: list[set[str]]
    lot_statuses: list[set[str]]
    lot_net: np.ndarray
    lot_sponsor_name: list[str]
    needs: list[set[str]] = field(default_factory=list)  # distinct needs of lot groups
    group_needs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # index
    # Per home: the most room left at one point in its reach (0 if none has room).
    home_room_max: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def households(self, mask: np.ndarray) -> int:
        """Households in the (group, home) rows selected by `mask`."""
        return int(self.wait_count[mask].sum())


def sorted_lots(scenario: Scenario) -> pd.DataFrame:
    """The scenario's lots in the problem's order (by id)."""
    return scenario.lots.sort_values("lot_id", kind="stable").reset_index(drop=True)


def sorted_points(scenario: Scenario) -> pd.DataFrame:
    """The scenario's points in the problem's order (by id)."""
    return scenario.points.sort_values("point_id", kind="stable").reset_index(drop=True)


def leftovers(problem: Problem, scenario: Scenario, lot_of: np.ndarray,
              point_of: np.ndarray) -> Leftovers:
    """What the allocation (lot_of, point_of per household) leaves over."""
    return _leftovers(problem, sorted_lots(scenario), lot_of, point_of)


def idle_reasons(problem: Problem, lots: pd.DataFrame, lot_of: np.ndarray,
                 point_of: np.ndarray) -> list[list[tuple[str, int]]]:
    """Per lot (the problem's order): its idle devices by reason, as `lot_uses` splits
    them; `lots` is the scenario's lots.csv. Cheap enough to run with every solve (a
    tenth of a second on the demo), so a round's pages can say why devices stay idle
    without a bottleneck analysis."""
    ordered = lots.sort_values("lot_id", kind="stable").reset_index(drop=True)
    left = _leftovers(problem, ordered, lot_of, point_of)
    return [[(reason, n) for reason, n, _, _ in use.idle_reasons]
            for use in lot_uses(problem, left, full_points=False)]


def _leftovers(problem: Problem, lots: pd.DataFrame, lot_of: np.ndarray,
               point_of: np.ndarray) -> Leftovers:
    served = lot_of >= 0
    allocated = np.bincount(lot_of[served], minlength=len(problem.lot_id)).astype(np.int64)
    given = np.bincount(point_of[served], minlength=len(problem.point_id)).astype(np.int64)
    room_left = problem.point_capacity - given
    net = (lots["unit_price_vnd"] - lots["sponsor_subsidy_vnd"]).to_numpy(np.int64)
    served_idx = np.flatnonzero(served)
    spent = int(cost_of(problem, net, problem.hh_status[served_idx], lot_of[served_idx]).sum())
    waiting = ~served & (problem.hh_reason == "")
    keys = pd.DataFrame({"group": problem.hh_group[waiting], "home": problem.hh_home[waiting]})
    counted = keys.value_counts().sort_index()
    pairs = counted.index.to_frame(index=False)
    n_home = len(problem.home_commune)
    has_point = np.zeros(n_home, bool)
    has_point[problem.hp_home] = True
    has_room = np.zeros(n_home, bool)
    has_room[problem.hp_home[room_left[problem.hp_point] > 0]] = True
    codes, needs = pd.factorize(pd.Series(problem.group_needs, dtype=object))
    room_max = np.zeros(n_home, np.int64)
    np.maximum.at(room_max, problem.hp_home, np.maximum(room_left[problem.hp_point], 0))
    return Leftovers(
        allocated=allocated, stock_left=problem.lot_quantity - allocated, room_left=room_left,
        budget_left=problem.budget - spent,
        wait_group=pairs["group"].to_numpy(np.int64) if len(pairs) else np.zeros(0, np.int64),
        wait_home=pairs["home"].to_numpy(np.int64) if len(pairs) else np.zeros(0, np.int64),
        wait_count=counted.to_numpy(np.int64),
        home_has_point=has_point, home_has_room=has_room,
        lot_features=_sets(lots["features"]), lot_communes=_sets(lots["allowed_communes"]),
        lot_statuses=_sets(lots["allowed_statuses"]), lot_net=net,
        lot_sponsor_name=[str(n or s) for n, s in zip(lots["sponsor_name"], lots["sponsor_id"])],
        needs=[{i for i in str(t).split(";") if i} for t in needs],
        group_needs=codes.astype(np.int64), home_room_max=room_max)


def cost_of(problem: Problem, net: np.ndarray, status: np.ndarray, lot: np.ndarray
            ) -> np.ndarray:
    """Public cost of giving `lot` to households of `status` (contract section 2)."""
    copay = np.array([problem.policy.copay_vnd[s] for s in STATUSES], np.int64)
    return np.maximum(0, net[lot] - copay[status]).astype(np.int64)


def _sets(column: pd.Series) -> list[set[str]]:
    texts, codes = np.unique(column.astype(str).to_numpy(object), return_inverse=True)
    parsed = [{item for item in str(t).split(";") if item} for t in texts]
    return [parsed[c] for c in codes.ravel()]


def suits(problem: Problem, left: Leftovers, lot: int, communes: bool = True,
          statuses: bool = True, needs: bool = True) -> np.ndarray:
    """Per lot group: whether `lot` suits it, checking only the rules asked for."""
    ok = np.ones(len(problem.group_commune), bool)
    if communes and left.lot_communes[lot]:
        codes = problem.commune_code.astype(str)
        ok &= np.isin(codes, list(left.lot_communes[lot]))[problem.group_commune]
    if statuses and left.lot_statuses[lot]:
        allowed = np.array([s in left.lot_statuses[lot] for s in STATUSES])
        ok &= allowed[problem.group_status]
    if needs and len(ok):
        features = left.lot_features[lot]
        ok &= np.array([n <= features for n in left.needs], dtype=bool)[left.group_needs]
    return ok


def reachable_points(problem: Problem, homes: np.ndarray) -> np.ndarray:
    """Points (distinct, sorted) in reach of any of `homes`.

    By marks rather than sorting: run for every lot with idle devices at every solve, it
    took 2 s on hcmc-universal (1.3 million home-point pairs) with np.unique."""
    if not len(homes) or not len(problem.hp_home):
        return np.zeros(0, np.int64)
    wanted = np.zeros(len(problem.home_commune), bool)
    wanted[homes] = True
    reached = np.zeros(len(problem.point_id), bool)
    reached[problem.hp_point[wanted[problem.hp_home]]] = True
    return np.flatnonzero(reached)


@dataclass
class LotUse:
    """One lot's use in the optimum, its idle devices by reason, and what would use them."""

    lot: int
    lot_id: str
    sponsor_id: str
    quantity: int
    allocated: int
    idle_reasons: list[tuple[str, int, str, str]]  # reason, devices, text_vi, text_en
    full_points: np.ndarray  # full points the households who could take it reach
    change: dict[str, Any] | None = None  # the confirmed relaxation that uses most of them
    change_devices: int = 0  # devices of this lot that change puts to use

    @property
    def idle(self) -> int:
        return self.quantity - self.allocated

    def devices(self, reason: str) -> int:
        return sum(n for r, n, _, _ in self.idle_reasons if r == reason)

    def to_json(self) -> dict[str, Any]:
        return {"lot_id": self.lot_id, "sponsor_id": self.sponsor_id,
                "quantity": self.quantity, "allocated": self.allocated, "idle": self.idle,
                "idle_reasons": [{"reason": r, "devices": n, "text_vi": vi, "text_en": en}
                                 for r, n, vi, en in self.idle_reasons],
                "change": self.change, "change_devices": self.change_devices}


def lot_uses(problem: Problem, left: Leftovers, full_points: bool = True) -> list[LotUse]:
    """Every lot's use and the reasons its idle devices stay idle (see the module's note);
    without `full_points`, `LotUse.full_points` is left empty (the bottleneck analysis
    alone needs them)."""
    uses = []
    for lot in range(len(problem.lot_id)):
        quantity = int(problem.lot_quantity[lot])
        allocated = int(left.allocated[lot])
        idle = quantity - allocated
        reasons: list[tuple[str, int, str, str]] = []
        full = np.zeros(0, np.int64)
        if idle > 0:
            reasons, full = _funnel(problem, left, lot, idle, full_points)
        uses.append(LotUse(lot, str(problem.lot_id[lot]), str(problem.lot_sponsor[lot]),
                           quantity, allocated, reasons, full))
    return uses


def _funnel(problem: Problem, left: Leftovers, lot: int, idle: int, full_points: bool = True
            ) -> tuple[list[tuple[str, int, str, str]], np.ndarray]:
    group = left.wait_group
    in_communes = suits(problem, left, lot, statuses=False, needs=False)[group]
    of_status = in_communes & suits(problem, left, lot, communes=False, needs=False)[group]
    compatible = of_status & suits(problem, left, lot, communes=False, statuses=False)[group]
    with_room = compatible & left.home_has_room[left.wait_home]
    full = np.zeros(0, np.int64)
    if full_points:
        reach_full = reachable_points(problem, left.wait_home[compatible])
        full = reach_full[left.room_left[reach_full] <= 0]
    n_room = left.households(with_room)
    # The room in reach counts only below min(idle, households): one point in reach with
    # that much room settles it without summing every point reached.
    settled = n_room == 0 or (len(left.home_room_max) > 0 and int(
        left.home_room_max[left.wait_home[with_room]].max()) >= min(idle, n_room))
    if settled:
        n_room = min(idle, n_room)
    else:
        points = reachable_points(problem, left.wait_home[with_room])
        n_room = min(n_room, int(np.maximum(left.room_left[points], 0).sum()))
    status = problem.group_status[group[with_room]]
    cost = cost_of(problem, left.lot_net, status, np.full(len(status), lot))
    free = int(left.wait_count[with_room][cost == 0].sum())
    paid = cost[cost > 0]
    affordable = free + (left.budget_left // int(paid.min()) if len(paid) else 0)
    counts = [left.households(in_communes), left.households(of_status),
              left.households(compatible), n_room, min(n_room, affordable)]
    cheapest = int(paid.min()) if len(paid) else 0
    parts, before = [], idle
    for reason, n in zip(REASONS[:-1], counts):
        now = min(idle, n)
        parts.append((reason, before - now))
        before = now
    parts.append(("other", before))
    texts = []
    for reason, devices in parts:
        if devices > 0:
            vi, en = _reason_text(reason, devices, left, lot, cheapest)
            texts.append((reason, devices, vi, en))
    return texts, full


def _reason_text(reason: str, n: int, left: Leftovers, lot: int, cheapest: int
                 ) -> tuple[str, str]:
    dv, devices_en = number(n, "vi"), count(n, "device")
    if reason == "communes_exhausted":
        k = len(left.lot_communes[lot])
        if k:
            return (f"{dv} máy: không còn hộ đủ điều kiện nào chưa được nhận máy ở {k} "
                    f"xã/phường mà lô được phép phát",
                    f"{devices_en}: no eligible household is left unserved in the {k} "
                    f"commune{'s' if k != 1 else ''} the lot is kept to")
        return (f"{dv} máy: không còn hộ đủ điều kiện nào chưa được nhận máy",
                f"{devices_en}: no eligible household is left unserved")
    if reason == "statuses":
        allowed = [s for s in STATUSES if s in left.lot_statuses[lot]]
        return (f"{dv} máy: các hộ còn lại không thuộc diện lô được phép phát "
                f"({', '.join(STATUS_VI[s] for s in allowed)})",
                f"{devices_en}: the households left are not of the statuses the lot is kept "
                f"to ({', '.join(STATUS_EN[s] for s in allowed)})")
    if reason == "features_unneeded":
        return (f"{dv} máy: các hộ còn lại cần tính năng mà máy của lô này không có",
                f"{devices_en}: the households left need features this lot's device lacks")
    if reason == "points_full":
        return (f"{dv} máy: các hộ còn lại có thể nhận máy này không có điểm phát nào "
                f"còn chỗ trong tầm",
                f"{devices_en}: the households left who could take them have no point with "
                f"room in reach")
    if reason == "budget":
        return (f"{dv} máy: ngân sách còn lại ({number(left.budget_left, 'vi')} đồng) không "
                f"đủ chi (mỗi máy {number(cheapest, 'vi')} đồng ngân sách)",
                f"{devices_en}: the budget left ({number(left.budget_left, 'en')} VND) does "
                f"not pay for them ({number(cheapest, 'en')} VND of public money each)")
    return (f"{dv} máy: ngân sách và chỗ còn lại ở các điểm đã dành cho các hộ ưu tiên hơn "
            f"với lô khác",
            f"{devices_en}: the budget and room left went to households of higher priority "
            f"with other lots")
