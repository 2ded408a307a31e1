"""What a sponsor may see of the whole campaign: its own lots across every round, in counts
only, with small counts suppressed (`allocator.disclosure`) as in the round view.

Per lot: devices pledged and found faulty (the sponsor's own numbers), handed over,
reserved (waiting at a point), released (not collected: back in stock) and
available. Per commune: the sponsor's devices there (handed over or reserved),
one figure: splitting it by state would cross two margins, which gives a reader
far more ways to pin a small count down (and the audit far more work). No
household appears: no id, name, phone, address or coordinate, and no-shows are
not broken down by commune.

What the reader knows, and the audit assumes (see `sponsor_view.figures` for
the rules of the round view, which hold here too):
- available = pledged - faulty - (handed over + reserved), with pledged and
  faulty shown: so a lot's devices in use (handed over + reserved) are known
  whenever its available figure is shown, and are a figure of their own here
  ("use"), hidden with available when they must be;
- a lot's use is at most its pledged minus faulty; the communes listed are those
  with at least one device, so each listed commune's devices are at least 1.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from allocator.disclosure import SECONDARY, Facts, suppress
from allocator.store import ledger
from allocator.store.models import AllocationRow, Commune, Lot, Round, Sponsor

Key = tuple[str, ...]
PARTS = ("h", "r", "x", "u")  # handed over, reserved, released, use (= handed over + reserved)


@dataclass(frozen=True)
class CampaignLot:
    lot_id: str
    model: str
    pledged: int
    faulty: int
    handed_over: str
    reserved: str
    released: str
    available: str


@dataclass(frozen=True)
class CampaignCommune:
    code: str
    name: str
    lat: float | None
    lon: float | None
    devices: str  # handed over + reserved
    count: int | None  # devices, None when hidden (drawn only as "<5 or hidden")


@dataclass(frozen=True)
class SponsorCampaign:
    sponsor_id: str
    sponsor_name: str
    lots: list[CampaignLot]
    total: CampaignLot
    communes: list[CampaignCommune]


Counts = tuple[tuple[str, str, int, int, int], ...]  # (lot, commune, handed, reserved, released)


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _counts(session: Session, lots: list[str]) -> Counts:
    """The ledger's counts for these lots, per lot and commune, added up by the database."""
    if not lots:
        return ()
    rows = session.execute(
        select(AllocationRow.lot_id, AllocationRow.commune_code,
               _count(ledger.HANDED), _count(ledger.RESERVED), _count(ledger.RELEASED))
        .join(Round, Round.id == AllocationRow.round_id)
        .where(AllocationRow.lot_id.in_(lots))
        .group_by(AllocationRow.lot_id, AllocationRow.commune_code)).all()
    return tuple(sorted((str(lot), str(c), int(h), int(r), int(x)) for lot, c, h, r, x in rows
                        if h or r or x))


def figures(counts: Counts, stock: dict[str, tuple[int, int]]
            ) -> tuple[dict[Key, int], list[tuple[Key, list[Key]]], set[Key], Facts[Key]]:
    """Every count the sponsor sees, the sums linking them, the ones to keep in view, and
    what the reader knows; `stock` is lot -> (pledged, faulty)."""
    lots = sorted(stock)
    cells: dict[Key, int] = {}
    for lot in lots:
        for part in PARTS:
            cells[("lot", lot, part)] = 0
    by_commune: dict[str, int] = {}
    for lot, commune, handed, reserved, released in counts:
        if lot not in stock:
            continue
        cells[("lot", lot, "h")] += handed
        cells[("lot", lot, "r")] += reserved
        cells[("lot", lot, "x")] += released
        cells[("lot", lot, "u")] += handed + reserved
        if handed or reserved:
            by_commune[commune] = by_commune.get(commune, 0) + handed + reserved
    sums: list[tuple[Key, list[Key]]] = []
    for lot in lots:
        sums.append((("lot", lot, "u"), [("lot", lot, "h"), ("lot", lot, "r")]))
    for part in PARTS:
        cells[("total", part)] = sum(cells[("lot", lot, part)] for lot in lots)
        sums.append((("total", part), [("lot", lot, part) for lot in lots]))
    sums.append((("total", "u"), [("total", "h"), ("total", "r")]))
    communes = sorted(by_commune)
    for c in communes:
        cells[("commune", c)] = by_commune[c]
    sums.append((("total", "u"), [("commune", c) for c in communes]))
    keep: set[Key] = {("lot", lot, "u") for lot in lots} | {("total", "u")}
    room = {lot: max(0, pledged - faulty) for lot, (pledged, faulty) in stock.items()}
    # What a reader may take from pledged and faulty; a ledger that does not hold (a lot
    # given beyond its pledge by rounds older than the ledger) tells nothing to rely on.
    ceilings: dict[Key, int] = {("lot", lot, "u"): room[lot] for lot in lots
                                if cells[("lot", lot, "u")] <= room[lot]}
    if len(ceilings) == len(lots):
        ceilings[("total", "u")] = sum(room.values())
    facts: Facts[Key] = Facts(nonzero=frozenset(("commune", c) for c in communes),
                              ceilings=ceilings)
    return cells, sums, keep, facts


_VIEWS: OrderedDict[tuple[Any, ...], tuple[Any, SponsorCampaign]] = OrderedDict()
_LOCK = threading.Lock()


def sponsor_campaign(session: Session, sponsor_id: str) -> SponsorCampaign | None:
    """The sponsor's figures over the whole campaign; None if it has no lot in the registry.

    The suppression's audit runs again only when the counts it is made from change.
    """
    lots = {lot: (model, int(quantity), int(faulty or 0)) for lot, model, quantity, faulty
            in session.execute(select(Lot.id, Lot.model, Lot.quantity, Lot.faulty)
                               .where(Lot.sponsor_id == sponsor_id).order_by(Lot.id))}
    if not lots:
        return None
    counts = _counts(session, list(lots))
    sponsor = session.get(Sponsor, sponsor_id)
    name = (sponsor.name if sponsor is not None else "") or sponsor_id
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    key = (database, sponsor_id)
    mark = (tuple(sorted(lots.items())), counts, name)
    with _LOCK:
        kept = _VIEWS.get(key)
        if kept is not None and kept[0] == mark:
            _VIEWS.move_to_end(key)
            return kept[1]
    view = _make(session, sponsor_id, name, lots, counts)
    with _LOCK:
        _VIEWS[key] = (mark, view)
        _VIEWS.move_to_end(key)
        while len(_VIEWS) > 512:
            _VIEWS.popitem(last=False)
    return view


def _make(session: Session, sponsor_id: str, name: str,
          lots: dict[str, tuple[str, int, int]], counts: Counts) -> SponsorCampaign:
    stock = {lot: (pledged, faulty) for lot, (_, pledged, faulty) in lots.items()}
    cells, sums, keep, facts = figures(counts, stock)
    shown = suppress(cells, sums, keep, facts)

    def available(key: Key, pledged: int, faulty: int) -> str:
        use = shown[(*key, "u")]
        # Shown only with the use it gives away; otherwise hidden as a complement.
        return str(pledged - faulty - cells[(*key, "u")]) if use.isdigit() else SECONDARY

    lines = [CampaignLot(lot, model, pledged, faulty, shown[("lot", lot, "h")],
                         shown[("lot", lot, "r")], shown[("lot", lot, "x")],
                         available(("lot", lot), pledged, faulty))
             for lot, (model, pledged, faulty) in lots.items()]
    pledged_all = sum(p for _, p, _ in lots.values())
    faulty_all = sum(f for _, _, f in lots.values())
    total = CampaignLot("", "", pledged_all, faulty_all, shown[("total", "h")],
                        shown[("total", "r")], shown[("total", "x")],
                        available(("total",), pledged_all, faulty_all))
    codes = [k[1] for k in cells if k[0] == "commune"]
    places = {c.code: c for c in session.scalars(select(Commune).where(Commune.code.in_(codes)))}
    communes = []
    for code in codes:
        place = places.get(code)
        devices = shown[("commune", code)]
        communes.append(CampaignCommune(
            code, (place.name if place else "") or code, place.lat if place else None,
            place.lon if place else None, devices,
            cells[("commune", code)] if devices.isdigit() else None))
    return SponsorCampaign(sponsor_id, name, lines, total, communes)


def clear() -> None:
    with _LOCK:
        _VIEWS.clear()
