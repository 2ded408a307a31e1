"""`allocator round slips`: a round's pickup slips as one HTML file to print (A6, four to A4)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from allocator.cli_store import ACTOR, RoundArg, _fail, open_store, out
from allocator.slips import PER_SHEET, render_file
from allocator.store.audit import record_read
from allocator.store.lifecycle import RoundError
from allocator.store.slips import round_slips


def round_slips_command(
    round_id: RoundArg,
    out_file: Annotated[Path, typer.Option("--out", help="the .html file to write")],
    point: Annotated[str | None, typer.Option(help="one point only (its id)")] = None,
) -> None:
    """Write the pickup slips of an approved round (or of one point) as a file to print."""
    if out_file.suffix.lower() not in (".html", ".htm"):
        _fail("--out must end in .html")
    if not out_file.parent.is_dir():
        _fail(f"{out_file.parent}: no such folder; create it first or choose another --out")
    with open_store() as session:
        try:
            slips = round_slips(session, round_id, point)
        except RoundError as error:
            _fail(str(error))
        where = f"point {point}" if point else "every point"
        out_file.write_text(render_file(slips, f"Phiếu hẹn nhận máy — đợt {round_id}, {where}"),
                            encoding="utf-8")
        record_read(session, ACTOR, "download pickup slips", f"round {round_id}",
                    {"point": point, "file": str(out_file)[:200], "slips": len(slips)})
    sheets = -(-len(slips) // PER_SHEET)
    missing = sum(1 for s in slips if not s.code_shown)
    out.print(f"{len(slips):,} slips on {sheets:,} A4 sheets ({where}) -> {out_file}")
    if missing:
        out.print(f"{missing:,} slips have no pickup code yet; do not hand them out.")
