"""What would have served one household that a round left out.

Three figures, read from the round's own inputs and allocation (nothing is solved
again), as the round stood once every served household had its phone:

- the nearest distribution point with room left (one within the round's reach if
  any has room, else the nearest anywhere, marked as out of reach);
- the cheapest suitable lot with devices left (else the cheapest suitable one,
  with none left), and what one of its phones costs the public budget;
- the priority-weight cut-off in the household's commune: the lowest weight
  served there in the round, next to the household's own.

`RoundState` holds what every household of one round shares (stock, room and
budget left, cut-offs); build it once per round and ask it for many households.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from allocator.compat import group_options
from allocator.contract import STATUSES
from allocator.geo import haversine_km
from allocator.problem import Problem, id_index
from allocator.validate import Scenario


@dataclass(frozen=True)
class LotChoice:
    lot_id: str
    sponsor_id: str
    sponsor_name: str
    model: str
    public_cost_vnd: int  # what one of its phones costs the budget for this household
    devices_left: int


@dataclass(frozen=True)
class PointChoice:
    point_id: str
    name: str
    commune_code: str
    commune_name: str
    km: float  # from the household's home (3 decimals, as allocations.csv)
    room_left: int
    in_reach: bool  # same commune, or within the round's max_distance_km


@dataclass(frozen=True)
class Options:
    """One household in one round: who it is there, and what would have served it."""

    household_id: str
    rule: str  # the first eligibility rule it failed ('' if eligible)
    status: str
    commune_code: str
    commune_name: str
    weight: int
    twog_handsets: int
    smartphones: int
    needs: str  # ';'-separated, canonical ('' if none)
    cutoff_weight: int | None  # lowest priority weight served in its commune (None: nobody)
    served_in_commune: int
    lot: LotChoice | None  # None: not eligible, or no lot suits it
    suitable_lots: tuple[str, ...]  # every lot that suits it and had devices at the start
    point: PointChoice | None  # None: not eligible, or no point has room anywhere
    reach_points: tuple[str, ...]  # names (else ids) of the open points within its reach
    budget_vnd: int
    budget_left_vnd: int
    max_distance_km: float
    eligible_statuses: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["suitable_lots"] = list(self.suitable_lots)
        data["reach_points"] = list(self.reach_points)
        data["eligible_statuses"] = list(self.eligible_statuses)
        return data


@dataclass
class RoundState:
    """A round's inputs and allocation, reduced to what `options` reads."""

    problem: Problem
    index: pd.Index  # household id -> row of the problem
    stock_left: np.ndarray  # per lot (problem order)
    room_left: np.ndarray  # per point (problem order)
    budget_left: int
    lot_model: np.ndarray
    lot_sponsor_name: np.ndarray
    point_name: np.ndarray
    point_commune: np.ndarray  # index into problem.commune_code
    point_lat: np.ndarray
    point_lon: np.ndarray
    commune_name: np.ndarray  # per commune (problem order)
    cutoff: np.ndarray  # per commune: lowest weight served, -1 if nobody
    served_in: np.ndarray  # per commune: households served
    served: np.ndarray  # per household: bool
    twog: np.ndarray
    smart: np.ndarray


def round_state(scenario: Scenario, problem: Problem, lot_of: np.ndarray,
                point_of: np.ndarray, spent_vnd: int) -> RoundState:
    """The state of a round after its allocation (`lot_of`, `point_of` as a solve gives
    them: -1 for a household not served); `spent_vnd` is the public cost of it."""
    served = lot_of >= 0
    stock_left = problem.lot_quantity - np.bincount(lot_of[served],
                                                    minlength=len(problem.lot_id))
    room_left = problem.point_capacity - np.bincount(point_of[served],
                                                     minlength=len(problem.point_id))
    lots = scenario.lots.sort_values("lot_id", kind="stable")
    points = scenario.points.sort_values("point_id", kind="stable")
    communes = scenario.communes
    codes = pd.Index(communes["commune_code"])
    point_commune = codes.get_indexer(pd.Index(points["commune_code"])).astype(np.int64)
    lat = points["lat"].to_numpy(float).copy()
    lon = points["lon"].to_numpy(float).copy()
    missing = np.isnan(lat)  # a point without coordinates stands at its commune's centre
    lat[missing] = communes["lat"].to_numpy(float)[point_commune[missing]]
    lon[missing] = communes["lon"].to_numpy(float)[point_commune[missing]]
    n_communes = len(problem.commune_code)
    weights = pd.Series(problem.hh_weight[served]).groupby(problem.hh_commune[served]).min()
    cutoff = np.full(n_communes, -1, np.int64)
    cutoff[weights.index.to_numpy(np.int64)] = weights.to_numpy(np.int64)
    return RoundState(
        problem=problem, index=id_index(problem), stock_left=stock_left,
        room_left=room_left, budget_left=problem.budget - int(spent_vnd),
        lot_model=lots["model"].to_numpy(object),
        lot_sponsor_name=lots["sponsor_name"].fillna("").to_numpy(object),
        point_name=points["name"].fillna("").to_numpy(object), point_commune=point_commune,
        point_lat=lat, point_lon=lon,
        commune_name=communes["name"].fillna("").to_numpy(object)
        if "name" in communes.columns else np.full(n_communes, "", object),
        cutoff=cutoff,
        served_in=np.bincount(problem.hh_commune[served], minlength=n_communes),
        served=served,
        twog=scenario.households["twog_handsets"].to_numpy(np.int64),
        smart=scenario.households["smartphones"].to_numpy(np.int64))


def options(state: RoundState, household_id: str) -> Options | None:
    """The household's figures in this round; None if the round did not hold it."""
    at = _row(state, household_id)
    if at < 0:
        return None
    p = state.problem
    commune = int(p.hh_commune[at])
    cut = int(state.cutoff[commune])
    group, home = int(p.hh_group[at]), int(p.hh_home[at])
    lot, suitable = (_cheapest_lot(state, group) if group >= 0 else (None, ()))
    point, reach = (_nearest_point(state, home) if home >= 0 else (None, ()))
    return Options(
        household_id=p.hh_id[int(at)].as_py(), rule=str(p.hh_reason[at]),
        status=STATUSES[int(p.hh_status[at])], commune_code=str(p.commune_code[commune]),
        commune_name=str(state.commune_name[commune]), weight=int(p.hh_weight[at]),
        twog_handsets=int(state.twog[at]), smartphones=int(state.smart[at]),
        needs=str(p.group_needs[group]) if group >= 0 else "",
        cutoff_weight=cut if cut >= 0 else None,
        served_in_commune=int(state.served_in[commune]), lot=lot, suitable_lots=suitable,
        point=point, reach_points=reach, budget_vnd=p.budget,
        budget_left_vnd=state.budget_left, max_distance_km=float(p.policy.max_distance_km),
        eligible_statuses=tuple(p.policy.eligible_statuses))


def is_served(state: RoundState, household_id: str) -> bool:
    at = _row(state, household_id)
    return bool(at >= 0 and state.served[at])


def _row(state: RoundState, household_id: str) -> int:
    return int(state.index.get_indexer(pd.Index([household_id]))[0])


def _cheapest_lot(state: RoundState, group: int) -> tuple[LotChoice | None, tuple[str, ...]]:
    p = state.problem
    lots, costs = group_options(p.routes, group)
    if not len(lots):
        return None, ()
    ids = p.lot_id[lots].astype(str)
    left = state.stock_left[lots]
    # Cheapest with devices left; if none has any, the cheapest of them all. Ties by id.
    order = np.lexsort((ids, costs, left <= 0))
    best = int(order[0])
    lot = int(lots[best])
    choice = LotChoice(lot_id=str(ids[best]), sponsor_id=str(p.lot_sponsor[lot]),
                       sponsor_name=str(state.lot_sponsor_name[lot]),
                       model=str(state.lot_model[lot]), public_cost_vnd=int(costs[best]),
                       devices_left=max(0, int(left[best])))
    return choice, tuple(sorted(ids))


def _nearest_point(state: RoundState, home: int) -> tuple[PointChoice | None, tuple[str, ...]]:
    p = state.problem
    rows = slice(int(np.searchsorted(p.hp_home, home, side="left")),
                 int(np.searchsorted(p.hp_home, home, side="right")))
    reach = p.hp_point[rows]
    reach_names = tuple(sorted(str(state.point_name[i]) or str(p.point_id[i]) for i in reach))
    with_room = reach[state.room_left[reach] > 0]
    in_reach = len(with_room) > 0
    if not in_reach:
        with_room = np.flatnonzero(state.room_left > 0)
    if not len(with_room):
        return None, reach_names
    km = haversine_km(np.full(len(with_room), p.home_lat[home]),
                      np.full(len(with_room), p.home_lon[home]),
                      state.point_lat[with_room], state.point_lon[with_room])
    best = int(np.lexsort((p.point_id[with_room].astype(str), km))[0])
    point = int(with_room[best])
    commune = int(state.point_commune[point])
    return PointChoice(point_id=str(p.point_id[point]), name=str(state.point_name[point]),
                       commune_code=str(p.commune_code[commune]),
                       commune_name=str(state.commune_name[commune]),
                       km=round(float(km[best]), 3), room_left=int(state.room_left[point]),
                       in_reach=in_reach), reach_names
