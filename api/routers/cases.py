"""Cases (khiếu nại): "why not me?" and "never received", for planners and commune officers.

A point officer sees and opens cases of the communes of their points only, and
reads no personal data and no registry correction; planners see every case
with the engine's explanation and the household's contact, and answer, correct
the registry, close and reopen. Sponsors get 403 on every route.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import AfterValidator, Field, StrictFloat, StrictInt, field_validator

from allocator.store import cases
from allocator.store.audit import record_read
from allocator.store.case_explain import explain
from allocator.store.corrections import correct_household
from allocator.store.models import HouseholdContact, User
from api.deps import Filter, Limit, Offset, PlannerDep, PointDep, SessionDep
from api.problems import ApiError
from api.schemas import Id, Strict

router = APIRouter(prefix="/cases", tags=["cases (planners, point officers)"])
CaseId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _no_nul(text: str) -> str:
    if cases.unwritable(text):  # PostgreSQL refuses NUL: a 422 here, never a 500 there
        raise ValueError("control characters (other than line breaks and tabs) and lone "
                         "surrogates are not allowed")
    return text


Text = Annotated[str, Field(min_length=1, max_length=cases.MAX_NOTE), AfterValidator(_no_nul)]
Note = Annotated[str, Field(max_length=cases.MAX_NOTE), AfterValidator(_no_nul)]
Kind = Literal["why_not_me", "never_received"]
Status = Literal["open", "answered", "closed"]
Short = Annotated[str, Field(max_length=40), AfterValidator(_no_nul)]
Words = Annotated[str, Field(max_length=200), AfterValidator(_no_nul)]
Small = Annotated[StrictInt, Field(ge=-(2**31), le=2**31 - 1)]


class CaseOpen(Strict):
    kind: Kind = "why_not_me"
    household_id: Id
    round_id: Annotated[StrictInt, Field(ge=1, le=2_147_483_647)] | None = None
    note: Note = ""


class CaseAnswer(Strict):
    text: Text


class CaseReopen(Strict):
    reason: Text


class CaseCorrection(Strict):
    """The registry fields to correct (only those given change) and, if wanted, the answer
    to give (by default one sentence saying what was corrected)."""

    commune_code: Short | None = None
    poverty_status: Short | None = None
    members: Small | None = None
    twog_handsets: Small | None = None
    smartphones: Small | None = None
    flags: Words | None = None
    needs: Words | None = None
    lat: StrictFloat | StrictInt | None = None
    lon: StrictFloat | StrictInt | None = None
    answer: Note = ""

    @field_validator("lat", "lon")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("a coordinate is a finite number")
        return value

    def fields(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.model_fields_set if k != "answer"}


# A planner or a point officer: a sponsor is refused (403) before anything else is read.
ReaderDep = PointDep


def refused(error: cases.CaseError) -> ApiError:
    """The HTTP answer to a refused case: 403 outside the officer's communes, 404 no such
    case, 422 a request that cannot be, 409 a live case or a status in the way."""
    if isinstance(error, cases.NotYourCase):
        code = status.HTTP_403_FORBIDDEN
    elif isinstance(error, cases.CaseNotFound):
        code = status.HTTP_404_NOT_FOUND
    elif isinstance(error, cases.CaseRefused):
        code = 422
    else:
        code = status.HTTP_409_CONFLICT
    return ApiError(code, str(error))


def _planner_view(session: SessionDep, case: Any, user: User) -> dict[str, Any]:
    contact = session.get(HouseholdContact, case.household_id)
    shown = cases.as_dict(case, planner=True) | {
        "head_name": contact.head_name if contact else "",
        "phone": contact.phone if contact else "",
        "explanation": explain(session, case.household_id)}
    record_read(session, user.name, "read case", f"case {case.id}",
                {"household_id": case.household_id})
    return shown


@router.get("")
def list_cases(session: SessionDep, user: ReaderDep, offset: Offset = 0, limit: Limit = 100,
               status_: Annotated[Status | None, Query(alias="status")] = None,
               kind: Kind | None = None, commune: Filter = None) -> dict[str, Any]:
    """Cases newest first, with how many are open, answered and closed. A point officer
    sees those of the communes of their points, without personal data."""
    total, rows = cases.list_cases(session, user, status=status_, kind=kind, commune=commune,
                                   offset=offset, limit=limit)
    planner = user.role == "planner"
    return {"total": total, "offset": offset, "limit": limit,
            "counts": cases.status_counts(session, user),
            "items": [cases.as_dict(r, planner) for r in rows]}


@router.get("/{case_id}")
def get_case(case_id: CaseId, session: SessionDep, user: ReaderDep) -> dict[str, Any]:
    """One case. A planner also gets the engine's explanation of the household in every
    round and its contact (an audited read); a point officer the case alone."""
    try:
        case = cases.get_case(session, case_id, user)
    except cases.CaseError as error:
        raise refused(error) from None
    if user.role != "planner":
        return cases.as_dict(case, planner=False)
    return _planner_view(session, case, user)


@router.post("", status_code=status.HTTP_201_CREATED)
def open_case(body: CaseOpen, session: SessionDep, user: ReaderDep) -> dict[str, Any]:
    """Open a case. A point officer opens "why not me?" cases for households of their
    communes that were not served; 409 while the household has a live case of the kind."""
    if user.role != "planner" and body.kind != "why_not_me":
        raise ApiError(403, "a point officer opens \"why not me?\" cases; a phone never "
                            "received is recorded with the follow-up call")
    try:
        case = cases.open_and_commit(session, kind=body.kind, household_id=body.household_id,
                                     actor=user, round_id=body.round_id, note=body.note)
    except cases.CaseError as error:
        raise refused(error) from None
    return cases.as_dict(case, planner=user.role == "planner")


@router.post("/{case_id}/answer")
def answer(case_id: CaseId, body: CaseAnswer, session: SessionDep,
           user: PlannerDep) -> dict[str, Any]:
    """Answer a case (open or answered); it is then answered."""
    try:
        return cases.as_dict(cases.answer_case(session, case_id, body.text, user), True)
    except cases.CaseError as error:
        raise refused(error) from None


@router.post("/{case_id}/close")
def close(case_id: CaseId, session: SessionDep, user: PlannerDep) -> dict[str, Any]:
    """Close an answered case (409 if it is not answered)."""
    try:
        return cases.as_dict(cases.close_case(session, case_id, user), True)
    except cases.CaseError as error:
        raise refused(error) from None


@router.post("/{case_id}/reopen")
def reopen(case_id: CaseId, body: CaseReopen, session: SessionDep,
           user: PlannerDep) -> dict[str, Any]:
    """Open an answered or closed case again, saying why."""
    try:
        return cases.as_dict(cases.reopen_case(session, case_id, body.reason, user), True)
    except cases.CaseError as error:
        raise refused(error) from None


@router.post("/{case_id}/correction")
def correction(case_id: CaseId, body: CaseCorrection, session: SessionDep,
               user: PlannerDep) -> dict[str, Any]:
    """Correct the registry row of a "why not me?" case's household, checked as an import
    checks it; the case records what changed (and the audit entry) and is answered."""
    try:
        case, changes = correct_household(session, case_id, body.fields(), user, body.answer)
    except cases.CaseError as error:
        raise refused(error) from None
    return cases.as_dict(case, True) | {"changes": changes}
