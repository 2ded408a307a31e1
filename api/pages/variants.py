"""A variant on the round page: how it differs from its base (the same data or not, and
which policy values), its result beside its base's once solved, and the next steps; and
before approval, which round approving it supersedes."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from allocator.report.labels import Text
from allocator.store.lifecycle import WITH_RESULTS, RoundStatus
from allocator.store.models import AllocationRow, Round
from allocator.store.variants import differences, supersedes

PERCENT = re.compile(r"\s*([+\-−]?)\s*(\d{1,6}(?:[.,]\d{1,6})?)\s*%?\s*")


def percent(text: str) -> float | None:
    """A percentage typed as people do ("10", "+10%", "-20,5", "−5"); None if it is not one."""
    found = PERCENT.fullmatch(text)
    if found is None:
        return None
    value = float(found.group(2).replace(",", "."))
    return -value if found.group(1) in ("-", "−") else value


def is_replan(row: Round) -> bool:
    """A re-plan (drafted from a round open for pickup), as opposed to a variant."""
    return bool((row.ledger or {}).get("replan_of"))


def variant_extras(session: Session, row: Round, t: Text) -> dict[str, Any]:
    """What the round page says of a variant, and which round its approval supersedes."""
    extras: dict[str, Any] = {"supersedes_next": None, "variant": None}
    if row.status == RoundStatus.SOLVED:
        old = supersedes(session, row)
        if old is not None:
            extras["supersedes_next"] = {"id": old, "kind": "replan" if is_replan(row)
                                         else "variant"}
    if is_replan(row):
        return extras
    found = differences(session, row)
    if found is None:
        return extras
    base = session.get_one(Round, found["base"])
    beside = None
    if (row.status in WITH_RESULTS and base.status in WITH_RESULTS and row.summary
            and base.summary and row.dashboard and base.dashboard):
        beside = _beside(session, base, row, t)
    extras["variant"] = {**found, "base_row": base, "beside": beside,
                         "files_said": ", ".join(t(f"file_{n}") for n in found["files"])}
    return extras


def _poor(dashboard: dict[str, Any]) -> tuple[int, int]:
    poor = (dashboard.get("kpis", {}).get("by_status") or {}).get("poor") or {}
    return int(poor.get("served", 0)), int(poor.get("eligible", 0))


def _beside(session: Session, base: Round, row: Round, t: Text) -> dict[str, Any]:
    """The two rounds' key figures side by side, and who is served in one and not the other."""
    a, b = base.summary or {}, row.summary or {}

    def change(x: float, y: float, show: Any) -> str:
        return ("+" if y > x else "−" if y < x else "") + show(abs(y - x))

    rows = [
        (t("served"), t.number(a["served"]), t.number(b["served"]),
         change(a["served"], b["served"], t.number)),
        (t("coverage_poor"), t.percent(*_poor(base.dashboard or {})),
         t.percent(*_poor(row.dashboard or {})),
         t.points(_poor(base.dashboard or {}), _poor(row.dashboard or {}))),
        (t("budget_used_short"), t.amount(a["budget_used_vnd"]), t.amount(b["budget_used_vnd"]),
         t.amount(b["budget_used_vnd"] - a["budget_used_vnd"], sign=True)),
        (t("distance"), t.number(a.get("stage3"), 1), t.number(b.get("stage3"), 1),
         change(float(a.get("stage3") or 0), float(b.get("stage3") or 0),
                lambda v: t.number(v, 1))),
        (t("devices_left"), t.number(a.get("devices_left")), t.number(b.get("devices_left")),
         change(int(a.get("devices_left") or 0), int(b.get("devices_left") or 0), t.number)),
    ]
    other = aliased(AllocationRow)
    both = int(session.scalar(
        select(func.count()).select_from(AllocationRow)
        .join(other, (other.household_id == AllocationRow.household_id)
              & (other.round_id == row.id))
        .where(AllocationRow.round_id == base.id)) or 0)
    return {"rows": rows, "both": both, "only_base": int(a["served"]) - both,
            "only_variant": int(b["served"]) - both}
