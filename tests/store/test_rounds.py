"""Rounds: frozen inputs, solve, approve, replay, export equal to the engine's own output."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from allocator.store.campaign import approve_round, create_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.lifecycle import WrongState
from allocator.store.rounds import export_round, import_folder_as_round, replay_round, solve_round
from scenarios.named import scenario

ALLOCATOR = Path(sys.executable).parent / "allocator"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    scenario("sample", 2).write(folder)
    return folder


@pytest.fixture()
def session(db_url: str) -> Iterator[Session]:
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as s:
        yield s
    engine.dispose()


def test_imported_folder_solves_exactly_as_the_command(session: Session, sample: Path,
                                                       tmp_path: Path) -> None:
    row = import_folder_as_round(session, sample, "sample", "planner")
    solve_round(session, row.id, "planner")
    export_round(session, row.id, tmp_path / "export")
    done = subprocess.run([str(ALLOCATOR), "solve", str(sample), "--out",
                           str(tmp_path / "cli"), "-q"], capture_output=True, timeout=300)
    assert done.returncode == 0
    for name in ("allocations.csv", "unserved.csv"):
        assert (tmp_path / "export" / "result" / name).read_bytes() == \
            (tmp_path / "cli" / name).read_bytes()
    assert replay_round(session, row.id, tmp_path / "replay")


def test_approved_round_is_frozen(session: Session, sample: Path, tmp_path: Path) -> None:
    from allocator.reference import hcmc_communes
    hcmc_communes()[["commune_code", "name", "lat", "lon"]].to_csv(tmp_path / "c.csv",
                                                                   index=False)
    for kind, path in (("communes", tmp_path / "c.csv"), ("lots", sample / "lots.csv"),
                       ("points", sample / "points.csv"),
                       ("households", sample / "households.csv")):
        assert import_file(session, kind, path, "planner").ok
    row = create_round(session, {"budget_vnd": 200_000_000, "seed": 3}, "r1", "planner")
    frozen = row.inputs
    solve_round(session, row.id, "planner")
    approve_round(session, row.id, "planner")
    with pytest.raises(WrongState):
        solve_round(session, row.id, "planner")
    with pytest.raises(WrongState):
        approve_round(session, row.id, "planner")
    # A registry edit after approval changes nothing in the round.
    text = (sample / "households.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    (tmp_path / "h.csv").write_text("\n".join(lines[:2]).replace(",0,", ",1,") + "\n",
                                    encoding="utf-8")
    assert import_file(session, "households", tmp_path / "h.csv", "planner").ok
    session.refresh(row)
    assert row.inputs == frozen and row.status == "approved"
    assert replay_round(session, row.id, tmp_path / "replay")


def test_a_replan_folder_keeps_its_keep_file_through_the_store(session: Session,
                                                              tmp_path: Path) -> None:
    """keep.csv is frozen with the round and solved with it, as `allocator solve` does."""
    example = Path(__file__).parents[1] / "fixtures" / "examples" / "ex03_replan"
    row = import_folder_as_round(session, example, "re-plan", "planner")
    solve_round(session, row.id, "planner")
    export_round(session, row.id, tmp_path / "export")
    assert (tmp_path / "export" / "keep.csv").read_bytes() == (example / "keep.csv").read_bytes()
    summary = session.get_one(type(row), row.id).summary or {}
    assert (summary["keep_served"], summary["keep_point"], summary["keep_lot"]) == (88, 67, 80)
