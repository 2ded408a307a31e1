"""What a planner can negotiate with: a round's budget curve and bottlenecks.

Each is worked out in the background by the solve workers (seconds to minutes):
POST queues it (or returns the one already queued or running), GET reads its
progress and, once done, its result.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict

from allocator.store import analyses
from allocator.store.analyses import curve_csv, latest_result, request_analysis
from allocator.store.lifecycle import RoundNotFound
from allocator.store.models import Round
from api.deps import PlannerDep, RoundId, SessionDep
from api.problems import ApiError, documented
from api.schemas import UtcDateTime

router = APIRouter(prefix="/rounds", tags=["budget curve and bottlenecks (planners)"])
Kind = Annotated[Literal["curve", "bottlenecks"],
                 Path(description="curve (budget curve) or bottlenecks")]


class AnalysisPublic(BaseModel):
    """An analysis as planners see it: the newest request's status and progress, and the
    newest finished result (kept while a later request runs, or after one fails)."""

    model_config = ConfigDict(extra="forbid")
    id: int
    round_id: int
    kind: str
    status: str  # queued | running | done | failed
    progress: str
    error: str
    requested_by: str
    requested_at: UtcDateTime
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None
    attempts: int
    result: dict[str, Any] | None
    result_at: UtcDateTime | None


def _exists(session: SessionDep, round_id: int) -> None:
    if session.get(Round, round_id) is None:
        raise RoundNotFound(round_id)


@router.post("/{round_id}/analyses/{kind}", response_model=AnalysisPublic,
             status_code=status.HTTP_202_ACCEPTED,
             responses=documented(409))
def queue(round_id: RoundId, kind: Kind, session: SessionDep,
          user: PlannerDep) -> AnalysisPublic:
    """Queue the round's budget curve or bottleneck analysis; while one is queued or
    running, that one is answered (no second computation). Poll the GET."""
    request_analysis(session, round_id, kind, user.name)
    return _state(session, round_id, kind)


@router.get("/{round_id}/analyses/{kind}", response_model=AnalysisPublic,
            responses=documented(409))
def read(round_id: RoundId, kind: Kind, session: SessionDep, _: PlannerDep) -> AnalysisPublic:
    """Status, progress and (once done) the result: `Curve.to_json()` with the next
    100 million's sentence (`sentence_vi`, `sentence_en`), or `Bottlenecks.to_json()`."""
    return _state(session, round_id, kind)


def _state(session: SessionDep, round_id: int, kind: str) -> AnalysisPublic:
    _exists(session, round_id)
    found = analyses.state(session, round_id, kind)
    if found is None:
        raise ApiError(409, f"No {analyses.NAMES[kind][1]} was requested for round "
                            f"{round_id}.",
                       detail_vi=f"Chưa yêu cầu phân tích {analyses.NAMES[kind][0]} cho đợt "
                                 f"{round_id}.")
    return AnalysisPublic(**found)


@router.get("/{round_id}/curve.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}, **documented(409)})
def curve(round_id: RoundId, session: SessionDep, _: PlannerDep) -> Response:
    """The finished budget curve: budget_vnd, served, stage0..stage3, status (UTF-8, BOM)."""
    _exists(session, round_id)
    result = latest_result(session, round_id, analyses.CURVE)
    if result is None:
        raise ApiError(409, f"Round {round_id} has no finished budget curve.",
                       detail_vi=f"Đợt {round_id} chưa có đường cong ngân sách đã tính xong.")
    return Response(curve_csv(result), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="duong-cong-dot-{round_id}.csv"'})
