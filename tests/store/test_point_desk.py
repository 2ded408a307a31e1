"""The handover desk at the point on a real store (SQLite and PostgreSQL): who sees which
household, the identity check, device identities, the three outcomes and their effect on
the ledger, idempotent submission under races, same-day undo, and the audit of it all."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from allocator.store import ledger, point_desk
from allocator.store.campaign import close_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.models import AllocationRow, AuditEntry, Handover, Lot, User
from allocator.store.point_desk import DeskError, NotFound, NotHere, NotYours
from allocator.store.users import add_user
from tests.store.point_store import PointStore, at_point, build, iccid, imei, national_id
from tests.tables import fingerprint


@pytest.fixture()
def made(db_url: str, tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], PointStore]]:
    engine = make_engine(db_url)
    prepare(engine)
    sessions = make_sessions(engine)
    with sessions() as session:
        store = build(session, tmp_path / "registry")
    yield sessions, store
    engine.dispose()


def _last4(household: str) -> str:
    return national_id(int(household[1:]))[-4:]


def _submit(session: Session, user: User, store: PointStore, household: str, **given: Any
            ) -> Handover:
    fields: dict[str, Any] = {
        "round_id": store.round_id, "household_id": household, "id_last4": _last4(household),
        "authorised_note": "", "outcome": "handed", "imei": imei(int(household[1:])),
        "iccid": "", "note": "", "idempotency_key": f"key-{household}-{given.get('outcome')}"}
    fields.update(given)
    return point_desk.record(session, user, **fields)


def _refused(call: Any, field: str | None) -> DeskError:
    with pytest.raises(DeskError) as error:
        call()
    assert error.value.field == field, (error.value.field, error.value.english)
    assert error.value.message and error.value.english
    return error.value


def _entries(session: Session, action: str) -> list[AuditEntry]:
    session.rollback()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                .order_by(AuditEntry.id)))


# --- who sees what -----------------------------------------------------------------------


def test_an_officer_finds_households_of_their_point_by_code_phone_or_name(made: Any) -> None:
    sessions, store = made
    mine, theirs = at_point(store, "P-SG"), at_point(store, "P-BT")
    officer = store.officers["P-SG"]
    with sessions() as session:
        code = store.codes[mine[0]]
        for typed in (code, code.lower(), f"{code[:4]}-{code[4:]}",
                      f" {code[:4]} {code[4:]} ".replace("1", "l").replace("0", "o")):
            found = point_desk.find(session, officer, typed)
            assert [r.household_id for r in found] == [mine[0]], typed
        row = found[0]
        assert row.code == f"{code[:4]}-{code[4:]}" and row.point_id == "P-SG"
        assert row.id_last4 == _last4(mine[0]) and row.model == "Nokia C32"
        assert row.head_name == "Nguyễn Văn An" and row.phone == "0901234500"
        assert national_id(0) not in repr(row)
        # by phone, in any of the ways a registry writes it
        for phone in ("0901234500", "+84 90 123 4500", "84901234500", "090.123.4500"):
            assert [r.household_id for r in point_desk.find(session, officer, phone)] == \
                [mine[0]]
        # by name: accents, case and NFD do not matter; only the officer's point answers
        assert [r.household_id for r in point_desk.find(session, officer, "NGUYEN van")] == \
            [mine[0]]
        assert [r.household_id for r in point_desk.find(
            session, officer, "nguyễn văn an".upper())] == [mine[0]]
        names = {r.point_id for r in point_desk.find(session, officer, "thi")}
        assert names <= {"P-SG"}
        # another point's household is not found by its code, phone or name
        other = int(theirs[0][1:])
        assert point_desk.find(session, officer, store.codes[theirs[0]]) == []
        assert point_desk.find(session, officer, f"09012345{other:02d}") == []
        assert point_desk.find(session, officer, "Trần Thị Bình") == []
        # a planner sees every point
        planner = point_desk.find(session, store.planner, "Trần Thị Bình")
        assert [r.household_id for r in planner] == [theirs[0]]
        everyone = point_desk.find(session, store.planner, "van")
        assert {r.point_id for r in everyone} > {"P-SG"}


def test_a_search_is_audited_once_without_what_was_typed(made: Any) -> None:
    sessions, store = made
    with sessions() as session:
        before = len(_entries(session, "find households at the point"))
        found = point_desk.find(session, store.officers["P-SG"], "van")
        entries = _entries(session, "find households at the point")
        assert len(entries) == before + 1
        entry = entries[-1]
        assert entry.actor == "officer-P-SG" and entry.detail["by"] == "name"
        assert entry.detail["found"] == len(found) >= 1
        assert "van" not in str(entry.detail).lower().replace("households", "")


def test_a_search_refuses_nothing_or_too_little(made: Any) -> None:
    sessions, store = made
    with sessions() as session:
        for typed in ("", "   ", "a", "x" * 201, "an\x00"):
            _refused(lambda t=typed: point_desk.find(session, store.officers["P-SG"], t), "q")


def test_an_officer_opens_only_their_points_households(made: Any) -> None:
    sessions, store = made
    mine, theirs = at_point(store, "P-SG")[0], at_point(store, "P-BT")[0]
    officer = store.officers["P-SG"]
    with sessions() as session:
        row = point_desk.get(session, officer, store.round_id, mine)
        assert row.household_id == mine and row.handover_id is None
        with pytest.raises(NotHere) as elsewhere:  # as if it were not there
            point_desk.get(session, officer, store.round_id, theirs)
        with pytest.raises(NotFound) as nowhere:
            point_desk.get(session, officer, store.round_id, theirs + "X")
        assert str(elsewhere.value).replace(theirs, "?") == \
            str(nowhere.value).replace(theirs + "X", "?")
        with pytest.raises(NotFound):
            point_desk.get(session, officer, store.round_id, "NOPE")
        with pytest.raises(NotFound):
            point_desk.get(session, officer, store.round_id + 1, mine)
        assert point_desk.get(session, store.planner, store.round_id, theirs).point_id == "P-BT"
        reads = _entries(session, "read household at the point")
        assert [e.actor for e in reads] == ["officer-P-SG", "planner"]
        assert _entries(session, "refuse another point's household")[-1].actor == "officer-P-SG"


def test_a_sponsor_uses_no_desk(made: Any) -> None:
    sessions, store = made
    with sessions() as session:
        sponsor, _ = add_user(session, "sponsor", "sponsor", "S1", "setup")
        with pytest.raises(NotYours):
            point_desk.find(session, sponsor, "van")
        with pytest.raises(NotYours):
            _submit(session, sponsor, store, at_point(store, "P-SG")[0])


def test_a_closed_round_is_no_longer_at_the_desk(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    with sessions() as session:
        close_round(session, store.round_id, "planner", force=True)
        assert point_desk.find(session, store.officers["P-SG"], store.codes[household]) == []
        with pytest.raises(NotFound):
            _submit(session, store.officers["P-SG"], store, household)


# --- identity ----------------------------------------------------------------------------


def test_a_wrong_id_is_refused_and_audited_without_the_digits(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    officer = store.officers["P-SG"]
    wrong = f"{(int(_last4(household)) + 1) % 10000:04d}"
    with sessions() as session:
        before = fingerprint(session.get_bind())  # type: ignore[arg-type]
        _refused(lambda: _submit(session, officer, store, household, id_last4=wrong),
                 "id_last4")
        entries = _entries(session, "refuse identity")
        assert len(entries) == 1
        assert entries[0].actor == "officer-P-SG" and household in entries[0].target
        assert wrong not in str(entries[0].detail) and wrong not in entries[0].target
        assert session.scalar(select(func.count()).select_from(Handover)) == 0
        assert before != fingerprint(session.get_bind())  # type: ignore[arg-type]
        # a typo of the format is said, not counted as a refusal
        for typed in ("12", "12345", "abcd", "１２３４"):
            _refused(lambda t=typed: _submit(session, officer, store, household, id_last4=t),
                     "id_last4")
        assert len(_entries(session, "refuse identity")) == 1
        done = _submit(session, officer, store, household)
        assert done.identity == "cccd" and done.outcome == "handed"


def test_tries_of_the_id_are_limited_each_day(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    officer = store.officers["P-SG"]
    wrong = f"{(int(_last4(household)) + 1) % 10000:04d}"
    with sessions() as session:
        for _ in range(point_desk.IDENTITY_TRIES):
            _refused(lambda: _submit(session, officer, store, household, id_last4=wrong),
                     "id_last4")
        error = _refused(lambda: _submit(session, officer, store, household), "id_last4")
        assert "planner" in error.english
        assert len(_entries(session, "refuse identity")) == point_desk.IDENTITY_TRIES


def test_a_relative_with_a_letter_needs_a_written_note(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    officer = store.officers["P-SG"]
    with sessions() as session:
        _refused(lambda: _submit(session, officer, store, household, id_last4="",
                                 authorised_note="có giấy"), "authorised_note")
        done = _submit(session, officer, store, household, id_last4="",
                       authorised_note="Con gái nhận thay, có giấy ủy quyền của UBND")
        assert done.identity == "authorised"
        assert done.identity_note.startswith("Con gái")


# --- device identities -------------------------------------------------------------------


def test_a_nul_in_a_note_is_refused_as_such_not_as_a_length(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    officer = store.officers["P-SG"]
    with sessions() as session:
        error = _refused(lambda: _submit(session, officer, store, household, note="ok\x00"),
                         "note")
        assert "NUL" in error.english and "At most" not in error.english
        _refused(lambda: _submit(session, officer, store, household,
                                 authorised_note="con gái \x00 có giấy"), "authorised_note")
        assert session.scalar(select(func.count()).select_from(Handover)) == 0


def test_the_imei_is_fifteen_luhn_digits_and_the_iccid_optional(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    officer = store.officers["P-SG"]
    good = imei(7)
    with sessions() as session:
        for typed in ("", good[:-1], good[:-1] + str((int(good[-1]) + 1) % 10), "35abc",
                      good + "0"):
            _refused(lambda t=typed: _submit(session, officer, store, household, imei=t),
                     "imei")
        _refused(lambda: _submit(session, officer, store, household, imei=good,
                                 iccid=iccid(1)[:-1] + "0" if iccid(1)[-1] != "0" else "1"),
                 "iccid")
        done = _submit(session, officer, store, household,
                       imei=f"{good[:2]} {good[2:8]}-{good[8:]}", iccid=iccid(1))
        assert (done.imei, done.iccid) == (good, iccid(1))


def test_an_imei_is_handed_over_once_in_the_campaign(made: Any) -> None:
    sessions, store = made
    first, second = at_point(store, "P-SG")[:2]
    elsewhere = at_point(store, "P-BT")[0]
    with sessions() as session:
        done = _submit(session, store.officers["P-SG"], store, first, imei=imei(99))
        error = _refused(lambda: _submit(session, store.officers["P-SG"], store, second,
                                         imei=imei(99)), "imei")
        assert first not in error.english and first not in error.message
        _refused(lambda: _submit(session, store.officers["P-BT"], store, elsewhere,
                                 imei=imei(99)), "imei")
        point_desk.undo(session, store.officers["P-SG"], done.id, "wrong box taken")
        assert _submit(session, store.officers["P-SG"], store, second, imei=imei(99)).imei \
            == imei(99)


def test_the_unique_index_answers_a_raced_imei_with_the_same_sentence(
        made: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the other officer's record landed after this one's check: the index refuses."""
    sessions, store = made
    first, second = at_point(store, "P-SG")[:2]
    with sessions() as session:
        _submit(session, store.officers["P-SG"], store, first, imei=imei(42))
        monkeypatch.setattr(point_desk, "_imei_taken", _once_false(point_desk._imei_taken))
        error = _refused(lambda: _submit(session, store.officers["P-SG"], store, second,
                                         imei=imei(42)), "imei")
        assert error.english == point_desk.imei_taken().english
        assert session.scalar(select(func.count()).select_from(Handover)) == 1
        assert session.get(AllocationRow, (store.round_id, second)).handed_over_at is None


def _once_false(real: Any) -> Any:
    calls = []

    def check(*args: Any) -> bool:
        calls.append(1)
        return False if len(calls) == 1 else bool(real(*args))

    return check


# --- outcomes ----------------------------------------------------------------------------


def _available(session: Session) -> int:
    session.rollback()
    return next(f for f in ledger.lot_figures(session) if f["lot_id"] == "LOT-A")["available"]


def test_handed_marks_the_allocation_and_only_once(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    with sessions() as session:
        available = _available(session)
        done = _submit(session, store.officers["P-SG"], store, household)
        allocation = session.get(AllocationRow, (store.round_id, household),
                                 populate_existing=True)
        assert allocation is not None and allocation.handed_over_at is not None
        assert _available(session) == available  # reserved became handed over
        _refused(lambda: _submit(session, store.officers["P-SG"], store, household,
                                 imei=imei(50), idempotency_key="another-key"), None)
        row = point_desk.get(session, store.officers["P-SG"], store.round_id, household)
        assert (row.handover_id, row.outcome, row.recorded_by) == (done.id, "handed",
                                                                   "officer-P-SG")
        entry = _entries(session, "record handover")[-1]
        assert entry.actor == "officer-P-SG" and entry.detail["outcome"] == "handed"


def test_faulty_counts_against_the_lot_and_the_household_comes_back(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    officer = store.officers["P-SG"]
    with sessions() as session:
        available = _available(session)
        faulty = _submit(session, officer, store, household, outcome="faulty", imei=imei(60))
        assert session.get(Lot, "LOT-A", populate_existing=True).faulty == 1  # type: ignore
        assert _available(session) == available - 1
        allocation = session.get(AllocationRow, (store.round_id, household),
                                 populate_existing=True)
        assert allocation is not None and allocation.handed_over_at is None
        assert allocation.released_at is None
        # the faulty phone cannot be handed to anyone; another device of the lot can
        _refused(lambda: _submit(session, officer, store, household, imei=imei(60)), "imei")
        done = _submit(session, officer, store, household, imei=imei(61))
        assert done.outcome == "handed" and faulty.outcome == "faulty"


def test_faulty_without_a_spare_device_is_refused(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    with sessions() as session:
        session.execute(update(Lot).where(Lot.id == "LOT-A").values(quantity=len(store.codes)))
        session.commit()
        assert _available(session) == 0
        before = fingerprint(session.get_bind())  # type: ignore[arg-type]
        error = _refused(lambda: _submit(session, store.officers["P-SG"], store, household,
                                         outcome="faulty", imei=imei(60)), "outcome")
        assert "spare" in error.english
        assert fingerprint(session.get_bind()) == before  # type: ignore[arg-type]


def test_a_refusal_releases_the_phone_to_stock_and_its_undo_takes_it_back(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    officer = store.officers["P-SG"]
    with sessions() as session:
        available = _available(session)
        _refused(lambda: _submit(session, officer, store, household, outcome="refused",
                                 imei=imei(3)), "imei")
        refused = _submit(session, officer, store, household, outcome="refused", imei="",
                          note="Hộ đã có điện thoại")
        assert _available(session) == available + 1
        allocation = session.get(AllocationRow, (store.round_id, household),
                                 populate_existing=True)
        assert allocation is not None and allocation.released_at is not None
        _refused(lambda: _submit(session, officer, store, household,
                                 idempotency_key="after-refusal"), None)
        point_desk.undo(session, officer, refused.id, "household changed its mind")
        assert _available(session) == available
        assert _submit(session, officer, store, household, idempotency_key="back-again")


# --- idempotency -------------------------------------------------------------------------


def test_the_same_key_returns_the_first_record(made: Any) -> None:
    sessions, store = made
    household, other = at_point(store, "P-SG")[:2]
    officer = store.officers["P-SG"]
    with sessions() as session:
        first = _submit(session, officer, store, household, idempotency_key="form-0001")
        again = _submit(session, officer, store, household, idempotency_key="form-0001")
        assert again.id == first.id
        assert session.scalar(select(func.count()).select_from(Handover)) == 1
        assert len(_entries(session, "record handover")) == 1
        _refused(lambda: _submit(session, officer, store, other, idempotency_key="form-0001"),
                 "idempotency_key")
        for key in ("short", "has space x", "x" * 65, "ключ-0001"):
            _refused(lambda k=key: _submit(session, officer, store, other, idempotency_key=k),
                     "idempotency_key")


def test_a_key_sent_by_another_officer_shows_nothing_of_its_record(made: Any) -> None:
    """An officer of another point who sends a used key (with its household) is refused
    before the record of a household not theirs is returned; a planner too, and a
    colleague of the same point, since a key belongs to one person's form."""
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    with sessions() as session:
        first = _submit(session, store.officers["P-SG"], store, household,
                        idempotency_key="form-0003")
        colleague, _ = add_user(session, "colleague-P-SG", "point", None, "setup",
                                points=["P-SG"])
        for someone in (store.officers["P-OTHER"], store.planner, colleague):
            _refused(lambda u=someone: _submit(session, u, store, household,
                                               idempotency_key="form-0003"),
                     "idempotency_key")
        assert session.scalar(select(func.count()).select_from(Handover)) == 1
        assert _submit(session, store.officers["P-SG"], store, household,
                       idempotency_key="form-0003").id == first.id


def test_a_raced_key_is_answered_by_the_index_with_the_first_record(
        made: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    officer = store.officers["P-SG"]
    with sessions() as session:
        first = _submit(session, officer, store, household, idempotency_key="form-0002")
        real = point_desk._by_key
        calls: list[int] = []

        def late(session: Session, key: str | None) -> Handover | None:
            calls.append(1)
            return None if len(calls) == 1 else real(session, key)

        monkeypatch.setattr(point_desk, "_by_key", late)
        # the allocation is handed already: without the key the desk would refuse it
        monkeypatch.setattr(point_desk, "already_handed", lambda: pytest.fail("not raced"))
        session.execute(update(AllocationRow).values(handed_over_at=None))
        session.commit()
        again = _submit(session, officer, store, household, idempotency_key="form-0002",
                        imei=imei(77))
        assert again.id == first.id
        assert session.scalar(select(func.count()).select_from(Handover)) == 1


def _race(sessions: sessionmaker[Session], work: Any, count: int = 2) -> list[Any]:
    start = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(at: int) -> None:
        with sessions() as session:
            start.wait()
            try:
                results[at] = work(session, at)
            except DeskError as error:
                results[at] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_a_form_sent_twice_at_once_records_once(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    with sessions() as session:
        officer = session.get(User, store.officers["P-SG"].id)
    results = _race(sessions, lambda session, _: _submit(
        session, officer, store, household, idempotency_key="form-race-1").id, 4)
    assert len(set(results)) == 1 and isinstance(results[0], int), results
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Handover)) == 1
        assert len(_entries(session, "record handover")) == 1


def test_two_officers_with_one_imei_at_once_record_it_once(made: Any) -> None:
    sessions, store = made
    households = at_point(store, "P-SG")[:2]
    with sessions() as session:
        officer = session.get(User, store.officers["P-SG"].id)
    results = _race(sessions, lambda session, at: _submit(
        session, officer, store, households[at], imei=imei(88)).id)
    records = [r for r in results if isinstance(r, int)]
    refusals = [r for r in results if isinstance(r, DeskError)]
    assert len(records) == 1 and len(refusals) == 1, results
    assert refusals[0].field == "imei"


# --- undo --------------------------------------------------------------------------------


def test_undo_the_same_day_reverses_the_handover_and_is_audited(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    officer = store.officers["P-SG"]
    with sessions() as session:
        done = _submit(session, officer, store, household)
        _refused(lambda: point_desk.undo(session, officer, done.id, ""), "reason")
        undone = point_desk.undo(session, officer, done.id, "nhầm hộ")
        assert undone.undone_at is not None and undone.undo_reason == "nhầm hộ"
        assert undone.undone_by == "officer-P-SG"
        allocation = session.get(AllocationRow, (store.round_id, household),
                                 populate_existing=True)
        assert allocation is not None and allocation.handed_over_at is None
        assert point_desk.undo(session, officer, done.id, "again").id == done.id
        entries = _entries(session, "undo handover")
        assert len(entries) == 1 and entries[0].actor == "officer-P-SG"
        assert entries[0].detail["reason"] == "nhầm hộ"
        row = point_desk.get(session, officer, store.round_id, household)
        assert row.handover_id is None and row.outcome is None
        again = _submit(session, officer, store, household, idempotency_key="again-0001")
        assert again.id != done.id


def test_undo_of_faulty_gives_the_device_back_to_the_count(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    officer = store.officers["P-SG"]
    with sessions() as session:
        faulty = _submit(session, officer, store, household, outcome="faulty", imei="")
        point_desk.undo(session, officer, faulty.id, "máy chạy được sau khi sạc")
        assert session.get(Lot, "LOT-A", populate_existing=True).faulty == 0  # type: ignore


def test_undo_next_day_or_by_another_officer_is_refused(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    officer = store.officers["P-SG"]
    with sessions() as session:
        done = _submit(session, officer, store, household)
        colleague, _ = add_user(session, "colleague", "point", None, "setup", points=["P-SG"])
        with pytest.raises(NotYours):
            point_desk.undo(session, colleague, done.id, "not mine")
        with pytest.raises(NotHere):
            point_desk.undo(session, store.officers["P-BT"], done.id, "not my point")
        with pytest.raises(NotFound):
            point_desk.undo(session, officer, done.id + 100, "no such")
        yesterday = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
        session.execute(update(Handover).where(Handover.id == done.id).values(at=yesterday))
        session.commit()
        before = fingerprint(session.get_bind())  # type: ignore[arg-type]
        error = _refused(lambda: point_desk.undo(session, officer, done.id, "too late"), None)
        assert "day" in error.english
        assert fingerprint(session.get_bind()) == before  # type: ignore[arg-type]
        # a planner is held to the same day too
        _refused(lambda: point_desk.undo(session, store.planner, done.id, "too late"), None)


def test_the_vietnam_day_turns_at_midnight_in_ho_chi_minh_city() -> None:
    late_evening = dt.datetime(2026, 3, 1, 16, 59)  # UTC: 23:59 in Vietnam
    after_midnight = dt.datetime(2026, 3, 1, 17, 0)  # UTC: 00:00 the next day in Vietnam
    assert point_desk.vietnam_day(late_evening) == dt.date(2026, 3, 1)
    assert point_desk.vietnam_day(after_midnight) == dt.date(2026, 3, 2)


def test_the_ledger_holds_after_every_move(made: Any) -> None:
    sessions, store = made
    households = at_point(store, "P-SG")
    officer = store.officers["P-SG"]
    with sessions() as session:
        a = _submit(session, officer, store, households[0])
        b = _submit(session, officer, store, households[1], outcome="faulty", imei="")
        c = _submit(session, officer, store, households[2], outcome="refused", imei="")
        ledger.check(session)
        for record in (a, b, c):
            point_desk.undo(session, officer, record.id, "test of the ledger")
            ledger.check(session)
