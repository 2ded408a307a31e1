"""The bundled reference lists of commune-level units."""

from allocator.reference import hcmc_communes, national_communes


def test_hcmc_has_its_168_units() -> None:
    table = hcmc_communes()
    assert len(table) == 168 and table["commune_code"].is_unique
    assert dict(table["type"].value_counts()) == {"Phường": 113, "Xã": 54, "Đặc khu": 1}
    assert table["population"].notna().all() and (table["area_km2"] > 0).all()
    assert table["lat"].between(8.5, 11.6).all() and table["lon"].between(106.0, 107.7).all()
    saigon = table.set_index("commune_code").loc["26740"]
    assert saigon["name"] == "Phường Sài Gòn"


def test_national_list_has_all_3321_units_of_34_provinces() -> None:
    table = national_communes()
    assert len(table) == 3321 and table["commune_code"].is_unique
    assert table["province_code"].nunique() == 34
    assert (table["province_code"] == "79").sum() == 168
