"""What binds a solved round, found from its optimum: the budget, each lot given out while
households who could take it are left, each full point that leaves households with no
other point with room, each lot restriction (communes, statuses) that keeps idle devices
from households left unserved, and the reach limit. Each finding carries its figures and
a sentence in Vietnamese and English; bottlenecks.py ranks them and prices their
relaxation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from allocator.compat import groups_with_lots
from allocator.contract import STATUSES
from allocator.geo import reach_pairs
from allocator.lot_use import (
    Leftovers,
    LotUse,
    sorted_points,
    suits,
)
from allocator.neighbours import neighbours
from allocator.problem import Problem
from allocator.relax import (
    BUDGET_STEP,
    CAPACITY_STEP,
    REACH_STEP_KM,
    STATUS_EN,
    STATUS_VI,
    STOCK_STEP,
    Change,
    count,
    number,
)
from allocator.validate import Scenario


def binding_entries(problem: Problem, scenario: Scenario, left: Leftovers, uses: list[LotUse]
             ) -> tuple[list[dict[str, Any]], list[Change]]:
    """Binding resources with figures and sentences, and one relaxation for each.

    A lot's restriction binds where its idle devices are idle because of it (the first
    reason in lot_use's funnel), not where the budget or the points keep them idle.
    """
    entries: list[dict[str, Any]] = []
    changes: list[Change] = []
    rows = left.wait_group
    has_point = left.home_has_point[left.wait_home]
    servable = groups_with_lots(problem.routes)[rows] & has_point
    entries += _budget_binding(problem, left, servable)
    if problem.budget > 0:
        changes.append(Change("budget", amount=BUDGET_STEP))
    lots_entries: list[dict[str, Any]] = []
    restriction_entries: list[dict[str, Any]] = []
    for lot in range(len(problem.lot_id)):
        lot_id = str(problem.lot_id[lot])
        label = f"{lot_id} ({left.lot_sponsor_name[lot]})"
        quantity = int(problem.lot_quantity[lot])
        compatible = suits(problem, left, lot)[rows] & has_point
        if quantity > 0 and left.stock_left[lot] <= 0 and left.households(compatible):
            lots_entries.append(_stock_entry(lot_id, label, str(problem.lot_sponsor[lot]),
                                             quantity, left.households(compatible)))
            changes.append(Change("lot_stock", lot_id, STOCK_STEP))
        if left.lot_communes[lot]:
            near = neighbours(left.lot_communes[lot], scenario.communes)
            if near:
                changes.append(Change("lot_communes", lot_id, communes=near))
            entry = _communes_entry(problem, left, lot, label, near, rows, has_point,
                                    uses[lot].devices("communes_exhausted"))
            if entry:
                restriction_entries.append(entry)
        lifted = set(problem.policy.eligible_statuses) - left.lot_statuses[lot]
        if left.lot_statuses[lot] and lifted:
            changes.append(Change("lot_statuses", lot_id))
            entry = _statuses_entry(problem, left, lot, label, rows, has_point,
                                    uses[lot].devices("statuses"))
            if entry:
                restriction_entries.append(entry)
    point_entries, full_points = _point_entries(problem, scenario, left, servable)
    changes += [Change("point_capacity", p, CAPACITY_STEP) for p in full_points]
    reach = _reach_entry(problem, scenario, left, servable)
    if reach:
        entries.append(reach)
    changes.append(Change("reach", amount=REACH_STEP_KM))
    entries += lots_entries + restriction_entries + point_entries  # ranked by _rank_binding
    return entries, changes


def _budget_binding(problem: Problem, left: Leftovers, servable: np.ndarray
                    ) -> list[dict[str, Any]]:
    """The budget binds for households with a suitable device in stock it cannot pay for.

    The same rule as unserved.csv's "budget:" detail, counted over the households left.
    """
    routes = problem.routes
    in_stock = left.stock_left[routes.lot] > 0
    cheapest = np.full(routes.n_hubs + len(problem.group_commune), np.iinfo(np.int64).max)
    np.minimum.at(cheapest, routes.node[in_stock], routes.cost[in_stock])
    group_min = np.minimum(cheapest[routes.group_hub],
                           cheapest[routes.n_hubs:]) if len(routes.group_hub) else cheapest[:0]
    per_row = group_min[left.wait_group]
    blocked = servable & (per_row < np.iinfo(np.int64).max) & (per_row > left.budget_left)
    households = left.households(blocked)
    if not households:
        return []
    budget, left_vnd = problem.budget, left.budget_left
    used = budget - left_vnd
    entry = {"kind": "budget", "subject": "", "budget_vnd": budget, "used_vnd": used,
             "left_vnd": left_vnd, "households": households}
    if budget == 0:
        entry["sentence_vi"] = (f"Đợt này không có ngân sách: {number(households, 'vi')} hộ "
                                f"chưa được nhận máy chỉ còn máy phù hợp phải chi ngân sách.")
        entry["sentence_en"] = (f"The round has no budget: {count(households, 'household')} "
                                f"left unserved could only get a device that costs public "
                                f"money.")
        return [entry]
    entry["sentence_vi"] = (f"Ngân sách đang là giới hạn: đã chi {number(used, 'vi')} trên "
                            f"{number(budget, 'vi')} đồng; {number(households, 'vi')} hộ chưa "
                            f"được nhận máy còn có máy phù hợp trong kho nhưng "
                            f"{number(left_vnd, 'vi')} đồng còn lại không đủ chi cho một máy.")
    entry["sentence_en"] = (f"The budget binds: {number(used, 'en')} of "
                            f"{number(budget, 'en')} VND are spent; "
                            f"{count(households, 'household')} left unserved "
                            f"{'has' if households == 1 else 'have'} a suitable device in "
                            f"stock, but the {number(left_vnd, 'en')} VND left does not pay "
                            f"for one.")
    return [entry]


def _stock_entry(lot_id: str, label: str, sponsor: str, quantity: int, households: int
                 ) -> dict[str, Any]:
    q_vi, q_en, h_vi = number(quantity, "vi"), number(quantity, "en"), number(households, "vi")
    return {"kind": "lot_stock", "subject": lot_id, "sponsor_id": sponsor,
            "quantity": quantity, "households": households,
            "sentence_vi": f"Lô {label} đã phát hết ({q_vi}/{q_vi} máy); còn {h_vi} hộ chưa "
                           f"được nhận máy phù hợp với lô này.",
            "sentence_en": f"Lot {label} is given out ({q_en} of {count(quantity, 'device')}); "
                           f"{count(households, 'household')} left unserved could take it."}


def _communes_entry(problem: Problem, left: Leftovers, lot: int, label: str,
                    near: tuple[str, ...], rows: np.ndarray, has_point: np.ndarray,
                    idle: int) -> dict[str, Any] | None:
    if idle <= 0:
        return None
    outside = suits(problem, left, lot, communes=False)[rows] & has_point & \
        ~suits(problem, left, lot, statuses=False, needs=False)[rows]
    households = left.households(outside)
    if not households:
        return None
    commune = problem.commune_code.astype(str)[problem.group_commune[rows]]
    nearby = left.households(outside & np.isin(commune, list(near)))
    k = len(left.lot_communes[lot])
    return {"kind": "lot_communes", "subject": str(problem.lot_id[lot]),
            "sponsor_id": str(problem.lot_sponsor[lot]), "idle": idle, "communes": k,
            "households_outside": households, "households_in_neighbours": nearby,
            "sentence_vi": f"Lô {label} còn {number(idle, 'vi')} máy chưa phát vì chỉ được "
                           f"phát ở {k} xã/phường; {number(households, 'vi')} hộ chưa được "
                           f"nhận máy ở nơi khác có thể dùng lô này ({number(nearby, 'vi')} "
                           f"hộ ở các xã/phường lân cận).",
            "sentence_en": f"Lot {label} keeps {count(idle, 'device')} idle: it is kept "
                           f"to {count(k, 'commune')}, while {count(households, 'household')} "
                           f"left unserved elsewhere could use it ({number(nearby, 'en')} of "
                           f"them in neighbouring communes)."}


def _statuses_entry(problem: Problem, left: Leftovers, lot: int, label: str,
                    rows: np.ndarray, has_point: np.ndarray, idle: int
                    ) -> dict[str, Any] | None:
    if idle <= 0:
        return None
    others = suits(problem, left, lot, statuses=False)[rows] & has_point & \
        ~suits(problem, left, lot, communes=False, needs=False)[rows]
    households = left.households(others)
    if not households:
        return None
    allowed = [s for s in STATUSES if s in left.lot_statuses[lot]]
    return {"kind": "lot_statuses", "subject": str(problem.lot_id[lot]),
            "sponsor_id": str(problem.lot_sponsor[lot]), "idle": idle, "statuses": allowed,
            "households_other_status": households,
            "sentence_vi": f"Lô {label} còn {number(idle, 'vi')} máy chưa phát vì chỉ dành "
                           f"cho {', '.join(STATUS_VI[s] for s in allowed)}; "
                           f"{number(households, 'vi')} hộ diện khác chưa được nhận máy có "
                           f"thể dùng lô này.",
            "sentence_en": f"Lot {label} keeps {count(idle, 'device')} idle: it is kept "
                           f"to {', '.join(STATUS_EN[s] for s in allowed)} households, while "
                           f"{count(households, 'household')} of other statuses left "
                           f"unserved could use it."}


def _point_entries(problem: Problem, scenario: Scenario, left: Leftovers,
                   servable: np.ndarray) -> tuple[list[dict[str, Any]], list[str]]:
    """Full points that leave households with no other point with room in reach."""
    n_home = len(problem.home_commune)
    waiting = np.bincount(left.wait_home[servable], weights=left.wait_count[servable],
                          minlength=n_home)
    blocked = waiting * ~left.home_has_room
    n_point = len(problem.point_id)
    in_reach = np.bincount(problem.hp_point, weights=waiting[problem.hp_home],
                           minlength=n_point).astype(np.int64)
    stuck = np.bincount(problem.hp_point, weights=blocked[problem.hp_home],
                        minlength=n_point).astype(np.int64)
    names = sorted_points(scenario)["name"].astype(str).to_numpy(object)
    entries, full = [], []
    for p in np.flatnonzero((problem.point_capacity > 0) & (left.room_left <= 0) & (stuck > 0)):
        pid, cap = str(problem.point_id[p]), int(problem.point_capacity[p])
        label = pid + (f" ({names[p]})" if names[p] else "")
        b = int(stuck[p])
        full.append(pid)
        entries.append({
            "kind": "point_capacity", "subject": pid, "capacity": cap,
            "households_in_reach": int(in_reach[p]), "households_blocked": b,
            "sentence_vi": f"Điểm {label} đã kín ({number(cap, 'vi')}/{number(cap, 'vi')} "
                           f"lượt trao máy); {number(b, 'vi')} hộ chưa được nhận máy không "
                           f"còn điểm nào khác còn chỗ trong tầm.",
            "sentence_en": f"Point {label} is full ({number(cap, 'en')} of "
                           f"{count(cap, 'handover')}); {count(b, 'household')} left "
                           f"unserved {'has' if b == 1 else 'have'} no other point with room "
                           f"in reach."})
    return entries, full


def _point_coordinates(problem: Problem, scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    points = sorted_points(scenario)
    at = pd.Index(problem.commune_code).get_indexer(pd.Index(points["commune_code"]))
    lat, lon = points["lat"].to_numpy(float).copy(), points["lon"].to_numpy(float).copy()
    missing = np.isnan(lat)
    lat[missing] = scenario.communes["lat"].to_numpy(float)[at[missing]]
    lon[missing] = scenario.communes["lon"].to_numpy(float)[at[missing]]
    return lat, lon


def _reach_entry(problem: Problem, scenario: Scenario, left: Leftovers,
                 servable: np.ndarray) -> dict[str, Any] | None:
    """Households a longer reach could serve: none in reach, or only full points in reach."""
    has_lot = groups_with_lots(problem.routes)[left.wait_group]
    no_point = has_lot & ~left.home_has_point[left.wait_home]
    full_only = servable & ~left.home_has_room[left.wait_home]
    if not left.households(no_point) and not left.households(full_only):
        return None
    d = problem.policy.max_distance_km
    p_lat, p_lon = _point_coordinates(problem, scenario)
    p_commune = pd.Index(problem.commune_code).get_indexer(
        pd.Index(sorted_points(scenario)["commune_code"])).astype(np.int64)

    def within(rows: np.ndarray, open_points: np.ndarray) -> int:
        homes = np.unique(left.wait_home[rows])
        points = np.flatnonzero(open_points)
        if not len(homes) or not len(points):
            return 0
        pairs = reach_pairs(problem.home_lat[homes], problem.home_lon[homes],
                            problem.home_commune[homes], p_lat[points], p_lon[points],
                            p_commune[points], d + REACH_STEP_KM)
        near = np.zeros(len(problem.home_commune), bool)
        near[homes[pairs["home"].to_numpy(np.int64)]] = True
        return left.households(rows & near[left.wait_home])

    n_none, n_full = left.households(no_point), left.households(full_only)
    none_near = within(no_point, problem.point_capacity > 0)
    full_near = within(full_only, left.room_left > 0)
    if not none_near and not full_near:
        return None
    d1 = d + REACH_STEP_KM
    vi, en = [], []
    if n_none:
        vi.append(f"{number(n_none, 'vi')} hộ đủ điều kiện không có điểm phát nào trong "
                  f"xã/phường hoặc trong vòng {d:g} km ({number(none_near, 'vi')} hộ có điểm "
                  f"trong vòng {d1:g} km)")
        en.append(f"{count(n_none, 'eligible household')} "
                  f"{'has' if n_none == 1 else 'have'} no point in their commune or within "
                  f"{d:g} km ({number(none_near, 'en')} of them with one within {d1:g} km)")
    if full_near:
        vi.append(f"{number(full_near, 'vi')} hộ chỉ với tới các điểm đã kín, trong khi có "
                  f"điểm còn chỗ trong vòng {d1:g} km")
        en.append(f"{count(full_near, 'household')} "
                  f"{'reaches' if full_near == 1 else 'reach'} only full points while a point "
                  f"with room is within {d1:g} km")
    return {"kind": "reach", "subject": "", "max_distance_km": d,
            "households_no_point": n_none, "households_no_point_within_step": none_near,
            "households_full_points": n_full, "households_full_within_step": full_near,
            "sentence_vi": "Bán kính tiếp cận đang là giới hạn: " + "; ".join(vi) + ".",
            "sentence_en": "Reach binds: " + "; ".join(en) + "."}
