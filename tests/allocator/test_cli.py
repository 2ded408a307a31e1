"""End-to-end runs of the real `allocator` command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.allocator.guards import assert_no_budget_repairs

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"
ALLOCATOR = Path(sys.executable).parent / "allocator"


def allocator(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the command; a solve that succeeds must have needed no budget repair."""
    done = subprocess.run([str(ALLOCATOR), *map(str, args)], capture_output=True, text=True,
                          timeout=300)
    if args[0] == "solve" and done.returncode == 0:
        assert_no_budget_repairs(Path(args[list(args).index("--out") + 1]))
    return done


@pytest.mark.parametrize("example", ["ex01_small", "ex02_random"])
def test_examples_reach_their_published_optimum(tmp_path: Path, example: str) -> None:
    done = allocator("solve", EXAMPLES / example, "--out", tmp_path / "out", "--quiet")
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    expect = json.loads((EXAMPLES / example / "expect.json").read_text(encoding="utf-8"))
    assert summary["status"] == "OPTIMAL" and summary["budget_repairs"] == 0
    for stage in ("stage0", "stage1", "stage2"):
        assert summary[stage] == expect[stage]
    assert summary["stage3"] == expect["stage3"]  # per-household distances to 6 decimals
    assert summary["gap"] == 0.0 and summary["best_bound"] == expect["stage1"]
    for key in ("served", "eligible", "budget_used_vnd", "solve_seconds"):
        assert key in summary


def test_repeat_run_is_byte_identical(tmp_path: Path) -> None:
    for run in ("a", "b"):
        done = allocator("solve", EXAMPLES / "ex02_random", "--out", tmp_path / run, "-q")
        assert done.returncode == 0, done.stderr
    for name in ("allocations.csv", "unserved.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_rows_are_sorted_and_cover_every_household(tmp_path: Path) -> None:
    allocator("solve", EXAMPLES / "ex02_random", "--out", tmp_path, "-q")
    served = (tmp_path / "allocations.csv").read_text(encoding="utf-8").splitlines()
    unserved = (tmp_path / "unserved.csv").read_text(encoding="utf-8").splitlines()
    assert served[0] == ("household_id,lot_id,sponsor_id,point_id,priority_weight,"
                         "public_cost_vnd,copay_vnd,distance_km")
    assert unserved[0] == "household_id,reason,detail"
    ids = [line.split(",")[0] for line in served[1:]]
    other = [line.split(",")[0] for line in unserved[1:]]
    assert ids == sorted(ids) and other == sorted(other)
    assert len(ids) + len(other) == 200 and not set(ids) & set(other)


def test_invalid_folder_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    shutil.copytree(EXAMPLES / "ex01_small", folder)
    text = (folder / "households.csv").read_text(encoding="utf-8")
    (folder / "households.csv").write_text(text.replace("HH02,26740,near_poor,3",
                                                        "HH02,26740,near_poor,zero"),
                                           encoding="utf-8")
    done = allocator("solve", folder, "--out", tmp_path / "out")
    assert done.returncode == 2
    assert "households.csv, row 3, column members: must be a whole number >= 1" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_missing_folder_and_bad_options_exit_2(tmp_path: Path) -> None:
    done = allocator("solve", tmp_path / "nowhere", "--out", tmp_path / "out")
    assert done.returncode == 2 and "is not a folder" in done.stderr
    done = allocator("solve", EXAMPLES / "ex01_small", "--out", tmp_path / "o", "--method", "x")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    done = allocator("solve", EXAMPLES / "ex01_small", "--out", tmp_path / "o",
                     "--time-limit", "-1")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "o").exists()


def test_progress_goes_to_stderr_and_quiet_silences_it(tmp_path: Path) -> None:
    loud = allocator("solve", EXAMPLES / "ex02_random", "--out", tmp_path / "a")
    assert "stage 1: priority weight" in loud.stderr and "OPTIMAL" in loud.stdout
    quiet = allocator("solve", EXAMPLES / "ex02_random", "--out", tmp_path / "b", "--quiet")
    assert quiet.stderr == "" and quiet.stdout == ""


def test_greedy_method(tmp_path: Path) -> None:
    done = allocator("solve", EXAMPLES / "ex02_random", "--out", tmp_path, "--method", "greedy",
                     "-q")
    assert done.returncode == 0
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["method"] == "greedy" and summary["stage1"] <= 6650


def test_row_order_does_not_change_the_allocation(tmp_path: Path) -> None:
    import pandas as pd

    shuffled = tmp_path / "shuffled"
    shutil.copytree(EXAMPLES / "ex02_random", shuffled)
    for name in ("households.csv", "lots.csv", "points.csv"):
        table = pd.read_csv(shuffled / name, dtype=str, keep_default_na=False)
        table.sample(frac=1.0, random_state=3).to_csv(shuffled / name, index=False)
    for folder, out in ((EXAMPLES / "ex02_random", "a"), (shuffled, "b")):
        assert allocator("solve", folder, "--out", tmp_path / out, "-q").returncode == 0
    for name in ("allocations.csv", "unserved.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_report_is_one_offline_file_with_the_summary_figures(tmp_path: Path) -> None:
    assert allocator("solve", EXAMPLES / "ex02_random", "--out", tmp_path / "r",
                     "-q").returncode == 0
    done = allocator("report", tmp_path / "r", "--html", tmp_path / "report.html")
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    # Nothing is fetched: no address, no linked style sheet or script.
    assert "http://" not in page and "https://" not in page
    assert "<script src" not in page and "<link" not in page
    assert f'data-kpi="served" data-value="{summary["served"]}"' in page
    assert f'data-kpi="eligible" data-value="{summary["eligible"]}"' in page
    assert "<svg class='map'" in page and "class='bars'" in page and "outranked" in page
    missing = allocator("report", tmp_path / "nowhere", "--html", tmp_path / "x.html")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
