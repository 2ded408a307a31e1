"""Great-circle distances and which distribution points a home can reach."""

from __future__ import annotations

import numpy as np
import pandas as pd

EARTH_RADIUS_KM = 6371.0
_KM_PER_DEGREE = np.pi * EARTH_RADIUS_KM / 180.0


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray,
                 lon2: np.ndarray) -> np.ndarray:
    """Haversine distance in km on a sphere of radius 6371.0 km (the contract's formula)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def reach_pairs(home_lat: np.ndarray, home_lon: np.ndarray, home_commune: np.ndarray,
                point_lat: np.ndarray, point_lon: np.ndarray, point_commune: np.ndarray,
                max_km: float) -> pd.DataFrame:
    """Every (home, point) pair in the same commune or at most `max_km` apart.

    Homes and points are bucketed on a grid of cells at least `max_km` wide, so
    only points in the 3 x 3 cells around a home are measured.
    Returns columns home, point, km; sorted by home then point.
    """
    n_home, n_point = len(home_lat), len(point_lat)
    if n_home == 0 or n_point == 0:
        return pd.DataFrame({"home": np.zeros(0, np.int64), "point": np.zeros(0, np.int64),
                             "km": np.zeros(0)})
    max_abs_lat = float(min(89.0, max(np.abs(home_lat).max(), np.abs(point_lat).max()) +
                            max_km / _KM_PER_DEGREE))
    # Cells at least 10 m wide keep the cell numbers small enough for exact integer keys.
    cell_lat = max(max_km, 0.01) / _KM_PER_DEGREE * 1.0001
    cell_lon = cell_lat / max(np.cos(np.radians(max_abs_lat)), 1e-6)
    h_row = np.floor(home_lat / cell_lat).astype(np.int64)
    h_col = np.floor(home_lon / cell_lon).astype(np.int64)
    p_key = _cell_key(np.floor(point_lat / cell_lat).astype(np.int64),
                      np.floor(point_lon / cell_lon).astype(np.int64))
    home_parts, point_parts = [], []
    for d_row in (-1, 0, 1):
        for d_col in (-1, 0, 1):
            home, point = _matches(_cell_key(h_row + d_row, h_col + d_col), p_key)
            home_parts.append(home)
            point_parts.append(point)
    # The 3 x 3 cells are disjoint, so no pair is found twice.
    home, point = np.concatenate(home_parts), np.concatenate(point_parts)
    # A cheap box test first: only pairs inside one cell of each other can be in reach.
    box = (np.abs(home_lat[home] - point_lat[point]) <= cell_lat) & \
        (np.abs(home_lon[home] - point_lon[point]) <= cell_lon)
    home, point = home[box], point[box]
    km = haversine_km(home_lat[home], home_lon[home], point_lat[point], point_lon[point])
    keep = km <= max_km
    # Same commune is always in reach, however far: add those beyond max_km.
    s_home, s_point = _matches(np.asarray(home_commune, np.int64),
                               np.asarray(point_commune, np.int64))
    s_km = haversine_km(home_lat[s_home], home_lon[s_home], point_lat[s_point],
                        point_lon[s_point])
    far = s_km > max_km
    home = np.concatenate([home[keep], s_home[far]])
    point = np.concatenate([point[keep], s_point[far]])
    km = np.concatenate([km[keep], s_km[far]])
    order = np.lexsort((point, home))
    return pd.DataFrame({"home": home[order], "point": point[order], "km": km[order]})


def _cell_key(row: np.ndarray, col: np.ndarray) -> np.ndarray:
    return (row + 2**20) * 2**22 + (col + 2**21)


def _matches(home_key: np.ndarray, point_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (home, point) with equal keys, without building a join table."""
    order = np.argsort(point_key, kind="stable")
    sorted_keys = point_key[order]
    lo = np.searchsorted(sorted_keys, home_key, side="left")
    count = np.searchsorted(sorted_keys, home_key, side="right") - lo
    home = np.repeat(np.arange(len(home_key)), count)
    first = np.repeat(lo - (np.cumsum(count) - count), count)
    return home, order[first + np.arange(len(home))]
