"""Follow-up calls 30 days after a round's handovers (`allocator.store.followup`).

Planners draw the sample; planners and point officers read the call list and
record answers, an officer only for the households of their own points (another
point's household is a 403). The call list holds the head's name and phone, so
every read of it is audited under the reader's name; it never holds an ID number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from allocator.store import followup
from allocator.store.audit import record_read
from allocator.store.followup import FollowUpError
from api.deps import Filter, PlannerDep, PointDep, RoundId, SessionDep
from api.errors import refused
from api.fields import AS_WHOLE, NOTE, clean, described, refusing
from api.problems import documented
from api.schemas import Strict, UtcDateTime

router = APIRouter(prefix="/rounds", tags=["follow-up calls (planners, point officers)"])
HouseholdId = Annotated[str, PathParam(min_length=1, max_length=64,
                                       pattern=r"^[^\x00-\x1f\x7f]+$")]
T = TypeVar("T")


class DrawRequest(Strict):
    """The sample's size: max(minimum, ceil(share x households served)), at most all of
    them; the seed (drawn at random when left out) lets anyone redo the draw."""

    share: float = Field(default=followup.SHARE, gt=0, le=1, allow_inf_nan=False, strict=True)
    minimum: Annotated[int, Field(ge=0, le=followup.MAX_MINIMUM, strict=True),
                       AS_WHOLE] = followup.MINIMUM
    seed: Annotated[int, Field(ge=0, le=followup.MAX_SEED, strict=True), AS_WHOLE] | None = None


class DrawPublic(BaseModel):
    round_id: int
    seed: int
    served: int
    size: int
    drawn_at: UtcDateTime
    households: list[str]


# A note runs over lines (\n), tabs aside; a carriage return the store refuses too.
CALL_NOTE = NOTE + "\r"


class AnswerRequest(Strict):
    """A phone not in use needs a reason; any other answer takes none."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"properties": {"answer": {"const": "not_in_use"},
                        "reason": {"enum": list(followup.REASONS)}},
         "required": ["answer", "reason"]},
        {"properties": {"answer": {"enum": ["in_use", "never_received"]},
                        "reason": {"const": ""}},
         "required": ["answer"]}]})

    answer: Literal["in_use", "not_in_use", "never_received"]
    reason: Literal["", "no_data_plan", "cannot_operate", "broken", "sold"] = Field(
        default="", description="why a phone is not in use (only then)")
    note: Annotated[str, refusing(CALL_NOTE)] = described(followup.MAX_NOTE, clean(CALL_NOTE),
                                                          default="")


class CallPublic(BaseModel):
    """A household to call: name and phone of its head, never an ID number."""

    round_id: int
    household_id: str
    point_id: str
    point_name: str
    commune_code: str
    head_name: str
    phone: str
    model: str
    lot_id: str
    handed_over_at: UtcDateTime | None
    answer: str | None
    reason: str
    note: str
    answered_by: str
    answered_at: UtcDateTime | None


class CallListPublic(BaseModel):
    round_id: int
    drawn_at: UtcDateTime | None
    listed: int
    answered: int
    households: list[CallPublic]


class AnswerPublic(BaseModel):
    round_id: int
    household_id: str
    point_id: str
    answer: str | None
    reason: str
    note: str
    answered_by: str
    answered_at: UtcDateTime | None


def _refusal(call: Callable[[], T]) -> T:
    """Run a store call; its refusals become their HTTP answers (403, 404, 409, 422)."""
    try:
        return call()
    except FollowUpError as error:
        raise refused(error) from None


@router.post("/{round_id}/followups", response_model=DrawPublic, status_code=201,
             responses=documented(409))
def draw(round_id: RoundId, session: SessionDep, user: PlannerDep,
         body: DrawRequest | None = None) -> DrawPublic:
    """Draw the round's follow-up sample (once, 30 days after its last day of handovers;
    a 409 before then says the day)."""
    body = body or DrawRequest()
    done = _refusal(lambda: followup.draw(session, round_id, user.name, share=body.share,
                                          minimum=body.minimum, seed=body.seed))
    return DrawPublic(round_id=done.round_id, seed=done.seed, served=done.served,
                      size=done.size, drawn_at=done.drawn_at, households=done.households)


@router.get("/{round_id}/followups", response_model=CallListPublic)
def call_list(round_id: RoundId, session: SessionDep, user: PointDep,
              point: Filter = None) -> CallListPublic:
    """The households to call (an officer: at their points only), with the answers so far."""
    rows = _refusal(lambda: followup.call_list(session, user, round_id,
                                               [point] if point else ()))
    when = followup.drawn(session, round_id)
    calls = [CallPublic.model_validate(r, from_attributes=True) for r in rows]
    record_read(session, user.name, "read follow-up list", f"round {round_id}",
                {"point": point, "rows": len(calls)})
    return CallListPublic(round_id=round_id, drawn_at=when[0] if when else None,
                          listed=len(calls), answered=sum(c.answer is not None for c in calls),
                          households=calls)


@router.post("/{round_id}/followups/{household_id}", response_model=AnswerPublic)
def answer(round_id: RoundId, household_id: HouseholdId, body: AnswerRequest,
           session: SessionDep, user: PointDep) -> AnswerPublic:
    """Record a call's answer (again if need be: the last one counts). Not in use needs a
    reason; never received opens a case for planners."""
    row = _refusal(lambda: followup.answer(session, user, round_id, household_id,
                                           body.answer, body.reason, body.note))
    return AnswerPublic.model_validate(row, from_attributes=True)
