"""The typed allocation problem: eligibility, priority weights, compatible lots and reach.

Built once from a validated `Scenario`; every later step (model, greedy,
explanation, checking) reads these arrays and nothing else.

Households are grouped twice:
- a *lot group* (commune, status, needs) decides which lots suit a household
  and what each costs the public purse (see `compat.py`);
- a *home* (commune, coordinates) decides which points it can reach and how far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from allocator.compat import Routes, build_routes
from allocator.contract import FLAGS, STATUSES, RoundPolicy
from allocator.geo import reach_arrays
from allocator.validate import Scenario

MAX_OTHERS = 5  # other households named in a duplicate_identity detail


@dataclass
class Problem:
    policy: RoundPolicy
    # households, in file order
    # Arrow text (large_string): no Python string per household (national: 136 MB as
    # Python strings, 32 MB so), and sorted and written as it is.
    hh_id: pa.Array
    hh_status: np.ndarray       # index into STATUSES
    hh_commune: np.ndarray      # index into communes
    hh_weight: np.ndarray       # int64 priority weight w(h)
    hh_reason: np.ndarray       # '' if eligible, else the first failed eligibility rule
    hh_reason_detail: np.ndarray  # words for received_earlier or duplicate_identity, else ''
    hh_group: np.ndarray        # lot group of an eligible household, -1 otherwise
    hh_home: np.ndarray         # home of an eligible household, -1 otherwise
    # lot groups (commune, status, needs) of eligible households
    group_commune: np.ndarray
    group_status: np.ndarray
    group_needs: np.ndarray     # str, canonical
    # which lots with stock suit which lot groups, at what public cost and co-pay
    routes: Routes
    # homes and the points they reach (with capacity), with distances
    home_commune: np.ndarray
    home_lat: np.ndarray
    home_lon: np.ndarray
    hp_home: np.ndarray         # int32, sorted by home then point (millions of pairs)
    hp_point: np.ndarray        # int32
    hp_km: np.ndarray
    # lots and points
    lot_id: np.ndarray
    lot_sponsor: np.ndarray
    lot_quantity: np.ndarray    # int64
    point_id: np.ndarray
    point_capacity: np.ndarray  # int64
    commune_code: np.ndarray
    commune_eligible: np.ndarray  # eligible households per commune (for the fairness floor)
    # keep.csv of a re-plan (empty without one): household, kept lot and kept point
    keep_hh: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    keep_lot: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    keep_point: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # kept lot of each lot group and kept point of each home (-1: no kept households)
    group_keep_lot: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    home_keep_point: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def budget(self) -> int:
        return int(self.policy.budget_vnd)

    def floor_target(self) -> np.ndarray:
        """floor(min_commune_share x eligible_c) per commune, in exact arithmetic."""
        # The share as written (0.3 is 3/10), not its binary float (0.2999...).
        share = Fraction(repr(self.policy.min_commune_share))
        return np.array([int(share * int(n)) for n in self.commune_eligible], dtype=np.int64)


def build_problem(scenario: Scenario) -> Problem:
    """Apply the contract's rules (section 2) to a validated scenario."""
    policy = scenario.policy
    hh, communes = scenario.households, scenario.communes
    # Lots and points in id order: the allocation must not depend on how rows were sorted.
    lots = scenario.lots.sort_values("lot_id", kind="stable")
    points = scenario.points.sort_values("point_id", kind="stable")
    commune_index = pd.Index(communes["commune_code"])
    hh_status = _index_of(pd.Index(STATUSES), hh["poverty_status"])
    hh_commune = _index_of(commune_index, hh["commune_code"])
    hh_weight = _weights(hh, hh_status, policy)
    hh_reason = _eligibility(hh, policy)
    hh_reason_detail = _campaign_rules(hh, hh_reason)
    eligible = hh_reason == ""

    lat, lon = _coordinates(hh, hh_commune, communes)
    point_commune = _index_of(commune_index, points["commune_code"])
    p_lat, p_lon = _coordinates(points, point_commune, communes)
    point_capacity = points["capacity"].to_numpy(np.int64)

    keep_hh, keep_lot, keep_point = _keep_rows(scenario, hh, lots, points)
    # Kept households with the same kept lot share lot groups (and hubs) apart from everyone
    # else, and those with the same kept point share homes apart from everyone else, so the
    # model sees who gets their kept lot and point while still counting, not naming, them.
    # Without keep.csv nothing changes.
    lot_tag = np.zeros(len(hh), np.int64)
    lot_tag[keep_hh] = 1 + keep_lot
    point_tag = np.zeros(len(hh), np.int64)
    point_tag[keep_hh] = 1 + keep_point
    tagged = ["keep"] if len(keep_hh) else []

    # Lot groups of eligible households.
    needs = hh["needs"][eligible]
    group_codes, first = factorize_rows([hh_commune[eligible], hh_status[eligible], needs] +
                                    [lot_tag[eligible]] * bool(tagged))
    group_table = pd.DataFrame({"commune": hh_commune[eligible][first],
                                "status": hh_status[eligible][first],
                                "needs": needs.iloc[first].to_numpy(object)})
    if tagged:
        group_table["keep"] = lot_tag[eligible][first]
    del needs
    hh_group = np.full(len(hh), -1, np.int64)
    hh_group[eligible] = group_codes

    routes = build_routes(group_table, lots, communes["commune_code"].to_numpy(object), policy)

    # Homes of eligible households.
    e_commune, e_lat, e_lon = hh_commune[eligible], lat[eligible], lon[eligible]
    del lat, lon
    home_codes, first = factorize_rows([e_commune, e_lat, e_lon] +
                                   [point_tag[eligible]] * bool(tagged))
    home_commune, home_lat, home_lon = e_commune[first], e_lat[first], e_lon[first]
    home_keep = point_tag[eligible][first] - 1 if tagged else np.full(len(first), -1, np.int64)
    del e_commune, e_lat, e_lon
    hh_home = np.full(len(hh), -1, np.int64)
    hh_home[eligible] = home_codes
    open_points = np.flatnonzero(point_capacity > 0)
    hp_home, hp_point, hp_km = reach_arrays(home_lat, home_lon, home_commune,
                                            p_lat[open_points], p_lon[open_points],
                                            point_commune[open_points], policy.max_distance_km)

    commune_eligible = np.bincount(hh_commune[eligible], minlength=len(communes))
    return Problem(
        policy=policy,
        hh_id=_arrow_text(hh["household_id"]), hh_status=hh_status, hh_commune=hh_commune,
        hh_weight=hh_weight, hh_reason=hh_reason,
        hh_reason_detail=hh_reason_detail, hh_group=hh_group, hh_home=hh_home,
        group_commune=group_table["commune"].to_numpy(np.int64),
        group_status=group_table["status"].to_numpy(np.int64),
        group_needs=group_table["needs"].to_numpy(object),
        routes=routes,
        home_commune=home_commune, home_lat=home_lat, home_lon=home_lon,
        hp_home=hp_home, hp_point=open_points.astype(np.int32)[hp_point], hp_km=hp_km,
        lot_id=lots["lot_id"].to_numpy(object), lot_sponsor=lots["sponsor_id"].to_numpy(object),
        lot_quantity=lots["quantity"].to_numpy(np.int64),
        point_id=points["point_id"].to_numpy(object), point_capacity=point_capacity,
        commune_code=communes["commune_code"].to_numpy(object),
        commune_eligible=commune_eligible.astype(np.int64),
        keep_hh=keep_hh, keep_lot=keep_lot, keep_point=keep_point,
        group_keep_lot=_untag(group_table), home_keep_point=home_keep,
    )


def _untag(table: pd.DataFrame) -> np.ndarray:
    """The kept lot or point of each row of a tagged key table; -1 where none (or untagged)."""
    if "keep" not in table.columns:
        return np.full(len(table), -1, np.int64)
    return table["keep"].to_numpy(np.int64) - 1


def _keep_rows(scenario: Scenario, hh: pd.DataFrame, lots: pd.DataFrame,
               points: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Household, lot and point indices of each keep.csv row (validated: all ids exist)."""
    keep = scenario.keep
    if keep is None or not len(keep):
        empty = np.zeros(0, np.int64)
        return empty, empty.copy(), empty.copy()
    find = [pd.Index(table[col].to_numpy(object)).get_indexer(
        pd.Index(keep[col].to_numpy(object))).astype(np.int64)
        for table, col in ((hh, "household_id"), (lots, "lot_id"), (points, "point_id"))]
    if any((f < 0).any() for f in find):
        raise ValueError("keep.csv names an id the folder does not hold")
    return find[0], find[1], find[2]


def factorize_rows(columns: list[np.ndarray | pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..n-1 for distinct rows of the columns, numbered in sorted row order.

    Also the first row of each code. Each column is numbered in sorted value order,
    then the numbers are combined in mixed radix, which keeps that order.
    """
    n = len(columns[0])
    key, size = np.zeros(n, np.int64), 1
    for column in columns:
        codes, m = _sorted_codes(column)
        if size * m >= 2**62:
            key = np.unique(key, return_inverse=True)[1].ravel().astype(np.int64)
            size = int(key.max()) + 1
        key = key * m + codes
        size *= m
    if size <= 4 * n + 1024:  # few possible keys: rank them by counting, without a sort
        present = np.zeros(size, bool)
        present[key] = True
        codes = (np.cumsum(present) - 1)[key]
    else:
        codes = np.unique(key, return_inverse=True)[1].ravel().astype(np.int64)
    first = np.empty(int(codes.max()) + 1 if n else 0, np.int64)
    first[codes[::-1]] = np.arange(n - 1, -1, -1)  # the last write (first row) stays
    return codes, first


def _sorted_codes(column: np.ndarray | pd.Series) -> tuple[np.ndarray, int]:
    """Numbers of a column's values in sorted value order, and how many numbers there can be."""
    if isinstance(column, np.ndarray) and column.dtype.kind in "iu" and len(column) and \
            column.min() >= 0 and column.max() < 2**31:
        return column.astype(np.int64, copy=False), int(column.max()) + 1  # already such numbers
    codes, values = pd.factorize(column, sort=True, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), max(len(values), 1)


def _index_of(index: pd.Index, column: pd.Series) -> np.ndarray:
    """index.get_indexer(column), looking up each distinct value once (object or Arrow text)."""
    codes, values = pd.factorize(column, use_na_sentinel=False)
    return index.get_indexer(values).astype(np.int64)[codes]


def _weights(hh: pd.DataFrame, status: np.ndarray, policy: RoundPolicy) -> np.ndarray:
    """w(h) = status weight + the bonus of each distinct flag."""
    base = np.array([policy.status_weight[s] for s in STATUSES], np.int64)[status]
    codes, texts = pd.factorize(hh["flags"])
    bonus = np.array([sum(policy.flag_bonus.get(f, 0) for f in str(t).split(";") if f in FLAGS)
                      for t in texts], np.int64)
    return base + (bonus[codes] if len(texts) else 0)


def _eligibility(hh: pd.DataFrame, policy: RoundPolicy) -> np.ndarray:
    """The first eligibility rule a household fails, in the contract's order, or ''."""
    reason = np.full(len(hh), "", dtype=object)
    if policy.require_no_smartphone:
        reason[(hh["smartphones"] > 0).to_numpy()] = "has_smartphone"
    if policy.require_2g_handset:
        reason[(hh["twog_handsets"] < 1).to_numpy()] = "no_2g_handset"
    reason[~hh["poverty_status"].isin(policy.eligible_statuses).to_numpy()] = \
        "not_eligible_status"
    return reason


def _campaign_rules(hh: pd.DataFrame, reason: np.ndarray) -> np.ndarray:
    """Apply the campaign's two rules (contract section 5) over `reason`; their details.

    Both come before the v1 rules, so they overwrite them: first a device received
    in an earlier round, then a citizen ID shared with another row (a household
    that already received a device still counts as that other row).
    """
    detail = np.full(len(hh), "", dtype=object)
    key = _identity_key(national_id_digits(hh["national_id"]))
    shared = _duplicated(key) & (key != 0)
    if shared.any():
        at = np.flatnonzero(shared)
        ids = hh["household_id"].iloc[at].to_numpy(object)
        groups: dict[int, list[int]] = {}
        for k, d in enumerate(key[at].tolist()):
            groups.setdefault(d, []).append(k)
        for members in groups.values():
            names = sorted(str(ids[k]) for k in members)
            for k in members:
                others = [n for n in names[:MAX_OTHERS + 1] if n != str(ids[k])]
                more = len(names) - 1 - min(len(others), MAX_OTHERS)
                text = "national_id also given for " + ", ".join(others[:MAX_OTHERS])
                detail[at[k]] = text + (f" and {more} more" if more > 0 else "")
        reason[shared] = "duplicate_identity"
    given = (hh["received_device"] != "").to_numpy(bool)
    if given.any():
        received = hh["received_device"][given].to_numpy(object)
        reason[given] = "received_earlier"
        detail[given] = "received a device earlier in the campaign (" + received + ")"
    return detail


def national_id_digits(values: pd.Series) -> pa.ChunkedArray:
    """The digits of each citizen ID ('079 123-456' is '079123456'); '' if it has none."""
    ids = pa.array(values, pa.large_string())
    ids = ids if isinstance(ids, pa.ChunkedArray) else pa.chunked_array([ids])
    if pc.all(pc.or_(pc.ascii_is_decimal(ids), pc.equal(ids, ""))).as_py() is not False:
        return ids  # already digits only, as registries usually hold them
    return pc.replace_substring_regex(ids, "[^0-9]", "")


def _identity_key(digits: pa.ChunkedArray) -> np.ndarray:
    """A number per digit string, equal exactly when the strings are; 0 for ''."""
    length = pc.binary_length(digits).to_numpy().astype(np.int64)
    if not len(length) or length.max() <= 18:
        # 10**length + value: the leading 1 keeps '079' apart from '79'.
        value = pc.cast(pc.if_else(pc.equal(digits, ""), "0", digits), pa.int64())
        return np.where(length > 0, 10 ** length + value.to_numpy(), 0)
    codes = pc.dictionary_encode(digits.combine_chunks()).indices.to_numpy().astype(np.int64)
    return np.where(length > 0, codes + 1, 0)


def _duplicated(key: np.ndarray) -> np.ndarray:
    """Whether each key occurs more than once (pandas' duplicated(keep=False))."""
    ordered = np.sort(key)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if not len(repeated):
        return np.zeros(len(key), bool)
    at = np.minimum(np.searchsorted(repeated, key), len(repeated) - 1)
    return repeated[at] == key


def _coordinates(table: pd.DataFrame, idx: np.ndarray,
                 communes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Own coordinates, or the commune's point (commune idx) where none are given."""
    lat = table["lat"].to_numpy(float).copy()
    lon = table["lon"].to_numpy(float).copy()
    missing = np.isnan(lat)
    lat[missing] = communes["lat"].to_numpy(float)[idx[missing]]
    lon[missing] = communes["lon"].to_numpy(float)[idx[missing]]
    return lat, lon


def _arrow_text(column: pd.Series) -> pa.Array:
    """A text column as one Arrow large_string array."""
    values = pa.array(column, pa.large_string())
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def id_index(problem: Problem) -> pd.Index:
    """The households' ids as an index (of Python strings), to find households by id."""
    return pd.Index(problem.hh_id.to_numpy(zero_copy_only=False))
