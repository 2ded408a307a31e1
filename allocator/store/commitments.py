"""What approving or closing a round commits, said before the planner confirms it.

Approving reserves the round's phones for its households until a pickup
deadline, and every one of those households is to be told where and when to
come; approving a re-plan or a variant also supersedes a round, whose phones
not yet handed over go back to the version. Closing releases every phone not
handed over: back to stock, its household counted as a no-show.

These figures are read, not enforced: the move itself (`campaign.approve_round`,
`campaign.close_round`) checks the ledger again when it commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from allocator.store import ledger
from allocator.store.campaign import VIETNAM, deadline_day
from allocator.store.lifecycle import PICKING_UP, RoundStatus, require
from allocator.store.models import AllocationRow, Round
from allocator.store.variants import supersedes

SOLVED = frozenset({RoundStatus.SOLVED})
OPEN = and_(AllocationRow.handed_over_at.is_(None), AllocationRow.released_at.is_(None))


def _count(session: Session, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(AllocationRow).where(*where))
               or 0)


def approval(session: Session, round_id: int) -> dict[str, Any]:
    """What approving a solved round commits (WrongState if it is not solved)."""
    row = require(session, round_id, SOLVED, "approved")
    mine = AllocationRow.round_id == round_id
    phones = _count(session, mine)
    cost = int(session.scalar(select(func.coalesce(func.sum(AllocationRow.public_cost_vnd), 0))
                              .where(mine)) or 0)
    days = ledger.settings(session).pickup_days
    deadline = (dt.datetime.now(VIETNAM) + dt.timedelta(days=days)).date()
    old_id = supersedes(session, row)
    old = session.get(Round, old_id) if old_id is not None else None
    replaced: dict[str, Any] | None = None
    if old is not None:
        replaced = {"id": old.id, "name": old.name, "status": old.status,
                    "kind": "replan" if row.replaces is not None else "variant",
                    "reserved": _count(session, AllocationRow.round_id == old.id, OPEN)
                    if old.status in PICKING_UP else 0,
                    "handed_over": _count(session, AllocationRow.round_id == old.id,
                                          AllocationRow.handed_over_at.is_not(None)),
                    **_against(session, old.id, round_id)}
    money = ledger.budget(session, without_round=old.id if old is not None else None)
    # Households already told to come to the same point for the same phone need no new word.
    told = int(replaced["keeps"]) if replaced is not None and old is not None \
        and old.status in PICKING_UP else 0
    return {"round_id": round_id, "phones": phones, "to_notify": phones - told,
            "cost_vnd": cost,
            "pickup_days": days, "pickup_deadline": deadline, "supersedes": replaced,
            "held_elsewhere": _held_elsewhere(session, round_id, old_id),
            "budget_left_vnd": None if money.remaining is None else money.remaining - cost}


def _against(session: Session, old_id: int, new_id: int) -> dict[str, int]:
    """Households of the old round not yet handed a phone: how many keep their point and
    phone in the new one, change, or lose it; and households newly served."""
    new = aliased(AllocationRow)
    pairs = session.execute(
        select(AllocationRow.point_id, AllocationRow.lot_id, new.point_id, new.lot_id)
        .outerjoin(new, and_(new.household_id == AllocationRow.household_id,
                             new.round_id == new_id))
        .where(AllocationRow.round_id == old_id, OPEN)).all()
    kept = sum(1 for p, lot, q, m in pairs if q is not None and (p, lot) == (q, m))
    lost = sum(1 for *_, q, _m in pairs if q is None)
    old_households = select(AllocationRow.household_id).where(AllocationRow.round_id == old_id)
    newly = _count(session, AllocationRow.round_id == new_id,
                   AllocationRow.household_id.not_in(old_households))
    return {"keeps": kept, "changes": len(pairs) - kept - lost, "loses": lost,
            "newly_served": newly}


def _held_elsewhere(session: Session, round_id: int, old_id: int | None) -> int:
    """The round's households that already hold a phone, or a reservation the approval
    would not free, in another round: the ledger refuses the approval if any do."""
    other = aliased(AllocationRow)
    held = (select(other.household_id).join(Round, Round.id == other.round_id)
            .where(other.round_id != round_id, (other.handed_over_at.is_not(None))
                   | (Round.status.in_([s.value for s in PICKING_UP])
                      & other.handed_over_at.is_(None) & other.released_at.is_(None)
                      & (other.round_id != (old_id if old_id is not None else -1)))))
    return _count(session, AllocationRow.round_id == round_id,
                  AllocationRow.household_id.in_(held))


def closing(session: Session, round_id: int) -> dict[str, Any]:
    """What closing a round open for pickup commits (WrongState if it is not)."""
    row = require(session, round_id, PICKING_UP, "closed")
    mine = AllocationRow.round_id == round_id
    waiting = _count(session, mine, OPEN)
    return {"round_id": round_id, "status": row.status, "released": waiting,
            "no_shows": waiting,
            "handed_over": _count(session, mine, AllocationRow.handed_over_at.is_not(None)),
            "pickup_deadline": deadline_day(row.pickup_deadline) if row.pickup_deadline else None,
            "early": row.status == RoundStatus.APPROVED}
