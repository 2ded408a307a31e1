"""The campaign across rounds (planners): budget, settings, pledges, stock, households."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from allocator.store import followup, ledger
from allocator.store.audit import record_read
from allocator.store.progress import campaign_figures
from api.deps import PlannerDep, SessionDep
from api.fields import AS_WHOLE
from api.problems import documented
from api.schemas import Days, Id, Strict, Vnd

router = APIRouter(prefix="/campaign", tags=["campaign (planners)"])
LotId = Annotated[Id, Path(description="a lot of the registry")]
HouseholdId = Annotated[Id, Path(description="a household of the registry")]


class CampaignBudget(Strict):
    budget_vnd: Vnd | None = Field(description="null: no campaign budget")


class CampaignSettings(Strict):
    no_show_limit: Annotated[int, Field(ge=1, le=100, strict=True), AS_WHOLE] | None = None
    pickup_days: Days | None = None


class Devices(Strict):
    # true is not one device, nor "3"; 3.0 is 3.
    devices: Annotated[int, Field(ge=1, le=10_000_000, strict=True), AS_WHOLE]


def _figures(session: SessionDep) -> dict[str, Any]:
    settings = ledger.settings(session)
    return {**campaign_figures(session), "goal_date": settings.goal_date.isoformat(),
            "pickup_days": settings.pickup_days, "no_show_limit": settings.no_show_limit,
            "lots": ledger.lot_figures(session), "followup": followup.share_in_use(session)}


@router.get("")
def campaign(session: SessionDep, _: PlannerDep) -> dict[str, Any]:
    """Where the campaign stands, as the campaign page shows it: eligible households by
    state (overall and by commune), handovers per day, pace, stock by sponsor, the budget
    (total, committed, spent, remaining), and every lot's pledged, handed over,
    reserved, released, faulty and available devices; and the follow-up calls' share of
    phones in use (in_use / answered), overall and by sponsor."""
    return _figures(session)


@router.put("/budget", responses=documented(409))
def set_budget(body: CampaignBudget, session: SessionDep, user: PlannerDep) -> dict[str, Any]:
    """Set the campaign budget (audited). Refused (409) below what is spent and committed."""
    return ledger.set_budget(session, body.budget_vnd, user.name).to_json()


@router.patch("/settings")
def change_settings(body: CampaignSettings, session: SessionDep,
                    user: PlannerDep) -> dict[str, Any]:
    """The no-show limit (households that failed to collect this many times are left out
    of later rounds; null: offer them again) and the default pickup period in days."""
    given = body.model_fields_set
    ledger.set_settings(session, user.name,
                        no_show_limit=body.no_show_limit if "no_show_limit" in given else "keep",
                        pickup_days=body.pickup_days)
    return _figures(session)


@router.post("/lots/{lot_id}/pledge")
def pledge(lot_id: LotId, body: Devices, session: SessionDep,
           user: PlannerDep) -> dict[str, Any]:
    """A sponsor pledges more devices to one of its lots (audited)."""
    return ledger.pledge(session, lot_id, body.devices, user.name)


@router.post("/lots/{lot_id}/faulty", responses=documented(409))
def faulty(lot_id: LotId, body: Devices, session: SessionDep,
           user: PlannerDep) -> dict[str, Any]:
    """Devices of a lot came back faulty or were returned: never offered again (audited);
    409 for more than the lot has neither handed over nor reserved."""
    return ledger.mark_faulty(session, lot_id, body.devices, user.name)


@router.get("/households/{household_id}")
def household(household_id: HouseholdId, session: SessionDep,
              user: PlannerDep) -> dict[str, Any]:
    """One household across the campaign: each round that allocated it a phone, and what
    became of it (reserved, handed over, released)."""
    history = ledger.household_history(session, household_id)
    record_read(session, user.name, "read household history", f"household {household_id}")
    return {"household_id": household_id, "rounds": history}
