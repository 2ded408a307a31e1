"""Neighbouring communes, for widening a lot kept to some communes to the ones next to them.

The reference lists (data/reference) give each unit's centroid and area but no
borders, so neighbours are judged from those:

- Two communes are neighbours when their centroids are at most
  FACTOR x (r1 + r2) apart, where r = sqrt(area / pi) is the radius of a disc of
  the commune's area. Two discs just touching are r1 + r2 apart; real units are
  not discs, so a quarter more is allowed. On Ho Chi Minh City's 168 units this
  gives 5 neighbours in the median (3 to 7 for most), as a map of the city
  shows, and none to Côn Đảo, an island far out at sea (nationally only the
  island districts are left alone).
- A commune's area comes from the national reference list, matched by code, and
  only when that list puts the unit's centroid within MATCH_KM of the
  scenario's own (a scenario's own communes.csv may reuse a code for another place).
- Where an area is unknown (a scenario's own communes with other codes), a commune's
  neighbours are its K_NEAREST nearest centroids instead, a typical count of
  neighbours in a map of areas.
- A commune without a centroid has no neighbours.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from allocator.geo import haversine_km
from allocator.reference import national_communes

FACTOR = 1.25
K_NEAREST = 6
MATCH_KM = 2.0


def commune_radii(communes: pd.DataFrame) -> np.ndarray:
    """Per row of `communes` (commune_code, lat, lon): sqrt(area / pi) in km, NaN if unknown."""
    reference = national_communes()[["commune_code", "lat", "lon", "area_km2"]]
    found = pd.DataFrame({"commune_code": communes["commune_code"].astype(str).to_numpy(),
                          "lat": communes["lat"].to_numpy(float),
                          "lon": communes["lon"].to_numpy(float)}).merge(
        reference.drop_duplicates("commune_code"), on="commune_code", how="left",
        suffixes=("", "_ref"))
    apart = haversine_km(found["lat"].to_numpy(float), found["lon"].to_numpy(float),
                         found["lat_ref"].to_numpy(float), found["lon_ref"].to_numpy(float))
    area = found["area_km2"].to_numpy(float)
    same_place = apart <= MATCH_KM  # NaN (no centroid or no match) compares False
    return np.where(same_place & (area > 0), np.sqrt(np.where(area > 0, area, 0) / np.pi),
                    np.nan)


def neighbours(codes: Iterable[str], communes: pd.DataFrame) -> tuple[str, ...]:
    """Codes of the communes neighbouring any of `codes`, none of `codes` themselves; sorted.

    `communes` is a scenario's commune list (commune_code, lat, lon), as `Scenario.communes`.
    """
    code = communes["commune_code"].astype(str).to_numpy(object)
    lat, lon = communes["lat"].to_numpy(float), communes["lon"].to_numpy(float)
    wanted = set(map(str, codes))
    rows = np.flatnonzero(np.isin(code, list(wanted)) & ~np.isnan(lat))
    if not len(rows):
        return ()
    radius = commune_radii(communes)
    centred = ~np.isnan(lat)
    distance = haversine_km(lat[rows, None], lon[rows, None], lat[None, :], lon[None, :])
    distance[:, ~centred] = np.inf
    distance[np.arange(len(rows)), rows] = np.inf  # a commune is not its own neighbour
    near = np.zeros(distance.shape, dtype=bool)
    known = ~np.isnan(radius[rows])[:, None] & ~np.isnan(radius)[None, :]
    with np.errstate(invalid="ignore"):
        near |= known & (distance <= FACTOR * (radius[rows, None] + radius[None, :]))
    unknown = ~known.all(axis=1)
    if unknown.any():  # rows with some unknown area: their nearest centroids
        nearest = np.argsort(distance[unknown], axis=1, kind="stable")[:, :K_NEAREST]
        picked = np.zeros((int(unknown.sum()), len(code)), dtype=bool)
        np.put_along_axis(picked, nearest, True, axis=1)
        picked &= np.isfinite(distance[unknown])
        near[unknown] |= picked & ~known[unknown]
    found = {str(c) for c in code[near.any(axis=0)]} - wanted
    return tuple(sorted(found))
