"""Sending a round's notices through the HTTP sender to a local gateway (SQLite and
PostgreSQL): retries, each message accepted once, failures kept and retried, crashes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from allocator.sms_sender import Delivery, HttpSender, Outgoing
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.delivery import send_round
from allocator.store.models import OutboxMessage
from allocator.store.outbox import Form, fill_outbox, message_key
from tests.allocator.sms_gateway import always, first_calls_fail, gateway
from tests.store.notice_store import approved_round

ALLOCATOR = Path(sys.executable).parent / "allocator"


@pytest.fixture()
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    prepare(engine)
    yield make_sessions(engine)
    engine.dispose()


def _fast(url: str, tries: int = 4) -> HttpSender:
    return HttpSender(url, "token", tries=tries, base_delay=0.001, max_delay=0.01)


def _outbox(session: Session) -> dict[str, tuple[str, int, str]]:
    session.expire_all()
    return {h: (s, a, e) for h, s, a, e in session.execute(
        select(OutboxMessage.household_id, OutboxMessage.status, OutboxMessage.attempts,
               OutboxMessage.error))}


def test_a_gateway_failing_its_first_two_calls_gets_each_message_once(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    with sessions() as session:
        round_id = approved_round(session, tmp_path / "round")
        fill_outbox(session, round_id, "planner")
        keys = {message_key(round_id, h) for h in _outbox(session)}
        with gateway(first_calls_fail(500, "drop")) as gw:
            report = send_round(session, round_id, _fast(gw.url), "planner")
        outbox = _outbox(session)
        sent = {message_key(m.round_id, m.household_id): (m.phone, m.text_plain)
                for m in session.scalars(select(OutboxMessage))}
    assert (report.sent, report.failed, report.left, report.stopped) == (7, 0, 0, "")
    assert Counter(m["id"] for m in gw.accepted) == Counter(keys)  # each exactly once
    assert all((m["phone"], m["message"]) == sent[m["id"]] for m in gw.accepted)
    assert {s for s, _, _ in outbox.values()} == {"sent"}
    assert sum(a for _, a, _ in outbox.values()) == 7 + 2  # the two failed calls counted
    assert all(c["headers"]["Idempotency-Key"] == c["id"] for c in gw.calls)


def test_failed_messages_keep_their_error_and_only_they_are_sent_again(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    refusing = {"0901234501", "0901234502"}
    with sessions() as session:
        round_id = approved_round(session, tmp_path / "round")
        with gateway(lambda n, body: 500 if body["phone"] in refusing else 200) as gw:
            first = send_round(session, round_id, _fast(gw.url, tries=3), "planner")
        after_first = _outbox(session)
        with gateway(always(200)) as again:
            second = send_round(session, round_id, _fast(again.url), "planner",
                                form=Form.ACCENTED)
        after_second = _outbox(session)
    assert (first.sent, first.failed) == (5, 2) and (second.sent, second.failed) == (2, 0)
    assert {h: v for h, v in after_first.items() if v[0] == "failed"} == {
        h: ("failed", 3, "HTTP 500 Internal Server Error, after 3 tries") for h in ("H01", "H02")}
    assert sorted(m["phone"] for m in again.accepted) == sorted(refusing)
    assert all("Phường" in m["message"] for m in again.accepted)  # the accented form
    assert {(s, e) for s, _, e in after_second.values()} == {("sent", "")}


def test_a_gateway_that_is_down_stops_the_run(sessions: sessionmaker[Session],
                                              tmp_path: Path) -> None:
    with sessions() as session:
        round_id = approved_round(session, tmp_path / "round")
        with gateway(always(503)) as gw:
            report = send_round(session, round_id, _fast(gw.url, tries=2), "planner",
                                stop_after=3)
        outbox = _outbox(session)
    assert (report.sent, report.failed, report.left) == (0, 3, 4) and "seems down" in report.stopped
    assert Counter(s for s, _, _ in outbox.values()) == {"pending": 4, "failed": 3}
    assert len(gw.calls) == 3 * 2


def test_a_crash_mid_run_never_sends_a_sent_message_again(sessions: sessionmaker[Session],
                                                          tmp_path: Path) -> None:
    with sessions() as session:
        round_id = approved_round(session, tmp_path / "round")
        with gateway(always(200)) as gw:
            sender = _fast(gw.url)
            done: list[str] = []

            def crashing(message: Outgoing) -> Delivery:
                delivered = sender(message)
                done.append(message.key)
                if len(done) == 3:  # the gateway took it; the answer is never recorded
                    raise KeyboardInterrupt
                return delivered

            with pytest.raises(KeyboardInterrupt):
                send_round(session, round_id, crashing, "planner")
            assert Counter(s for s, _, _ in _outbox(session).values()) == {"sent": 2,
                                                                           "pending": 5}
            send_round(session, round_id, sender, "planner")
        outbox = _outbox(session)
    posts = Counter(c["id"] for c in gw.calls)
    assert {s for s, _, _ in outbox.values()} == {"sent"} and len(posts) == 7
    # Only the message in flight went twice, under the same key for the gateway to drop.
    assert [k for k, n in posts.items() if n > 1] == [done[2]]
    assert all(posts[k] == 1 for k in done[:2])


def test_the_send_command(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        round_id = approved_round(session, tmp_path / "round")
    engine.dispose()
    env = {**os.environ, "DATABASE_URL": db_url, "ALLOCATOR_SMS_TOKEN": "s3cret"}
    env.pop("ALLOCATOR_SMS_URL", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(ALLOCATOR), "notices", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)

    missing = run("send", str(round_id))
    assert missing.returncode == 2 and "ALLOCATOR_SMS_URL" in missing.stderr
    with gateway(always(503)) as down:
        failed = run("send", str(round_id), "--url", down.url, "--tries", "2",
                     "--base-delay", "0")
    assert failed.returncode == 1, failed.stderr
    assert "seems down" in failed.stderr and len(down.calls) == 5 * 2
    with gateway(first_calls_fail(500, "drop")) as gw:
        env["ALLOCATOR_SMS_URL"] = gw.url
        done = run("send", str(round_id), "--base-delay", "0")
    assert done.returncode == 0, done.stderr
    assert "7 sent, 0 failed" in done.stdout and len({m["id"] for m in gw.accepted}) == 7
    assert {c["headers"]["Authorization"] for c in gw.calls} == {"Bearer s3cret"}
    status = run("status", str(round_id))
    assert status.returncode == 0 and "needs a visit: 1 households" in status.stdout


def test_households_that_came_or_refused_are_neither_exported_nor_sent(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    """A household handed its phone (or that refused it) after the outbox was filled needs
    no reminder: its message is left out of the portal's file and of the sender's run."""
    import datetime as dt

    from allocator.store.models import AllocationRow
    from allocator.store.outbox import export_notices

    with sessions() as session:
        round_id = approved_round(session, tmp_path / "round")
        fill_outbox(session, round_id, "planner")
        came, refused = sorted(_outbox(session))[:2]
        now = dt.datetime(2026, 12, 1, 3)
        for household, column in ((came, "handed_over_at"), (refused, "released_at")):
            allocation = session.get_one(AllocationRow, (round_id, household))
            setattr(allocation, column, now)
        session.commit()
        _, rows = export_notices(session, round_id, "planner")
        with gateway(always(200)) as gw:
            report = send_round(session, round_id, _fast(gw.url), "planner")
        outbox = _outbox(session)
    assert rows == len(outbox) - 2 and report.sent == len(outbox) - 2
    assert {m["id"] for m in gw.accepted} == {
        message_key(round_id, h) for h in outbox if h not in (came, refused)}
    assert outbox[came][0] == outbox[refused][0] == "pending"  # never sent, nothing lost
