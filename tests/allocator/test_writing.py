"""The result files are the bytes pandas' own CSV writer gives, and the explanations are the
sentences a plain per-household reading of the contract gives."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator import writing
from allocator.compat import group_options
from allocator.contract import STATUSES
from allocator.problem import build_problem
from allocator.result import allocations_frame, unserved_frame, write_result
from allocator.solve import solve
from allocator.validate import read_scenario
from tests.allocator.helpers import household, lot, make_round, point, write_round

# Vietnamese letters (composed and combining), CSV's structural characters, a lone CR,
# spaces at the ends, a NUL and a character outside the basic plane.
TRICKY = st.text(alphabet=st.sampled_from(list("aZ0 ,\"\n\r\t;'#=-") +
                                          ["ắ", "Ồ", "đ", "ư", "\u0301", "\x00", "😀"]),
                 max_size=8)


def plain_csv(frame: pd.DataFrame, float_format: str | None = None) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n",
                        float_format=float_format).encode("utf-8")


def fast_csv(frame: pd.DataFrame, float_format: str | None = None) -> bytes:
    return b"".join(bytes(c) for c in writing.csv_chunks(frame, float_format))


@st.composite
def frames(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(0, 12))
    texts = st.lists(st.one_of(TRICKY, st.sampled_from(["", "x", "Phường Sài Gòn"])),
                     min_size=n, max_size=n)
    kms = st.lists(st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(-1e6, 1e6),
        st.integers(-10**7, 10**7).map(lambda k: k / 1000),   # already rounded, as written
        st.integers(-10**7, 10**7).map(lambda k: (k + 0.5) / 1000),  # ties
        st.sampled_from([0.0, -0.0, 2.675, 1e15, 2.0**40, -1e-9])), min_size=n, max_size=n)
    frame = pd.DataFrame({
        "household_id": draw(texts),
        "name": pd.Series(draw(texts), dtype=object),
        "detail": draw(st.lists(st.sampled_from(["a, b", 'say "hi"', "one\ntwo", "plain", ""]),
                                min_size=n, max_size=n)),
        "weight": draw(st.lists(st.integers(-2**63, 2**63 - 1), min_size=n, max_size=n)),
        "cost": np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), np.int64),
        "distance_km": np.array(draw(kms), dtype=np.float64),
    })
    missing = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    frame.loc[np.array(missing, bool), "household_id"] = None
    return frame


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), chunk=st.integers(1, 5))
def test_fast_csv_is_pandas_csv(frame: pd.DataFrame, chunk: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(writing, "CHUNK_ROWS", chunk)  # rows across several pieces
        assert writing._columns(frame, "%.3f") is not None  # not pandas' own path
        assert fast_csv(frame, "%.3f") == plain_csv(frame, "%.3f")
        assert fast_csv(frame.drop(columns="distance_km")) == \
            plain_csv(frame.drop(columns="distance_km"))


def test_frames_pandas_writes_itself_still_come_out_the_same() -> None:
    odd = pd.DataFrame({"a": [1.5, None], "b": [True, False], "c": ["x", 3]})
    assert fast_csv(odd) == plain_csv(odd)
    assert fast_csv(odd[["a"]]) == plain_csv(odd[["a"]])
    assert fast_csv(pd.DataFrame({"a,b": ["", "x"], 'q"': [1, 2]})) == \
        plain_csv(pd.DataFrame({"a,b": ["", "x"], 'q"': [1, 2]}))


def test_write_result_writes_what_pandas_would(tmp_path: Path) -> None:
    allocations = pd.DataFrame({
        "household_id": ["HH-1", "Nguyễn, Văn \"A\"", "dòng\nmới"],
        "lot_id": ["L1", "L1", "L,2"], "sponsor_id": ["Viettel", "VNPT", "FPT"],
        "point_id": ["P", "P", "Q"], "priority_weight": [60, 45, 45],
        "public_cost_vnd": [0, 1_190_000, 0], "copay_vnd": [0, 0, 100_000],
        "distance_km": [0.8364999, 12.0, 0.0005]})
    unserved = pd.DataFrame({"household_id": ["HH-2"], "reason": ["outranked"],
                             "detail": ["budget: 10,000 VND left"]})
    write_result(tmp_path, allocations, unserved, {"tên": "Phường Sài Gòn"})
    assert (tmp_path / "allocations.csv").read_bytes() == plain_csv(allocations, "%.3f")
    assert (tmp_path / "unserved.csv").read_bytes() == plain_csv(unserved)
    assert (tmp_path / "summary.json").read_text(encoding="utf-8") == \
        '{\n "tên": "Phường Sài Gòn"\n}\n'


# --- explanations against a plain per-household reading ---

def plain_details(problem: Any, allocation: Any) -> dict[str, tuple[str, str]]:
    """reason and detail per unserved household, worked out one household at a time: the
    English words first, then " | " and the same in Vietnamese."""
    lot_of, point_of = allocation.lot_of, allocation.point_of
    served = lot_of >= 0
    stock = problem.lot_quantity - np.bincount(lot_of[served], minlength=len(problem.lot_id))
    room = problem.point_capacity - np.bincount(point_of[served],
                                                minlength=len(problem.point_id))
    budget_left = problem.budget - allocation.values.stage2
    policy = problem.policy
    vi_status = {"poor": "hộ nghèo", "near_poor": "hộ cận nghèo", "other": "hộ khác"}

    def names(ids: Any, unit: str = "") -> str:
        shown = sorted(str(i) for i in ids)
        more = len(shown) - 5
        tail = "" if more <= 0 else f" và {more} {unit} khác" if unit else f" and {more} more"
        return ", ".join(shown[:5]) + tail

    def vnd(n: int) -> str:
        return f"{int(n):,}".replace(",", ".")

    out = {}
    for h in np.flatnonzero(~served):
        reason, detail = str(problem.hh_reason[h]), ""
        if reason == "not_eligible_status":
            status = STATUSES[problem.hh_status[h]]
            allowed = ", ".join(vi_status[s] for s in policy.eligible_statuses)
            detail = (f"status {status} is not eligible in this round "
                      f"(eligible: {', '.join(policy.eligible_statuses) or 'none'}) | "
                      f"Không thuộc diện của đợt: {vi_status[status]}, trong khi đợt này dành "
                      f"cho {allowed or 'không diện nào'}")
        elif reason == "no_2g_handset":
            detail = "no 2G-only handset in use | Không dùng máy chỉ có 2G"
        elif reason == "has_smartphone":
            detail = "already owns a 4G/5G smart device | Đã có điện thoại thông minh 4G/5G"
        elif reason in ("received_earlier", "duplicate_identity"):
            detail = str(problem.hh_reason_detail[h])
        elif reason == "":
            g, home = int(problem.hh_group[h]), int(problem.hh_home[h])
            lots, costs = group_options(problem.routes, g)
            points = problem.hp_point[problem.hp_home == home]
            if not len(lots):
                reason = "no_compatible_lot"
                needs = problem.group_needs[g].replace(";", ", ")
                status = STATUSES[problem.group_status[g]]
                commune = problem.commune_code[problem.group_commune[g]]
                detail = (f"no lot with devices left is open to {status} households in commune "
                          f"{commune}" + (f" and offers {needs}" if needs else "") +
                          f" | Không có lô máy phù hợp: không lô nào còn máy dành cho "
                          f"{vi_status[status]} ở xã, phường {commune}" +
                          (f" và có tính năng {needs}" if needs else ""))
            elif not len(points):
                reason = "no_point_in_reach"
                km = policy.max_distance_km
                detail = (f"no distribution point with capacity in its commune or within "
                          f"{km:g} km | Không có điểm nhận trong tầm: không điểm nào có sức "
                          f"chứa ở xã, phường của hộ hoặc trong vòng "
                          f"{f'{km:g}'.replace('.', ',')} km")
            else:
                reason, parts = "outranked", []
                if not (stock[lots] > 0).any():
                    parts.append((f"stock: every suitable lot is given out "
                                  f"({names(problem.lot_id[lots])})",
                                  f"Hết máy phù hợp: mọi lô phù hợp đã phát hết "
                                  f"({names(problem.lot_id[lots], 'lô')})"))
                elif costs[stock[lots] > 0].min() > budget_left:
                    cheapest = int(costs[stock[lots] > 0].min())
                    parts.append((f"budget: {budget_left:,} VND left, the cheapest suitable "
                                  f"device in stock costs the budget {cheapest:,} VND",
                                  f"Ngân sách không đủ: chỉ còn {vnd(budget_left)} đồng, mà máy "
                                  f"phù hợp rẻ nhất còn trong kho cần ngân sách chi "
                                  f"{vnd(cheapest)} đồng"))
                if not (room[points] > 0).any():
                    parts.append((f"capacity: every point in reach is full "
                                  f"({names(problem.point_id[points])})",
                                  f"Hết chỗ: mọi điểm nhận trong tầm đã kín "
                                  f"({names(problem.point_id[points], 'điểm')})"))
                if not parts:
                    parts.append(("priority: the budget, stock and capacity went to households "
                                  "of higher priority weight or lower cost",
                                  "Xếp sau theo thứ tự ưu tiên: ngân sách, máy và chỗ còn lại "
                                  "đã dành cho hộ có điểm ưu tiên cao hơn hoặc chi phí thấp "
                                  "hơn"))
                detail = ("; ".join(en for en, _ in parts) + " | " +
                          ". ".join(vi for _, vi in parts))
        out[problem.hh_id[int(h)].as_py()] = (reason, detail)
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n=st.integers(1, 40), points=st.integers(1, 8),
       budget=st.sampled_from([0, 1_000_000, 5_000_000, 10**9]))
def test_explanations_match_a_plain_reading(tmp_path_factory: pytest.TempPathFactory,
                                            seed: int, n: int, points: int,
                                            budget: int) -> None:
    rng = np.random.default_rng(seed)
    communes = ["26740", "25750"]
    households = [household(f"H{i:03d}", commune=str(rng.choice(communes)),
                            status=str(rng.choice(["poor", "near_poor", "other"])),
                            smartphones=int(rng.random() < 0.1),
                            twog_handsets=int(rng.random() > 0.1),
                            needs=str(rng.choice(["", "large_screen"])))
                  for i in range(n)]
    lots = [lot(f"L{j}", quantity=int(rng.integers(0, 6)),
                price=int(rng.choice([900_000, 1_190_000])),
                subsidy=int(rng.choice([0, 900_000])),
                features=str(rng.choice(["", "large_screen"])),
                allowed_communes=str(rng.choice(["", "26740", "25750"])))
            for j in range(int(rng.integers(1, 9)))]
    sites = [point(f"P{k}", commune=str(rng.choice(communes)),
                   capacity=int(rng.integers(0, 4))) for k in range(points)]
    rnd = make_round(households, lots, sites, budget_vnd=budget)
    folder = write_round(tmp_path_factory.mktemp("round") / "scenario", rnd)
    problem = build_problem(read_scenario(folder))
    allocation = solve(problem, "greedy")
    frame = unserved_frame(problem, allocation)
    got = {h: (r, d) for h, r, d in frame.itertuples(index=False)}
    assert got == plain_details(problem, allocation)
    assert list(frame["household_id"]) == sorted(frame["household_id"])
    served = allocations_frame(problem, allocation)
    assert list(served["household_id"]) == sorted(served["household_id"])
    assert all(math.isfinite(x) for x in served["distance_km"])
