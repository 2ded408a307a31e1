"""What a sponsor may see of a round: its own lots and where its devices went, in counts only.

Every figure a sponsor can reach (the portal, its downloads and the sponsor API) comes
from here, suppressed together (`allocator.disclosure`): a count from 1 to 4 is
"<5", and no hidden count can be worked out from the totals shown beside it.

A sponsor sees a round only if it is approved or closed and holds at least one of
the sponsor's lots (`round_for_sponsor`); any other round, existing or not, is
answered the same way, so a sponsor cannot tell which rounds exist or are approved.
The suppressed figures are kept per round and sponsor (`VIEWS`), keyed by a
fingerprint read from the database, so several web processes never serve stale ones.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocator.contract import FLAGS, STATUSES
from allocator.disclosure import SMALL, WITHHELD, Facts, suppress
from allocator.store.lifecycle import VISIBLE_TO_SPONSORS, WITH_RESULTS
from allocator.store.models import AllocationRow, Commune, Round, Sponsor

# Sponsors see decisions only: a solved round is still a planner's draft (or a what-if).
# The round service's own sets, as status words: what sponsors see, what a planner may preview.
VISIBLE = tuple(sorted(VISIBLE_TO_SPONSORS))
PREVIEW = tuple(sorted(WITH_RESULTS))
CHART_GROUPS = ("poor", "near_poor", "other", "merit_family", "elderly_alone", "disability")


class LotLine(NamedTuple):
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
    groups: list[tuple[str, str]]  # every status and flag


def visible_rounds(session: Session, sponsor_id: str | None = None,
                   statuses: tuple[str, ...] = VISIBLE) -> list[Round]:
    """Rounds with results, newest first; with a sponsor, only rounds that hold its lots."""
    rows = session.scalars(select(Round).where(Round.status.in_(statuses))
                           .order_by(Round.id.desc())).all()
    if sponsor_id is None:
        return list(rows)
    return [r for r in rows if sponsor_id in _round_sponsors(session, r)]


def round_for_sponsor(session: Session, round_id: int, sponsor_id: str) -> Round | None:
    """The round if this sponsor may see it (approved or closed, holding one of its lots,
    used or not); None otherwise, whether the round exists or not."""
    row = session.get(Round, round_id)
    if row is None or row.status not in VISIBLE or sponsor_id not in _round_sponsors(session,
                                                                                     row):
        return None
    return row


_SPONSORS: OrderedDict[tuple[Any, ...], frozenset[str]] = OrderedDict()
_SPONSORS_LOCK = threading.Lock()


def _round_sponsors(session: Session, row: Round) -> frozenset[str]:
    """The sponsors with a lot in the round (frozen with its results, so kept per solve)."""
    key = (_database(session), row.id, row.created_at, row.solved_at)
    with _SPONSORS_LOCK:
        if key in _SPONSORS:
            _SPONSORS.move_to_end(key)
            return _SPONSORS[key]
    if row.dashboard:
        found = frozenset(str(x["sponsor_id"]) for x in row.dashboard.get("lots", []))
    else:
        found = frozenset(session.scalars(select(AllocationRow.sponsor_id).distinct()
                                          .where(AllocationRow.round_id == row.id)))
    with _SPONSORS_LOCK:
        _SPONSORS[key] = found
        while len(_SPONSORS) > 1024:
            _SPONSORS.popitem(last=False)
    return found


def _database(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


class Allocated(NamedTuple):
    """One of a sponsor's allocated devices, as the figures need it (no household id)."""

    lot_id: str
    commune_code: str
    poverty_status: str
    flags: str
    handed_over: bool


Key = tuple[str, ...]


class Figures(NamedTuple):
    """Every count a sponsor can see, the sums linking them, the ones to keep in view, and
    what a reader knows of them besides."""

    cells: dict[Key, int]
    sums: list[tuple[Key, list[Key]]]
    keep: set[Key]
    facts: Facts[Key]


def figures(allocated: Sequence[Allocated], lots: Sequence[str],
            quantities: Mapping[str, int] | None = None) -> Figures:
    """Every count a sponsor can see, the sums linking them, and what a reader knows.

    Lots: allocated = handed over + pending, and their totals. Communes and household
    statuses: each adds up to the total allocated. Flags (merit family, ...) stand
    alone. No commune-by-group table is published: crossing two margins gives a reader
    far more ways to pin a small count down. Under 5 devices in all, only that total is
    shown ("<5"): any breakdown of so few could be worked out.

    What the reader knows besides the figures and these sums, and the audit assumes:
    - every count is a whole number >= 0, so a lot's handed over and pending are each
      at most its allocated;
    - "<5" is 1 to 4, "*" is 0 or at least 5, "–" is any count;
    - the commune table lists only communes with a device, so a listed commune's count
      is at least 1 (a listed "*" is at least 5); every lot, status and flag is listed,
      zero or not, so their place in the list says nothing;
    - devices allocated from a lot are at most its quantity, which is shown (portal,
      CSV-less sponsor API `/lots`), and so the total at most the total quantity;
    - households with a flag are at most all households served (a flag is not a status:
      they add up to nothing);
    - a round's allocations do not change once it is approved, and handovers only add:
      the allocation figures are suppressed on their own (`publish`), so a sponsor who
      looked before a handover was recorded learns nothing new from a later look.
    Nothing else is shown to a sponsor about a round: its name and status, and its
    lots' model and quantity (quantities, prices and subsidies of the sponsor's own
    registry lots at `/api/sponsor/lots`, which hold no count of households).
    """
    quantities = quantities or {}
    by_lot = Counter(a.lot_id for a in allocated)
    handed = Counter(a.lot_id for a in allocated if a.handed_over)
    by_commune = Counter(a.commune_code for a in allocated)
    by_group: Counter[str] = Counter()
    for a in allocated:
        by_group[a.poverty_status] += 1
        for flag in {f for f in a.flags.split(";") if f in FLAGS}:
            by_group[flag] += 1
    known_lots = [lot for lot in lots if lot in quantities]
    total_quantity: dict[Key, int] = {}
    if known_lots and len(known_lots) == len(lots):
        total_quantity[("total", "a")] = sum(quantities[lot] for lot in known_lots)
    if 0 < len(allocated) < SMALL:
        return Figures({("total", "a"): len(allocated)}, [], set(),
                       Facts(ceilings=total_quantity))
    cells: dict[Key, int] = {}
    sums: list[tuple[Key, list[Key]]] = []
    for lot in lots:
        cells[("lot", lot, "a")] = by_lot[lot]
        cells[("lot", lot, "h")] = handed[lot]
        cells[("lot", lot, "p")] = by_lot[lot] - handed[lot]
        sums.append((("lot", lot, "a"), [("lot", lot, "h"), ("lot", lot, "p")]))
    for part in ("a", "h", "p"):
        cells[("total", part)] = sum(cells[("lot", lot, part)] for lot in lots)
        sums.append((("total", part), [("lot", lot, part) for lot in lots]))
    sums.append((("total", "a"), [("total", "h"), ("total", "p")]))
    communes = sorted(by_commune)
    for c in communes:
        cells[("commune", c)] = by_commune[c]
    sums.append((("total", "a"), [("commune", c) for c in communes]))
    for g in (*STATUSES, *FLAGS):
        cells[("group", g)] = by_group[g]
    sums.append((("total", "a"), [("group", s) for s in STATUSES]))
    # What a sponsor most wants to know, its devices allocated per lot, is hidden as a
    # complement only as a last resort.
    keep: set[Key] = {("lot", lot, "a") for lot in lots} | {("total", "a")}
    facts: Facts[Key] = Facts(nonzero=frozenset(("commune", c) for c in communes),
                  ceilings={("lot", lot, "a"): quantities[lot] for lot in known_lots}
                  | total_quantity,
                  at_most=tuple((("group", f), ("total", "a")) for f in FLAGS))
    return Figures(cells, sums, keep, facts)


def _allocation_side(key: Key) -> bool:
    """Figures fixed once a round is approved: all but handed over and pending."""
    return key[-1] not in ("h", "p")


def publish(made: Figures) -> dict[Key, str]:
    """The text of every figure: the allocation figures suppressed on their own first,
    then handed over and pending around them, so the allocation figures read the same
    before and after any handover."""
    cells, sums, keep, facts = made
    fixed_keys = {k for k in cells if _allocation_side(k)}
    if fixed_keys == set(cells):
        return suppress(cells, sums, keep, facts)
    first = suppress(
        {k: n for k, n in cells.items() if k in fixed_keys},
        [(t, parts) for t, parts in sums if {t, *parts} <= fixed_keys], keep,
        Facts(facts.nonzero & fixed_keys,
              {k: n for k, n in facts.ceilings.items() if k in fixed_keys},
              tuple(p for p in facts.at_most if set(p) <= fixed_keys)))
    return suppress(cells, sums, keep, facts, fixed=first)


class ViewCache:
    """Suppressed figures per (database, round, sponsor), each kept with the fingerprint
    of what they were made from: the audit (CP-SAT) runs again only when that changes.

    The fingerprint is read from the database on every use, so a handover recorded by
    another web process is seen at once; a bounded number of views is kept, least
    recently used dropped first.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._views: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], SponsorView]] = \
            OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], fingerprint: tuple[Any, ...]) -> SponsorView | None:
        with self._lock:
            kept = self._views.get(key)
            if kept is None or kept[0] != fingerprint:
                return None
            self._views.move_to_end(key)
            return kept[1]

    def put(self, key: tuple[Any, ...], fingerprint: tuple[Any, ...],
            view: SponsorView) -> None:
        with self._lock:
            self._views[key] = (fingerprint, view)
            self._views.move_to_end(key)
            while len(self._views) > self.size:
                self._views.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._views.clear()


VIEWS = ViewCache()


def fingerprint(session: Session, row: Round, sponsor_id: str) -> tuple[Any, ...]:
    """What the sponsor's figures depend on, cheaply: the round's state and name, and
    how many of its devices there are and have been handed over (handovers only add)."""
    allocated, handed, last = session.execute(
        select(func.count(), func.count(AllocationRow.handed_over_at),
               func.max(AllocationRow.handed_over_at))
        .where(AllocationRow.round_id == row.id, AllocationRow.sponsor_id == sponsor_id)).one()
    return (row.status, row.name, row.created_at, row.solved_at, row.approved_at,
            allocated, handed, last)


def sponsor_view(session: Session, row: Round, sponsor_id: str) -> SponsorView:
    """The sponsor's figures for one round with results, suppressed together (kept in
    `VIEWS` until the round or its handovers change)."""
    key = (_database(session), row.id, sponsor_id)
    mark = fingerprint(session, row, sponsor_id)
    view = VIEWS.get(key, mark)
    if view is None:
        view = make_view(session, row, sponsor_id)
        VIEWS.put(key, mark, view)
    return view


def make_view(session: Session, row: Round, sponsor_id: str) -> SponsorView:
    """The sponsor's figures for one round with results, computed afresh."""
    allocated = [Allocated(lot, commune, status, str(flags), handed is not None)
                 for lot, commune, status, flags, handed in session.execute(
        select(AllocationRow.lot_id, AllocationRow.commune_code, AllocationRow.poverty_status,
               AllocationRow.flags, AllocationRow.handed_over_at)
        .where(AllocationRow.round_id == row.id, AllocationRow.sponsor_id == sponsor_id))]
    lot_info = {str(x["lot_id"]): x for x in (row.dashboard or {}).get("lots", [])
                if str(x["sponsor_id"]) == sponsor_id}
    lots = sorted(set(lot_info) | {a.lot_id for a in allocated})
    made = figures(allocated, lots, {lot: int(info.get("quantity", 0))
                                     for lot, info in lot_info.items()})
    cells, shown = made.cells, publish(made)

    def line(lot: str, key: Key) -> LotLine:
        info = lot_info.get(lot, {})
        return LotLine(lot, str(info.get("model", "")), int(info.get("quantity", 0)),
                       *(shown.get((*key, part), WITHHELD) for part in "ahp"))

    communes = [k[1] for k in cells if k[0] == "commune"]
    # Names and points as the round froze them; the city's table for anything missing.
    frozen = {str(c["commune_code"]): c for c in (row.dashboard or {}).get("communes", [])}
    places = {c.code: c for c in session.scalars(select(Commune).where(
        Commune.code.in_(communes)))}
    commune_lines = []
    for c in communes:
        info = frozen.get(c) or {}
        place = places.get(c)
        text = shown[("commune", c)]
        commune_lines.append(CommuneLine(
            c, str(info.get("name") or (place.name if place else c)),
            info.get("lat") if info.get("lat") is not None else (place.lat if place else None),
            info.get("lon") if info.get("lon") is not None else (place.lon if place else None),
            text, cells[("commune", c)] if text.isdigit() else None))
    return SponsorView(
        row.id, row.name, row.status, sponsor_id, _sponsor_name(session, sponsor_id, lot_info),
        [line(lot, ("lot", lot)) for lot in lots],
        line("", ("total",))._replace(quantity=sum(int(x.get("quantity", 0))
                                                   for x in lot_info.values())),
        commune_lines, [(g, shown.get(("group", g), WITHHELD)) for g in (*STATUSES, *FLAGS)])


def _sponsor_name(session: Session, sponsor_id: str, lot_info: dict[str, Any]) -> str:
    row = session.get(Sponsor, sponsor_id)
    if row is not None and row.name:
        return row.name
    for info in lot_info.values():
        if info.get("sponsor_name"):
            return str(info["sponsor_name"])
    return sponsor_id
