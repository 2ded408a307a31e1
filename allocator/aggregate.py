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
import pandas as pd

from allocator.compat import groups_with_lots
from allocator.problem import Problem


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
    keys = np.zeros((n_home, 3), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(2):
            np.add.at(keys[:, j], problem.hp_home, salt[j][problem.hp_point])
    keys[:, 2] = np.bincount(problem.hp_home, minlength=n_home).astype(np.uint64)
    _, ids = np.unique(keys, axis=0, return_inverse=True)
    ids = ids.ravel().astype(np.int64)
    _verify_same_sets(problem, ids)
    return ids


def _verify_same_sets(problem: Problem, ids: np.ndarray) -> None:
    """Guard against a hash collision: every home must list its class leader's points."""
    leader = np.full(ids.max() + 1 if len(ids) else 0, -1, np.int64)
    leader[ids[::-1]] = np.arange(len(ids))[::-1]
    start = np.searchsorted(problem.hp_home, np.arange(len(ids)))
    position = np.arange(len(problem.hp_home)) - start[problem.hp_home]
    lead_rows = start[leader[ids[problem.hp_home]]] + position
    if not np.array_equal(problem.hp_point[lead_rows], problem.hp_point):
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
    used_homes = np.unique(problem.hh_home[hh])
    used_places, first = np.unique(home_place[used_homes], return_index=True)
    place_of_home = np.full(len(problem.home_commune), -1, np.int64)
    place_of_home[used_homes] = np.searchsorted(used_places, home_place[used_homes])
    keys = pd.DataFrame({"group": problem.hh_group[hh], "weight": problem.hh_weight[hh],
                         "place": place_of_home[problem.hh_home[hh]]})
    table = keys.drop_duplicates().sort_values(["group", "weight", "place"], ignore_index=True)
    table["unit"] = np.arange(len(table), dtype=np.int64)
    unit_of = keys.merge(table, on=["group", "weight", "place"], how="left")["unit"].to_numpy()
    hh_unit = np.full(len(problem.hh_id), -1, np.int64)
    hh_unit[hh] = unit_of

    # One home stands for each place (all homes of a place reach the same points).
    representative = used_homes[first]
    pairs = pd.DataFrame({"home": problem.hp_home, "point": problem.hp_point,
                          "km": problem.hp_km})
    if at_kept_point is not None:
        pinned = at_kept_point[problem.hp_home]
        pairs = pairs[~pinned | (problem.hp_point == problem.home_keep_point[problem.hp_home])]
    places = pd.DataFrame({"place": np.arange(len(representative)), "home": representative})
    pp = places.merge(pairs, on="home").sort_values(["place", "point"], ignore_index=True)
    group = table["group"].to_numpy(np.int64)
    return Units(group=group, weight=table["weight"].to_numpy(np.int64),
                 commune=problem.group_commune[group],
                 count=np.bincount(unit_of, minlength=len(table)).astype(np.int64),
                 place=table["place"].to_numpy(np.int64),
                 pp_place=pp["place"].to_numpy(np.int64), pp_point=pp["point"].to_numpy(np.int64),
                 pp_km=pp["km"].to_numpy(float) if by_site else np.zeros(len(pp)),
                 hh_unit=hh_unit, place_keep_point=problem.home_keep_point[representative],
                 by_site=by_site)
