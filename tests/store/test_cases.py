"""Cases on a real store (SQLite and PostgreSQL): who may open one and for whom, one live
case per household and kind, the engine's explanation, a registry correction linked to the
case, and the moves open -> answered -> closed -> reopened, each audited."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from allocator.store import cases, ledger
from allocator.store.campaign import approve_round, create_round
from allocator.store.case_explain import SAY, explain
from allocator.store.corrections import correct_household
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.lifecycle import RoundNotFound
from allocator.store.models import (
    AllocationRow,
    AuditEntry,
    Case,
    Household,
    Point,
    UnservedRow,
    User,
)
from allocator.store.rounds import solve_round
from allocator.store.users import add_user

POINT = "UB-25747"  # the officer's point, in commune 25747
HOME = "25747"


@dataclass
class World:
    sessions: sessionmaker[Session]
    round_id: int
    served: str  # a household of the officer's commune holding a phone
    unserved: str  # a household of the officer's commune not served
    unserved_reason: str
    elsewhere: str  # a household of another commune, not served


@pytest.fixture()
def world(db_url: str, sample: Path) -> Iterator[World]:
    engine = make_engine(db_url)
    prepare(engine)
    made = make_sessions(engine)
    with made() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, sample / f"{kind}.csv", "setup").ok
        ledger.set_budget(session, 400_000_000, "setup")
        row = create_round(session, {}, "r", "planner")
        solve_round(session, row.id, "planner")
        approve_round(session, row.id, "planner")
        served = session.scalar(select(AllocationRow.household_id).where(
            AllocationRow.commune_code == HOME).order_by(AllocationRow.household_id))
        unserved, reason = session.execute(
            select(UnservedRow.household_id, UnservedRow.reason)
            .join(Household, Household.id == UnservedRow.household_id)
            .where(Household.commune_code == HOME).order_by(UnservedRow.household_id)).first()
        elsewhere = session.scalar(
            select(UnservedRow.household_id).join(Household, Household.id ==
                                                 UnservedRow.household_id)
            .where(Household.commune_code != HOME).order_by(UnservedRow.household_id))
        add_user(session, "officer", "point", None, "setup", points=[POINT])
        add_user(session, "boss", "planner", None, "setup")
        assert served and unserved and elsewhere
        yield World(made, row.id, served, unserved, reason, elsewhere)
    engine.dispose()


def _user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    assert user is not None
    return user


def _actions(session: Session, target: str) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).where(AuditEntry.target == target)
                                .order_by(AuditEntry.id)))


def test_an_officer_opens_a_case_for_an_unserved_household_of_their_commune(
        world: World) -> None:
    with world.sessions() as session:
        officer = _user(session, "officer")
        case = cases.open_and_commit(session, kind="why_not_me", household_id=world.unserved,
                                     actor=officer, note="Bà con hỏi tại UBND")
        assert (case.status, case.commune_code, case.opened_by) == ("open", HOME, "officer")
        assert _actions(session, f"case {case.id}") == ["open case"]
        # The same household and kind again: refused, naming the live case.
        with pytest.raises(cases.CaseConflict, match=f"case {case.id}") as refused:
            cases.open_and_commit(session, kind="why_not_me", household_id=world.unserved,
                                  actor=officer)
        assert f"số {case.id}" in refused.value.vi
        # A served household, one of another commune, one not in the registry: refused.
        with pytest.raises(cases.CaseRefused, match="holds a phone to collect"):
            cases.open_and_commit(session, kind="why_not_me", household_id=world.served,
                                  actor=officer)
        with pytest.raises(cases.NotInStore):  # to an officer, as if it were not there
            cases.open_and_commit(session, kind="why_not_me", household_id=world.elsewhere,
                                  actor=officer)
        # Of another commune's household the officer learns nothing more, served or not.
        served_elsewhere = session.scalar(select(AllocationRow.household_id).where(
            AllocationRow.commune_code != HOME).limit(1))
        with pytest.raises(cases.NotInStore):
            cases.open_and_commit(session, kind="why_not_me", household_id=served_elsewhere,
                                  actor=officer)
        with pytest.raises(cases.CaseRefused, match="no household"):
            cases.open_and_commit(session, kind="why_not_me", household_id="NOPE",
                                  actor=officer)
        with pytest.raises(cases.CaseRefused, match="kind"):
            cases.open_and_commit(session, kind="angry", household_id=world.unserved,
                                  actor=officer)
        # A planner may open one for any commune.
        other = cases.open_and_commit(session, kind="why_not_me", household_id=world.elsewhere,
                                      actor=_user(session, "boss"))
        assert other.commune_code != HOME
        assert session.scalar(select(func.count()).select_from(Case)) == 2


def test_a_sponsor_opens_no_case(world: World) -> None:
    with world.sessions() as session:
        sponsor = User(name="giver", role="sponsor", sponsor_id="X", password_hash="")
        with pytest.raises(cases.NotYourCase):
            cases.open_case(session, kind="why_not_me", household_id=world.unserved,
                            actor=sponsor)


def test_never_received_names_a_round_that_gave_the_household_a_phone(world: World) -> None:
    with world.sessions() as session:
        with pytest.raises(cases.CaseRefused, match="names the round"):
            cases.open_case(session, kind="never_received", household_id=world.served,
                            actor="followup")
        with pytest.raises(RoundNotFound):
            cases.open_case(session, kind="never_received", household_id=world.served,
                            actor="followup", round_id=999)
        with pytest.raises(cases.CaseRefused, match="gave household"):
            cases.open_case(session, kind="never_received", household_id=world.unserved,
                            actor="followup", round_id=world.round_id)
        case = cases.open_case(session, kind="never_received", household_id=world.served,
                               actor="followup", round_id=world.round_id)
        assert case.id and case.commune_code == HOME
        # Inside the caller's transaction: gone with its rollback, audit entry included.
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Case)) == 0
        assert _actions(session, f"case {case.id}") == []
        # A never-received case and a why-not-me case of one household do not collide.
        cases.open_and_commit(session, kind="never_received", household_id=world.served,
                              actor="followup", round_id=world.round_id)
        with pytest.raises(cases.CaseConflict):
            cases.open_and_commit(session, kind="never_received", household_id=world.served,
                                  actor="followup", round_id=world.round_id)


def test_the_explanation_gives_the_engines_reason_in_words_to_repeat(world: World) -> None:
    with world.sessions() as session:
        told = explain(session, world.unserved)
        (entry,) = told["rounds"]
        assert entry["outcome"] == "unserved" and entry["reason"] == world.unserved_reason
        assert entry["say_vi"] == SAY[world.unserved_reason][0]
        assert entry["detail"] and entry["reason_vi"] != entry["reason"]
        assert told["summary_vi"].startswith(f"Đợt {world.round_id}: ")
        assert told["registry"]["commune_code"] == HOME
        served = explain(session, world.served)["rounds"][0]
        assert (served["outcome"], served["state"]) == ("served", "reserved")
        assert served["point_id"] and served["point_name"]
        assert explain(session, "NOPE")["rounds"][0]["outcome"] == "not_in_round"


def test_a_correction_changes_the_registry_and_is_linked_to_the_case(world: World) -> None:
    with world.sessions() as session:
        case = cases.open_and_commit(session, kind="why_not_me", household_id=world.unserved,
                                     actor=_user(session, "officer"))
        before = explain(session, world.unserved)["registry"]
        for bad, why in (({"members": 0}, "members"), ({"flags": "bogus"}, "flags"),
                         ({"head_name": "X"}, "head_name"), ({"commune_code": "0"}, "commune"),
                         ({}, "at least one"), ({"poverty_status": before["poverty_status"]},
                                                "nothing to correct")):
            with pytest.raises(cases.CaseRefused, match=why):
                correct_household(session, case.id, bad, "boss")
        with pytest.raises(cases.NotYourCase):
            correct_household(session, case.id, {"members": 9}, _user(session, "officer"))
        assert explain(session, world.unserved)["registry"] == before
        assert cases.get_case(session, case.id).status == "open"

        new_handsets = before["twog_handsets"] + 1
        case, changes = correct_household(
            session, case.id, {"twog_handsets": new_handsets, "poverty_status": "Hộ nghèo"},
            _user(session, "boss"))
        assert changes["twog_handsets"] == [before["twog_handsets"], new_handsets]
        assert session.get(Household, world.unserved, populate_existing=True).twog_handsets \
            == new_handsets
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "correct household")).one()
        assert entry.target == f"household {world.unserved}" and entry.detail["case"] == case.id
        assert f"audit entry {entry.id}" in case.correction
        assert f"twog_handsets: {before['twog_handsets']} -> {new_handsets}" in case.correction
        assert case.status == "answered" and case.answer and case.answered_by == "boss"
        assert _actions(session, f"case {case.id}") == ["open case", "correct registry for case"]
        # A never-received case has no registry correction.
        other = cases.open_and_commit(session, kind="never_received", household_id=world.served,
                                      actor="followup", round_id=world.round_id)
        with pytest.raises(cases.CaseRefused, match="why not me"):
            correct_household(session, other.id, {"members": 2}, "boss")


def test_statuses_move_only_as_the_table_says_and_every_move_is_audited(world: World) -> None:
    with world.sessions() as session:
        case = cases.open_and_commit(session, kind="why_not_me", household_id=world.unserved,
                                     actor="boss")
        with pytest.raises(cases.CaseConflict, match="only when answered"):
            cases.close_case(session, case.id, "boss")
        with pytest.raises(cases.CaseConflict):
            cases.reopen_case(session, case.id, "again", "boss")
        with pytest.raises(cases.CaseRefused):
            cases.answer_case(session, case.id, "   ", "boss")
        with pytest.raises(cases.NotYourCase):
            cases.answer_case(session, case.id, "ok", _user(session, "officer"))
        assert cases.answer_case(session, case.id, "Hộ chưa dùng máy 2G.", "boss").status \
            == "answered"
        closed = cases.close_case(session, case.id, "boss")
        assert (closed.status, closed.closed_by) == ("closed", "boss")
        with pytest.raises(cases.CaseConflict, match="closed"):
            cases.answer_case(session, case.id, "more", "boss")
        # Closed: a new case of the household may be opened; the old one then stays closed.
        newer = cases.open_and_commit(session, kind="why_not_me", household_id=world.unserved,
                                      actor="boss")
        with pytest.raises(cases.CaseConflict, match=f"case {newer.id}"):
            cases.reopen_case(session, case.id, "the citizen came back", "boss")
        cases.answer_case(session, newer.id, "x", "boss")
        cases.close_case(session, newer.id, "boss")
        again = cases.reopen_case(session, case.id, "the citizen came back", "boss")
        assert again.status == "open" and again.closed_at is None
        assert "the citizen came back" in again.note
        assert _actions(session, f"case {case.id}") == [
            "open case", "answer case", "close case", "reopen case"]
        with pytest.raises(cases.CaseNotFound):
            cases.close_case(session, 10**6, "boss")


def test_an_officer_sees_only_the_cases_of_their_communes(world: World) -> None:
    with world.sessions() as session:
        mine = cases.open_and_commit(session, kind="why_not_me", household_id=world.unserved,
                                     actor="boss")
        theirs = cases.open_and_commit(session, kind="why_not_me",
                                       household_id=world.elsewhere, actor="boss")
        officer = _user(session, "officer")
        total, rows = cases.list_cases(session, officer)
        assert total == 1 and [r.id for r in rows] == [mine.id]
        assert cases.list_cases(session, _user(session, "boss"))[0] == 2
        assert cases.status_counts(session, officer) == {"open": 1, "answered": 0, "closed": 0}
        assert cases.get_case(session, mine.id, officer).id == mine.id
        with pytest.raises(cases.CaseNotFound):  # as if it were not there
            cases.get_case(session, theirs.id, officer)
        shown = cases.as_dict(mine, planner=False)
        assert "correction" not in shown and "answered_by" not in shown


def test_a_point_known_only_from_a_round_still_places_its_officer(world: World) -> None:
    """A point missing from the registry is found in the frozen inputs of its round."""
    with world.sessions() as session:
        session.execute(delete(Point).where(Point.id == POINT))
        session.commit()
        assert cases.officer_communes(session, _user(session, "officer")) == {HOME}
        assert cases.officer_communes(session, _user(session, "boss")) is None


def test_the_case_commands(world: World, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from allocator import cli

    with world.sessions() as session:
        case = cases.open_and_commit(session, kind="why_not_me", household_id=world.unserved,
                                     actor="boss", note="hỏi tại UBND")
    monkeypatch.setenv("DATABASE_URL", db_url)
    cli._store_commands()
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        done = runner.invoke(cli.app, ["cases", *args])
        assert done.exception is None or isinstance(done.exception, SystemExit), done.output
        return done.exit_code, done.stdout, done.stderr

    code, out, _ = run("list", "--status", "open")
    assert code == 0 and world.unserved in out and "open 1, answered 0, closed 0" in out
    code, out, _ = run("show", str(case.id))
    assert code == 0 and world.unserved_reason in out and "Đợt" in out
    code, _, err = run("close", str(case.id))
    assert code == 2 and "only when answered" in err
    assert run("answer", str(case.id), "Hộ chưa dùng máy 2G.")[0] == 0
    assert run("close", str(case.id))[0] == 0
    code, _, err = run("answer", str(case.id), "late")
    assert code == 2 and "closed" in err
    assert run("list", "--status", "lost")[0] == 2
    code, _, err = run("show", "999999")
    assert code == 2 and "no case 999999" in err
    assert run("reopen", str(case.id), "came back")[0] == 0
    with world.sessions() as session:
        assert _actions(session, f"case {case.id}") == [
            "open case", "answer case", "close case", "reopen case"]


def test_two_officers_opening_at_once_make_one_case(world: World) -> None:
    import threading

    outcomes: list[str] = []
    start = threading.Barrier(2)

    def open_one() -> None:
        with world.sessions() as session:
            start.wait()
            try:
                cases.open_and_commit(session, kind="why_not_me",
                                      household_id=world.unserved, actor="boss")
                outcomes.append("opened")
            except cases.CaseConflict:
                outcomes.append("refused")

    threads = [threading.Thread(target=open_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["opened", "refused"]
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
