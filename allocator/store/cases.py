"""Cases a planner must resolve (khiếu nại): a phone never received, or "why not me?".

A case is opened for one household: by the follow-up store when a call finds a
phone that never arrived (`never_received`), by a commune officer (a point
officer of a point in that commune) or a planner when a household that was not
served asks why (`why_not_me`, vì sao tôi chưa được nhận). One case of a kind
is live per household at a time: a second is refused with a sentence naming
the first.

Status: open -> answered -> closed; an answered or closed case can be reopened.
Every move is one conditional UPDATE checked by its row count (as a round's
moves are), with its audit entry, so two requests racing cannot both win.

`open_case` works inside the caller's transaction and does not commit (the
follow-up store opens a case in the same transaction as the call's answer);
`open_and_commit` is the same for the routes and commands that open a case on
its own.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from allocator.limits import first_control
from allocator.store import audit
from allocator.store.ledger import HANDED, RESERVED
from allocator.store.lifecycle import BadValue, Conflict, RoundError, RoundNotFound
from allocator.store.models import AllocationRow, Case, Household, Point, Round, User
from allocator.store.users import officer_points

MAX_NOTE = 2000  # a few paragraphs: what the household said, what the officer saw
# Any fixed number: the key of the PostgreSQL advisory lock that orders openings.
_LOCK_KEY = 0x43415345  # "CASE"


class CaseKind(StrEnum):
    NEVER_RECEIVED = "never_received"  # chưa nhận được máy (found by a follow-up call)
    WHY_NOT_ME = "why_not_me"  # vì sao tôi chưa được nhận


class CaseStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class CaseMove(StrEnum):
    ANSWER = "answer"
    CORRECT = "correct"  # the registry was corrected for it; the case is then answered
    CLOSE = "close"
    REOPEN = "reopen"


OPEN, ANSWERED, CLOSED = CaseStatus.OPEN, CaseStatus.ANSWERED, CaseStatus.CLOSED
# move -> (the statuses it may start from, the status it ends in)
TRANSITIONS: dict[CaseMove, tuple[frozenset[CaseStatus], CaseStatus]] = {
    # an answer can be put better before the case is closed
    CaseMove.ANSWER: (frozenset({OPEN, ANSWERED}), ANSWERED),
    CaseMove.CORRECT: (frozenset({OPEN, ANSWERED}), ANSWERED),
    CaseMove.CLOSE: (frozenset({ANSWERED}), CLOSED),  # closed only once it has an answer
    CaseMove.REOPEN: (frozenset({ANSWERED, CLOSED}), OPEN),
}
LIVE = frozenset({OPEN, ANSWERED})  # a case not yet closed: a second of its kind is refused
AUDIT_ACTION = {CaseMove.ANSWER: "answer case", CaseMove.CORRECT: "correct registry for case",
                CaseMove.CLOSE: "close case", CaseMove.REOPEN: "reopen case"}
PAST = {CaseMove.ANSWER: "answered", CaseMove.CORRECT: "given a registry correction",
        CaseMove.CLOSE: "closed", CaseMove.REOPEN: "reopened"}
PAST_VI = {CaseMove.ANSWER: "trả lời", CaseMove.CORRECT: "sửa sổ hộ",
           CaseMove.CLOSE: "đóng", CaseMove.REOPEN: "mở lại"}
STATUS_VI = {OPEN: "đang mở", ANSWERED: "đã trả lời", CLOSED: "đã đóng"}


class CaseError(RoundError):
    """A case refused: `str()` is the English sentence, `.vi` the Vietnamese one."""

    vi: str = ""


class CaseNotFound(CaseError, RoundNotFound):  # a 404 wherever a missing round is
    def __init__(self, case_id: int) -> None:
        RoundError.__init__(self, case_id)
        self.round_id = self.case_id = case_id
        self.vi = f"Không có hồ sơ số {case_id}."

    def __str__(self) -> str:
        return f"no case {self.case_id}"


class CaseRefused(CaseError, BadValue):
    """The request cannot be: a household served, unknown or not of the officer's commune."""

    def __init__(self, english: str, vi: str, field: str | None = None) -> None:
        super().__init__(english)
        self.vi, self.field = vi, field


class NotYourCase(CaseRefused):
    """A case (or a household) outside the communes of the officer who asks: a 403."""


class NotInStore(CaseRefused):
    """What the request names is not in the store: a household, a round's phone for it, a
    commune (the API's 404)."""


class RefusedByRecords(CaseRefused):
    """A request right in itself that the records refuse: a household already served, a
    correction for a case of the other kind, values the registry already holds (the
    API's 409)."""


class CaseConflict(CaseError, Conflict):
    """A live case of this kind already exists, or the case's status forbids the move."""

    def __init__(self, english: str, vi: str) -> None:
        super().__init__(english)
        self.vi = vi


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def actor_name(actor: User | str) -> str:
    return actor if isinstance(actor, str) else actor.name


def officer_communes(session: Session, user: User) -> set[str] | None:
    """The communes a user may see the cases of: None for a planner (all), those of the
    officer's points for a point officer, none for anyone else.

    A point's commune comes from the points registry; a point known only from a
    round's frozen inputs is looked up there (the latest round that names it).
    """
    if user.role == "planner":
        return None
    points = officer_points(session, user)
    if not points:
        return set()
    found = {p: c for p, c in session.execute(select(Point.id, Point.commune_code)
                                               .where(Point.id.in_(points)))}
    missing = [p for p in points if p not in found]
    if missing:
        found.update(_frozen_point_communes(session, missing))
    return {c for c in found.values() if c}


def _frozen_point_communes(session: Session, points: list[str]) -> dict[str, str]:
    """Points' communes as the latest rounds that allocated at them froze them."""
    import io
    import zipfile

    import pandas as pd

    out: dict[str, str] = {}
    rounds = session.scalars(select(AllocationRow.round_id).distinct()
                             .where(AllocationRow.point_id.in_(points))
                             .order_by(AllocationRow.round_id.desc())).all()
    for round_id in rounds:
        row = session.get(Round, round_id)
        if row is None:
            continue
        with zipfile.ZipFile(io.BytesIO(row.inputs)) as archive:
            if "points.csv" not in archive.namelist():
                continue
            table = pd.read_csv(io.BytesIO(archive.read("points.csv")), dtype=str,
                                keep_default_na=False)
        if {"point_id", "commune_code"} <= set(table.columns):
            for point, commune in zip(table["point_id"], table["commune_code"], strict=True):
                if point in points:
                    out.setdefault(str(point).strip(), str(commune).strip())
        if len(out) == len(points):
            break
    return out


def _lock(session: Session) -> None:
    """Serialise openings and reopenings, so two at once cannot both pass the one-live rule
    (held until the caller commits: an advisory lock on PostgreSQL, the writer lock on
    SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    else:
        session.execute(text("UPDATE cases SET id = id WHERE 1 = 0"))


def live_case(session: Session, household_id: str, kind: str,
              other_than: int | None = None) -> Case | None:
    """The household's case of this kind that is not closed, if any."""
    query = select(Case).where(Case.household_id == household_id, Case.kind == kind,
                               Case.status.in_([s.value for s in LIVE]))
    if other_than is not None:
        query = query.where(Case.id != other_than)
    return session.scalars(query.order_by(Case.id).limit(1)).first()


def _refuse_second(found: Case) -> CaseConflict:
    return CaseConflict(
        f"household {found.household_id} already has case {found.id} of this kind, "
        f"{found.status} (opened by {found.opened_by} on {found.opened_at:%Y-%m-%d}); "
        + ("reopen or answer that one" if found.status != OPEN else "answer that one"),
        f"Hộ {found.household_id} đã có hồ sơ số {found.id} cùng loại, "
        f"{STATUS_VI[CaseStatus(found.status)]} (do {found.opened_by} mở ngày "
        f"{found.opened_at:%d/%m/%Y}); hãy xử lý hồ sơ đó.")


def served_in(session: Session, household_id: str) -> AllocationRow | None:
    """The allocation that serves the household now: handed over, or reserved in a round
    that is picking up."""
    return session.scalars(
        select(AllocationRow).join(Round, Round.id == AllocationRow.round_id)
        .where(AllocationRow.household_id == household_id, or_(HANDED, RESERVED))
        .order_by(AllocationRow.round_id).limit(1)).first()


# In a note or an answer: line breaks and tabs are kept; NUL (which PostgreSQL refuses),
# other control characters and lone surrogates (which no encoding can store) are not.
UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def unwritable(text: str) -> bool:
    """Whether free text holds a character the store must not keep."""
    return UNWRITABLE.search(text) is not None


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise CaseRefused(f"a note has at most {MAX_NOTE} characters",
                          f"Ghi chú tối đa {MAX_NOTE} ký tự.", "note")
    if unwritable(note):
        raise CaseRefused("a note cannot hold control characters",
                          "Ghi chú có ký tự không hợp lệ.", "note")
    return note


def open_case(session: Session, *, kind: str, household_id: str, actor: User | str,
              round_id: int | None = None, commune_code: str = "", note: str = "") -> Case:
    """Open a case inside the caller's transaction (flushed and audited, not committed).

    `actor` is the User who asks (the rules of their role apply: a point officer only
    for a household of their communes, a sponsor never) or a name, for a trusted
    caller that made its own checks (the follow-up store, the command line).

    - `why_not_me`: the household must be in the registry and not served (neither
      handed a phone nor holding a reservation in a round that is picking up).
    - `never_received`: `round_id` must name a round that allocated the household.

    Raises CaseRefused (422), NotYourCase (403), NotInStore (404, no such household or
    phone), RefusedByRecords (409, a household served), CaseConflict (409, a live case
    of the same kind exists) or RoundNotFound.
    """
    name = actor_name(actor)
    user = actor if isinstance(actor, User) else None
    if kind not in {k.value for k in CaseKind}:
        raise CaseRefused(f"the kind of a case is never_received or why_not_me (got {kind!r})",
                          "Loại hồ sơ không hợp lệ.", "kind")
    household_id = (household_id or "").strip()
    if not household_id or len(household_id) > 64 or first_control(household_id) >= 0:
        raise CaseRefused("give the household's id (1 to 64 characters)",
                          "Hãy nhập mã hộ (1 đến 64 ký tự).", "household_id")
    note = _clean_note(note)
    if user is not None and user.role not in ("planner", "point"):
        raise NotYourCase("only planners and point officers open cases",
                          "Chỉ cán bộ lập kế hoạch và cán bộ điểm nhận được mở hồ sơ.")
    allowed = officer_communes(session, user) if user is not None else None
    # To an officer, a household of another commune is as one that does not exist (the same
    # 404, the same words), said before anything else: trying ids must tell nothing.
    elsewhere = NotInStore(f"there is no household {household_id} in the communes of your "
                           "points", f"Không có hộ {household_id} trong các xã của điểm nhận "
                           "của bạn.", "household_id")
    try:
        if kind == CaseKind.WHY_NOT_ME:
            commune = _registry_commune(session, household_id)
        else:
            commune = _never_received_commune(session, household_id, round_id)
    except NotInStore:
        if allowed is not None:
            raise elsewhere from None
        raise
    commune = commune or commune_code.strip()
    if allowed is not None and commune not in allowed:
        raise elsewhere
    if kind == CaseKind.WHY_NOT_ME:
        _refuse_served(session, household_id)
    _lock(session)
    found = live_case(session, household_id, kind)
    if found is not None:
        raise _refuse_second(found)
    case = Case(kind=kind, household_id=household_id, round_id=round_id,
                commune_code=commune, status=OPEN.value, opened_by=name, opened_at=utcnow(),
                note=note, answer="", answered_by="", correction="", closed_by="")
    session.add(case)
    session.flush()
    audit.record(session, name, "open case", f"case {case.id}",
                 {"kind": kind, "household_id": household_id, "round_id": round_id,
                  "commune_code": commune})
    return case


def _registry_commune(session: Session, household_id: str) -> str:
    commune = session.scalar(select(Household.commune_code)
                             .where(Household.id == household_id))
    if commune is None:
        raise NotInStore(f"there is no household {household_id} in the registry",
                         f"Không có hộ {household_id} trong sổ hộ.", "household_id")
    return commune


def _refuse_served(session: Session, household_id: str) -> None:
    served = served_in(session, household_id)
    if served is not None:
        what = ("received a phone" if served.handed_over_at else "holds a phone to collect")
        what_vi = ("đã nhận máy" if served.handed_over_at else "đang có máy chờ nhận")
        raise RefusedByRecords(
            f"household {household_id} {what} in round {served.round_id} (point "
            f"{served.point_id}); a \"why not me?\" case is for households not served",
            f"Hộ {household_id} {what_vi} ở đợt {served.round_id} (điểm {served.point_id}); "
            "hồ sơ \"vì sao tôi chưa được nhận\" chỉ dành cho hộ chưa được nhận.",
            "household_id")


def _never_received_commune(session: Session, household_id: str, round_id: int | None) -> str:
    if round_id is None:
        raise CaseRefused("a never-received case names the round of the phone",
                          "Hồ sơ chưa nhận được máy phải ghi đợt phân bổ.", "round_id")
    if session.get(Round, round_id) is None:
        raise RoundNotFound(round_id)
    commune = session.scalar(select(AllocationRow.commune_code).where(
        AllocationRow.round_id == round_id, AllocationRow.household_id == household_id))
    if commune is None:
        raise NotInStore(f"round {round_id} gave household {household_id} no phone",
                         f"Đợt {round_id} không phân bổ máy cho hộ {household_id}.",
                         "household_id")
    return commune


def open_and_commit(session: Session, **fields: Any) -> Case:
    """`open_case` in a transaction of its own: committed, or rolled back and raised."""
    try:
        case = open_case(session, **fields)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return case


def get_case(session: Session, case_id: int, user: User | None = None) -> Case:
    """The case (fresh from the database); a point officer only of their communes."""
    case = session.get(Case, case_id, populate_existing=True) if 0 < case_id < 2**31 else None
    if case is None:
        raise CaseNotFound(case_id)
    if user is not None:
        allowed = officer_communes(session, user)
        if allowed is not None and case.commune_code not in allowed:
            raise CaseNotFound(case_id)  # as if it were not there, to an officer
    return case


def move(session: Session, case_id: int, what: CaseMove, actor: str,
         values: dict[str, Any] | None = None, detail: dict[str, Any] | None = None,
         commit: bool = True) -> Case:
    """One move of a case and its audit entry; refused (CaseConflict) from a wrong status."""
    sources, target = TRANSITIONS[what]
    try:
        result = session.execute(
            update(Case).where(Case.id == case_id, Case.status.in_([s.value for s in sources]))
            .values(status=target.value, **(values or {}))
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            now = get_case(session, case_id)
            allowed = " or ".join(sorted(s.value for s in sources))
            raise CaseConflict(
                f"case {case_id} is {now.status}; it can be {PAST[what]} only when {allowed}",
                f"Hồ sơ số {case_id} {STATUS_VI[CaseStatus(now.status)]}; không thể "
                f"{PAST_VI[what]} lúc này.")
        audit.record(session, actor, AUDIT_ACTION[what], f"case {case_id}", detail)
        if commit:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    return get_case(session, case_id)


def _text(text: str, what: str, what_vi: str) -> str:
    text = (text or "").strip()
    if not text or len(text) > MAX_NOTE or unwritable(text):
        raise CaseRefused(f"{what} has 1 to {MAX_NOTE} characters",
                          f"{what_vi} cần từ 1 đến {MAX_NOTE} ký tự.", "text")
    return text


def require_planner(actor: User | str) -> str:
    if isinstance(actor, User) and actor.role != "planner":
        raise NotYourCase("only planners answer, correct, close or reopen cases",
                          "Chỉ cán bộ lập kế hoạch được trả lời, sửa, đóng hay mở lại hồ sơ.")
    return actor_name(actor)


def answer_case(session: Session, case_id: int, text: str, actor: User | str) -> Case:
    """The planner's answer (audited); the case is then answered. A second answer replaces
    the first while the case is not closed."""
    name = require_planner(actor)
    text = _text(text, "an answer", "Câu trả lời")
    get_case(session, case_id)
    return move(session, case_id, CaseMove.ANSWER, name,
                {"answer": text, "answered_by": name, "answered_at": utcnow()},
                {"answer": text})


def close_case(session: Session, case_id: int, actor: User | str) -> Case:
    """Close an answered case (audited)."""
    name = require_planner(actor)
    get_case(session, case_id)
    return move(session, case_id, CaseMove.CLOSE, name,
                {"closed_by": name, "closed_at": utcnow()})


def reopen_case(session: Session, case_id: int, reason: str, actor: User | str) -> Case:
    """Open an answered or closed case again, saying why (audited; the reason joins the
    note). Refused while another case of its kind is live for the household."""
    name = require_planner(actor)
    reason = _text(reason, "the reason to reopen", "Lý do mở lại")
    case = get_case(session, case_id)
    try:
        _lock(session)
        other = live_case(session, case.household_id, case.kind, other_than=case_id)
        if other is not None:
            raise _refuse_second(other)
        note = f"{case.note}\n[{utcnow():%Y-%m-%d} {name}] {reason}".strip()[-MAX_NOTE * 2:]
    except BaseException:
        session.rollback()
        raise
    return move(session, case_id, CaseMove.REOPEN, name,
                {"note": note, "closed_by": "", "closed_at": None}, {"reason": reason})


def _visible(session: Session, user: User | None) -> Any:
    """The cases a user may see, as a condition (None: all)."""
    if user is None:
        return None
    allowed = officer_communes(session, user)
    return None if allowed is None else Case.commune_code.in_(sorted(allowed))


def list_cases(session: Session, user: User | None = None, *, status: str | None = None,
               kind: str | None = None, commune: str | None = None, offset: int = 0,
               limit: int = 100) -> tuple[int, list[Case]]:
    """Cases newest first (a point officer: only of their communes) and how many match."""
    query = select(Case)
    seen = _visible(session, user)
    if seen is not None:
        query = query.where(seen)
    if status:
        query = query.where(Case.status == status)
    if kind:
        query = query.where(Case.kind == kind)
    if commune:
        query = query.where(Case.commune_code == commune)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Case.id.desc()).offset(offset).limit(limit)).all()
    return int(total), list(rows)


def status_counts(session: Session, user: User | None = None) -> dict[str, int]:
    """How many cases (a point officer: of their communes) are open, answered, closed."""
    query = select(Case.status, func.count()).group_by(Case.status)
    seen = _visible(session, user)
    if seen is not None:
        query = query.where(seen)
    counts = {s.value: 0 for s in CaseStatus}
    counts.update({status: int(n) for status, n in session.execute(query)})
    return counts


OFFICER_FIELDS = ("id", "kind", "household_id", "round_id", "commune_code", "status",
                  "opened_by", "opened_at", "note", "answer", "answered_at", "closed_at")
PLANNER_FIELDS = OFFICER_FIELDS + ("answered_by", "correction", "closed_by")


def as_dict(case: Case, planner: bool) -> dict[str, Any]:
    """A case as its reader may see it: a point officer gets what they need to tell the
    household (no registry correction, no personal data); a planner everything."""
    out: dict[str, Any] = {}
    for name in PLANNER_FIELDS if planner else OFFICER_FIELDS:
        value = getattr(case, name)
        out[name] = value.isoformat() if isinstance(value, dt.datetime) else value
    return out
