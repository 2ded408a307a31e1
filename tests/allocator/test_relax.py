"""Steps of relaxation (relax.py), neighbouring communes (neighbours.py) and LP duals."""

from __future__ import annotations

import copy
import pickle
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.milp import INF, Milp, SolveStatus, solve_lp
from allocator.neighbours import commune_radii, neighbours
from allocator.reference import hcmc_communes
from allocator.relax import Change, apply_change, describe, describe_any
from allocator.validate import Scenario, read_scenario
from tests.allocator.helpers import household, lot, make_round, point, write_round

BEN_THANH = {"commune_code": "26743", "name": "Phường Bến Thành", "lat": 10.7713,
             "lon": 106.694}
SAIGON = "26740"


@pytest.fixture
def scenario(tmp_path: Path) -> Scenario:
    rnd = make_round(
        [household("h1"), household("h2", status="near_poor")],
        [lot("L1", 5, allowed_communes=SAIGON, allowed_statuses="poor",
             sponsor_name="Quỹ A"), lot("L2", 3)],
        [point("P1", capacity=4, name="UBND Sài Gòn")],
        budget_vnd=1_000_000, max_distance_km=2.0)
    return read_scenario(write_round(tmp_path / "s", rnd))


def _frames(s: Scenario) -> tuple[object, ...]:
    return (s.households.copy(), s.lots.copy(), s.points.copy(), s.communes.copy(),
            copy.deepcopy(s.policy))


CHANGES = [Change("budget", amount=0.10), Change("lot_stock", "L2", 20),
           Change("point_capacity", "P1", 20), Change("lot_communes", "L1", communes=("25750",)),
           Change("lot_statuses", "L1"), Change("reach", amount=1.0)]


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.kind)
def test_apply_change_leaves_its_input_alone(scenario: Scenario, change: Change) -> None:
    before = _frames(scenario)
    changed = apply_change(scenario, change)
    after = _frames(scenario)
    for a, b in zip(before[:4], after[:4]):
        pd.testing.assert_frame_equal(a, b)  # type: ignore[arg-type]
    assert before[4] == after[4]
    assert changed is not scenario


def test_each_change_relaxes_what_it_names(scenario: Scenario) -> None:
    budget, stock, capacity, communes, statuses, reach = (apply_change(scenario, c)
                                                          for c in CHANGES)
    assert budget.policy.budget_vnd == 1_100_000
    assert stock.lots.set_index("lot_id").at["L2", "quantity"] == 23
    assert capacity.points.set_index("point_id").at["P1", "capacity"] == 24
    assert communes.lots.set_index("lot_id").at["L1", "allowed_communes"] == "25750;26740"
    assert statuses.lots.set_index("lot_id").at["L1", "allowed_statuses"] == ""
    assert statuses.lots.set_index("lot_id").at["L1", "allowed_communes"] == SAIGON
    assert reach.policy.max_distance_km == 3.0
    # A lot open to every commune stays open to every commune.
    open_lot = apply_change(scenario, Change("lot_communes", "L2", communes=("25750",)))
    assert open_lot.lots.set_index("lot_id").at["L2", "allowed_communes"] == ""


def test_a_change_pickles_as_a_partial_for_solver_processes(scenario: Scenario) -> None:
    variant = pickle.loads(pickle.dumps(partial(apply_change, change=CHANGES[1])))
    assert variant(scenario).lots.set_index("lot_id").at["L2", "quantity"] == 23


def test_unknown_subjects_and_kinds_are_refused(scenario: Scenario) -> None:
    with pytest.raises(KeyError):
        apply_change(scenario, Change("lot_stock", "NOPE", 20))
    with pytest.raises(ValueError):
        Change("more_phones")


def test_describe_in_both_languages(scenario: Scenario) -> None:
    assert describe(CHANGES[1], "vi", scenario) == "Thêm 20 máy cho lô L2 (sp-L2)"
    assert describe(CHANGES[1], "en") == "20 more devices in lot L2"
    assert describe(CHANGES[0], "vi", scenario) == "Tăng ngân sách 10% (thêm 100.000 đồng)"
    assert describe(CHANGES[0], "en", scenario) == "10% more budget (100,000 VND more)"
    assert describe(CHANGES[2], "en", scenario) == \
        "20 more handovers at point P1 (UBND Sài Gòn)"
    assert describe(CHANGES[3], "vi", scenario) == "Mở lô L1 (Quỹ A) cho 1 xã/phường lân cận"
    assert describe(CHANGES[4], "en", scenario) == \
        "Lifting the status restriction of lot L1 (Quỹ A) (now only poor households)"
    assert describe(CHANGES[5], "vi", scenario) == \
        "Nới bán kính tiếp cận thêm 1 km (từ 2 lên 3 km)"
    both = [CHANGES[1], Change("lot_stock", "L1", 20)]
    assert describe_any(both, "en", scenario) == \
        "20 more devices in any one of lots L2 (sp-L2) or L1 (Quỹ A)"
    with pytest.raises(ValueError):
        describe_any([CHANGES[1], CHANGES[2]], "en")


def _named(*names: str) -> list[str]:
    table = hcmc_communes()
    return [str(table.loc[table["name"] == n, "commune_code"].iloc[0]) for n in names]


def test_neighbours_of_known_units_of_the_city() -> None:
    communes = hcmc_communes()[["commune_code", "name", "lat", "lon"]]
    saigon, ben_thanh, tan_dinh, thu_dau_mot, con_dao = _named(
        "Phường Sài Gòn", "Phường Bến Thành", "Phường Tân Định", "Phường Thủ Dầu Một",
        "Đặc khu Côn Đảo")
    around = neighbours([saigon], communes)
    assert ben_thanh in around and tan_dinh in around  # share a border in District 1
    assert thu_dau_mot not in around and saigon not in around
    assert saigon in neighbours([ben_thanh], communes)  # the rule is symmetric
    assert neighbours([con_dao], communes) == ()  # an island far out at sea
    # Of a set: the union, less the set itself.
    both = neighbours([saigon, ben_thanh], communes)
    assert tan_dinh in both and saigon not in both and ben_thanh not in both


def test_own_commune_lists_fall_back_to_the_nearest_centroids() -> None:
    # A 4 x 4 grid of invented units 2 km apart: no areas, so the 6 nearest.
    rows = [{"commune_code": f"X{i}{j}", "lat": 10.0 + i * 0.018, "lon": 106.0 + j * 0.018}
            for i in range(4) for j in range(4)]
    grid = pd.DataFrame(rows)
    assert np.isnan(commune_radii(grid)).all()
    around = neighbours(["X11"], grid)
    assert len(around) == 6
    assert {"X01", "X10", "X12", "X21"} <= set(around)  # the four at 2 km come first
    # A real code given for another place is not matched to the reference's area.
    moved = pd.DataFrame([{"commune_code": SAIGON, "lat": 21.0, "lon": 105.8}])
    assert np.isnan(commune_radii(moved)).all()
    # A commune without a centroid has no neighbours.
    blank = pd.DataFrame([{"commune_code": "A", "lat": np.nan, "lon": np.nan},
                          {"commune_code": "B", "lat": 10.0, "lon": 106.0}])
    assert neighbours(["A"], blank) == ()


def test_scenario_communes_with_reference_codes_use_areas(tmp_path: Path) -> None:
    rnd = make_round([household("h1")], [lot("L1")], [point("P1")],
                     communes=[{"commune_code": SAIGON, "name": "Phường Sài Gòn",
                                "lat": 10.7805, "lon": 106.704}, BEN_THANH,
                               {"commune_code": "25750", "name": "Phường Phú Lợi",
                                "lat": 10.9861, "lon": 106.676}])
    scenario = read_scenario(write_round(tmp_path / "s", rnd))
    assert not np.isnan(commune_radii(scenario.communes)).any()
    assert neighbours([SAIGON], scenario.communes) == ("26743",)


def test_lp_duals_are_the_worth_of_one_more_unit_of_a_limit() -> None:
    milp = Milp()
    x = milp.add_vars(0, 10, 2)
    stock = milp.add_row(x, np.array([1.0, 1.0]), -INF, 3.5)  # x0 + x1 <= 3.5
    floor = milp.add_row(x[:1], 1.0, 1.0, INF)               # x0 >= 1 (slack)
    milp.set_objective(np.array([2.0, 1.0]), True)
    result = solve_lp(milp)
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == pytest.approx(7.0)  # fractional: integrality is dropped
    assert result.duals[stock] == pytest.approx(2.0) and result.duals[floor] == 0.0
    milp.set_objective(np.array([-2.0, -1.0]), False)  # minimising: the same derivative
    assert solve_lp(milp).duals[stock] == pytest.approx(-2.0)
    assert solve_lp(Milp()).status is SolveStatus.OPTIMAL
