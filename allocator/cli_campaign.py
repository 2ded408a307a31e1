"""`allocator campaign` and the campaign's round commands: budget, pledges, pickup
deadlines, closing with release, re-plans and their difference."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from allocator.cli_store import ACTOR, RoundArg, _fail, _problems, err, open_store, out, round_app
from allocator.issues import InvalidInput
from allocator.store import ledger, pickup
from allocator.store.campaign import (
    approve_round,
    close_round,
    deadline_day,
    not_collected,
    replan_diff,
    replan_round,
    set_pickup_deadline,
)
from allocator.store.lifecycle import RoundError
from allocator.store.progress import campaign_figures
from allocator.store.rounds import solve_round
from allocator.tabular import frame_csv

campaign_app = typer.Typer(no_args_is_help=True,
                           help="The campaign across rounds: budget, stock, progress.")


def vnd(text: str) -> int:
    """An amount in VND: digits, with '.', ',', '_' or spaces between thousands allowed."""
    cleaned = re.sub(r"[\s._,]", "", text)
    # ASCII digits only: str.isdigit() takes '²', which int() then refuses.
    if not re.fullmatch(r"[0-9]{1,16}", cleaned):
        raise typer.BadParameter(f"{text!r} is not a whole amount of VND (e.g. 6396000000)")
    return int(cleaned)


def day(text: str) -> dt.date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            found = dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        # A deadline ends at the midnight after its day: the calendar's last day has none.
        if found >= dt.date.max:
            raise typer.BadParameter(f"{text!r} is too far ahead for a pickup deadline")
        return found
    raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _money(value: int | None) -> str:
    return "not set" if value is None else f"{value:,} VND"


# --- rounds ---------------------------------------------------------------------------


@round_app.command("approve")
def round_approve(
        round_id: RoundArg,
        pickup_days: Annotated[int | None, typer.Option(
            min=0, max=365, help="days households have to collect (default: the campaign's)")]
        = None,
        deadline: Annotated[str | None, typer.Option(
            help="last day to collect, YYYY-MM-DD or DD/MM/YYYY")] = None) -> None:
    """Approve a solved round (or a re-plan, which supersedes the round it replaces)."""
    with open_store() as session:
        try:
            row = approve_round(session, round_id, ACTOR,
                                pickup_deadline=day(deadline) if deadline else None,
                                pickup_days=pickup_days)
        except RoundError as error:
            _fail(str(error))
        assert row.pickup_deadline is not None
        also = f"; round {row.replaces} is superseded" if row.replaces else ""
        out.print(f"round {round_id} approved; households collect until "
                  f"{deadline_day(row.pickup_deadline):%d/%m/%Y}{also}")
        waiting = pickup.without_window(session, round_id)
        if waiting:
            out.print(f"{waiting:,} households have their pickup code but no window: their "
                      "points' windows are full (the audit log names the points)")


@round_app.command("deadline")
def round_deadline(round_id: RoundArg,
                   last_day: Annotated[str, typer.Argument(help="YYYY-MM-DD or DD/MM/YYYY")]
                   ) -> None:
    """Move an approved round's pickup deadline."""
    with open_store() as session:
        try:
            set_pickup_deadline(session, round_id, day(last_day), ACTOR)
        except RoundError as error:
            _fail(str(error))
    out.print(f"round {round_id}: households collect until {day(last_day):%d/%m/%Y}")


@round_app.command("close")
def round_close(round_id: RoundArg,
                force: Annotated[bool, typer.Option(
                    "--force", help="close before the pickup deadline")] = False) -> None:
    """Close a round: phones not handed over go back to stock, their households are no-shows."""
    with open_store() as session:
        waiting = not_collected(session, round_id)
        try:
            close_round(session, round_id, ACTOR, force=force)
        except RoundError as error:
            _fail(f"{error}" + ("" if force else " (--force)"))
    out.print(f"round {round_id} closed; {waiting:,} phones not collected went back to stock")


def _quantities(items: list[str]) -> dict[str, int]:
    found = {}
    for item in items:
        lot, _, number = item.partition("=")
        if not lot or not re.fullmatch(r"[0-9]{1,9}", number.strip()):
            raise typer.BadParameter(f"{item!r}: write LOT=QUANTITY, e.g. L004=120")
        found[lot.strip()] = int(number)
    return found


@round_app.command("replan")
def round_replan(
        round_id: RoundArg,
        close_point: Annotated[list[str] | None, typer.Option(
            help="a point that closed (repeat for several)")] = None,
        lot: Annotated[list[str] | None, typer.Option(
            help="LOT=QUANTITY: a lot's devices for the re-plan (repeat)")] = None,
        withdraw: Annotated[list[str] | None, typer.Option(
            help="a household that withdrew (repeat)")] = None,
        budget: Annotated[str | None, typer.Option(help="VND (default: what is left)")] = None,
        name: Annotated[str | None, typer.Option()] = None,
        solve: Annotated[bool, typer.Option(help="solve the new version at once")] = True
) -> None:
    """Make a new version of an approved round, keeping households where they were told
    to go wherever possible; approve it to supersede the round."""
    with open_store() as session:
        try:
            version = replan_round(session, round_id, ACTOR, close_points=close_point or [],
                                   lot_quantities=_quantities(lot or []),
                                   withdraw=withdraw or [],
                                   budget_vnd=vnd(budget) if budget else None, name=name)
        except InvalidInput as error:
            _problems(error)
        except RoundError as error:
            _fail(str(error))
        out.print(f"round {version.id} drafted as a re-plan of round {round_id}")
        if not solve:
            return
        try:
            solve_round(session, version.id, ACTOR, progress=lambda s: err.print(s, markup=False))
        except RoundError as error:
            _fail(str(error))
        _print_diff(replan_diff(session, version.id))
    out.print(f"see who changes: allocator round diff {version.id}; "
              f"approve: allocator round approve {version.id}")


def _print_diff(diff: dict) -> None:  # type: ignore[type-arg]
    counts = diff["counts"]
    out.print(f"re-plan {diff['round_id']} of round {diff['replaces']}: "
              f"{counts['keeps']:,} keep point and device, "
              f"{counts['changes_point']:,} change point, "
              f"{counts['changes_device']:,} change device, "
              f"{counts['changes_point_and_device']:,} change both, "
              f"{counts['loses']:,} lose their phone, {counts['newly_served']:,} newly served; "
              f"{diff['handed_over_fixed']:,} already handed over stay as they are")


@round_app.command("diff")
def round_diff(round_id: RoundArg,
               out_file: Annotated[Path | None, typer.Option(
                   "--out", help="write every household that changes to this CSV")] = None
               ) -> None:
    """What a solved re-plan changes, against the round it replaces."""
    with open_store() as session:
        try:
            diff = replan_diff(session, round_id)
        except RoundError as error:
            _fail(str(error))
    _print_diff(diff)
    changed = pd.DataFrame([h for h in diff["households"] if h["change"] != "keeps"],
                           columns=["household_id", "change", "point_before", "lot_before",
                                    "point_after", "lot_after", "reason", "detail"])
    if out_file is not None:
        out_file.write_bytes(frame_csv(changed))
        out.print(f"{len(changed):,} households that change -> {out_file}")
    else:
        for item in changed.head(20).to_dict("records"):
            out.print(f"  {item['household_id']}: {item['change']} {item['point_before']}/"
                      f"{item['lot_before']} -> {item['point_after']}/{item['lot_after']} "
                      f"{item['reason']}", markup=False)
        if len(changed) > 20:
            out.print(f"  ... and {len(changed) - 20:,} more (--out FILE for all)")


# --- the campaign ---------------------------------------------------------------------


@campaign_app.command("show")
def campaign_show() -> None:
    """Budget, stock by lot and households: where the campaign stands."""
    with open_store() as session:
        figures = campaign_figures(session)
        lots = ledger.lot_figures(session)
        settings = ledger.settings(session)
    money, h = figures["budget"], figures["households"]
    out.print(f"budget: {_money(money['total_vnd'])}; spent {money['spent_vnd']:,}; committed "
              f"{money['committed_vnd']:,}; remaining {_money(money['remaining_vnd'])}")
    out.print(f"eligible households: {h['eligible']:,} of {h['surveyed']:,} surveyed; "
              f"{h['handed_over']:,} handed a phone, {h['reserved']:,} holding a reservation, "
              f"{h['no_show']:,} no-shows, {h['not_reached']:,} not yet reached")
    out.print(f"goal: {settings.goal_date:%d/%m/%Y}; pickup period {settings.pickup_days} days; "
              f"no-show limit {settings.no_show_limit or 'none'}")
    table = Table("lot", "sponsor", "pledged", "handed over", "reserved", "released", "faulty",
                  "available")
    for lot in lots:
        table.add_row(lot["lot_id"], lot["sponsor_id"],
                      *(f"{lot[k]:,}" for k in ("pledged", "handed_over", "reserved",
                                                 "released", "faulty", "available")))
    out.print(table)


@campaign_app.command("budget")
def campaign_budget(amount: Annotated[str, typer.Argument(
        help="VND for the whole campaign, or 'none'")]) -> None:
    """Set the campaign budget (refused below what is spent and committed)."""
    with open_store() as session:
        try:
            money = ledger.set_budget(session, None if amount.lower() == "none" else vnd(amount),
                                      ACTOR)
        except RoundError as error:
            _fail(str(error))
    out.print(f"campaign budget {_money(money.total)}; remaining {_money(money.remaining)}")


@campaign_app.command("pledge")
def campaign_pledge(lot_id: Annotated[str, typer.Argument(help="the lot's id")],
                    devices: Annotated[int, typer.Argument(min=1, max=10_000_000)]) -> None:
    """Add devices a sponsor pledges to one of its lots."""
    with open_store() as session:
        try:
            lot = ledger.pledge(session, lot_id, devices, ACTOR)
        except RoundError as error:
            _fail(str(error))
    out.print(f"lot {lot_id}: {lot['pledged']:,} pledged, {lot['available']:,} available")


@campaign_app.command("faulty")
def campaign_faulty(lot_id: Annotated[str, typer.Argument(help="the lot's id")],
                    devices: Annotated[int, typer.Argument(min=1, max=10_000_000)]) -> None:
    """Record devices of a lot returned or found faulty: never offered again."""
    with open_store() as session:
        try:
            lot = ledger.mark_faulty(session, lot_id, devices, ACTOR)
        except RoundError as error:
            _fail(str(error))
    out.print(f"lot {lot_id}: {lot['faulty']:,} faulty, {lot['available']:,} available")


@campaign_app.command("settings")
def campaign_settings(
        no_show_limit: Annotated[int | None, typer.Option(
            min=0, max=100, help="leave out households with this many no-shows (0: never)")]
        = None,
        pickup_days: Annotated[int | None, typer.Option(min=0, max=365)] = None) -> None:
    """Change the campaign's no-show limit or default pickup period."""
    with open_store() as session:
        try:
            row = ledger.set_settings(
                session, ACTOR, pickup_days=pickup_days,
                no_show_limit="keep" if no_show_limit is None else (no_show_limit or None))
        except RoundError as error:
            _fail(str(error))
    out.print(f"pickup period {row.pickup_days} days; no-show limit "
              f"{row.no_show_limit or 'none'}")


@campaign_app.command("household")
def campaign_household(household_id: Annotated[str, typer.Argument()]) -> None:
    """One household across the campaign: every round that allocated it, and what became of it."""
    with open_store() as session:
        history = ledger.household_history(session, household_id)
    if not history:
        out.print(f"{household_id}: no round has allocated it a phone", markup=False)
    for item in history:
        out.print(f"round {item['round_id']} ({item['round_status']}): {item['lot_id']} at "
                  f"{item['point_id']}: {item['state']}", markup=False)
