"""Property tests: brute-force optimality on tiny rounds, invariants on larger ones."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.allocator.helpers import PHU_LOI, SAIGON, make_round, solve_round
from tests.allocator.oracle import Round

COMMUNES = [SAIGON, PHU_LOI]
FLAGS = ["", "merit_family", "elderly_alone", "student;disability", "ethnic_minority"]
NEEDS = ["", "", "", "large_screen", "senior_mode"]
FEATURES = ["", "large_screen", "senior_mode", "large_screen;senior_mode"]


@st.composite
def rounds(draw: Any, max_households: int, max_lots: int, max_points: int) -> Round:
    n_h = draw(st.integers(1, max_households))
    n_l = draw(st.integers(1, max_lots))
    n_p = draw(st.integers(1, max_points))

    def place() -> dict[str, Any]:
        c = draw(st.sampled_from(COMMUNES))
        if draw(st.booleans()):
            return {"commune_code": c["commune_code"], "lat": "", "lon": ""}
        return {"commune_code": c["commune_code"],
                "lat": round(c["lat"] + draw(st.floats(-0.02, 0.02)), 6),
                "lon": round(c["lon"] + draw(st.floats(-0.02, 0.02)), 6)}

    households = [{"household_id": f"H{i:02d}",
                   "poverty_status": draw(st.sampled_from(["poor", "near_poor", "near_poor",
                                                           "other"])),
                   "members": 1, "twog_handsets": draw(st.sampled_from([0, 1, 1, 1, 2])),
                   "smartphones": draw(st.sampled_from([0, 0, 0, 1])),
                   "flags": draw(st.sampled_from(FLAGS)), "needs": draw(st.sampled_from(NEEDS)),
                   **place()} for i in range(n_h)]
    lots = []
    for i in range(n_l):
        price = draw(st.sampled_from([1_000_000, 1_500_000, 2_000_000]))
        lots.append({"lot_id": f"L{i}", "sponsor_id": f"S{i % 2}", "model": "M",
                     "network": "4G", "quantity": draw(st.integers(0, 3)),
                     "unit_price_vnd": price,
                     "sponsor_subsidy_vnd": draw(st.sampled_from([0, price // 2, price])),
                     "features": draw(st.sampled_from(FEATURES)),
                     "allowed_communes": draw(st.sampled_from(["", "", "26740"])),
                     "allowed_statuses": draw(st.sampled_from(["", "", "poor"]))})
    points = [{"point_id": f"P{i}", "capacity": draw(st.integers(0, 3)), **place()}
              for i in range(n_p)]
    policy = {"budget_vnd": draw(st.sampled_from([0, 500_000, 1_000_000, 2_500_000,
                                                  10_000_000])),
              "max_distance_km": draw(st.sampled_from([0.5, 2.0, 30.0])),
              "min_commune_share": draw(st.sampled_from([0.0, 0.0, 0.5, 1.0])),
              "copay_vnd": {"near_poor": draw(st.sampled_from([0, 200_000]))},
              "seed": draw(st.integers(0, 5))}
    return make_round(households, lots, points, COMMUNES, **policy)


def _values(allocation: Any) -> tuple[int, int, int, float]:
    return allocation.values.as_tuple()


@settings(max_examples=max(60, settings.default.max_examples))
@given(rounds(max_households=5, max_lots=2, max_points=2))
def test_optimum_equals_brute_force(rnd: Round) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        allocation, rows, _ = solve_round(Path(tmp), rnd)
    expected = rnd.brute_force()
    assert allocation.status.value == "OPTIMAL"
    assert rnd.check(rows)[:3] == expected[:3]
    assert _values(allocation)[:3] == expected[:3]
    assert abs(_values(allocation)[3] - expected[3]) < 1e-6


@settings(max_examples=max(40, settings.default.max_examples // 2))
@given(rounds(max_households=40, max_lots=5, max_points=5))
def test_every_result_is_feasible_and_never_worse_than_greedy(rnd: Round) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        optimal, rows, reasons = solve_round(Path(tmp), rnd)
        greedy, greedy_rows, greedy_reasons = solve_round(Path(tmp), rnd, "greedy")
    values = rnd.check(rows)
    greedy_values = rnd.check(greedy_rows)
    assert values[:3] == _values(optimal)[:3]
    assert abs(values[3] - _values(optimal)[3]) < 1e-6
    if values[0] == greedy_values[0]:  # a fairness floor may trade weight for coverage
        assert values[1] >= greedy_values[1]
    # Lexicographically: floor, then weight, then (less) cost, then (less) distance.
    key = (values[0], values[1], -values[2], -round(values[3], 6))
    greedy_key = (greedy_values[0], greedy_values[1], -greedy_values[2],
                  -round(greedy_values[3], 6))
    assert key >= greedy_key
    for served, unserved in ((rows, reasons), (greedy_rows, greedy_reasons)):
        ids = {r["household_id"] for r in served}
        assert ids.isdisjoint(unserved)
        assert ids | set(unserved) == {h["household_id"] for h in rnd.households}
        for h in rnd.households:
            if not rnd.eligible(h):
                assert unserved[h["household_id"]] in ("not_eligible_status", "no_2g_handset",
                                                       "has_smartphone")
