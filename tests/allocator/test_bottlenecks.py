"""Bottlenecks: what binds, and gains that are exact re-solves with the change made.

Each hand-made round has one resource that binds by construction; its gain is
known by hand, checked against an exact solve of the changed scenario and, on
these tiny rounds, against the independent brute force of tests/allocator/oracle.py
with the change made by hand on the round's rows (not by `apply_change`).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from allocator.bottlenecks import Bottlenecks, ResultMismatch, find_bottlenecks
from allocator.problem import build_problem
from allocator.relax import Change, apply_change
from allocator.solve import solve
from allocator.validate import Scenario, read_scenario
from tests.allocator.helpers import PHU_LOI, SAIGON, household, lot, make_round, point, write_round
from tests.allocator.oracle import Round

BEN_THANH = {"commune_code": "26743", "name": "Phường Bến Thành", "lat": 10.7713,
             "lon": 106.694}
ALLOCATOR = Path(sys.executable).parent / "allocator"


def _poor(n: int, commune: str = "26740", prefix: str = "h", **extra: Any) -> list[dict]:
    return [household(f"{prefix}{i}", commune, **extra) for i in range(n)]


def budget_case() -> Round:
    # 2,900,000 VND buys two devices at 1,000,000; 10% more buys three.
    return make_round(_poor(4), [lot("L1", 10, 1_000_000, 0)], [point("P1", capacity=10)],
                      budget_vnd=2_900_000)


def stock_case() -> Round:
    return make_round(_poor(4), [lot("L1", 2)], [point("P1", capacity=10)])


def capacity_case() -> Round:
    return make_round(_poor(4), [lot("L1", 10)], [point("P1", capacity=2)])


def communes_case() -> Round:
    # The lot may only go to Phường Sài Gòn, where one household lives; three wait
    # next door in Phường Bến Thành.
    return make_round(_poor(1) + _poor(3, "26743", "b"),
                      [lot("L1", 5, allowed_communes="26740")],
                      [point("P1", capacity=10), point("P2", "26743", capacity=10)],
                      communes=[SAIGON, BEN_THANH, PHU_LOI])


def statuses_case() -> Round:
    return make_round(_poor(1) + _poor(3, prefix="n", status="near_poor"),
                      [lot("L1", 5, allowed_statuses="poor")], [point("P1", capacity=10)])


def reach_case() -> Round:
    # Three households of Phường Phú Lợi live 2.5 km north of the only point, in
    # Phường Sài Gòn: out of reach at 2 km, in reach at 3 km.
    homes = [household(f"f{i}", "25750", lat=10.8030, lon=106.704) for i in range(3)]
    return make_round(_poor(1) + homes, [lot("L1", 5)], [point("P1", capacity=10)],
                      max_distance_km=2.0)


def floor_case() -> Round:
    # Each commune's floor is 2 of 3; Phường Sài Gòn's only point can hand over 1.
    return make_round(_poor(3) + _poor(3, "25750", "p"), [lot("L1", 4)],
                      [point("P1", capacity=1), point("P2", "25750", capacity=10)],
                      min_commune_share=0.67)


CASES = {"budget": (budget_case, "budget", Change("budget", amount=0.10), 1, 100),
         "stock": (stock_case, "lot_stock", Change("lot_stock", "L1", 20), 2, 200),
         "capacity": (capacity_case, "point_capacity", Change("point_capacity", "P1", 20),
                      2, 200),
         "communes": (communes_case, "lot_communes",
                      Change("lot_communes", "L1", communes=("26743",)), 3, 300),
         "statuses": (statuses_case, "lot_statuses", Change("lot_statuses", "L1"), 3, 180),
         "reach": (reach_case, "reach", Change("reach", amount=1.0), 3, 300)}


def _scenario(tmp_path: Path, rnd: Round) -> Scenario:
    return read_scenario(write_round(tmp_path / "scenario", rnd))


def _exact(scenario: Scenario) -> tuple[int, int, int]:
    allocation = solve(build_problem(scenario))
    return (allocation.values.stage0, allocation.values.stage1,
            int((allocation.lot_of >= 0).sum()))


def _by_hand(rnd: Round, change: Change) -> Round:
    """The round's rows with the change made, without `apply_change`."""
    rnd = copy.deepcopy(rnd)
    lots = {x["lot_id"]: x for x in rnd.lots}
    points = {x["point_id"]: x for x in rnd.points}
    if change.kind == "budget":
        rnd.policy["budget_vnd"] = round(rnd.policy.get("budget_vnd", 0) * 1.1)
    elif change.kind == "reach":
        rnd.policy["max_distance_km"] = rnd.policy.get("max_distance_km", 5.0) + 1
    elif change.kind == "lot_stock":
        lots[change.subject]["quantity"] += 20
    elif change.kind == "point_capacity":
        points[change.subject]["capacity"] += 20
    elif change.kind == "lot_communes":
        lots[change.subject]["allowed_communes"] += ";" + ";".join(change.communes)
    else:
        lots[change.subject]["allowed_statuses"] = ""
    return rnd


def _found(tmp_path: Path, rnd: Round) -> tuple[Scenario, Bottlenecks]:
    scenario = _scenario(tmp_path, rnd)
    return scenario, find_bottlenecks(scenario, workers=1)


@pytest.mark.parametrize("name", list(CASES))
def test_the_binding_resource_is_named_and_its_gain_is_exact(tmp_path: Path, name: str) -> None:
    make, kind, change, served, weight = CASES[name]
    rnd = make()
    scenario, found = _found(tmp_path, rnd)
    assert kind in {b["kind"] for b in found.binding}, found.binding
    for b in found.binding:
        assert b["sentence_vi"] and b["sentence_en"]
    best = found.best()[0]
    assert best.change == change
    assert (best.gain_served, best.gain_weight) == (served, weight)
    assert found.best_sentences()[0]["sentence_en"].startswith(best.change_en)
    # Every confirmed gain is an exact re-solve with the change made ...
    base = _exact(scenario)
    for r in found.relaxations:
        if r.confirmed:
            again = _exact(apply_change(scenario, r.change))
            assert (r.gain_weight, r.gain_served) == (again[1] - base[1], again[2] - base[2])
    # ... and the brute force agrees on the round changed by hand.
    assert _by_hand(rnd, change).brute_force()[1] - rnd.brute_force()[1] == weight
    assert found.base["stage1"] == rnd.brute_force()[1]


def test_sentences_name_the_change_the_households_and_where(tmp_path: Path) -> None:
    _, found = _found(tmp_path, communes_case())
    best = found.best()[0]
    assert best.sentence_vi == (
        "Mở lô L1 (sp-L1) cho 1 xã/phường lân cận sẽ phục vụ thêm 3 hộ (300 điểm ưu tiên), "
        "chủ yếu hộ nghèo ở Phường Bến Thành.")
    assert best.sentence_en == (
        "Opening lot L1 (sp-L1) to 1 neighbouring commune would serve 3 more households "
        "(300 priority points), mostly poor households in Phường Bến Thành.")
    assert best.by_status == {"poor": 3, "near_poor": 0, "other": 0}
    assert best.by_commune == {"26743": 3}


def test_idle_devices_are_split_by_why_and_get_the_change_that_uses_them(
        tmp_path: Path) -> None:
    _, found = _found(tmp_path, communes_case())
    (use,) = found.lots
    assert (use.quantity, use.allocated, use.idle) == (5, 1, 4)
    assert [(r, n) for r, n, _, _ in use.idle_reasons] == [("communes_exhausted", 4)]
    assert use.change is not None and use.change["kind"] == "lot_communes"
    assert use.change_devices == 3
    _, found = _found(tmp_path / "s", statuses_case())
    assert [(r, n) for r, n, _, _ in found.lots[0].idle_reasons] == \
        [("communes_exhausted", 1), ("statuses", 3)]
    _, found = _found(tmp_path / "b", budget_case())
    assert [(r, n) for r, n, _, _ in found.lots[0].idle_reasons] == \
        [("communes_exhausted", 6), ("budget", 2)]
    _, found = _found(tmp_path / "c", capacity_case())
    assert [(r, n) for r, n, _, _ in found.lots[0].idle_reasons] == \
        [("communes_exhausted", 6), ("points_full", 2)]
    for use in found.lots:
        for _reason, devices, vi, en in use.idle_reasons:
            assert vi.startswith(f"{devices} máy") and en.startswith(f"{devices} device")


def test_a_fairness_floor_ranks_by_stage_0_first(tmp_path: Path) -> None:
    rnd = floor_case()
    scenario, found = _found(tmp_path, rnd)
    best = found.best()[0]
    assert best.change == Change("point_capacity", "P1", 20)
    assert best.gain_stage0 == 1 and best.gain_weight == 0 and best.gain_served == 0
    base = _exact(scenario)
    again = _exact(apply_change(scenario, best.change))
    assert best.gain_stage0 == again[0] - base[0]
    assert "fairness floors" in best.sentence_en
    assert _by_hand(rnd, best.change).brute_force()[0] - rnd.brute_force()[0] == 1


def test_nothing_binds_when_everyone_is_served(tmp_path: Path) -> None:
    _, found = _found(tmp_path, make_round(_poor(2), [lot("L1", 5)], [point("P1")]))
    assert found.binding == [] and found.best() == [] and found.best_sentences() == []
    assert all(not r.gains for r in found.relaxations)
    assert found.lots[0].idle_reasons[0][0] == "communes_exhausted"



def test_a_merged_sentence_names_only_the_places_every_change_serves(tmp_path: Path) -> None:
    # Found: lots of equal gains were merged into one sentence that named the first lot's
    # commune, though the other lot (kept to another commune) serves none there.
    rnd = make_round(_poor(3) + _poor(3, "25750", "p"),
                     [lot("L1", 1, allowed_communes="26740"),
                      lot("L2", 1, allowed_communes="25750")],
                     [point("P1", capacity=10), point("P2", "25750", capacity=10)])
    _, found = _found(tmp_path, rnd)
    merged = found.best_sentences()[0]
    assert merged["subjects"] == ["L1", "L2"] and merged["gain_served"] == 2
    assert merged["sentence_en"] == (
        "20 more devices in any one of lots L1 (sp-L1) or L2 (sp-L2) would serve 2 more "
        "households (200 priority points), mostly poor households.")
    assert merged["sentence_vi"].endswith("(200 điểm ưu tiên), chủ yếu hộ nghèo.")
    # Each change on its own still says where.
    assert [r.sentence_en.endswith(f"in {place}.") for r, place in
            zip(found.best(), ("Phường Sài Gòn", "Phường Phú Lợi"))] == [True, True]

DEGENERATE = {
    "nobody eligible": (make_round([household("h1", smartphones=1)], [lot("L1", 2)],
                                   [point("P1")]), set()),
    "no stock": (make_round(_poor(1), [lot("L1", 0)], [point("P1")]), set()),
    "point closed": (make_round(_poor(1), [lot("L1", 2)], [point("P1", capacity=0)]), set()),
    "no budget": (make_round(_poor(1), [lot("L1", 2, 1000, 0)], [point("P1")]), {"budget"}),
    "needs unmet": (make_round(_poor(1, needs="large_screen"), [lot("L1", 2)],
                               [point("P1")]), set()),
}


@pytest.mark.parametrize("name", list(DEGENERATE))
def test_degenerate_rounds_are_analysed_without_fault(tmp_path: Path, name: str) -> None:
    rnd, binding = DEGENERATE[name]
    _, found = _found(tmp_path, rnd)
    assert {b["kind"] for b in found.binding} == binding
    assert found.best() == []
    for use in found.lots:
        assert sum(n for _, n, _, _ in use.idle_reasons) == use.idle
    if binding:
        assert found.binding[0]["sentence_en"] == (
            "The round has no budget: 1 household left unserved could only get a device "
            "that costs public money.")


def test_equal_estimates_share_a_place_among_the_changes_confirmed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from allocator import bottlenecks
    from allocator.bottlenecks import Relaxation, _to_confirm

    donated = [Change("lot_stock", f"D{i}", 20) for i in range(6)]
    others = [Change("budget", amount=0.1), Change("point_capacity", "P1", 20),
              Change("reach", amount=1.0)]
    worth = {c: 1200.0 for c in donated} | {others[0]: 5000.0, others[1]: 300.0,
                                            others[2]: 0.0}
    relaxations = {c: Relaxation(c, "", "", w) for c, w in worth.items()}
    chosen = _to_confirm(donated + others, relaxations, top=10)
    # Every place first (the budget, the donated lots, the point), then more donated lots,
    # at most three of them; nothing estimated to gain nothing.
    assert chosen == [others[0], donated[0], others[1], donated[1], donated[2]]
    monkeypatch.setattr(bottlenecks, "EXTRA_CONFIRMED", 0)
    assert _to_confirm(donated + others, relaxations, top=2) == [others[0], donated[0]]


def test_a_result_that_is_not_this_scenarios_optimum_is_refused(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, stock_case())
    with pytest.raises(ResultMismatch, match="stage1 300 in the result but 200"):
        find_bottlenecks(scenario, workers=1, expect={"stage1": 300})


def test_the_json_holds_no_personal_data(tmp_path: Path) -> None:
    people = [household(f"HH-{i:03d}", head_name=f"Nguyễn Văn Tèo {i}", phone=f"09123{i:05d}",
                        national_id=f"07920300{i:04d}", lat=10.78123 + i / 1e4,
                        lon=106.70456) for i in range(6)]
    rnd = make_round(people, [lot("L1", 3), lot("L2", 5, 1_000_000, 0)],
                     [point("P1", capacity=10)], budget_vnd=1_000_000)
    _, found = _found(tmp_path, rnd)
    text = json.dumps(found.to_json(), ensure_ascii=False)
    for person in people:
        for key in ("household_id", "head_name", "phone", "national_id"):
            assert str(person[key]) not in text, key
        assert f"{person['lat']}" not in text and "106.70456" not in text
    data = json.loads(text)
    assert set(data) >= {"base", "binding", "relaxations", "lots", "seconds"}
    assert set(data["relaxations"][0]) >= {
        "kind", "subject", "change_vi", "change_en", "estimate_weight", "confirmed",
        "gain_weight", "gain_served", "gain_stage0", "sentence_vi", "sentence_en",
        "by_status", "by_commune"}
    assert set(data["lots"][0]) >= {"lot_id", "sponsor_id", "quantity", "allocated", "idle",
                                    "idle_reasons", "change"}


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ALLOCATOR), *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_cli_finds_the_scenario_and_prints_the_sentences(tmp_path: Path) -> None:
    folder = write_round(tmp_path / "round", communes_case())
    assert _run("solve", folder, "--out", folder / "result", "--quiet").returncode == 0
    done = _run("bottlenecks", folder / "result", "--lang", "en", "--workers", "1",
                "--json", tmp_path / "b.json", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "What binds:" in done.stdout and "Opening lot L1 (sp-L1)" in done.stdout
    assert json.loads((tmp_path / "b.json").read_text("utf-8"))["base"]["served"] == 1
    # Elsewhere, the result finds its scenario through summary.json's scenario_dir ...
    (tmp_path / "moved").mkdir()
    (folder / "result").rename(tmp_path / "moved" / "result")
    done = _run("bottlenecks", tmp_path / "moved" / "result", "--workers", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "Điều đang giới hạn kết quả:" in done.stdout
    # ... and without it, asks for --scenario.
    summary = tmp_path / "moved" / "result" / "summary.json"
    data = json.loads(summary.read_text("utf-8"))
    del data["scenario_dir"]
    summary.write_text(json.dumps(data), "utf-8")
    done = _run("bottlenecks", tmp_path / "moved" / "result", "--workers", "1")
    assert done.returncode == 2 and "--scenario" in done.stderr
    done = _run("bottlenecks", tmp_path / "moved" / "result", "--scenario", folder,
                "--workers", "2", "--lang", "en", "--quiet")  # solver processes
    assert done.returncode == 0, done.stderr
    assert "would serve 3 more households" in done.stdout
    # Inside the scenario folder (as `allocator round export` writes it), the folder above.
    (tmp_path / "moved" / "result").rename(folder / "result")
    done = _run("bottlenecks", folder / "result", "--workers", "1", "--quiet")
    assert done.returncode == 0, done.stderr


def test_cli_refuses_what_it_cannot_analyse(tmp_path: Path) -> None:
    folder = write_round(tmp_path / "round", stock_case())
    other = write_round(tmp_path / "other", statuses_case())
    assert _run("solve", folder, "--out", folder / "result", "--quiet").returncode == 0
    done = _run("bottlenecks", folder / "result", "--scenario", other, "--workers", "1")
    assert done.returncode == 2 and "does not match the scenario" in done.stderr
    done = _run("bottlenecks", tmp_path, "--workers", "1")
    assert done.returncode == 2 and "not a result folder" in done.stderr
    for bad in (["--lang", "fr"], ["--top", "0"], ["--workers", "0"]):
        done = _run("bottlenecks", folder / "result", *bad)
        assert done.returncode == 2, bad
    (folder / "lots.csv").write_text("lot_id\nL1\n", "utf-8")
    done = _run("bottlenecks", folder / "result", "--workers", "1")
    assert done.returncode == 2 and "lots.csv" in done.stderr


def test_cli_refuses_a_damaged_summary_with_a_sentence(tmp_path: Path) -> None:
    folder = write_round(tmp_path / "round", stock_case())
    assert _run("solve", folder, "--out", folder / "result", "--quiet").returncode == 0
    summary = folder / "result" / "summary.json"
    good = json.loads(summary.read_text("utf-8"))
    for key, value in (("households", "abc"), ("budget_vnd", None), ("stage1", "x"),
                       ("households", float("nan")), ("served", 1.5)):
        summary.write_text(json.dumps({**good, key: value}), "utf-8")
        done = _run("bottlenecks", folder / "result", "--workers", "1", "--quiet")
        assert done.returncode == 2 and "summary.json" in done.stderr, (key, done.stderr)
