"""Rounds that follow rounds (contract section 5): devices received earlier, shared citizen IDs.

Hand-made rounds with known answers, a property that every unserved reason
agrees with the oracle's own reading, an end-to-end `allocator solve`, and the
registry import refusing the round-only column.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocator.problem import build_problem
from allocator.reference import hcmc_communes
from allocator.result import unserved_frame
from allocator.solve import solve
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.models import Household
from allocator.validate import read_scenario
from tests.allocator.helpers import (
    PHU_LOI,
    SAIGON,
    household,
    lot,
    make_round,
    point,
    served_ids,
    solve_round,
    write_round,
)
from tests.allocator.oracle import Round
from tests.allocator.test_cli import allocator


def _unserved(tmp_path: Path, households: list[dict[str, Any]], **policy: Any
              ) -> dict[str, tuple[str, str]]:
    """reason and detail per unserved household of a round with plenty of supply."""
    rnd = make_round(households, [lot("L1", quantity=50)], [point("P1", capacity=50)], **policy)
    folder = write_round(tmp_path / "scenario", rnd)
    problem = build_problem(read_scenario(folder))
    frame = unserved_frame(problem, solve(problem, "optimal"))
    return {h: (r, d) for h, r, d in frame.itertuples(index=False)}


def test_received_earlier_comes_first(tmp_path: Path) -> None:
    got = _unserved(tmp_path, [
        household("A", received_device="round 3, 2026-05-12"),
        household("B", status="other", smartphones=2, twog_handsets=0,
                  received_device="round 1"),
        household("C"),
    ])
    assert got["A"] == ("received_earlier",
                        "received a device earlier in the campaign (round 3, 2026-05-12)")
    assert got["B"][0] == "received_earlier"
    assert "C" not in got


def test_duplicate_ids_compare_by_digits(tmp_path: Path) -> None:
    got = _unserved(tmp_path, [
        household("A", national_id="079 123-456"),
        household("B", national_id="079123456"),
        household("C", national_id="(079).123.456"),
        household("D", national_id="079123457"),
    ])
    assert got["A"] == ("duplicate_identity", "national_id also given for B, C")
    assert got["B"] == ("duplicate_identity", "national_id also given for A, C")
    assert got["C"] == ("duplicate_identity", "national_id also given for A, B")
    assert "D" not in got


def test_a_received_household_still_makes_its_duplicate_ineligible(tmp_path: Path) -> None:
    got = _unserved(tmp_path, [
        household("A", national_id="079123456", received_device="round 2"),
        household("B", national_id="079-123-456"),
    ])
    assert got["A"][0] == "received_earlier"
    assert got["B"] == ("duplicate_identity", "national_id also given for A")


def test_reason_order(tmp_path: Path) -> None:
    # Each household fails every later rule too; the first that applies is reported.
    bad = {"status": "other", "twog_handsets": 0, "smartphones": 1}
    got = _unserved(tmp_path, [
        household("A", national_id="1", received_device="yes", **bad),
        household("B", national_id="1", **bad),
        household("C", **bad),
        household("D", twog_handsets=0, smartphones=1),
        household("E", smartphones=1),
    ])
    assert {h: r for h, (r, _) in got.items()} == {
        "A": "received_earlier", "B": "duplicate_identity", "C": "not_eligible_status",
        "D": "no_2g_handset", "E": "has_smartphone"}


def test_empty_ids_never_match(tmp_path: Path) -> None:
    got = _unserved(tmp_path, [
        household("A", national_id=""), household("B", national_id=""),
        household("C", national_id="n/a"), household("D", national_id="--"),
        household("E"),
    ])
    assert got == {}


def test_detail_names_a_few_others_and_counts_the_rest(tmp_path: Path) -> None:
    many = [household(f"H{i:02d}", national_id="079 000 111") for i in range(9)]
    got = _unserved(tmp_path, many)
    assert got["H00"] == ("duplicate_identity", "national_id also given for H01, H02, H03, "
                                                "H04, H05 and 3 more")
    assert got["H04"] == ("duplicate_identity", "national_id also given for H00, H01, H02, "
                                                "H03, H05 and 3 more")
    assert got["H08"] == ("duplicate_identity", "national_id also given for H00, H01, H02, "
                                                "H03, H04 and 3 more")


def test_served_households_are_never_the_ineligible_ones(tmp_path: Path) -> None:
    rnd = make_round([household("A", national_id="5", received_device=""),
                      household("B", national_id="5"), household("C", received_device="x"),
                      household("D")],
                     [lot("L1")], [point("P1")])
    _, rows, reasons = solve_round(tmp_path, rnd)
    assert served_ids(rows) == {"D"}
    assert reasons == {"A": "duplicate_identity", "B": "duplicate_identity",
                       "C": "received_earlier"}


IDS = ["", "", "079 1", "0791", "079-1", "0792", "x", "80"]
RECEIVED = ["", "", "", "round 1"]


@st.composite
def campaign_rounds(draw: Any) -> Round:
    n = draw(st.integers(1, 8))
    households = [household(
        f"H{i}", commune=draw(st.sampled_from(["26740", "25750"])),
        status=draw(st.sampled_from(["poor", "near_poor", "other"])),
        twog_handsets=draw(st.sampled_from([0, 1, 1])),
        smartphones=draw(st.sampled_from([0, 0, 1])),
        national_id=draw(st.sampled_from(IDS)), received_device=draw(st.sampled_from(RECEIVED)))
        for i in range(n)]
    lots = [lot("L1", quantity=draw(st.integers(0, 4)))]
    points = [point("P1", capacity=draw(st.integers(0, 4))),
              point("P2", commune="25750", capacity=draw(st.integers(0, 4)))]
    return make_round(households, lots, points, [SAIGON, PHU_LOI],
                      budget_vnd=draw(st.sampled_from([0, 10_000_000])))


@settings(max_examples=max(60, settings.default.max_examples))
@given(campaign_rounds())
def test_every_unserved_reason_agrees_with_the_oracle(rnd: Round) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_round(Path(tmp) / "scenario", rnd)
        problem = build_problem(read_scenario(folder))
        frame = unserved_frame(problem, solve(problem, "optimal"))
    got = {h: (r, d) for h, r, d in frame.itertuples(index=False)}
    for h in rnd.households:
        expected = rnd.reason(h)
        if expected is None:
            assert got.get(h["household_id"], ("",))[0] not in (
                "received_earlier", "duplicate_identity", "not_eligible_status",
                "no_2g_handset", "has_smartphone")
            continue
        reason, detail = got[h["household_id"]]
        assert reason == expected
        if expected == "duplicate_identity":
            others = rnd.sharing_identity(h)  # five are named, the rest counted
            more = f" and {len(others) - 5} more" if len(others) > 5 else ""
            assert detail == "national_id also given for " + ", ".join(others[:5]) + more


def test_solve_command_reads_the_new_column(tmp_path: Path) -> None:
    rnd = make_round([household("A", national_id="079 1", received_device=""),
                      household("B", national_id="0791", received_device=""),
                      household("C", received_device="round 1, 2026-05-12"),
                      household("D", national_id="0792", received_device="")],
                     [lot("L1")], [point("P1")])
    folder = write_round(tmp_path / "scenario", rnd)
    done = allocator("solve", folder, "--out", tmp_path / "out", "--quiet")
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "out" / "unserved.csv", encoding="utf-8", newline="") as handle:
        rows = {r["household_id"]: r for r in csv.DictReader(handle)}
    assert {h: r["reason"] for h, r in rows.items()} == {
        "A": "duplicate_identity", "B": "duplicate_identity", "C": "received_earlier"}
    assert rows["A"]["detail"] == "national_id also given for B"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["eligible"] == 1 and summary["served"] == 1


def test_a_control_character_in_received_device_is_located(tmp_path: Path) -> None:
    rnd = make_round([household("A", received_device="round\x001")], [lot("L1")], [point("P1")])
    folder = write_round(tmp_path / "scenario", rnd)
    done = allocator("solve", folder, "--out", tmp_path / "out", "--quiet")
    assert done.returncode != 0
    assert "households.csv, row 2, column received_device" in done.stderr + done.stdout


@pytest.fixture()
def session(tmp_path: Path, db_url: str) -> Iterator[Session]:
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as s:
        hcmc_communes()[["commune_code", "name", "lat", "lon"]].to_csv(
            tmp_path / "communes.csv", index=False)
        assert import_file(s, "communes", tmp_path / "communes.csv", "test").ok
        yield s
    engine.dispose()


def test_the_registry_import_refuses_received_device(session: Session, tmp_path: Path) -> None:
    # The registry cannot keep it, and dropping it would make those households eligible again.
    path = tmp_path / "households.csv"
    path.write_text("household_id,commune_code,poverty_status,members,twog_handsets,"
                    "smartphones,received_device\nHH1,26740,poor,3,1,0,round 1\n",
                    encoding="utf-8")
    report = import_file(session, "households", path, "test")
    assert not report.ok
    assert [(i.file, i.row, i.column) for i in report.issues] == [
        ("households.csv", 1, "received_device")]
    assert session.scalar(select(func.count()).select_from(Household)) == 0
