"""The follow-up call, 30 days after a round's handovers: is the phone in use?

A round's follow-up is due on the 30th day (in Vietnam) after its last day of
handovers: the pickup deadline's day, or the day of the last handover when that
came later, or, for a round that takes no more handovers (closed or superseded),
the day of its last handover. Before then a draw is refused with the date; there
is no way round it, since a phone held for less than a month says little about use.

The draw is one per round: a sample of the households handed a phone in the
round, of max(minimum, ceil(share x served)) households (all of them if fewer).
It is seeded: household h is ranked by SHA-256 of "<seed>:<h>" and the lowest
ranks are called. Anyone holding the seed (kept on every row and in the audit
entry, with a hash of the list it was drawn from) can redo the draw with any
SHA-256 tool, whatever the program's version; a seed not given is drawn from
`secrets`.

Answers: in_use, not_in_use (with a reason) or never_received, which opens a
case planners must resolve (`allocator.store.cases`). An answer may be given
again (a wrong button, a second call): every answer is audited and the last one
counts. Point officers answer for their own points only; planners for any.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import secrets
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from allocator.contract import HOUSEHOLDS, LOTS, POINTS
from allocator.store import audit, cases
from allocator.store.jobs import stamp
from allocator.store.lifecycle import (
    PICKING_UP,
    BadValue,
    Conflict,
    RoundError,
    RoundStatus,
    fresh,
    require,
)
from allocator.store.models import AllocationRow, FollowUp, Round, Sponsor, User
from allocator.store.users import officer_points

ANSWERS = ("in_use", "not_in_use", "never_received")
REASONS = ("no_data_plan", "cannot_operate", "broken", "sold")  # why a phone is not in use
DAYS_AFTER = 30
SHARE = 0.05
MINIMUM = 30
MAX_MINIMUM = 1_000_000
# The seed column holds 64 bits, but a seed is read back from JSON, where a reader may keep
# numbers as doubles (JavaScript does): whole numbers are exact up to 2**53 - 1, and a
# larger seed would come back rounded, no longer able to redo the draw.
MAX_SEED = 2**53 - 1
MAX_NOTE = 1000
VIETNAM = dt.timezone(dt.timedelta(hours=7))  # no daylight saving time
S = RoundStatus
# Rounds whose handovers are over for good: the last one ends them.
FINISHED = frozenset({S.CLOSED, S.SUPERSEDED})
DRAWABLE = PICKING_UP | FINISHED  # rounds that may hold handovers


class FollowUpError(RoundError):
    """A follow-up asked for that cannot be given: `str()` in English, `.vi` in Vietnamese,
    `status` its HTTP answer."""

    status = 422

    def __init__(self, english: str, vi: str = "") -> None:
        super().__init__(english)
        self.vi = vi or english


class NotDue(Conflict, FollowUpError):
    status = 409


class AlreadyDrawn(Conflict, FollowUpError):
    status = 409


class BadAnswer(BadValue, FollowUpError):
    status = 422


class BadDraw(BadValue, FollowUpError):
    status = 422


class NotOnList(FollowUpError):
    status = 404


class NotYours(FollowUpError):
    status = 403


@dataclass(frozen=True)
class Draw:
    round_id: int
    seed: int
    served: int
    size: int
    drawn_at: dt.datetime
    households: list[str]


@dataclass(frozen=True)
class CallRow:
    """A household to call, with what a caller needs (and nothing of its ID number)."""

    round_id: int
    household_id: str
    point_id: str
    point_name: str
    commune_code: str
    head_name: str
    phone: str
    model: str
    lot_id: str
    sponsor_id: str
    handed_over_at: dt.datetime | None
    answer: str | None
    reason: str
    note: str
    answered_by: str
    answered_at: dt.datetime | None


# --- the draw ------------------------------------------------------------------------------


def rank(seed: int, household_id: str) -> str:
    """A household's place in the seeded order: SHA-256 of "<seed>:<household_id>" (UTF-8)."""
    return hashlib.sha256(f"{seed}:{household_id}".encode()).hexdigest()


def sample(households: Sequence[str], size: int, seed: int) -> list[str]:
    """The `size` households of lowest rank under `seed` (ties cannot happen: ids differ)."""
    return sorted(sorted(set(households), key=lambda h: rank(seed, h))[:max(size, 0)])


def sample_size(served: int, share: float, minimum: int) -> int:
    """max(minimum, ceil(share x served)), at most `served`; the share taken as written
    (0.05 x 600 is 30, not 30.000000000000004 rounded up to 31)."""
    wanted = math.ceil(Decimal(str(share)) * served)
    return min(served, max(minimum, wanted))


def check_draw_values(share: Any, minimum: Any, seed: Any) -> None:
    """Refuse, in one sentence, a share, minimum or seed no one could mean."""
    if isinstance(share, bool) or not isinstance(share, int | float):
        raise BadDraw(f"the share must be a number above 0 and at most 1 (got {share!r})",
                      "Tỷ lệ phải là một số lớn hơn 0 và không quá 1.")
    try:
        exact = Decimal(str(share))
    except InvalidOperation:
        exact = Decimal(0)
    if not exact.is_finite() or not 0 < exact <= 1:
        raise BadDraw(f"the share must be a number above 0 and at most 1 (got {share!r})",
                      "Tỷ lệ phải là một số lớn hơn 0 và không quá 1.")
    if isinstance(minimum, bool) or not isinstance(minimum, int) \
            or not 0 <= minimum <= MAX_MINIMUM:
        raise BadDraw(f"the minimum must be a whole number from 0 to {MAX_MINIMUM:,} "
                      f"(got {minimum!r})",
                      f"Số hộ tối thiểu phải là số nguyên từ 0 đến {MAX_MINIMUM:,}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not 0 <= seed <= MAX_SEED):
        raise BadDraw(f"the seed must be a whole number from 0 to {MAX_SEED} (got {seed!r})",
                      f"Hạt giống phải là số nguyên từ 0 đến {MAX_SEED}.")


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def vietnam_day(moment: dt.datetime) -> dt.date:
    """The day in Vietnam of a stored moment (UTC without a zone)."""
    return _naive_utc(moment).replace(tzinfo=dt.UTC).astimezone(VIETNAM).date()


def _last_handover(session: Session, round_id: int) -> dt.datetime | None:
    return session.scalar(select(func.max(AllocationRow.handed_over_at))
                          .where(AllocationRow.round_id == round_id))


def handovers_end(session: Session, row: Round) -> dt.date | None:
    """The round's last day of handovers, in Vietnam; None while no one was handed a phone."""
    last = _last_handover(session, row.id)
    if last is None:
        return None
    end = vietnam_day(last)
    if row.status not in FINISHED and row.pickup_deadline is not None:
        # A deadline ends at midnight in Vietnam: the moment before it is its day.
        deadline = vietnam_day(_naive_utc(row.pickup_deadline) - dt.timedelta(microseconds=1))
        end = max(end, deadline)
    return end


def due_day(session: Session, row: Round) -> dt.date | None:
    """The day in Vietnam from which the round's follow-up may be drawn."""
    end = handovers_end(session, row)
    return None if end is None else end + dt.timedelta(days=DAYS_AFTER)


def draw(session: Session, round_id: int, actor: str, *, share: float = SHARE,
         minimum: int = MINIMUM, seed: int | None = None,
         now: dt.datetime | None = None) -> Draw:
    """Draw the round's follow-up sample and commit it, with its audit entry; or raise."""
    check_draw_values(share, minimum, seed)
    at = _naive_utc(now) if now is not None else stamp()
    try:
        # Holding the round's row (status unchanged) keeps a second draw waiting for this
        # one's commit, and the round from moving meanwhile.
        held = session.execute(update(Round).where(
            Round.id == round_id, Round.status.in_([s.value for s in DRAWABLE]))
            .values(status=Round.status).execution_options(synchronize_session=False))
        if held.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            require(session, round_id, DRAWABLE, "given a follow-up")
        row = fresh(session, round_id)
        first = session.execute(select(FollowUp.drawn_at, FollowUp.seed)
                                .where(FollowUp.round_id == round_id).limit(1)).first()
        if first is not None:
            day = vietnam_day(first[0])
            raise AlreadyDrawn(f"round {round_id}'s follow-up was drawn on {day:%d/%m/%Y} "
                               f"with seed {first[1]}; a round has one draw",
                               f"Danh sách gọi lại của đợt {round_id} đã được rút ngày "
                               f"{day:%d/%m/%Y} (hạt giống {first[1]}); mỗi đợt rút một lần.")
        due = due_day(session, row)
        if due is None:
            raise NotDue(f"no household of round {round_id} has been handed a phone yet; "
                         "there is no one to call",
                         f"Đợt {round_id} chưa có hộ nào nhận máy; chưa có ai để gọi lại.")
        today = vietnam_day(at)
        if today < due:
            end = due - dt.timedelta(days=DAYS_AFTER)
            raise NotDue(f"round {round_id}'s follow-up is due on {due:%d/%m/%Y}, "
                         f"{DAYS_AFTER} days after its last day of handovers "
                         f"({end:%d/%m/%Y}); today is {today:%d/%m/%Y}",
                         f"Đợt {round_id} đến hạn gọi lại từ ngày {due:%d/%m/%Y}, {DAYS_AFTER} "
                         f"ngày sau ngày bàn giao cuối ({end:%d/%m/%Y}); hôm nay là "
                         f"{today:%d/%m/%Y}.")
        served = session.execute(
            select(AllocationRow.household_id, AllocationRow.point_id, AllocationRow.lot_id,
                   AllocationRow.sponsor_id)
            .where(AllocationRow.round_id == round_id, AllocationRow.handed_over_at.is_not(None))
            .order_by(AllocationRow.household_id)).all()
        ids = [r[0] for r in served]
        size = sample_size(len(ids), share, minimum)
        chosen_seed = secrets.randbelow(MAX_SEED + 1) if seed is None else seed
        chosen = set(sample(ids, size, chosen_seed))
        session.add_all(FollowUp(round_id=round_id, household_id=h, point_id=p, lot_id=lot,
                                 sponsor_id=sponsor, drawn_at=at, seed=chosen_seed)
                        for h, p, lot, sponsor in served if h in chosen)
        listed = hashlib.sha256("\n".join(ids).encode()).hexdigest()
        audit.record(session, actor, "draw follow-up", f"round {round_id}",
                     {"seed": chosen_seed, "share": str(share), "minimum": minimum,
                      "served": len(ids), "size": size, "served_sha256": listed,
                      "due": due.isoformat()})
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return Draw(round_id, chosen_seed, len(ids), size, at, sorted(chosen))


def drawn(session: Session, round_id: int) -> tuple[dt.datetime, int] | None:
    """When and with what seed the round's follow-up was drawn; None if not yet."""
    first = session.execute(select(FollowUp.drawn_at, FollowUp.seed)
                            .where(FollowUp.round_id == round_id).limit(1)).first()
    return None if first is None else (first[0], int(first[1]))


# --- answers ---------------------------------------------------------------------------------


def scope(session: Session, user: User | str) -> tuple[str, list[str] | None]:
    """Who acts, and the points they may act at (None: all of them).

    A name alone is the store's operator at the terminal, who has a planner's reach.
    """
    if isinstance(user, str):
        return user, None
    if user.role == "planner":
        return user.name, None
    if user.role == "point":
        return user.name, officer_points(session, user)
    raise NotYours("only planners and point officers make follow-up calls",
                   "Chỉ cán bộ lập kế hoạch và cán bộ điểm nhận được gọi lại.")


def check_answer(answer: str, reason: str, note: str) -> tuple[str, str, str]:
    """The answer, reason and note as kept; or BadAnswer naming what is wrong."""
    answer, reason, note = answer.strip(), reason.strip(), note.strip()
    if answer not in ANSWERS:
        raise BadAnswer(f"the answer must be one of {', '.join(ANSWERS)} (got {answer!r})",
                        "Hãy chọn: đang dùng, không dùng, hoặc chưa nhận được máy.")
    if answer == "not_in_use" and reason not in REASONS:
        raise BadAnswer("a phone not in use needs a reason: one of "
                        f"{', '.join(REASONS)} (got {reason!r})",
                        "Máy không dùng cần lý do: không có gói dữ liệu, không biết dùng, "
                        "hỏng, hoặc đã bán.")
    if answer != "not_in_use" and reason:
        raise BadAnswer(f"only a phone not in use takes a reason (the answer is {answer})",
                        "Chỉ ghi lý do khi máy không dùng.")
    if len(note) > MAX_NOTE or any(unicodedata.category(c) == "Cc" and c not in "\n\t"
                                   for c in note):
        raise BadAnswer(f"the note holds at most {MAX_NOTE} characters and no control "
                        "characters", f"Ghi chú tối đa {MAX_NOTE} ký tự, không có ký tự điều "
                        "khiển.")
    return answer, reason, note


def answer(session: Session, user: User | str, round_id: int, household_id: str,
           answer: str, reason: str = "", note: str = "",
           now: dt.datetime | None = None) -> FollowUp:
    """Record a call's answer (the last one counts), audited under the caller's name;
    "never received" opens a case for planners. Commits; or raises, nothing changed."""
    answer, reason, note = check_answer(answer, reason, note)
    actor, points = scope(session, user)
    try:
        row = session.get(FollowUp, (round_id, household_id), populate_existing=True)
        # Another point's household reads as not on the list: an officer must not learn
        # from the answer whether it was drawn.
        if row is None or (points is not None and row.point_id not in points):
            raise NotOnList(f"household {household_id} is not on round {round_id}'s "
                            "follow-up list",
                            f"Hộ {household_id} không có trong danh sách gọi lại của đợt "
                            f"{round_id}.")
        previous = row.answer
        row.answer, row.reason, row.note = answer, reason, note
        row.answered_by, row.answered_at = actor, _naive_utc(now) if now else stamp()
        case = _open_case(session, row, actor, note) if answer == "never_received" else None
        audit.record(session, actor, "answer follow-up", f"round {round_id}",
                     {"household_id": household_id, "point_id": row.point_id,
                      "answer": answer, "reason": reason, "note": note,
                      "previous": previous, "case": case})
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return row


def _open_case(session: Session, row: FollowUp, actor: str, note: str) -> int:
    """The household's live "never received" case: opened now, or the one already open
    (an answer given twice, or a case still open from an earlier call)."""
    commune = session.scalar(select(AllocationRow.commune_code).where(
        AllocationRow.round_id == row.round_id,
        AllocationRow.household_id == row.household_id)) or ""
    said = (f"Gọi lại sau bàn giao (đợt {row.round_id}): hộ nói chưa nhận được máy. / "
            f"Follow-up call (round {row.round_id}): the household says it never received "
            f"its phone. {note}").strip()
    try:
        return cases.open_case(session, kind=cases.CaseKind.NEVER_RECEIVED.value,
                               household_id=row.household_id, round_id=row.round_id,
                               commune_code=commune, actor=actor, note=said).id
    except cases.CaseConflict:
        live = cases.live_case(session, row.household_id, cases.CaseKind.NEVER_RECEIVED.value)
        if live is None:  # closed meanwhile by a planner: the conflict no longer holds
            raise
        return live.id


# --- the call list ---------------------------------------------------------------------------


def _frozen_table(row: Round, name: str, columns: Sequence[str]) -> pd.DataFrame:
    """Columns of one of the round's frozen input files, as stripped NFC text."""
    with zipfile.ZipFile(io.BytesIO(row.inputs)) as archive:
        data = archive.read(name) if name in archive.namelist() else b""
    wanted = set(columns)
    table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False,
                        encoding="utf-8-sig", usecols=lambda c: c.strip() in wanted) \
        if data else pd.DataFrame()
    table.columns = [c.strip() for c in table.columns]
    for column in columns:
        if column not in table:
            table[column] = ""
        table[column] = table[column].map(lambda v: unicodedata.normalize("NFC", v).strip())
    return table[list(columns)]


def call_list(session: Session, user: User | str, round_id: int,
              points: Sequence[str] = ()) -> list[CallRow]:
    """The round's follow-up list at the caller's points (and `points`, if given), by point
    then household; contacts come from the round's frozen inputs.

    A read of personal data: the caller records it (`audit.record_read`) once done.
    """
    _, mine = scope(session, user)
    row = fresh(session, round_id)
    query = select(FollowUp, AllocationRow.commune_code, AllocationRow.handed_over_at) \
        .join(AllocationRow, (AllocationRow.round_id == FollowUp.round_id)
              & (AllocationRow.household_id == FollowUp.household_id), isouter=True) \
        .where(FollowUp.round_id == round_id)
    if mine is not None:
        query = query.where(FollowUp.point_id.in_(mine))
    if points:
        query = query.where(FollowUp.point_id.in_(list(points)))
    listed = session.execute(query.order_by(FollowUp.point_id, FollowUp.household_id)).all()
    if not listed:
        return []
    contacts = _frozen_table(row, HOUSEHOLDS, ("household_id", "head_name", "phone")) \
        .drop_duplicates("household_id").set_index("household_id")
    names: dict[str, str] = dict(_frozen_table(row, POINTS, ("point_id", "name"))
                                 .itertuples(index=False))
    models: dict[str, str] = dict(_frozen_table(row, LOTS, ("lot_id", "model"))
                                  .itertuples(index=False))
    out = []
    for follow, commune, handed in listed:
        contact = contacts.loc[follow.household_id] \
            if follow.household_id in contacts.index else None
        out.append(CallRow(
            round_id, follow.household_id, follow.point_id, names.get(follow.point_id, ""),
            commune or "", str(contact["head_name"]) if contact is not None else "",
            str(contact["phone"]) if contact is not None else "",
            models.get(follow.lot_id, ""), follow.lot_id, follow.sponsor_id, handed,
            follow.answer, follow.reason, follow.note, follow.answered_by,
            follow.answered_at))
    return out


def rounds_with_followups(session: Session, user: User | str) -> list[dict[str, Any]]:
    """Rounds with a follow-up list at the caller's points: listed and answered per round."""
    _, mine = scope(session, user)
    query = select(FollowUp.round_id, Round.name, func.count(),
                   func.count(FollowUp.answer), func.min(FollowUp.drawn_at)) \
        .join(Round, Round.id == FollowUp.round_id)
    if mine is not None:
        query = query.where(FollowUp.point_id.in_(mine))
    rows = session.execute(query.group_by(FollowUp.round_id, Round.name)
                           .order_by(FollowUp.round_id)).all()
    return [{"round_id": r, "name": name, "listed": int(n), "answered": int(a),
             "drawn_at": at} for r, name, n, a, at in rows]


# --- the share of phones in use --------------------------------------------------------------


def _tally(n: int, in_use: int, not_in_use: int, never: int) -> dict[str, Any]:
    answered = in_use + not_in_use + never
    return {"listed": n, "answered": answered, "in_use": in_use, "not_in_use": not_in_use,
            "never_received": never, "share_in_use": in_use / answered if answered else None}


def _counted(*groups: Any) -> Any:
    return (*groups, func.count(),
            *(func.coalesce(func.sum(case((FollowUp.answer == a, 1), else_=0)), 0)
              for a in ANSWERS))


def share_in_use(session: Session) -> dict[str, Any]:
    """Phones in use among the follow-up answers, over every round: overall, by sponsor and
    by reason (planners; counts unsuppressed). share_in_use = in_use / answered, where
    answered counts every answer, "never received" included."""
    total = session.execute(select(*_counted())).one()
    by_sponsor = session.execute(select(*_counted(FollowUp.sponsor_id))
                                 .group_by(FollowUp.sponsor_id)
                                 .order_by(FollowUp.sponsor_id)).all()
    names = {s: n for s, n in session.execute(select(Sponsor.id, Sponsor.name))}
    reasons = {r: n for r, n in session.execute(select(FollowUp.reason, func.count())
                                                .where(FollowUp.answer == "not_in_use")
                                                .group_by(FollowUp.reason))}
    return {**_tally(*(int(x) for x in total)),
            "reasons": {r: int(reasons.get(r, 0)) for r in REASONS},
            "by_sponsor": [{"sponsor_id": s, "sponsor_name": names.get(s) or "",
                            **_tally(*(int(x) for x in rest))}
                           for s, *rest in by_sponsor]}
