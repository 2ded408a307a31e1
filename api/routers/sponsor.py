"""Sponsors: their own lots, and where their devices went, never anyone's personal data.

Every count comes from `allocator.store.sponsor_view`, suppressed together with
what the sponsor portal shows. A round the sponsor may not see (not approved or
closed, or holding none of its lots) is a 404 exactly like a round that does not
exist.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy import select

from allocator.store.models import Lot
from allocator.store.sponsor_followup import sponsor_followup
from allocator.store.sponsor_view import SponsorView, as_csv, round_for_sponsor, sponsor_view
from api.deps import RoundId, SessionDep, SponsorDep
from api.schemas import DistributionRow, SponsorLot, SponsorLotUse

router = APIRouter(prefix="/sponsor", tags=["sponsors"])


@router.get("/lots", response_model=list[SponsorLot])
def my_lots(session: SessionDep, user: SponsorDep) -> list[SponsorLot]:
    rows = session.scalars(select(Lot).where(Lot.sponsor_id == user.sponsor_id)
                           .order_by(Lot.id))
    return [SponsorLot(lot_id=r.id, model=r.model, network=r.network, quantity=r.quantity,
                       unit_price_vnd=r.unit_price_vnd,
                       sponsor_subsidy_vnd=r.sponsor_subsidy_vnd) for r in rows]


def _view(session: SessionDep, round_id: int, sponsor_id: str) -> SponsorView:
    row = round_for_sponsor(session, round_id, sponsor_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no results for round {round_id}")
    return sponsor_view(session, row, sponsor_id)


@router.get("/rounds/{round_id}/distribution", response_model=list[DistributionRow])
def distribution(round_id: RoundId, session: SessionDep,
                 user: SponsorDep) -> list[DistributionRow]:
    """This sponsor's devices by commune (group 'all') and by household group (commune 'all').

    Status and flag groups, city-wide; no commune-by-group cross table, whose small
    cells could be pinned down from its margins.
    """
    view = _view(session, round_id, str(user.sponsor_id))
    return ([DistributionRow(commune_code=c.code, group="all", devices=c.devices)
             for c in view.communes] +
            [DistributionRow(commune_code="all", group=g, devices=n) for g, n in view.groups])


@router.get("/rounds/{round_id}/distribution.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def distribution_csv(round_id: RoundId, session: SessionDep, user: SponsorDep) -> Response:
    """The sponsor portal's figures (lots, communes, groups) as a CSV Excel opens directly."""
    view = _view(session, round_id, str(user.sponsor_id))
    return Response(as_csv(view), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="phan-bo-dot-{round_id}.csv"'})


@router.get("/rounds/{round_id}/lots", response_model=list[SponsorLotUse])
def lot_use(round_id: RoundId, session: SessionDep, user: SponsorDep) -> list[SponsorLotUse]:
    """Each of this sponsor's lots in a round: allocated, handed over, pending."""
    view = _view(session, round_id, str(user.sponsor_id))
    return [SponsorLotUse(**x._asdict()) for x in view.lots]


@router.get("/followup")
def followup_share(session: SessionDep, user: SponsorDep) -> list[dict[str, str]]:
    """The share of this sponsor's phones found in use by the follow-up calls, per lot and in
    total (lot_id ""), in suppressed counts: "<5", "*" and "–" as on the portal."""
    return [asdict(line) for line in sponsor_followup(session, str(user.sponsor_id))]
