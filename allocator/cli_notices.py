"""`allocator notices`: the SMS notices of an approved round, from the terminal.

The outbox is filled (idempotently) by every command before it reads, so
`fill` is only needed to see what filling does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from allocator.cli_store import ACTOR, RoundArg, _fail, _problems, err, open_store, out
from allocator.issues import InvalidInput
from allocator.sms_sender import Refused, from_env
from allocator.store.audit import record_read
from allocator.store.delivery import mark_exported, mark_from_file, send_round
from allocator.store.lifecycle import RoundError
from allocator.store.outbox import (
    EXPORTABLE,
    Form,
    MessageStatus,
    export_notices,
    fill_outbox,
    needs_visit,
    status_counts,
    visits_csv,
    visits_xlsx,
)

notices_app = typer.Typer(no_args_is_help=True, help=(
    "SMS notices of an approved round: export for a brandname portal, record results, "
    "send through an HTTP gateway, list households that need a visit."))

FormOption = Annotated[str, typer.Option(
    "--form", help="plain: unaccented GSM-7, at most 2 SMS, shown by every gateway and "
                   "handset (the default); accented: proper Vietnamese, UCS-2, more SMS")]


def _form(text: str) -> Form:
    try:
        return Form(text.strip().lower())
    except ValueError:
        _fail(f"--form must be 'plain' or 'accented' (got {text!r})")
        raise  # unreachable: _fail exits


def _table_format(out_file: Path, given: str | None) -> str:
    suffix = out_file.suffix.lower().lstrip(".")
    chosen = (given or suffix).lower()
    if chosen not in ("csv", "xlsx"):
        _fail("--format must be csv or xlsx (or give --out a .csv or .xlsx name)")
    if suffix in ("csv", "xlsx") and suffix != chosen:
        _fail(f"--format {chosen} does not match the file name {out_file.name}")
    if not out_file.parent.is_dir():
        _fail(f"{out_file.parent}: no such folder; create it first or choose another --out")
    return chosen


@notices_app.command("fill")
def fill_command(round_id: RoundArg) -> None:
    """Write the round's missing notices (safe to run again: nothing is written twice)."""
    with open_store() as session:
        try:
            report = fill_outbox(session, round_id, ACTOR)
        except RoundError as error:
            _fail(str(error))
    out.print(f"round {round_id}: {report.added:,} notices added, {report.messages:,} in all; "
              f"{len(report.visits):,} households need a visit (allocator notices visits)")


@notices_app.command("export")
def export_command(
        round_id: RoundArg,
        out_file: Annotated[Path, typer.Option("--out", help="the file to write")],
        file_format: Annotated[str | None, typer.Option(
            "--format", help="csv (UTF-8 with BOM) or xlsx; default: from --out")] = None,
        form: FormOption = "plain",
        pending_only: Annotated[bool, typer.Option(
            "--pending-only", help="leave out messages that failed before")] = False) -> None:
    """Write the file SMS brandname portals import: two columns, phone and message."""
    chosen, kind = _form(form), _table_format(out_file, file_format)
    statuses = (MessageStatus.PENDING,) if pending_only else EXPORTABLE
    with open_store() as session:
        try:
            data, rows = export_notices(session, round_id, ACTOR, form=chosen,
                                        file_format=kind, statuses=statuses)
        except RoundError as error:
            _fail(str(error))
    out_file.write_bytes(data)
    out.print(f"{rows:,} messages ({chosen.value}) -> {out_file}; once the portal has sent "
              f"them: allocator notices mark-sent {round_id} RESULTS_FILE (or --all)")


@notices_app.command("mark-sent")
def mark_sent_command(
        round_id: RoundArg,
        results: Annotated[Path | None, typer.Argument(
            help="CSV or XLSX with a header: phone (or id), status (sent|failed), error "
                 "(optional)")] = None,
        every: Annotated[bool, typer.Option(
            "--all", help="mark sent every message of the last export not yet sent")] = False
) -> None:
    """Record what the portal sent: from a results file (all rows or none), or --all."""
    if (results is None) == (not every):
        _fail("give a results file or --all (not both)")
    with open_store() as session:
        try:
            if results is None:
                done = mark_exported(session, round_id, ACTOR)
                out.print(f"round {round_id}: {done:,} exported messages marked sent")
                return
            if not results.is_file():
                _fail(f"{results}: no such file")
            marked = mark_from_file(session, round_id, results, ACTOR)
        except InvalidInput as error:
            _problems(error)
        except RoundError as error:
            _fail(str(error))
    out.print(f"round {round_id}: {marked.sent:,} messages marked sent, "
              f"{marked.failed:,} failed")


@notices_app.command("visits")
def visits_command(
        round_id: RoundArg,
        out_file: Annotated[Path | None, typer.Option(
            "--out", help=".csv or .xlsx (default: a table on the screen)")] = None) -> None:
    """The households no SMS can reach (no valid mobile, no code or no window), and why."""
    if out_file is not None:
        _table_format(out_file, None)
    with open_store() as session:
        try:
            visits = needs_visit(session, round_id, ACTOR)
        except RoundError as error:
            _fail(str(error))
        if out_file is not None:
            out_file.write_bytes(visits_xlsx(visits) if out_file.suffix.lower() == ".xlsx"
                                 else visits_csv(visits))
        record_read(session, ACTOR, "download needs-a-visit list", f"round {round_id}",
                    {"rows": len(visits), "file": str(out_file or "")[:200]})
    if out_file is not None:
        out.print(f"{len(visits):,} households need a visit -> {out_file}")
        return
    table = Table("household", "head", "commune", "point", "reason")
    for v in visits:
        table.add_row(v.household_id, v.head_name, v.commune, v.point_id, v.reason)
    out.print(table)
    out.print(f"{len(visits):,} households need a visit")


@notices_app.command("status")
def status_command(round_id: RoundArg) -> None:
    """Messages by status, with their SMS segments in each form."""
    with open_store() as session:
        try:
            report = fill_outbox(session, round_id, ACTOR)
        except RoundError as error:
            _fail(str(error))
        counts = status_counts(session, round_id)
    table = Table("status", "messages", "SMS (plain)", "SMS (accented)")
    for status, c in counts.items():
        table.add_row(status, f"{c.messages:,}", f"{c.segments_plain:,}", f"{c.segments:,}")
    table.add_row("all", *(f"{sum(getattr(c, f) for c in counts.values()):,}"
                           for f in ("messages", "segments_plain", "segments")))
    out.print(table)
    out.print(f"needs a visit: {len(report.visits):,} households")


@notices_app.command("send")
def send_command(
        round_id: RoundArg,
        url: Annotated[str | None, typer.Option(
            help="the gateway's address (default: $ALLOCATOR_SMS_URL); a bearer token is "
                 "read from $ALLOCATOR_SMS_TOKEN")] = None,
        form: FormOption = "plain",
        limit: Annotated[int | None, typer.Option(
            min=1, help="send at most this many (a first test of a gateway)")] = None,
        tries: Annotated[int, typer.Option(min=1, max=20, help="POSTs per message at most")]
        = 5,
        base_delay: Annotated[float, typer.Option(
            min=0, max=60, help="seconds before the first retry, doubled each time")] = 1.0
) -> None:
    """POST pending and failed messages to the gateway; exit 1 if any could not be sent."""
    chosen = _form(form)
    try:
        sender = from_env(url, tries=tries, base_delay=base_delay,
                          max_delay=max(base_delay, 30.0))
    except Refused as error:
        _fail(str(error))
    with open_store() as session:
        try:
            report = send_round(session, round_id, sender, ACTOR, form=chosen, limit=limit)
        except (RoundError, Refused) as error:
            _fail(str(error))
    out.print(f"round {round_id}: {report.sent:,} sent, {report.failed:,} failed, "
              f"{report.left:,} not tried this time")
    if report.stopped:
        err.print(report.stopped, markup=False)
    if report.failed or report.stopped:
        raise typer.Exit(1)
