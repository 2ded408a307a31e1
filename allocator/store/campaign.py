"""Rounds of one campaign: created from the ledger, approved with a pickup deadline,
closed with release, and re-planned as new versions.

Each function here makes its moves through the round lifecycle (`step` and
`transition`), takes the ledger's lock before a move that changes what is
reserved, and checks the ledger before it commits.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from allocator.contract import (
    COMMUNE_COLUMNS,
    COMMUNES,
    HOUSEHOLDS,
    KEEP,
    KEEP_COLUMNS,
    LOT_COLUMNS,
    LOTS,
    POINT_COLUMNS,
    POINTS,
    RECEIVED_DEVICE,
    ROUND_HOUSEHOLD_COLUMNS,
)
from allocator.issues import InputIssue, InvalidInput
from allocator.policy import parse_policy
from allocator.store import ledger, pickup
from allocator.store.jobs import stamp
from allocator.store.lifecycle import (
    PICKING_UP,
    WITH_RESULTS,
    BadValue,
    Move,
    RoundError,
    RoundStatus,
    WrongState,
    fresh,
    number_vi,
    require,
    step,
    transition,
)
from allocator.store.models import AllocationRow, Round, UnservedRow
from allocator.store.rounds import get_round, new_round, registry_tables, table_csv
from allocator.store.variants import supersedes

VIETNAM = dt.timezone(dt.timedelta(hours=7))  # no daylight saving time
POLICY = "round policy"


class EarlyClose(RoundError):
    """Closing before the pickup deadline releases phones households may still come for."""

    def __init__(self, english: str, vi: str) -> None:
        super().__init__(english)
        self.en, self.vi = english, vi


def deadline_at(day: dt.date) -> dt.datetime:
    """The end of a day in Vietnam, as stored (UTC without a zone)."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), VIETNAM)
    return end.astimezone(dt.UTC).replace(tzinfo=None)


def deadline_day(at: dt.datetime) -> dt.date:
    """The day in Vietnam a stored deadline ends."""
    return (at.replace(tzinfo=dt.UTC).astimezone(VIETNAM) - dt.timedelta(microseconds=1)).date()


def _households(tables: pd.DataFrame, state: ledger.HouseholdState,
                no_show_limit: int | None) -> tuple[pd.DataFrame, dict[str, int]]:
    """The households a new round may offer a phone to, with `received_device` filled in.

    Left out: households holding a reservation in another round, and those that
    failed to collect `no_show_limit` times or more (if the campaign sets it).
    """
    if "household_id" not in tables.columns:  # an empty registry
        tables = pd.DataFrame(columns=[c.name for c in ROUND_HOUSEHOLD_COLUMNS])
    ids = tables["household_id"].astype(str)
    reserved = ids.isin(set(state.reserved))
    no_shows = ids.map(state.no_shows).fillna(0).astype(int)
    left_out = (no_shows >= no_show_limit) if no_show_limit is not None else \
        pd.Series(False, index=ids.index)
    table = tables[~(reserved | left_out)].copy()
    table[RECEIVED_DEVICE] = [state.received.get(h, "") for h in table["household_id"].astype(str)]
    counts = {"received_earlier": int(table[RECEIVED_DEVICE].ne("").sum()),
              "reserved_elsewhere": int(reserved.sum()),
              "left_out_no_shows": int((left_out & ~reserved).sum())}
    return table, counts


class BeyondCampaign(InvalidInput):
    """A round asks for more money than the campaign has left: the request is well formed,
    the campaign's state refuses it."""


def _budget_for(policy: dict[str, Any], cap: int | None, what: str) -> dict[str, Any]:
    """The round's budget: by default what the campaign has left; never more."""
    if cap is None:
        return policy
    cap = max(0, cap)
    if "budget_vnd" not in policy:
        return {**policy, "budget_vnd": cap}
    asked = policy["budget_vnd"]
    if isinstance(asked, int) and asked > cap:
        raise BeyondCampaign([InputIssue(POLICY, 0, "budget_vnd",
                                         f"asks for {asked:,} VND but {what} {cap:,} VND; "
                                         "ask for at most that")])
    return policy


def _checked(policy: dict[str, Any]) -> dict[str, Any]:
    checked, issues = parse_policy(policy)
    if issues:
        raise InvalidInput(issues)
    return checked.to_json()


def create_round(session: Session, policy: dict[str, Any], name: str, actor: str) -> Round:
    """A draft round from the registry and the campaign ledger, its inputs frozen.

    Households that already received a phone carry `received_device`; those
    holding a reservation elsewhere are left out; every lot is offered at its
    available quantity; the budget is by default what the campaign has left.
    """
    _checked(policy)  # unknown keys and bad values are reported before anything else
    money = ledger.budget(session)
    policy = _checked(_budget_for(dict(policy), money.remaining, "the campaign has left"))
    tables = registry_tables(session)
    households, counts = _households(tables[HOUSEHOLDS], ledger.household_states(session),
                                     ledger.settings(session).no_show_limit)
    lots = tables[LOTS]
    available = {f["lot_id"]: max(0, f["available"]) for f in ledger.lot_figures(session)}
    if len(lots):
        lots = lots.assign(quantity=lots["lot_id"].map(available).fillna(0).astype(int))
    files = {HOUSEHOLDS: table_csv(households, [c.name for c in ROUND_HOUSEHOLD_COLUMNS]),
             LOTS: table_csv(lots, [c.name for c in LOT_COLUMNS]),
             POINTS: table_csv(tables[POINTS], [c.name for c in POINT_COLUMNS]),
             COMMUNES: table_csv(tables[COMMUNES], [c.name for c in COMMUNE_COLUMNS])}
    frozen = {**counts, "budget": money.to_json(), "lots_available": available}
    return new_round(session, files, policy, name, actor, ledger=frozen)


# --- approval, deadline, closing -------------------------------------------------------


def approve_round(session: Session, round_id: int, actor: str, *,
                  pickup_deadline: dt.date | None = None,
                  pickup_days: int | None = None) -> Round:
    """Make a solved round the decision: its allocations are reserved until the deadline.

    A re-plan (a round that `replaces` another), or a variant of a round that is
    solved or open for pickup, is approved as a new version: the round it
    replaces or varies is superseded in the same transaction (the version then
    `replaces` it, so pickup codes and windows carry over as for a re-plan), and
    its phones not yet handed over are freed for the version's. Refused, with
    nothing changed, if the ledger would not hold (a household served twice, a
    lot or the budget overcommitted): two decisions never claim the same stock.
    """
    fresh(session, round_id)
    deadline = _deadline(session, pickup_deadline, pickup_days)
    values: dict[str, Any] = {"approved_at": stamp(), "pickup_deadline": deadline}
    detail: dict[str, Any] = {"pickup_deadline": deadline_day(deadline).isoformat()}
    try:
        ledger.lock(session)
        row = fresh(session, round_id)  # read under the lock: what it supersedes is current
        old = supersedes(session, row)
        if old is None:
            step(session, round_id, Move.APPROVE, actor, values=values, detail=detail)
        else:
            said = {"replaces": old} if row.replaces is not None else \
                {"replaces": old, "variant_of": old}
            step(session, round_id, Move.APPROVE_VERSION, actor,
                 values={**values, "replaces": old}, detail={**detail, **said})
            step(session, old, Move.SUPERSEDE, actor,
                 values={"superseded_by": round_id}, detail={"superseded_by": round_id})
        pickup.give(session, round_id, dt.datetime.now(VIETNAM).date() + dt.timedelta(days=1),
                    deadline_day(deadline), actor)
        ledger.check(session, round_id)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return fresh(session, round_id)


def _deadline(session: Session, day: dt.date | None, days: int | None) -> dt.datetime:
    if day is not None and days is not None:
        raise BadValue("give either a pickup deadline or a number of days, not both",
                       "Chỉ nhập hạn nhận máy hoặc số ngày, không nhập cả hai.")
    if day is None:
        days = ledger.settings(session).pickup_days if days is None else days
        if not 0 <= days <= 365:
            raise BadValue("the pickup period must be between 0 and 365 days",
                           "Thời gian nhận máy phải từ 0 đến 365 ngày.")
        day = (dt.datetime.now(VIETNAM) + dt.timedelta(days=days)).date()
    if day > dt.date.today() + dt.timedelta(days=366):  # before the arithmetic can overflow
        raise BadValue("the pickup deadline must be within a year",
                       "Hạn nhận máy phải trong vòng một năm.")
    at = deadline_at(day)
    if at <= stamp():
        raise BadValue(f"the pickup deadline {day:%d/%m/%Y} has already passed",
                       f"Hạn nhận máy {day:%d/%m/%Y} đã qua.")
    return at


def set_pickup_deadline(session: Session, round_id: int, day: dt.date, actor: str) -> Round:
    """Move a round's pickup deadline (a round past its deadline opens again).

    Never before the last day a waiting household was told to come on: its phone
    would be released before its window.
    """
    at = _deadline(session, day, None)
    told = session.execute(select(func.max(AllocationRow.window_day), func.count()).where(
        AllocationRow.round_id == round_id, AllocationRow.handed_over_at.is_(None),
        AllocationRow.released_at.is_(None), AllocationRow.window_day > day)).one()
    if told[0] is not None:
        raise BadValue(f"{told[1]:,} households waiting in round {round_id} were told to come "
                       f"after {day:%d/%m/%Y}, the last on {told[0]:%d/%m/%Y}: give a pickup "
                       "deadline on or after that day",
                       f"{number_vi(told[1])} hộ đang chờ ở đợt {round_id} "
                       f"đã được hẹn đến sau ngày {day:%d/%m/%Y}, muộn nhất ngày "
                       f"{told[0]:%d/%m/%Y}: hãy chọn hạn nhận máy từ ngày đó trở đi.")
    return transition(session, round_id, Move.SET_DEADLINE, actor,
                      values={"pickup_deadline": at}, detail={"pickup_deadline": day.isoformat()})


def expire_due(session: Session, actor: str = "system") -> list[int]:
    """Mark approved rounds whose pickup deadline has passed (the worker does it too)."""
    due = session.scalars(select(Round.id).where(
        Round.status == RoundStatus.APPROVED.value, Round.pickup_deadline.is_not(None),
        Round.pickup_deadline <= stamp())).all()
    session.rollback()
    moved = []
    for round_id in due:
        try:
            transition(session, round_id, Move.EXPIRE, actor)
            moved.append(round_id)
        except RoundError:  # another process moved it first, or its deadline was changed
            continue
    return moved


def close_round(session: Session, round_id: int, actor: str, *, force: bool = False) -> Round:
    """Close a round and release what was not handed over: the devices go back to
    stock and their households are marked as no-shows.

    Before the pickup deadline this needs `force` (a confirmation): households
    may still be on their way.
    """
    expire_due(session)
    row = fresh(session, round_id)
    waiting = not_collected(session, round_id)
    if row.status == RoundStatus.APPROVED and not force:
        day = f"{deadline_day(row.pickup_deadline):%d/%m/%Y}" if row.pickup_deadline else ""
        until, den = (f" until {day}", f" đến hết ngày {day}") if day else ("", "")
        raise EarlyClose(f"round {round_id} is open for pickup{until} and {waiting:,} phones "
                         "are not collected yet; closing now releases them. Confirm to "
                         "close anyway",
                         f"Đợt {round_id} còn trong hạn nhận máy{den} và còn "
                         f"{number_vi(waiting)} máy chưa được nhận; đóng "
                         "bây giờ sẽ trả các máy đó về kho. Hãy xác nhận nếu vẫn muốn đóng.")
    try:
        ledger.lock(session)
        step(session, round_id, Move.CLOSE, actor,
             detail={"released": waiting, "early": row.status == RoundStatus.APPROVED})
        session.execute(update(AllocationRow).where(
            AllocationRow.round_id == round_id, AllocationRow.handed_over_at.is_(None),
            AllocationRow.released_at.is_(None)).values(released_at=stamp())
            .execution_options(synchronize_session=False))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return fresh(session, round_id)


def not_collected(session: Session, round_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(AllocationRow).where(
        AllocationRow.round_id == round_id, AllocationRow.handed_over_at.is_(None),
        AllocationRow.released_at.is_(None))) or 0)


# --- re-plans ----------------------------------------------------------------------------


def _frozen(row: Round) -> dict[str, pd.DataFrame]:
    """A round's frozen contract files as text tables (cells kept exactly as written)."""
    with zipfile.ZipFile(io.BytesIO(row.inputs)) as archive:
        return {n: pd.read_csv(io.BytesIO(archive.read(n)), dtype=str, keep_default_na=False)
                for n in (HOUSEHOLDS, LOTS, POINTS, COMMUNES) if n in archive.namelist()}


def _unknown(kind: str, field: str, asked: Iterable[str], known: pd.Series,
             round_id: int) -> list[InputIssue]:
    have = set(known.astype(str))
    return [InputIssue("re-plan", 0, field, f"no {kind} {value} in round {round_id}")
            for value in dict.fromkeys(asked) if value not in have]


def replan_round(session: Session, round_id: int, actor: str, *,
                 close_points: Iterable[str] = (), lot_quantities: dict[str, int] | None = None,
                 withdraw: Iterable[str] = (), budget_vnd: int | None = None,
                 name: str | None = None) -> Round:
    """A new version of an approved round, as a draft, for a point that closed, a lot that
    shrank or a household that withdrew.

    Households already handed a phone stay as they are (`received_device`; their
    devices, point places and cost are counted); every other allocation goes into
    `keep.csv`, so the solve keeps as many households as it can where they were
    told to go (stages K1 to K3). Closed points get no capacity; `lot_quantities`
    sets a lot's devices for the version; withdrawn households leave it.
    """
    old = require(session, round_id, PICKING_UP, "re-planned")
    close_points, withdraw = list(close_points), list(withdraw)
    lot_quantities = dict(lot_quantities or {})
    tables = _frozen(old)
    issues = (_unknown("point", "close_points", close_points, tables[POINTS]["point_id"],
                       round_id)
              + _unknown("lot", "lot_quantities", lot_quantities, tables[LOTS]["lot_id"],
                         round_id)
              + _unknown("household", "withdraw", withdraw, tables[HOUSEHOLDS]["household_id"],
                         round_id))
    issues += [InputIssue("re-plan", 0, "lot_quantities", f"{lot}: must be a whole number "
                          "from 0 to 10,000,000")
               for lot, q in lot_quantities.items()
               if isinstance(q, bool) or not isinstance(q, int) or not 0 <= q <= 10_000_000]
    if issues:
        raise InvalidInput(issues)
    mine = pd.DataFrame(session.execute(
        select(AllocationRow.household_id, AllocationRow.lot_id, AllocationRow.point_id,
               AllocationRow.public_cost_vnd, AllocationRow.handed_over_at,
               AllocationRow.released_at)
        .where(AllocationRow.round_id == round_id)).all(),
        columns=["household_id", "lot_id", "point_id", "public_cost_vnd", "handed_over_at",
                 "released_at"])
    handed = mine[mine["handed_over_at"].notna()]
    # A household that refused its phone at the point (its reservation released) leaves
    # the version as a withdrawn one does: it is neither kept nor offered the phone again.
    refused = list(mine.loc[mine["released_at"].notna() & mine["handed_over_at"].isna(),
                            "household_id"])
    leaving = [*withdraw, *refused]
    kept = mine[mine["handed_over_at"].isna() & ~mine["household_id"].isin(leaving)]

    households, counts = _households(
        tables[HOUSEHOLDS][~tables[HOUSEHOLDS]["household_id"].isin(leaving)]
        .drop(columns=[RECEIVED_DEVICE], errors="ignore"),
        ledger.household_states(session, without_round=round_id), None)
    kept = kept[kept["household_id"].isin(set(households["household_id"]))]

    lots = tables[LOTS].copy()
    registry = {f["lot_id"]: max(0, f["available"])
                for f in ledger.lot_figures(session, without_round=round_id)}
    used = handed["lot_id"].value_counts()
    frozen_left = (pd.to_numeric(lots["quantity"]) - lots["lot_id"].map(used).fillna(0)).clip(0)
    lots["quantity"] = [lot_quantities.get(lot, registry.get(lot, int(left)))
                        for lot, left in zip(lots["lot_id"], frozen_left, strict=True)]

    points = tables[POINTS].copy()
    taken = handed["point_id"].value_counts()
    capacity = (pd.to_numeric(points["capacity"]) - points["point_id"].map(taken).fillna(0))
    points["capacity"] = capacity.clip(0).astype(int).where(
        ~points["point_id"].isin(close_points), 0)

    spent_here = int(handed["public_cost_vnd"].sum())
    cap = int(old.policy.get("budget_vnd", 0)) - spent_here
    remaining = ledger.budget(session, without_round=round_id).remaining
    if remaining is not None:
        cap = min(cap, remaining)
    policy = dict(old.policy)
    if budget_vnd is not None:
        policy["budget_vnd"] = budget_vnd
        policy = _budget_for(policy, cap, "this re-plan can spend")
    else:
        policy["budget_vnd"] = max(0, cap)
    policy = _checked(policy)

    files = {HOUSEHOLDS: table_csv(households, [c.name for c in ROUND_HOUSEHOLD_COLUMNS]),
             LOTS: table_csv(lots, [c.name for c in LOT_COLUMNS]),
             POINTS: table_csv(points, [c.name for c in POINT_COLUMNS]),
             KEEP: table_csv(kept.sort_values("household_id"), [c.name for c in KEEP_COLUMNS])}
    if COMMUNES in tables:  # optional in a folder imported as given
        files[COMMUNES] = table_csv(tables[COMMUNES], [c.name for c in COMMUNE_COLUMNS])
    changes = {"close_points": close_points, "lot_quantities": lot_quantities,
               "withdraw": withdraw, "budget_vnd": policy["budget_vnd"]}
    frozen = {**counts, "replan_of": round_id, "changes": changes,
              "handed_over_fixed": len(handed), "kept": len(kept),
              "refused_at_point": len(refused)}

    def replanned(db: Session, version: Round) -> None:
        step(db, round_id, Move.REPLAN, actor, detail={"version": version.id, **changes})

    return new_round(session, files, policy, name or f"{old.name} (re-plan)"[:200], actor,
                     based_on=round_id, replaces=round_id, ledger=frozen, also=replanned)


CHANGES = ("keeps", "changes_point", "changes_device", "changes_point_and_device", "loses",
           "newly_served")


def replan_diff(session: Session, version_id: int) -> dict[str, Any]:
    """What a re-plan changes for households, against the round it replaces.

    Every household told something by the old round and not yet handed its
    phone is in exactly one of: keeps, changes_point, changes_device,
    changes_point_and_device, loses (with the reason); households the old round
    did not serve and the version does are newly_served. Households already
    handed a phone are fixed and only counted.
    """
    version = get_round(session, version_id)
    if version.replaces is None:
        raise RoundError(f"round {version_id} is not a re-plan of another round")
    if version.status not in WITH_RESULTS:
        raise WrongState(version_id, version.status, "compared with the round it replaces",
                         frozenset(s.value for s in WITH_RESULTS))
    old_rows = {a.household_id: a for a in session.scalars(
        select(AllocationRow).where(AllocationRow.round_id == version.replaces))}
    new_rows = {a.household_id: a for a in session.scalars(
        select(AllocationRow).where(AllocationRow.round_id == version_id))}
    reasons = {u.household_id: (u.reason, u.detail) for u in session.scalars(
        select(UnservedRow).where(UnservedRow.round_id == version_id))}
    withdrawn = set((version.ledger or {}).get("changes", {}).get("withdraw", []))
    rows: list[dict[str, Any]] = []
    fixed = 0
    for household, before in sorted(old_rows.items()):
        if before.handed_over_at is not None:
            fixed += 1
            continue
        if before.released_at is not None:
            continue
        after = new_rows.get(household)
        if after is None:
            reason, detail = reasons.get(household, ("withdrawn", "")) \
                if household not in withdrawn else ("withdrawn", "")
            change = "loses"
        else:
            reason, detail = "", ""
            change = {(False, False): "keeps", (True, False): "changes_point",
                      (False, True): "changes_device",
                      (True, True): "changes_point_and_device"}[
                (after.point_id != before.point_id, after.lot_id != before.lot_id)]
        rows.append({"household_id": household, "change": change,
                     "point_before": before.point_id, "lot_before": before.lot_id,
                     "point_after": after.point_id if after else "",
                     "lot_after": after.lot_id if after else "",
                     "reason": reason, "detail": detail})
    for household, after in sorted(new_rows.items()):
        if household not in old_rows:
            rows.append({"household_id": household, "change": "newly_served",
                         "point_before": "", "lot_before": "", "point_after": after.point_id,
                         "lot_after": after.lot_id, "reason": "", "detail": ""})
    counts = {c: 0 for c in CHANGES}
    for item in rows:
        counts[item["change"]] += 1
    return {"round_id": version_id, "replaces": version.replaces, "handed_over_fixed": fixed,
            "counts": counts, "households": rows}
