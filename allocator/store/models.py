"""Tables of the store. Personal data sits in its own table, read only where needed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class Commune(Base):
    """A commune-level unit (xã / phường / đặc khu)."""

    __tablename__ = "communes"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)


class Household(Base):
    """A household of the commune survey, without personal data."""

    __tablename__ = "households"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    commune_code: Mapped[str] = mapped_column(ForeignKey("communes.code"), index=True)
    poverty_status: Mapped[str] = mapped_column(String(16))
    members: Mapped[int] = mapped_column(Integer)
    twog_handsets: Mapped[int] = mapped_column(Integer)
    smartphones: Mapped[int] = mapped_column(Integer)
    flags: Mapped[str] = mapped_column(String(200), default="")
    needs: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now, onupdate=_now)


class HouseholdContact(Base):
    """Personal data of a household (never shown to sponsors)."""

    __tablename__ = "household_contacts"
    household_id: Mapped[str] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"),
                                              primary_key=True)
    head_name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    national_id: Mapped[str] = mapped_column(String(40), default="")


class Sponsor(Base):
    __tablename__ = "sponsors"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")


class Lot(Base):
    """A sponsor's offer of identical devices."""

    __tablename__ = "lots"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sponsor_id: Mapped[str] = mapped_column(ForeignKey("sponsors.id"), index=True)
    model: Mapped[str] = mapped_column(String(200))
    network: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_vnd: Mapped[int] = mapped_column(BigInteger)
    sponsor_subsidy_vnd: Mapped[int] = mapped_column(BigInteger)
    features: Mapped[str] = mapped_column(Text, default="")
    allowed_communes: Mapped[str] = mapped_column(Text, default="")
    allowed_statuses: Mapped[str] = mapped_column(String(100), default="")
    # Devices of this lot returned as faulty (never offered again): `allocator campaign faulty`.
    faulty: Mapped[int] = mapped_column(Integer, default=0)


class Point(Base):
    """A distribution point: commune office, post office or operator shop."""

    __tablename__ = "points"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    commune_code: Mapped[str] = mapped_column(ForeignKey("communes.code"), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    capacity: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    """Append-only: who changed or read what, when; written only by `audit.record`.

    The entries form a hash chain: each holds the hash of the one before, so an
    edited, deleted or reordered entry shows (`allocator audit verify`).
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(default=_now)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")


class Round(Base):
    """An allocation round: its frozen inputs, policy, status and results.

    Status: draft -> solving -> solved -> approved -> closed, or failed.
    The inputs are frozen at creation (a zipped contract folder), so later
    registry edits never change a round, and replaying it gives the same rows.
    """

    __tablename__ = "rounds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger, default=0)
    inputs_hash: Mapped[str] = mapped_column(String(64))
    # The two large columns load only when read: listing rounds never pulls them in.
    inputs: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    engine_version: Mapped[str] = mapped_column(String(40), default="")
    solver_version: Mapped[str] = mapped_column(String(100), default="")
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dashboard: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    based_on: Mapped[int | None] = mapped_column(Integer)  # the round this one varies
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    solved_at: Mapped[dt.datetime | None] = mapped_column()
    approved_at: Mapped[dt.datetime | None] = mapped_column()
    # The solve that may write this round's results: a new one is drawn each time a
    # solve is accepted (or retried), so a late or stalled solve can never overwrite.
    solve_attempt: Mapped[str | None] = mapped_column(String(36))
    # Households collect their phones until this moment; set when the round is approved.
    pickup_deadline: Mapped[dt.datetime | None] = mapped_column()
    # A re-plan is a new version of an approved round: `replaces` names that round, and
    # approving the version marks the old one superseded, naming the version here.
    replaces: Mapped[int | None] = mapped_column(Integer, index=True)
    superseded_by: Mapped[int | None] = mapped_column(Integer)
    # From the campaign ledger: what was frozen into this round's folder (counts, budget).
    ledger: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SolveJob(Base):
    """A solve waiting for, or run by, a worker: durable, so no solve is lost or run twice.

    Status: queued -> running -> done | failed; a running job whose worker stops
    beating its heart is queued again (with a new attempt) up to `max_attempts`.
    """

    __tablename__ = "solve_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"),
                                          index=True)
    attempt: Mapped[str] = mapped_column(String(36))  # equals rounds.solve_attempt while live
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker_id: Mapped[str] = mapped_column(String(100), default="")
    progress: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()


# An analysis is live while queued or running: at most one per round and kind.
LIVE_ANALYSIS = "status IN ('queued', 'running')"


class RoundAnalysis(Base):
    """A budget curve or a list of bottlenecks of a round with results, worked out by a
    worker like a solve: durable, run once, taken up again if its worker dies.

    Status: queued -> running -> done | failed; a running one whose worker stops
    beating its heart is queued again up to `max_attempts`. `attempt` names the
    current claim, so a worker thought dead can no longer write.
    """

    __tablename__ = "round_analyses"
    __table_args__ = (
        # Simultaneous requests for the same analysis make one record, not two computations.
        Index("ux_round_analyses_live", "round_id", "kind", unique=True,
              sqlite_where=text(LIVE_ANALYSIS), postgresql_where=text(LIVE_ANALYSIS)),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"),
                                          index=True)
    kind: Mapped[str] = mapped_column(String(16))  # curve | bottlenecks
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")
    progress: Mapped[str] = mapped_column(String(200), default="")
    requested_by: Mapped[str] = mapped_column(String(100), default="")
    requested_at: Mapped[dt.datetime] = mapped_column(default=_now)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    worker_id: Mapped[str] = mapped_column(String(100), default="")
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column()
    attempt: Mapped[str] = mapped_column(String(36), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)


class AllocationRow(Base):
    """One served household of a solved round (allocations.csv)."""

    __tablename__ = "allocations"
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"),
                                          primary_key=True)
    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lot_id: Mapped[str] = mapped_column(String(64), index=True)
    sponsor_id: Mapped[str] = mapped_column(String(64), index=True)
    point_id: Mapped[str] = mapped_column(String(64), index=True)
    commune_code: Mapped[str] = mapped_column(String(16), index=True)
    poverty_status: Mapped[str] = mapped_column(String(16), default="")
    flags: Mapped[str] = mapped_column(String(200), default="")
    priority_weight: Mapped[int] = mapped_column(Integer)
    public_cost_vnd: Mapped[int] = mapped_column(BigInteger)
    copay_vnd: Mapped[int] = mapped_column(BigInteger)
    distance_km: Mapped[float] = mapped_column(Float)
    handed_over_at: Mapped[dt.datetime | None] = mapped_column()  # recorded at the point
    # Not collected by the pickup deadline: the device went back to stock (a no-show).
    released_at: Mapped[dt.datetime | None] = mapped_column()
    # Given at approval (allocator.store.pickup): a random code, unique in the campaign,
    # and the window (Vietnam's local day and times) the household is told to come in.
    pickup_code: Mapped[str | None] = mapped_column(String(8), unique=True, index=True)
    window_day: Mapped[dt.date | None] = mapped_column(Date)
    window_start: Mapped[dt.time | None] = mapped_column(Time)
    window_end: Mapped[dt.time | None] = mapped_column(Time)


class Campaign(Base):
    """The campaign's settings: one row (id 1). Every change is audited.

    `budget_vnd` is the public money for the whole campaign (None: not set, each
    round brings its own budget); `no_show_limit` leaves out of later rounds the
    households that failed to collect this many times (None: offer them again).
    """

    __tablename__ = "campaign"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    budget_vnd: Mapped[int | None] = mapped_column(BigInteger)
    goal_date: Mapped[dt.date] = mapped_column(default=dt.date(2026, 9, 15))
    pickup_days: Mapped[int] = mapped_column(Integer, default=14)
    no_show_limit: Mapped[int | None] = mapped_column(Integer)
    # Bumped by every move that changes what is reserved, handed over or released: the
    # UPDATE that bumps it also serialises those moves (row lock; SQLite's writer lock).
    version: Mapped[int] = mapped_column(Integer, default=0)


class UnservedRow(Base):
    """One household of a solved round that was not served, and why (unserved.csv)."""

    __tablename__ = "unserved"
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"),
                                          primary_key=True)
    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")


class User(Base):
    """A planner, a sponsor's representative bound to one sponsor, or a point officer
    bound to their distribution points (`UserPoint`)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # planner | sponsor | point
    sponsor_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    # argon2id; empty until the person sets it through their one-time link.
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    disabled: Mapped[bool] = mapped_column(default=False)  # `allocator user revoke`


class ApiToken(Base):
    """A bearer token of a machine client, kept only as its SHA-256 hash; it expires."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    revoked: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[dt.datetime] = mapped_column()


class WebSession(Base):
    """A browser signed in to the pages: its cookie holds a random id, kept here hashed.

    Signing out ends it at once; it also ends by itself after `expires_at`.
    """

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    expires_at: Mapped[dt.datetime] = mapped_column()
    ended: Mapped[bool] = mapped_column(default=False)


class PasswordLink(Base):
    """A one-time link to set a password (`allocator user add`), kept as its SHA-256 hash."""

    __tablename__ = "password_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column()


class SignInFailure(Base):
    """A failed sign-in, kept a short while to slow guessing (shared by every web process)."""

    __tablename__ = "sign_in_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str] = mapped_column(String(100), index=True)


class UserPoint(Base):
    """A distribution point a point officer works at: they see and record only its handovers."""

    __tablename__ = "user_points"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    point_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class PickupWindow(Base):
    """A point's opening window (windows.csv): its day, times and how many it hands over."""

    __tablename__ = "pickup_windows"
    point_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    opens: Mapped[dt.time] = mapped_column(Time, primary_key=True)
    closes: Mapped[dt.time] = mapped_column(Time)
    capacity: Mapped[int] = mapped_column(Integer)


class Handover(Base):
    """What happened when a household came to its point: one row per attempt, never edited
    but to undo it (same day, with a reason).

    outcome: handed (the phone works and is 4G; sets allocations.handed_over_at),
    faulty (the device goes to its lot's faulty count) or refused (by the household).
    identity: cccd (last 4 digits matched), authorised (a relative with an
    authorisation letter; `identity_note` says so) or paper list (signed on a paper
    handover list that was uploaded back, via = paper).
    """

    __tablename__ = "handovers"
    __table_args__ = (
        # An IMEI is handed over once in the whole campaign; an undone record frees it.
        Index("ux_handovers_imei", "imei", unique=True,
              sqlite_where=text("undone_at IS NULL AND imei IS NOT NULL"),
              postgresql_where=text("undone_at IS NULL AND imei IS NOT NULL")),
        # A household of a round is handed its phone once.
        Index("ux_handovers_handed", "round_id", "household_id", unique=True,
              sqlite_where=text("undone_at IS NULL AND outcome = 'handed'"),
              postgresql_where=text("undone_at IS NULL AND outcome = 'handed'")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"),
                                          index=True)
    household_id: Mapped[str] = mapped_column(String(64), index=True)
    point_id: Mapped[str] = mapped_column(String(64), index=True)
    officer: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(default=_now)
    outcome: Mapped[str] = mapped_column(String(16))  # handed | faulty | refused
    identity: Mapped[str] = mapped_column(String(16), default="cccd")  # see the docstring
    identity_note: Mapped[str] = mapped_column(Text, default="")
    imei: Mapped[str | None] = mapped_column(String(15))
    iccid: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    via: Mapped[str] = mapped_column(String(16), default="point")  # point | paper
    # The form's key: the same submission sent twice is recorded once.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    undone_at: Mapped[dt.datetime | None] = mapped_column()
    undone_by: Mapped[str] = mapped_column(String(100), default="")
    undo_reason: Mapped[str] = mapped_column(Text, default="")


class OutboxMessage(Base):
    """An SMS notice of an approved round's allocation, waiting to be sent or sent.

    status: pending -> sent | failed (a failed one may be sent again).
    """

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("round_id", "household_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"),
                                          index=True)
    household_id: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20))  # normalised: 10 digits, 0 first
    text: Mapped[str] = mapped_column(Text)  # with diacritics (UCS-2)
    text_plain: Mapped[str] = mapped_column(Text)  # unaccented GSM-7, at most 2 segments
    segments: Mapped[int] = mapped_column(Integer)
    segments_plain: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    sent_at: Mapped[dt.datetime | None] = mapped_column()


class FollowUp(Base):
    """A household drawn for the follow-up call 30 days after its round's handovers."""

    __tablename__ = "followups"
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"),
                                          primary_key=True)
    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    point_id: Mapped[str] = mapped_column(String(64), index=True)
    lot_id: Mapped[str] = mapped_column(String(64))
    sponsor_id: Mapped[str] = mapped_column(String(64), index=True)
    drawn_at: Mapped[dt.datetime] = mapped_column(default=_now)
    seed: Mapped[int] = mapped_column(BigInteger, default=0)
    # in_use | not_in_use | never_received; None until the call is made.
    answer: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(20), default="")  # why not in use
    note: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str] = mapped_column(String(100), default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column()


class Case(Base):
    """A question a planner must resolve: a phone never received, or "why not me?".

    status: open -> answered -> closed. A registry correction made for it is named
    in `correction` (what changed, and the audit entry that records it).
    """

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # never_received | why_not_me
    household_id: Mapped[str] = mapped_column(String(64), index=True)
    round_id: Mapped[int | None] = mapped_column(Integer)
    commune_code: Mapped[str] = mapped_column(String(16), default="", index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[dt.datetime] = mapped_column(default=_now)
    note: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str] = mapped_column(String(100), default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column()
    correction: Mapped[str] = mapped_column(Text, default="")
    closed_by: Mapped[str] = mapped_column(String(100), default="")
    closed_at: Mapped[dt.datetime | None] = mapped_column()
