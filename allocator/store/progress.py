"""How far the campaign is from its goal: every eligible household on a 2G-only handset
holding a smartphone by the goal date.

Every figure is counted by the database (one grouped query per table), so the
page stays quick on a city-wide store of a quarter of a million households.

Each eligible household of the registry is in exactly one state, in this order:
handed a phone (in any round), holding a reservation (a round open for pickup),
a no-show (a reservation released when its round closed, and not served since),
or not yet reached. Households handed a phone whose survey row no longer meets
the rules (updated after the handover) are counted apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from allocator.contract import RoundPolicy
from allocator.store import ledger
from allocator.store.lifecycle import PICKING_UP
from allocator.store.models import AllocationRow, Commune, Household, Round

VIETNAM = dt.timezone(dt.timedelta(hours=7))  # no daylight saving time
PACE_WINDOW_DAYS = 14
STATES = ("handed_over", "reserved", "no_show", "not_reached")


def eligible_rule(policy: RoundPolicy | None = None) -> ColumnElement[bool]:
    """The contract's eligibility rules on the registry, as SQL (allocator.problem's
    `_eligibility`, the same three rules): an eligible status, at least one 2G handset,
    no smartphone. The campaign's goal uses the contract's default policy."""
    policy = policy or RoundPolicy()
    rules: list[ColumnElement[bool]] = [
        Household.poverty_status.in_(list(policy.eligible_statuses))]
    if policy.require_2g_handset:
        rules.append(Household.twog_handsets >= 1)
    if policy.require_no_smartphone:
        rules.append(Household.smartphones == 0)
    return and_(*rules)


def _flag(condition: Any) -> Any:
    return func.max(case((condition, 1), else_=0))


def _sum(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _held() -> Any:
    """Per household that the ledger knows: handed a phone, holding one, released."""
    picking_up = Round.status.in_([s.value for s in PICKING_UP])
    return (select(AllocationRow.household_id.label("household_id"),
                   _flag(ledger.HANDED).label("handed"),
                   _flag(ledger.RESERVED).label("reserved"),
                   _flag(ledger.RELEASED).label("released"))
            .join(Round, Round.id == AllocationRow.round_id)
            # Only allocations that hold something; a draft's or a what-if's do not.
            .where(or_(ledger.HANDED, ledger.RELEASED, picking_up))
            .group_by(AllocationRow.household_id).subquery())


def _by_commune(session: Session) -> list[dict[str, Any]]:
    held = _held()
    eligible = eligible_rule()
    handed = func.coalesce(held.c.handed, 0) == 1
    reserved = and_(~handed, func.coalesce(held.c.reserved, 0) == 1)
    no_show = and_(~handed, func.coalesce(held.c.reserved, 0) == 0,
                   func.coalesce(held.c.released, 0) == 1)
    counts = (select(Household.commune_code.label("code"),
                     func.count().label("surveyed"),
                     _sum(eligible).label("eligible"),
                     _sum(and_(eligible, handed)).label("handed_over"),
                     _sum(and_(eligible, reserved)).label("reserved"),
                     _sum(and_(eligible, no_show)).label("no_show"),
                     _sum(and_(~eligible, handed)).label("handed_over_not_eligible"))
              .outerjoin(held, held.c.household_id == Household.id)
              .group_by(Household.commune_code).subquery())
    rows = session.execute(
        select(Commune.code, Commune.name, Commune.lat, Commune.lon,
               *(func.coalesce(counts.c[k], 0) for k in
                 ("surveyed", "eligible", "handed_over", "reserved", "no_show",
                  "handed_over_not_eligible")))
        .outerjoin(counts, counts.c.code == Commune.code).order_by(Commune.code)).all()
    out = []
    for code, name, lat, lon, surveyed, eligible_n, handed_n, reserved_n, no_show_n, other \
            in rows:
        line = {"commune_code": code, "name": name or code, "lat": lat, "lon": lon,
                "surveyed": int(surveyed), "eligible": int(eligible_n),
                "handed_over": int(handed_n), "reserved": int(reserved_n),
                "no_show": int(no_show_n), "handed_over_not_eligible": int(other)}
        line["not_reached"] = (line["eligible"] - line["handed_over"] - line["reserved"]
                               - line["no_show"])
        out.append(line)
    return out


def _vietnam_day(session: Session, column: Any) -> Any:
    """The day in Vietnam of a stored moment (UTC without a zone), in SQL."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column, "+7 hours")
    return cast(column + literal(dt.timedelta(hours=7)), Date)


def _per_day(session: Session) -> list[dict[str, Any]]:
    day = _vietnam_day(session, AllocationRow.handed_over_at).label("day")
    rows = session.execute(select(day, func.count()).where(ledger.HANDED)
                           .group_by(day).order_by(day)).all()
    return [{"date": str(d)[:10], "count": int(n)} for d, n in rows]


def _stock(session: Session) -> list[dict[str, Any]]:
    """The ledger's lot figures, added up per sponsor."""
    sponsors: dict[str, dict[str, Any]] = {}
    for lot in ledger.lot_figures(session):
        line = sponsors.setdefault(lot["sponsor_id"], {
            "sponsor_id": lot["sponsor_id"], "sponsor_name": lot["sponsor_name"], "lots": 0,
            "pledged": 0, "handed_over": 0, "reserved": 0, "released": 0, "faulty": 0,
            "available": 0})
        line["lots"] += 1
        for key in ("pledged", "handed_over", "reserved", "released", "faulty", "available"):
            line[key] += lot[key]
    return sorted(sponsors.values(), key=lambda s: s["sponsor_id"])


def vietnam_today() -> dt.date:
    return dt.datetime.now(VIETNAM).date()


def _pace(per_day: list[dict[str, Any]], remaining: int, goal: dt.date,
          today: dt.date) -> dict[str, Any]:
    """What is needed per day to reach the goal, against what has been done per day."""
    days_left = (goal - today).days
    passed = days_left < 0
    # On the goal day itself, what remains is all for today.
    needed = None if passed else remaining / max(days_left, 1)
    window_start = today - dt.timedelta(days=PACE_WINDOW_DAYS - 1)
    recent = sum(d["count"] for d in per_day
                 if window_start <= dt.date.fromisoformat(d["date"]) <= today)
    first = dt.date.fromisoformat(per_day[0]["date"]) if per_day else None
    total = sum(d["count"] for d in per_day)
    since_first = None
    if first is not None and first <= today:
        since_first = total / ((today - first).days + 1)
    return {"goal_date": goal.isoformat(), "days_left": max(days_left, 0),
            "goal_passed": passed, "days_past_goal": max(-days_left, 0),
            "remaining": remaining, "needed_per_day": needed,
            "window_days": PACE_WINDOW_DAYS, "last_window_per_day": recent / PACE_WINDOW_DAYS,
            "first_handover": first.isoformat() if first else None,
            "since_first_per_day": since_first,
            "on_track": None if needed is None else recent / PACE_WINDOW_DAYS >= needed}


def campaign_figures(session: Session, today: dt.date | None = None) -> dict[str, Any]:
    """The campaign page's figures, ready for JSON: households by state (city-wide and per
    commune), handovers per day, stock per sponsor, the budget, days left and pace."""
    today = today or vietnam_today()
    communes = _by_commune(session)
    keys = ("surveyed", "eligible", *STATES, "handed_over_not_eligible")
    households = {k: sum(c[k] for c in communes) for k in keys}
    per_day = _per_day(session)
    goal = ledger.settings(session).goal_date
    remaining = households["eligible"] - households["handed_over"]
    return {"today": today.isoformat(), "households": households, "communes": communes,
            "handovers_per_day": per_day, "stock": _stock(session),
            "budget": ledger.budget(session).to_json(),
            "pace": _pace(per_day, remaining, goal, today)}
