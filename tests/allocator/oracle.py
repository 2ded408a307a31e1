"""An independent reading of the contract, for checking the engine in tests.

Written straight from engine-contract.md on plain Python values, sharing no
code with the engine: eligibility, weights, compatibility, reach and cost are
all recomputed here, and tiny rounds are solved by full enumeration.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

DEFAULT = {
    "budget_vnd": 0, "max_distance_km": 5.0, "eligible_statuses": ["poor", "near_poor"],
    "require_2g_handset": True, "require_no_smartphone": True,
    "status_weight": {"poor": 100, "near_poor": 60, "other": 20},
    "flag_bonus": {"merit_family": 40, "elderly_alone": 25, "disability": 25, "student": 15,
                   "single_parent": 10, "ethnic_minority": 10},
    "copay_vnd": {"poor": 0, "near_poor": 0, "other": 0}, "min_commune_share": 0.0,
}


def _items(cell: Any) -> set[str]:
    return {x.strip() for x in str(cell or "").split(";") if x.strip()}


def _digits(cell: Any) -> str:
    return "".join(ch for ch in str(cell or "") if ch in "0123456789")


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * \
        math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


@dataclass
class Round:
    """A round as lists of dicts (households, lots, points, communes) and a policy dict."""

    households: list[dict[str, Any]]
    lots: list[dict[str, Any]]
    points: list[dict[str, Any]]
    communes: list[dict[str, Any]]
    policy: dict[str, Any] = field(default_factory=dict)
    keep: list[dict[str, Any]] = field(default_factory=list)  # keep.csv rows of a re-plan

    def rule(self, key: str) -> Any:
        value = self.policy.get(key, DEFAULT[key])
        if isinstance(DEFAULT[key], dict):
            return {**DEFAULT[key], **value}
        return value

    def eligible(self, h: dict[str, Any]) -> bool:
        return self.reason(h) is None

    def reason(self, h: dict[str, Any]) -> str | None:
        """The first eligibility rule `h` fails (contract sections 2 and 5), or None."""
        if str(h.get("received_device") or "").strip():
            return "received_earlier"
        if self.sharing_identity(h):
            return "duplicate_identity"
        if h["poverty_status"] not in self.rule("eligible_statuses"):
            return "not_eligible_status"
        if self.rule("require_2g_handset") and int(h["twog_handsets"]) < 1:
            return "no_2g_handset"
        if self.rule("require_no_smartphone") and int(h["smartphones"]) != 0:
            return "has_smartphone"
        return None

    def sharing_identity(self, h: dict[str, Any]) -> list[str]:
        """Ids of the other households whose citizen ID has the same digits as h's."""
        mine = _digits(h.get("national_id"))
        if not mine:
            return []
        return sorted(str(o["household_id"]) for o in self.households
                      if o["household_id"] != h["household_id"]
                      and _digits(o.get("national_id")) == mine)

    def weight(self, h: dict[str, Any]) -> int:
        bonus = self.rule("flag_bonus")
        return self.rule("status_weight")[h["poverty_status"]] + \
            sum(bonus[f] for f in _items(h.get("flags")))

    def compatible(self, h: dict[str, Any], lot: dict[str, Any]) -> bool:
        statuses, communes = _items(lot.get("allowed_statuses")), _items(
            lot.get("allowed_communes"))
        if statuses and h["poverty_status"] not in statuses:
            return False
        if communes and str(h["commune_code"]) not in communes:
            return False
        return _items(h.get("needs")) <= _items(lot.get("features"))

    def cost(self, h: dict[str, Any], lot: dict[str, Any]) -> int:
        net = int(lot["unit_price_vnd"]) - int(lot["sponsor_subsidy_vnd"])
        return max(0, net - self.rule("copay_vnd")[h["poverty_status"]])

    def _where(self, row: dict[str, Any]) -> tuple[float, float]:
        if row.get("lat") not in (None, ""):
            return float(row["lat"]), float(row["lon"])
        c = next(c for c in self.communes if str(c["commune_code"]) == str(row["commune_code"]))
        return float(c["lat"]), float(c["lon"])

    def distance(self, h: dict[str, Any], p: dict[str, Any]) -> float:
        return haversine(*self._where(h), *self._where(p))

    def reachable(self, h: dict[str, Any], p: dict[str, Any]) -> bool:
        return str(h["commune_code"]) == str(p["commune_code"]) or \
            self.distance(h, p) <= self.rule("max_distance_km")

    def check(self, rows: list[dict[str, Any]]) -> tuple[int, int, int, float]:
        """Assert every rule of a feasible allocation; return its four stage values."""
        hh = {h["household_id"]: h for h in self.households}
        lots = {lot["lot_id"]: lot for lot in self.lots}
        points = {p["point_id"]: p for p in self.points}
        seen: set[str] = set()
        given: dict[str, int] = {}
        handed: dict[str, int] = {}
        cost = weight = 0
        km = 0.0
        served_in: dict[str, int] = {}
        for row in rows:
            h, lot, p = hh[row["household_id"]], lots[row["lot_id"]], points[row["point_id"]]
            assert row["household_id"] not in seen, "household served twice"
            seen.add(row["household_id"])
            assert self.eligible(h), f"{row['household_id']} not eligible"
            assert self.compatible(h, lot), f"{row['household_id']} lot does not suit"
            assert self.reachable(h, p), f"{row['household_id']} point out of reach"
            assert str(row["sponsor_id"]) == str(lot["sponsor_id"])
            assert int(row["priority_weight"]) == self.weight(h)
            assert int(row["public_cost_vnd"]) == self.cost(h, lot)
            net = int(lot["unit_price_vnd"]) - int(lot["sponsor_subsidy_vnd"])
            assert int(row["copay_vnd"]) == min(self.rule("copay_vnd")[h["poverty_status"]], net)
            assert abs(float(row["distance_km"]) - self.distance(h, p)) <= 0.0005 + 1e-9
            given[lot["lot_id"]] = given.get(lot["lot_id"], 0) + 1
            handed[p["point_id"]] = handed.get(p["point_id"], 0) + 1
            cost += self.cost(h, lot)
            weight += self.weight(h)
            km += round(self.distance(h, p), 6)  # as the worked examples count it
            served_in[str(h["commune_code"])] = served_in.get(str(h["commune_code"]), 0) + 1
        for lot_id, n in given.items():
            assert n <= int(lots[lot_id]["quantity"]), f"lot {lot_id} over its quantity"
        for point_id, n in handed.items():
            assert n <= int(points[point_id]["capacity"]), f"point {point_id} over capacity"
        assert cost <= int(self.rule("budget_vnd")), "over budget"
        return self.stage0(served_in), weight, cost, km

    def stage0(self, served_in: dict[str, int]) -> int:
        share = self.rule("min_commune_share")
        if share <= 0:
            return 0
        from fractions import Fraction
        eligible_in: dict[str, int] = {}
        for h in self.households:
            if self.eligible(h):
                c = str(h["commune_code"])
                eligible_in[c] = eligible_in.get(c, 0) + 1
        return sum(min(served_in.get(c, 0), int(Fraction(share) * n))
                   for c, n in eligible_in.items())

    def keep_values(self, rows: list[dict[str, Any]]) -> tuple[int, int, int]:
        """keep.csv households served (K1), at their kept point (K2), with their kept lot (K3)."""
        got = {r["household_id"]: r for r in rows}
        served = [(k, got[k["household_id"]]) for k in self.keep if k["household_id"] in got]
        return (len(served),
                sum(str(r["point_id"]) == str(k["point_id"]) for k, r in served),
                sum(str(r["lot_id"]) == str(k["lot_id"]) for k, r in served))

    def brute_force(self) -> tuple[int, int, int, float]:
        """The lexicographic optimum by trying every allocation (tiny rounds only)."""
        return self.brute_force_keep()[1]

    def brute_force_keep(self) -> tuple[tuple[int, int, int], tuple[int, int, int, float]]:
        """The optimum with stages K1-K3 (section 5) before stages 0-3: both value tuples."""
        options = []
        for h in self.households:
            choice: list[tuple[dict[str, Any], dict[str, Any]] | None] = [None]
            if self.eligible(h):
                choice += [(lot, p) for lot in self.lots if int(lot["quantity"]) > 0
                           and self.compatible(h, lot) for p in self.points
                           if int(p["capacity"]) > 0 and self.reachable(h, p)]
            options.append(choice)
        best: tuple[int, int, int, float] | None = None
        best_kept = (0, 0, 0)
        best_key: tuple[float, ...] | None = None
        for combo in itertools.product(*options):
            rows = [{"household_id": h["household_id"], "lot_id": c[0]["lot_id"],
                     "sponsor_id": c[0]["sponsor_id"], "point_id": c[1]["point_id"],
                     "priority_weight": self.weight(h), "public_cost_vnd": self.cost(h, c[0]),
                     "copay_vnd": min(self.rule("copay_vnd")[h["poverty_status"]],
                                      int(c[0]["unit_price_vnd"]) -
                                      int(c[0]["sponsor_subsidy_vnd"])),
                     "distance_km": self.distance(h, c[1])}
                    for h, c in zip(self.households, combo) if c is not None]
            try:
                values = self.check(rows)
            except AssertionError:
                continue
            kept = self.keep_values(rows)
            key = (-kept[0], -kept[1], -kept[2], -values[0], -values[1], values[2],
                   round(values[3], 9))
            if best_key is None or key < best_key:
                best, best_kept, best_key = values, kept, key
        assert best is not None
        return best_kept, best
