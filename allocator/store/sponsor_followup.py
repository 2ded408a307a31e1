"""What a sponsor may see of the follow-up calls: the share of its phones in use, per lot and
over all its lots, with small counts suppressed (`allocator.disclosure`) as its other figures.

Per lot: calls answered, phones in use, and the rest (not in use or never received).
The three are linked (answered = in use + the rest, and the totals over lots), so
a count from 1 to 4 is hidden with whatever would give it away; the share is shown
only when the counts it is made of (in use and the rest) are both shown, since a
share over a shown total gives its parts away. The answers are shown nowhere
else to sponsors (no round view, no commune), so no other view can be set beside
these to subtract. No household, name or phone is read here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from allocator.disclosure import WITHHELD, suppress
from allocator.store.models import FollowUp, Lot

Key = tuple[str, ...]
PARTS = ("a", "u", "n")  # answered, in use, not in use (never received included)


@dataclass(frozen=True)
class FollowUpLine:
    lot_id: str  # "" for the total
    model: str
    answered: str
    in_use: str
    not_in_use: str
    share_in_use: str  # "87%" (whole per cent), or a hidden mark; "" when nothing answered


def _share(in_use: str, not_in_use: str) -> str:
    if not (in_use.isdigit() and not_in_use.isdigit()):
        return WITHHELD
    used, rest = int(in_use), int(not_in_use)
    return f"{round(100 * used / (used + rest))}%" if used + rest else ""


def sponsor_followup(session: Session, sponsor_id: str) -> list[FollowUpLine]:
    """Each of the sponsor's lots with answered calls, then the total (last); empty when
    no call about its phones has been answered."""
    models = {lot: model for lot, model in session.execute(
        select(Lot.id, Lot.model).where(Lot.sponsor_id == sponsor_id))}
    rows = session.execute(
        select(FollowUp.lot_id, func.count(),
               func.coalesce(func.sum(case((FollowUp.answer == "in_use", 1), else_=0)), 0))
        .where(FollowUp.sponsor_id == sponsor_id, FollowUp.answer.is_not(None))
        .group_by(FollowUp.lot_id).order_by(FollowUp.lot_id)).all()
    if not rows:
        return []
    lots = [str(lot) for lot, _, _ in rows]
    cells: dict[Key, int] = {}
    for lot, answered, used in rows:
        cells[("lot", lot, "a")] = int(answered)
        cells[("lot", lot, "u")] = int(used)
        cells[("lot", lot, "n")] = int(answered) - int(used)
    sums: list[tuple[Key, list[Key]]] = [(("lot", lot, "a"), [("lot", lot, "u"), ("lot", lot, "n")])
                                         for lot in lots]
    for part in PARTS:
        cells[("total", part)] = sum(cells[("lot", lot, part)] for lot in lots)
        sums.append((("total", part), [("lot", lot, part) for lot in lots]))
    sums.append((("total", "a"), [("total", "u"), ("total", "n")]))
    # Answered calls matter most to a reader: they say how much the share rests on.
    shown = suppress(cells, sums, protect={k for k in cells if k[-1] == "a"})

    def line(key: Key, lot_id: str, model: str) -> FollowUpLine:
        used, rest = shown[(*key, "u")], shown[(*key, "n")]
        return FollowUpLine(lot_id, model, shown[(*key, "a")], used, rest, _share(used, rest))

    return [line(("lot", lot), lot, models.get(lot, "")) for lot in lots] + \
        [line(("total",), "", "")]
