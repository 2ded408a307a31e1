"""A round's lifecycle: its statuses, the one table of moves between them, and their errors.

Every change of a round's status goes through `transition` (or `step`), which is one
conditional UPDATE (`... WHERE id = ? AND status IN (...)`) checked by its row
count. Two requests racing for the same move cannot both win, on SQLite or on
PostgreSQL, and a move from the wrong state is a typed error that the command
line, the API and the pages only translate (exit code, HTTP status, page).

A solve's own moves (finish, fail, retry) are guarded by the round's solve
attempt as well: only the solve the round is waiting for may write its results,
so a late or stalled solve can never overwrite a newer one or an approved round.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from allocator.report.labels import LABELS  # the pages' one wording of statuses
from allocator.store.audit import record
from allocator.store.models import Round


class RoundStatus(StrEnum):
    DRAFT = "draft"
    SOLVING = "solving"
    SOLVED = "solved"
    APPROVED = "approved"
    PICKUP_OVER = "pickup_over"  # approved, and its pickup deadline has passed
    CLOSED = "closed"  # what was not handed over was released back to stock
    SUPERSEDED = "superseded"  # a re-plan or variant of it was approved; kept for the record
    FAILED = "failed"


class Move(StrEnum):
    SOLVE = "solve"  # a solve is accepted and queued
    RETRY = "retry"  # a solve whose worker stopped is queued again (new attempt)
    FINISH = "finish"  # the solve wrote its results
    FAIL = "fail"  # the solve ended with an error, or ran out of retries
    APPROVE = "approve"  # a round becomes the decision: its allocations are reserved
    APPROVE_VERSION = "approve_version"  # a re-plan or variant becomes the decision ...
    SUPERSEDE = "supersede"  # ... in place of the round it re-plans or varies (same transaction)
    SET_DEADLINE = "set_deadline"  # the planner moves the pickup deadline
    EXPIRE = "expire"  # the pickup deadline passed
    CLOSE = "close"  # close with release: what was not handed over goes back to stock
    REPLAN = "replan"  # a new version of an approved round is drafted (status unchanged)


S = RoundStatus
PICKING_UP = frozenset({S.APPROVED, S.PICKUP_OVER})  # the round's phones are reserved
# move -> (the statuses it may start from, the status it ends in)
TRANSITIONS: dict[Move, tuple[frozenset[RoundStatus], RoundStatus]] = {
    Move.SOLVE: (frozenset({S.DRAFT, S.SOLVED, S.FAILED}), S.SOLVING),
    Move.RETRY: (frozenset({S.SOLVING}), S.SOLVING),
    Move.FINISH: (frozenset({S.SOLVING}), S.SOLVED),
    Move.FAIL: (frozenset({S.SOLVING}), S.FAILED),
    Move.APPROVE: (frozenset({S.SOLVED}), S.APPROVED),
    Move.APPROVE_VERSION: (frozenset({S.SOLVED}), S.APPROVED),
    # A solved round too: approving a variant of it is choosing the variant instead.
    Move.SUPERSEDE: (PICKING_UP | {S.SOLVED}, S.SUPERSEDED),
    Move.SET_DEADLINE: (PICKING_UP, S.APPROVED),
    Move.EXPIRE: (frozenset({S.APPROVED}), S.PICKUP_OVER),
    Move.CLOSE: (PICKING_UP, S.CLOSED),
    Move.REPLAN: (PICKING_UP, S.APPROVED),
}
# Moves made by a solve itself: they also need the round's current solve attempt.
ATTEMPT_MOVES = frozenset({Move.RETRY, Move.FINISH, Move.FAIL})
# Moves that keep the round's status (REPLAN: an approved round stays as it is while
# its new version is drafted; PICKUP_OVER stays PICKUP_OVER).
KEEPS_STATUS = frozenset({Move.REPLAN})

# rounds whose results are current (a superseded round keeps its own, for the record)
WITH_RESULTS = frozenset({S.SOLVED, S.APPROVED, S.PICKUP_OVER, S.CLOSED, S.SUPERSEDED})
VISIBLE_TO_SPONSORS = frozenset({S.APPROVED, S.PICKUP_OVER, S.CLOSED})

AUDIT_ACTION = {Move.SOLVE: "solve round", Move.RETRY: "retry solve",
                Move.FINISH: "solve succeeded", Move.FAIL: "solve failed",
                Move.APPROVE: "approve round", Move.APPROVE_VERSION: "approve new version",
                Move.SUPERSEDE: "supersede round", Move.SET_DEADLINE: "set pickup deadline",
                Move.EXPIRE: "pickup deadline passed", Move.CLOSE: "close round",
                Move.REPLAN: "replan round"}


class RoundError(Exception):
    """Something asked of a round that cannot be done; `str()` is a sentence for people.

    Errors a page shows carry the sentence in both languages: `.en` (as `str()`) and
    `.vi`; the API answers `detail` in English and `detail_vi` in Vietnamese.
    """


class RoundNotFound(RoundError, KeyError):
    def __init__(self, round_id: int) -> None:
        super().__init__(round_id)
        self.round_id = round_id
        self.en, self.vi = f"no round {round_id}", f"Không có đợt {round_id}."

    def __str__(self) -> str:
        return f"no round {self.round_id}"


def number_vi(n: int) -> str:
    """1.234 as a Vietnamese sentence writes a count."""
    return f"{n:,}".replace(",", ".")


def status_vi(status: str) -> str:
    """A round status as the pages name it in Vietnamese."""
    return LABELS[status][0] if status in LABELS else status


# What a refused move or read would have done, in Vietnamese ("chỉ có thể <what> đợt ...").
WHAT_VI = {"solved": "tính phân bổ", "retried": "tính lại", "given results": "ghi kết quả",
           "failed": "ghi lỗi tính toán", "approved": "phê duyệt",
           "superseded": "thay bằng phương án khác",
           "given a new pickup deadline": "đổi hạn nhận máy",
           "past its pickup deadline": "chuyển sang hết hạn nhận máy", "closed": "đóng",
           "re-planned": "điều chỉnh phương án",
           "compared with the round it replaces": "so sánh với đợt được thay",
           "given handovers": "ghi nhận trao máy",
           "given a handover list": "lập danh sách bàn giao",
           "given pickup slips": "in phiếu hẹn",
           "given SMS notices": "gửi tin nhắn báo hộ",
           "given SMS results": "ghi kết quả gửi tin nhắn",
           "given a follow-up": "chọn hộ để hỏi thăm sau khi nhận máy"}


class WrongState(RoundError):
    """The round's status does not allow this (e.g. solving an approved round)."""

    def __init__(self, round_id: int, status: str, what: str, allowed: frozenset[str]) -> None:
        super().__init__(round_id, status, what)
        self.round_id, self.status, self.what = round_id, status, what
        self.allowed = sorted(allowed)
        self.en = (f"round {round_id} is {status}; it can be {what} only when "
                   f"{' or '.join(self.allowed)}")
        states = " hoặc ".join(f"“{status_vi(s)}”" for s in self.allowed)
        self.vi = (f"Đợt {round_id} đang ở trạng thái “{status_vi(status)}”; chỉ có thể "
                   f"{WHAT_VI.get(what, 'làm việc này với')} đợt ở trạng thái {states}.")

    def __str__(self) -> str:
        return self.en


class BadValue(RoundError):
    """A value asked for is not acceptable (a pickup deadline already past, a negative budget).

    `vi`, where given, says it in Vietnamese."""

    def __init__(self, english: str, vi: str | None = None) -> None:
        super().__init__(english)
        if vi is not None:
            self.en, self.vi = english, vi


class Conflict(RoundError):
    """Another request or solve got there first (e.g. the solve attempt is no longer current).

    `vi`, where given, says it in Vietnamese."""

    def __init__(self, english: str, vi: str | None = None) -> None:
        super().__init__(english)
        if vi is not None:
            self.en, self.vi = english, vi


PAST = {Move.SOLVE: "solved", Move.RETRY: "retried", Move.FINISH: "given results",
        Move.FAIL: "failed", Move.APPROVE: "approved", Move.APPROVE_VERSION: "approved",
        Move.SUPERSEDE: "superseded", Move.SET_DEADLINE: "given a new pickup deadline",
        Move.EXPIRE: "past its pickup deadline", Move.CLOSE: "closed",
        Move.REPLAN: "re-planned"}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def transition(session: Session, round_id: int, move: Move, actor: str, *,
               attempt: str | None = None, values: dict[str, Any] | None = None,
               detail: dict[str, Any] | None = None,
               also: Callable[[Session], None] | None = None) -> Round:
    """Make one move of a round, with its audit entry, in one transaction; or raise.

    `values` are further columns set by the same UPDATE; `also` runs in the same
    transaction after the move has won (e.g. writing a solve's results), so
    either all of it is committed or none.
    """
    try:
        step(session, round_id, move, actor, attempt=attempt, values=values, detail=detail)
        if also is not None:
            also(session)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return fresh(session, round_id)


def step(session: Session, round_id: int, move: Move, actor: str, *,
         attempt: str | None = None, values: dict[str, Any] | None = None,
         detail: dict[str, Any] | None = None) -> None:
    """One move and its audit entry inside the caller's transaction, which commits.

    For moves that must happen together, such as approving a re-plan and
    superseding the round it replaces. If the move is refused, the transaction
    is rolled back and the error raised.
    """
    sources, target = TRANSITIONS[move]
    if move in ATTEMPT_MOVES and attempt is None:
        raise ValueError(f"the move {move} needs the solve attempt")
    guard = update(Round).where(Round.id == round_id, Round.status.in_(list(sources)))
    if attempt is not None:
        guard = guard.where(Round.solve_attempt == attempt)
    status = Round.status if move in KEEPS_STATUS else target.value
    result = session.execute(guard.values(status=status, **(values or {}))
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise _why_not(session, round_id, move, sources, attempt)
    record(session, actor, AUDIT_ACTION[move], f"round {round_id}", detail)


def _why_not(session: Session, round_id: int, move: Move, sources: frozenset[RoundStatus],
             attempt: str | None) -> RoundError:
    row = session.get(Round, round_id, populate_existing=True)
    if row is None:
        return RoundNotFound(round_id)
    if attempt is not None and row.status in sources:
        return Conflict(f"round {round_id} is waiting for another solve; this one's results "
                        "were not written",
                        f"Đợt {round_id} đang chờ một lần tính khác; kết quả của lần tính này "
                        "không được ghi.")
    return WrongState(round_id, row.status, PAST[move], frozenset(s.value for s in sources))


def fresh(session: Session, round_id: int) -> Round:
    """The round as the database has it now."""
    row = session.get(Round, round_id, populate_existing=True)
    if row is None:
        raise RoundNotFound(round_id)
    return row


def require(session: Session, round_id: int, allowed: frozenset[RoundStatus],
            what: str) -> Round:
    """The round, if its status allows `what` (a read such as a handover list); or raise."""
    row = fresh(session, round_id)
    if row.status not in allowed:
        raise WrongState(round_id, row.status, what, frozenset(s.value for s in allowed))
    return row
