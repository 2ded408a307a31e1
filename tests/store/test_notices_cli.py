"""`allocator notices` from the terminal: export, mark-sent, visits, status; an operator's
mistake is one sentence and exit 2."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd

from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.rounds import import_folder_as_round
from tests.store.notice_store import LANDLINE, approved_round, write_folder

ALLOCATOR = Path(sys.executable).parent / "allocator"


def test_notices_from_the_terminal(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        round_id = approved_round(session, tmp_path / "round")
        draft = import_folder_as_round(session, write_folder(tmp_path / "draft"), "d", "x").id
    engine.dispose()
    env = {**os.environ, "DATABASE_URL": db_url}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(ALLOCATOR), "notices", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)

    r = str(round_id)
    for args, said in [
        (("export", str(draft), "--out", "x.csv"), "only when approved or pickup_over"),
        (("export", r, "--out", "x.txt"), "--format must be csv or xlsx"),
        (("export", r, "--out", "x.csv", "--format", "xlsx"), "does not match"),
        (("export", r, "--out", "x.csv", "--form", "fancy"), "--form must be"),
        (("export", r, "--out", "nowhere/x.csv"), "no such folder"),
        (("mark-sent", r), "give a results file or --all"),
        (("mark-sent", r, "--all"), "were never exported"),
        (("mark-sent", r, "missing.csv"), "missing.csv: no such file"),
    ]:
        done = run(*args)
        assert done.returncode == 2 and said in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr

    plain = run("export", r, "--out", "plain.csv")
    assert plain.returncode == 0, plain.stderr
    table = pd.read_csv(tmp_path / "plain.csv", dtype=str, encoding="utf-8-sig")
    assert list(table.columns) == ["phone", "message"] and len(table) == 7
    assert table["message"].str.startswith("UBND Phuong Sai Gon: ").all()
    accented = run("export", r, "--format", "xlsx", "--form", "accented", "--out", "a.xlsx")
    assert accented.returncode == 0, accented.stderr
    sheet = openpyxl.load_workbook(tmp_path / "a.xlsx").worksheets[0]
    assert str(sheet["B2"].value).startswith("UBND Phường Sài Gòn: ")

    (tmp_path / "results.csv").write_text("phone,status\n0901234500,sent\n0901234500,bogus\n",
                                          encoding="utf-8")
    bad = run("mark-sent", r, "results.csv")
    assert bad.returncode == 2
    assert "results.csv, row 3, column status: must be sent or failed" in bad.stderr
    (tmp_path / "results.csv").write_text("phone,status,error\n0901234500,sent,\n"
                                          "0901234501,failed,no signal\n", encoding="utf-8")
    good = run("mark-sent", r, "results.csv")
    assert good.returncode == 0 and "1 messages marked sent, 1 failed" in good.stdout
    everything = run("mark-sent", r, "--all")
    assert everything.returncode == 0 and "5 exported messages marked sent" in everything.stdout
    status = run("status", r)
    assert status.returncode == 0
    cells = [line.replace("│", " ").split() for line in status.stdout.splitlines()
             if "│" in line]
    assert {c[0]: c[1] for c in cells} == {"pending": "0", "sent": "6", "failed": "1",
                                           "all": "7"}
    assert "needs a visit: 1 households" in status.stdout

    visits = run("visits", r, "--out", "visits.xlsx")
    assert visits.returncode == 0 and "1 households need a visit" in visits.stdout
    book = openpyxl.load_workbook(io.BytesIO((tmp_path / "visits.xlsx").read_bytes()))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0] == ("Mã hộ", "Họ tên chủ hộ", "Xã/phường", "Mã điểm", "Điểm nhận", "Lý do")
    assert rows[1][:5] == (LANDLINE, f"Nguyễn Văn {LANDLINE}", "Phường Sài Gòn", "UB-26740",
                           "UBND Phường Sài Gòn")
    screen = run("visits", r)
    assert screen.returncode == 0 and LANDLINE in screen.stdout
