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

    Returns columns home, point, km; sorted by home then point (see `reach_arrays`).
    """
    home, point, km = reach_arrays(home_lat, home_lon, home_commune, point_lat, point_lon,
                                   point_commune, max_km)
    return pd.DataFrame({"home": home.astype(np.int64), "point": point.astype(np.int64),
                         "km": km})


def reach_arrays(home_lat: np.ndarray, home_lon: np.ndarray, home_commune: np.ndarray,
                 point_lat: np.ndarray, point_lon: np.ndarray, point_commune: np.ndarray,
                 max_km: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Home, point (int32) and km of every pair in the same commune or at most `max_km` apart.

    Homes and points are bucketed on a grid of cells at least `max_km` wide, so
    only points in the 3 x 3 cells around a home are measured. Homes go in blocks,
    so the candidate pairs of only one block are held at a time. Sorted by home
    then point.
    """
    n_home, n_point = len(home_lat), len(point_lat)
    if n_home == 0 or n_point == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
    max_abs_lat = float(min(89.0, max(np.abs(home_lat).max(), np.abs(point_lat).max()) +
                            max_km / _KM_PER_DEGREE))
    # Cells at least 10 m wide keep the cell numbers small enough for exact integer keys.
    cell_lat = max(max_km, 0.01) / _KM_PER_DEGREE * 1.0001
    cell_lon = cell_lat / max(np.cos(np.radians(max_abs_lat)), 1e-6)
    points = _Sorted(_cell_key(np.floor(point_lat / cell_lat).astype(np.int64),
                               np.floor(point_lon / cell_lon).astype(np.int64)))
    communes = _Sorted(np.asarray(point_commune, np.int64))
    homes, points_found, kms = [], [], []
    for lo in range(0, n_home, _HOME_BLOCK):
        block = slice(lo, min(lo + _HOME_BLOCK, n_home))
        lat, lon = home_lat[block], home_lon[block]
        h_row = np.floor(lat / cell_lat).astype(np.int64)
        h_col = np.floor(lon / cell_lon).astype(np.int64)
        # The 3 x 3 cells are disjoint, so no pair is found twice.
        found = [points.matches(_cell_key(h_row + d_row, h_col + d_col))
                 for d_row in (-1, 0, 1) for d_col in (-1, 0, 1)]
        home = np.concatenate([f[0] for f in found])
        point = np.concatenate([f[1] for f in found])
        del found
        # A cheap box test first: only pairs inside one cell of each other can be in reach.
        box = (np.abs(lat[home] - point_lat[point]) <= cell_lat) & \
            (np.abs(lon[home] - point_lon[point]) <= cell_lon)
        home, point = home[box], point[box]
        km = haversine_km(lat[home], lon[home], point_lat[point], point_lon[point])
        keep = km <= max_km
        home, point, km = home[keep], point[keep], km[keep]
        # Same commune is always in reach, however far: add those beyond max_km. Pairs
        # already kept are within max_km, so only the others need measuring.
        s_home, s_point = communes.matches(np.asarray(home_commune[block], np.int64))
        key = home * np.int64(n_point) + point
        order = np.argsort(key)
        key, km = key[order], km[order]
        s_key = s_home * np.int64(n_point) + s_point
        at = np.minimum(np.searchsorted(key, s_key), max(len(key) - 1, 0))
        new = key[at] != s_key if len(key) else np.ones(len(s_key), bool)
        s_home, s_point, s_key = s_home[new], s_point[new], s_key[new]
        s_km = haversine_km(lat[s_home], lon[s_home], point_lat[s_point], point_lon[s_point])
        far = s_km > max_km
        if far.any():
            key = np.concatenate([key, s_key[far]])
            km = np.concatenate([km, s_km[far]])
            # Keys are unique, so any sort gives the same order; timsort uses the sorted run.
            order = np.argsort(key, kind="stable")
            key, km = key[order], km[order]
        homes.append((key // n_point + lo).astype(np.int32))
        points_found.append((key % n_point).astype(np.int32))
        kms.append(km)
    return np.concatenate(homes), np.concatenate(points_found), np.concatenate(kms)


_HOME_BLOCK = 1 << 17  # homes per block: bounds the candidate pairs held at once


class _Sorted:
    """Keys sorted once, to find every position with a given key many times."""

    def __init__(self, keys: np.ndarray) -> None:
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]

    def matches(self, home_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (home, point) with equal keys, without building a join table."""
        lo = np.searchsorted(self.keys, home_key, side="left")
        count = np.searchsorted(self.keys, home_key, side="right") - lo
        home = np.repeat(np.arange(len(home_key)), count)
        first = np.repeat(lo - (np.cumsum(count) - count), count)
        return home, self.order[first + np.arange(len(home))]


def _cell_key(row: np.ndarray, col: np.ndarray) -> np.ndarray:
    return (row + 2**20) * 2**22 + (col + 2**21)
