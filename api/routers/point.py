"""The handover desk for point officers (and planners): find a household, record and undo
handovers, upload a signed paper list, download the handover list of one's points.

An officer sees only their own points' households, and of personal data only the
head's name, the last 4 digits of the ID number and the phone. The store decides
everything (`allocator.store.point_desk`); this router only translates: a
submission wrong in itself is a 422 naming its field, one the records refuse (a
household already handed its phone, an IMEI already used, digits that do not match
the ID number on file) a 409, another point's household a 403, an unknown one a 404.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from allocator.device_ids import ICCID_PREFIX, IMEI_LENGTH
from allocator.store import paper_list, point_desk
from allocator.store.audit import record_read
from allocator.store.handover import as_csv, handover_list
from allocator.store.models import Handover
from allocator.store.papers import NoSuchPlace, PaperRefused, handover_papers
from allocator.store.papers_xlsx import as_workbook
from allocator.store.point_desk import (
    MAX_NOTE,
    MAX_QUERY,
    MIN_AUTHORISED_WORDS,
    MIN_NAME,
    MIN_REASON,
    DeskError,
    DeskRow,
)
from api.deps import Filter, PointDep, RoundId, SessionDep, StoreId
from api.errors import refused
from api.fields import (
    AS_WHOLE,
    NOTE,
    ONE_LINE,
    ClockTime,
    blank,
    clean,
    described,
    either,
    non_space,
    refusing,
    spaced_digits,
    visible,
    words,
)
from api.problems import ApiError, Problem, documented, from_issues
from api.schemas import Id, Strict, UtcDateTime
from api.settings import issuing_office
from api.uploads import BadUpload, LimitsDep, refusal, save_registry_file

router = APIRouter(prefix="/point", tags=["handovers at the point (point officers)"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HandoverId = StoreId
HouseholdId = Annotated[str, PathParam(min_length=1, max_length=64,
                                       pattern=r"^[^\x00-\x1f\x7f]+$")]
T = TypeVar("T")


class HouseholdAtPoint(BaseModel):
    """A household as the desk shows it: no full ID number, ever."""

    round_id: int
    household_id: str
    point_id: str
    point_name: str
    head_name: str
    id_last4: str
    phone: str
    code: str
    window_day: dt.date | None
    window_start: ClockTime | None
    window_end: ClockTime | None
    model: str
    lot_id: str
    handover_id: int | None
    outcome: str | None
    recorded_at: UtcDateTime | None
    recorded_by: str | None


class HandoverPublic(BaseModel):
    id: int
    round_id: int
    household_id: str
    point_id: str
    officer: str
    at: UtcDateTime
    outcome: str
    identity: str
    imei: str | None
    iccid: str | None
    note: str
    via: str
    undone_at: UtcDateTime | None
    undone_by: str
    undo_reason: str


# Typed as read off a box or a SIM card: spaces and hyphens anywhere between the digits.
IMEI = spaced_digits(ONE_LINE, str(IMEI_LENGTH), hyphens=True)
ICCID = spaced_digits(ONE_LINE, "17,18", first=ICCID_PREFIX, hyphens=True)
LAST4 = spaced_digits(ONE_LINE, "4")
# What the outcome asks of the device numbers (a phone handed over has its IMEI; a refused
# one goes back to stock with neither), and who may collect: the holder of the ID number's
# last 4 digits, or a relative whose authorisation is written down. The check digit (Luhn)
# of an IMEI and an ICCID is checked too, which no pattern can say.
RULES: dict[str, Any] = {"allOf": [
    {"anyOf": [
        {"properties": {"outcome": {"const": "handed"}, "imei": {"pattern": IMEI}},
         "required": ["outcome", "imei"]},
        {"properties": {"outcome": {"const": "faulty"}}, "required": ["outcome"]},
        {"properties": {"outcome": {"const": "refused"}, "imei": {"pattern": blank(ONE_LINE)},
                        "iccid": {"pattern": blank(ONE_LINE)}}, "required": ["outcome"]},
    ]},
    {"anyOf": [
        {"properties": {"authorised_note": {
            "pattern": words(NOTE, MIN_AUTHORISED_WORDS, blank_ok=False)}},
         "required": ["authorised_note"]},
        {"properties": {"id_last4": {"pattern": LAST4}}, "required": ["id_last4"]},
    ]},
]}


Line = Annotated[str, refusing(ONE_LINE)]
Written = Annotated[str, refusing(NOTE)]


class HandoverCreate(Strict):
    """What the officer submits at the desk (see `point_desk.record`)."""

    model_config = ConfigDict(json_schema_extra=RULES)

    round_id: Annotated[int, Field(ge=1, le=2_147_483_647, strict=True), AS_WHOLE]
    household_id: Id
    outcome: Literal["handed", "faulty", "refused"]
    idempotency_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    id_last4: Line = described(16, clean(ONE_LINE), default="")
    authorised_note: Written = described(MAX_NOTE, words(NOTE, MIN_AUTHORISED_WORDS),
                                         default="")
    imei: Line = described(40, either(blank(ONE_LINE), IMEI), default="")
    iccid: Line = described(40, either(blank(ONE_LINE), ICCID), default="")
    note: Written = described(MAX_NOTE, clean(NOTE), default="")


class Undo(Strict):
    reason: Written = described(MAX_NOTE, visible(NOTE, MIN_REASON))


class PaperListResult(BaseModel):
    file: str
    recorded: int
    not_handed: int


def _answer(call: Callable[[], T], where: str = "body") -> T:
    """Run a desk call; its refusals become 403, 404, 409 or 422, naming the field."""
    try:
        return call()
    except DeskError as error:
        raise refused(error, where) from None


def _public(row: DeskRow) -> HouseholdAtPoint:
    return HouseholdAtPoint.model_validate(row, from_attributes=True)


def _record(row: Handover) -> HandoverPublic:
    return HandoverPublic.model_validate(row, from_attributes=True)


# The store refuses a control character and too short a search, each with its sentence.
Search = Annotated[str, Query(max_length=MAX_QUERY, json_schema_extra={
    "pattern": non_space(r"\x00-\x1f\x7f-\x9f", MIN_NAME)})]


@router.get("/households", response_model=list[HouseholdAtPoint])
def find(session: SessionDep, user: PointDep, q: Search) -> list[HouseholdAtPoint]:
    """Households of your points by pickup code, phone number or part of the name (at least
    2 characters besides spaces)."""
    return [_public(r) for r in _answer(lambda: point_desk.find(session, user, q), "query")]


@router.get("/rounds/{round_id}/households/{household_id}", response_model=HouseholdAtPoint)
def household(round_id: RoundId, household_id: HouseholdId, session: SessionDep,
              user: PointDep) -> HouseholdAtPoint:
    """One household of an approved round at one of your points."""
    return _public(_answer(lambda: point_desk.get(session, user, round_id, household_id)))


@router.post("/handovers", response_model=HandoverPublic, responses=documented(404, 409))
def record(body: HandoverCreate, session: SessionDep, user: PointDep) -> HandoverPublic:
    """Record a handover (or a faulty device, or a refusal); the same key again returns the
    first record. 404: the household is not in the round (or the round is not open for
    pickup); 409: the records refuse it (already handed over or released, an IMEI already
    recorded, a key used for another household, ID digits that do not match)."""
    return _record(_answer(lambda: point_desk.record(
        session, user, round_id=body.round_id, household_id=body.household_id,
        id_last4=body.id_last4, authorised_note=body.authorised_note, outcome=body.outcome,
        imei=body.imei, iccid=body.iccid, note=body.note,
        idempotency_key=body.idempotency_key)))


@router.post("/handovers/{handover_id}/undo", response_model=HandoverPublic,
             responses=documented(409))
def undo(handover_id: HandoverId, body: Undo, session: SessionDep,
         user: PointDep) -> HandoverPublic:
    """Undo a record the same day (Vietnam time), with a reason; 409 on a later day."""
    return _record(_answer(lambda: point_desk.undo(session, user, handover_id, body.reason)))


@router.post("/rounds/{round_id}/paper-list", response_model=PaperListResult,
             responses=documented(413))
def paper(round_id: RoundId, file: UploadFile, session: SessionDep, user: PointDep,
          limits: LimitsDep) -> PaperListResult:
    """Upload the signed handover list back (CSV or XLSX): all rows or none."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path, name = save_registry_file(file.file, file.filename, "paper-list", Path(tmp),
                                            limits)
        except BadUpload as error:
            raise refusal(error) from None
        report = _answer(lambda: paper_list.upload(session, user, round_id, path, name, limits))
    if not report.ok:
        raise from_issues(422, report.issues, what=name)
    return PaperListResult(file=name, recorded=report.recorded, not_handed=report.not_handed)


@router.get("/rounds/{round_id}/handover-list", response_class=Response,
            responses={200: {"content": {"text/csv": {}, XLSX: {}}}})
def handover(request: Request, round_id: RoundId, session: SessionDep, user: PointDep,
             point: Filter = None,
             format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv") -> Response:
    """The printable handover list of one of your points (all of them for a planner); in
    XLSX the official paper: heading, the point's households only, signature blocks."""
    points = _answer(lambda: point_desk.desk_points(session, user))
    if points is not None:
        if point is None and len(points) == 1:
            point = points[0]
        if point is None:
            said = "choose one of your points: ?point=" + " or ".join(points)
            raise ApiError(422, said, [Problem(message=said, field="query.point")])
        if point not in points:
            raise ApiError(403, "not one of your points")
    _answer(lambda: point_desk.open_round(session, round_id))
    table = handover_list(session, round_id, point)
    record_read(session, user.name, "download handover list", f"round {round_id}",
                {"point": point, "format": format, "rows": len(table)})
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", point or "")[:60]
    name = f"ban-giao-dot-{round_id}" + (f"-{safe}" if safe else "")
    if format == "xlsx":
        try:
            papers = handover_papers(session, round_id, "point", point,
                                     office=issuing_office(request))
        except PaperRefused as error:
            raise ApiError(404 if isinstance(error, NoSuchPlace) else 409, error.en,
                           detail_vi=error.vi) from None
        return Response(as_workbook(papers), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    return Response(as_csv(table), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
