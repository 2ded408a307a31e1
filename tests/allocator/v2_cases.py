"""Unseen v2 rounds (contract section 5) and their optimum, computed without the engine.

`write_case` makes a seeded re-plan folder: households that already received
a device, citizen IDs shared in several spellings, a keep.csv whose kept lots
and points are partly unsuitable or over capacity, a tight budget and points
that fill up. `Reading` is a plain reading of a folder straight from the
contract, and `optimum` solves it household by household with SCIP, one
lexicographic stage after another (K1-K3, then 0-3), each stage's optimum
fixed as a constraint before the next. Distances are counted in whole
millionths of a km, as the contract's worked examples add them up, so every
stage is an exact integer problem.
"""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
from ortools.linear_solver import pywraplp

from tests.allocator.oracle import _digits as digits
from tests.allocator.oracle import haversine

STATUSES = ("poor", "near_poor", "other")
FLAGS = ("merit_family", "elderly_alone", "disability", "student", "single_parent",
         "ethnic_minority")
DEFAULT: dict[str, Any] = {
    "budget_vnd": 0, "max_distance_km": 5.0, "eligible_statuses": ["poor", "near_poor"],
    "require_2g_handset": True, "require_no_smartphone": True,
    "status_weight": {"poor": 100, "near_poor": 60, "other": 20},
    "flag_bonus": {"merit_family": 40, "elderly_alone": 25, "disability": 25, "student": 15,
                   "single_parent": 10, "ethnic_minority": 10},
    "copay_vnd": {"poor": 0, "near_poor": 0, "other": 0}, "min_commune_share": 0,
}
MICRO = 1_000_000  # stage 3 in millionths of a km


# --------------------------------------------------------------------------- generating

@dataclass(frozen=True)
class CaseShape:
    seed: int
    households: int
    lots: int
    points: int
    communes: int = 5
    min_commune_share: str = "0"  # as written in round.json
    copay: bool = False
    other_eligible: bool = False
    budget_share: float = 0.35  # of what the whole stock would cost the public


def _spell(digits: str, rng: random.Random) -> str:
    """The same citizen ID as a clerk might type it."""
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return rng.choice([digits, f"{a} {b}-{c}", f"{a}.{b}.{c}", f"({a}) {b}{c}",
                       f" {a}-{b}-{c} ", f"{a}{b} {c}"])


def write_case(folder: Path, shape: CaseShape) -> Path:
    """Write a seeded v2 re-plan folder; the same shape always gives the same bytes."""
    rng = random.Random(shape.seed)
    folder.mkdir(parents=True, exist_ok=True)
    # Communes about 2-4 km apart, so a 2.5 km reach crosses some borders but not all.
    communes: list[dict[str, Any]] = [
        {"commune_code": f"C{shape.seed:02d}{i:02d}", "name": f"Phường Thử {i}",
         "lat": round(10.76 + 0.022 * (i % 3) + rng.uniform(-0.004, 0.004), 6),
         "lon": round(106.66 + 0.025 * (i // 3) + rng.uniform(-0.004, 0.004), 6)}
        for i in range(shape.communes)]
    codes = [c["commune_code"] for c in communes]
    near = {c["commune_code"]: (c["lat"], c["lon"]) for c in communes}

    def spot(code: str, spread: float) -> tuple[Any, Any]:
        if rng.random() < 0.08:
            return "", ""  # at the commune centroid
        lat, lon = near[code]
        return (round(lat + rng.gauss(0, spread), 6), round(lon + rng.gauss(0, spread), 6))

    points = []
    for i in range(shape.points):
        code = codes[i % len(codes)]
        lat, lon = spot(code, 0.006)
        points.append({"point_id": f"P{i:03d}", "name": f"Điểm {i}", "commune_code": code,
                       "lat": lat, "lon": lon, "capacity": 0})
    lots: list[dict[str, Any]] = []
    for i in range(shape.lots):
        price = rng.choice([990_000, 1_290_000, 1_990_000, 2_490_000])
        kind = rng.random()
        subsidy = price if kind < 0.3 else rng.choice([0, 200_000, 500_000, 850_000])
        lots.append({
            "lot_id": f"L{i:03d}", "sponsor_id": f"S{i % 3}", "sponsor_name": f"Nhà tài trợ {i}",
            "model": rng.choice(["Galaxy A06", "Redmi 14C", "Vsmart Joy"]),
            "network": rng.choice(["4G", "5G"]), "quantity": 0, "unit_price_vnd": price,
            "sponsor_subsidy_vnd": subsidy,
            "features": ";".join(sorted(rng.sample(["large_screen", "senior_mode", "dual_sim"],
                                                   rng.choice([0, 1, 1, 2])))),
            "allowed_communes": ";".join(sorted(rng.sample(codes, 2))) if rng.random() < 0.3
            else "",
            "allowed_statuses": rng.choice(["", "", "", "poor", "poor;near_poor"]),
        })
    lots[-1]["quantity"] = 0  # a lot emptied since the first plan

    households = []
    shared: list[str] = []  # citizen IDs given to more than one household
    for i in range(shape.households):
        code = rng.choice(codes)
        lat, lon = spot(code, 0.009)
        status = rng.choices(STATUSES, weights=[5, 4, 2])[0]
        national_id = f"0{rng.randint(7_900_000_0000, 8_999_999_9999)}"
        if shared and rng.random() < 0.03:
            national_id = rng.choice(shared)
        elif rng.random() < 0.02:
            shared.append(national_id)
        roll = rng.random()
        # No digits at all is no citizen ID: such cells never match one another.
        national_id = rng.choice(["", "", "n/a", "--", "chưa có"]) if roll < 0.06 \
            else _spell(national_id, rng)
        households.append({
            "household_id": f"HH{shape.seed:02d}-{i:05d}", "commune_code": code,
            "poverty_status": status, "members": rng.randint(1, 7),
            "twog_handsets": rng.choices([0, 1, 2], weights=[1, 8, 2])[0],
            "smartphones": rng.choices([0, 1], weights=[12, 1])[0],
            "flags": ";".join(rng.sample(FLAGS, rng.choices([0, 1, 2], weights=[6, 3, 1])[0])),
            "needs": rng.choice(["", "", "", "", "large_screen", "senior_mode",
                                 "large_screen;senior_mode"]),
            "lat": lat, "lon": lon, "head_name": "Nguyễn Văn Thử", "phone": "0912345678",
            "national_id": national_id,
            "received_device": rng.choice([f"round {rng.randint(1, 4)}, 2026-05-12", "yes",
                                           "   "])  # blanks only: not received
            if rng.random() < 0.05 else "",
        })
    # Supply well short of demand: stock, capacity and budget all bind somewhere.
    supply = max(8, shape.households // 4)
    for lot in lots[:-1]:
        lot["quantity"] = rng.randint(supply // (2 * len(lots)), 2 * supply // len(lots))
    for p in points:
        p["capacity"] = rng.randint(supply // (2 * len(points)), 3 * supply // (2 * len(points)))
    points[1]["capacity"] = 0  # a point closed since the first plan
    public = sum(int(lot["quantity"]) * (int(lot["unit_price_vnd"]) -
                                         int(lot["sponsor_subsidy_vnd"])) for lot in lots)
    policy: dict[str, Any] = {"budget_vnd": int(public * shape.budget_share) // 10_000 * 10_000,
                              "max_distance_km": 2.5, "seed": shape.seed}
    if shape.copay:
        policy["copay_vnd"] = {"poor": 0, "near_poor": 150_000, "other": 400_000}
    if shape.other_eligible:
        policy["eligible_statuses"] = ["poor", "near_poor", "other"]
    text_share = shape.min_commune_share

    rng.shuffle(households)
    reading = Reading.of_rows(households, lots, points, communes,
                              {**policy, "min_commune_share": Fraction(text_share)})
    keep = _keep_rows(rng, reading, lots, points)

    _write_csv(folder / "communes.csv", communes)
    _write_csv(folder / "households.csv", households, shuffle=rng, bom=shape.seed % 2 == 1)
    _write_csv(folder / "lots.csv", lots, shuffle=rng)
    _write_csv(folder / "points.csv", points, shuffle=rng)
    _write_csv(folder / "keep.csv", keep)
    round_json = json.dumps(policy, indent=1)
    if text_share != "0":  # written as a planner types it, not as a float's repr
        round_json = round_json[:-2] + f',\n "min_commune_share": {text_share}\n}}'
    (folder / "round.json").write_text(round_json, encoding="utf-8")
    return folder


def _keep_rows(rng: random.Random, reading: Reading, lots: list[dict[str, Any]],
               points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a first plan told about a quarter of the households, before things changed."""
    rows = []
    crowded = points[0]["point_id"]  # more households kept here than it can now take
    for h in rng.sample(reading.households, len(reading.households) // 4):
        fits = [lot["id"] for lot in reading.lots if reading.compatible(h, lot)]
        reach = [p["id"] for p in reading.points if reading.reachable(h, p)]
        roll = rng.random()
        lot_id = rng.choice(fits) if fits and roll < 0.8 else rng.choice(lots)["lot_id"]
        if roll < 0.15 and h["commune"] == reading.points[0]["commune"]:
            point_id = crowded
        elif reach and roll < 0.85:
            point_id = rng.choice(reach)
        else:
            point_id = rng.choice(points)["point_id"]  # possibly now out of reach or closed
        rows.append({"household_id": h["id"], "lot_id": lot_id, "point_id": point_id})
    rng.shuffle(rows)  # in no particular order, as a planner's file may be
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]], shuffle: random.Random | None = None,
               bom: bool = False) -> None:
    columns = list(rows[0])
    if shuffle is not None:
        shuffle.shuffle(columns)  # column order is free
    with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


# --------------------------------------------------------------------------- reading

def items(cell: Any) -> frozenset[str]:
    return frozenset(x.strip() for x in str(cell or "").split(";") if x.strip())


@dataclass
class Reading:
    """A folder read as the contract words it (sections 2 and 5), as plain Python values."""

    households: list[dict[str, Any]]
    lots: list[dict[str, Any]]
    points: list[dict[str, Any]]
    policy: dict[str, Any]
    keep: list[dict[str, str]] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # first failed eligibility rule
    others: dict[str, list[str]] = field(default_factory=dict)  # same citizen ID, sorted

    @classmethod
    def of_folder(cls, folder: Path) -> Reading:
        def table(name: str) -> list[dict[str, str]]:
            frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False,
                                encoding="utf-8-sig")
            return [{str(k): v.strip() for k, v in row.items()}
                    for row in frame.to_dict("records")]

        text = (folder / "round.json").read_text(encoding="utf-8")
        policy = json.loads(text, parse_float=Decimal)
        policy["min_commune_share"] = Fraction(policy.get("min_commune_share", 0))
        policy["max_distance_km"] = float(policy.get("max_distance_km", 5.0))
        reading = cls.of_rows(table("households.csv"), table("lots.csv"), table("points.csv"),
                              table("communes.csv"), policy)
        if (folder / "keep.csv").exists():
            reading.keep = table("keep.csv")
        return reading

    @classmethod
    def of_rows(cls, households: list[dict[str, Any]], lots: list[dict[str, Any]],
                points: list[dict[str, Any]], communes: list[dict[str, Any]],
                policy: dict[str, Any]) -> Reading:
        rule = {k: ({**v, **policy.get(k, {})} if isinstance(v, dict) else policy.get(k, v))
                for k, v in DEFAULT.items()}
        centroid = {str(c["commune_code"]): (float(c["lat"]), float(c["lon"]))
                    for c in communes}

        def where(row: dict[str, Any]) -> tuple[float, float]:
            if str(row.get("lat", "")).strip():
                return float(row["lat"]), float(row["lon"])
            return centroid[str(row["commune_code"])]

        bonus = rule["flag_bonus"]
        hh = [{"id": str(h["household_id"]), "commune": str(h["commune_code"]),
               "status": str(h["poverty_status"]), "twog": int(h["twog_handsets"]),
               "smart": int(h["smartphones"]), "needs": items(h.get("needs")),
               "weight": int(rule["status_weight"][h["poverty_status"]]) +
               sum(int(bonus[f]) for f in items(h.get("flags"))),
               "digits": digits(h.get("national_id")),
               "received": str(h.get("received_device", "")).strip(), "at": where(h)}
              for h in households]
        ll = [{"id": str(lot["lot_id"]), "sponsor": str(lot["sponsor_id"]),
               "quantity": int(lot["quantity"]),
               "net": int(lot["unit_price_vnd"]) - int(lot["sponsor_subsidy_vnd"]),
               "features": items(lot.get("features")),
               "communes": items(lot.get("allowed_communes")),
               "statuses": items(lot.get("allowed_statuses"))} for lot in lots]
        pp = [{"id": str(p["point_id"]), "commune": str(p["commune_code"]),
               "capacity": int(p["capacity"]), "at": where(p)} for p in points]
        reading = cls(hh, ll, pp, rule)
        reading._eligibility()
        return reading

    def _eligibility(self) -> None:
        by_digits: dict[str, list[str]] = {}
        for h in self.households:
            if h["digits"]:
                by_digits.setdefault(h["digits"], []).append(h["id"])
        for h in self.households:
            same = sorted(i for i in by_digits.get(h["digits"], []) if i != h["id"])
            if same:
                self.others[h["id"]] = same
            if h["received"]:
                reason = "received_earlier"
            elif same:
                reason = "duplicate_identity"
            elif h["status"] not in self.policy["eligible_statuses"]:
                reason = "not_eligible_status"
            elif self.policy["require_2g_handset"] and h["twog"] < 1:
                reason = "no_2g_handset"
            elif self.policy["require_no_smartphone"] and h["smart"] != 0:
                reason = "has_smartphone"
            else:
                continue
            self.reasons[h["id"]] = reason

    def compatible(self, h: dict[str, Any], lot: dict[str, Any]) -> bool:
        return (not lot["statuses"] or h["status"] in lot["statuses"]) and \
            (not lot["communes"] or h["commune"] in lot["communes"]) and \
            h["needs"] <= lot["features"]

    def distance(self, h: dict[str, Any], p: dict[str, Any]) -> float:
        return haversine(*h["at"], *p["at"])

    def reachable(self, h: dict[str, Any], p: dict[str, Any]) -> bool:
        return h["commune"] == p["commune"] or \
            self.distance(h, p) <= self.policy["max_distance_km"]

    def cost(self, h: dict[str, Any], lot: dict[str, Any]) -> int:
        return max(0, lot["net"] - int(self.policy["copay_vnd"][h["status"]]))

    def copay(self, h: dict[str, Any], lot: dict[str, Any]) -> int:
        return min(int(self.policy["copay_vnd"][h["status"]]), lot["net"])

    def targets(self) -> dict[str, int]:
        """floor(min_commune_share x eligible_c) per commune with eligible households."""
        eligible: dict[str, int] = {}
        for h in self.households:
            if h["id"] not in self.reasons:
                eligible[h["commune"]] = eligible.get(h["commune"], 0) + 1
        share = self.policy["min_commune_share"]
        return {c: math.floor(share * n) for c, n in eligible.items()}


# --------------------------------------------------------------------------- the optimum

STAGES = ("keep_served", "keep_point", "keep_lot", "stage0", "stage1", "stage2", "stage3")
Terms = list[tuple[Any, int]]  # a linear expression: (variable, integer coefficient) pairs


# SCIP's locks, clique and vbounds heuristics spend seconds before the root LP on these
# models (thousands of set-packing rows) and find nothing the LP does not.
QUIET_HEURISTICS = "\n".join(f"heuristics/{h}/freq = -1" for h in ("locks", "clique", "vbounds"))


def optimum(reading: Reading, seconds_per_stage: float = 60.0) -> dict[str, int]:
    """Each stage's optimal value (stage 3 in millionths of a km), stage after stage.

    SCIP through pywraplp, one binary per household and suitable lot and one per
    household and point in reach. Every objective has integer coefficients, and
    each optimum is fixed with half a unit to spare, which integrality closes.
    """
    solver = pywraplp.Solver.CreateSolver("SCIP")
    assert solver is not None
    kept = {k["household_id"]: k for k in reading.keep}
    lot_uses: dict[str, Terms] = {lot["id"]: [] for lot in reading.lots}
    point_uses: dict[str, Terms] = {p["id"]: [] for p in reading.points}
    stages: dict[str, Terms] = {name: [] for name in STAGES}
    in_commune: dict[str, Terms] = {}
    budget_row: Terms = []
    for h in reading.households:
        if h["id"] in reading.reasons:
            continue
        lots = [lot for lot in reading.lots if lot["quantity"] > 0 and
                reading.compatible(h, lot)]
        points = [p for p in reading.points if p["capacity"] > 0 and reading.reachable(h, p)]
        if not lots or not points:
            continue
        # A served household takes one lot and one point; nothing ties the two choices,
        # so choosing them apart is exact and keeps the model small.
        y = {lot["id"]: solver.BoolVar("") for lot in lots}
        z = {p["id"]: solver.BoolVar("") for p in points}
        _row(solver, [(v, 1) for v in y.values()] + [(v, -1) for v in z.values()], 0, 0)
        _row(solver, [(v, 1) for v in y.values()], 0, 1)
        served = [(v, 1) for v in y.values()]
        for lot in lots:
            lot_uses[lot["id"]].append((y[lot["id"]], 1))
            budget_row.append((y[lot["id"]], reading.cost(h, lot)))
        for p in points:
            point_uses[p["id"]].append((z[p["id"]], 1))
            stages["stage3"].append((z[p["id"]], round(round(reading.distance(h, p), 6) * MICRO)))
        stages["stage1"] += [(v, h["weight"]) for v, _ in served]
        in_commune.setdefault(h["commune"], []).extend(served)
        if h["id"] in kept:
            k = kept[h["id"]]
            stages["keep_served"] += served
            if k["point_id"] in z:
                stages["keep_point"].append((z[k["point_id"]], 1))
            if k["lot_id"] in y:
                stages["keep_lot"].append((y[k["lot_id"]], 1))
    for lot in reading.lots:
        _row(solver, lot_uses[lot["id"]], 0, lot["quantity"])
    for p in reading.points:
        _row(solver, point_uses[p["id"]], 0, p["capacity"])
    # Costs in units of their common divisor, so the budget row stays well scaled.
    unit = math.gcd(*(c for _, c in budget_row)) or 1
    stages["stage2"] = [(v, c // unit) for v, c in budget_row]
    _row(solver, stages["stage2"], 0, int(reading.policy["budget_vnd"]) // unit)
    for commune, target in reading.targets().items():
        if target == 0:
            continue
        t = solver.IntVar(0, target, "")  # min(served_c, target_c), from below
        _row(solver, [(t, 1)] + [(v, -c) for v, c in in_commune.get(commune, [])], -math.inf, 0)
        stages["stage0"].append((t, 1))
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, 0.0)
    solver.SetTimeLimit(int(seconds_per_stage * 1000))
    solver.SetSolverSpecificParametersAsString(QUIET_HEURISTICS)
    values: dict[str, int] = {}
    for name in STAGES:
        maximise = name not in ("stage2", "stage3")
        objective = solver.Objective()
        objective.Clear()
        for v, c in stages[name]:
            objective.SetCoefficient(v, objective.GetCoefficient(v) + c)
        objective.SetOptimizationDirection(maximise)
        status = solver.Solve(params)
        assert status == pywraplp.Solver.OPTIMAL, f"{name}: status {status}"
        # The value from the solution itself, in integers, not the solver's float.
        value = sum(c * round(v.solution_value()) for v, c in stages[name])
        values[name] = value
        everything = solver.variables()  # this optimum is feasible for the next stage
        hint = [float(round(v.solution_value())) for v in everything]
        if maximise:
            _row(solver, stages[name], value - 0.5, math.inf)
        else:
            _row(solver, stages[name], -math.inf, value + 0.5)
        solver.SetHint(everything, hint)
    values["stage2"] *= unit
    return values


def _row(solver: pywraplp.Solver, terms: Terms, low: float, high: float) -> None:
    if not terms:
        return
    row = solver.Constraint(-solver.infinity() if low == -math.inf else low,
                            solver.infinity() if high == math.inf else high)
    for v, c in terms:
        row.SetCoefficient(v, row.GetCoefficient(v) + c)
