"""The SMS outbox on a real store (SQLite and PostgreSQL): the demo round's notices, the
needs-a-visit list, the portal's file and the results recorded from it."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from allocator.issues import InvalidInput
from allocator.notices import REQUIRED, Notice, facts_held, notice_texts
from allocator.phones import normalise_phone
from allocator.reference import hcmc_communes
from allocator.store.campaign import approve_round, replan_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.delivery import NeverExported, mark_exported, mark_from_file
from allocator.store.lifecycle import WrongState
from allocator.store.models import AllocationRow, AuditEntry, OutboxMessage
from allocator.store.outbox import (
    Form,
    MessageStatus,
    NotReady,
    export_notices,
    fill_outbox,
    message_key,
    needs_visit,
    status_counts,
)
from allocator.store.rounds import import_folder_as_round, solve_round
from scenarios.named import scenario
from tests.store.notice_store import LANDLINE, SHARED, approved_round, write_folder

# GSM 03.38, written out here on purpose (not taken from allocator.notices): the basic
# character set, and the extension table reached through the escape (two septets each).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà") - {"\x1b"}
GSM7_EXTENSION = set("\f^{}\\[~]|€")
# Phones no SMS can reach, as registries hold them (each refused by allocator.phones).
BAD_PHONES = ("", "028 3829 1234", "01234567890", "12345", "+1 202 555 0100", "091234567x",
              "0212345678", "912345678")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo scenario with every 250th household's phone made unusable."""
    folder = tmp_path_factory.mktemp("demo")
    tables = scenario("demo", 1)
    bad = tables.households.index[::250]
    tables.households.loc[bad, "phone"] = [BAD_PHONES[i % len(BAD_PHONES)]
                                           for i in range(len(bad))]
    tables.write(folder)
    return folder


@pytest.fixture()
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    prepare(engine)
    yield make_sessions(engine)
    engine.dispose()


def _septets(text: str) -> int:
    assert set(text) <= GSM7_BASIC | GSM7_EXTENSION, set(text) - GSM7_BASIC - GSM7_EXTENSION
    return sum(2 if c in GSM7_EXTENSION else 1 for c in text)


def _gsm7_parts(text: str) -> int:
    septets = _septets(text)
    return 1 if septets <= 160 else math.ceil(septets / 153)


def _ucs2_parts(text: str) -> int:
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def test_the_demo_round_notices(sessions: sessionmaker[Session], demo: Path) -> None:
    households = pd.read_csv(demo / "households.csv", dtype=str, keep_default_na=False)
    points = pd.read_csv(demo / "points.csv", dtype=str).set_index("point_id")["name"]
    lots = pd.read_csv(demo / "lots.csv", dtype=str).set_index("lot_id")["model"]
    phones = households.set_index("household_id")["phone"]
    with sessions() as session:
        row = import_folder_as_round(session, demo, "demo", "planner")
        solve_round(session, row.id, "planner")
        approve_round(session, row.id, "planner")
        report = fill_outbox(session, row.id, "planner")
        allocations = {a.household_id: a for a in session.scalars(
            select(AllocationRow).where(AllocationRow.round_id == row.id))}
        messages = list(session.scalars(select(OutboxMessage).where(
            OutboxMessage.round_id == row.id)))
        again = fill_outbox(session, row.id, "planner")

    # Every served household has a message or a visit, never both; filling again adds none.
    messaged = {m.household_id for m in messages}
    visited = {v.household_id for v in report.visits}
    assert report.added == len(messages) == report.messages and again.added == 0
    assert messaged | visited == set(allocations) and not messaged & visited
    # Exactly the served households without a valid mobile (and no code or window) visit.
    unusable = {h for h in allocations if normalise_phone(phones[h])[0] is None}
    no_window = {h for h, a in allocations.items() if a.window_day is None}
    assert unusable, "the corrupted phones must include served households"
    assert visited == unusable | no_window
    for visit in report.visits:
        if visit.household_id in unusable:
            assert visit.reason == normalise_phone(phones[visit.household_id])[1]
        assert visit.head_name and visit.commune and visit.point_name

    names = dict(zip(hcmc_communes()["commune_code"].astype(str), hcmc_communes()["name"]))
    for m in messages:
        a = allocations[m.household_id]
        assert m.phone == normalise_phone(phones[m.household_id])[0]
        # The unaccented form: pure GSM-7, at most 306 characters and 2 SMS.
        assert len(m.text_plain) <= 306 and _septets(m.text_plain) <= 306
        assert m.segments_plain == _gsm7_parts(m.text_plain) <= 2
        assert m.segments == _ucs2_parts(m.text)
        assert m.text.startswith(f"UBND {names[a.commune_code]}:")
        notice = Notice(commune=names[a.commune_code], point_id=a.point_id,
                        point_name=points[a.point_id], day=a.window_day,  # type: ignore[arg-type]
                        opens=a.window_start, closes=a.window_end,  # type: ignore[arg-type]
                        code=str(a.pickup_code), device=lots[a.lot_id])
        direct = notice_texts(notice)  # the fill makes texts in groups: the same ones
        assert (m.text, m.text_plain) == (direct.accented, direct.unaccented)
        plain, accented = facts_held(m.text_plain, notice), facts_held(m.text, notice)
        assert plain >= REQUIRED, (m.household_id, REQUIRED - plain)
        assert plain <= accented, (m.household_id, plain - accented)


def test_households_that_no_sms_reaches_and_the_idempotent_fill(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    with sessions() as session:
        round_id = approved_round(session, tmp_path / "round")
        # One household loses its window (its point was full): it is visited, not texted.
        late = session.get(AllocationRow, (round_id, "H03"))
        assert late is not None
        late.window_day = late.window_start = late.window_end = None
        session.commit()
        first = fill_outbox(session, round_id, "planner")
        second = fill_outbox(session, round_id, "planner")
        visits = needs_visit(session, round_id, "planner")
        phones = {h: p for h, p in session.execute(
            select(OutboxMessage.household_id, OutboxMessage.phone)
            .where(OutboxMessage.round_id == round_id))}
        fills = session.scalar(select(AuditEntry.id).where(AuditEntry.action == "fill outbox")
                               .order_by(AuditEntry.id.desc()))
    assert (first.added, first.messages, second.added, second.messages) == (6, 6, 0, 6)
    assert {v.household_id: v.reason for v in visits} == {
        LANDLINE: "The phone number is a landline (02x), which cannot receive SMS.",
        "H03": ("No pickup window has been given (the point's windows are full or not set); "
                "agree a time with the household.")}
    assert phones["H04"] == "0912345604" and phones[SHARED[0]] == phones[SHARED[1]]
    assert fills is not None


def test_a_round_without_codes_or_not_approved_gets_no_notices(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    with sessions() as session:
        row = import_folder_as_round(session, write_folder(tmp_path / "r"), "r", "planner")
        solve_round(session, row.id, "planner")
        with pytest.raises(WrongState):
            fill_outbox(session, row.id, "planner")
        approve_round(session, row.id, "planner")
        for a in session.scalars(select(AllocationRow).where(AllocationRow.round_id == row.id)):
            a.pickup_code = None
        session.commit()
        with pytest.raises(NotReady, match="no pickup codes yet"):
            fill_outbox(session, row.id, "planner")


def test_the_portal_file_in_both_forms(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    with sessions() as session:
        round_id = approved_round(session, tmp_path / "round")
        csv, rows = export_notices(session, round_id, "planner")
        xlsx, _ = export_notices(session, round_id, "planner", form=Form.ACCENTED,
                                 file_format="xlsx")
        stored = session.execute(select(OutboxMessage.phone, OutboxMessage.text_plain,
                                        OutboxMessage.text).order_by(OutboxMessage.id)).all()
        audited = list(session.scalars(select(AuditEntry).where(
            AuditEntry.action == "export notices")))
    assert csv.startswith(b"\xef\xbb\xbf") and rows == len(stored) == 7
    table = pd.read_csv(io.BytesIO(csv), dtype=str, encoding="utf-8-sig")
    assert list(table.columns) == ["phone", "message"]
    assert table.values.tolist() == [[p, plain] for p, plain, _ in stored]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).worksheets[0]
    cells = list(sheet.iter_rows(values_only=False))
    assert [c.value for c in cells[0]] == ["phone", "message"]
    assert [[c.value for c in r] for r in cells[1:]] == [[p, text] for p, _, text in stored]
    assert all(c.data_type == "s" for r in cells for c in r)  # "09..." stays text
    assert [e.detail["rows"] for e in audited] == [7, 7]


def test_results_from_a_file_are_all_or_nothing(sessions: sessionmaker[Session],
                                                 tmp_path: Path) -> None:
    with sessions() as session:
        round_id = approved_round(session, tmp_path / "round")
        fill_outbox(session, round_id, "planner")
        before = _outbox(session)
        bad = tmp_path / "bad.csv"
        bad.write_text("Phone,Status,Error\n"
                       "0901234500,sent,\n"
                       "0901234599,sent,\n"  # no notice went there
                       "028 3829 1234,sent,\n"  # not a mobile
                       "0901234501,maybe,\n"
                       ",failed,\n"
                       "0901234502,sent,\n"
                       "0901234502,failed,busy\n", encoding="utf-8")
        with pytest.raises(InvalidInput) as refused:
            mark_from_file(session, round_id, bad, "planner")
        assert _outbox(session) == before
        good = tmp_path / "good.csv"
        key = message_key(round_id, "H01")
        good.write_text("id,phone,status,error\n"
                        ",0901234500,Sent,\n"
                        f"{key},,failed,  Thuê bao \x00 tạm khóa \n"
                        ",+84 988 000 111,thành công,\n"
                        "\n", encoding="utf-8-sig")
        marked = mark_from_file(session, round_id, good, "planner")
        after = {h: (s, e) for h, s, e, _ in _outbox(session)}
    assert [str(i) for i in refused.value.issues] == [
        "bad.csv, row 3, column Phone: no notice of round 1 went to this number",
        "bad.csv, row 4, column Phone: The phone number is a landline (02x), which cannot "
        "receive SMS.",
        "bad.csv, row 5, column Status: must be sent or failed (got 'maybe')",
        "bad.csv, row 6, column Phone: is empty: give the phone number (or the message id)",
        "bad.csv, row 8, column Status: says failed for a message row 7 says sent",
    ]
    assert (marked.sent, marked.failed) == (3, 1)  # the shared phone marks both its messages
    assert after["H00"] == after[SHARED[0]] == after[SHARED[1]] == ("sent", "")
    assert after["H01"] == ("failed", "Thuê bao tạm khóa")
    assert after["H02"] == ("pending", "")


def test_results_from_a_workbook_with_the_portal_s_own_headers(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["STT", "Số điện thoại", "Trạng thái", "Lỗi"], [1, 901234500, "Thành công", ""],
                [2, "84901234501", "THẤT BẠI", "Thuê bao\n không  liên lạc được"]):
        sheet.append(row)
    book.save(tmp_path / "ket-qua.xlsx")
    with sessions() as session:
        round_id = approved_round(session, tmp_path / "round")
        fill_outbox(session, round_id, "planner")
        with pytest.raises(InvalidInput, match="1 problem"):  # 901234500: lost its 0
            mark_from_file(session, round_id, tmp_path / "ket-qua.xlsx", "planner")
        sheet["B2"] = "0901234500"
        book.save(tmp_path / "ket-qua.xlsx")
        marked = mark_from_file(session, round_id, tmp_path / "ket-qua.xlsx", "planner")
        after = {h: (s, e) for h, s, e, _ in _outbox(session)}
    assert (marked.sent, marked.failed) == (1, 1)
    assert after["H00"] == ("sent", "") and after["H01"] == (
        "failed", "Thuê bao không liên lạc được")


def test_marking_every_exported_message_sent(sessions: sessionmaker[Session],
                                             tmp_path: Path) -> None:
    failed = tmp_path / "failed.csv"
    failed.write_text("phone,status,error\n0901234501,failed,busy\n", encoding="utf-8")
    with sessions() as session:
        round_id = approved_round(session, tmp_path / "round")
        fill_outbox(session, round_id, "planner")
        with pytest.raises(NeverExported):
            mark_exported(session, round_id, "planner")
        mark_from_file(session, round_id, failed, "planner")
        # Without the failed one; then with it: it is handed to the portal again (pending).
        assert export_notices(session, round_id, "planner",
                              statuses=[MessageStatus.PENDING])[1] == 6
        assert _outbox(session)[1][1:3] == ("failed", "busy")
        assert export_notices(session, round_id, "planner")[1] == 7
        assert _outbox(session)[1][1:3] == ("pending", "busy")
        assert mark_exported(session, round_id, "planner") == 7
        assert mark_exported(session, round_id, "planner") == 0
        counts = status_counts(session, round_id)
        outbox = _outbox(session)
    assert counts["sent"].messages == 7 and counts["pending"].messages == 0
    assert counts["sent"].segments_plain >= 7
    assert all(s == "sent" and e == "" and at is not None for _, s, e, at in outbox)


def _outbox(session: Session, round_id: int = 1) -> list[tuple[str, str, str, object]]:
    session.expire_all()
    return [tuple(r) for r in session.execute(  # type: ignore[misc]
        select(OutboxMessage.household_id, OutboxMessage.status, OutboxMessage.error,
               OutboxMessage.sent_at).where(OutboxMessage.round_id == round_id)
        .order_by(OutboxMessage.household_id))]


def test_a_replan_does_not_send_again_what_households_were_told(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    results = tmp_path / "results.csv"
    results.write_text("phone,status\n0901234501,failed\n", encoding="utf-8")
    with sessions() as session:
        first = approved_round(session, tmp_path / "round")
        export_notices(session, first, "planner")
        mark_from_file(session, first, results, "planner")
        mark_exported(session, first, "planner")  # the rest went
        version = replan_round(session, first, "planner", withdraw=["H00"])
        solve_round(session, version.id, "planner")
        approve_round(session, version.id, "planner")
        report = fill_outbox(session, version.id, "planner")
        with pytest.raises(WrongState):  # a superseded round's notices are not sent
            export_notices(session, first, "planner")
        statuses = {h: s for h, s, _, _ in _outbox(session, version.id)}
    assert report.added == 6
    assert statuses == {"H01": "pending", "H02": "sent", "H03": "sent", "H04": "sent",
                        "H05": "sent", "H06": "sent"}
