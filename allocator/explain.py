"""Why a household was not served, in words a planner can repeat to a citizen.

Households that share a reason share its sentence, so each sentence is written once
per distinct case (status, lot group, the points a home reaches) and households carry
a number into the list of sentences; at national scale that is a million households
but a few thousand sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.compat import groups_with_lots, node_routes
from allocator.contract import STATUSES
from allocator.problem import Problem

MAX_NAMED = 5  # lots or points named in one explanation
PRIORITY = ("priority: the budget, stock and capacity went to households of higher priority "
            "weight or lower cost")


@dataclass(frozen=True)
class Explanations:
    """Every household not served (file order), with its reason and detail as sentence numbers."""

    households: np.ndarray
    reason: np.ndarray    # index into reasons
    reasons: list[str]
    detail: np.ndarray    # index into details
    details: list[str]


class _Sentences:
    """Distinct sentences, numbered in order of first use."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._number: dict[str, int] = {}

    def number(self, text: str) -> int:
        if text not in self._number:
            self._number[text] = len(self.texts)
            self.texts.append(text)
        return self._number[text]

    def numbers(self, texts: list[str]) -> np.ndarray:
        return np.array([self.number(t) for t in texts], dtype=np.int64)


def explain_unserved(problem: Problem, lot_of: np.ndarray, point_of: np.ndarray,
                     spent: int) -> Explanations:
    """Reason and detail for every household not served."""
    policy = problem.policy
    unserved = np.flatnonzero(lot_of < 0)
    reasons, details = _Sentences(), _Sentences()
    codes, uniques = pd.factorize(np.asarray(problem.hh_reason[unserved], dtype=object))
    reason = reasons.numbers([str(u) for u in uniques])[codes]

    def ruled(name: str) -> np.ndarray:
        return reason == reasons.number(name)

    detail = np.full(len(unserved), details.number(""), np.int64)
    m = ruled("not_eligible_status")
    if m.any():
        eligible_text = ", ".join(policy.eligible_statuses) or "none"
        per_status = details.numbers([f"status {s} is not eligible in this round "
                                      f"(eligible: {eligible_text})" for s in STATUSES])
        detail[m] = per_status[problem.hh_status[unserved[m]]]
    detail[ruled("no_2g_handset")] = details.number("no 2G-only handset in use")
    detail[ruled("has_smartphone")] = details.number("already owns a 4G/5G smart device")
    campaign = ruled("received_earlier") | ruled("duplicate_identity")
    if campaign.any():
        codes, uniques = pd.factorize(
            np.asarray(problem.hh_reason_detail[unserved[campaign]], dtype=object))
        detail[campaign] = details.numbers([str(u) for u in uniques])[codes]

    eligible = ruled("")
    group = problem.hh_group[unserved]
    home = problem.hh_home[unserved]
    has_lot = np.append(groups_with_lots(problem.routes), False)  # index -1: not eligible
    has_point = np.zeros(len(problem.home_commune) + 1, bool)
    has_point[problem.hp_home] = True
    no_lot = eligible & ~has_lot[group]
    reason[no_lot] = reasons.number("no_compatible_lot")
    if no_lot.any():
        groups, inverse = np.unique(group[no_lot], return_inverse=True)
        per_group = details.numbers([_no_lot_text(problem, int(g)) for g in groups])
        detail[no_lot] = per_group[inverse.ravel()]
    no_point = eligible & ~no_lot & ~has_point[home]
    reason[no_point] = reasons.number("no_point_in_reach")
    detail[no_point] = details.number(
        f"no distribution point with capacity in its commune or within "
        f"{policy.max_distance_km:g} km")
    outranked = eligible & ~no_lot & ~no_point
    reason[outranked] = reasons.number("outranked")
    if outranked.any():
        detail[outranked] = _binding(problem, lot_of, point_of, unserved[outranked],
                                     problem.budget - spent, details)
    return Explanations(unserved, reason, reasons.texts, detail, details.texts)


def _no_lot_text(problem: Problem, group: int) -> str:
    needs = problem.group_needs[group]
    status = STATUSES[problem.group_status[group]]
    commune = problem.commune_code[problem.group_commune[group]]
    text = f"no lot with devices left is open to {status} households in commune {commune}"
    if needs:
        text += f" and offers {needs.replace(';', ', ')}"
    return text


def _binding(problem: Problem, lot_of: np.ndarray, point_of: np.ndarray,
             households: np.ndarray, budget_left: int, details: _Sentences) -> np.ndarray:
    """Which resource stopped each outranked household: budget, stock or capacity.

    The lot side (stock, budget) depends on the household's lot group, the point side
    (capacity) on the points its home reaches; each is worded once per distinct case.
    """
    served = lot_of >= 0
    stock_left = problem.lot_quantity - np.bincount(lot_of[served],
                                                    minlength=len(problem.lot_id))
    room_left = problem.point_capacity - np.bincount(point_of[served],
                                                     minlength=len(problem.point_id))
    group_of, groups = pd.factorize(problem.hh_group[households])
    home_of, homes = pd.factorize(problem.hh_home[households])
    lot_part = _lot_side(problem, np.asarray(groups), stock_left, budget_left)
    point_part = _point_side(problem, np.asarray(homes), room_left)
    cases, case_of = _cases(lot_part, point_part, group_of, home_of)
    return details.numbers(cases)[case_of]


def _cases(lot_part: list[str], point_part: np.ndarray, lot_of: np.ndarray,
           point_of: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The distinct (lot side, point side) sentences, and each household's among them."""
    lot_codes, lot_texts = pd.factorize(np.asarray(lot_part, dtype=object))
    point_codes, point_texts = pd.factorize(point_part)
    key = lot_codes[lot_of].astype(np.int64) * (len(point_texts) + 1) + point_codes[point_of]
    case_of, keys = pd.factorize(key)
    texts = []
    for k in keys.tolist():
        parts = [p for p in (lot_texts[k // (len(point_texts) + 1)],
                             point_texts[k % (len(point_texts) + 1)]) if p]
        texts.append("; ".join(parts) if parts else PRIORITY)
    return texts, case_of


def _lot_side(problem: Problem, groups: np.ndarray, stock_left: np.ndarray,
              budget_left: int) -> list[str]:
    """Per group: '' if a suitable lot is in stock within the budget, else why not."""
    routes = problem.routes
    in_stock = stock_left[routes.lot] > 0
    n_nodes = routes.n_hubs + len(routes.group_hub)
    node_stocked = np.zeros(n_nodes + 1, bool)  # index -1: no hub
    node_stocked[routes.node[in_stock]] = True
    no_cost = np.iinfo(np.int64).max
    node_cheapest = np.full(n_nodes + 1, no_cost, np.int64)
    np.minimum.at(node_cheapest, routes.node[in_stock], routes.cost[in_stock].astype(np.int64))
    hub = routes.group_hub[groups]
    direct = routes.n_hubs + groups
    stocked = node_stocked[hub] | node_stocked[direct]
    cheapest = np.minimum(node_cheapest[hub], node_cheapest[direct])
    words: dict[tuple[int, ...], str] = {}
    out = []
    for h, d, ok, c in zip(hub.tolist(), direct.tolist(), stocked.tolist(), cheapest.tolist()):
        if not ok:
            lots = np.concatenate([routes.lot[node_routes(routes, h)],
                                   routes.lot[node_routes(routes, d)]])
            key = (h, *routes.lot[node_routes(routes, d)].tolist())
            if key not in words:
                words[key] = ("stock: every suitable lot is given out (" +
                              _names(problem.lot_id[lots]) + ")")
            out.append(words[key])
        elif c > budget_left:
            out.append(f"budget: {budget_left:,} VND left, the cheapest suitable device "
                       f"in stock costs the budget {c:,} VND")
        else:
            out.append("")
    return out


def _point_side(problem: Problem, homes: np.ndarray, room_left: np.ndarray) -> np.ndarray:
    """Per home: '' if a point in reach has room, else the full points it reaches."""
    n_home = len(problem.home_commune)
    has_room = np.zeros(n_home, bool)
    has_room[problem.hp_home[room_left[problem.hp_point] > 0]] = True
    out = np.full(len(homes), "", dtype=object)
    full = np.flatnonzero(~has_room[homes])
    if not len(full):
        return out
    # Rows of the full homes' (home, point) pairs; ordered by home, then by point name.
    full_homes = homes[full]
    wanted = np.zeros(n_home, bool)
    wanted[full_homes] = True
    rows = np.flatnonzero(wanted[problem.hp_home])
    name_rank = np.empty(len(problem.point_id), np.int64)
    names = [str(i) for i in problem.point_id]
    name_rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    rows = rows[np.lexsort((name_rank[problem.hp_point[rows]], problem.hp_home[rows]))]
    pair_home, pair_point = problem.hp_home[rows], problem.hp_point[rows]
    by_home = np.argsort(full_homes)
    starts = np.empty(len(full), np.int64)
    ends = np.empty(len(full), np.int64)
    starts[by_home] = np.searchsorted(pair_home, full_homes[by_home], side="left")
    ends[by_home] = np.searchsorted(pair_home, full_homes[by_home], side="right")
    # The sentence names the first points by name and counts the rest: homes with the same
    # count and the same first points share it.
    case = pd.factorize(ends - starts)[0]
    for j in range(MAX_NAMED):
        at = np.minimum(starts + j, ends - 1)
        shown = np.where(starts + j < ends, pair_point[at], -1)
        case = pd.factorize(case * (len(problem.point_id) + 1) + shown + 1)[0]
    first = np.unique(case, return_index=True)[1]
    words = np.array(["capacity: every point in reach is full (" +
                      _names(problem.point_id[pair_point[starts[i]:ends[i]]]) + ")"
                      for i in first], dtype=object)
    out[full] = words[case]
    return out


def _names(ids: np.ndarray) -> str:
    names = sorted(str(i) for i in ids)
    shown = ", ".join(names[:MAX_NAMED])
    return shown + (f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")
