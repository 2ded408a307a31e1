"""What a sponsor may see of a round: its own lots and where its devices went, in counts only.

Every figure a sponsor can reach (the portal, its CSV and the sponsor API) comes
from here, suppressed together (`allocator.disclosure`): a count from 1 to 4 is
"<5", and no hidden count can be worked out from the totals shown beside it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.contract import FLAGS, STATUSES
from allocator.disclosure import suppress
from allocator.store.models import AllocationRow, Commune, Round, Sponsor

# Sponsors see decisions only: a solved round is still a planner's draft (or a what-if).
VISIBLE = ("approved", "closed")
PREVIEW = ("solved", "approved", "closed")  # what a planner may preview as a sponsor
CHART_GROUPS = ("poor", "near_poor", "other", "merit_family", "elderly_alone", "disability")


@dataclass(frozen=True)
class LotLine:
    lot_id: str
    model: str
    quantity: int
    allocated: str
    handed_over: str
    pending: str


@dataclass(frozen=True)
class CommuneLine:
    code: str
    name: str
    lat: float | None
    lon: float | None
    devices: str
    count: int | None  # None when hidden: drawn only as "<5 or hidden"


@dataclass(frozen=True)
class SponsorView:
    round_id: int
    round_name: str
    round_status: str
    sponsor_id: str
    sponsor_name: str
    lots: list[LotLine]
    total: LotLine
    communes: list[CommuneLine]
    groups: list[tuple[str, str]]
    cells: list[tuple[str, str, str]]  # (commune, group, devices) for the sponsor API


def visible_rounds(session: Session, sponsor_id: str | None = None,
                   statuses: tuple[str, ...] = VISIBLE) -> list[Round]:
    """Rounds with results, newest first; with a sponsor, only rounds that hold its lots."""
    rows = session.scalars(select(Round).where(Round.status.in_(statuses))
                           .order_by(Round.id.desc())).all()
    if sponsor_id is None:
        return list(rows)
    return [r for r in rows if sponsor_id in _round_sponsors(session, r)]


def _round_sponsors(session: Session, row: Round) -> set[str]:
    if row.dashboard:
        return {str(x["sponsor_id"]) for x in row.dashboard.get("lots", [])}
    return set(session.scalars(select(AllocationRow.sponsor_id).distinct()
                               .where(AllocationRow.round_id == row.id)))


def sponsor_view(session: Session, row: Round, sponsor_id: str) -> SponsorView:
    """The sponsor's figures for one round with results, suppressed together."""
    allocated = session.execute(
        select(AllocationRow.lot_id, AllocationRow.commune_code, AllocationRow.poverty_status,
               AllocationRow.flags, AllocationRow.handed_over_at)
        .where(AllocationRow.round_id == row.id, AllocationRow.sponsor_id == sponsor_id)).all()
    lot_info = {str(x["lot_id"]): x for x in (row.dashboard or {}).get("lots", [])
                if str(x["sponsor_id"]) == sponsor_id}
    lots = sorted(set(lot_info) | {a.lot_id for a in allocated})
    by_lot = Counter(a.lot_id for a in allocated)
    handed = Counter(a.lot_id for a in allocated if a.handed_over_at is not None)
    by_commune = Counter(a.commune_code for a in allocated)
    cross: Counter[tuple[str, str]] = Counter()
    for a in allocated:
        cross[(a.commune_code, a.poverty_status)] += 1
        for flag in {f for f in str(a.flags).split(";") if f in FLAGS}:
            cross[(a.commune_code, flag)] += 1
    communes = sorted(by_commune)
    groups = (*STATUSES, *FLAGS)

    cells: dict[tuple[str, ...], int] = {}
    sums: list[tuple[tuple[str, ...], list[tuple[str, ...]]]] = []
    for lot in lots:
        cells[("lot", lot, "a")] = by_lot[lot]
        cells[("lot", lot, "h")] = handed[lot]
        cells[("lot", lot, "p")] = by_lot[lot] - handed[lot]
        sums.append((("lot", lot, "a"), [("lot", lot, "h"), ("lot", lot, "p")]))
    for part in ("a", "h", "p"):
        cells[("total", part)] = sum(cells[("lot", lot, part)] for lot in lots)
        sums.append((("total", part), [("lot", lot, part) for lot in lots]))
    sums.append((("total", "a"), [("total", "h"), ("total", "p")]))
    for c in communes:
        cells[("commune", c)] = by_commune[c]
        for g in groups:
            cells[("cell", c, g)] = cross[(c, g)]
        sums.append((("commune", c), [("cell", c, s) for s in STATUSES]))
    sums.append((("total", "a"), [("commune", c) for c in communes]))
    for g in groups:
        cells[("group", g)] = sum(cross[(c, g)] for c in communes)
        sums.append((("group", g), [("cell", c, g) for c in communes]))
    sums.append((("total", "a"), [("group", s) for s in STATUSES]))
    # What a sponsor most wants to know, its devices allocated per lot, is hidden as a
    # complement only as a last resort.
    shown = suppress(cells, sums, protect={("lot", lot, "a") for lot in lots} |
                     {("total", "a")})

    def line(lot: str, key: tuple[str, ...]) -> LotLine:
        info = lot_info.get(lot, {})
        return LotLine(lot, str(info.get("model", "")), int(info.get("quantity", 0)),
                       shown[(*key, "a")], shown[(*key, "h")], shown[(*key, "p")])

    places = {c.code: c for c in session.scalars(select(Commune).where(
        Commune.code.in_(communes)))}
    names = {str(c["commune_code"]): c for c in (row.dashboard or {}).get("communes", [])}
    commune_lines = []
    for c in communes:
        place = places.get(c)
        text = shown[("commune", c)]
        commune_lines.append(CommuneLine(
            c, place.name if place else str(names.get(c, {}).get("name", c)),
            place.lat if place else names.get(c, {}).get("lat"),
            place.lon if place else names.get(c, {}).get("lon"),
            text, by_commune[c] if text.isdigit() else None))
    return SponsorView(
        row.id, row.name, row.status, sponsor_id, _sponsor_name(session, sponsor_id, lot_info),
        [line(lot, ("lot", lot)) for lot in lots],
        LotLine("", "", sum(x.get("quantity", 0) for x in lot_info.values()),
                shown[("total", "a")], shown[("total", "h")], shown[("total", "p")]),
        commune_lines, [(g, shown[("group", g)]) for g in CHART_GROUPS],
        [(c, g, shown[("cell", c, g)]) for c in communes for g in groups
         if cells[("cell", c, g)] or not shown[("cell", c, g)].isdigit()])


def _sponsor_name(session: Session, sponsor_id: str, lot_info: dict[str, Any]) -> str:
    row = session.get(Sponsor, sponsor_id)
    if row is not None and row.name:
        return row.name
    for info in lot_info.values():
        if info.get("sponsor_name"):
            return str(info["sponsor_name"])
    return sponsor_id
