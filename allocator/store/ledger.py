"""The campaign ledger: what each lot, household and the budget hold across rounds.

Nothing here is a second copy of the facts. The ledger is worked out from the
allocations of rounds and their statuses:

- handed over: an allocation with `handed_over_at` (in any round, superseded too);
- reserved: an allocation of a round whose phones are reserved (approved, or
  past its pickup deadline but not closed), neither handed over nor released;
- released: an allocation not collected when its round closed (a no-show).

Per lot, available = pledged - handed over - reserved - faulty. The budget's
committed part is what reserved allocations will cost the public purse, spent
is what handed-over ones cost, and remaining = budget - spent - committed.

Moves that change these figures (approve, approve a new version, close, set the
budget, pledge) first `lock` the campaign row, so they run one at a time on
both stores, then `check` the invariants on what they touched before they
commit: a household never holds two phones or reservations, a lot never gives
more than was pledged, and the budget is never overcommitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from allocator.store.audit import record
from allocator.store.lifecycle import PICKING_UP, BadValue, RoundError, number_vi
from allocator.store.models import AllocationRow, Campaign, Lot, Round, Sponsor


class LedgerConflict(RoundError):
    """A move would break the ledger (two phones for one household, a lot or budget
    overcommitted); nothing was changed. `vi`, where given, says it in Vietnamese."""

    def __init__(self, english: str, vi: str | None = None) -> None:
        super().__init__(english)
        if vi is not None:
            self.en, self.vi = english, vi


class LotNotFound(RoundError, KeyError):
    def __init__(self, lot_id: str) -> None:
        super().__init__(lot_id)
        self.lot_id = lot_id

    def __str__(self) -> str:
        return f"no lot {self.lot_id} in the registry"


def settings(session: Session) -> Campaign:
    """The campaign's settings row (created on first use in a store migrated without it)."""
    row = session.get(Campaign, 1)
    if row is None:
        row = Campaign(id=1, pickup_days=14, version=0)
        session.add(row)
        session.flush()
    return row


def lock(session: Session) -> None:
    """Serialise the ledger's moves: bump the campaign row's version (held until commit)."""
    settings(session)
    session.execute(update(Campaign).where(Campaign.id == 1)
                    .values(version=Campaign.version + 1)
                    .execution_options(synchronize_session=False))


RESERVED = and_(Round.status.in_([s.value for s in PICKING_UP]),
                AllocationRow.handed_over_at.is_(None), AllocationRow.released_at.is_(None))
HANDED = AllocationRow.handed_over_at.is_not(None)
RELEASED = AllocationRow.released_at.is_not(None)


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _cost(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, AllocationRow.public_cost_vnd), else_=0)), 0)


@dataclass(frozen=True)
class Budget:
    total: int | None  # None: the campaign has no budget set
    committed: int  # reserved allocations' public cost
    spent: int  # handed-over allocations' public cost

    @property
    def remaining(self) -> int | None:
        return None if self.total is None else self.total - self.spent - self.committed

    def to_json(self) -> dict[str, Any]:
        return {"total_vnd": self.total, "committed_vnd": self.committed,
                "spent_vnd": self.spent, "remaining_vnd": self.remaining}


def budget(session: Session, without_round: int | None = None) -> Budget:
    """The campaign budget, with one round's reservations left out if asked (a re-plan)."""
    reserved = RESERVED if without_round is None else and_(RESERVED,
                                                           Round.id != without_round)
    committed, spent = session.execute(
        select(_cost(reserved), _cost(HANDED))
        .select_from(AllocationRow).join(Round, Round.id == AllocationRow.round_id)).one()
    return Budget(settings(session).budget_vnd, int(committed), int(spent))


def lot_figures(session: Session, without_round: int | None = None) -> list[dict[str, Any]]:
    """Per registry lot: pledged, handed over, reserved, released, faulty, available."""
    reserved = RESERVED if without_round is None else and_(RESERVED,
                                                           Round.id != without_round)
    used = (select(AllocationRow.lot_id.label("lot_id"), _count(HANDED).label("handed_over"),
                   _count(reserved).label("reserved"), _count(RELEASED).label("released"))
            .join(Round, Round.id == AllocationRow.round_id)
            .group_by(AllocationRow.lot_id).subquery())
    rows = session.execute(
        select(Lot.id, Lot.sponsor_id, Sponsor.name, Lot.model, Lot.quantity, Lot.faulty,
               func.coalesce(used.c.handed_over, 0), func.coalesce(used.c.reserved, 0),
               func.coalesce(used.c.released, 0))
        .join(Sponsor, Sponsor.id == Lot.sponsor_id)
        .outerjoin(used, used.c.lot_id == Lot.id).order_by(Lot.id)).all()
    out = []
    for lot, sponsor, sponsor_name, model, pledged, faulty, handed, held, released in rows:
        handed, held, released = int(handed), int(held), int(released)
        out.append({"lot_id": lot, "sponsor_id": sponsor, "sponsor_name": sponsor_name or "",
                    "model": model, "pledged": int(pledged), "handed_over": handed,
                    "reserved": held, "released": released, "faulty": int(faulty or 0),
                    "available": int(pledged) - handed - held - int(faulty or 0)})
    return out


@dataclass(frozen=True)
class HouseholdState:
    received: dict[str, str]  # household -> "round N, YYYY-MM-DD" of its (first) handover
    reserved: dict[str, int]  # household -> the round holding a phone for it now
    no_shows: dict[str, int]  # household -> how many times it did not collect


def household_states(session: Session, without_round: int | None = None) -> HouseholdState:
    received: dict[str, str] = {}
    for household, round_id, at in session.execute(
            select(AllocationRow.household_id, AllocationRow.round_id,
                   AllocationRow.handed_over_at).where(HANDED)
            .order_by(AllocationRow.handed_over_at, AllocationRow.round_id)):
        received.setdefault(household, f"round {round_id}, {at:%Y-%m-%d}")
    reserved_query = (select(AllocationRow.household_id, AllocationRow.round_id)
                      .join(Round, Round.id == AllocationRow.round_id).where(RESERVED))
    if without_round is not None:
        reserved_query = reserved_query.where(Round.id != without_round)
    reserved = {h: r for h, r in session.execute(reserved_query)}
    no_shows = {h: int(n) for h, n in session.execute(
        select(AllocationRow.household_id, func.count())
        .where(RELEASED).group_by(AllocationRow.household_id))}
    return HouseholdState(received, reserved, no_shows)


def household_history(session: Session, household_id: str) -> list[dict[str, Any]]:
    """Every allocation of one household: round, lot, point, and what became of it."""
    rows = session.execute(
        select(AllocationRow.round_id, Round.status, AllocationRow.lot_id,
               AllocationRow.point_id, AllocationRow.handed_over_at, AllocationRow.released_at)
        .join(Round, Round.id == AllocationRow.round_id)
        .where(AllocationRow.household_id == household_id).order_by(AllocationRow.round_id))
    out = []
    for round_id, status, lot, point, handed, released in rows:
        state = ("handed_over" if handed else "released" if released else
                 "reserved" if status in {s.value for s in PICKING_UP} else status)
        out.append({"round_id": round_id, "round_status": status, "lot_id": lot,
                    "point_id": point, "state": state,
                    "handed_over_at": handed.isoformat() if handed else None,
                    "released_at": released.isoformat() if released else None})
    return out


def check(session: Session, round_id: int | None = None) -> None:
    """Raise `LedgerConflict` if the ledger does not hold, on the households and lots of
    one round (all of them if None), and on the budget."""
    problems: list[str] = []
    said: list[str] = []  # the same problems in Vietnamese
    holding = (select(AllocationRow.household_id)
               .join(Round, Round.id == AllocationRow.round_id)
               .where(or_(HANDED, RESERVED)))
    if round_id is not None:
        holding = holding.where(AllocationRow.household_id.in_(
            select(AllocationRow.household_id).where(AllocationRow.round_id == round_id)))
    doubled = session.scalars(holding.group_by(AllocationRow.household_id)
                              .having(func.count() > 1).order_by(AllocationRow.household_id)
                              .limit(6)).all()
    if doubled:
        shown = ", ".join(doubled[:5]) + (" and more" if len(doubled) > 5 else "")
        problems.append(f"these households would hold two phones or reservations: {shown} "
                        "(they already received or hold a phone from another round; "
                        "re-plan or create the round again from the ledger)")
        said.append("các hộ này sẽ giữ hai máy hoặc hai suất nhận máy: "
                    + ", ".join(doubled[:5]) + (" và các hộ khác" if len(doubled) > 5 else "")
                    + " (họ đã nhận hoặc đang được giữ máy ở một đợt khác; hãy điều chỉnh "
                    "phương án của đợt đó, hoặc tạo đợt mới từ sổ đăng ký)")
    wanted = None
    if round_id is not None:
        wanted = set(session.scalars(select(AllocationRow.lot_id).distinct()
                                     .where(AllocationRow.round_id == round_id)))
    for lot in lot_figures(session):
        if wanted is not None and lot["lot_id"] not in wanted:
            continue
        if lot["available"] < 0:
            problems.append(f"lot {lot['lot_id']} would give {-lot['available']} more devices "
                            f"than its sponsor pledged ({lot['pledged']} pledged, "
                            f"{lot['handed_over']} handed over, {lot['reserved']} reserved, "
                            f"{lot['faulty']} faulty)")
            said.append(f"lô {lot['lot_id']} sẽ phát nhiều hơn số nhà tài trợ cam kết "
                        f"{number_vi(-lot['available'])} máy (cam kết "
                        f"{number_vi(lot['pledged'])}, đã trao {number_vi(lot['handed_over'])}, "
                        f"đang giữ {number_vi(lot['reserved'])}, hỏng "
                        f"{number_vi(lot['faulty'])})")
    money = budget(session)
    if money.remaining is not None and money.remaining < 0:
        problems.append(f"the campaign budget would be overcommitted by {-money.remaining:,} VND "
                        f"(budget {money.total:,}, spent {money.spent:,}, committed "
                        f"{money.committed:,})")
        said.append(f"ngân sách chiến dịch sẽ bị vượt {number_vi(-money.remaining)} đồng "
                    f"(ngân sách {number_vi(money.total or 0)}, đã chi "
                    f"{number_vi(money.spent)}, đã cam kết {number_vi(money.committed)})")
    if problems:
        raise LedgerConflict("; ".join(problems), "Không thực hiện được: " + "; ".join(said)
                             + ".")


def set_budget(session: Session, budget_vnd: int | None, actor: str) -> Budget:
    """Set the campaign budget (audited); refused below what is spent and committed."""
    if budget_vnd is not None and not 0 <= budget_vnd <= 10**15:
        raise BadValue("the campaign budget must be between 0 and 10^15 VND")
    try:
        lock(session)
        row = settings(session)
        before = row.budget_vnd
        row.budget_vnd = budget_vnd
        session.flush()
        money = budget(session)
        if money.remaining is not None and money.remaining < 0:
            raise LedgerConflict(
                f"the campaign has already spent {money.spent:,} VND and committed "
                f"{money.committed:,} VND; the budget cannot be less than "
                f"{money.spent + money.committed:,} VND")
        record(session, actor, "set campaign budget", "campaign",
               {"before_vnd": before, "after_vnd": budget_vnd})
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return budget(session)


def set_settings(session: Session, actor: str, *, no_show_limit: int | None | str = "keep",
                 pickup_days: int | None = None) -> Campaign:
    """Change the no-show limit or the default pickup days (audited)."""
    if isinstance(no_show_limit, int) and not 1 <= no_show_limit <= 100:
        raise BadValue("the no-show limit must be between 1 and 100 (or none)")
    if pickup_days is not None and not 0 <= pickup_days <= 365:
        raise BadValue("the pickup period must be between 0 and 365 days")
    try:
        lock(session)
        row = settings(session)
        detail: dict[str, Any] = {}
        if no_show_limit != "keep":
            detail["no_show_limit"] = [row.no_show_limit, no_show_limit]
            row.no_show_limit = no_show_limit  # type: ignore[assignment]
        if pickup_days is not None:
            detail["pickup_days"] = [row.pickup_days, pickup_days]
            row.pickup_days = pickup_days
        record(session, actor, "change campaign settings", "campaign", detail)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return row


def _lot_change(session: Session, lot_id: str, column: str, amount: int, actor: str,
                action: str) -> dict[str, Any]:
    if not 1 <= amount <= 10_000_000:
        raise BadValue("the number of devices must be between 1 and 10,000,000")
    try:
        lock(session)
        lot = session.get(Lot, lot_id, populate_existing=True)
        if lot is None:
            raise LotNotFound(lot_id)
        before = getattr(lot, column) or 0
        setattr(lot, column, before + amount)
        session.flush()
        figures = next(f for f in lot_figures(session) if f["lot_id"] == lot_id)
        if figures["available"] < 0:
            raise LedgerConflict(
                f"lot {lot_id} has only {figures['available'] + amount} devices that are "
                f"neither handed over nor reserved; {amount} cannot be marked faulty")
        record(session, actor, action, f"lot {lot_id}",
               {column: [before, before + amount], "sponsor_id": lot.sponsor_id})
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return figures


def pledge(session: Session, lot_id: str, devices: int, actor: str) -> dict[str, Any]:
    """A sponsor pledges more devices to a lot (audited); returns the lot's figures."""
    return _lot_change(session, lot_id, "quantity", devices, actor, "pledge devices")


def mark_faulty(session: Session, lot_id: str, devices: int, actor: str) -> dict[str, Any]:
    """Devices of a lot came back faulty or were returned: never offered again (audited)."""
    return _lot_change(session, lot_id, "faulty", devices, actor, "mark devices faulty")
