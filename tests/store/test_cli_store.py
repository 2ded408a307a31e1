"""The store from the terminal: import, round create / solve / approve / export, users."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scenarios.named import scenario

ALLOCATOR = Path(sys.executable).parent / "allocator"


URL: dict[str, str] = {}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": URL["now"]}
    return subprocess.run([str(ALLOCATOR), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_round_lifecycle_from_the_terminal(tmp_path: Path, db_url: str) -> None:
    URL["now"] = db_url
    scenario("sample", 4).write(tmp_path / "s")
    for kind in ("lots", "points", "households"):
        done = run(tmp_path, "import", kind, str(tmp_path / "s" / f"{kind}.csv"))
        assert done.returncode == 0, done.stderr
    (tmp_path / "policy.json").write_text('{"budget_vnd": 100000000, "seed": 2}',
                                          encoding="utf-8")
    assert run(tmp_path, "round", "create", "--name", "Đợt 1", "--policy",
               str(tmp_path / "policy.json")).returncode == 0
    # A draft has no handover list: exit 2 with a sentence, as the API answers 409.
    draft = run(tmp_path, "round", "handover", "1", "--out", str(tmp_path / "d.csv"))
    assert draft.returncode == 2 and "draft" in draft.stderr and not (tmp_path / "d.csv").exists()
    solved = run(tmp_path, "round", "solve", "1")
    assert solved.returncode == 0 and "OPTIMAL" in solved.stdout
    assert run(tmp_path, "round", "approve", "1").returncode == 0
    again = run(tmp_path, "round", "solve", "1")
    assert again.returncode == 2 and "approved" in again.stderr
    assert run(tmp_path, "round", "export", "1", "--out", str(tmp_path / "x")).returncode == 0
    assert (tmp_path / "x" / "result" / "allocations.csv").exists()
    listed = run(tmp_path, "round", "handover", "1", "--out", str(tmp_path / "list.xlsx"))
    assert listed.returncode == 0 and (tmp_path / "list.xlsx").read_bytes()[:2] == b"PK"
    assert run(tmp_path, "round", "handover", "1", "--out", "x.pdf").returncode == 2
    # The operator's own mistakes are exit 2 with a sentence, never 'internal error'.
    nowhere = run(tmp_path, "round", "handover", "1", "--out", "/no/such/dir/x.csv")
    assert nowhere.returncode == 2 and "no such folder" in nowhere.stderr
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    blocked = run(tmp_path, "round", "export", "1", "--out", str(tmp_path / "a-file" / "x"))
    assert blocked.returncode == 2 and "a-file" in blocked.stderr
    assert "internal error" not in blocked.stderr and "Traceback" not in blocked.stderr
    assert "approved" in run(tmp_path, "round", "list").stdout
    missing = run(tmp_path, "round", "solve", "9")
    assert missing.returncode == 2 and "no round 9" in missing.stderr


def test_a_bad_import_exits_2(tmp_path: Path, db_url: str) -> None:
    URL["now"] = db_url
    (tmp_path / "h.csv").write_text("household_id,commune_code\nA,26740\n", encoding="utf-8")
    bad = run(tmp_path, "import", "households", str(tmp_path / "h.csv"))
    assert bad.returncode == 2 and "h.csv, row 1, column poverty_status" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_the_demo_command_runs_a_round_in_a_fresh_store(tmp_path: Path) -> None:
    """`make demo`: a solved and approved round, a draft variant, files, report, tokens."""
    import json

    from sqlalchemy import select

    from allocator.store.db import make_engine, make_sessions
    from allocator.store.models import Round

    done = subprocess.run([str(ALLOCATOR), "demo", "--folder", str(tmp_path / "d")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "name demo-planner, password " in done.stdout
    assert "name demo-sponsor, password " in done.stdout and "throwaway" in done.stdout
    assert "name demo-point, password " in done.stdout and "/point" in done.stdout
    result = tmp_path / "d" / "round-1" / "result"
    summary = json.loads((result / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "OPTIMAL"
    assert f"served {summary['served']:,} of {summary['eligible']:,}" in done.stdout
    assert "data-kpi" in (tmp_path / "d" / "report.html").read_text(encoding="utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'd' / 'allocator.db'}")
    with make_sessions(engine)() as session:
        rounds = session.scalars(select(Round).order_by(Round.id)).all()
        assert [(r.status, r.based_on) for r in rounds] == [("approved", None), ("draft", 1)]
        assert rounds[1].policy["budget_vnd"] == round(rounds[0].policy["budget_vnd"] * 1.1)
    engine.dispose()
