"""Build the bundled commune reference lists from the two public source files.

Usage: python data/build_reference.py SOURCE_DIR

SOURCE_DIR holds `wards_2025_with_location.csv` and `bando_ward_2025-07-17.csv`
(see data/reference/PROVENANCE.md). Writes `data/reference/vn_communes.csv`
(all 3,321 units) and `data/reference/hcmc_communes.csv` (the 168 units of Ho
Chi Minh City, province code 79).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import pandas as pd

HCMC_PROVINCE_CODE = "79"
OUT = Path(__file__).resolve().parent / "reference"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", str(text)).strip()


def _exact(text: str) -> str:
    return _nfc(text).casefold().replace("’", "'")


def _fold(text: str) -> str:
    """A looser key without tone marks, for names the sources spell differently.

    The sources disagree on case ("Ninh BÌnh"), on where the tone mark sits
    ("Hòa" / "Hoà") and on the apostrophe ("M'Drắk" / "M’Drắk").
    """
    text = unicodedata.normalize("NFD", _exact(text))
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn").replace("đ", "d")


def _province(text: str) -> str:
    # The mapping agency writes "tỉnh Bắc Ninh", "Thủ đô Hà Nội".
    return re.sub(r"^(thu do|thanh pho|tinh)\s+", "", _fold(text))


def _population(wards: pd.DataFrame, bando: pd.DataFrame) -> pd.Series:
    """Population per ward row: exact name match first, then the looser key.

    The mapping agency writes "đang cập nhật" (being updated) for a few units:
    those get an empty population rather than a guess.
    """
    wards_prov = wards["provinceShort"].map(_province)
    bando_prov = bando["tentinh"].map(_province)
    result = pd.Series(pd.NA, index=wards.index, dtype="object")
    taken: set[int] = set()
    for key in (_exact, _fold):
        w_key = wards_prov + "|" + wards["wardShort"].map(key)
        b_key = bando_prov + "|" + bando["tenhc"].map(key)
        free = ~bando.index.isin(list(taken))
        counts = b_key[free].value_counts()
        lookup = {k: i for i, k in b_key[free].items() if counts[k] == 1}
        for i in wards.index[result.isna()]:
            j = lookup.get(w_key[i])
            if j is not None and (w_key == w_key[i]).sum() == 1:
                result[i] = bando.at[j, "dansonguoi"]
                taken.add(j)
    return result


def build(source: Path) -> pd.DataFrame:
    wards = pd.read_csv(source / "wards_2025_with_location.csv", dtype=str)
    bando = pd.read_csv(source / "bando_ward_2025-07-17.csv", dtype=str)
    population = _population(wards, bando)
    missing = wards[population.isna()]
    if len(missing):
        raise SystemExit(f"{len(missing)} units not found in the merger list: "
                         f"{missing['ward'].tolist()[:5]}")
    out = pd.DataFrame({
        "commune_code": wards["wardCode"].astype(int).astype(str),
        "name": wards["ward"].map(_nfc),
        "type": wards["wardType"].map(_nfc),
        "province_code": wards["provinceCode"].astype(int).astype(str),
        "province_name": wards["province"].map(_nfc),
        "lat": wards["wardLat"].astype(float),
        "lon": wards["wardLon"].astype(float),
        "area_km2": wards["wardAreaKm2"].astype(float),
        "population": pd.to_numeric(population, errors="coerce").astype("Int64"),
    })
    out = out.sort_values(["province_code", "commune_code"], key=lambda s: s.astype(int))
    if out["commune_code"].duplicated().any():
        raise SystemExit("duplicate unit codes")
    return out.reset_index(drop=True)


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else \
        Path(__file__).resolve().parents[2] / "shared" / "data" / "vn-admin-2025"
    table = build(source)
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / "vn_communes.csv", index=False, encoding="utf-8")
    hcmc = table[table["province_code"] == HCMC_PROVINCE_CODE]
    hcmc.to_csv(OUT / "hcmc_communes.csv", index=False, encoding="utf-8")
    print(f"{len(table)} units nationwide, {len(hcmc)} in Ho Chi Minh City -> {OUT}")


if __name__ == "__main__":
    main()
