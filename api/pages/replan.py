"""Re-plans on the round pages: what the round page adds for a round open for pickup or a
re-plan of one, the re-plan form's fields, and the difference a re-plan makes for
households (page and CSV, planners only)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocator.issues import InputIssue
from allocator.store.audit import record_read
from allocator.store.campaign import CHANGES, deadline_day, replan_diff
from allocator.store.lifecycle import PICKING_UP, WITH_RESULTS, RoundError, RoundStatus
from allocator.store.models import AllocationRow, Round
from allocator.tabular import csv_bytes
from api.deps import RoundId, SessionDep
from api.pages.auth import PagePlanner
from api.pages.render import error_page, page, text_for
from api.statuses import status_of

router = APIRouter()
SHOWN = 500  # households listed on the page; the CSV holds them all
CHANGED = tuple(c for c in CHANGES if c != "keeps")
COLUMNS = ("household_id", "change", "point_before", "lot_before", "point_after", "lot_after",
           "reason", "detail")


def round_extras(session: Session, row: Round) -> dict[str, Any]:
    """What the round page shows beyond the dashboard: the pickup deadline and the phones
    still waiting (a round open for pickup), and a re-plan's difference in counts."""
    extras: dict[str, Any] = {"deadline": None, "waiting": 0, "without_window": 0,
                              "diff": None}
    if row.pickup_deadline is not None:
        extras["deadline"] = deadline_day(row.pickup_deadline)
    if row.status in PICKING_UP:
        extras["waiting"] = int(session.scalar(
            select(func.count()).select_from(AllocationRow).where(
                AllocationRow.round_id == row.id, AllocationRow.handed_over_at.is_(None),
                AllocationRow.released_at.is_(None))) or 0)
        # Approval gives windows within capacity; who did not fit waits to be told a time.
        extras["without_window"] = int(session.scalar(
            select(func.count()).select_from(AllocationRow).where(
                AllocationRow.round_id == row.id, AllocationRow.handed_over_at.is_(None),
                AllocationRow.released_at.is_(None), AllocationRow.window_day.is_(None))) or 0)
    if row.replaces is not None and row.status in WITH_RESULTS:
        try:
            found = replan_diff(session, row.id)
        except RoundError:  # the round it replaces is gone: nothing to compare with
            return extras
        extras["diff"] = {"counts": found["counts"],
                          "handed_over_fixed": found["handed_over_fixed"]}
    return extras


def ids(text: str) -> list[str]:
    """Ids typed or pasted by people: separated by commas, semicolons, spaces or lines."""
    return [x for x in re.split(r"[\s,;]+", text.strip()) if x]


def quantities(text: str) -> tuple[dict[str, int], list[InputIssue]]:
    """`LOT-1=20, LOT-2: 0` as {lot: devices}; each pair not understood is an issue."""
    found: dict[str, int] = {}
    issues = []
    for pair in re.split(r"[\n,;]+", text.strip()):
        if not pair.strip():
            continue
        match = re.fullmatch(r"\s*(\S+?)\s*[=:]\s*([0-9][0-9.]*)\s*", pair)
        number = match.group(2).replace(".", "") if match else ""
        if match is None or not number.isdigit() or len(number) > 9:
            issues.append(InputIssue("re-plan", 0, "lot_quantities",
                                     f"{pair.strip()[:60]!r}: write a lot and its devices as "
                                     "LOT=20"))
            continue
        found[match.group(1)] = int(number)
    return found, issues


def _version(request: Request, session: Session, user: Any, round_id: int
             ) -> tuple[Round | None, dict[str, Any] | None, Response | None]:
    row = session.get(Round, round_id)
    if row is None:
        return None, None, error_page(request, 404, f"Không có đợt {round_id} / no round "
                                      f"{round_id}", user)
    try:
        return row, replan_diff(session, round_id), None
    except RoundError as error:
        return row, None, error_page(request, status_of(error), str(error), user)


@router.get("/rounds/{round_id}/diff", response_class=HTMLResponse)
def diff_page(request: Request, round_id: RoundId, session: SessionDep,
              user: PagePlanner) -> Response:
    """What a solved re-plan changes for households, against the round it replaces."""
    row, found, refused = _version(request, session, user, round_id)
    if refused is not None or row is None or found is None:
        return refused or error_page(request, 404, "", user)
    changed = [h for h in found["households"] if h["change"] != "keeps"]
    record_read(session, user.name, "read re-plan difference", f"round {round_id}",
                {"shown": min(len(changed), SHOWN)})
    t = text_for(request)
    return page(request, "replan_diff.html", user,
                title=f"{t('round')} {row.id}: {t('replan_difference')}", row=row, found=found,
                changed=changed[:SHOWN], total=len(changed), shown_max=SHOWN, kinds=CHANGED,
                approvable=row.status == RoundStatus.SOLVED)


@router.get("/rounds/{round_id}/diff.csv")
def diff_csv(request: Request, round_id: RoundId, session: SessionDep,
             user: PagePlanner) -> Response:
    """Every household a re-plan changes, for the points to call or write to."""
    row, found, refused = _version(request, session, user, round_id)
    if refused is not None or found is None:
        return refused or error_page(request, 404, "", user)
    changed = [h for h in found["households"] if h["change"] != "keeps"]
    record_read(session, user.name, "download re-plan difference", f"round {round_id}",
                {"rows": len(changed)})
    data = csv_bytes(["round_id", "replaces", *COLUMNS],
                     [[round_id, found["replaces"], *(h[c] for c in COLUMNS)] for h in changed])
    return Response(data, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="thay-doi-dot-{round_id}.csv"'})
