"""People and tokens: one-time links, passwords, token expiry, revoke and rotate, the CLI."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.models import ApiToken, AuditEntry, Lot, PasswordLink, Sponsor, User
from allocator.store.sign_in import sign_in, start_session, user_for_session
from allocator.store.users import (
    PeopleError,
    add_token,
    create_user,
    link_user,
    revoke_token,
    revoke_user,
    rotate_token,
    set_password_with_link,
    user_for_token,
)

ALLOCATOR = Path(sys.executable).parent / "allocator"
GOOD = "a-long-pass-phrase"


@pytest.fixture()
def store(db_url: str) -> Iterator[Session]:
    """A fresh store holding one sponsor, OP01, known by its lot."""
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        session.add(Sponsor(id="OP01", name="Operator 1"))
        session.flush()
        session.add(Lot(id="L1", sponsor_id="OP01", model="A", network="4G", quantity=5,
                        unit_price_vnd=1, sponsor_subsidy_vnd=0))
        session.commit()
        yield session
    engine.dispose()


def test_a_link_sets_the_first_password_once_and_then_expires(store: Session) -> None:
    user, link = create_user(store, "lan", "planner", None, "test")
    assert user.password_hash == "" and link_user(store, link) is not None
    stored = store.scalars(select(PasswordLink.token_hash)).all()
    assert link not in stored  # kept hashed
    with pytest.raises(PeopleError, match="at least 10"):
        set_password_with_link(store, link, "short")
    set_password_with_link(store, link, GOOD)
    assert user.password_hash.startswith("$argon2id$") and GOOD not in user.password_hash
    with pytest.raises(PeopleError, match="used or expired"):
        set_password_with_link(store, link, "another-long-one")  # single use
    _, late = create_user(store, "mai", "planner", None, "test", link_hours=72)
    store.execute(update(PasswordLink).values(expires_at=dt.datetime(2000, 1, 1)))
    store.commit()
    with pytest.raises(PeopleError, match="used or expired"):
        set_password_with_link(store, late, GOOD)
    assert sign_in(store, "lan", GOOD, "10.0.0.1").user is not None
    assert sign_in(store, "lan", "a-wrong-pass-phrase", "10.0.0.1").user is None
    assert sign_in(store, "mai", "", "10.0.0.1").user is None  # no password set yet


def test_common_or_too_easy_passwords_are_refused(store: Session) -> None:
    _, link = create_user(store, "thanh-nguyen", "planner", None, "test")
    for weak in ("1234567890", "password123", "aaaaaaaaaaaa", "thanh-nguyen-2026"):
        with pytest.raises(PeopleError, match="too easy"):
            set_password_with_link(store, link, weak)


def test_a_sponsor_user_must_name_a_sponsor_the_store_knows(store: Session) -> None:
    with pytest.raises(PeopleError, match="no sponsor 'NOPE'"):
        create_user(store, "vt", "sponsor", "NOPE", "test")
    with pytest.raises(PeopleError, match="needs --sponsor"):
        create_user(store, "vt", "sponsor", None, "test")
    with pytest.raises(PeopleError, match="role must be"):
        create_user(store, "vt", "admin", None, "test")
    with pytest.raises(PeopleError, match="1 to 100"):
        create_user(store, "a\tb", "planner", None, "test")
    create_user(store, "vt", "sponsor", "OP01", "test")
    with pytest.raises(PeopleError, match="already exists"):
        create_user(store, "vt", "sponsor", "OP01", "test")
    assert store.scalar(select(User.sponsor_id).where(User.name == "vt")) == "OP01"


def test_tokens_expire_and_can_be_revoked_and_rotated(store: Session) -> None:
    create_user(store, "client", "planner", None, "test")
    first, token = add_token(store, "client", "test")
    assert (first.expires_at - first.created_at).days == 90
    assert store.scalar(select(ApiToken.token_hash).where(ApiToken.id == first.id)) != token
    assert user_for_token(store, token) is not None
    new, fresh = rotate_token(store, first.id, "test", days=5)
    assert user_for_token(store, token) is None and user_for_token(store, fresh) is not None
    assert (new.expires_at - new.created_at).days == 5
    with pytest.raises(PeopleError, match="is revoked"):
        rotate_token(store, first.id, "test")
    revoke_token(store, new.id, "test")
    assert user_for_token(store, fresh) is None
    with pytest.raises(PeopleError, match="already revoked"):
        revoke_token(store, new.id, "test")
    with pytest.raises(PeopleError, match="no token 99"):
        revoke_token(store, 99, "test")
    with pytest.raises(PeopleError, match="--days"):
        add_token(store, "client", "test", days=0)
    old, stale = add_token(store, "client", "test", days=1)
    store.execute(update(ApiToken).where(ApiToken.id == old.id)
                  .values(expires_at=dt.datetime.now(dt.UTC).replace(tzinfo=None)
                          - dt.timedelta(seconds=1)))
    store.commit()
    assert user_for_token(store, stale) is None  # expired


def test_revoking_a_token_or_a_user_ends_their_browser_sessions(store: Session) -> None:
    user, link = create_user(store, "lan", "planner", None, "test")
    set_password_with_link(store, link, GOOD)
    row, token = add_token(store, "lan", "test")
    browser = start_session(store, user)
    assert user_for_session(store, browser) is not None
    revoke_token(store, row.id, "test")
    assert user_for_session(store, browser) is None
    again = sign_in(store, "lan", GOOD, "10.0.0.2").session_id
    _, other = add_token(store, "lan", "test")
    revoke_user(store, "lan", "test")
    assert user_for_session(store, again) is None and user_for_token(store, other) is None
    assert sign_in(store, "lan", GOOD, "10.0.0.2").user is None
    with pytest.raises(PeopleError, match="revoked"):
        add_token(store, "lan", "test")
    actions = store.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    for done in ("add user", "set password", "add token", "revoke token", "sign in",
                 "revoke user", "sign in failed"):
        assert done in actions, done


@pytest.fixture()
def cli(db_url: str, store: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    from allocator import cli

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("ALLOCATOR_BASE_URL", "https://dientu.example.vn/")
    cli._store_commands()
    yield CliRunner()


def _run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    from allocator import cli

    result = runner.invoke(cli.app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_the_people_commands(cli: CliRunner) -> None:
    code, out, _ = _run(cli, "user", "add", "lan", "--role", "planner")
    assert code == 0
    link = re.search(r"https://dientu\.example\.vn/set-password\?t=(\S+)", out)
    assert link, out
    code, _, err = _run(cli, "user", "add", "vt", "--role", "sponsor", "--sponsor", "NOPE")
    assert code == 2 and "no sponsor 'NOPE'" in err
    assert _run(cli, "user", "add", "vt", "--role", "sponsor")[0] == 2
    assert _run(cli, "user", "add", "vt", "--role", "sponsor", "--sponsor", "OP01")[0] == 0
    code, out, _ = _run(cli, "token", "add", "vt", "--days", "30")
    token = out.strip().splitlines()[-1]
    assert code == 0 and re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    code, listed, _ = _run(cli, "token", "list")
    assert code == 0 and "vt" in listed and token not in listed
    assert _run(cli, "token", "list", "nobody")[0] == 2
    code, out, _ = _run(cli, "token", "rotate", "1")
    assert code == 0 and "token 2 replaces it" in out
    assert _run(cli, "token", "revoke", "1")[0] == 2  # already revoked by the rotation
    assert _run(cli, "token", "revoke", "2")[0] == 0
    assert _run(cli, "token", "revoke", "12345678901234")[0] == 2
    assert _run(cli, "token", "add", "vt", "--days", "0")[0] == 2
    code, out, _ = _run(cli, "user", "link", "lan")
    assert code == 0 and "set-password?t=" in out and link.group(1) not in out
    assert _run(cli, "user", "revoke", "vt")[0] == 0
    assert _run(cli, "user", "revoke", "vt")[0] == 2
    code, out, _ = _run(cli, "user", "list")
    assert code == 0 and "revoked" in out
    code, out, _ = _run(cli, "audit", "verify")
    assert code == 0 and "chain intact" in out


def test_an_unknown_sponsor_is_one_sentence_and_exit_2_from_the_shell(tmp_path: Path,
                                                                       db_url: str) -> None:
    done = subprocess.run([str(ALLOCATOR), "user", "add", "vt", "--role", "sponsor",
                           "--sponsor", "NOPE"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": db_url}, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("There is no sponsor 'NOPE'")
