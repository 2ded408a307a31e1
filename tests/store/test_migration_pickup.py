"""Migration 0007 on a store of 0006 holding rounds: approved rounds get a pickup code for
every allocation and a window from tomorrow to their deadline; a round past its deadline
gets codes only; rounds not approved get nothing."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

from alembic import command
from sqlalchemy import MetaData, insert, select

from allocator.store.campaign import VIETNAM, deadline_at
from allocator.store.db import make_engine, prepare
from allocator.store.migrate import _config
from allocator.store.models import AllocationRow

BEFORE = "6a1f3c8e2b94"  # 0006, the campaign ledger
CROCKFORD = re.compile(r"[0-9A-HJKMNP-TV-Z]{8}")


def _inputs() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("points.csv", "point_id,name,commune_code,lat,lon,capacity\n"
                                       "P1,A,26740,,,40\nP2,B,26740,,,10\n")
    return buffer.getvalue()


def test_rounds_approved_before_codes_get_codes_and_windows(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as connection:
        command.upgrade(_config(connection), BEFORE)
    tables = MetaData()
    tables.reflect(engine)
    rounds, allocations = tables.tables["rounds"], tables.tables["allocations"]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    today = dt.datetime.now(VIETNAM).date()
    deadline = today + dt.timedelta(days=20)
    made = {1: ("approved", deadline_at(deadline)), 2: ("pickup_over", now - dt.timedelta(days=1)),
            3: ("solved", None), 4: ("superseded", deadline_at(deadline))}
    with engine.begin() as connection:
        for round_id, (status, until) in made.items():
            connection.execute(insert(rounds).values(
                id=round_id, name=f"r{round_id}", status=status, policy={}, seed=0,
                inputs_hash="x", inputs=_inputs(), engine_version="", solver_version="",
                error="", created_at=now, approved_at=now if until else None,
                pickup_deadline=until))
            connection.execute(insert(allocations), [
                {"round_id": round_id, "household_id": f"H{i:03d}", "lot_id": "L1",
                 "sponsor_id": "S1", "point_id": "P1" if i % 3 else "P2",
                 "commune_code": "26740", "poverty_status": "poor",
                 "flags": "elderly_alone" if i % 5 == 0 else "", "priority_weight": 1,
                 "public_cost_vnd": 1, "copay_vnd": 0, "distance_km": 1.0}
                for i in range(30)])
    prepare(engine)  # to the newest schema, with the data step

    with engine.connect() as connection:
        rows = connection.execute(select(
            AllocationRow.round_id, AllocationRow.household_id, AllocationRow.point_id,
            AllocationRow.pickup_code, AllocationRow.window_day, AllocationRow.window_start)
        ).all()
    engine.dispose()
    by_round: dict[int, list] = {r: [row for row in rows if row.round_id == r] for r in made}
    codes = [row.pickup_code for row in by_round[1] + by_round[2]]
    assert len(codes) == 60 and all(CROCKFORD.fullmatch(c) for c in codes)
    assert len(set(codes)) == 60
    assert all(row.pickup_code is None for row in by_round[3] + by_round[4])
    first = today + dt.timedelta(days=1)
    assert all(row.window_day is not None and first <= row.window_day <= deadline
               for row in by_round[1])
    assert all(row.window_day is None for row in by_round[2] + by_round[3] + by_round[4])
    used: dict[tuple, int] = {}
    for row in by_round[1]:
        key = (row.point_id, row.window_day, row.window_start)
        used[key] = used.get(key, 0) + 1
    # The default windows spread each point's capacity (40 and 10) over the weekdays.
    weekdays = sum((first + dt.timedelta(days=i)).weekday() < 5
                   for i in range((deadline - first).days + 1))
    for (point, _, _), n in used.items():
        assert n <= -(-{"P1": 40, "P2": 10}[point] // (2 * weekdays))
