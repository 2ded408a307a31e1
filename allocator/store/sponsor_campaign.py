"""What a sponsor may see of the whole campaign: its own lots across every round, in counts
only, with small counts suppressed (`allocator.disclosure`) as in the round view.

Per lot: devices pledged and found faulty (the sponsor's own numbers), handed over,
reserved (waiting at a point), released (not collected: back in stock) and
available. No household appears, and nothing is broken down by commune.

The sponsor also sees each round on its own (`sponsor_view`), and a campaign
figure is a sum over rounds: set beside the round views, it could give away a
round's hidden count by subtraction (a closed round shows 1,113 allocated, the
campaign 1,111 released: 2 handed over). So a campaign figure is published only
when every round's part of it is published exactly in that round's view, or
comes from a round no sponsor sees (superseded) and is 0 or at least 5; else it
is not published ("–"). A breakdown by commune would meet the same subtraction with
every round's commune figures, so there is none.

What the reader knows, and the audit assumes (see `sponsor_view.figures` for
the rules of the round view, which hold here too):
- available = pledged - faulty - (handed over + reserved), with pledged and
  faulty shown: so a lot's devices in use (handed over + reserved) are known
  whenever its available figure is shown, and are a figure of their own here
  ("use"), hidden with available when they must be;
- a lot's use is at most its pledged minus faulty.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from allocator.disclosure import SECONDARY, WITHHELD, Facts, suppress
from allocator.store import ledger
from allocator.store.lifecycle import VISIBLE_TO_SPONSORS
from allocator.store.models import AllocationRow, Lot, Round, Sponsor
from allocator.store.sponsor_view import sponsor_view

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
class SponsorCampaign:
    sponsor_id: str
    sponsor_name: str
    lots: list[CampaignLot]
    total: CampaignLot


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
    for lot, _commune, handed, reserved, released in counts:
        if lot not in stock:
            continue
        cells[("lot", lot, "h")] += handed
        cells[("lot", lot, "r")] += reserved
        cells[("lot", lot, "x")] += released
        cells[("lot", lot, "u")] += handed + reserved
    sums: list[tuple[Key, list[Key]]] = []
    for lot in lots:
        sums.append((("lot", lot, "u"), [("lot", lot, "h"), ("lot", lot, "r")]))
    for part in PARTS:
        cells[("total", part)] = sum(cells[("lot", lot, part)] for lot in lots)
        sums.append((("total", part), [("lot", lot, part) for lot in lots]))
    sums.append((("total", "u"), [("total", "h"), ("total", "r")]))
    keep: set[Key] = {("lot", lot, "u") for lot in lots} | {("total", "u")}
    room = {lot: max(0, pledged - faulty) for lot, (pledged, faulty) in stock.items()}
    # What a reader may take from pledged and faulty; a ledger that does not hold (a lot
    # given beyond its pledge by rounds older than the ledger) tells nothing to rely on.
    ceilings: dict[Key, int] = {("lot", lot, "u"): room[lot] for lot in lots
                                if cells[("lot", lot, "u")] <= room[lot]}
    if len(ceilings) == len(lots):
        ceilings[("total", "u")] = sum(room.values())
    facts: Facts[Key] = Facts(nonzero=frozenset(), ceilings=ceilings)
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
    for key in _overlapping(session, sponsor_id, lots):
        shown[key] = WITHHELD  # not published: even "<5" would narrow a round's hidden count

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
    return SponsorCampaign(sponsor_id, name, lines, total)


def _overlapping(session: Session, sponsor_id: str,
                 lots: dict[str, tuple[str, int, int]]) -> set[Key]:
    """The campaign figures that a round view, set beside them, could pin down: a round's
    part of them is not published there exactly (or, in a round no sponsor sees, is
    from 1 to 4). A lot's use and the totals follow their parts."""
    per_round = session.execute(
        select(AllocationRow.round_id, AllocationRow.lot_id, _count(ledger.HANDED),
               _count(ledger.RESERVED), _count(ledger.RELEASED))
        .join(Round, Round.id == AllocationRow.round_id)
        .where(AllocationRow.lot_id.in_(list(lots)))
        .group_by(AllocationRow.round_id, AllocationRow.lot_id)).all()
    rounds = {r.id: r for r in session.scalars(select(Round).where(
        Round.id.in_({row[0] for row in per_round})))}
    views: dict[int, dict[str, Any]] = {}
    unsafe: set[Key] = set()
    for round_id, lot, handed, reserved, released in per_round:
        row = rounds[round_id]
        parts = {"h": int(handed), "r": int(reserved), "x": int(released)}
        if row.status in VISIBLE_TO_SPONSORS:
            if round_id not in views:
                views[round_id] = {line.lot_id: line for line in
                                   sponsor_view(session, row, sponsor_id).lots}
            line = views[round_id].get(lot)
            published = {"h": line.handed_over if line else "",
                         "r": line.pending if line else "", "x": line.pending if line else ""}
            unsafe |= {("lot", lot, p) for p, n in parts.items()
                       if n and not published[p].isdigit()}
        else:
            unsafe |= {("lot", lot, p) for p, n in parts.items() if 0 < n < 5}
    for lot in lots:
        if ("lot", lot, "h") in unsafe or ("lot", lot, "r") in unsafe:
            unsafe.add(("lot", lot, "u"))
    for part in PARTS:
        if any(("lot", lot, part) in unsafe for lot in lots):
            unsafe.add(("total", part))
    return unsafe
