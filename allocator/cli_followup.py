"""`allocator followup`: draw a round's follow-up calls, list them, record an answer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from allocator.cli_store import ACTOR, RoundArg, _fail, open_store, out
from allocator.store import followup
from allocator.store.audit import record_read
from allocator.store.lifecycle import RoundError
from allocator.tabular import csv_bytes, xlsx_bytes

followup_app = typer.Typer(no_args_is_help=True,
                           help="Follow-up calls 30 days after a round's handovers.")
COLUMNS = {"household_id": "Mã hộ", "head_name": "Họ tên chủ hộ", "phone": "Số điện thoại",
           "point_id": "Mã điểm", "point_name": "Điểm nhận", "model": "Mẫu máy",
           "answer": "Trả lời", "reason": "Lý do", "note": "Ghi chú",
           "answered_by": "Người gọi", "answered_at": "Lúc (UTC)"}
WIDTHS = (16, 24, 14, 16, 28, 22, 16, 16, 30, 16, 18)  # characters, in COLUMNS order


@followup_app.command("draw")
def draw_command(
        round_id: RoundArg,
        share: Annotated[float, typer.Option(help="share of the households served, above 0 "
                                                  "and at most 1")] = followup.SHARE,
        minimum: Annotated[int, typer.Option(help="households called at least (all if fewer "
                                                  "were served)")] = followup.MINIMUM,
        seed: Annotated[int | None, typer.Option(help="seed of the draw (default: a random "
                                                      "one, printed and kept)")] = None) -> None:
    """Draw the round's follow-up sample: once, 30 days after its last day of handovers."""
    with open_store() as session:
        try:
            done = followup.draw(session, round_id, ACTOR, share=share, minimum=minimum,
                                 seed=seed)
        except RoundError as error:
            _fail(str(error))
    out.print(f"round {round_id}: {done.size:,} of {done.served:,} households served drawn "
              f"for a follow-up call (seed {done.seed})")


@followup_app.command("list")
def list_command(
        round_id: RoundArg,
        out_file: Annotated[Path | None, typer.Option(
            "--out", help=".csv or .xlsx to write (default: a table here)")] = None) -> None:
    """The round's call list: head's name and phone, point, device, answer so far (audited)."""
    if out_file is not None:
        if out_file.suffix.lower() not in (".csv", ".xlsx"):
            _fail("--out must end in .csv or .xlsx")
        if not out_file.parent.is_dir():
            _fail(f"{out_file.parent}: no such folder; create it first or choose another --out")
    with open_store() as session:
        try:
            calls = followup.call_list(session, ACTOR, round_id)
        except RoundError as error:
            _fail(str(error))
        if not calls:
            _fail(f"round {round_id} has no follow-up list; draw it first "
                  f"(allocator followup draw {round_id})")
        rows = [[getattr(c, k) if getattr(c, k) is not None else "" for k in COLUMNS]
                for c in calls]
        for line in rows:
            line[-1] = f"{line[-1]:%Y-%m-%d %H:%M}" if line[-1] else ""
        if out_file is not None:
            header = list(COLUMNS.values())
            out_file.write_bytes(xlsx_bytes(header, rows, "Gọi lại", WIDTHS)
                                 if out_file.suffix.lower() == ".xlsx"
                                 else csv_bytes(header, rows))
        record_read(session, ACTOR, "read follow-up list", f"round {round_id}",
                    {"rows": len(rows), "via": "cli",
                     "file": str(out_file)[:200] if out_file else None})
    answered = sum(c.answer is not None for c in calls)
    if out_file is not None:
        out.print(f"{len(calls):,} households ({answered:,} answered) -> {out_file}")
        return
    table = Table(*COLUMNS.values())
    for line in rows:
        table.add_row(*(str(x) for x in line))
    out.print(table)
    out.print(f"{len(calls):,} households, {answered:,} answered")


@followup_app.command("answer")
def answer_command(
        round_id: RoundArg,
        household: Annotated[str, typer.Argument(help="the household's id")],
        answer: Annotated[str, typer.Argument(help=" | ".join(followup.ANSWERS))],
        reason: Annotated[str, typer.Option(
            help=f"why not in use: {' | '.join(followup.REASONS)}")] = "",
        note: Annotated[str, typer.Option(help="what the household said")] = "") -> None:
    """Record a call's answer (again if need be: the last one counts; audited)."""
    with open_store() as session:
        try:
            row = followup.answer(session, ACTOR, round_id, household, answer, reason, note)
        except RoundError as error:
            _fail(str(error))
    said = f"{row.answer}" + (f" ({row.reason})" if row.reason else "")
    also = "; a case is open for planners" if row.answer == "never_received" else ""
    out.print(f"round {round_id}, household {household}: {said}{also}")
