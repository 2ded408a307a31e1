"""Sponsors: their own lots, and where their devices went, never anyone's personal data.

Every count comes from `allocator.store.sponsor_view`, suppressed together with
what the sponsor portal shows. A round the sponsor may not see (not approved or
closed, or holding none of its lots) is a 404 exactly like a round that does not
exist.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from allocator.report.labels import Text
from allocator.store.models import Lot, Round
from allocator.store.sponsor_download import (
    SEPARATORS,
    Table,
    as_csv,
    as_xlsx,
    file_name,
    tables,
)
from allocator.store.sponsor_followup import sponsor_followup
from allocator.store.sponsor_idle import idle_devices
from allocator.store.sponsor_view import SponsorView, round_for_sponsor, sponsor_view
from api.deps import RoundId, SessionDep, SponsorDep
from api.pages.labels import PAGE_LABELS
from api.problems import ApiError, documented
from api.schemas import DistributionRow, SponsorLot, SponsorLotUse

router = APIRouter(prefix="/sponsor", tags=["sponsors"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Lang = Annotated[Literal["vi", "en"], Query(description="The language of the headers and "
                                                        "labels: Vietnamese or English.")]
TableName = Annotated[Literal["lots", "idle", "communes", "groups"], Query(
    description="Which table: the lots, their idle devices and why, the devices by commune, "
                "or by household group.")]
Separator = Annotated[Literal["comma", "semicolon"], Query(
    description="Between cells: `semicolon` for an Excel set to Vietnamese.")]


@router.get("/lots", response_model=list[SponsorLot])
def my_lots(session: SessionDep, user: SponsorDep) -> list[SponsorLot]:
    rows = session.scalars(select(Lot).where(Lot.sponsor_id == user.sponsor_id)
                           .order_by(Lot.id))
    return [SponsorLot(lot_id=r.id, model=r.model, network=r.network, quantity=r.quantity,
                       unit_price_vnd=r.unit_price_vnd,
                       sponsor_subsidy_vnd=r.sponsor_subsidy_vnd) for r in rows]


def _round(session: SessionDep, round_id: int, sponsor_id: str) -> Round:
    """The round if this sponsor may see it; else the same 404 whether it exists or not."""
    row = round_for_sponsor(session, round_id, sponsor_id)
    if row is None:
        raise ApiError(404, f"no results for round {round_id}",
                       detail_vi=f"Không có kết quả cho đợt {round_id}.")
    return row


def _view(session: SessionDep, round_id: int, sponsor_id: str) -> SponsorView:
    return sponsor_view(session, _round(session, round_id, sponsor_id), sponsor_id)


def _tables(session: SessionDep, round_id: int, sponsor_id: str,
            t: Text) -> tuple[SponsorView, list[Table]]:
    row = _round(session, round_id, sponsor_id)
    view = sponsor_view(session, row, sponsor_id)
    return view, tables(view, idle_devices(session, row, sponsor_id), t)


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
            responses={200: {"content": {"text/csv": {}}}, **documented(404)})
def distribution_csv(round_id: RoundId, session: SessionDep, user: SponsorDep,
                     table: TableName = "lots", sep: Separator = "comma",
                     lang: Lang = "vi") -> Response:
    """One table of the sponsor portal's figures as a CSV Excel opens directly (UTF-8 with
    BOM): headers and labels in words, published counts as numbers, hidden ones as "<5",
    "*" or "–". 404 for a round this sponsor may not see, existing or not."""
    _, every = _tables(session, round_id, str(user.sponsor_id), Text(lang, PAGE_LABELS))
    chosen = next(x for x in every if x.key == table)
    return Response(as_csv(chosen, SEPARATORS[sep]), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="{file_name(round_id, table, "csv")}"'})


@router.get("/rounds/{round_id}/distribution.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}}, **documented(404)})
def distribution_xlsx(round_id: RoundId, session: SessionDep, user: SponsorDep,
                      lang: Lang = "vi") -> Response:
    """The sponsor portal's figures as a workbook, one sheet per table (lots, idle devices
    and why, communes, household groups), each opening with the sponsor's name, the round
    and its status. 404 for a round this sponsor may not see, existing or not."""
    t = Text(lang, PAGE_LABELS)
    view, every = _tables(session, round_id, str(user.sponsor_id), t)
    return Response(as_xlsx(view, every, t), media_type=XLSX,
                    headers={"Content-Disposition":
                             f'attachment; filename="{file_name(round_id, "", "xlsx")}"'})


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
