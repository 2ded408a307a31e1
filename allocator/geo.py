"""Great-circle distances and which distribution points a home can reach."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

EARTH_RADIUS_KM = 6371.0
_KM_PER_DEGREE = np.pi * EARTH_RADIUS_KM / 180.0


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray,
                 lon2: np.ndarray) -> np.ndarray:
    """Haversine distance in km on a sphere of radius 6371.0 km (the contract's formula)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    return _haversine(p1, np.radians(lon1), np.cos(p1), p2, np.radians(lon2), np.cos(p2))


def _haversine(p1: np.ndarray, l1: np.ndarray, c1: np.ndarray, p2: np.ndarray,
               l2: np.ndarray, c2: np.ndarray) -> np.ndarray:
    """haversine_km from latitudes and longitudes in radians and the cosines of latitude.

    Each operation is as in haversine_km, so the result is the same to the last bit.
    """
    dp = p2 - p1
    dl = l2 - l1
    a = np.sin(dp / 2) ** 2 + c1 * c2 * np.sin(dl / 2) ** 2
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
    so the candidate pairs of only a block or two are held at a time; two blocks
    run at once (numpy releases the GIL). Sorted by home then point.
    """
    n_home, n_point = len(home_lat), len(point_lat)
    if n_home == 0 or n_point == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
    reach = _Reach(home_lat, home_lon, home_commune, point_lat, point_lon, point_commune,
                   max_km)
    starts = range(0, n_home, _HOME_BLOCK)
    if len(starts) > 1 and (os.cpu_count() or 1) > 1:
        with ThreadPoolExecutor(max_workers=2) as pool:
            blocks = list(pool.map(reach.block, starts))
    else:
        blocks = [reach.block(lo) for lo in starts]
    out = tuple(np.concatenate([b[i] for b in blocks]) for i in range(3))
    return out[0], out[1], out[2]


class _Reach:
    """The grid and the points, to find the pairs of one block of homes at a time."""

    def __init__(self, home_lat: np.ndarray, home_lon: np.ndarray, home_commune: np.ndarray,
                 point_lat: np.ndarray, point_lon: np.ndarray, point_commune: np.ndarray,
                 max_km: float) -> None:
        self.home_lat, self.home_lon, self.home_commune = home_lat, home_lon, home_commune
        self.point_lat, self.point_lon, self.max_km = point_lat, point_lon, max_km
        max_abs_lat = float(min(89.0, max(np.abs(home_lat).max(), np.abs(point_lat).max()) +
                                max_km / _KM_PER_DEGREE))
        # Cells at least 10 m wide keep the cell numbers small enough for exact integer keys.
        self.cell_lat = max(max_km, 0.01) / _KM_PER_DEGREE * 1.0001
        self.cell_lon = self.cell_lat / max(np.cos(np.radians(max_abs_lat)), 1e-6)
        self.points = _Sorted(self.cell_of(point_lat, point_lon))
        self.communes = _Sorted(np.asarray(point_commune, np.int64))
        # Radians and cosines once per home and point, not once per pair.
        self.p_sphere = _sphere(point_lat, point_lon)

    def cell_of(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        return _cell_key(np.floor(lat / self.cell_lat).astype(np.int64),
                         np.floor(lon / self.cell_lon).astype(np.int64))

    def block(self, lo: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Home, point and km of the pairs of homes lo .. lo + _HOME_BLOCK - 1."""
        block = slice(lo, lo + _HOME_BLOCK)
        lat, lon = self.home_lat[block], self.home_lon[block]
        point_lat, point_lon, n_point = self.point_lat, self.point_lon, len(self.point_lat)
        h_sphere = _sphere(lat, lon)
        cell = self.cell_of(lat, lon)
        # The three cells of a grid row around a home have consecutive keys, so one key
        # range finds them. The 3 x 3 cells are disjoint, so no pair is found twice.
        found = [self.points.within(cell + (d_row * _ROW_KEY - 1),
                                    cell + (d_row * _ROW_KEY + 1)) for d_row in (-1, 0, 1)]
        home = np.concatenate([f[0] for f in found])
        point = np.concatenate([f[1] for f in found])
        del found
        # A cheap box test first: only pairs inside one cell of each other can be in reach.
        box = (np.abs(lat[home] - point_lat[point]) <= self.cell_lat) & \
            (np.abs(lon[home] - point_lon[point]) <= self.cell_lon)
        home, point = home[box], point[box]
        km = _measure(h_sphere, home, self.p_sphere, point)
        keep = km <= self.max_km
        key = home[keep] * np.int64(n_point) + point[keep]
        order = np.argsort(key)
        key, km = key[order], km[keep][order]
        # Same commune is always in reach, however far: add those beyond max_km. Pairs
        # already kept are within max_km, so only the others need measuring.
        commune = np.asarray(self.home_commune[block], np.int64)
        s_home, s_point = self.communes.within(commune, commune)
        s_key = s_home * np.int64(n_point) + s_point
        at = np.minimum(np.searchsorted(key, s_key), max(len(key) - 1, 0))
        new = key[at] != s_key if len(key) else np.ones(len(s_key), bool)
        s_home, s_point, s_key = s_home[new], s_point[new], s_key[new]
        s_km = _measure(h_sphere, s_home, self.p_sphere, s_point)
        far = s_km > self.max_km
        if far.any():
            # Merge the few far pairs into the sorted ones (keys are unique).
            s_key, s_km = s_key[far], s_km[far]
            order = np.argsort(s_key)
            at = np.searchsorted(key, s_key[order])
            key, km = np.insert(key, at, s_key[order]), np.insert(km, at, s_km[order])
        return (key // n_point + lo).astype(np.int32), (key % n_point).astype(np.int32), km


_HOME_BLOCK = 1 << 16  # homes per block: bounds the candidate pairs held at once


_Sphere = tuple[np.ndarray, np.ndarray, np.ndarray]


def _sphere(lat: np.ndarray, lon: np.ndarray) -> _Sphere:
    """Latitude and longitude in radians, and the cosine of latitude."""
    rad = np.radians(lat)
    return rad, np.radians(lon), np.cos(rad)


def _measure(h: _Sphere, home: np.ndarray, p: _Sphere, point: np.ndarray) -> np.ndarray:
    """haversine_km of each (home, point) pair."""
    return _haversine(h[0][home], h[1][home], h[2][home], p[0][point], p[1][point], p[2][point])


class _Sorted:
    """Keys sorted once, to find every position with a given key many times."""

    def __init__(self, keys: np.ndarray) -> None:
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]

    def within(self, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (home, point) with low[home] <= key[point] <= high[home], without a join table."""
        lo = np.searchsorted(self.keys, low, side="left")
        count = np.searchsorted(self.keys, high, side="right") - lo
        home = np.repeat(np.arange(len(low), dtype=np.int32), count)
        first = np.repeat(lo - (np.cumsum(count) - count), count)
        return home, self.order[first + np.arange(len(home))]


_ROW_KEY = 2**22  # key step from one grid row to the next; columns step by 1


def _cell_key(row: np.ndarray, col: np.ndarray) -> np.ndarray:
    return (row + 2**20) * _ROW_KEY + (col + 2**21)
