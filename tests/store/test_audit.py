"""The audit log's hash chain: verify finds edits, deletions and swaps; writers never fork it."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.exc import DBAPIError

from allocator.store import audit
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.models import AuditEntry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    made = make_engine(db_url)
    prepare(made)
    yield made
    made.dispose()


def _write(engine: Engine, count: int, actor: str = "lan") -> None:
    with make_sessions(engine)() as session:
        for n in range(count):
            audit.record(session, actor, "download handover list", f"round {n}",
                         {"rows": n, "point": None, "tên": "Phường Bến Thành", "share": 0.25})
            session.commit()


def _verify(engine: Engine) -> audit.Verdict:
    with make_sessions(engine)() as session:
        return audit.verify(session, batch=2)  # small batches: the paging is walked too


def _tamper(engine: Engine, *statements: object) -> None:
    """Change the log behind the application's back (on PostgreSQL, past its trigger)."""
    with engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        for statement in statements:
            connection.execute(statement)  # type: ignore[call-overload]
        if postgres:
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def _row(engine: Engine, entry_id: int) -> dict[str, object]:
    with make_sessions(engine)() as session:
        entry = session.get(AuditEntry, entry_id)
        assert entry is not None
        return {c.name: getattr(entry, c.name) for c in AuditEntry.__table__.columns}


def test_verify_finds_an_edited_a_deleted_and_a_swapped_entry(engine: Engine) -> None:
    _write(engine, 6)
    verdict = _verify(engine)
    assert verdict.intact and verdict.checked == 6
    table = AuditEntry.__table__

    second = _row(engine, 2)
    _tamper(engine, update(table).where(table.c.id == 2).values(actor="someone else"))
    assert _verify(engine).bad_id == 2  # edited
    _tamper(engine, update(table).where(table.c.id == 2).values(actor=second["actor"]))
    assert _verify(engine).intact

    third = _row(engine, 3)
    _tamper(engine, update(table).where(table.c.id == 3)
            .values(at=dt.datetime(2026, 1, 1, 8, 0)))
    assert _verify(engine).bad_id == 3  # its time changed
    _tamper(engine, update(table).where(table.c.id == 3).values(at=third["at"]))

    fourth = _row(engine, 4)
    _tamper(engine, delete(table).where(table.c.id == 4))
    verdict = _verify(engine)
    assert verdict.bad_id == 5 and "deleted" in verdict.reason
    _tamper(engine, table.insert().values(**fourth))
    assert _verify(engine).intact


def test_a_swap_shows_at_the_first_moved_entry(engine: Engine) -> None:
    _write(engine, 4)
    table = AuditEntry.__table__
    second, third = _row(engine, 2), _row(engine, 3)
    _tamper(engine, delete(table).where(table.c.id.in_((2, 3))),
            table.insert().values(**{**third, "id": 2}),
            table.insert().values(**{**second, "id": 3}))
    assert _verify(engine).bad_id == 2
    # Moving whole entries (ids too) in place of each other breaks the links instead.
    _tamper(engine, delete(table).where(table.c.id.in_((2, 3))),
            table.insert().values(**second), table.insert().values(**third))
    assert _verify(engine).intact
    _tamper(engine, update(table).where(table.c.id == 3).values(prev_hash=second["prev_hash"]))
    assert _verify(engine).bad_id == 3


def test_audit_verify_exits_1_naming_the_first_bad_entry(engine: Engine, db_url: str,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from typer.testing import CliRunner

    from allocator import cli

    _write(engine, 3)
    monkeypatch.setenv("DATABASE_URL", db_url)
    cli._store_commands()
    good = CliRunner().invoke(cli.app, ["audit", "verify"])
    assert good.exit_code == 0 and "3 entries, chain intact" in good.stdout
    table = AuditEntry.__table__
    _tamper(engine, update(table).where(table.c.id == 2).values(detail={"rows": 999}))
    bad = CliRunner().invoke(cli.app, ["audit", "verify"])
    assert bad.exit_code == 1 and "audit entry 2:" in bad.stderr


def test_postgresql_refuses_changes_and_on_sqlite_verify_finds_them(engine: Engine) -> None:
    _write(engine, 2)
    if engine.dialect.name != "postgresql":  # no trigger: the chain is SQLite's guard
        with engine.begin() as connection:
            connection.execute(text("UPDATE audit_log SET actor = 'x' WHERE id = 1"))
        assert _verify(engine).bad_id == 1
        return
    for statement in ("UPDATE audit_log SET actor = 'x' WHERE id = 1",
                      "DELETE FROM audit_log WHERE id = 2", "TRUNCATE audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert _verify(engine).checked == 2


def test_writers_at_the_same_time_never_fork_the_chain(engine: Engine) -> None:
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            _write(engine, 8, actor=f"writer {n}")
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    verdict = _verify(engine)
    assert verdict.intact and verdict.checked == 48
    with make_sessions(engine)() as session:
        assert session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all() == \
            list(range(1, 49))


def test_the_migration_links_the_entries_written_before_it(db_url: str) -> None:
    from alembic import command

    from allocator.store.migrate import _config

    engine = make_engine(db_url)
    with engine.begin() as connection:
        command.upgrade(_config(connection), "4b8e2f61d0a7")
    with engine.begin() as connection:
        for n in range(3):
            connection.execute(text(
                "INSERT INTO audit_log (at, actor, action, target, detail) "
                "VALUES (:at, 'cli', 'import lots', 'lots.csv', :detail)"),
                {"at": dt.datetime(2026, 11, 1, 8, n, 0, 123456), "detail": '{"inserted": 3}'})
        connection.execute(text("INSERT INTO users (name, role, created_at) "
                                "VALUES ('an', 'planner', :at)"), {"at": dt.datetime.now()})
        connection.execute(text(
            "INSERT INTO api_tokens (user_id, token_hash, created_at, revoked) "
            "VALUES (1, 'h', :at, :no)"), {"at": dt.datetime(2020, 1, 1), "no": False})
        connection.execute(text(
            "INSERT INTO web_sessions (id_hash, user_id, created_at, expires_at, ended) "
            "VALUES ('s', 1, :at, :until, :no)"),
            {"at": dt.datetime.now(), "until": dt.datetime(2100, 1, 1), "no": False})
    prepare(engine)
    verdict = _verify(engine)
    assert verdict.intact and verdict.checked == 3
    _write(engine, 1)
    assert _verify(engine).checked == 4
    with engine.connect() as connection:
        expires = connection.execute(text("SELECT expires_at FROM api_tokens")).scalar()
        ended = connection.execute(text("SELECT ended FROM web_sessions")).scalar()
    if isinstance(expires, str):
        expires = dt.datetime.fromisoformat(expires)
    assert expires > dt.datetime.now() + dt.timedelta(days=89)  # a full term from the upgrade
    assert ended  # sessions begun with a token on the old sign-in form
    engine.dispose()


def test_every_audit_entry_is_written_through_record() -> None:
    """`AuditEntry(` appears only where the chain is kept (and in the table's definition)."""
    allowed = {ROOT / "allocator/store/audit.py", ROOT / "allocator/store/models.py"}
    sources = [path for folder in ("allocator", "api", "scenarios")
               for path in (ROOT / folder).rglob("*.py")]
    found = [path.relative_to(ROOT).as_posix() for path in sources
             if path not in allowed and "AuditEntry(" in path.read_text(encoding="utf-8")]
    assert found == []
