"""Sponsors: their own lots, and where their devices went, never anyone's personal data."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy import select

from allocator.contract import FLAGS, STATUSES
from allocator.store.models import AllocationRow, Lot, Round
from api.deps import RoundId, SessionDep, SponsorDep
from api.schemas import DistributionRow, SponsorLot, SponsorLotUse

router = APIRouter(prefix="/sponsor", tags=["sponsors"])
SMALL = 5  # counts under this are shown as "<5"


def shown(count: int) -> str:
    """A count a sponsor may see: small ones could single a household out."""
    return f"<{SMALL}" if 0 < count < SMALL else str(count)


@router.get("/lots", response_model=list[SponsorLot])
def my_lots(session: SessionDep, user: SponsorDep) -> list[SponsorLot]:
    rows = session.scalars(select(Lot).where(Lot.sponsor_id == user.sponsor_id)
                           .order_by(Lot.id))
    return [SponsorLot(lot_id=r.id, model=r.model, network=r.network, quantity=r.quantity,
                       unit_price_vnd=r.unit_price_vnd,
                       sponsor_subsidy_vnd=r.sponsor_subsidy_vnd) for r in rows]


@router.get("/rounds/{round_id}/distribution", response_model=list[DistributionRow])
def distribution(round_id: RoundId, session: SessionDep,
                 user: SponsorDep) -> list[DistributionRow]:
    """This sponsor's devices by commune and household group (status, or a flag)."""
    row = session.get(Round, round_id)
    if row is None or row.status not in ("solved", "approved", "closed"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no results for round {round_id}")
    counts: dict[tuple[str, str], int] = {}
    query = select(AllocationRow.commune_code, AllocationRow.poverty_status,
                   AllocationRow.flags).where(AllocationRow.round_id == round_id,
                                              AllocationRow.sponsor_id == user.sponsor_id)
    for commune, poverty, flags in session.execute(query):
        groups = [poverty] + [f for f in str(flags).split(";") if f in FLAGS]
        for group in groups:
            if group in STATUSES or group in FLAGS:
                counts[(commune, group)] = counts.get((commune, group), 0) + 1
    return [DistributionRow(commune_code=c, group=g, devices=shown(n))
            for (c, g), n in sorted(counts.items())]


@router.get("/rounds/{round_id}/distribution.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def distribution_csv(round_id: RoundId, session: SessionDep, user: SponsorDep) -> Response:
    """The same aggregates as a CSV file Excel opens directly (UTF-8 with BOM)."""
    rows = distribution(round_id, session, user)
    lines = ["commune_code,group,devices"] + [f"{r.commune_code},{r.group},{r.devices}"
                                             for r in rows]
    return Response(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="phan-bo-dot-{round_id}.csv"'})


@router.get("/rounds/{round_id}/lots", response_model=list[SponsorLotUse])
def lot_use(round_id: RoundId, session: SessionDep, user: SponsorDep) -> list[SponsorLotUse]:
    """Each of this sponsor's lots in a round: allocated, handed over, pending."""
    row = session.get(Round, round_id)
    if row is None or row.status not in ("solved", "approved", "closed"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no results for round {round_id}")
    models = dict(session.execute(select(Lot.id, Lot.model)
                                  .where(Lot.sponsor_id == user.sponsor_id)).all())
    use: dict[str, list[int]] = {}
    for lot, handed in session.execute(
            select(AllocationRow.lot_id, AllocationRow.handed_over_at)
            .where(AllocationRow.round_id == round_id,
                   AllocationRow.sponsor_id == user.sponsor_id)):
        counts = use.setdefault(lot, [0, 0])
        counts[0] += 1
        counts[1] += handed is not None
    return [SponsorLotUse(lot_id=lot, model=models.get(lot, ""), allocated=a, handed_over=h,
                          pending=a - h) for lot, (a, h) in sorted(use.items())]
