"""One binding / not-binding pair per rule and per stage, on hand-made rounds."""

from __future__ import annotations

from pathlib import Path

from tests.allocator.helpers import household, lot, make_round, point, served_ids, solve_round

NORTH_1KM = {"lat": 10.7895, "lon": 106.704}   # about 1.0 km north of Sài Gòn's point
NORTH_3KM = {"lat": 10.8075, "lon": 106.704}   # about 3.0 km north


def test_stock_not_binding_serves_everyone(tmp_path: Path) -> None:
    rnd = make_round([household("A"), household("B")], [lot("L", quantity=2)], [point("P")])
    _, rows, _ = solve_round(tmp_path, rnd)
    assert served_ids(rows) == {"A", "B"}


def test_stock_binding_serves_the_heavier_household(tmp_path: Path) -> None:
    rnd = make_round([household("A", status="near_poor"), household("B", status="poor")],
                     [lot("L", quantity=1)], [point("P")])
    _, rows, reasons = solve_round(tmp_path, rnd)
    assert served_ids(rows) == {"B"}
    assert reasons == {"A": "outranked"}


def test_capacity_not_binding(tmp_path: Path) -> None:
    rnd = make_round([household("A"), household("B")], [lot("L")], [point("P", capacity=2)])
    _, rows, _ = solve_round(tmp_path, rnd)
    assert len(rows) == 2


def test_capacity_binding_keeps_merit_family(tmp_path: Path) -> None:
    rnd = make_round([household("A"), household("B", flags="merit_family")], [lot("L")],
                     [point("P", capacity=1)])
    allocation, rows, reasons = solve_round(tmp_path, rnd)
    assert served_ids(rows) == {"B"} and reasons["A"] == "outranked"
    assert allocation.values.stage1 == 140


def test_budget_not_binding(tmp_path: Path) -> None:
    rnd = make_round([household("A"), household("B")],
                     [lot("L", price=1_000_000, subsidy=400_000)], [point("P")],
                     budget_vnd=1_200_000)
    allocation, rows, _ = solve_round(tmp_path, rnd)
    assert len(rows) == 2 and allocation.values.stage2 == 1_200_000


def test_budget_binding_by_one_dong(tmp_path: Path) -> None:
    rnd = make_round([household("A"), household("B")],
                     [lot("L", price=1_000_000, subsidy=400_000)], [point("P")],
                     budget_vnd=1_199_999)
    allocation, rows, reasons = solve_round(tmp_path, rnd)
    assert len(rows) == 1 and allocation.values.stage2 == 600_000
    assert list(reasons.values()) == ["outranked"]


def test_zero_budget_still_hands_out_donated_devices(tmp_path: Path) -> None:
    rnd = make_round([household("A"), household("B")],
                     [lot("GIFT", quantity=1), lot("PART", price=900_000, subsidy=0)],
                     [point("P")])
    allocation, rows, _ = solve_round(tmp_path, rnd)
    assert [r["lot_id"] for r in rows] == ["GIFT"] and allocation.values.stage2 == 0


def test_copay_lowers_public_cost(tmp_path: Path) -> None:
    rnd = make_round([household("A", status="near_poor")],
                     [lot("L", price=1_000_000, subsidy=400_000)], [point("P")],
                     budget_vnd=500_000, copay_vnd={"near_poor": 200_000})
    _, rows, _ = solve_round(tmp_path, rnd)
    assert rows[0]["public_cost_vnd"] == 400_000 and rows[0]["copay_vnd"] == 200_000


def test_copay_never_exceeds_what_is_left_to_pay(tmp_path: Path) -> None:
    rnd = make_round([household("A")], [lot("L", price=1_000_000, subsidy=900_000)],
                     [point("P")], copay_vnd={"poor": 300_000})
    _, rows, _ = solve_round(tmp_path, rnd)
    assert rows[0]["public_cost_vnd"] == 0 and rows[0]["copay_vnd"] == 100_000


def test_needs_matched_by_features(tmp_path: Path) -> None:
    rnd = make_round([household("A", needs="large_screen"), household("B", needs="senior_mode")],
                     [lot("L", features="large_screen;long_battery")], [point("P")])
    _, rows, reasons = solve_round(tmp_path, rnd)
    assert served_ids(rows) == {"A"} and reasons == {"B": "no_compatible_lot"}


def test_allowed_communes_and_statuses(tmp_path: Path) -> None:
    rnd = make_round([household("A"), household("B", commune="25750"),
                      household("C", status="near_poor")],
                     [lot("L", allowed_communes="26740", allowed_statuses="poor")],
                     [point("P"), point("Q", commune="25750")])
    _, rows, reasons = solve_round(tmp_path, rnd)
    assert served_ids(rows) == {"A"}
    assert reasons == {"B": "no_compatible_lot", "C": "no_compatible_lot"}


def test_unrestricted_lot_serves_every_eligible_status(tmp_path: Path) -> None:
    rnd = make_round([household("A"), household("B", status="near_poor")], [lot("L")],
                     [point("P")])
    _, rows, _ = solve_round(tmp_path, rnd)
    assert served_ids(rows) == {"A", "B"}


def test_point_in_another_commune_within_reach(tmp_path: Path) -> None:
    rnd = make_round([household("A", lat=10.7805, lon=106.704)], [lot("L")],
                     [point("P", commune="25750", **NORTH_1KM)], max_distance_km=1.5)
    _, rows, _ = solve_round(tmp_path, rnd)
    assert rows[0]["point_id"] == "P" and 0.9 < rows[0]["distance_km"] < 1.1


def test_point_in_another_commune_out_of_reach(tmp_path: Path) -> None:
    rnd = make_round([household("A", lat=10.7805, lon=106.704)], [lot("L")],
                     [point("P", commune="25750", **NORTH_3KM)], max_distance_km=1.5)
    _, rows, reasons = solve_round(tmp_path, rnd)
    assert rows == [] and reasons == {"A": "no_point_in_reach"}


def test_own_commune_point_always_in_reach(tmp_path: Path) -> None:
    rnd = make_round([household("A", lat=10.7805, lon=106.704)], [lot("L")],
                     [point("P", **NORTH_3KM)], max_distance_km=0.5)
    _, rows, _ = solve_round(tmp_path, rnd)
    assert rows[0]["point_id"] == "P"


def test_eligibility_rules_and_their_reasons(tmp_path: Path) -> None:
    rnd = make_round([household("A", status="other"), household("B", twog_handsets=0),
                      household("C", smartphones=1), household("D")], [lot("L")], [point("P")])
    _, rows, reasons = solve_round(tmp_path, rnd)
    assert served_ids(rows) == {"D"}
    assert reasons == {"A": "not_eligible_status", "B": "no_2g_handset",
                       "C": "has_smartphone"}


def test_eligibility_rules_can_be_relaxed(tmp_path: Path) -> None:
    rnd = make_round([household("A", status="other"), household("B", twog_handsets=0),
                      household("C", smartphones=1)], [lot("L")], [point("P")],
                     eligible_statuses=["poor", "other"], require_2g_handset=False,
                     require_no_smartphone=False)
    _, rows, _ = solve_round(tmp_path, rnd)
    assert served_ids(rows) == {"A", "B", "C"}


def test_stage0_fairness_floor_binding(tmp_path: Path) -> None:
    # Without a floor both devices go to the heavier households of Sài Gòn; a 50%
    # floor gives each commune a target of one, so Phú Lợi must get one device.
    hh = [household("A", flags="merit_family"), household("B", flags="merit_family"),
          household("C", commune="25750"), household("D", commune="25750")]
    lots_ = [lot("L", quantity=2)]
    points_ = [point("P"), point("Q", commune="25750")]
    _, rows, _ = solve_round(tmp_path / "a", make_round(hh, lots_, points_))
    assert served_ids(rows) == {"A", "B"}
    allocation, rows, _ = solve_round(tmp_path / "b", make_round(hh, lots_, points_,
                                                                 min_commune_share=0.5))
    assert len(served_ids(rows) & {"C", "D"}) == 1 and allocation.values.stage0 == 2


def test_stage0_fairness_floor_not_binding(tmp_path: Path) -> None:
    hh = [household("A"), household("C", commune="25750")]
    allocation, rows, _ = solve_round(tmp_path, make_round(
        hh, [lot("L", quantity=2)], [point("P"), point("Q", commune="25750")],
        min_commune_share=1.0))
    assert len(rows) == 2 and allocation.values.stage0 == 2


def test_stage1_prefers_two_light_over_one_heavy_when_heavier_in_total(tmp_path: Path) -> None:
    rnd = make_round([household("A", status="near_poor"), household("B", status="near_poor"),
                      household("C")],
                     [lot("L", price=1_000_000, subsidy=0)], [point("P")],
                     budget_vnd=1_000_000, status_weight={"poor": 110},
                     copay_vnd={"near_poor": 500_000})
    # The budget buys C alone (weight 110) or A and B (120, with their co-pay).
    _, rows, _ = solve_round(tmp_path, rnd)
    assert served_ids(rows) == {"A", "B"}


def test_stage2_picks_the_cheaper_lot_at_equal_weight(tmp_path: Path) -> None:
    rnd = make_round([household("A")], [lot("DEAR", price=2_000_000, subsidy=0),
                                        lot("CHEAP", price=1_500_000, subsidy=0)],
                     [point("P")], budget_vnd=5_000_000)
    allocation, rows, _ = solve_round(tmp_path, rnd)
    assert rows[0]["lot_id"] == "CHEAP" and allocation.values.stage2 == 1_500_000


def test_stage2_not_binding_when_every_lot_is_donated(tmp_path: Path) -> None:
    rnd = make_round([household("A")], [lot("X"), lot("Y")], [point("P")])
    allocation, rows, _ = solve_round(tmp_path, rnd)
    assert len(rows) == 1 and allocation.values.stage2 == 0


def test_stage3_picks_the_nearer_point(tmp_path: Path) -> None:
    rnd = make_round([household("A", lat=10.7805, lon=106.704)], [lot("L")],
                     [point("FAR", **NORTH_3KM), point("NEAR", **NORTH_1KM)])
    allocation, rows, _ = solve_round(tmp_path, rnd)
    assert rows[0]["point_id"] == "NEAR" and allocation.values.stage3 < 1.1


def test_stage3_sends_the_right_household_to_the_far_point(tmp_path: Path) -> None:
    # One seat at each point; the household living next to FAR should take FAR.
    rnd = make_round([household("A", lat=10.7805, lon=106.704),
                      household("B", **NORTH_3KM)], [lot("L")],
                     [point("NEAR", capacity=1, lat=10.7805, lon=106.704),
                      point("FAR", capacity=1, **NORTH_3KM)])
    allocation, rows, _ = solve_round(tmp_path, rnd)
    assert {r["household_id"]: r["point_id"] for r in rows} == {"A": "NEAR", "B": "FAR"}
    assert allocation.values.stage3 < 1e-9


def test_stage3_does_not_trade_weight_for_distance(tmp_path: Path) -> None:
    rnd = make_round([household("NEARBY", status="near_poor", lat=10.7805, lon=106.704),
                      household("FARAWAY", **NORTH_3KM)], [lot("L", quantity=1)],
                     [point("P", lat=10.7805, lon=106.704)])
    _, rows, _ = solve_round(tmp_path, rnd)
    assert served_ids(rows) == {"FARAWAY"}


def test_points_and_lots_with_nothing_left_explain_why(tmp_path: Path) -> None:
    rnd = make_round([household("A"), household("B", commune="25750")],
                     [lot("EMPTY", quantity=0, allowed_communes="26740"), lot("L")],
                     [point("P"), point("SHUT", commune="25750", capacity=0)])
    _, rows, reasons = solve_round(tmp_path, rnd)
    assert served_ids(rows) == {"A"} and reasons == {"B": "no_point_in_reach"}
