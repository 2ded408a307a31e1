"""Planners' notices API: counts, the portal's file, the needs-a-visit list; every download
audited under the planner's name; sponsors and point officers refused."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import select

from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.models import AuditEntry
from allocator.store.users import add_user
from api.main import create_app
from api.settings import Settings
from tests.store.notice_store import LANDLINE, approved_round

ROUTES = ("notices", "notices/export", "notices/export?format=xlsx&form=accented",
          "needs-visit", "needs-visit?format=csv")


def test_planners_read_the_notices_and_others_are_refused(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    prepare(engine)
    sessions = make_sessions(engine)
    with sessions() as session:
        round_id = approved_round(session, tmp_path / "round")
        tokens = {role: add_user(session, role, role, "S1" if role == "sponsor" else None,
                                 "setup", points=["UB-26740"] if role == "point" else ())[1]
                  for role in ("planner", "sponsor", "point")}
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        def get(path: str, role: str) -> Any:
            return client.get(f"/api/rounds/{round_id}/{path}",
                              headers={"Authorization": f"Bearer {tokens[role]}"})

        for path in ROUTES:
            for role in ("sponsor", "point"):
                refused = get(path, role)
                assert refused.status_code == 403, (path, role)
            assert client.get(f"/api/rounds/{round_id}/{path}").status_code == 401
        counts = get("notices", "planner").json()
        csv = get("notices/export", "planner")
        xlsx = get("notices/export?format=xlsx&form=accented&pending_only=true", "planner")
        visits = get("needs-visit", "planner").json()
        visits_csv = get("needs-visit?format=csv", "planner")
        bad = [get(p, "planner").status_code for p in (
            "notices/export?format=pdf", "notices/export?form=fancy", "needs-visit?format=xml")]
        missing = client.get("/api/rounds/999/notices",
                             headers={"Authorization": f"Bearer {tokens['planner']}"})
    with sessions() as session:
        audit = [(e.actor, e.action, e.detail.get("rows")) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(
                ["export notices", "download needs-a-visit list"])).order_by(AuditEntry.id))]
    engine.dispose()

    assert counts["by_status"]["pending"] == {"messages": 7, "segments_plain": counts[
        "segments_plain"], "segments": counts["segments"]}
    assert (counts["messages"], counts["needs_visit"]) == (7, 1)
    assert counts["segments"] > counts["segments_plain"] >= 7
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(io.BytesIO(csv.content), dtype=str, encoding="utf-8-sig")
    assert list(table.columns) == ["phone", "message"] and len(table) == 7
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert str(sheet["B2"].value).startswith("UBND Phường Sài Gòn: ")
    assert [v["household_id"] for v in visits] == [LANDLINE]
    assert visits[0]["reason"].startswith("The phone number is a landline")
    assert visits_csv.content.startswith(b"\xef\xbb\xbf")
    assert LANDLINE in visits_csv.content.decode("utf-8-sig")
    assert bad == [422, 422, 422] and missing.status_code == 404
    assert audit == [("planner", "export notices", 7), ("planner", "export notices", 7),
                     ("planner", "download needs-a-visit list", 1),
                     ("planner", "download needs-a-visit list", 1)]
