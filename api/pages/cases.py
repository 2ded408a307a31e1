"""The case pages (khiếu nại): the list with its status filter and counts, and one case.

Planners see every case; for one case they see the engine's explanation of the
household in every round, the registry row and the household's contact (an
audited read), and answer, correct the registry, close or reopen it. A point
officer sees the cases of the communes of their points, with no personal data,
and opens "why not me?" cases there. Sponsors are refused.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from allocator.store import cases
from allocator.store.audit import record_read
from allocator.store.case_explain import REGISTRY_FIELDS, explain, registry_row
from allocator.store.corrections import correct_household
from allocator.store.models import Case, HouseholdContact, User
from api.deps import SessionDep
from api.pages.auth import Csrf, PagePlanner, PageUser, Refused, check_csrf
from api.pages.render import page, text_for
from api.statuses import status_of

router = APIRouter()
PAGE_SIZE = 200
STATUSES = tuple(s.value for s in cases.CaseStatus)
DONE = {"opened": "case_opened_notice", "answered": "case_answer_saved",
        "corrected": "case_correction_saved", "closed": "case_closed_notice",
        "reopened": "case_reopened_notice"}
Note = Annotated[str, Form(max_length=cases.MAX_NOTE)]
Field = Annotated[str, Form(max_length=200)]


def _reader(user: User) -> User:
    if user.role not in ("planner", "point"):
        raise Refused(403, "Trang này dành cho cán bộ lập kế hoạch và cán bộ điểm nhận. / "
                           "Planners and point officers only.", user)
    return user


def _said(request: Request, error: cases.CaseError) -> str:
    """A refusal in the reader's language first, then the other."""
    english = str(error)
    vi = error.vi or english
    return f"{vi} / {english}" if text_for(request).lang == "vi" else f"{english} / {vi}"




def _list(request: Request, session: Session, user: User, status: str,
          status_code: int = 200, error: str = "", form: dict[str, str] | None = None,
          notice: str = "") -> Response:
    chosen = status if status in STATUSES else ""
    total, rows = cases.list_cases(session, user, status=chosen or None, limit=PAGE_SIZE)
    return page(request, "cases.html", user, status_code,
                title="Khiếu nại / Cases", rows=rows, total=total, chosen=chosen,
                counts=cases.status_counts(session, user), statuses=STATUSES,
                planner=user.role == "planner", error=error, form=form or {},
                notice=notice)


@router.get("/cases", response_class=HTMLResponse)
def cases_page(request: Request, session: SessionDep, user: PageUser,
               status: Annotated[str, Query(max_length=20)] = "open",
               done: Annotated[str, Query(max_length=20)] = "") -> Response:
    """The cases (an officer: of their communes), filtered by status, with the counts."""
    return _list(request, session, _reader(user), status, notice=DONE.get(done, ""))


@router.post("/cases", response_class=HTMLResponse)
def open_form(request: Request, session: SessionDep, user: PageUser, csrf: Csrf = "",
              household_id: Annotated[str, Form(max_length=64)] = "", note: Note = "",
              kind: Annotated[str, Form(max_length=20)] = "why_not_me") -> Response:
    """Open a case; refused with a sentence (served, another commune, already open)."""
    check_csrf(request, csrf)
    _reader(user)
    form = {"household_id": household_id, "note": note, "kind": kind}
    if user.role != "planner":
        kind = "why_not_me"  # a phone never received comes from the follow-up call
    try:
        case = cases.open_and_commit(session, kind=kind, household_id=household_id,
                                     actor=user, note=note)
    except cases.CaseError as error:
        return _list(request, session, user, "open", status_of(error), _said(request, error), form)
    return RedirectResponse(f"/cases/{case.id}?done=opened", status_code=303)


def _case(request: Request, session: Session, user: User, case_id: int,
          status_code: int = 200, error: str = "", notice: str = "",
          form: dict[str, str] | None = None) -> Response:
    try:
        case = cases.get_case(session, case_id, user)
    except cases.CaseError as failed:
        raise Refused(status_of(failed), _said(request, failed), user) from None
    context: dict[str, Any] = {"case": case, "planner": user.role == "planner",
                               "error": error, "notice": notice, "form": form or {}}
    if user.role == "planner":
        contact = session.get(HouseholdContact, case.household_id)
        told = explain(session, case.household_id)
        context |= {"told": told, "fields": REGISTRY_FIELDS,
                    "head_name": contact.head_name if contact else "",
                    "phone": contact.phone if contact else ""}
        record_read(session, user.name, "read case", f"case {case.id}",
                    {"household_id": case.household_id})
    return page(request, "case.html", user, status_code,
                title=f"Hồ sơ {case.id} / Case {case.id}", **context)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, session: SessionDep, user: PageUser, case_id: int,
              done: Annotated[str, Query(max_length=20)] = "") -> Response:
    if not 0 < case_id < 2**31:
        raise Refused(404, "Không có hồ sơ này. / No such case.", user)
    return _case(request, session, _reader(user), case_id, notice=DONE.get(done, ""))


def _then(request: Request, session: Session, user: User, case_id: int, done: str,
          step: Any, form: dict[str, str] | None = None) -> Response:
    """Run a planner's move; back to the case with its notice, or with the refusal."""
    if not 0 < case_id < 2**31:
        raise Refused(404, "Không có hồ sơ này. / No such case.", user)
    try:
        step()
    except cases.CaseNotFound as error:
        raise Refused(404, _said(request, error), user) from None
    except cases.CaseError as error:
        session.rollback()
        return _case(request, session, user, case_id, status_of(error), _said(request, error),
                     form=form)
    return RedirectResponse(f"/cases/{case_id}?done={done}", status_code=303)


@router.post("/cases/{case_id}/answer", response_class=HTMLResponse)
def answer_form(request: Request, session: SessionDep, user: PagePlanner, case_id: int,
                csrf: Csrf = "", text: Note = "") -> Response:
    check_csrf(request, csrf)
    return _then(request, session, user, case_id, "answered",
                 lambda: cases.answer_case(session, case_id, text, user), {"answer": text})


@router.post("/cases/{case_id}/close", response_class=HTMLResponse)
def close_form(request: Request, session: SessionDep, user: PagePlanner, case_id: int,
               csrf: Csrf = "") -> Response:
    check_csrf(request, csrf)
    return _then(request, session, user, case_id, "closed",
                 lambda: cases.close_case(session, case_id, user))


@router.post("/cases/{case_id}/reopen", response_class=HTMLResponse)
def reopen_form(request: Request, session: SessionDep, user: PagePlanner, case_id: int,
                csrf: Csrf = "", reason: Note = "") -> Response:
    check_csrf(request, csrf)
    return _then(request, session, user, case_id, "reopened",
                 lambda: cases.reopen_case(session, case_id, reason, user), {"reason": reason})


@router.post("/cases/{case_id}/correction", response_class=HTMLResponse)
def correction_form(request: Request, session: SessionDep, user: PagePlanner, case_id: int,
                    csrf: Csrf = "", commune_code: Field = "", poverty_status: Field = "",
                    members: Field = "", twog_handsets: Field = "", smartphones: Field = "",
                    flags: Field = "", needs: Field = "", lat: Field = "", lon: Field = "",
                    answer: Note = "") -> Response:
    """Correct what differs from the registry now (the form shows its values)."""
    check_csrf(request, csrf)
    typed = {"commune_code": commune_code, "poverty_status": poverty_status,
             "members": members, "twog_handsets": twog_handsets, "smartphones": smartphones,
             "flags": flags, "needs": needs, "lat": lat, "lon": lon}
    case = session.get(Case, case_id) if 0 < case_id < 2**31 else None
    now = registry_row(session, case.household_id) if case is not None else None
    shown = {k: "" if v is None else str(v) for k, v in (now or {}).items()}
    changed = {k: v.strip() for k, v in typed.items() if v.strip() != shown.get(k, "")}
    return _then(request, session, user, case_id, "corrected",
                 lambda: correct_household(session, case_id, changed, user, answer),
                 {**typed, "fix_answer": answer})
