"""From counts per unit back to named households, with ties broken from the seed.

Within a site every household is identical for all four stages, and within a
lot group every lot suits every household at the same cost, so which household
gets which of the counted devices is a tie. Ties follow a seeded random order
of the household ids: the same folder and seed always give the same rows.
"""

from __future__ import annotations

import numpy as np

from allocator.aggregate import Units
from allocator.problem import Problem


def tie_rank(problem: Problem) -> np.ndarray:
    """A seeded random rank per household that depends only on the ids and the seed."""
    n = len(problem.hh_id)
    by_id = np.argsort(problem.hh_id.astype(str), kind="stable")
    rank = np.empty(n, np.int64)
    rank[by_id] = np.random.default_rng(abs(int(problem.policy.seed))).permutation(n)
    return rank


def assign_points(problem: Problem, units: Units, send: np.ndarray,
                  rank: np.ndarray) -> np.ndarray:
    """Point of each household (-1 if unserved) from served counts per (unit, point).

    For sites any choice is optimal. For classes (used only when stage 3 could
    not run) each point takes the nearest of the class's remaining households.
    """
    point_of = np.full(len(problem.hh_id), -1, np.int64)
    members = np.flatnonzero(units.hh_unit >= 0)
    members = members[np.lexsort((rank[members], units.hh_unit[members]))]
    unit_of_member = units.hh_unit[members]
    start = np.searchsorted(unit_of_member, np.arange(len(units)))
    used = send > 0
    if not units.by_site:
        return _assign_nearest(problem, units, send, members, start)
    served_points = np.repeat(units.up_point[used], send[used])
    served_units = np.repeat(units.up_unit[used], send[used])
    # k-th served household of a unit = k-th member of that unit in tie order.
    first = np.searchsorted(served_units, served_units, side="left")
    k = np.arange(len(served_units)) - first
    point_of[members[start[served_units] + k]] = served_points
    return point_of


def _assign_nearest(problem: Problem, units: Units, send: np.ndarray, members: np.ndarray,
                    start: np.ndarray) -> np.ndarray:
    point_of = np.full(len(problem.hh_id), -1, np.int64)
    km_of = {(int(h), int(p)): float(d) for h, p, d in
             zip(problem.hp_home, problem.hp_point, problem.hp_km)}
    stop = np.append(start[1:], len(members))
    for pair in np.flatnonzero(send > 0):
        unit, point = int(units.up_unit[pair]), int(units.up_point[pair])
        pool = [h for h in members[start[unit]:stop[unit]] if point_of[h] < 0]
        pool.sort(key=lambda h: km_of[(int(problem.hh_home[h]), point)])
        for h in pool[:int(send[pair])]:
            point_of[h] = point
    return point_of


def assign_lots(problem: Problem, give: np.ndarray, point_of: np.ndarray,
                rank: np.ndarray) -> np.ndarray:
    """Lot of each served household from devices given per (lot group, lot)."""
    lot_of = np.full(len(problem.hh_id), -1, np.int64)
    served = np.flatnonzero(point_of >= 0)
    served = served[np.lexsort((rank[served], problem.hh_group[served]))]
    lots = np.repeat(problem.gl_lot, give)
    groups = np.repeat(problem.gl_group, give)
    if not np.array_equal(groups, problem.hh_group[served]):
        raise RuntimeError("devices given do not match households served per lot group")
    lot_of[served] = lots
    return lot_of
