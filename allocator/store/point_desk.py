"""The desk at the distribution point: find a household, check identity, record what
happened to its phone, and undo a mistake the same day.

A point officer sees the allocations of approved rounds (approved or past their
pickup deadline) at their own points only; a planner sees every point. Of
personal data the desk shows only what a handover needs: the head's name, the
last 4 digits of the ID number (CCCD) and the phone, read from the round's
frozen inputs so that the desk agrees with the printed handover list.

A record (`Handover`) is one attempt, never edited but to undo it:

- handed: the phone works and is 4G, checked on the spot; the allocation is
  marked handed over. Needs the IMEI (unique among live records in the campaign).
- faulty: the device goes to its lot's faulty count; the household keeps its
  reservation and may come back for another device of the lot.
- refused: the household does not want the phone. Its reservation is released
  at once (as a no-show would be when the round closes), so the phone goes back
  to stock for the next round; undoing the refusal takes the reservation back
  if the phone has not been promised to someone else since.

Every record, refusal of identity, undo and search is audited under the
officer's account. Each recording move takes the ledger's lock first, so two
officers (or one form sent twice) never race, and checks the ledger before it
commits. The same idempotency key sent again returns the first record.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from allocator.device_ids import check_iccid, check_imei
from allocator.phones import normalise_phone
from allocator.pickup_codes import display_code, normalise_code
from allocator.store import audit, ledger
from allocator.store.campaign import VIETNAM
from allocator.store.jobs import stamp
from allocator.store.lifecycle import PICKING_UP
from allocator.store.models import AllocationRow, AuditEntry, Handover, Lot, Round, User
from allocator.store.rounds import unpack_inputs
from allocator.store.users import officer_points
from allocator.validate import read_scenario

OUTCOMES = ("handed", "faulty", "refused")
VIAS = ("point", "paper")
MAX_FOUND = 50  # a search is for one household: more rows than this means "type more"
MIN_NAME = 2  # characters of a name search (after folding)
MAX_QUERY = 200
MAX_NOTE = 1000
MIN_AUTHORISED_WORDS = 3  # "giấy ủy quyền của con gái" — a note, not a tick
MIN_REASON = 3
IDENTITY_TRIES = 5  # refused identity checks per officer, household and day
KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")  # a UUID, or any client's random key
ACTIVE = [s.value for s in PICKING_UP]
REFUSE_IDENTITY = "refuse identity"


class DeskError(ValueError):
    """A submission the desk cannot take: `field` names the form field (or None),
    `message` says why in Vietnamese, `english` in English. Nothing was recorded."""

    def __init__(self, field: str | None, message: str, english: str) -> None:
        super().__init__(english)
        self.field, self.message, self.english = field, message, english


class DeskConflict(DeskError):
    """A submission right in itself that the records refuse (HTTP 409): the household was
    already handed its phone, the IMEI is recorded for another, the ID number's digits
    do not match the file, the day of the record is over."""


class NotYours(DeskError):
    """Not a desk for this user, or a record only its author may change (HTTP 403)."""


class NotFound(DeskError):
    """No such household in an approved round, or no such record (HTTP 404)."""


class NotHere(NotFound):
    """Another point's household or record. To an officer it is exactly as if it did not
    exist (404, the same words): trying ids must not tell who was served elsewhere."""


@dataclass(frozen=True)
class DeskRow:
    """One allocation as the desk shows it: what a handover needs, nothing more."""

    round_id: int
    household_id: str
    point_id: str
    point_name: str
    head_name: str
    id_last4: str  # "" when the ID number on file has 4 digits or fewer
    phone: str
    code: str  # display form "ABCD-EFGH", "" before codes were given
    window_day: dt.date | None
    window_start: dt.time | None
    window_end: dt.time | None
    model: str
    lot_id: str
    handover_id: int | None  # the live record (a handed one first), if any
    outcome: str | None
    recorded_at: dt.datetime | None
    recorded_by: str | None


# --- who sees what -----------------------------------------------------------------------


def desk_points(session: Session, user: User) -> list[str] | None:
    """The points the user works at; None for a planner (every point)."""
    if user.role == "planner":
        return None
    if user.role == "point":
        return officer_points(session, user)
    raise NotYours(None, "Chỉ cán bộ điểm nhận và người lập kế hoạch được dùng bàn giao.",
                   "Only point officers and planners use the handover desk.")


def _check_point(points: list[str] | None, point_id: str, missing: NotFound) -> None:
    """NotHere, in the words of `missing`, unless the point is one of the user's."""
    if points is not None and point_id not in points:
        raise NotHere(missing.field, missing.message, missing.english)


# --- the round's frozen contacts ---------------------------------------------------------


@dataclass(frozen=True)
class _Frozen:
    people: dict[str, tuple[str, str, str]]  # household -> (head name, phone, ID number)
    models: dict[str, str]  # lot -> model
    point_names: dict[str, str]
    folded: dict[str, str]  # household -> head name as a search compares it
    phones: dict[str, str]  # household -> mobile number, normalised (valid ones only)


_CACHE: OrderedDict[tuple[int, str], _Frozen] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 4  # rounds picking up at once: the current one and perhaps its re-plan


def _frozen(session: Session, round_id: int) -> _Frozen:
    """A round's contacts, models and point names; inputs are frozen, so the parse of a
    round (seconds for a city) is kept by its inputs' hash."""
    digest = session.scalar(select(Round.inputs_hash).where(Round.id == round_id)) or ""
    key = (round_id, digest)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    row = session.get(Round, round_id)
    assert row is not None
    with tempfile.TemporaryDirectory() as tmp:
        scenario = read_scenario(unpack_inputs(row, Path(tmp)))
    homes = scenario.households
    people = {str(h): (str(n), str(p), str(i)) for h, n, p, i in zip(
        homes["household_id"], homes["head_name"], homes["phone"], homes["national_id"],
        strict=True)}
    lots = scenario.lots
    points = scenario.points
    phones = {h: normalise_phone(p)[0] for h, (_, p, _) in people.items()}
    found = _Frozen(people, dict(zip(lots["lot_id"].astype(str), lots["model"].astype(str),
                                     strict=True)),
                    dict(zip(points["point_id"].astype(str), points["name"].astype(str),
                             strict=True)),
                    {h: fold(n) for h, (n, _, _) in people.items()},
                    {h: p for h, p in phones.items() if p})
    with _CACHE_LOCK:
        _CACHE[key] = found
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return found


def id_digits(national_id: str) -> str:
    return "".join(c for c in national_id if c.isascii() and c.isdigit())


def last4(national_id: str) -> str:
    """The last 4 digits of an ID number; "" if it has 4 or fewer (that would be all of it)."""
    digits = id_digits(national_id)
    return digits[-4:] if len(digits) > 4 else ""


def _shown_phone(phone: str) -> str:
    return normalise_phone(phone)[0] or phone.strip()


def fold(text: str) -> str:
    """A name as a search compares it: NFC-blind, without accents or case (đ is d)."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text)
                   if not unicodedata.combining(c))
    return " ".join(bare.replace("đ", "d").replace("Đ", "D").casefold().split())


# --- reading -----------------------------------------------------------------------------


PLANNER_LIST = "(danh sách của người lập kế hoạch)"  # who "recorded" a list's handover


def _live(session: Session, round_id: int, household_id: str) -> Handover | None:
    """The record that stands for an allocation: a live handed one, else the latest live."""
    rows = session.scalars(select(Handover).where(
        Handover.round_id == round_id, Handover.household_id == household_id,
        Handover.undone_at.is_(None)).order_by(Handover.id.desc())).all()
    return next((h for h in rows if h.outcome == "handed"), rows[0] if rows else None)


def _row(session: Session, allocation: AllocationRow, frozen: _Frozen) -> DeskRow:
    name, phone, national_id = frozen.people.get(allocation.household_id, ("", "", ""))
    live = _live(session, allocation.round_id, allocation.household_id)
    if allocation.handed_over_at is not None and (live is None or live.outcome != "handed"):
        # Marked handed over by a planner's list, not at the desk: shown as handed, with
        # no record of the desk to undo.
        live = Handover(id=None, outcome="handed", at=allocation.handed_over_at,
                        officer=PLANNER_LIST)
    return DeskRow(
        round_id=allocation.round_id, household_id=allocation.household_id,
        point_id=allocation.point_id,
        point_name=frozen.point_names.get(allocation.point_id, ""), head_name=name,
        id_last4=last4(national_id), phone=_shown_phone(phone),
        code=display_code(allocation.pickup_code) if allocation.pickup_code else "",
        window_day=allocation.window_day, window_start=allocation.window_start,
        window_end=allocation.window_end, model=frozen.models.get(allocation.lot_id, ""),
        lot_id=allocation.lot_id, handover_id=live.id if live else None,
        outcome=live.outcome if live else None, recorded_at=live.at if live else None,
        recorded_by=live.officer if live else None)


def _matching(session: Session, points: list[str] | None,
              keep: Callable[[_Frozen], Iterable[str]]) -> list[AllocationRow]:
    """Allocations of open rounds (at `points`) whose household `keep` picks from the
    round's frozen contacts; at most MAX_FOUND + 1 (one more says "type more")."""
    found: list[AllocationRow] = []
    for round_id in session.scalars(select(Round.id).where(Round.status.in_(ACTIVE))
                                    .order_by(Round.id)).all():
        ids = list(keep(_frozen(session, round_id)))
        if points is not None and ids:  # an officer's points hold few: filter here first
            here = set(session.scalars(select(AllocationRow.household_id).where(
                AllocationRow.round_id == round_id, AllocationRow.point_id.in_(points))))
            ids = [h for h in ids if h in here]
        for start in range(0, len(ids), 5000):  # PostgreSQL takes 65,535 parameters at most
            query = select(AllocationRow).where(
                AllocationRow.round_id == round_id,
                AllocationRow.household_id.in_(ids[start:start + 5000]))
            found += session.scalars(query.order_by(AllocationRow.point_id,
                                                    AllocationRow.household_id))
            if len(found) > MAX_FOUND:
                return found[:MAX_FOUND + 1]
    return found


def _clean_query(query: str) -> str:
    text = unicodedata.normalize("NFC", query if isinstance(query, str) else "").strip()
    if not text or len(text) > MAX_QUERY or any(unicodedata.category(c) == "Cc" for c in text):
        raise DeskError("q", f"Nhập mã nhận máy, số điện thoại hoặc tên (tối đa {MAX_QUERY} ký "
                        "tự).", f"Type a pickup code, a phone number or a name (at most "
                        f"{MAX_QUERY} characters).")
    return text


def find(session: Session, user: User, query: str) -> list[DeskRow]:
    """Households of the user's points in approved rounds, by pickup code (as typed or
    scanned), by phone number, or by part of the head's name (accents and case ignored).

    One audit entry per search, naming how it searched and the households shown.
    """
    text = _clean_query(query)
    # Counted as typed, spaces aside: what the API's pattern for a search says.
    if len("".join(query.split())) < MIN_NAME:
        raise DeskError("q", f"Nhập ít nhất {MIN_NAME} chữ của tên.",
                        f"Type at least {MIN_NAME} letters of the name.")
    points = desk_points(session, user)
    code = normalise_code(text)
    phone, _ = normalise_phone(text)
    by, found = "name", []
    if code is not None:
        by = "code"
        query_rows = (select(AllocationRow).join(Round, Round.id == AllocationRow.round_id)
                      .where(Round.status.in_(ACTIVE), AllocationRow.pickup_code == code))
        if points is not None:
            query_rows = query_rows.where(AllocationRow.point_id.in_(points))
        found = list(session.scalars(query_rows))
    if not found and phone is not None:
        by = "phone"
        found = _matching(session, points,
                          lambda frozen: (h for h, p in frozen.phones.items() if p == phone))
    elif not found:
        wanted = fold(text)
        by = "name" if code is None else "code or name"
        if wanted:
            found = _matching(session, points, lambda frozen: (
                h for h, n in frozen.folded.items() if wanted in n))
    rows = [_row(session, a, _frozen(session, a.round_id)) for a in found[:MAX_FOUND]]
    audit.record_read(session, user.name, "find households at the point", "point desk",
                      {"by": by, "found": len(rows), "more": len(found) > MAX_FOUND,
                       "households": [f"{r.round_id}/{r.household_id}" for r in rows]})
    return rows


def open_round(session: Session, round_id: int) -> None:
    """NotFound unless the round is approved (or past its pickup deadline, not closed)."""
    status = session.scalar(select(Round.status).where(Round.id == round_id))
    if status not in ACTIVE:
        raise NotFound(None, f"Đợt {round_id} không đang phát máy.",
                       f"Round {round_id} is not open for pickup.")


def _allocation(session: Session, user: User, round_id: int, household_id: str,
                points: list[str] | None) -> AllocationRow:
    found = session.execute(
        select(AllocationRow, Round.status).join(Round, Round.id == AllocationRow.round_id)
        .where(AllocationRow.round_id == round_id,
               AllocationRow.household_id == household_id)
        .execution_options(populate_existing=True)).first()
    missing = NotFound(None, f"Không có hộ {household_id} trong đợt {round_id} đang phát máy.",
                       f"No household {household_id} in round {round_id} open for pickup.")
    if found is None or found[1] not in ACTIVE:
        raise missing
    _check_point(points, found[0].point_id, missing)
    return found[0]


def get(session: Session, user: User, round_id: int, household_id: str) -> DeskRow:
    """One household of an approved round, if it collects at one of the user's points."""
    points = desk_points(session, user)
    target = f"round {round_id} household {household_id}"[:200]
    try:
        allocation = _allocation(session, user, round_id, household_id, points)
    except NotHere:
        audit.record_read(session, user.name, "refuse another point's household", target)
        raise
    row = _row(session, allocation, _frozen(session, round_id))
    audit.record_read(session, user.name, "read household at the point", target)
    return row


# --- recording ---------------------------------------------------------------------------


def _text(value: str, field: str, longest: int = MAX_NOTE) -> str:
    text = unicodedata.normalize("NFC", value if isinstance(value, str) else "").strip()
    if len(text) > longest:
        raise DeskError(field, f"Tối đa {longest} ký tự.", f"At most {longest} characters.")
    if "\x00" in text:  # which PostgreSQL cannot keep; said as it is, not as a length
        raise DeskError(field, "Có ký tự không hợp lệ; gõ lại.",
                        "Holds a character that cannot be kept (NUL); type it again.")
    return text


def _key(value: str) -> str | None:
    key = (value or "").strip() if isinstance(value, str) else ""
    if not key:
        return None
    if not KEY.match(key):
        raise DeskError("idempotency_key", "Mã gửi biểu mẫu không hợp lệ; tải lại trang.",
                        "The form's key must be 8 to 64 letters, digits or '_.:-'; reload "
                        "the page.")
    return key


def _same(found: Handover, user: User, round_id: int, household_id: str) -> Handover:
    """The first record of a key sent again by the officer who sent it first; a key reused
    for another household, or by anyone else (who might work at another point), is refused
    before anything of its record is shown."""
    if (found.round_id, found.household_id, found.officer) != (round_id, household_id,
                                                               user.name[:100]):
        raise DeskConflict("idempotency_key", "Mã gửi biểu mẫu đã được dùng cho hộ khác "
                           "hoặc người khác; tải lại trang.", "This form key was already "
                           "used for another household or by another person; reload the page.")
    return found


def _by_key(session: Session, key: str | None) -> Handover | None:
    if key is None:
        return None
    return session.scalar(select(Handover).where(Handover.idempotency_key == key)
                          .execution_options(populate_existing=True))


def imei_taken() -> DeskError:
    return DeskConflict("imei", "IMEI này đã được ghi cho một lần bàn giao khác. Kiểm tra lại "
                        "máy.", "This IMEI is already recorded for another handover. Check "
                        "the device.")


def already_handed() -> DeskError:
    return DeskConflict(None, "Hộ này đã nhận máy; không ghi lần thứ hai.",
                        "This household has already been handed its phone; it is not "
                        "recorded twice.")


def _refuse_identity(session: Session, user: User, target: str, detail: dict[str, object],
                     error: DeskError) -> DeskError:
    """Audit a refused identity check on its own (the submission itself is not kept)."""
    session.rollback()
    audit.record(session, user.name, REFUSE_IDENTITY, target, detail)
    session.commit()
    return error


def _identity(session: Session, user: User, allocation: AllocationRow, id_last4: str,
              authorised_note: str, frozen: _Frozen) -> tuple[str, str]:
    """('cccd', '') when the last 4 digits match, ('authorised', note) for a relative
    with a letter; else a DeskError (a mismatch is audited)."""
    note = _text(authorised_note, "authorised_note")
    if note:
        if len(note.split()) < MIN_AUTHORISED_WORDS:
            raise DeskError("authorised_note", "Ghi rõ người nhận thay và giấy ủy quyền (ít nhất "
                            f"{MIN_AUTHORISED_WORDS} từ).", "Write who collects and what "
                            f"authorisation they show (at least {MIN_AUTHORISED_WORDS} words).")
        return "authorised", note
    typed = "".join((id_last4 or "").split()) if isinstance(id_last4, str) else ""
    if not re.fullmatch(r"[0-9]{4}", typed):
        raise DeskError("id_last4", "Nhập đúng 4 chữ số cuối của CCCD.",
                        "Type the last 4 digits of the CCCD (4 digits).")
    target = f"round {allocation.round_id} household {allocation.household_id}"
    since = dt.datetime.combine(dt.datetime.now(VIETNAM).date(), dt.time(0), VIETNAM) \
        .astimezone(dt.UTC).replace(tzinfo=None)
    tries = session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.actor == user.name[:100], AuditEntry.action == REFUSE_IDENTITY,
        AuditEntry.target == target, AuditEntry.at >= since)) or 0
    if tries >= IDENTITY_TRIES:
        raise DeskConflict("id_last4", f"Đã sai {tries} lần hôm nay; báo người lập kế "
                           "hoạch.", f"{tries} failed checks today for this household; ask a "
                           "planner.")
    expected = last4(frozen.people.get(allocation.household_id, ("", "", ""))[2])
    if not expected:
        raise _refuse_identity(session, user, target, {"why": "no ID number on file"},
                               DeskConflict("id_last4", "Hồ sơ không có số CCCD để đối "
                                            "chiếu; chỉ nhận thay khi có giấy ủy quyền (ghi "
                                            "chú).", "The file holds no ID number to check "
                                            "against; only an authorised relative (with a "
                                            "note) can collect."))
    if typed != expected:
        raise _refuse_identity(session, user, target, {"why": "last 4 digits do not match"},
                               DeskConflict("id_last4", "4 số cuối CCCD không khớp. Không "
                                            "giao máy.", "The last 4 digits of the CCCD do "
                                            "not match. Do not hand the phone over."))
    return "cccd", ""


def _device(outcome: str, imei: str, iccid: str) -> tuple[str | None, str | None]:
    given_imei = (imei or "").strip() if isinstance(imei, str) else ""
    given_iccid = (iccid or "").strip() if isinstance(iccid, str) else ""
    if outcome == "refused":
        if given_imei or given_iccid:
            raise DeskError("imei" if given_imei else "iccid",
                            "Hộ từ chối: để trống IMEI và ICCID, máy được trả về kho.",
                            "Refused: leave the IMEI and ICCID empty; the phone goes back to "
                            "stock.")
        return None, None
    device = None
    if given_imei or outcome == "handed":
        device, problem = check_imei(given_imei)
        if problem:
            raise DeskError("imei", "IMEI phải có 15 chữ số và đúng số kiểm tra (Luhn). "
                            "Xem hộp máy hoặc bấm *#06#.", problem)
    sim = None
    if given_iccid:
        sim, problem = check_iccid(given_iccid)
        if problem:
            raise DeskError("iccid", "ICCID phải có 19–20 chữ số, bắt đầu 89 và đúng số kiểm "
                            "tra.", problem)
    return device, sim


def record(session: Session, user: User, *, round_id: int, household_id: str,
           id_last4: str, authorised_note: str, outcome: str, imei: str, iccid: str,
           note: str, idempotency_key: str, via: str = "point") -> Handover:
    """Record what happened when a household came to its point, and commit.

    The same idempotency key sent again returns the first record. Refused with a
    DeskError (nothing written but the audit of a failed identity check), NotYours
    for another point's household, NotFound for one not in an approved round.
    """
    if outcome not in OUTCOMES:
        raise DeskError("outcome", "Chọn kết quả: đã giao, máy lỗi hoặc hộ từ chối.",
                        "Choose the outcome: handed, faulty or refused.")
    if via not in VIAS:
        raise DeskError("via", "Nguồn ghi không hợp lệ.", "via must be point or paper.")
    key = _key(idempotency_key)
    remark = _text(note, "note")
    device, sim = _device(outcome, imei, iccid)
    points = desk_points(session, user)
    session.rollback()  # a fresh transaction, so the lock below sees every commit before it
    try:
        ledger.lock(session)
        first = _by_key(session, key)
        if first is not None:
            session.rollback()
            return _same(first, user, round_id, household_id)
        allocation = _allocation(session, user, round_id, household_id, points)
        if allocation.handed_over_at is not None:
            raise already_handed()
        if allocation.released_at is not None:
            raise DeskConflict(None, "Suất máy của hộ này đã được trả về kho; không ghi "
                               "được.", "This household's reservation was released; nothing "
                               "can be recorded.")
        identity, identity_note = _identity(session, user, allocation, id_last4,
                                            authorised_note, _frozen(session, round_id))
        if device is not None and _imei_taken(session, device):
            raise imei_taken()
        row = _write(session, user, allocation, outcome, identity, identity_note, device, sim,
                     remark, key, via)
        session.commit()
        return row
    except IntegrityError:
        session.rollback()
        winner = _lost_race(session, user, key, round_id, household_id, device)
        if isinstance(winner, Handover):
            return winner
        raise winner from None
    except BaseException:
        session.rollback()
        raise


def _imei_taken(session: Session, device: str) -> bool:
    """Whether a live record holds this IMEI (the unique index guards the race too)."""
    return session.scalar(select(Handover.id).where(
        Handover.imei == device, Handover.undone_at.is_(None)).limit(1)) is not None


def _write(session: Session, user: User, allocation: AllocationRow, outcome: str,
           identity: str, identity_note: str, device: str | None, sim: str | None,
           remark: str, key: str | None, via: str) -> Handover:
    """The record and its effect on the allocation or lot, checked and audited (no commit)."""
    now = stamp()
    if outcome == "handed":
        allocation.handed_over_at = now
    elif outcome == "refused":
        allocation.released_at = now
    else:
        _faulty(session, allocation.lot_id, +1)
    row = Handover(round_id=allocation.round_id, household_id=allocation.household_id,
                   point_id=allocation.point_id, officer=user.name[:100], at=now,
                   outcome=outcome, identity=identity, identity_note=identity_note,
                   imei=device, iccid=sim, note=remark, via=via, idempotency_key=key)
    session.add(row)
    session.flush()
    _check_ledger(session, allocation.round_id)
    audit.record(session, user.name, "record handover",
                 f"round {allocation.round_id} household {allocation.household_id}",
                 {"handover": row.id, "point": allocation.point_id, "outcome": outcome,
                  "identity": identity, "via": via, "imei": device})
    return row


def _faulty(session: Session, lot_id: str, change: int) -> None:
    lot = session.get(Lot, lot_id, populate_existing=True)
    if lot is None:
        raise DeskConflict("outcome", "Lô máy này không có trong danh mục; báo người lập kế "
                           "hoạch.", f"Lot {lot_id} is not in the registry, so its faulty "
                           "count cannot be kept; tell a planner.")
    lot.faulty = max(0, (lot.faulty or 0) + change)
    session.flush()
    if change > 0 and next(f for f in ledger.lot_figures(session)
                           if f["lot_id"] == lot_id)["available"] < 0:
        raise DeskConflict("outcome", "Lô này không còn máy dự phòng để đổi; giữ máy lỗi lại "
                           "và báo người lập kế hoạch.", f"Lot {lot_id} has no spare device to "
                           "replace it; keep the faulty device aside and tell a planner.")


def _check_ledger(session: Session, round_id: int) -> None:
    try:
        ledger.check(session, round_id)
    except ledger.LedgerConflict as error:
        raise DeskConflict(None, "Sổ máy của chiến dịch không cho phép thay đổi này; báo "
                           "người lập kế hoạch.", str(error)) from None


def _lost_race(session: Session, user: User, key: str | None, round_id: int,
               household_id: str, device: str | None) -> Handover | DeskError:
    """What a concurrent submission got first, said as the unraced check would have."""
    first = _by_key(session, key)
    if first is not None:
        try:
            return _same(first, user, round_id, household_id)
        except DeskError as error:
            return error
    if device is not None and _imei_taken(session, device):
        return imei_taken()
    return already_handed()


# --- undo --------------------------------------------------------------------------------


def vietnam_day(at: dt.datetime) -> dt.date:
    """The calendar day in Vietnam of a stored moment (UTC, stored without a zone)."""
    aware = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return aware.astimezone(VIETNAM).date()


def undo(session: Session, user: User, handover_id: int, reason: str) -> Handover:
    """Undo a record on the day it was made, with a reason (audited): the allocation is no
    longer handed over, the lot's faulty count goes back, a refusal's reservation returns.

    Only the officer who recorded it, or a planner. Undoing twice returns the record.
    """
    why = _text(reason, "reason")
    # Counted as typed, spaces at the ends aside: what the API's pattern for a reason says.
    if len(reason.strip() if isinstance(reason, str) else "") < MIN_REASON:
        raise DeskError("reason", "Ghi lý do hủy.", "Give the reason for the undo.")
    points = desk_points(session, user)
    session.rollback()
    try:
        ledger.lock(session)
        row = session.get(Handover, handover_id, populate_existing=True) \
            if 0 < handover_id < 2**31 else None
        missing = NotFound(None, f"Không có lần bàn giao số {handover_id}.",
                           f"No handover record {handover_id}.")
        if row is None:
            raise missing
        _check_point(points, row.point_id, missing)
        if user.role != "planner" and row.officer != user.name:
            raise NotYours(None, "Chỉ cán bộ đã ghi (hoặc người lập kế hoạch) được hủy.",
                           "Only the officer who recorded it, or a planner, can undo it.")
        if row.undone_at is not None:
            session.rollback()
            return row
        if vietnam_day(row.at) != dt.datetime.now(VIETNAM).date():
            raise DeskConflict(None, "Chỉ hủy được trong ngày đã ghi.",
                               "A record can be undone only on the day it was made (Vietnam "
                               "time).")
        allocation = _allocation(session, user, row.round_id, row.household_id, points)
        if row.outcome == "handed":
            allocation.handed_over_at = None
        elif row.outcome == "refused":
            allocation.released_at = None
        else:
            _faulty(session, allocation.lot_id, -1)
        row.undone_at, row.undone_by, row.undo_reason = stamp(), user.name[:100], why
        session.flush()
        _check_ledger(session, row.round_id)
        audit.record(session, user.name, "undo handover",
                     f"round {row.round_id} household {row.household_id}",
                     {"handover": row.id, "outcome": row.outcome, "reason": why})
        session.commit()
        return row
    except BaseException:
        session.rollback()
        raise
