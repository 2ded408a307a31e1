"""The handover desk for point officers (and planners): find a household, record and undo
handovers, upload a signed paper list, download the handover list of one's points.

An officer sees only their own points' households, and of personal data only the
head's name, the last 4 digits of the ID number and the phone. The store decides
everything (`allocator.store.point_desk`); this router only translates: a
refused submission is a 422 naming its field, another point's household a 403,
an unknown one a 404.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field, StrictInt, field_validator

from allocator.limits import CONTROL, NOTE_CONTROL
from allocator.store import paper_list, point_desk
from allocator.store.audit import record_read
from allocator.store.handover import as_csv, as_xlsx, handover_list
from allocator.store.models import Handover
from allocator.store.point_desk import DeskError, DeskRow, NotFound, NotYours
from api.deps import Filter, PointDep, RoundId, SessionDep
from api.problems import ApiError, Problem, from_issues
from api.schemas import Id, Strict
from api.uploads import BadUpload, LimitsDep, refusal, save_registry_file

router = APIRouter(prefix="/point", tags=["handovers at the point (point officers)"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HandoverId = Annotated[int, PathParam(ge=1, le=2_147_483_647)]
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
    window_start: dt.time | None
    window_end: dt.time | None
    model: str
    lot_id: str
    handover_id: int | None
    outcome: str | None
    recorded_at: dt.datetime | None
    recorded_by: str | None


class HandoverPublic(BaseModel):
    id: int
    round_id: int
    household_id: str
    point_id: str
    officer: str
    at: dt.datetime
    outcome: str
    identity: str
    imei: str | None
    iccid: str | None
    note: str
    via: str
    undone_at: dt.datetime | None
    undone_by: str
    undo_reason: str


class HandoverCreate(Strict):
    """What the officer submits at the desk (see `point_desk.record`)."""

    round_id: StrictInt = Field(ge=1, le=2_147_483_647)
    household_id: Id
    outcome: Literal["handed", "faulty", "refused"]
    idempotency_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    id_last4: str = Field(default="", max_length=16)
    authorised_note: str = Field(default="", max_length=1000)
    imei: str = Field(default="", max_length=40)
    iccid: str = Field(default="", max_length=40)
    note: str = Field(default="", max_length=1000)

    @field_validator("id_last4", "imei", "iccid")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if CONTROL.search(value):
            raise ValueError("holds a control or invisible character")
        return value

    @field_validator("authorised_note", "note")
    @classmethod
    def _written(cls, value: str) -> str:
        if NOTE_CONTROL.search(value):
            raise ValueError("holds a control or invisible character")
        return value


class Undo(Strict):
    reason: str = Field(min_length=1, max_length=1000)

    @field_validator("reason")
    @classmethod
    def _written(cls, value: str) -> str:
        if NOTE_CONTROL.search(value):
            raise ValueError("holds a control or invisible character")
        return value


class PaperListResult(BaseModel):
    file: str
    recorded: int
    not_handed: int


def _answer(call: Callable[[], T], where: str = "body") -> T:
    """Run a desk call; its refusals become 403, 404 or a 422 naming the field."""
    try:
        return call()
    except NotYours as error:
        raise ApiError(403, error.english, detail_vi=error.message) from None
    except NotFound as error:
        raise ApiError(404, error.english, detail_vi=error.message) from None
    except DeskError as error:
        field = f"{where}.{error.field}" if error.field else where
        raise ApiError(422, error.english, [Problem(message=error.english, field=field)],
                       detail_vi=error.message) from None


def _public(row: DeskRow) -> HouseholdAtPoint:
    return HouseholdAtPoint.model_validate(row, from_attributes=True)


def _record(row: Handover) -> HandoverPublic:
    return HandoverPublic.model_validate(row, from_attributes=True)


@router.get("/households", response_model=list[HouseholdAtPoint])
def find(session: SessionDep, user: PointDep,
         q: Annotated[str, Query(min_length=1, max_length=200,
                                 pattern=r"^[^\x00-\x1f\x7f]+$")]) -> list[HouseholdAtPoint]:
    """Households of your points by pickup code, phone number or part of the name."""
    return [_public(r) for r in _answer(lambda: point_desk.find(session, user, q), "query")]


@router.get("/rounds/{round_id}/households/{household_id}", response_model=HouseholdAtPoint)
def household(round_id: RoundId, household_id: HouseholdId, session: SessionDep,
              user: PointDep) -> HouseholdAtPoint:
    """One household of an approved round at one of your points."""
    return _public(_answer(lambda: point_desk.get(session, user, round_id, household_id)))


@router.post("/handovers", response_model=HandoverPublic)
def record(body: HandoverCreate, session: SessionDep, user: PointDep) -> HandoverPublic:
    """Record a handover (or a faulty device, or a refusal); the same key again returns the
    first record."""
    return _record(_answer(lambda: point_desk.record(
        session, user, round_id=body.round_id, household_id=body.household_id,
        id_last4=body.id_last4, authorised_note=body.authorised_note, outcome=body.outcome,
        imei=body.imei, iccid=body.iccid, note=body.note,
        idempotency_key=body.idempotency_key)))


@router.post("/handovers/{handover_id}/undo", response_model=HandoverPublic)
def undo(handover_id: HandoverId, body: Undo, session: SessionDep,
         user: PointDep) -> HandoverPublic:
    """Undo a record the same day (Vietnam time), with a reason."""
    return _record(_answer(lambda: point_desk.undo(session, user, handover_id, body.reason)))


@router.post("/rounds/{round_id}/paper-list", response_model=PaperListResult)
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
def handover(round_id: RoundId, session: SessionDep, user: PointDep, point: Filter = None,
             format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv") -> Response:
    """The printable handover list of one of your points (all of them for a planner)."""
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
        return Response(as_xlsx(table), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    return Response(as_csv(table), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
