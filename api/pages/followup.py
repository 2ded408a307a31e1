"""The follow-up call pages (planners and point officers): which rounds have a call list,
the list of one round with a button per answer, and the planner's draw.

Works without script: every answer is a plain form with three buttons (in use,
not in use, never received), a reason and a note; a refused answer comes back
with what was chosen and the error beside that household. Showing the list is a
read of names and phones, audited under the reader's name.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocator.report import vietnam_time
from allocator.store import followup
from allocator.store.audit import record_read
from allocator.store.lifecycle import RoundError, fresh
from allocator.store.models import AllocationRow, Round, User
from api.deps import RoundId, SessionDep
from api.pages.auth import Csrf, PageUser, Refused, check_csrf
from api.pages.campaign import day_text
from api.pages.render import page, text_for

router = APIRouter()
HouseholdId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
PointFilter = Annotated[str, Query(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]
Short = Annotated[str, Form(max_length=64)]
SHOW = ("all", "open")  # every household, or those not answered yet


def page_caller(user: PageUser) -> User:
    """A point officer or a planner: the people who make follow-up calls."""
    if user.role not in ("point", "planner"):
        raise Refused(403, "Trang này dành cho cán bộ điểm nhận và cán bộ lập kế hoạch. / "
                           "Point officers and planners only.", user)
    return user


PageCaller = Annotated[User, Depends(page_caller)]


def local(moment: dt.datetime | None) -> str:
    """A stored moment (UTC) as Vietnam's day and time."""
    return "" if moment is None else vietnam_time.moment(moment)


@router.get("/followups", response_class=HTMLResponse)
def followup_rounds(request: Request, session: SessionDep, user: PageCaller) -> Response:
    """Rounds with a call list at the reader's points; for planners also the rounds that
    handed phones over and are still to be drawn, with the day they are due."""
    t = text_for(request)
    listed = {r["round_id"]: r for r in followup.rounds_with_followups(session, user)}
    rounds: list[dict[str, Any]] = []
    if user.role == "planner":
        handed = session.execute(
            select(Round, func.count()).join(AllocationRow, AllocationRow.round_id == Round.id)
            .where(AllocationRow.handed_over_at.is_not(None),
                   Round.status.in_([s.value for s in followup.DRAWABLE]))
            .group_by(Round.id).order_by(Round.id)).all()
        for row, served in handed:
            due = followup.due_day(session, row)
            rounds.append({"round_id": row.id, "name": row.name, "status": row.status,
                           "served": int(served), "due": day_text(t, due),
                           "is_due": due is not None and due <= followup.vietnam_day(
                               dt.datetime.now(dt.UTC)),
                           **listed.pop(row.id, {"listed": 0, "answered": 0})})
    rounds += [{**r, "status": "", "served": None, "due": "", "is_due": False}
               for r in listed.values()]
    rounds.sort(key=lambda r: r["round_id"])
    return page(request, "followups.html", user,
                title="Gọi lại sau bàn giao / Follow-up calls", rounds=rounds)


def _show(request: Request, session: Session, user: User, round_id: int, *,
          point: str = "", show: str = "all", status_code: int = 200, notice: str = "",
          error: str = "", error_for: str = "", typed: dict[str, str] | None = None
          ) -> Response:
    """The round's call list at the reader's points (one point if chosen)."""
    t = text_for(request)
    row = fresh(session, round_id)
    everyone = followup.call_list(session, user, round_id)
    points = sorted({(c.point_id, c.point_name) for c in everyone})
    calls = [c for c in everyone if (not point or c.point_id == point)
             and (show != "open" or c.answer is None or c.household_id == error_for)]
    when = followup.drawn(session, round_id)
    due = followup.due_day(session, row) if when is None else None
    answered = [c for c in everyone if c.answer]
    in_use = sum(c.answer == "in_use" for c in answered)
    context = {
        "row": row, "calls": calls, "points": points, "point": point, "show": show,
        "drawn_at": local(when[0]) if when else "", "seed": when[1] if when else None,
        "due": day_text(t, due) if due else "", "listed": len(everyone),
        "answered": len(answered), "in_use": in_use, "local": local, "notice": notice,
        "error": error, "error_for": error_for, "typed": typed or {},
        "answers": followup.ANSWERS, "reasons": followup.REASONS,
        "share": followup.SHARE, "minimum": followup.MINIMUM,
        "can_draw": user.role == "planner" and when is None
        and row.status in followup.DRAWABLE}
    # Every row is fetched: the read is recorded (and committed) before the page is drawn.
    record_read(session, user.name, "read follow-up list", f"round {round_id}",
                {"point": point or None, "rows": len(calls), "via": "page"})
    return page(request, "followup.html", user, status_code,
                title=f"Gọi lại sau bàn giao, đợt {round_id} / Follow-up calls, round "
                      f"{round_id}", **context)


def _here(round_id: int, point: str, show: str, anchor: str = "") -> str:
    query = urlencode({k: v for k, v in (("point", point), ("show", show)) if v and v != "all"})
    return f"/rounds/{round_id}/followups" + (f"?{query}" if query else "") + anchor


@router.get("/rounds/{round_id}/followups", response_class=HTMLResponse)
def followup_page(request: Request, round_id: RoundId, session: SessionDep, user: PageCaller,
                  point: PointFilter = "",
                  show: Annotated[str, Query(max_length=8)] = "all",
                  done: Annotated[str, Query(max_length=20)] = "") -> Response:
    return _show(request, session, user, round_id, point=point,
                 show=show if show in SHOW else "all",
                 notice="drawn" if done == "drawn" else "")


def _number(text: str, kind: type[int] | type[float]) -> Any:
    text = text.strip().replace(",", ".")
    try:
        return kind(text) if text else None
    except ValueError:
        return text


@router.post("/rounds/{round_id}/followups", response_class=HTMLResponse)
def draw_form(request: Request, round_id: RoundId, session: SessionDep, user: PageCaller,
              csrf: Csrf = "", share_percent: Short = "", minimum: Short = "",
              seed: Short = "") -> Response:
    """The planner's draw: a share in per cent, a minimum, and a seed or none."""
    check_csrf(request, csrf)
    if user.role != "planner":
        raise Refused(403, "Chỉ cán bộ lập kế hoạch rút danh sách gọi lại. / "
                           "Only planners draw the follow-up list.", user)
    t = text_for(request)
    percent = _number(share_percent, float)
    share = percent / 100 if isinstance(percent, float) else followup.SHARE \
        if percent is None else percent
    chosen_minimum = _number(minimum, int)
    try:
        followup.draw(session, round_id, user.name, share=share,
                      minimum=followup.MINIMUM if chosen_minimum is None else chosen_minimum,
                      seed=_number(seed, int))
    except followup.FollowUpError as error:
        return _show(request, session, user, round_id, status_code=error.status,
                     error=error.vi if t.lang == "vi" else str(error),
                     typed={"share_percent": share_percent, "minimum": minimum, "seed": seed})
    return RedirectResponse(f"/rounds/{round_id}/followups?done=drawn", status_code=303)


@router.post("/rounds/{round_id}/followups/{household_id}", response_class=HTMLResponse)
def answer_form(request: Request, round_id: RoundId, household_id: HouseholdId,
                session: SessionDep, user: PageCaller, csrf: Csrf = "", answer: Short = "",
                reason: Short = "", note: Annotated[str, Form(max_length=2000)] = "",
                point: Short = "", show: Short = "") -> Response:
    """One call's answer; the list comes back at that household."""
    check_csrf(request, csrf)
    t = text_for(request)
    try:
        followup.answer(session, user, round_id, household_id, answer, reason, note)
    except (followup.NotYours, followup.NotOnList) as error:
        session.refresh(user)
        raise Refused(error.status, f"{error.vi} / {error}", user) from None
    except (followup.FollowUpError, RoundError) as error:
        said = error.vi if isinstance(error, followup.FollowUpError) else str(error)
        return _show(request, session, user, round_id, point=point,
                     show=show if show in SHOW else "all",
                     status_code=getattr(error, "status", 409),
                     error=said if t.lang == "vi" else str(error), error_for=household_id,
                     typed={"reason": reason, "note": note})
    anchor = f"#h-{quote(household_id, safe='')}"
    return RedirectResponse(_here(round_id, point, show if show in SHOW else "all", anchor),
                            status_code=303)
