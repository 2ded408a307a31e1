"""No cell a user can type makes the engine crash: it solves or reports the problem."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.issues import InvalidInput
from allocator.problem import build_problem
from allocator.result import allocations_frame, unserved_frame
from allocator.solve import solve
from allocator.validate import read_scenario
from tests.allocator.helpers import household, lot, make_round, point, write_round

NASTY = st.one_of(
    st.sampled_from(["", " ", "0", "-0", "1e3", "1.0", "1.5", "nan", "inf", "-inf", "NaN",
                     "99999999999999999999999", "10,5", "1;2", ";", "poor;near_poor",
                     "large_screen", "26740", "026740", "4g", "Ồ", "\u0301", "\"", "'",
                     "=1+1", "TRUE", "null", "None", "-1", "1" * 16]),
    st.text(max_size=12),
)


@settings(max_examples=150)
@given(file=st.sampled_from(["households.csv", "lots.csv", "points.csv", "communes.csv"]),
       row=st.integers(2, 3), col=st.integers(0, 11), value=NASTY)
def test_any_cell_gives_a_result_or_a_located_error(file: str, row: int, col: int,
                                                    value: str) -> None:
    rnd = make_round([household("A", lat=10.78, lon=106.70), household("B", flags="student")],
                     [lot("L", features="large_screen"), lot("M", price=900_000, subsidy=0)],
                     [point("P"), point("Q", commune="25750")], budget_vnd=1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_round(Path(tmp) / "s", rnd)
        path = folder / file
        lines = path.read_text(encoding="utf-8").splitlines()
        cells = lines[row - 1].split(",")
        col = col % len(cells)
        cells[col] = '"' + value.replace('"', '""') + '"'
        lines[row - 1] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            scenario = read_scenario(folder)
        except InvalidInput as problems:
            assert problems.issues
            for issue in problems.issues:
                assert issue.file in (file, "round.json", "households.csv", "points.csv")
            return
        problem = build_problem(scenario)
        allocation = solve(problem)
        allocations_frame(problem, allocation)
        unserved_frame(problem, allocation)


@settings(max_examples=60)
@given(st.dictionaries(st.sampled_from(["budget_vnd", "max_distance_km", "seed", "time_limit_s",
                                        "min_commune_share", "eligible_statuses",
                                        "status_weight", "copay_vnd", "require_2g_handset"]),
                       st.one_of(st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                                 st.text(max_size=5), st.booleans(), st.none(),
                                 st.lists(st.text(max_size=5), max_size=2),
                                 st.dictionaries(st.text(max_size=5), st.integers(-5, 5),
                                                 max_size=2))))
def test_any_round_json_gives_a_result_or_a_located_error(policy: dict) -> None:
    import json
    rnd = make_round([household("A")], [lot("L")], [point("P")])
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_round(Path(tmp) / "s", rnd)
        (folder / "round.json").write_text(json.dumps(policy), encoding="utf-8")
        try:
            scenario = read_scenario(folder)
        except InvalidInput as problems:
            assert all(i.file == "round.json" for i in problems.issues)
            return
        solve(build_problem(scenario), time_limit_s=5)
