"""Cost of input: a large valid household import, and a zip bomb refused.

    .venv/bin/python -m tests.bench.imports [--rows 2000000] [--postgres URL]

Generates a households CSV (cached under .bench/imports), then imports it in a
fresh child process through `allocator.store.imports.import_file` into a fresh
SQLite store (and a fresh PostgreSQL database when --postgres or
TEST_POSTGRES_URL gives a server). A second child sends a 2 MB zip that unpacks
to 1,000 MB (households.csv of a million rows of commas) to
`POST /api/rounds/import-folder`, which must refuse it; a third imports the same
households with a bad poverty status in every row, which must be refused with a
report of at most 1,000 problems. Prints a markdown table: seconds of the work,
the child's CPU seconds, and its peak resident memory (getrusage via wait4).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".bench" / "imports"
BOMB_ROWS, BOMB_WIDTH = 1_000_000, 1_000  # a million rows of a thousand commas: 1,000 MB


def households_csv(rows: int) -> Path:
    """A valid households file of `rows` rows, all columns given (made once, then reused)."""
    import numpy as np
    import pandas as pd

    from allocator.reference import hcmc_communes

    path = WORK / f"households-{rows}.csv"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    communes = hcmc_communes()
    at = rng.integers(0, len(communes), rows)
    numbers = np.arange(rows)
    names = np.array(["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Thị Dung"])
    flags = np.array(["", "merit_family", "elderly_alone;disability", "student"])
    table = pd.DataFrame({
        "household_id": pd.Series(numbers).map("HH{:08d}".format),
        "commune_code": communes["commune_code"].to_numpy()[at],
        "poverty_status": rng.choice(["poor", "near_poor", "other"], rows),
        "members": rng.integers(1, 8, rows),
        "twog_handsets": rng.integers(0, 3, rows),
        "smartphones": rng.integers(0, 2, rows),
        "flags": flags[rng.integers(0, len(flags), rows)],
        "needs": "",
        "lat": (communes["lat"].to_numpy()[at] + rng.normal(0, 0.01, rows)).round(6),
        "lon": (communes["lon"].to_numpy()[at] + rng.normal(0, 0.01, rows)).round(6),
        "head_name": names[numbers % len(names)],
        "phone": pd.Series(numbers).map("09{:08d}".format),
        "national_id": pd.Series(numbers).map("079{:09d}".format),
    })
    table.to_csv(path.with_suffix(".part"), index=False)
    path.with_suffix(".part").rename(path)
    return path


def bad_every_row(good: Path) -> Path:
    """The households file with a poverty status no one uses in every row."""
    path = good.with_name(good.stem + "-bad.csv")
    if path.exists():
        return path
    with good.open("rb") as source, path.with_suffix(".part").open("wb") as out:
        for line in source:
            out.write(line.replace(b",poor,", b",poorly,").replace(b",near_poor,", b",nearly,")
                      .replace(b",other,", b",others,"))
    path.with_suffix(".part").rename(path)
    return path


def bomb_zip() -> Path:
    """A zipped contract folder whose households.csv unpacks to 1,000 MB of commas."""
    path = WORK / "bomb.zip"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    line = b"," * (BOMB_WIDTH - 1) + b"\n"
    block = line * 1000
    with zipfile.ZipFile(path.with_suffix(".part"), "w", zipfile.ZIP_DEFLATED,
                         compresslevel=9) as archive, \
            archive.open("households.csv", "w", force_zip64=True) as member:
        for _ in range(BOMB_ROWS // 1000):
            member.write(block)
    path.with_suffix(".part").rename(path)
    return path


def fresh_database(kind: str, server: str | None) -> tuple[str, object]:
    """A new empty database URL and a function that removes it."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="bench-imports-")
        path = Path(folder) / "store.db"

        def drop_file() -> None:
            for leftover in Path(folder).glob("*"):
                leftover.unlink()
            Path(folder).rmdir()
        return f"sqlite:///{path}", drop_file
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    assert server is not None
    name = f"allocator_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop_database() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False), \
        drop_database


def child(argv: list[str]) -> dict[str, Any]:
    """One measured piece of work, run in its own process; returns what it saw."""
    from allocator.issues import issue_lines
    from allocator.reference import hcmc_communes
    from allocator.store.db import make_engine, make_sessions, prepare
    from allocator.store.imports import import_file

    what, url, file = argv
    engine = make_engine(url)
    prepare(engine)
    sessions = make_sessions(engine)
    with tempfile.TemporaryDirectory() as tmp:
        communes = Path(tmp) / "communes.csv"
        hcmc_communes()[["commune_code", "name", "lat", "lon"]].to_csv(communes, index=False)
        with sessions() as session:
            assert import_file(session, "communes", communes, "bench").ok
    if what in ("households", "refused"):
        with sessions() as session:
            started = time.perf_counter()
            report = import_file(session, "households", Path(file), "bench")
            seconds = time.perf_counter() - started
        if what == "refused":
            body = json.dumps({"detail": issue_lines(report.issues)})
            return {"seconds": seconds, "rows": sum(1 for _ in open(file, "rb")) - 1,
                    "answer": f"refused: {len(issue_lines(report.issues)):,} lines, "
                              f"{len(body) / 1024:,.0f} KB of JSON"}
        assert report.ok, report.issues[:5]
        return {"seconds": seconds, "rows": report.inserted + report.updated, "answer": "ok"}
    from fastapi.testclient import TestClient

    from allocator.store.users import add_user
    from api.main import create_app
    from api.settings import Settings

    with sessions() as session:
        token = add_user(session, "bench", "planner", None, "bench")[1]
    engine.dispose()
    with TestClient(create_app(Settings(database_url=url)),
                    raise_server_exceptions=False) as client, open(file, "rb") as data:
        started = time.perf_counter()
        answer = client.post("/api/rounds/import-folder",
                             headers={"Authorization": f"Bearer {token}"},
                             files={"file": ("bomb.zip", data, "application/zip")})
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": BOMB_ROWS,
            "answer": f"{answer.status_code} {answer.text[:160]}"}


def measure(what: str, url: str, file: Path) -> dict[str, Any]:
    """Run `child` in a new process; its own peak resident memory comes from wait4."""
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen([sys.executable, "-m", "tests.bench.imports", "--child",
                                    what, url, str(file)], cwd=ROOT, stdout=out)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        lines = out.read().strip().splitlines()
    record: dict[str, Any] = json.loads(lines[-1]) if process.returncode == 0 and lines \
        else {"answer": f"child failed ({process.returncode})"}
    record["peak_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    record["cpu"] = usage.ru_utime + usage.ru_stime  # the whole child, setup included
    return record


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2:])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    print(f"[bench] generating {args.rows:,} households", file=sys.stderr, flush=True)
    csv_path = households_csv(args.rows)
    bad_path = bad_every_row(csv_path)
    bomb = bomb_zip()
    databases = ["sqlite"] + (["postgresql"] if args.postgres else [])
    lines = ["| work | database | rows | file MB | answer | seconds | child CPU s "
             "| peak RSS MB |", "|---|---|---:|---:|---|---:|---:|---:|"]
    for kind in databases:
        for what, file in (("zip bomb refused", bomb), ("bad cell in every row", bad_path),
                           ("households", csv_path)):
            url, drop = fresh_database(kind, args.postgres or None)
            try:
                print(f"[bench] {what} on {kind}", file=sys.stderr, flush=True)
                r = measure({"households": "households", "zip bomb refused": "bomb"}.get(
                    what, "refused"), url, file)
            finally:
                drop()  # type: ignore[operator]
            lines.append(f"| {what} | {kind} | {r.get('rows', 0):,} | "
                         f"{file.stat().st_size / 2**20:,.1f} | {r.get('answer', '')} | "
                         f"{r.get('seconds', 0.0):,.1f} | {r.get('cpu', 0.0):,.1f} | "
                         f"{r.get('peak_mb', 0.0):,.0f} |")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n`.venv/bin/python -m tests.bench.imports --rows {args.rows}` on "
          f"{os.cpu_count()} cores; load average at the end: {load}\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
