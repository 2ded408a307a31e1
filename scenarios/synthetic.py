"""Random scenarios of any size over real Ho Chi Minh City units, for tests and benchmarks.

Unlike the named scenarios these make no claim to realism: they exist to
stress the engine with binding budgets, restrictions and capacities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator.contract import FLAGS
from allocator.reference import hcmc_communes
from scenarios.folder import ScenarioTables

PRICES = (1_090_000, 1_590_000, 1_990_000, 2_490_000, 3_190_000)
FEATURES = ("large_screen", "senior_mode", "long_battery")


def synthetic(n_households: int, n_communes: int, n_lots: int, n_points: int, seed: int = 0,
              budget_share: float = 0.3, max_distance_km: float = 2.0,
              min_commune_share: float = 0.0, with_coordinates: bool = True) -> ScenarioTables:
    """A random round; `budget_share` of what serving everyone would cost from the public purse."""
    rng = np.random.default_rng(seed)
    communes = hcmc_communes().sort_values("population", ascending=False).head(n_communes)
    c_code = communes["commune_code"].to_numpy()
    c_lat, c_lon = communes["lat"].to_numpy(), communes["lon"].to_numpy()

    home = rng.integers(0, n_communes, n_households)
    flags = np.where(rng.random(n_households) < 0.3,
                     rng.choice(np.array(FLAGS, dtype=object), n_households), "")
    needs = np.where(rng.random(n_households) < 0.1,
                     rng.choice(np.array(FEATURES, dtype=object), n_households), "")
    lat = c_lat[home] + rng.normal(0, 0.01, n_households)
    lon = c_lon[home] + rng.normal(0, 0.01, n_households)
    households = pd.DataFrame({
        "household_id": [f"H{seed}-{i:07d}" for i in range(n_households)],
        "commune_code": c_code[home],
        "poverty_status": rng.choice(["poor", "near_poor", "near_poor", "near_poor", "other"],
                                     n_households),
        "members": rng.integers(1, 7, n_households),
        "twog_handsets": (rng.random(n_households) < 0.95).astype(int),
        "smartphones": (rng.random(n_households) < 0.05).astype(int),
        "flags": flags,
        "needs": needs,
        "lat": np.round(lat, 6) if with_coordinates else "",
        "lon": np.round(lon, 6) if with_coordinates else "",
    })

    price = rng.choice(PRICES, n_lots)
    donated = rng.random(n_lots) < 0.35
    subsidy = np.where(donated, price, (price * rng.uniform(0.2, 0.8, n_lots)) // 10_000 * 10_000)
    restricted = rng.random(n_lots) < 0.2
    lots = pd.DataFrame({
        "lot_id": [f"L{i:03d}" for i in range(n_lots)],
        "sponsor_id": [f"S{i % max(1, n_lots // 2)}" for i in range(n_lots)],
        "sponsor_name": [f"Nhà tài trợ {i % max(1, n_lots // 2)}" for i in range(n_lots)],
        "model": rng.choice(["Samsung Galaxy A06", "Viettel Sumo 4G", "Xiaomi Redmi A3",
                             "Nokia C32"], n_lots),
        "network": rng.choice(["4G", "5G"], n_lots),
        "quantity": rng.integers(1, max(2, 2 * n_households // max(1, n_lots)), n_lots),
        "unit_price_vnd": price,
        "sponsor_subsidy_vnd": subsidy.astype(np.int64),
        "features": [";".join(rng.choice(FEATURES, rng.integers(0, 3), replace=False))
                     for _ in range(n_lots)],
        "allowed_communes": [";".join(rng.choice(c_code, 3, replace=False)) if r else ""
                             for r in restricted],
        "allowed_statuses": np.where(rng.random(n_lots) < 0.15, "poor", ""),
    })

    at = np.concatenate([np.arange(n_communes), rng.integers(0, n_communes,
                                                             max(0, n_points - n_communes))])
    at = at[:n_points]
    points = pd.DataFrame({
        "point_id": [f"P{i:03d}" for i in range(n_points)],
        "name": [f"Điểm {i}" for i in range(n_points)],
        "commune_code": c_code[at],
        "lat": np.round(c_lat[at] + rng.normal(0, 0.005, n_points), 6),
        "lon": np.round(c_lon[at] + rng.normal(0, 0.005, n_points), 6),
        "capacity": rng.integers(1, max(2, 2 * n_households // max(1, n_points)), n_points),
    })
    full_cost = int(np.median(price - subsidy)) * n_households
    policy = {"budget_vnd": int(full_cost * budget_share), "max_distance_km": max_distance_km,
              "min_commune_share": min_commune_share, "seed": seed}
    return ScenarioTables(households, lots, points, policy)
