"""The bundled reference lists of commune-level units (xã/phường/đặc khu), after 1 July 2025."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd


def data_dir() -> Path:
    """The project's `data/` folder (override with ALLOCATOR_DATA_DIR)."""
    env = os.environ.get("ALLOCATOR_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "data"


@lru_cache(maxsize=2)
def _load(name: str) -> pd.DataFrame:
    table = pd.read_csv(data_dir() / "reference" / name, dtype={
        "commune_code": str, "province_code": str, "name": str, "type": str,
        "province_name": str})
    return table


def hcmc_communes() -> pd.DataFrame:
    """The 168 units of Ho Chi Minh City: code, name, type, point, area, population."""
    return _load("hcmc_communes.csv").copy()


def national_communes() -> pd.DataFrame:
    """All 3,321 units of the 34 provinces."""
    return _load("vn_communes.csv").copy()
