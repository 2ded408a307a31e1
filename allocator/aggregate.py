"""Interchangeable households, merged into units the optimiser counts instead of naming.

Two households that share lot group (commune, status, needs), priority weight
and reachable points are interchangeable for stages 0 to 2: any allocation can
swap them without changing stock, capacity, budget, fairness or weight. They
form a *class*. For stage 3 distance matters too, so households must also share
their home coordinates: a *site*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.compat import groups_with_lots
from allocator.ordering import runs
from allocator.problem import Problem, factorize_rows


@dataclass
class Units:
    """Units of interchangeable households, and the places they set out from.

    A *place* is where households start for the point side: for classes it is a
    set of reachable points, for sites it is a home. Every household of a unit
    has the unit's place, so it can be sent to any point the place reaches.
    """

    group: np.ndarray    # lot group of each unit
    weight: np.ndarray   # priority weight of each unit's households
    commune: np.ndarray
    count: np.ndarray    # households in the unit
    place: np.ndarray    # place of each unit
    pp_place: np.ndarray  # (place, point) pairs in reach, sorted
    pp_point: np.ndarray
    pp_km: np.ndarray    # home-to-point distance for sites; 0 for classes
    hh_unit: np.ndarray  # unit of each household, -1 if it cannot be served at all
    place_keep_point: np.ndarray  # kept point of each place's households, -1 if not kept
    by_site: bool        # sites (exact for distance) rather than classes

    def __len__(self) -> int:
        return len(self.group)

    @property
    def n_places(self) -> int:
        return int(self.place.max()) + 1 if len(self.place) else 0


def servable(problem: Problem) -> np.ndarray:
    """Eligible households with at least one compatible lot and one point in reach."""
    has_lot = groups_with_lots(problem.routes)
    has_point = np.zeros(len(problem.home_commune), dtype=bool)
    has_point[problem.hp_home] = True
    ok = problem.hh_group >= 0
    ok[ok] = has_lot[problem.hh_group[ok]] & has_point[problem.hh_home[ok]]
    return ok


def reach_set_ids(problem: Problem) -> np.ndarray:
    """An id per home such that homes share an id exactly when they reach the same points."""
    n_home = len(problem.home_commune)
    rng = np.random.default_rng(20250701)
    salt = rng.integers(1, 2**63, size=(2, len(problem.point_id)), dtype=np.uint64)
    keys = np.zeros((3, n_home), dtype=np.uint64)
    # hp_home is sorted, so each home's pairs are one run: sum the runs (modulo 2**64).
    homes, start = _runs(problem.hp_home)
    with np.errstate(over="ignore"):
        for j in range(2):
            keys[j, homes] = np.add.reduceat(salt[j][problem.hp_point], start)
    keys[2] = np.bincount(problem.hp_home, minlength=n_home).astype(np.uint64)
    # Numbered in sorted (key 0, key 1, key 2) order, as np.unique(axis=0) numbers rows.
    order = np.lexsort(keys[::-1])
    ordered = keys[:, order]
    new = np.ones(n_home, bool)
    new[1:] = (ordered[:, 1:] != ordered[:, :-1]).any(axis=0)
    del ordered
    ids = np.empty(n_home, np.int64)
    ids[order] = np.cumsum(new) - 1
    _verify_same_sets(problem, ids)
    return ids


def _runs(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct value of a sorted array and where its run starts."""
    if not len(sorted_values):
        return sorted_values[:0], np.zeros(0, np.int64)
    start = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    return sorted_values[start], start


def _verify_same_sets(problem: Problem, ids: np.ndarray) -> None:
    """Guard against a hash collision: every home must list its class leader's points."""
    leader = np.full(ids.max() + 1 if len(ids) else 0, -1, np.int64)
    leader[ids[::-1]] = np.arange(len(ids))[::-1]
    start = np.searchsorted(problem.hp_home, np.arange(len(ids)))
    # Each pair row is the same row of its home's leader, shifted by where the two
    # homes' runs start. In slices of pairs, to hold a few int64 arrays of a slice only.
    shift = start[leader[ids]] - start
    step = 1 << 20
    for lo in range(0, len(problem.hp_home), step):
        home = problem.hp_home[lo:lo + step]
        lead_rows = np.arange(lo, lo + len(home)) + shift[home]
        if not np.array_equal(problem.hp_point[lead_rows], problem.hp_point[lo:lo + step]):
            raise RuntimeError("reach-set hash collision; please report this scenario")


def build_units(problem: Problem, by_site: bool, unserved: np.ndarray | None = None,
                at_kept_point: np.ndarray | None = None) -> Units:
    """Classes (for stages 0-2) or sites (for stage 3) of servable households.

    For sites, households marked `unserved` are left out and homes marked
    `at_kept_point` reach only their kept point (see settled.py).
    """
    ok = servable(problem)
    if unserved is not None:
        ok &= ~unserved
    hh = np.flatnonzero(ok)
    home_place = np.arange(len(problem.home_commune)) if by_site else reach_set_ids(problem)
    if not by_site and len(problem.keep_hh):
        # Kept households' homes carry their kept point; a class place must too, so the
        # model sees who is served at their kept point.
        _, home_place = np.unique(np.stack([home_place, problem.home_keep_point], axis=1),
                                  axis=0, return_inverse=True)
        home_place = home_place.ravel().astype(np.int64)
    # Number the places actually used 0..n-1, in order of first home.
    used = np.zeros(len(problem.home_commune), bool)
    used[problem.hh_home[hh]] = True
    used_homes = np.flatnonzero(used)  # np.unique's answer, without hashing 2M numbers
    del used
    place_of_home = np.full(len(problem.home_commune), -1, np.int64)
    if by_site:  # (each home its own place: already numbered in order, no search)
        first = np.arange(len(used_homes))
        place_of_home[used_homes] = first
    else:
        used_places, first = np.unique(home_place[used_homes], return_index=True)
        place_of_home[used_homes] = np.searchsorted(used_places, home_place[used_homes])
    group, weight = problem.hh_group[hh], problem.hh_weight[hh]
    place = place_of_home[problem.hh_home[hh]]
    # Units numbered in sorted (group, weight, place) order.
    unit_of, first_row = factorize_rows([group, weight, place])
    del group, weight, place
    unit_hh = hh[first_row]
    hh_unit = np.full(len(problem.hh_id), -1, np.int64)
    hh_unit[hh] = unit_of

    # One home stands for each place (all homes of a place reach the same points). Its
    # pairs are one run of the pair list, already in point order.
    representative = used_homes[first]
    home_start, home_count = runs(problem.hp_home, len(problem.home_commune))
    lo, count = home_start[representative], home_count[representative]
    del home_start, home_count
    pp_place = np.repeat(np.arange(len(representative), dtype=np.int64), count)
    rows = np.repeat(lo - (np.cumsum(count) - count), count) + np.arange(len(pp_place))
    if at_kept_point is not None and at_kept_point[representative].any():
        home = representative[pp_place]
        kept = ~at_kept_point[home] | (problem.hp_point[rows] == problem.home_keep_point[home])
        pp_place, rows = pp_place[kept], rows[kept]
    group = problem.hh_group[unit_hh]
    return Units(group=group, weight=problem.hh_weight[unit_hh],
                 commune=problem.group_commune[group],
                 count=np.bincount(unit_of, minlength=len(unit_hh)).astype(np.int64),
                 place=place_of_home[problem.hh_home[unit_hh]],
                 pp_place=pp_place, pp_point=problem.hp_point[rows].astype(np.int64),
                 # The contract counts each household's km to 6 decimals (check.py): the
                 # model's distance is that sum, so stage 3's bound is a bound on it.
                 pp_km=np.round(problem.hp_km[rows], 6) if by_site else np.zeros(len(rows)),
                 hh_unit=hh_unit, place_keep_point=problem.home_keep_point[representative],
                 by_site=by_site)
