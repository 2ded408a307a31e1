"""Where each registry column is stored, and so how long or large a cell may be.

The tables in `models.py` are the one source of truth: a text column's length
and an integer column's range are read from them, so a cell the database
would refuse (PostgreSQL) or keep silently (SQLite) is refused before writing,
with its file, row and column, the same way on both.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, SmallInteger, String

from allocator.contract import COMMUNES, HOUSEHOLDS, LOTS, POINTS
from allocator.limits import ColumnBounds
from allocator.store.models import (
    Base,
    Commune,
    Household,
    HouseholdContact,
    Lot,
    Point,
    Sponsor,
)

# Registry -> the tables a row is written to (parents first), each as
# {table column: file column}. The first table of households and points, the
# last of lots, holds the registry's own rows.
STORED_IN: dict[str, tuple[tuple[type[Base], dict[str, str]], ...]] = {
    "households": (
        (Household, {"id": "household_id", "commune_code": "commune_code",
                     "poverty_status": "poverty_status", "members": "members",
                     "twog_handsets": "twog_handsets", "smartphones": "smartphones",
                     "flags": "flags", "needs": "needs", "lat": "lat", "lon": "lon"}),
        (HouseholdContact, {"household_id": "household_id", "head_name": "head_name",
                            "phone": "phone", "national_id": "national_id"}),
    ),
    "lots": (
        (Sponsor, {"id": "sponsor_id", "name": "sponsor_name"}),
        (Lot, {"id": "lot_id", "sponsor_id": "sponsor_id", "model": "model",
               "network": "network", "quantity": "quantity",
               "unit_price_vnd": "unit_price_vnd", "sponsor_subsidy_vnd": "sponsor_subsidy_vnd",
               "features": "features", "allowed_communes": "allowed_communes",
               "allowed_statuses": "allowed_statuses"}),
    ),
    "points": (
        (Point, {"id": "point_id", "name": "name", "commune_code": "commune_code",
                 "lat": "lat", "lon": "lon", "capacity": "capacity"}),
    ),
    "communes": (
        (Commune, {"code": "commune_code", "name": "name", "lat": "lat", "lon": "lon"}),
    ),
}
FILE_OF = {"households": HOUSEHOLDS, "lots": LOTS, "points": POINTS, "communes": COMMUNES}
_LARGEST = {SmallInteger: 2**15 - 1, BigInteger: 2**63 - 1, Integer: 2**31 - 1}


def column_length(column: Any) -> int | None:
    """Characters a text column holds (following a foreign key to its target), or None."""
    column = _column(column)
    length = getattr(column.type, "length", None)
    if isinstance(column.type, String) and length is None:
        for key in column.foreign_keys:
            return column_length(key.column)
    return length


def column_maximum(column: Any) -> int | None:
    """The largest whole number an integer column holds, or None."""
    column = _column(column)
    for kind, largest in _LARGEST.items():  # subclasses first: BigInteger is an Integer
        if isinstance(column.type, kind):
            return largest
    return None


def _column(column: Any) -> Column[Any]:
    return column.property.columns[0] if hasattr(column, "property") else column


@cache
def registry_bounds(kind: str) -> ColumnBounds:
    """The tightest length and range of each file column of a registry, over its tables."""
    lengths: dict[str, int] = {}
    maxima: dict[str, int] = {}
    for model, columns in STORED_IN[kind]:
        table = model.__table__
        for stored, given in columns.items():
            length = column_length(table.c[stored])
            if length is not None:
                lengths[given] = min(length, lengths.get(given, length))
            largest = column_maximum(table.c[stored])
            if largest is not None:
                maxima[given] = min(largest, maxima.get(given, largest))
    return ColumnBounds(lengths, maxima)


def scenario_bounds() -> dict[str, ColumnBounds]:
    """Bounds by contract file name, for reading a whole contract folder as a round."""
    return {FILE_OF[kind]: registry_bounds(kind) for kind in STORED_IN}


def clip(text: str, column: Any) -> str:
    """Text cut to what a column holds: for labels the store writes itself (audit targets)."""
    length = column_length(column)
    return text if length is None else text[:length]
