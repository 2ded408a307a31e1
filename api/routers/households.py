"""Why not me? (planners): find a household by id, phone or citizen ID number, and read
why it was or was not served in every round, with what would have served it.

Both routes return personal data (the head's name, the phone) and are audited; sponsors
and point officers are refused (403).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from allocator.store import lookup
from api.deps import PlannerDep, SessionDep
from api.fields import visible
from api.problems import ApiError, Problem
from api.schemas import Id

router = APIRouter(prefix="/households", tags=["households: why not me? (planners)"])
HouseholdId = Annotated[Id, Path(description="a household of the registry or of a round")]
# The store refuses, with its sentence, a search too long, holding a control character (or
# a lone surrogate) or nothing but spaces.
Search = Annotated[str, Query(description=(
    "a household id (case ignored), a phone number (+84 or 0, any separators) or "
    f"a citizen ID number (digits compared); 1 to {lookup.MAX_QUERY} characters"),
    json_schema_extra={"maxLength": lookup.MAX_QUERY,
                       "pattern": visible(r"\x00-\x1f\x7f-\x9f\ud800-\udfff", 1)})]


@router.get("")
def find(session: SessionDep, user: PlannerDep, q: Search) -> dict[str, Any]:
    """Households whose id, phone or citizen ID number is `q`: id, commune, status, the
    head's name and phone, and how each matched (`id`, `phone`, `national_id`); at most
    50 (`more` says there were more). 422 with a sentence for an empty or too long `q`."""
    try:
        return lookup.search(session, user.name, q)
    except lookup.LookupRefused as refused:
        raise ApiError(422, str(refused), [Problem(message=str(refused), field="query.q")],
                       detail_vi=refused.vi) from None


@router.get("/{household_id}")
def household(household_id: HouseholdId, session: SessionDep,
              user: PlannerDep) -> dict[str, Any]:
    """The household in every round with results: served (lot, sponsor, point, pickup code
    issued, handed over) or not, with the reason and detail of unserved.csv, the binding
    resources it names, what would have served it (`would_serve`: nearest point with
    room, cheapest suitable lot, the cut-off weight of its commune) and the explanation
    in Vietnamese and English. 404 with a sentence for an unknown household."""
    try:
        return lookup.look_up(session, user.name, household_id)
    except lookup.HouseholdUnknown as unknown:
        raise ApiError(404, str(unknown), detail_vi=unknown.vi) from None
