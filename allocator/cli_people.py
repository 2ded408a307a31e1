"""`allocator user`, `allocator token` and `allocator audit`: people, tokens and the audit log.

People get a one-time link to set their password (`user add`, `user link`);
machine clients get API tokens (`token add`), shown once, expiring after 90
days unless told otherwise. A mistake of the operator's is one sentence on
stderr and exit code 2; nothing is written then.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.cli_store import ACTOR, open_store
from allocator.store.audit import verify
from allocator.store.models import User
from allocator.store.users import (
    LINK_HOURS,
    TOKEN_DAYS,
    PeopleError,
    add_token,
    create_user,
    list_tokens,
    new_password_link,
    revoke_token,
    revoke_user,
    rotate_token,
    set_password,
)

BASE_URL_ENV = "ALLOCATOR_BASE_URL"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
user_app = typer.Typer(no_args_is_help=True, help="People who sign in to the pages.")
token_app = typer.Typer(no_args_is_help=True, help="API tokens of machine clients.")
audit_app = typer.Typer(no_args_is_help=True, help="The audit log.")

BaseUrl = Annotated[str | None, typer.Option(
    help=f"Address of the pages in the link (default: ${BASE_URL_ENV}, else "
         f"{DEFAULT_BASE_URL}).")]
Hours = Annotated[int, typer.Option(help="Hours the link works.", min=1, max=24 * 30)]
Days = Annotated[int, typer.Option(help="Days the token works.")]


def _fail(message: str) -> None:
    err.print(message, markup=False, soft_wrap=True)
    raise typer.Exit(2)


def password_link(token: str, base_url: str | None = None) -> str:
    base = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
    return f"{base}/set-password?t={token}"


def demo_accounts(session: Session, sponsor_id: str, point_id: str) -> dict[str, str]:
    """`make demo`'s planner, sponsor and point officer (at `point_id`), each with a fresh
    random password, by name.

    A password is printed rather than a one-time link so a newcomer can sign in
    at once; the demo store is local and made anew by every `make demo`.
    """
    accounts = {}
    for name, role, sponsor, points in (("demo-planner", "planner", None, ()),
                                        ("demo-sponsor", "sponsor", sponsor_id, ()),
                                        ("demo-point", "point", None, (point_id,))):
        create_user(session, name, role, sponsor, ACTOR, points=points)
        accounts[name] = secrets.token_urlsafe(12)
        set_password(session, name, accounts[name], ACTOR)
    return accounts


def demo_sign_in(accounts: dict[str, str], sponsor_id: str, point_id: str, store: Path) -> str:
    """What the demo prints last: where to go and how to sign in."""
    planner, sponsor = accounts["demo-planner"], accounts["demo-sponsor"]
    return (f"\nWeb pages: make serve, then open {DEFAULT_BASE_URL}/login and sign in as\n"
            f"  planner: name demo-planner, password {planner}\n"
            f"  sponsor ({sponsor_id}): name demo-sponsor, password {sponsor}\n"
            f"  point officer ({point_id}, on a phone: /point): name demo-point, password "
            f"{accounts['demo-point']}\n"
            f"These accounts belong to the demo store {store}: it is local and throwaway "
            "(the next 'make demo' replaces it). Real people get a one-time link from "
            "'allocator user add NAME --role planner' instead.")


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else ""


@user_app.command("add")
def user_add(name: Annotated[str, typer.Argument()],
             role: Annotated[str, typer.Option(help="planner, sponsor or point")] = "planner",
             sponsor: Annotated[str | None, typer.Option(help="sponsor id (sponsors)")] = None,
             point: Annotated[list[str] | None, typer.Option(
                 help="a distribution point the officer works at (point officers; repeat "
                      "for several)")] = None,
             base_url: BaseUrl = None, hours: Hours = LINK_HOURS) -> None:
    """Add a person and print their one-time link to set a password."""
    with open_store() as session:
        try:
            user, link = create_user(session, name, role, sponsor, ACTOR, hours,
                                     points=point or ())
        except PeopleError as error:
            _fail(str(error))
    who = f"{user.role}" + (f" of {user.sponsor_id}" if user.sponsor_id else "") + (
        f" at {', '.join(sorted(set(point)))}" if point else "")
    out.print(f"{user.name} ({who}) added. Send them this link to set their password; it "
              f"works once, for {hours} hours:", markup=False, soft_wrap=True)
    out.print(password_link(link, base_url), markup=False, soft_wrap=True)


@user_app.command("link")
def user_link(name: Annotated[str, typer.Argument()], base_url: BaseUrl = None,
              hours: Hours = LINK_HOURS) -> None:
    """Print a new one-time link to set a password (earlier unused links stop working)."""
    with open_store() as session:
        try:
            link = new_password_link(session, name, ACTOR, hours)
        except PeopleError as error:
            _fail(str(error))
    out.print(f"link for {name} (works once, for {hours} hours):", markup=False)
    out.print(password_link(link, base_url), markup=False, soft_wrap=True)


@user_app.command("list")
def user_list() -> None:
    """The people and clients in the store (never a password or token)."""
    table = Table("name", "role", "sponsor", "password", "state", "created")
    with open_store() as session:
        for user in session.scalars(select(User).order_by(User.name)):
            table.add_row(user.name, user.role, user.sponsor_id or "",
                          "set" if user.password_hash else "not set",
                          "revoked" if user.disabled else "active", _when(user.created_at))
    out.print(table)


@user_app.command("revoke")
def user_revoke(name: Annotated[str, typer.Argument()]) -> None:
    """Disable a user: their tokens, links and browser sessions stop working at once."""
    with open_store() as session:
        try:
            revoke_user(session, name, ACTOR)
        except PeopleError as error:
            _fail(str(error))
    out.print(f"{name} revoked: signed out everywhere, tokens revoked", markup=False)


@token_app.command("add")
def token_add(user: Annotated[str, typer.Argument(help="the user the client acts for")],
              days: Days = TOKEN_DAYS) -> None:
    """Add an API token and print it (shown only this once)."""
    with open_store() as session:
        try:
            row, token = add_token(session, user, ACTOR, days)
        except PeopleError as error:
            _fail(str(error))
    out.print(f"token {row.id} for {user}, expires {_when(row.expires_at)} UTC "
              "(shown only now; keep it secret):", markup=False)
    out.print(token, markup=False)


@token_app.command("list")
def token_list(user: Annotated[str | None, typer.Argument(help="one user only")] = None
               ) -> None:
    """Tokens with their user, dates and state (never the token itself)."""
    table = Table("id", "user", "created (UTC)", "expires (UTC)", "revoked")
    with open_store() as session:
        try:
            rows = list_tokens(session, user)
        except PeopleError as error:
            _fail(str(error))
        for token, owner in rows:
            table.add_row(str(token.id), owner.name, _when(token.created_at),
                          _when(token.expires_at), "yes" if token.revoked else "no")
    out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="id from 'token list'")]) -> None:
    """Revoke a token; its user's browser sessions end too."""
    with open_store() as session:
        try:
            revoke_token(session, token_id, ACTOR)
        except PeopleError as error:
            _fail(str(error))
    out.print(f"token {token_id} revoked", markup=False)


@token_app.command("rotate")
def token_rotate(token_id: Annotated[int, typer.Argument(help="id from 'token list'")],
                 days: Days = TOKEN_DAYS) -> None:
    """Revoke a token and print its replacement (shown only this once)."""
    with open_store() as session:
        try:
            row, token = rotate_token(session, token_id, ACTOR, days)
        except PeopleError as error:
            _fail(str(error))
    out.print(f"token {token_id} revoked; token {row.id} replaces it, expires "
              f"{_when(row.expires_at)} UTC (shown only now; keep it secret):", markup=False)
    out.print(token, markup=False)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain: exit 1 naming the first entry that does not hold."""
    with open_store() as session:
        verdict = verify(session)
    if not verdict.intact:
        err.print(f"audit entry {verdict.bad_id}: {verdict.reason}; {verdict.checked:,} "
                  "entries before it hold", markup=False, soft_wrap=True)
        raise typer.Exit(1)
    out.print(f"{verdict.checked:,} entries, chain intact (head {verdict.head})", markup=False)
