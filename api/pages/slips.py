"""Pickup slips to print, point by point: for planners, and for point officers at their points.

A round serves thousands of households, so the page shows one point at a time
(the first by default), `PER_PAGE` slips to a page; `allocator round slips`
writes a whole round, or one point, to a file.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from allocator.report.labels import Text
from allocator.slips import PER_SHEET, sheets
from allocator.store.audit import record_read
from allocator.store.lifecycle import PICKING_UP, RoundError, RoundNotFound, WrongState
from allocator.store.models import AllocationRow, Round, User
from allocator.store.slips import UnknownPoint, point_slips
from allocator.store.users import officer_points
from api.deps import RoundId, SessionDep
from api.pages.auth import PageUser, Refused
from api.pages.render import error_page, page, text_for
from api.statuses import status_of

router = APIRouter()
PER_PAGE = 200  # 50 A4 sheets: a print job a browser and an office printer take in one go
ROLES = ("planner", "point")
PointQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]
PageQuery = Annotated[int, Query(alias="page", ge=1, le=100_000)]


def slip_reader(user: PageUser) -> User:
    """A planner, or a point officer (limited to their own points below)."""
    if user.role not in ROLES:
        raise Refused(403, "Phiếu hẹn chỉ dành cho cán bộ lập kế hoạch và cán bộ điểm nhận. / "
                           "Planners and point officers only.", user)
    return user


SlipReader = Annotated[User, Depends(slip_reader)]


@router.get("/slips", response_class=HTMLResponse)
def slip_rounds(request: Request, session: SessionDep, user: SlipReader) -> Response:
    """The rounds open for pickup, with slips at the reader's points."""
    query = select(Round).where(Round.status.in_(list(PICKING_UP))).order_by(Round.id.desc())
    if user.role != "planner":
        query = query.where(Round.id.in_(
            select(AllocationRow.round_id).where(
                AllocationRow.point_id.in_(officer_points(session, user)))))
    return page(request, "slips_rounds.html", user, title="Phiếu hẹn nhận máy / Pickup slips",
                rows=session.scalars(query).all())


@router.get("/rounds/{round_id}/slips", response_class=HTMLResponse)
def slips_page(request: Request, round_id: RoundId, session: SessionDep, user: SlipReader,
               point: PointQuery = None, number: PageQuery = 1) -> Response:
    """One point's slips (the first point by default), a page of `PER_PAGE` at a time."""
    mine = None if user.role == "planner" else officer_points(session, user)
    if point is not None and mine is not None and point not in mine:
        raise Refused(403, f"Điểm {point} không phải điểm của bạn. / "
                           f"Point {point} is not one of yours.", user)
    try:
        points, slips = point_slips(session, round_id, point, mine)
    except RoundError as error:
        status = 404 if isinstance(error, UnknownPoint) else status_of(error)
        return error_page(request, status, _sentence(error), user)
    chosen = point if point is not None else (points[0].id if points else None)
    pages = max(1, -(-len(slips) // PER_PAGE))
    number = min(number, pages)
    shown = slips[(number - 1) * PER_PAGE:number * PER_PAGE]
    if chosen is not None:
        record_read(session, user.name, "read pickup slips", f"round {round_id}",
                    {"point": chosen, "page": number, "slips": len(shown)})
    row = session.get(Round, round_id)
    title = f"{text_for(request)('round')} {round_id}: {row.name if row else ''}"
    return page(request, "slips.html", user, title=title,
                round_id=round_id, points=points, chosen=chosen, sheets=sheets(shown),
                count=len(slips), shown=len(shown), page_number=number, pages=pages,
                per_sheet=PER_SHEET, no_code=sum(1 for s in slips if not s.code_shown),
                no_window=sum(1 for s in slips if not s.has_window))


def _sentence(error: RoundError) -> str:
    """Why a round has no slips, in Vietnamese then English."""
    if isinstance(error, RoundNotFound):
        return f"Không có đợt {error.round_id}. / No round {error.round_id}."
    if isinstance(error, WrongState):
        status = Text("vi")(error.status)
        return (f"Đợt {error.round_id} đang ở trạng thái “{status}”: phiếu hẹn chỉ có khi đợt đã "
                f"được phê duyệt. / Round {error.round_id} is {error.status}; pickup slips "
                "exist only once a round is approved (and until it is closed).")
    if isinstance(error, UnknownPoint):
        return (f"Đợt {error.round_id} không có hộ nào nhận máy tại điểm {error.point_id}. / "
                f"{error}.")
    return str(error)
