"""The handover page at the distribution point (/point): find a household, check the
holder's ID card, record the device handed over (or why not), undo it the same day.

Made for an officer's phone at arm's length. Of a household it shows only what a
handover needs (head's name, phone, code, window, device); never any digit of
the ID number: the officer types the last 4 from the card the person shows.

The form works without script: a plain POST that, when refused, comes back
with what was typed (the 4 ID digits too: the officer typed them a moment ago
and retyping them helps no one) and the error next to its field. With script
(static/point.js) it is sent with fetch, so a dropped connection loses nothing;
each rendered form carries an idempotency key drawn here, so sending it again
records once.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.pickup_codes import normalise_code
from allocator.report import vietnam_time
from allocator.report.labels import Text
from allocator.store import point_desk
from allocator.store.audit import record_read
from allocator.store.campaign import VIETNAM
from allocator.store.lifecycle import PICKING_UP
from allocator.store.models import AllocationRow, Handover, Point, Round, User
from allocator.store.papers import NoSuchPlace, PaperRefused, handover_papers
from allocator.store.papers_xlsx import as_workbook, file_name
from api.deps import RoundId, SessionDep
from api.pages.auth import Csrf, PageUser, Refused, check_csrf
from api.pages.campaign import day_text
from api.pages.render import page, text_for
from api.routers.rounds import XLSX
from api.settings import issuing_office
from api.statuses import status_of

router = APIRouter()
HouseholdId = Annotated[str, Path(min_length=1, max_length=64,
                                  pattern=r"^[^\x00-\x1f\x7f/]+$")]
Short = Annotated[str, Form(max_length=64)]
Long = Annotated[str, Form(max_length=1000)]
FIELDS = ("id_last4", "authorised_note", "outcome", "imei", "iccid", "note")
OUTCOMES = ("handed", "faulty", "refused")


def page_point(user: PageUser) -> User:
    """A point officer, or a planner (who may work at any point)."""
    if user.role not in ("point", "planner"):
        raise Refused(403, "Trang này dành cho cán bộ điểm nhận. / Point officers only.", user)
    return user


PagePoint = Annotated[User, Depends(page_point)]


@dataclass
class Typed:
    """What the officer typed into the handover form, to show again when it is refused."""

    values: dict[str, str] = field(default_factory=dict)
    authorised: bool = False
    errors: dict[str, str] = field(default_factory=dict)  # field ("" = the form) -> message


def new_key() -> str:
    """The idempotency key of one rendered form."""
    return secrets.token_urlsafe(24)


def _say(t: Text, error: point_desk.DeskError) -> str:
    return error.message if t.lang == "vi" else error.english


def _refused(session: Session, user: User, error: point_desk.DeskError) -> Refused:
    """The desk's NotYours (403) or NotFound (404) as a page."""
    # The desk rolls back on a refusal; the error page is drawn after the session closes.
    session.refresh(user)
    return Refused(status_of(error), f"{error.message} / {error.english}", user)


def _row(session: Session, user: User, round_id: int,
         household_id: str) -> point_desk.DeskRow:
    try:
        return point_desk.get(session, user, round_id, household_id)
    except (point_desk.NotYours, point_desk.NotFound) as error:
        raise _refused(session, user, error) from error


def _wants_json(request: Request) -> bool:
    """The page's script sends the form with fetch and reads the answer as JSON."""
    return "application/json" in request.headers.get("accept", "")


def _household_url(round_id: int, household_id: str, **query: int) -> str:
    tail = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/point/{round_id}/{quote(household_id, safe='')}" + (f"?{tail}" if tail else "")


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return vietnam_time.in_vietnam(moment)


def _tools(session: Session, user: User) -> list[tuple[str, str, str, int | None]]:
    """Links (address, label, point, round) to the officer's other tools: the pickup slips of their
    points (api/pages/slips.py), and the handover list of each point in each open round."""
    links: list[tuple[str, str, str, int | None]] = [("/slips", "desk_slips", "", None)]
    points = point_desk.desk_points(session, user)
    if points:  # a planner has every round's list on the round's page
        served = session.execute(
            select(AllocationRow.round_id, AllocationRow.point_id).distinct()
            .join(Round, Round.id == AllocationRow.round_id)
            .where(Round.status.in_(list(PICKING_UP)), AllocationRow.point_id.in_(points))
            .order_by(AllocationRow.round_id, AllocationRow.point_id)).all()
        links += [(f"/point/rounds/{r}/handover-list.xlsx?point={quote(p, safe='')}",
                   "desk_handover_list", p, r) for r, p in served]
    return links


def _points(session: Session, user: User) -> list[tuple[str, str]] | None:
    chosen = point_desk.desk_points(session, user)
    if chosen is None:
        return None
    names = dict(session.execute(select(Point.id, Point.name).where(Point.id.in_(chosen))).all())
    return [(p, names.get(p, "")) for p in chosen]


@router.get("/point", response_class=HTMLResponse)
def point_page(request: Request, session: SessionDep, user: PagePoint,
               q: Annotated[str, Query(max_length=100)] = "") -> Response:
    """The search box and what it found at the officer's points."""
    query = q.strip()
    rows: list[point_desk.DeskRow] = []
    error = ""
    if query:
        try:
            rows = point_desk.find(session, user, query)
        except point_desk.DeskError as refused:
            error = _say(text_for(request), refused)
        # A code (typed or scanned) names one household: go straight to it.
        if len(rows) == 1 and normalise_code(query):
            return RedirectResponse(_household_url(rows[0].round_id, rows[0].household_id),
                                    status_code=303)
    return page(request, "point.html", user, title="Trao máy / Handover", q=query, rows=rows,
                error=error, points=_points(session, user),
                tools=_tools(session, user))


def _household_page(request: Request, session: Session, user: User, row: point_desk.DeskRow,
                    *, key: str, typed: Typed | None = None, done: int | None = None,
                    undone: bool = False, undo_error: str = "",
                    status_code: int = 200) -> Response:
    t = text_for(request)
    recorded = _local(row.recorded_at)
    today = dt.datetime.now(VIETNAM).date()
    return page(request, "point_household.html", user, status_code,
                title=f"{row.head_name} — Trao máy / Handover", row=row,
                typed=typed or Typed(values={"outcome": "handed"}), key=key,
                done=done is not None and done == row.handover_id, undone=undone,
                undo_error=undo_error, recorded=recorded,
                # The desk lets only the officer who recorded it (or a planner) undo it.
                can_undo=(row.handover_id is not None and recorded is not None
                          and recorded.date() == today
                          and (user.role == "planner" or row.recorded_by == user.name)),
                window_day=day_text(t, row.window_day) if row.window_day else "",
                fields=FIELDS, outcomes=OUTCOMES, tools=_tools(session, user))


@router.get("/point/{round_id}/{household_id}", response_class=HTMLResponse)
def household_page(request: Request, session: SessionDep, user: PagePoint, round_id: RoundId,
                   household_id: HouseholdId,
                   done: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
                   undone: bool = False) -> Response:
    """One household: its card, its record if any, and the handover form."""
    row = _row(session, user, round_id, household_id)
    return _household_page(request, session, user, row, key=new_key(), done=done,
                           undone=undone)


@router.post("/point/{round_id}/{household_id}", response_class=HTMLResponse)
def record_handover(request: Request, session: SessionDep, user: PagePoint, round_id: RoundId,
                    household_id: HouseholdId, csrf: Csrf = "", key: Short = "",
                    id_last4: Short = "", authorised: Short = "", authorised_note: Long = "",
                    outcome: Short = "", imei: Short = "", iccid: Short = "",
                    note: Long = "") -> Response:
    """Record what happened at the desk; the same key sent again records nothing more."""
    check_csrf(request, csrf)
    t = text_for(request)
    typed = Typed(values={"id_last4": id_last4, "authorised_note": authorised_note,
                          "outcome": outcome, "imei": imei, "iccid": iccid, "note": note},
                  authorised=bool(authorised))
    if typed.authorised and not authorised_note.strip():
        # The ticked box is the officer's word; the exception also needs the written note.
        typed.errors["authorised_note"] = t("desk_authorised_note_missing")
    else:
        try:
            handover = point_desk.record(
                session, user, round_id=round_id, household_id=household_id,
                id_last4=id_last4, authorised_note=authorised_note if typed.authorised else "",
                outcome=outcome, imei=imei, iccid=iccid, note=note, idempotency_key=key)
        except (point_desk.NotYours, point_desk.NotFound) as error:
            raise _refused(session, user, error) from error
        except point_desk.DeskError as error:
            typed.errors[error.field if error.field in FIELDS else ""] = _say(t, error)
        else:
            url = _household_url(round_id, household_id, done=handover.id)
            if _wants_json(request):
                return JSONResponse({"ok": True, "url": url, "handover": handover.id})
            return RedirectResponse(url, status_code=303)
    row = _row(session, user, round_id, household_id)  # another point's: 403 before any word
    if _wants_json(request):
        (where, message), = typed.errors.items()
        return JSONResponse({"ok": False, "field": where or None, "message": message},
                            status_code=422)
    return _household_page(request, session, user, row, key=key or new_key(), typed=typed,
                           status_code=422)


@router.post("/point/{round_id}/{household_id}/undo", response_class=HTMLResponse)
def undo_handover(request: Request, session: SessionDep, user: PagePoint, round_id: RoundId,
                  household_id: HouseholdId, csrf: Csrf = "",
                  handover: Annotated[int, Form(ge=1, le=2_147_483_647)] = 1,
                  reason: Long = "") -> Response:
    """Undo the household's record, the same day, with a reason."""
    check_csrf(request, csrf)
    row = _row(session, user, round_id, household_id)
    t = text_for(request)
    url = _household_url(round_id, household_id, undone=1)
    message = ""
    if row.handover_id != handover:
        earlier = session.get(Handover, handover)
        if (earlier is not None and earlier.undone_at is not None
                and (earlier.round_id, earlier.household_id) == (round_id, household_id)):
            # Undone already: the first request got through and its answer was lost.
            return (JSONResponse({"ok": True, "url": url}) if _wants_json(request)
                    else RedirectResponse(url, status_code=303))
        message = t("desk_record_changed")
    else:
        try:
            point_desk.undo(session, user, handover, reason)
        except (point_desk.NotYours, point_desk.NotFound) as error:
            raise _refused(session, user, error) from error
        except point_desk.DeskError as error:
            message = _say(t, error)
    if not message:
        return (JSONResponse({"ok": True, "url": url}) if _wants_json(request)
                else RedirectResponse(url, status_code=303))
    if _wants_json(request):
        return JSONResponse({"ok": False, "field": "reason", "message": message},
                            status_code=422)
    return _household_page(request, session, user, _row(session, user, round_id, household_id),
                           key=new_key(), undo_error=message, status_code=422)


@router.get("/point/rounds/{round_id}/handover-list.xlsx")
def handover_list_file(request: Request, session: SessionDep, user: PagePoint,
                       round_id: RoundId,
                       point: Annotated[str, Query(min_length=1, max_length=64,
                                                   pattern=r"^[^\x00-\x1f\x7f]+$")]
                       ) -> Response:
    """The printable handover list of one of the officer's points (signed at the desk)."""
    points = point_desk.desk_points(session, user)
    if points is not None and point not in points:
        raise Refused(403, f"Điểm {point} không phải điểm của bạn. / "
                           f"Point {point} is not one of yours.", user)
    try:
        point_desk.open_round(session, round_id)
    except point_desk.NotFound as error:
        raise _refused(session, user, error) from error
    try:  # the official paper: the point's own households, heading and signatures
        papers = handover_papers(session, round_id, "point", point,
                                 office=issuing_office(request))
    except PaperRefused as error:
        raise Refused(404 if isinstance(error, NoSuchPlace) else 409,
                      error.said(text_for(request).lang), user) from error
    record_read(session, user.name, "download handover list", f"round {round_id}",
                {"point": point, "format": "xlsx", "rows": len(papers.sheets[0].rows)})
    name = file_name(papers, "point", point)
    return Response(as_workbook(papers), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
