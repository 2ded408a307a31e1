"""Cases (khiếu nại): "why not me?" and "never received", for planners and commune officers.

A point officer sees and opens cases of the communes of their points only, and
reads no personal data and no registry correction; planners see every case
with the engine's explanation and the household's contact, and answer, correct
the registry, close and reopen. Sponsors get 403 on every route.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from allocator.store import cases
from allocator.store.audit import record_read
from allocator.store.case_explain import REGISTRY_FIELDS, explain
from allocator.store.corrections import correct_household
from allocator.store.models import HouseholdContact, User
from allocator.validate import FLAGS
from api.deps import Filter, Limit, Offset, PlannerDep, PointDep, SessionDep, StoreId
from api.errors import refused
from api.fields import AS_WHOLE, ONE_LINE, clean, described, refusing, spaces, visible
from api.problems import ApiError, documented
from api.schemas import Strict

router = APIRouter(prefix="/cases", tags=["cases (planners, point officers)"])
CaseId = StoreId

# What a note or an answer cannot hold: NUL (which PostgreSQL refuses), other control
# characters but line breaks and tabs, lone surrogates (which no encoding can store).
UNWRITABLE = cases.UNWRITABLE.pattern[1:-1]
SAID = ("control characters (other than line breaks and tabs) and lone surrogates are not "
        "allowed")
GAP = f"[{spaces(UNWRITABLE)}]*"


def _any_case(word: str) -> str:
    """`word` in any case, as a pattern (str.lower turns no other letter into these)."""
    return "".join(f"[{c.upper()}{c}]" if c.isalpha() else ("[-_]" if c == "_" else c)
                   for c in word)


# A household status as an import reads it: poor, near_poor (or near-poor) or other in
# any case, or the Vietnamese words (hộ nghèo, cận nghèo, khác...).
STATUS = (f"^{GAP}(?:" + "|".join(_any_case(s) for s in ("poor", "near_poor", "other"))
          + f"|(?:{_any_case('hộ')} )?(?:{_any_case('cận')} )?{_any_case('nghèo')}"
          + f"|[Kk\u212a]{_any_case('hác')}){GAP}$")
# Flags, separated by semicolons, in any case ("-" for "_"); none clears them.
_FLAG = "(?:" + "|".join(_any_case(f) for f in FLAGS) + ")"
FLAG_LIST = f"^{GAP}(?:{_FLAG}{GAP})?(?:;{GAP}(?:{_FLAG}{GAP})?)*$"

# An id as the case store reads it: 1 to 64 characters, spaces at the ends cut off.
HouseholdRef = Annotated[str, described(64, visible(ONE_LINE, 1), min_length=1),
                         refusing(ONE_LINE, "give the household's id (1 to 64 characters)")]
Text = Annotated[str, described(cases.MAX_NOTE, visible(UNWRITABLE, 1), min_length=1),
                 refusing(UNWRITABLE, SAID)]
Note = Annotated[str, described(cases.MAX_NOTE, clean(UNWRITABLE)),
                 refusing(UNWRITABLE, SAID)]
Kind = Literal["why_not_me", "never_received"]
Status = Literal["open", "answered", "closed"]
Count = Annotated[int, Field(ge=0, le=2**31 - 1, strict=True), AS_WHOLE]


class CaseOpen(Strict):
    """A "why not me?" case names a household of the registry; a never-received case also
    the round that allocated it the phone."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"properties": {"kind": {"const": "why_not_me"}}},
        {"properties": {"kind": {"const": "never_received"}, "round_id": {"type": "integer"}},
         "required": ["kind", "round_id"]}]})

    kind: Kind = "why_not_me"
    household_id: HouseholdRef
    round_id: Annotated[int, Field(ge=1, le=2_147_483_647, strict=True), AS_WHOLE] | None = None
    note: Note = ""


class CaseAnswer(Strict):
    text: Text


class CaseReopen(Strict):
    reason: Text


class CaseCorrection(Strict):
    """The registry fields to correct (only those given change; at least one), checked as
    an import checks them, and, if wanted, the answer to give (by default one sentence
    saying what was corrected). Flags, needs and coordinates may be cleared with null.
    Refused by the records (409): one coordinate given or cleared when the registry's
    other would be left without its pair."""

    model_config = ConfigDict(json_schema_extra={
        "anyOf": [{"required": [name]} for name in REGISTRY_FIELDS],
        # Coordinates come in pairs: not one given and the other cleared.
        "not": {"anyOf": [
            {"properties": {"lat": {"type": "number"}, "lon": {"type": "null"}},
             "required": ["lat", "lon"]},
            {"properties": {"lat": {"type": "null"}, "lon": {"type": "number"}},
             "required": ["lat", "lon"]}]}})

    # null is taken, and refused by the store's check (a required column): not in the schema.
    commune_code: Annotated[str, described(16, visible(ONE_LINE, 1)),
                            refusing(ONE_LINE)] | SkipJsonSchema[None] = None
    poverty_status: Annotated[str, described(40, STATUS),
                              refusing(UNWRITABLE, SAID)] | SkipJsonSchema[None] = None
    members: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True),
                       AS_WHOLE] | SkipJsonSchema[None] = None
    twog_handsets: Count | SkipJsonSchema[None] = None
    smartphones: Count | SkipJsonSchema[None] = None
    flags: Annotated[str, described(200, FLAG_LIST), refusing(UNWRITABLE, SAID)] | None = None
    needs: Annotated[str, described(200, clean(ONE_LINE)), refusing(ONE_LINE)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, strict=True)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, strict=True)] | None = None
    answer: Note = ""

    def fields(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.model_fields_set if k != "answer"}


# A planner or a point officer: a sponsor is refused (403) before anything else is read.
ReaderDep = PointDep


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


@router.post("", status_code=status.HTTP_201_CREATED, responses=documented(404, 409))
def open_case(body: CaseOpen, session: SessionDep, user: ReaderDep) -> dict[str, Any]:
    """Open a case. A point officer opens "why not me?" cases for households of their
    communes that were not served. 404: no such household (or round, or phone of that
    round); 409: the household was served, or has a live case of the kind."""
    if user.role != "planner" and body.kind != "why_not_me":
        raise ApiError(403, "a point officer opens \"why not me?\" cases; a phone never "
                            "received is recorded with the follow-up call")
    try:
        case = cases.open_and_commit(session, kind=body.kind, household_id=body.household_id,
                                     actor=user, round_id=body.round_id, note=body.note)
    except cases.CaseError as error:
        raise refused(error) from None
    return cases.as_dict(case, planner=user.role == "planner")


@router.post("/{case_id}/answer", responses=documented(409))
def answer(case_id: CaseId, body: CaseAnswer, session: SessionDep,
           user: PlannerDep) -> dict[str, Any]:
    """Answer a case (open or answered); it is then answered (409 once closed)."""
    try:
        return cases.as_dict(cases.answer_case(session, case_id, body.text, user), True)
    except cases.CaseError as error:
        raise refused(error) from None


@router.post("/{case_id}/close", responses=documented(409))
def close(case_id: CaseId, session: SessionDep, user: PlannerDep) -> dict[str, Any]:
    """Close an answered case (409 if it is not answered)."""
    try:
        return cases.as_dict(cases.close_case(session, case_id, user), True)
    except cases.CaseError as error:
        raise refused(error) from None


@router.post("/{case_id}/reopen", responses=documented(409))
def reopen(case_id: CaseId, body: CaseReopen, session: SessionDep,
           user: PlannerDep) -> dict[str, Any]:
    """Open an answered or closed case again, saying why (409 while it is open, or while
    another case of its kind is live for the household)."""
    try:
        return cases.as_dict(cases.reopen_case(session, case_id, body.reason, user), True)
    except cases.CaseError as error:
        raise refused(error) from None


@router.post("/{case_id}/correction", responses=documented(409))
def correction(case_id: CaseId, body: CaseCorrection, session: SessionDep,
               user: PlannerDep) -> dict[str, Any]:
    """Correct the registry row of a "why not me?" case's household, checked as an import
    checks it; the case records what changed (and the audit entry) and is answered. 404: the
    household left the registry, or no such commune; 409: a case of the other kind, a
    closed case, or values the registry already holds."""
    try:
        case, changes = correct_household(session, case_id, body.fields(), user, body.answer)
    except cases.CaseError as error:
        raise refused(error) from None
    return cases.as_dict(case, True) | {"changes": changes}
