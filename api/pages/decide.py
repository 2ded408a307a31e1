"""The planner's decisions on a round, each confirmed first: approving (what it reserves,
whom it tells, until when, which round it supersedes) and closing (what goes back to
stock, who becomes a no-show). The confirmation is a page the server renders, so it
works without JavaScript; its form has no field to type in, so Enter cannot send it
by accident, and the decision's button is never the page's first."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from allocator.report.labels import Text
from allocator.store import commitments
from allocator.store.campaign import approve_round, close_round
from allocator.store.lifecycle import RoundError
from allocator.store.models import Round
from api.deps import RoundId, SessionDep
from api.pages.auth import Csrf, PagePlanner, check_csrf
from api.pages.planner import _dashboard
from api.pages.refusals import said, with_n
from api.pages.render import error_page, page, text_for
from api.statuses import status_of

router = APIRouter()
Flag = Annotated[str, Form(max_length=8)]


def _day(day: dt.date | None) -> str:
    return "–" if day is None else f"{day:%d/%m/%Y}"  # dd/mm/yyyy in both languages


def approval_lines(t: Text, found: dict[str, Any]) -> tuple[list[str], list[str]]:
    """What approving commits, as sentences; and the warnings (what will be refused)."""
    deadline = _day(found["pickup_deadline"])
    lines = [with_n(t, "commit_reserve", phones=t.number(found["phones"]), deadline=deadline,
                    days=t.number(found["pickup_days"])),
             with_n(t, "commit_notify", n=t.number(found["to_notify"]))]
    left = found["budget_left_vnd"]
    cost = t.money_words(found["cost_vnd"])
    lines.append(with_n(t, "commit_budget", cost=cost, left=t.money_words(left))
                 if left is not None else with_n(t, "commit_budget_round", cost=cost))
    old = found["supersedes"]
    if old is not None and old["status"] == "solved":
        lines.append(with_n(t, "commit_supersede_solved", n=old["id"], name=old["name"]))
    elif old is not None:
        lines.append(with_n(t, "commit_supersede", n=old["id"], name=old["name"],
                            reserved=t.number(old["reserved"]), keeps=t.number(old["keeps"]),
                            changes=t.number(old["changes"]), loses=t.number(old["loses"]),
                            newly=t.number(old["newly_served"])))
    warnings = []
    if found["held_elsewhere"]:
        warnings.append(with_n(t, "commit_held_elsewhere", n=t.number(found["held_elsewhere"])))
    if left is not None and left < 0:
        warnings.append(with_n(t, "commit_budget_over", short=t.money_words(-left)))
    return lines, warnings


def closing_lines(t: Text, found: dict[str, Any]) -> list[str]:
    deadline = _day(found["pickup_deadline"])
    return [with_n(t, "commit_early" if found["early"] else "commit_deadline_passed",
                   deadline=deadline),
            with_n(t, "commit_release", n=t.number(found["released"])),
            with_n(t, "commit_no_shows", n=t.number(found["no_shows"])),
            with_n(t, "commit_handed", n=t.number(found["handed_over"]))]


def _refused(request: Request, session: Session, user: Any, round_id: int,
             error: RoundError) -> Response:
    """The round as it is now, with why the decision was refused in the page's language."""
    session.rollback()
    t = text_for(request)
    row = session.get(Round, round_id, populate_existing=True)
    if row is None:
        return error_page(request, 404, with_n(t, "no_round_n", n=round_id), user)
    return _dashboard(request, session, user, row, status_of(error),
                      f"{said(error, t)} {t('page_out_of_date')}")


def _confirm_approval(request: Request, session: Session, user: Any,
                      round_id: int) -> Response:
    t = text_for(request)
    if session.get(Round, round_id) is None:
        return error_page(request, 404, with_n(t, "no_round_n", n=round_id), user)
    try:
        found = commitments.approval(session, round_id)
    except RoundError as error:
        return _refused(request, session, user, round_id, error)
    row = session.get_one(Round, round_id)
    lines, warnings = approval_lines(t, found)
    return page(request, "confirm_approve.html", user,
                title=with_n(t, "confirm_approve_title", n=round_id), row=row, found=found,
                lines=lines, warnings=warnings)


@router.get("/rounds/{round_id}/approve", response_class=HTMLResponse)
def approve_confirm(request: Request, round_id: RoundId, session: SessionDep,
                    user: PagePlanner) -> Response:
    """What approving the round commits, and the button that does it."""
    return _confirm_approval(request, session, user, round_id)


@router.post("/rounds/{round_id}/approve", response_class=HTMLResponse)
def approve_page(request: Request, round_id: RoundId, session: SessionDep, user: PagePlanner,
                 csrf: Csrf = "", confirm: Flag = "",
                 pickup_deadline: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Approve once confirmed, with the pickup deadline the confirmation showed; without
    the confirmation, the confirmation page."""
    check_csrf(request, csrf)
    if confirm != "1":
        return _confirm_approval(request, session, user, round_id)
    try:
        day = dt.date.fromisoformat(pickup_deadline) if pickup_deadline else None
    except ValueError:
        day = None  # not from our form: the campaign's default period
    try:
        row = approve_round(session, round_id, user.name, pickup_deadline=day)
    except RoundError as error:
        return _refused(request, session, user, round_id, error)
    done = "approved" if row.replaces is None else "approved_superseding"
    return RedirectResponse(f"/rounds/{round_id}?done={done}", status_code=303)


def _confirm_close(request: Request, session: Session, user: Any, round_id: int) -> Response:
    t = text_for(request)
    if session.get(Round, round_id) is None:
        return error_page(request, 404, with_n(t, "no_round_n", n=round_id), user)
    try:
        found = commitments.closing(session, round_id)
    except RoundError as error:
        return _refused(request, session, user, round_id, error)
    return page(request, "confirm_close.html", user,
                title=with_n(t, "confirm_close_title", n=round_id),
                row=session.get_one(Round, round_id), found=found,
                lines=closing_lines(t, found))


@router.get("/rounds/{round_id}/close", response_class=HTMLResponse)
def close_confirm(request: Request, round_id: RoundId, session: SessionDep,
                  user: PagePlanner) -> Response:
    """What closing the round commits, and the button that does it."""
    return _confirm_close(request, session, user, round_id)


@router.post("/rounds/{round_id}/close", response_class=HTMLResponse)
def close_page(request: Request, round_id: RoundId, session: SessionDep, user: PagePlanner,
               csrf: Csrf = "", confirm: Flag = "", force: Flag = "") -> Response:
    """Close with release once confirmed; before the pickup deadline only if the
    confirmation said so (force). Without the confirmation, the confirmation page."""
    check_csrf(request, csrf)
    if confirm != "1":
        return _confirm_close(request, session, user, round_id)
    try:
        close_round(session, round_id, user.name, force=bool(force))
    except RoundError as error:
        return _refused(request, session, user, round_id, error)
    return RedirectResponse(f"/rounds/{round_id}?done=closed", status_code=303)
