"""The SMS outbox of an approved round: one notice per household that can get one.

The outbox is derived from the round: its allocations (pickup code, window,
point, lot) and its frozen inputs (the head's phone, commune, point and device
names), never from the live registry, so the notices of an approved round never
change when the registry does. Filling it is idempotent (a household of a round
has at most one message) and every reader fills it first, so it is complete
whenever it is read.

A household gets no message, and is on the list "needs a visit" instead, when
its phone is missing or not a Vietnamese mobile (the reason is
`allocator.phones`'s sentence), or when it has no pickup code or no window: a
text that cannot say when to come would only bring people to a closed door, so
the commune agrees a time with them in person. Households already handed their
phone, or released back to stock, are neither messaged nor visited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.orm import Session

from allocator.notices import Notice, notice_texts
from allocator.phones import normalise_phone
from allocator.pickup_codes import display_code, normalise_code
from allocator.store.audit import record
from allocator.store.bulk import driver_value, insert_rows
from allocator.store.jobs import stamp
from allocator.store.lifecycle import PICKING_UP, RoundError, require
from allocator.store.models import AllocationRow, Commune, OutboxMessage, Round
from allocator.store.rounds import unpack_inputs
from allocator.tabular import frame_csv, frame_xlsx
from allocator.validate import read_scenario


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # may be sent again


class Form(StrEnum):
    PLAIN = "plain"  # unaccented GSM-7, at most 2 segments: what every gateway and handset shows
    ACCENTED = "accented"  # proper Vietnamese, UCS-2


DEFAULT_FORM = Form.PLAIN
EXPORTABLE = (MessageStatus.PENDING, MessageStatus.FAILED)
EXPORT_ACTION = "export notices"  # the audit action `mark_exported` looks for
NO_CODE = "No pickup code has been given to the household."
NO_WINDOW = ("No pickup window has been given (the point's windows are full or not set); "
             "agree a time with the household.")
VISIT_COLUMNS = {"household_id": "Mã hộ", "head_name": "Họ tên chủ hộ", "commune": "Xã/phường",
                 "point_id": "Mã điểm", "point_name": "Điểm nhận", "reason": "Lý do"}
VISIT_WIDTHS = (16, 24, 24, 16, 28, 60)


class NotReady(RoundError):
    """The round's allocations have no pickup codes yet, so no notice can be written."""

    def __init__(self, round_id: int) -> None:
        super().__init__(round_id)
        self.round_id = round_id

    def __str__(self) -> str:
        return (f"round {self.round_id} has no pickup codes yet, so its notices cannot be "
                "written; codes and windows are given when a round is approved")


@dataclass(frozen=True)
class Visit:
    """A household the commune must reach in person, and why."""

    household_id: str
    head_name: str
    commune: str
    point_id: str
    point_name: str
    reason: str


@dataclass(frozen=True)
class FillReport:
    added: int  # messages written by this fill
    messages: int  # messages of the round now
    visits: list[Visit]


@dataclass(frozen=True)
class StatusCount:
    messages: int
    segments_plain: int
    segments: int


def message_key(round_id: int, household_id: str) -> str:
    """The stable key of a round's notice to a household: a gateway drops a repeat of it.

    A hash, so that neither the gateway nor a log learns the household's id from it.
    """
    return hashlib.sha256(f"notice\x1f{round_id}\x1f{household_id}".encode()).hexdigest()[:32]


def fill_outbox(session: Session, round_id: int, actor: str) -> FillReport:
    """Write the missing notices of an approved round; say who needs a visit instead.

    The texts are made outside any lock (reading the frozen inputs takes
    seconds); the write then holds the round's row, skips households another
    fill wrote meanwhile, and commits. A round whose every open allocation has
    its message costs two counts.
    """
    row = require(session, round_id, PICKING_UP, "given SMS notices")
    total, coded = session.execute(
        select(func.count(), func.count(AllocationRow.pickup_code))
        .where(AllocationRow.round_id == round_id, *_OPEN)).one()
    if total and not coded:
        raise NotReady(round_id)
    todo = _unmessaged(session, round_id)
    if not todo:
        messages = session.scalar(select(func.count()).where(
            OutboxMessage.round_id == round_id)) or 0
        session.commit()  # end the read: a later write of this session must not wait on it
        return FillReport(0, messages, [])
    rows, visits = _plan(session, row, todo)
    # A write that changes nothing: the round's row lock on PostgreSQL, the write lock on
    # SQLite, so two fills of one round take turns and the second sees the first's rows.
    session.execute(update(Round).where(Round.id == round_id).values(id=Round.id))
    have = set(session.scalars(select(OutboxMessage.household_id)
                               .where(OutboxMessage.round_id == round_id)))
    table = OutboxMessage.__table__
    created = driver_value(session, table, "created_at", stamp())  # type: ignore[arg-type]
    told = _already_told(session, row.replaces) if row.replaces is not None else {}
    ready = []
    for r in rows:
        if r[1] in have:
            continue
        status, sent_at = r[7], None
        earlier = told.get(str(r[1]))
        if earlier is not None and earlier[0] == (r[2], r[4]):
            status = MessageStatus.SENT.value
            sent_at = driver_value(session, table, "sent_at", earlier[1])  # type: ignore[arg-type]
        ready.append((*r[:7], status, *r[8:], created, sent_at))
    rows = ready
    columns = ("round_id", "household_id", "phone", "text", "text_plain", "segments",
               "segments_plain", "status", "attempts", "error", "created_at", "sent_at")
    insert_rows(session, table, columns, rows)  # type: ignore[arg-type]
    if rows:
        record(session, actor, "fill outbox", f"round {round_id}",
               {"messages": len(rows), "needs_visit": len(visits),
                "already_told": sum(r[7] == MessageStatus.SENT.value for r in rows)})
    session.commit()
    return FillReport(len(rows), len(have) + len(rows), visits)


def _already_told(session: Session, replaced: int) -> dict[str, tuple[tuple[str, str], object]]:
    """Household -> ((phone, unaccented text), sent_at) of the sent notices of a replaced round.

    A re-plan keeps most households' code, point and window: their notice in the
    new version is the same text to the same phone, and is not sent twice.
    """
    return {h: ((phone, text), at) for h, phone, text, at in session.execute(
        select(OutboxMessage.household_id, OutboxMessage.phone, OutboxMessage.text_plain,
               OutboxMessage.sent_at).where(OutboxMessage.round_id == replaced,
                                            OutboxMessage.status == MessageStatus.SENT.value))}


def needs_visit(session: Session, round_id: int, actor: str) -> list[Visit]:
    """Households of the round that no SMS can reach, by point then id (fills first).

    Once filled, these are exactly the open allocations without a message, so the
    list is worked out afresh each time and never kept.
    """
    return fill_outbox(session, round_id, actor).visits


# Allocations still waiting for their household: not handed over, not released.
_OPEN = (AllocationRow.handed_over_at.is_(None), AllocationRow.released_at.is_(None))


class _Open(NamedTuple):
    household_id: str
    lot_id: str
    point_id: str
    commune_code: str
    pickup_code: str | None
    window_day: dt.date | None
    window_start: dt.time | None
    window_end: dt.time | None


def _unmessaged(session: Session, round_id: int) -> list[_Open]:
    """Open allocations of the round without a message, by point then household."""
    a = AllocationRow
    has_message = select(OutboxMessage.id).where(OutboxMessage.round_id == a.round_id,
                                                 OutboxMessage.household_id == a.household_id)
    return [_Open(*r) for r in session.execute(
        select(a.household_id, a.lot_id, a.point_id, a.commune_code, a.pickup_code,
               a.window_day, a.window_start, a.window_end)
        .where(a.round_id == round_id, *_OPEN, ~has_message.exists())
        .order_by(a.point_id, a.household_id))]


@dataclass(frozen=True)
class _Frozen:
    """What the notices need from a round's frozen inputs."""

    contacts: pd.DataFrame  # by household_id: head_name, phone
    communes: dict[str, str]  # code -> name
    points: dict[str, str]  # id -> name
    models: dict[str, str]  # lot id -> device model


def _frozen(session: Session, row: Round) -> _Frozen:
    with tempfile.TemporaryDirectory() as tmp:
        scenario = read_scenario(unpack_inputs(row, Path(tmp)))
    contacts = scenario.households.set_index("household_id")[["head_name", "phone"]]
    # The round's own names first, then the store's (a round from a folder without
    # communes.csv carries the bundled list, which the store also holds).
    communes = {str(code): str(name) for code, name in session.execute(
        select(Commune.code, Commune.name))}
    communes.update(zip(scenario.communes["commune_code"].astype(str),
                        scenario.communes["name"].astype(str)))
    points = dict(zip(scenario.points["point_id"], scenario.points["name"]))
    models = dict(zip(scenario.lots["lot_id"], scenario.lots["model"]))
    return _Frozen(contacts, communes, points, models)


def _plan(session: Session, row: Round, todo: Iterable[_Open]
          ) -> tuple[list[tuple[object, ...]], list[Visit]]:
    """The outbox rows to write and the visits, for these allocations of the round."""
    frozen = _frozen(session, row)
    names = frozen.contacts["head_name"].to_dict()
    phones = frozen.contacts["phone"].to_dict()
    texts = _Texts()
    rows: list[tuple[object, ...]] = []
    visits: list[Visit] = []
    for a in todo:
        commune = _commune_name(frozen.communes, a.commune_code)
        point_name = str(frozen.points.get(a.point_id) or a.point_id)
        phone, problem = normalise_phone(phones.get(a.household_id))
        if problem is None:
            problem = _not_notifiable(a)
        if problem is None and phone is not None:
            facts = {"commune": commune, "point_id": a.point_id, "point_name": point_name,
                     "day": a.window_day, "opens": a.window_start, "closes": a.window_end,
                     "device": str(frozen.models.get(a.lot_id, ""))}
            try:
                accented, plain, segments, segments_plain = texts(
                    tuple(facts.values()), str(a.pickup_code),
                    partial(Notice, code=str(a.pickup_code), **facts))  # type: ignore[arg-type]
            except ValueError as error:  # a damaged window or code: a person must look
                problem = f"No notice could be written: {error}."
            else:
                rows.append((row.id, a.household_id, phone, accented, plain, segments,
                             segments_plain, MessageStatus.PENDING.value, 0, ""))
                continue
        visits.append(Visit(a.household_id, str(names.get(a.household_id, "")), commune,
                            a.point_id, point_name, str(problem)))
    return rows, visits


@dataclass
class _Group:
    shown: str  # the display code written into the texts below
    accented: str
    plain: str
    segments: int
    segments_plain: int
    swap: bool = False  # proven: a notice of the group is these texts with its code swapped in


class _Texts:
    """`notice_texts` for many notices, made once per group that differs only in the code.

    Households of one point, window, commune and device get the same text but for
    the code, which is always as long and in plain characters; writing 100,000
    texts one by one takes minutes. A group's first two notices are written in
    full; if the second equals the first with its code swapped in, the rest of
    the group is made by that swap, else one by one.
    """

    def __init__(self) -> None:
        self._groups: dict[tuple[object, ...], _Group | None] = {}  # None: one by one

    def __call__(self, key: tuple[object, ...], code: str, notice: Callable[[], Notice]
                 ) -> tuple[str, str, int, int]:
        """The texts, both segment counts; `key` holds every fact of the notice but the code."""
        code = display_code(code)
        group = self._groups.get(key, _UNSEEN)
        if group is not None and group is not _UNSEEN and group.swap:
            return (group.accented.replace(group.shown, code),
                    group.plain.replace(group.shown, code), group.segments, group.segments_plain)
        made = notice_texts(notice())
        found = (made.accented, made.unaccented, made.accented_segments,
                 made.unaccented_segments)
        if group is _UNSEEN:
            once = made.accented.count(code) == 1 and made.unaccented.count(code) == 1
            self._groups[key] = _Group(code, *found) if once else None
        elif group is not None:
            swapped = (group.accented.replace(group.shown, code),
                       group.plain.replace(group.shown, code), group.segments,
                       group.segments_plain)
            group.swap = swapped == found
            if not group.swap:
                self._groups[key] = None
        return found


_UNSEEN = _Group("", "", "", 0, 0)


def _not_notifiable(a: _Open) -> str | None:
    if a.pickup_code is None or normalise_code(a.pickup_code) != a.pickup_code:
        return NO_CODE
    if a.window_day is None or a.window_start is None or a.window_end is None:
        return NO_WINDOW
    return None


def _commune_name(names: dict[str, str], code: str) -> str:
    """The commune's name; all-digit codes match without their leading zeros."""
    name = names.get(code) or (names.get(code.lstrip("0")) if code.isdigit() else None)
    if not name and code.isdigit():
        name = next((n for c, n in names.items() if c.isdigit() and int(c) == int(code)), "")
    return (name or code).strip() or code


# --- reading the outbox -----------------------------------------------------------------


def status_counts(session: Session, round_id: int) -> dict[str, StatusCount]:
    """Messages and segments (both forms) by status; every status present, zeros included."""
    found = {status: StatusCount(int(n), int(plain or 0), int(accented or 0))
             for status, n, plain, accented in session.execute(
                 select(OutboxMessage.status, func.count(),
                        func.sum(OutboxMessage.segments_plain), func.sum(OutboxMessage.segments))
                 .where(OutboxMessage.round_id == round_id).group_by(OutboxMessage.status))}
    return {s.value: found.get(s.value, StatusCount(0, 0, 0)) for s in MessageStatus}


def still_waiting() -> ColumnElement[bool]:
    """A message whose household has not yet collected, nor refused, its phone: only
    those are exported or sent (a household that came needs no reminder)."""
    return exists().where(AllocationRow.round_id == OutboxMessage.round_id,
                          AllocationRow.household_id == OutboxMessage.household_id,
                          AllocationRow.handed_over_at.is_(None),
                          AllocationRow.released_at.is_(None))


def exportable(session: Session, round_id: int, form: Form,
               statuses: Iterable[MessageStatus] = EXPORTABLE) -> pd.DataFrame:
    """The layout SMS brandname portals import: phone, message; one row per message."""
    text = OutboxMessage.text_plain if form == Form.PLAIN else OutboxMessage.text
    rows = session.execute(select(OutboxMessage.phone, text).where(
        OutboxMessage.round_id == round_id, still_waiting(),
        OutboxMessage.status.in_([s.value for s in statuses])).order_by(OutboxMessage.id)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["phone", "message"], dtype=object)


def export_notices(session: Session, round_id: int, actor: str, *, form: Form = DEFAULT_FORM,
                   file_format: str = "csv",
                   statuses: Iterable[MessageStatus] = EXPORTABLE) -> tuple[bytes, int]:
    """The portal's file (CSV: UTF-8 with a BOM; XLSX: text cells) and its number of rows.

    Failed messages in the file are pending again: they are handed to the portal
    anew, and their outcome is unknown until it reports (their last error is
    kept). The export is audited as a read of personal data, with the last
    message it holds, so that `mark_exported` later knows which messages the
    portal was given.
    """
    fill_outbox(session, round_id, actor)
    chosen = sorted({MessageStatus(s) for s in statuses} - {MessageStatus.SENT})
    last = session.scalar(select(func.max(OutboxMessage.id)).where(
        OutboxMessage.round_id == round_id, still_waiting(),
        OutboxMessage.status.in_([s.value for s in chosen])))
    table = exportable(session, round_id, form, chosen)
    data = (frame_xlsx(table, "Tin nhắn", (14, 120)) if file_format == "xlsx"
            else frame_csv(table))
    session.commit()  # end the reads: the writes below must not wait on them
    requeued = 0
    if MessageStatus.FAILED in chosen and last is not None:
        requeued = session.execute(update(OutboxMessage).where(
            OutboxMessage.round_id == round_id, OutboxMessage.id <= last,
            OutboxMessage.status == MessageStatus.FAILED.value)
            .values(status=MessageStatus.PENDING.value)).rowcount  # type: ignore[attr-defined]
    record(session, actor, EXPORT_ACTION, f"round {round_id}",
           {"form": form.value, "format": file_format, "rows": len(table),
            "statuses": [s.value for s in chosen], "last_id": last, "requeued": requeued})
    session.commit()
    return data, len(table)


def visits_frame(visits: list[Visit]) -> pd.DataFrame:
    """The needs-a-visit list as people read it (Vietnamese headers)."""
    table = pd.DataFrame([v.__dict__ for v in visits], columns=list(VISIT_COLUMNS), dtype=object)
    return table.rename(columns=VISIT_COLUMNS)


def visits_csv(visits: list[Visit]) -> bytes:
    return frame_csv(visits_frame(visits))


def visits_xlsx(visits: list[Visit]) -> bytes:
    return frame_xlsx(visits_frame(visits), "Cần đến tận nhà", VISIT_WIDTHS)
