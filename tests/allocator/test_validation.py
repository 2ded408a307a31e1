"""Bad input: every problem reported at once with file, row and column, nothing written."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from allocator.issues import InvalidInput
from allocator.validate import read_scenario
from tests.allocator.helpers import household, lot, make_round, point, run_engine, write_round


def good(tmp_path: Path) -> Path:
    rnd = make_round([household("A"), household("B", status="near_poor", flags="student")],
                     [lot("L")], [point("P")], budget_vnd=1_000_000)
    return write_round(tmp_path / "scenario", rnd)


def problems(folder: Path) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        read_scenario(folder)
    return [str(i) for i in caught.value.issues]


def replace_cell(path: Path, row: int, column: str, value: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[row - 1].split(",")
    cells[header.index(column)] = value
    lines[row - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("file,row,column,value,message", [
    ("households.csv", 2, "household_id", "", "is empty but required"),
    ("households.csv", 3, "household_id", "A", "duplicate id 'A' (first at row 2)"),
    ("households.csv", 2, "commune_code", "99999", "unknown commune '99999'"),
    ("households.csv", 2, "poverty_status", "rich", "must be one of poor, near_poor, other"),
    ("households.csv", 2, "members", "0", "must be a whole number >= 1"),
    ("households.csv", 2, "members", "2.5", "must be a whole number >= 1"),
    ("households.csv", 2, "twog_handsets", "-1", "must be a whole number >= 0"),
    ("households.csv", 3, "smartphones", "many", "must be a whole number >= 0"),
    ("households.csv", 2, "flags", "veteran", "unknown item 'veteran'"),
    ("households.csv", 2, "lat", "10.78", "is empty but lat is given"),
    ("households.csv", 2, "lat", "north", "must be a decimal number of degrees"),
    ("households.csv", 2, "lon", "200", "must be a decimal number of degrees"),
    ("lots.csv", 2, "network", "3G", "must be one of 4G, 5G"),
    ("lots.csv", 2, "quantity", "", "is empty but required"),
    ("lots.csv", 2, "sponsor_subsidy_vnd", "2000000", "is more than unit_price_vnd"),
    ("lots.csv", 2, "allowed_communes", "26740;12345", "unknown commune '12345'"),
    ("lots.csv", 2, "allowed_statuses", "poor;rich", "unknown item 'rich'"),
    ("points.csv", 2, "capacity", "-3", "must be a whole number >= 0"),
    ("points.csv", 2, "commune_code", "", "is empty but required"),
])
def test_bad_cell_is_located(tmp_path: Path, file: str, row: int, column: str, value: str,
                             message: str) -> None:
    folder = good(tmp_path)
    replace_cell(folder / file, row, column, value)
    found = problems(folder)
    expected_start = f"{file}, row {row}, column "
    assert any(p.startswith(expected_start) and message in p for p in found), found


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    folder = good(tmp_path)
    replace_cell(folder / "households.csv", 2, "members", "x")
    replace_cell(folder / "households.csv", 3, "poverty_status", "rich")
    replace_cell(folder / "lots.csv", 2, "network", "2G")
    (folder / "round.json").write_text('{"budget_vnd": -1, "budjet": 5}', encoding="utf-8")
    found = problems(folder)
    assert len(found) == 5
    assert "round.json, column budjet: unknown key" in found[-1] or \
        any(p.startswith("round.json, column budjet: unknown key") for p in found)


def test_missing_file_and_missing_column(tmp_path: Path) -> None:
    folder = good(tmp_path)
    (folder / "points.csv").unlink()
    text = (folder / "lots.csv").read_text(encoding="utf-8").replace("quantity", "qty")
    (folder / "lots.csv").write_text(text, encoding="utf-8")
    found = problems(folder)
    assert "points.csv: file is missing" in found
    assert "lots.csv, row 1, column quantity: required column is missing" in found


@pytest.mark.parametrize("text,fragment", [
    ('{"budget_vnd": 1.5}', "column budget_vnd: must be a whole number >= 0"),
    ('{"max_distance_km": 0}', "column max_distance_km: must be a number > 0"),
    ('{"min_commune_share": 1.2}', "column min_commune_share: must be a number from 0 to 1"),
    ('{"eligible_statuses": ["poor", "rich"]}', "unknown status 'rich'"),
    ('{"status_weight": {"poor": -5}}', "column status_weight.poor: must be a whole number"),
    ('{"flag_bonus": {"veteran": 5}}', "column flag_bonus: unknown key 'veteran'"),
    ('{"copay_vnd": {"poor": "free"}}', "column copay_vnd.poor: must be a whole number"),
    ('{"seed": "abc"}', "column seed: must be a whole number"),
    ('{"time_limit_s": -1}', "column time_limit_s: must be a number of seconds > 0"),
    ('{"require_2g_handset": "yes"}', "column require_2g_handset: must be true or false"),
    ('{"budget_vnd": 100,\n "seed": }', "round.json, row 2: is not valid JSON"),
    ('[1, 2]', "must be a JSON object"),
])
def test_bad_round_json(tmp_path: Path, text: str, fragment: str) -> None:
    folder = good(tmp_path)
    (folder / "round.json").write_text(text, encoding="utf-8")
    found = problems(folder)
    assert any(fragment in p for p in found), found


def test_not_utf8_is_reported(tmp_path: Path) -> None:
    folder = good(tmp_path)
    text = (folder / "households.csv").read_text(encoding="utf-8")
    (folder / "households.csv").write_bytes(text.replace("A,", "Ă,").encode("cp1258"))
    assert any("households.csv" in p and "not UTF-8" in p for p in problems(folder))


def test_excel_bom_nfd_spaces_and_blank_rows_are_accepted(tmp_path: Path) -> None:
    folder = good(tmp_path)
    text = (folder / "households.csv").read_text(encoding="utf-8")
    text = text.replace("A,26740", " Hộ Ánh ,026740").replace("student", " Student ")
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    (folder / "households.csv").write_bytes(b"\xef\xbb\xbf" + (nfd + ",,,,,,,,,\n")
                                            .encode("utf-8"))
    scenario = read_scenario(folder)
    ids = list(scenario.households["household_id"])
    assert ids == ["Hộ Ánh", "B"]
    assert ids[0] == unicodedata.normalize("NFC", "Hộ Ánh")
    assert list(scenario.households["commune_code"]) == ["26740", "26740"]
    assert scenario.households["flags"].iloc[1] == "student"


def test_unknown_columns_are_ignored_and_order_is_free(tmp_path: Path) -> None:
    folder = good(tmp_path)
    lines = (folder / "points.csv").read_text(encoding="utf-8").splitlines()
    header, row = lines[0].split(","), lines[1].split(",")
    order = list(reversed(range(len(header))))
    lines = [",".join([header[i] for i in order] + ["ghi_chu"]),
             ",".join([row[i] for i in order] + ["điểm chính"])]
    (folder / "points.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert list(read_scenario(folder).points["point_id"]) == ["P"]


def test_missing_communes_file_uses_the_bundled_hcmc_list(tmp_path: Path) -> None:
    folder = good(tmp_path)
    (folder / "communes.csv").unlink()
    scenario = read_scenario(folder)
    assert scenario.communes_bundled and len(scenario.communes) == 168
    _, rows, _ = run_engine(folder)
    assert len(rows) == 2


def test_commune_without_a_point_needs_coordinates(tmp_path: Path) -> None:
    folder = good(tmp_path)
    (folder / "communes.csv").write_text("commune_code,name,lat,lon\n26740,Sài Gòn,,\n",
                                         encoding="utf-8")
    found = problems(folder)
    assert any(p.startswith("households.csv, row 2, column lat: is empty and the commune")
               for p in found)
    assert any(p.startswith("points.csv, row 2, column lat") for p in found)


def test_policy_defaults_when_round_json_is_absent(tmp_path: Path) -> None:
    folder = good(tmp_path)
    (folder / "round.json").unlink()
    policy = read_scenario(folder).policy
    assert policy.budget_vnd == 0 and policy.max_distance_km == 5.0
    assert json.loads(json.dumps(policy.to_json()))["status_weight"]["poor"] == 100


@pytest.mark.parametrize("file,row,column,value,message", [
    ("households.csv", 2, "members", "３", "must be a whole number >= 1"),
    ("households.csv", 2, "members", "0000000000000002", None),
    ("lots.csv", 2, "quantity", "12345678901234567", "is too large"),
])
def test_digits_are_ascii_and_leading_zeros_are_fine(tmp_path: Path, file: str, row: int,
                                                      column: str, value: str,
                                                      message: str | None) -> None:
    folder = good(tmp_path)
    replace_cell(folder / file, row, column, value)
    if message is None:
        assert read_scenario(folder).households["members"].iloc[0] == 2
        return
    found = problems(folder)
    assert any(p.startswith(f"{file}, row {row}, column {column}") and message in p
               for p in found), found


@pytest.mark.parametrize("text,fragment", [
    ('{"budget_vnd": 1' + "0" * 400 + "}", "column budget_vnd: must be a whole number"),
    ('{"max_distance_km": 1' + "0" * 400 + "}", "column max_distance_km: must be a number"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"seed": 1, "seed": 2}', "column seed: key is given twice"),
    ('{"status_weight": {"poor": 10000000}}', "at most 1,000,000"),
])
def test_round_json_extremes(tmp_path: Path, text: str, fragment: str) -> None:
    folder = good(tmp_path)
    (folder / "round.json").write_text(text, encoding="utf-8")
    found = problems(folder)
    assert any(fragment in p for p in found), found


def test_a_folder_where_a_file_should_be(tmp_path: Path) -> None:
    folder = good(tmp_path)
    for name in ("round.json", "lots.csv"):
        (folder / name).unlink()
        (folder / name).mkdir()
    found = problems(folder)
    assert any(p.startswith("round.json: cannot be read") for p in found), found
    assert any(p.startswith("lots.csv: cannot be read") for p in found), found


def test_a_repeated_header_column_is_an_error(tmp_path: Path) -> None:
    folder = good(tmp_path)
    lines = (folder / "points.csv").read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ",capacity", lines[1] + ",0"]
    (folder / "points.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert "points.csv, row 1, column capacity: column appears twice in the header" in \
        problems(folder)


def test_a_trailing_comma_on_every_row_does_not_shift_columns(tmp_path: Path) -> None:
    folder = good(tmp_path)
    lines = (folder / "households.csv").read_text(encoding="utf-8").splitlines()
    lines = [lines[0]] + [line + "," for line in lines[1:]]
    (folder / "households.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert list(read_scenario(folder).households["household_id"]) == ["A", "B"]


def test_fairness_floor_reads_the_share_as_written(tmp_path: Path) -> None:
    from allocator.problem import build_problem
    rnd = make_round([household(f"H{i}") for i in range(10)], [lot("L")], [point("P")],
                     min_commune_share=0.3)
    problem = build_problem(read_scenario(write_round(tmp_path / "s", rnd)))
    saigon = list(problem.commune_code).index("26740")
    assert problem.floor_target()[saigon] == 3  # not floor(2.9999...) = 2
