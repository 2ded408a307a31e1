"""A seeded generator of realistic allocation rounds over real commune-level units.

Households are spread over units in proportion to population, live around
the unit's point, and carry the flags and needs of the city's registers;
sponsors of the kinds the city names offer lots of real entry-level models at
real prices; every unit's People's Committee office is a distribution point,
with post offices and operator shops in the busier units. Names, phone
numbers and ID numbers are invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from allocator.geo import EARTH_RADIUS_KM
from scenarios import catalogue as cat
from scenarios.folder import ScenarioTables

KM_PER_DEGREE = np.pi * EARTH_RADIUS_KM / 180.0
FLAG_RATES = {"merit_family": 0.04, "elderly_alone": 0.12, "disability": 0.08,
              "student": 0.18, "single_parent": 0.06, "ethnic_minority": 0.03}


@dataclass
class Recipe:
    """Everything that shapes a generated round."""

    households: int
    status_shares: dict[str, float]      # poverty_status shares
    twog_rate: float = 0.93               # households with a 2G-only handset in use
    smartphone_rate: float = 0.04         # households that already own a smart device
    needs_rate: float = 0.10
    sponsors: int = 30
    lots: int = 60
    devices_per_eligible: float = 0.85    # devices offered per eligible household
    donated_share: float = 0.33           # lots given outright
    restricted_share: float = 0.2         # lots kept to a few neighbouring units
    poor_only_share: float = 0.1          # lots kept to poor households
    post_offices: int = 50
    operator_shops: int = 30
    capacity_per_eligible: float = 1.15   # handovers per eligible household, per unit
    budget_share: float = 0.35            # of what the part-subsidised devices would cost
    max_distance_km: float = 2.0
    personal_data: bool = True
    round_extra: dict[str, object] = field(default_factory=dict)


def generate(communes: pd.DataFrame, recipe: Recipe, seed: int,
             write_communes: bool) -> ScenarioTables:
    """A round in the contract's format; `communes` has code, name, point, area, population."""
    rng = np.random.default_rng(seed)
    communes = communes.reset_index(drop=True)
    households = _households(communes, recipe, rng)
    eligible = _eligible_per_commune(households, communes, recipe)
    lots = _lots(communes, recipe, int(eligible.sum()), rng)
    points = _points(communes, recipe, eligible, rng)
    policy: dict[str, object] = {
        "budget_vnd": _budget(lots, recipe.budget_share),
        "max_distance_km": recipe.max_distance_km,
        "seed": seed,
        **recipe.round_extra,
    }
    table = communes[["commune_code", "name", "lat", "lon"]] if write_communes else None
    return ScenarioTables(households, lots, points, policy, table)


def _population(communes: pd.DataFrame) -> np.ndarray:
    """Population per unit; where unknown, the median density of its province x area."""
    population = communes["population"].astype(float).to_numpy().copy()
    missing = np.isnan(population)
    if missing.any():
        density = communes["population"].astype(float) / communes["area_km2"]
        by_province = density.groupby(communes["province_code"]).transform("median")
        population[missing] = (by_province * communes["area_km2"]).to_numpy()[missing]
        population = np.nan_to_num(population, nan=float(np.nanmedian(population)))
    return population


def _households(communes: pd.DataFrame, recipe: Recipe, rng: np.random.Generator
                ) -> pd.DataFrame:
    n = recipe.households
    weights = _population(communes)
    home = rng.choice(len(communes), size=n, p=weights / weights.sum())
    home.sort()
    radius_km = np.sqrt(communes["area_km2"].to_numpy() / np.pi)[home]
    distance = np.minimum(np.abs(rng.normal(0, 0.45, n)), 1.1) * radius_km
    angle = rng.uniform(0, 2 * np.pi, n)
    lat0 = communes["lat"].to_numpy()[home]
    lat = lat0 + distance * np.sin(angle) / KM_PER_DEGREE
    lon = communes["lon"].to_numpy()[home] + distance * np.cos(angle) / (
        KM_PER_DEGREE * np.cos(np.radians(lat0)))
    statuses = list(recipe.status_shares)
    shares = np.array([recipe.status_shares[s] for s in statuses])
    status = _pick(statuses, rng.choice(len(statuses), n, p=shares / shares.sum()))

    flag_columns = {f: rng.random(n) < rate for f, rate in FLAG_RATES.items()}
    elderly = flag_columns["elderly_alone"]
    flags = _join_flags(flag_columns)
    need_draw = rng.random(n) < np.where(elderly, 3 * recipe.needs_rate, recipe.needs_rate * 0.7)
    need_kind = rng.choice(len(cat.NEEDS), n, p=[0.5, 0.3, 0.2])
    needs = _pick(("", *cat.NEEDS), np.where(need_draw, need_kind + 1, 0))
    members = np.where(elderly, 1, rng.integers(1, 8, n))
    code = pa.array(communes["commune_code"].astype(str).to_numpy()).take(home)
    frame = pd.DataFrame({
        "household_id": _series(pc.binary_join_element_wise(
            "HH", code, "-", _digits(np.arange(n), 7), "")),
        "commune_code": _series(code),
        "poverty_status": status,
        "members": members,
        "twog_handsets": (rng.random(n) < recipe.twog_rate).astype(int),
        "smartphones": (rng.random(n) < recipe.smartphone_rate).astype(int),
        "flags": flags,
        "needs": needs,
        # Addresses are geocoded to about 10 m: neighbours in one building share a point.
        "lat": np.round(lat, 4),
        "lon": np.round(lon, 4),
    })
    if recipe.personal_data:
        frame["head_name"] = _series(_names(rng, n))
        frame["phone"] = _series(pc.binary_join_element_wise(
            "09", _digits(rng.integers(0, 10**8, n), 8), ""))
        frame["national_id"] = _series(pc.binary_join_element_wise(
            "079", _digits(rng.integers(0, 10**9, n), 9), ""))
    return frame


# Millions of households: their text columns are built by Arrow's kernels, not a
# Python loop per row, with the same values as the f-strings they stand for.
def _series(text: pa.Array) -> pd.Series:
    return pd.Series(text.to_pandas(), copy=False)


def _digits(numbers: np.ndarray, width: int) -> pa.Array:
    """f"{x:0{width}d}" for each non-negative x."""
    return pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")


def _pick(choices: tuple[str, ...] | list[str], index: np.ndarray) -> pd.Series:
    return _series(pa.array(list(choices), pa.string()).take(pa.array(index)))


def _join_flags(columns: dict[str, np.ndarray]) -> pd.Series:
    """Each household's flags joined by ";" in the order of `columns`."""
    names = list(columns)
    bits = np.zeros(len(next(iter(columns.values()))), dtype=np.int64)
    for i, mask in enumerate(columns.values()):
        bits |= mask.astype(np.int64) << i
    joined = [";".join(name for i, name in enumerate(names) if combo >> i & 1)
              for combo in range(1 << len(names))]
    return _pick(joined, bits)


def _names(rng: np.random.Generator, n: int) -> pa.Array:
    family = pa.array(cat.FAMILY_NAMES).take(rng.integers(0, len(cat.FAMILY_NAMES), n))
    middle = pa.array(cat.MIDDLE_NAMES).take(rng.integers(0, len(cat.MIDDLE_NAMES), n))
    given = pa.array(cat.GIVEN_NAMES).take(rng.integers(0, len(cat.GIVEN_NAMES), n))
    return pc.binary_join_element_wise(family, middle, given, " ")


def _eligible_per_commune(households: pd.DataFrame, communes: pd.DataFrame,
                          recipe: Recipe) -> np.ndarray:
    statuses = list(recipe.round_extra.get("eligible_statuses", ["poor", "near_poor"]))  # type: ignore[call-overload]
    ok = households["poverty_status"].isin(statuses) & (households["smartphones"] == 0)
    if recipe.round_extra.get("require_2g_handset", True):
        ok &= households["twog_handsets"] > 0
    counts = households[ok].groupby("commune_code").size()
    return counts.reindex(communes["commune_code"], fill_value=0).to_numpy()


def _sponsors(recipe: Recipe, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """(sponsor_id, name, kind) for operators, unions, social organisations, firms, people."""
    out = [(f"OP{i + 1:02d}", name, "operator") for i, name in enumerate(cat.OPERATORS)]
    out += [(f"UN{i + 1:02d}", name, "union") for i, name in enumerate(cat.UNIONS)]
    out += [(f"SO{i + 1:02d}", name, "social") for i, name in enumerate(cat.SOCIAL)]
    i = 0
    while len(out) < recipe.sponsors:
        i += 1
        if rng.random() < 0.75:
            name = (f"{rng.choice(cat.ENTERPRISE_FORMS)} {rng.choice(cat.ENTERPRISE_TRADES)} "
                    f"{rng.choice(cat.ENTERPRISE_STEMS)}")
            out.append((f"DN{i:03d}", name, "enterprise"))
        else:
            name = f"Ông/Bà {_names(rng, 1)[0].as_py()}"
            out.append((f"CN{i:03d}", name, "individual"))
    return out[:recipe.sponsors]


def _lots(communes: pd.DataFrame, recipe: Recipe, eligible: int,
          rng: np.random.Generator) -> pd.DataFrame:
    sponsors = _sponsors(recipe, rng)
    n = recipe.lots
    owner = np.concatenate([np.arange(len(sponsors)), rng.integers(0, len(sponsors),
                                                                  max(0, n - len(sponsors)))])[:n]
    kind = np.array([sponsors[o][2] for o in owner])
    size = np.where(kind == "operator", 6.0, np.where(kind == "individual", 0.2, 1.0)) * \
        rng.uniform(0.5, 1.5, n)
    quantity = np.maximum(1, np.floor(size / size.sum() * recipe.devices_per_eligible *
                                      eligible)).astype(np.int64)
    device = rng.integers(0, len(cat.DEVICES), n)
    price = np.array([cat.DEVICES[d][2] for d in device], dtype=np.int64)
    donated = (rng.random(n) < recipe.donated_share) | (kind == "individual")
    share = rng.choice([0.3, 0.4, 0.5, 0.6, 0.7], n)
    subsidy = np.where(donated, price, (price * share // 100_000 * 100_000).astype(np.int64))
    restricted = (rng.random(n) < recipe.restricted_share) & (kind != "operator")
    codes = communes["commune_code"].to_numpy()
    lat, lon = communes["lat"].to_numpy(), communes["lon"].to_numpy()
    allowed = []
    for r in restricted:
        if not r:
            allowed.append("")
            continue
        centre = rng.integers(0, len(codes))
        near = np.argsort((lat - lat[centre]) ** 2 + (lon - lon[centre]) ** 2)
        allowed.append(";".join(codes[near[:rng.integers(3, 13)]]))
    poor_only = (rng.random(n) < recipe.poor_only_share) & (kind == "social")
    return pd.DataFrame({
        "lot_id": [f"LOT-{i + 1:03d}" for i in range(n)],
        "sponsor_id": [sponsors[o][0] for o in owner],
        "sponsor_name": [sponsors[o][1] for o in owner],
        "model": [cat.DEVICES[d][0] for d in device],
        "network": [cat.DEVICES[d][1] for d in device],
        "quantity": quantity,
        "unit_price_vnd": price,
        "sponsor_subsidy_vnd": subsidy,
        "features": [cat.DEVICES[d][3] for d in device],
        "allowed_communes": allowed,
        "allowed_statuses": np.where(poor_only, "poor", ""),
    })


def _points(communes: pd.DataFrame, recipe: Recipe, eligible: np.ndarray,
            rng: np.random.Generator) -> pd.DataFrame:
    """A People's Committee office in every unit, post offices and shops in the busiest."""
    n = len(communes)
    busiest = np.argsort(-eligible, kind="stable")
    post = busiest[:min(recipe.post_offices, n)]
    shop = busiest[:min(recipe.operator_shops, n)]
    at = np.concatenate([np.arange(n), post, shop])
    kind = np.array(["UB"] * n + ["BD"] * len(post) + ["CH"] * len(shop))
    label = {"UB": "UBND", "BD": "Bưu điện", "CH": "Cửa hàng nhà mạng"}
    radius = np.sqrt(communes["area_km2"].to_numpy() / np.pi)[at]
    offset = np.where(kind == "UB", 0.05, 0.3) * radius * rng.uniform(0, 1, len(at))
    angle = rng.uniform(0, 2 * np.pi, len(at))
    lat0 = communes["lat"].to_numpy()[at]
    lat = lat0 + offset * np.sin(angle) / KM_PER_DEGREE
    lon = communes["lon"].to_numpy()[at] + offset * np.cos(angle) / (
        KM_PER_DEGREE * np.cos(np.radians(lat0)))
    per_unit = np.bincount(at, minlength=n)
    main_share = np.where(per_unit[at] > 1, 0.6, 1.0)
    other_share = np.where(per_unit[at] > 1, 0.4 / np.maximum(per_unit[at] - 1, 1), 0.0)
    share = np.where(kind == "UB", main_share, other_share)
    capacity = np.maximum(5, np.ceil(share * recipe.capacity_per_eligible * eligible[at] *
                                     rng.uniform(0.8, 1.2, len(at)))).astype(np.int64)
    codes = communes["commune_code"].to_numpy()
    names = communes["name"].to_numpy()
    return pd.DataFrame({
        "point_id": [f"{k}-{codes[a]}" + ("" if k == "UB" else f"-{i}")
                     for i, (k, a) in enumerate(zip(kind, at))],
        "name": [f"{label[k]} {names[a]}" for k, a in zip(kind, at)],
        "commune_code": codes[at],
        "lat": np.round(lat, 5),
        "lon": np.round(lon, 5),
        "capacity": capacity,
    })


def _budget(lots: pd.DataFrame, share: float) -> int:
    """A share of what handing out every part-subsidised device would cost, in whole millions."""
    net = (lots["unit_price_vnd"] - lots["sponsor_subsidy_vnd"]) * lots["quantity"]
    return int(share * net.sum()) // 1_000_000 * 1_000_000
