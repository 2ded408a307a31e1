"""Why a household was not served, in words a planner can repeat to a citizen."""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator.aggregate import reach_set_ids
from allocator.compat import group_options, groups_with_lots
from allocator.contract import STATUSES
from allocator.problem import Problem

MAX_NAMED = 5  # lots or points named in one explanation


def explain_unserved(problem: Problem, lot_of: np.ndarray, point_of: np.ndarray,
                     spent: int) -> pd.DataFrame:
    """household_id, reason, detail for every household not served (file order)."""
    policy = problem.policy
    unserved = np.flatnonzero(lot_of < 0)
    reason = problem.hh_reason[unserved].astype(object)
    detail = np.full(len(unserved), "", dtype=object)
    status_text = np.array(STATUSES, dtype=object)[problem.hh_status[unserved]]
    eligible_text = ", ".join(policy.eligible_statuses) or "none"
    m = reason == "not_eligible_status"
    detail[m] = "status " + status_text[m] + " is not eligible in this round (eligible: " + \
        eligible_text + ")"
    detail[reason == "no_2g_handset"] = "no 2G-only handset in use"
    detail[reason == "has_smartphone"] = "already owns a 4G/5G smart device"
    campaign = (reason == "received_earlier") | (reason == "duplicate_identity")
    detail[campaign] = problem.hh_reason_detail[unserved][campaign]

    eligible = reason == ""
    group = problem.hh_group[unserved]
    home = problem.hh_home[unserved]
    has_lot = np.append(groups_with_lots(problem.routes), False)  # index -1: not eligible
    has_point = np.zeros(len(problem.home_commune) + 1, bool)
    has_point[problem.hp_home] = True
    no_lot = eligible & ~has_lot[group]
    reason[no_lot] = "no_compatible_lot"
    for g in np.unique(group[no_lot]):
        detail[no_lot & (group == g)] = _no_lot_text(problem, int(g))
    no_point = eligible & ~no_lot & ~has_point[home]
    reason[no_point] = "no_point_in_reach"
    detail[no_point] = (f"no distribution point with capacity in its commune or within "
                        f"{policy.max_distance_km:g} km")
    outranked = eligible & ~no_lot & ~no_point
    reason[outranked] = "outranked"
    if outranked.any():
        detail[outranked] = _binding(problem, lot_of, point_of, unserved[outranked],
                                     problem.budget - spent)
    return pd.DataFrame({"household_id": problem.hh_id[unserved], "reason": reason,
                         "detail": detail})


def _no_lot_text(problem: Problem, group: int) -> str:
    needs = problem.group_needs[group]
    status = STATUSES[problem.group_status[group]]
    commune = problem.commune_code[problem.group_commune[group]]
    text = f"no lot with devices left is open to {status} households in commune {commune}"
    if needs:
        text += f" and offers {needs.replace(';', ', ')}"
    return text


def _binding(problem: Problem, lot_of: np.ndarray, point_of: np.ndarray,
             households: np.ndarray, budget_left: int) -> np.ndarray:
    """Which resource stopped each outranked household: budget, stock or capacity."""
    served = lot_of >= 0
    stock_left = problem.lot_quantity - np.bincount(lot_of[served],
                                                    minlength=len(problem.lot_id))
    room_left = problem.point_capacity - np.bincount(point_of[served],
                                                     minlength=len(problem.point_id))
    reach_id = reach_set_ids(problem)
    keys = pd.DataFrame({"group": problem.hh_group[households],
                         "reach": reach_id[problem.hh_home[households]],
                         "home": problem.hh_home[households]})
    combos = keys.drop_duplicates(["group", "reach"])
    texts: dict[tuple[int, int], str] = {}
    for g, r, h in combos.itertuples(index=False):
        parts = []
        lots, costs = group_options(problem.routes, int(g))
        in_stock = stock_left[lots] > 0
        if not in_stock.any():
            parts.append("stock: every suitable lot is given out (" +
                         _names(problem.lot_id[lots]) + ")")
        elif costs[in_stock].min() > budget_left:
            parts.append(f"budget: {budget_left:,} VND left, the cheapest suitable device "
                         f"in stock costs the budget {int(costs[in_stock].min()):,} VND")
        points = problem.hp_point[np.searchsorted(problem.hp_home, h, side="left"):
                                  np.searchsorted(problem.hp_home, h, side="right")]
        if not (room_left[points] > 0).any():
            parts.append("capacity: every point in reach is full (" +
                         _names(problem.point_id[points]) + ")")
        if not parts:
            parts.append("priority: the budget, stock and capacity went to households of "
                         "higher priority weight or lower cost")
        texts[(int(g), int(r))] = "; ".join(parts)
    return np.array([texts[(g, r)] for g, r in zip(keys["group"], keys["reach"])],
                    dtype=object)


def _names(ids: np.ndarray) -> str:
    names = sorted(str(i) for i in ids)
    shown = ", ".join(names[:MAX_NAMED])
    return shown + (f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")

