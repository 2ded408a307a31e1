"""`allocator cases`: the cases planners resolve ("why not me?", "never received")."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from allocator.cli_store import ACTOR, _fail, open_store, out
from allocator.store import cases
from allocator.store.case_explain import explain

cases_app = typer.Typer(no_args_is_help=True,
                        help="Cases to resolve: \"why not me?\" and phones never received.")
CaseArg = Annotated[int, typer.Argument(min=1, max=2_147_483_647, help="the case's id")]
STATUSES = tuple(s.value for s in cases.CaseStatus)
KINDS = tuple(k.value for k in cases.CaseKind)


@cases_app.command("list")
def list_command(
        status: Annotated[str | None, typer.Option(help="open, answered or closed")] = None,
        kind: Annotated[str | None, typer.Option(help="why_not_me or never_received")] = None,
        commune: Annotated[str | None, typer.Option(help="a commune code")] = None,
        limit: Annotated[int, typer.Option(min=1, max=100_000)] = 200) -> None:
    """Cases, newest first, with how many are open, answered and closed."""
    if status is not None and status not in STATUSES:
        _fail(f"--status is one of {', '.join(STATUSES)} (got {status!r}).")
    if kind is not None and kind not in KINDS:
        _fail(f"--kind is one of {', '.join(KINDS)} (got {kind!r}).")
    with open_store() as session:
        total, rows = cases.list_cases(session, status=status, kind=kind, commune=commune,
                                       limit=limit)
        counts = cases.status_counts(session)
    table = Table("case", "kind", "household", "commune", "status", "opened", "by")
    for row in rows:
        table.add_row(str(row.id), row.kind, row.household_id, row.commune_code, row.status,
                      f"{row.opened_at:%Y-%m-%d}", row.opened_by)
    out.print(table)
    shown = f"{len(rows):,} of {total:,} shown; " if total > len(rows) else ""
    out.print(f"{shown}open {counts['open']:,}, answered {counts['answered']:,}, "
              f"closed {counts['closed']:,}")


@cases_app.command("show")
def show_command(case_id: CaseArg) -> None:
    """One case, and the engine's explanation of its household in every round."""
    with open_store() as session:
        try:
            case = cases.get_case(session, case_id)
        except cases.CaseError as error:
            _fail(f"{error}.")
        told = explain(session, case.household_id)
    out.print(f"[bold]case {case.id}[/bold] {case.kind}, {case.status}: household "
              f"{case.household_id}, commune {case.commune_code}"
              + (f", round {case.round_id}" if case.round_id else ""))
    out.print(f"opened {case.opened_at:%Y-%m-%d %H:%M} by {case.opened_by}", markup=False)
    for label, text in (("note", case.note), ("answer", case.answer),
                        ("correction", case.correction)):
        if text:
            out.print(f"{label}: {text}", markup=False)
    if case.closed_at:
        out.print(f"closed {case.closed_at:%Y-%m-%d} by {case.closed_by}", markup=False)
    out.print(told["summary_vi"], markup=False)
    out.print(told["summary_en"], markup=False)
    for entry in told["rounds"]:
        where = (f"served at {entry['point_id']} ({entry['state']})"
                 if entry["outcome"] == "served" else
                 f"not served: {entry['reason']}: {entry['detail']}"
                 if entry["outcome"] == "unserved" else "not in the round")
        out.print(f"  round {entry['round_id']} ({entry['round_status']}): {where}",
                  markup=False)


def _move(case_id: int, what: str) -> None:
    out.print(f"case {case_id} {what}.")


@cases_app.command("answer")
def answer_command(case_id: CaseArg,
                   text: Annotated[str, typer.Argument(help="the answer to give")]) -> None:
    """Answer a case (open or answered); it is then answered."""
    with open_store() as session:
        try:
            cases.answer_case(session, case_id, text, ACTOR)
        except cases.CaseError as error:
            _fail(f"{error}.")
    _move(case_id, "answered")


@cases_app.command("close")
def close_command(case_id: CaseArg) -> None:
    """Close an answered case."""
    with open_store() as session:
        try:
            cases.close_case(session, case_id, ACTOR)
        except cases.CaseError as error:
            _fail(f"{error}.")
    _move(case_id, "closed")


@cases_app.command("reopen")
def reopen_command(case_id: CaseArg,
                   reason: Annotated[str, typer.Argument(help="why it is opened again")]
                   ) -> None:
    """Open an answered or closed case again."""
    with open_store() as session:
        try:
            cases.reopen_case(session, case_id, reason, ACTOR)
        except cases.CaseError as error:
            _fail(f"{error}.")
    _move(case_id, "reopened")
