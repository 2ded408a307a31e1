"""What became of a round's SMS notices: results from a portal's file, or a gateway's answers.

Results file (`mark_from_file`): CSV (UTF-8) or XLSX, first sheet, a header row,
then one row per message. Columns, by name, in any order, case ignored:

- `phone` (the number the notice went to, in any form `allocator.phones` reads;
  also headed msisdn, SĐT, số điện thoại) or `id` (the message key a gateway was
  given); one of them is required, and `id` wins on a row that has both;
- `status` (or trạng thái): `sent` or `failed` (also: delivered, success, ok,
  thành công, đã gửi / fail, error, thất bại, lỗi);
- `error` (or lỗi, reason), optional: why it failed.

A phone stands for every message of the round to that number (households can
share one). The file is taken whole or not at all: every problem is located
(file, row, column) and nothing is written until none is left.

Sending (`send_round`): pending and failed messages, one at a time. Each is
claimed (its attempts counted) and committed before it is posted, and its result
committed before the next: a crash mid-run loses at most the result of the one
in flight, which the next run posts again under the same Idempotency-Key.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from allocator.issues import InputIssue, InvalidInput, IssueLog
from allocator.limits import Limits
from allocator.notices import clean
from allocator.phones import normalise_phone
from allocator.reading import RawTable, open_csv
from allocator.sms_sender import Delivery, Outgoing
from allocator.store.audit import record
from allocator.store.jobs import stamp
from allocator.store.lifecycle import PICKING_UP, RoundError, require
from allocator.store.models import AuditEntry, OutboxMessage
from allocator.store.outbox import (
    DEFAULT_FORM,
    EXPORT_ACTION,
    Form,
    MessageStatus,
    fill_outbox,
    message_key,
    still_waiting,
)
from allocator.store.workbooks import open_xlsx

# Header names a results file may use (portals export their own), case and spaces ignored.
HEADERS = {"phone": ("phone", "msisdn", "sđt", "sdt", "số điện thoại", "so dien thoai",
                     "số thuê bao", "so thue bao"),
           "id": ("id", "message id", "message_id"),
           "status": ("status", "trạng thái", "trang thai"),
           "error": ("error", "lỗi", "loi", "reason")}
_HEADER = {alias: name for name, aliases in HEADERS.items() for alias in aliases}
_BATCH = 10_000  # ids per UPDATE: SQLite limits the parameters of one statement
SENT_WORDS = frozenset({"sent", "delivered", "success", "ok", "thành công", "đã gửi"})
FAILED_WORDS = frozenset({"failed", "fail", "error", "thất bại", "lỗi"})
MAX_ERROR = 500  # characters of a failure kept


class NeverExported(RoundError):
    """`mark-sent --all` before any export of the round's notices."""


@dataclass(frozen=True)
class Marked:
    sent: int
    failed: int


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int
    left: int  # pending or failed messages this run did not reach (a limit, or a stop)
    stopped: str = ""  # why the run stopped early, if it did


def mark_from_file(session: Session, round_id: int, path: Path, actor: str,
                   limits: Limits | None = None) -> Marked:
    """Record a results file's statuses; InvalidInput (nothing written) if any row is wrong."""
    require(session, round_id, PICKING_UP, "given SMS results")
    name = path.name
    issues: list[InputIssue] = IssueLog()
    table = (open_xlsx(path, name, issues, limits or Limits())
             if path.suffix.lower() == ".xlsx" else open_csv(path, issues, name=name))
    if table is None:
        raise InvalidInput(issues)
    results = _read_results(session, round_id, table, issues)
    if issues:
        raise InvalidInput(issues)
    now = stamp()
    for (status, error), ids in _grouped(results).items():
        values: dict[str, object] = {"status": status.value}
        values.update({"sent_at": now, "error": ""} if status == MessageStatus.SENT
                      else {"error": error or "The portal reported the message as not sent."})
        for start in range(0, len(ids), _BATCH):
            session.execute(update(OutboxMessage).where(
                OutboxMessage.id.in_(ids[start:start + _BATCH])).values(values))
    marked = Marked(sum(1 for s, _ in results.values() if s == MessageStatus.SENT),
                    sum(1 for s, _ in results.values() if s == MessageStatus.FAILED))
    record(session, actor, "record SMS results", f"round {round_id}",
           {"file": name[:200], "sent": marked.sent, "failed": marked.failed})
    session.commit()
    return marked


def _read_results(session: Session, round_id: int, table: RawTable,
                  issues: list[InputIssue]) -> dict[int, tuple[MessageStatus, str]]:
    """Message id -> (status, error) from the file's rows, problems into `issues`."""
    columns = {_word(c): c for c in table.header if _word(c)}
    for needed, present in (("phone or id", "phone" in columns or "id" in columns),
                            ("status", "status" in columns)):
        if not present:
            issues.append(InputIssue(table.name, 1, "", f"needs a column {needed}"))
    if issues:
        return {}
    by_phone: dict[str, list[int]] = {}
    by_key: dict[str, int] = {}
    for message_id, household, phone in session.execute(
            select(OutboxMessage.id, OutboxMessage.household_id, OutboxMessage.phone)
            .where(OutboxMessage.round_id == round_id)):
        by_phone.setdefault(phone, []).append(message_id)
        by_key[message_key(round_id, household)] = message_id
    found: dict[int, tuple[MessageStatus, str]] = {}
    said_at: dict[int, int] = {}
    for chunk in table.chunks:
        for row, values in zip(map(int, chunk.index), chunk.itertuples(index=False, name=None)):
            cells = {str(c): str(v) for c, v in zip(chunk.columns, values)}
            if not any(str(v).strip() for v in cells.values()):
                continue  # the empty rows Excel leaves under a table
            ids = _which(cells, columns, by_phone, by_key, table.name, row, issues, round_id)
            status = _status(cells.get(columns["status"], ""), table.name, row, columns, issues)
            if ids is None or status is None:
                continue
            error = clean(cells.get(columns.get("error", ""), ""))[:MAX_ERROR]
            for message_id in ids:
                if message_id in found and found[message_id][0] != status:
                    issues.append(InputIssue(
                        table.name, row, columns["status"],
                        f"says {status.value} for a message row {said_at[message_id]} says "
                        f"{found[message_id][0].value}"))
                    break
                found[message_id], said_at[message_id] = (status, error), row
    if table.failed and not issues:
        issues.append(InputIssue(table.name, 0, "", "could not be read to the end"))
    return found


def _which(cells: dict[str, str], columns: dict[str, str], by_phone: dict[str, list[int]],
           by_key: dict[str, int], name: str, row: int, issues: list[InputIssue],
           round_id: int) -> list[int] | None:
    """The messages a row speaks of (by id if given, else by phone), or None with an issue."""
    key = str(cells.get(columns["id"], "")).strip().lower() if "id" in columns else ""
    if key:
        if key not in by_key:
            issues.append(InputIssue(name, row, columns["id"],
                                     f"is not the id of a notice of round {round_id}"))
            return None
        return [by_key[key]]
    raw = str(cells.get(columns["phone"], "")) if "phone" in columns else ""
    if not raw.strip():
        issues.append(InputIssue(name, row, columns.get("phone", columns.get("id", "")),
                                 "is empty: give the phone number (or the message id)"))
        return None
    phone, problem = normalise_phone(raw)
    if phone is None:
        issues.append(InputIssue(name, row, columns["phone"], str(problem)))
        return None
    if phone not in by_phone:
        issues.append(InputIssue(name, row, columns["phone"],
                                 f"no notice of round {round_id} went to this number"))
        return None
    return by_phone[phone]


def _status(value: str, name: str, row: int, columns: dict[str, str],
            issues: list[InputIssue]) -> MessageStatus | None:
    word = " ".join(unicodedata.normalize("NFC", str(value)).split()).casefold()
    if word in SENT_WORDS:
        return MessageStatus.SENT
    if word in FAILED_WORDS:
        return MessageStatus.FAILED
    issues.append(InputIssue(name, row, columns["status"],
                             f"must be sent or failed (got {str(value)[:40]!r})"))
    return None


def _word(header: str) -> str:
    """The column a header names (phone, id, status, error), or ""."""
    return _HEADER.get(" ".join(unicodedata.normalize("NFC", str(header)).split()).casefold(), "")


def _grouped(results: dict[int, tuple[MessageStatus, str]]
             ) -> dict[tuple[MessageStatus, str], list[int]]:
    """Message ids by (status, error), so the update is a few statements, not one per row."""
    groups: dict[tuple[MessageStatus, str], list[int]] = {}
    for message_id, outcome in results.items():
        groups.setdefault(outcome, []).append(message_id)
    return groups


def mark_exported(session: Session, round_id: int, actor: str) -> int:
    """Mark sent every message the round's last export gave the portal that is still pending.

    The export's audit entry names its last message, so messages written after
    it are left alone, as are those marked failed (or sent) since.
    """
    require(session, round_id, PICKING_UP, "given SMS results")
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.action == EXPORT_ACTION, AuditEntry.target == f"round {round_id}")
        .order_by(AuditEntry.id.desc()).limit(1)).first()
    if entry is None:
        raise NeverExported(f"round {round_id}'s notices were never exported; export them "
                            "(allocator notices export) before marking them all sent")
    last = entry.detail.get("last_id")
    if last is None:
        return 0
    done = session.execute(update(OutboxMessage).where(
        OutboxMessage.round_id == round_id, OutboxMessage.id <= int(last),
        OutboxMessage.status == MessageStatus.PENDING.value).values(
        status=MessageStatus.SENT.value, sent_at=stamp(),
        error="")).rowcount  # type: ignore[attr-defined]
    record(session, actor, "record SMS results", f"round {round_id}",
           {"all_exported": True, "export_entry": entry.id, "sent": done})
    session.commit()
    return int(done)


def send_round(session: Session, round_id: int, deliver: Callable[[Outgoing], Delivery],
               actor: str, *, form: Form = DEFAULT_FORM, limit: int | None = None,
               stop_after: int = 5) -> SendReport:
    """Post the round's pending and failed messages through `deliver`, recording each.

    Stops early after `stop_after` messages in a row ran out of tries (the
    gateway is down: the rest stay as they are, for the next run). `deliver` may
    raise (a gateway refusing the sender): the message in flight stays unsent.
    """
    fill_outbox(session, round_id, actor)
    waiting = session.execute(
        select(OutboxMessage.id, OutboxMessage.attempts).where(
            OutboxMessage.round_id == round_id, still_waiting(),
            OutboxMessage.status.in_([MessageStatus.PENDING.value, MessageStatus.FAILED.value]))
        .order_by(OutboxMessage.id)).all()
    session.commit()
    sent = failed = in_a_row = 0
    stopped = ""
    reached = 0
    try:
        for message_id, attempts in waiting:
            if limit is not None and sent + failed >= limit:
                break
            reached += 1
            message = _claim(session, message_id, attempts, form)
            if message is None:
                continue  # another run took it, or it was marked meanwhile
            result = deliver(message)
            values: dict[str, object] = {"attempts": OutboxMessage.attempts + result.tries - 1}
            if result.sent:
                values.update(status=MessageStatus.SENT.value, sent_at=stamp(), error="")
                sent, in_a_row = sent + 1, 0
            else:
                values.update(status=MessageStatus.FAILED.value, error=result.error[:MAX_ERROR])
                failed, in_a_row = failed + 1, in_a_row + 1
            session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                            .values(values))
            session.commit()
            if in_a_row >= stop_after:
                stopped = (f"stopped after {in_a_row} messages in a row could not be sent; "
                           "the gateway seems down")
                break
    finally:
        if sent or failed:
            record(session, actor, "send SMS notices", f"round {round_id}",
                   {"sent": sent, "failed": failed, "stopped": stopped})
            session.commit()
    return SendReport(sent, failed, len(waiting) - reached, stopped)


def _claim(session: Session, message_id: int, attempts: int, form: Form) -> Outgoing | None:
    """Count one attempt and commit it, unless the message changed since it was listed."""
    taken = session.execute(update(OutboxMessage).where(
        OutboxMessage.id == message_id, OutboxMessage.attempts == attempts, still_waiting(),
        OutboxMessage.status.in_([MessageStatus.PENDING.value, MessageStatus.FAILED.value]))
        .values(attempts=attempts + 1)).rowcount  # type: ignore[attr-defined]
    if not taken:
        session.rollback()
        return None
    row = session.execute(select(OutboxMessage.round_id, OutboxMessage.household_id,
                                 OutboxMessage.phone, OutboxMessage.text,
                                 OutboxMessage.text_plain)
                          .where(OutboxMessage.id == message_id)).one()
    session.commit()
    text = row.text_plain if form == Form.PLAIN else row.text
    return Outgoing(message_key(row.round_id, row.household_id), row.phone, text)
