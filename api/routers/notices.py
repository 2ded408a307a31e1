"""Planners' SMS notices of an approved round: counts, the portal's file, who needs a visit.

The file and the list hold phones and names: each download is audited under the
planner's name. Sponsors and point officers are refused (403).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from allocator.store.audit import record_read
from allocator.store.outbox import (
    EXPORTABLE,
    Form,
    MessageStatus,
    export_notices,
    fill_outbox,
    needs_visit,
    status_counts,
    visits_csv,
)
from api.deps import PlannerDep, RoundId, SessionDep
from api.problems import documented

router = APIRouter(prefix="/rounds", tags=["notices (planners)"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class StatusCountPublic(BaseModel):
    messages: int
    segments_plain: int  # SMS parts of the unaccented GSM-7 texts
    segments: int  # SMS parts of the accented (UCS-2) texts


class NoticesPublic(BaseModel):
    round_id: int
    by_status: dict[str, StatusCountPublic]  # pending, sent, failed
    messages: int
    segments_plain: int
    segments: int
    needs_visit: int  # households no SMS can reach


class VisitPublic(BaseModel):
    household_id: str
    head_name: str
    commune: str
    point_id: str
    point_name: str
    reason: str


@router.get("/{round_id}/notices", response_model=NoticesPublic, responses=documented(409))
def notices(round_id: RoundId, session: SessionDep, user: PlannerDep) -> NoticesPublic:
    """Messages by status (pending, sent, failed) with their SMS segments in both forms."""
    report = fill_outbox(session, round_id, user.name)
    counts = status_counts(session, round_id)
    return NoticesPublic(
        round_id=round_id,
        by_status={s: StatusCountPublic(**c.__dict__) for s, c in counts.items()},
        messages=sum(c.messages for c in counts.values()),
        segments_plain=sum(c.segments_plain for c in counts.values()),
        segments=sum(c.segments for c in counts.values()),
        needs_visit=len(report.visits))


@router.get("/{round_id}/notices/export", response_class=Response,
            responses={200: {"content": {"text/csv": {}, XLSX: {}}}, **documented(409)})
def export(round_id: RoundId, session: SessionDep, user: PlannerDep,
           format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
           form: Annotated[Form, Query()] = Form.PLAIN,
           pending_only: bool = False) -> Response:
    """The file SMS brandname portals import (phone, message): pending and failed messages.

    `form=plain` (the default) is the unaccented GSM-7 text every gateway and
    handset shows; `form=accented` the Vietnamese text (UCS-2, more SMS each).
    Failed messages in the file are pending again (handed to the portal anew);
    `pending_only=true` leaves them out, and failed.
    """
    statuses = (MessageStatus.PENDING,) if pending_only else EXPORTABLE
    data, _ = export_notices(session, round_id, user.name, form=form, file_format=format,
                             statuses=statuses)
    name = f"tin-nhan-dot-{round_id}-{form.value}.{format}"
    media = XLSX if format == "xlsx" else "text/csv; charset=utf-8"
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/{round_id}/needs-visit", response_model=list[VisitPublic],
            responses={200: {"content": {"application/json": {}, "text/csv": {}}},
                       **documented(409)})
def visits(round_id: RoundId, session: SessionDep, user: PlannerDep,
           format: Annotated[str, Query(pattern="^(csv|json)$")] = "json") -> Response:
    """Households no SMS can reach (no valid mobile, no pickup code or no window), and why."""
    found = needs_visit(session, round_id, user.name)
    record_read(session, user.name, "download needs-a-visit list", f"round {round_id}",
                {"format": format, "rows": len(found)})
    if format == "csv":
        return Response(visits_csv(found), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="can-den-nha-dot-{round_id}.csv"'})
    return JSONResponse(jsonable_encoder([VisitPublic(**v.__dict__) for v in found]))
