"""Why a household was not served, in words a planner can repeat to a citizen.

Households that share a reason share its sentence, so each sentence is written once
per distinct case (status, lot group, the points a home reaches) and households carry
a number into the list of sentences; at national scale that is a million households
but a few thousand sentences.

A detail says it in English, then in Vietnamese after " | " (`VI_MARK`): the English
part keeps the contract's form (an outranked household's binding resources as
`budget: ...; capacity: ...`), which programs read; the Vietnamese part names the same
resources with the same amounts, for the people who open the file. `in_language`
gives a page the part in its language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from allocator.compat import groups_with_lots, node_routes
from allocator.contract import STATUSES
from allocator.problem import Problem

MAX_NAMED = 5  # lots or points named in one explanation
VI_MARK = " | "  # between a detail's English and Vietnamese parts
PRIORITY = ("priority: the budget, stock and capacity went to households of higher priority "
            "weight or lower cost")
PRIORITY_VI = ("Xếp sau theo thứ tự ưu tiên: ngân sách, máy và chỗ còn lại đã dành cho hộ có "
               "điểm ưu tiên cao hơn hoặc chi phí thấp hơn")
STATUS_VI = {"poor": "hộ nghèo", "near_poor": "hộ cận nghèo", "other": "hộ khác"}
# The eligibility rules, in the contract's order; every other reason is of an eligible
# household that the round did not serve.
RULES = ("received_earlier", "duplicate_identity", "not_eligible_status", "no_2g_handset",
         "has_smartphone")
_PART = "\x00"  # between the English and Vietnamese words of one part, while building


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
        per_status = details.numbers([_status_text(s, policy.eligible_statuses)
                                      for s in STATUSES])
        detail[m] = per_status[problem.hh_status[unserved[m]]]
    detail[ruled("no_2g_handset")] = details.number(
        "no 2G-only handset in use" + VI_MARK + "Không dùng máy chỉ có 2G")
    detail[ruled("has_smartphone")] = details.number(
        "already owns a 4G/5G smart device" + VI_MARK + "Đã có điện thoại thông minh 4G/5G")
    campaign = ruled("received_earlier") | ruled("duplicate_identity")
    if campaign.any():  # the contract's own words (section 5), kept as they are
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
    km = policy.max_distance_km
    detail[no_point] = details.number(
        f"no distribution point with capacity in its commune or within {km:g} km" + VI_MARK +
        f"Không có điểm nhận trong tầm: không điểm nào có sức chứa ở xã, phường của hộ hoặc "
        f"trong vòng {_km_vi(km)} km")
    outranked = eligible & ~no_lot & ~no_point
    reason[outranked] = reasons.number("outranked")
    if outranked.any():
        detail[outranked] = _binding(problem, lot_of, point_of, unserved[outranked],
                                     problem.budget - spent, details)
    return Explanations(unserved, reason, reasons.texts, detail, details.texts)


def _status_text(status: str, eligible: tuple[str, ...] | list[str]) -> str:
    allowed_vi = ", ".join(STATUS_VI[s] for s in eligible) or "không diện nào"
    return (f"status {status} is not eligible in this round (eligible: "
            f"{', '.join(eligible) or 'none'})" + VI_MARK +
            f"Không thuộc diện của đợt: {STATUS_VI[status]}, trong khi đợt này dành cho "
            f"{allowed_vi}")


def _no_lot_text(problem: Problem, group: int) -> str:
    needs = problem.group_needs[group]
    status = STATUSES[problem.group_status[group]]
    commune = problem.commune_code[problem.group_commune[group]]
    text = f"no lot with devices left is open to {status} households in commune {commune}"
    vi = (f"Không có lô máy phù hợp: không lô nào còn máy dành cho {STATUS_VI[status]} ở xã, "
          f"phường {commune}")
    if needs:
        text += f" and offers {needs.replace(';', ', ')}"
        vi += f" và có tính năng {needs.replace(';', ', ')}"
    return text + VI_MARK + vi


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
        parts = [p.split(_PART) for p in (lot_texts[k // (len(point_texts) + 1)],
                                          point_texts[k % (len(point_texts) + 1)]) if p]
        if not parts:
            texts.append(PRIORITY + VI_MARK + PRIORITY_VI)
            continue
        # English parts as the contract reads them ("; "), Vietnamese ones as sentences.
        texts.append("; ".join(en for en, _ in parts) + VI_MARK +
                     ". ".join(vi for _, vi in parts))
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
                names = problem.lot_id[lots]
                words[key] = (f"stock: every suitable lot is given out ({_names(names)})" +
                              _PART + f"Hết máy phù hợp: mọi lô phù hợp đã phát hết "
                              f"({_names(names, 'lô')})")
            out.append(words[key])
        elif c > budget_left:
            out.append(f"budget: {budget_left:,} VND left, the cheapest suitable device "
                       f"in stock costs the budget {c:,} VND" + _PART +
                       f"Ngân sách không đủ: chỉ còn {_vnd_vi(budget_left)} đồng, mà máy phù "
                       f"hợp rẻ nhất còn trong kho cần ngân sách chi {_vnd_vi(c)} đồng")
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
    words = np.array([_full_text(problem.point_id[pair_point[starts[i]:ends[i]]])
                      for i in first], dtype=object)
    out[full] = words[case]
    return out


def _full_text(points: np.ndarray) -> str:
    return (f"capacity: every point in reach is full ({_names(points)})" + _PART +
            f"Hết chỗ: mọi điểm nhận trong tầm đã kín ({_names(points, 'điểm')})")


def _names(ids: np.ndarray, unit_vi: str = "") -> str:
    """The first few names, sorted, and how many more: "and 3 more" or "và 3 lô khác"."""
    names = sorted(str(i) for i in ids)
    shown = ", ".join(names[:MAX_NAMED])
    more = len(names) - MAX_NAMED
    if more <= 0:
        return shown
    return shown + (f" và {more} {unit_vi} khác" if unit_vi else f" and {more} more")


def _vnd_vi(amount: int) -> str:
    return f"{int(amount):,}".replace(",", ".")


def _km_vi(km: float) -> str:
    return f"{km:g}".replace(".", ",")


def in_language(detail: str, lang: str) -> str:
    """The part of a detail in `lang` ('vi' or 'en'); a detail with one part is that part."""
    en, mark, vi = (detail or "").partition(VI_MARK)
    return vi if mark and lang == "vi" else en


_KIND = re.compile(r"(?:^|; )(budget|stock|capacity|priority):")
_COST = re.compile(r"costs the budget ([\d,]+) VND")
MAX_DETAILS = 12  # the most common distinct details a round's page lists


def unserved_causes(problem: Problem, unserved: pd.DataFrame, spent: int) -> dict[str, Any]:
    """Counts for a round's page (`dashboard.json`): households not eligible, by rule, and
    eligible households left unserved, by what stopped them (the resources their details
    name, with the budget left and what the cheapest suitable phone costs the budget),
    and the most common details word for word."""
    pairs = unserved.groupby(["reason", "detail"], sort=False).size()
    rules: dict[str, int] = {}
    kinds: dict[tuple[str, ...], list[int]] = {}  # households, cheapest costs named
    details = []
    for reason_, detail_, count in pairs.reset_index(name="n").itertuples(index=False,
                                                                          name=None):
        reason, detail, n = str(reason_), str(detail_), int(count)
        if reason in RULES:
            rules[reason] = rules.get(reason, 0) + n
            continue
        english = in_language(detail, "en")
        named = tuple(dict.fromkeys(_KIND.findall(english))) if reason == "outranked" else ()
        key = named or (reason,)
        entry = kinds.setdefault(key, [0])
        entry[0] += n
        entry += [int(c.replace(",", "")) for c in _COST.findall(english)]
        details.append((n, reason, detail))
    details.sort(key=lambda d: (-d[0], d[1], d[2]))
    eligible = []
    for key, (n, *costs) in kinds.items():
        row: dict[str, Any] = {"kinds": list(key), "households": n}
        if costs:
            row["cost_min_vnd"], row["cost_max_vnd"] = min(costs), max(costs)
        eligible.append(row)
    eligible.sort(key=lambda r: (-r["households"], r["kinds"]))
    return {
        "budget_vnd": int(problem.budget), "budget_left_vnd": int(problem.budget - spent),
        "max_distance_km": float(problem.policy.max_distance_km),
        "eligible_statuses": list(problem.policy.eligible_statuses),
        "not_eligible": [{"reason": r, "households": rules[r]} for r in RULES if r in rules],
        "eligible": eligible,
        "details": [{"reason": r, "detail": d, "households": n}
                    for n, r, d in details[:MAX_DETAILS]],
        "distinct_details": len(details),
    }
