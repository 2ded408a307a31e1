"""Why a sponsor's idle devices are idle, lot by lot, as its portal and downloads say it.

The reasons are the sponsor sheet's (`allocator.store.sponsor_sheet`): the round's
bottleneck analysis when one has finished, else the round's own split, worked out with
every solve (`dashboard.json`, `allocator.lot_use.idle_reasons`). Their counts are
suppressed around the portal's figures exactly as the sheet suppresses them, so a
sponsor holding both reads the same texts: the idle devices are published exactly when
the allocated ones are, a reason's devices are "<5", "*" or "–" where they would give a
small count away, and where listing a lot's reasons alone would say too much they are
left out. A lot is listed only when the sponsor may know it has idle devices: its idle
count is published and not zero, or its reasons are.

Kept per round and sponsor until the portal's figures or the round's analysis change
(the audit behind the suppression is not free).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.store.analyses import BOTTLENECKS
from allocator.store.jobs import DONE
from allocator.store.models import Round, RoundAnalysis
from allocator.store.sponsor_sheet import sponsor_sheet
from allocator.store.sponsor_view import fingerprint


@dataclass(frozen=True)
class IdleLot:
    lot_id: str
    model: str
    quantity: int
    allocated: str  # as published: a number, "<5", "*" or "–"
    idle: str  # as published
    reasons: tuple[tuple[str, str], ...]  # (reason, devices as published), in funnel order

    @property
    def withheld(self) -> bool:
        """Idle devices whose reasons are not published (they would give a count away)."""
        return not self.reasons


@dataclass(frozen=True)
class IdleDevices:
    lots: tuple[IdleLot, ...]  # the lots a sponsor may know have idle devices
    every_lot_used: bool  # published: every device of every lot is allocated
    source: str  # "analysis", "round" or "" (a round solved before reasons were kept)


_KEPT: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], IdleDevices]] = OrderedDict()
_LOCK = threading.Lock()


def idle_devices(session: Session, row: Round, sponsor_id: str) -> IdleDevices:
    """The sponsor's lots with idle devices in a round it may see, and why."""
    key = (session.get_bind().engine.url.render_as_string(hide_password=True), row.id,
           sponsor_id)
    mark = (*fingerprint(session, row, sponsor_id), session.scalar(
        select(RoundAnalysis.id).where(RoundAnalysis.round_id == row.id,
                                       RoundAnalysis.kind == BOTTLENECKS,
                                       RoundAnalysis.status == DONE)
        .order_by(RoundAnalysis.id.desc()).limit(1)))
    with _LOCK:
        kept = _KEPT.get(key)
        if kept is not None and kept[0] == mark:
            _KEPT.move_to_end(key)
            return kept[1]
    made = _make(session, row, sponsor_id)
    with _LOCK:
        _KEPT[key] = (mark, made)
        _KEPT.move_to_end(key)
        while len(_KEPT) > 512:
            _KEPT.popitem(last=False)
    return made


def _make(session: Session, row: Round, sponsor_id: str) -> IdleDevices:
    sheet = sponsor_sheet(session, row.id, sponsor_id, round_reasons=True)
    lots = []
    for x in sheet.lots:
        reasons = tuple((r.reason, r.devices) for r in x.idle_reasons)
        if reasons or (x.idle.isdigit() and int(x.idle) > 0):
            lots.append(IdleLot(x.lot_id, x.model, x.quantity, x.allocated, x.idle, reasons))
    return IdleDevices(tuple(lots), sheet.total.idle == "0", sheet.reasons_from)


def forget() -> None:
    """Drop what is kept (tests that rebuild a store under the same address)."""
    with _LOCK:
        _KEPT.clear()
