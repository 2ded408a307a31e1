"""The campaign page (planners): how far the city is from a smartphone in every eligible
household, where, how fast, with what stock and money; and the forms that set the
campaign budget and record a sponsor's pledge."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from allocator.policy import MAX_INT
from allocator.report import vietnam_time
from allocator.report.charts import day_bars
from allocator.report.labels import Text
from allocator.report.map_key import coverage_map, coverage_place
from allocator.report.numbers import MoneyError, parse_money
from allocator.store import followup, ledger
from allocator.store.lifecycle import RoundError
from allocator.store.progress import campaign_figures
from api.deps import SessionDep
from api.pages.auth import Csrf, PagePlanner, check_csrf
from api.pages.render import page, text_for

router = APIRouter()
CHART_DAYS = 366  # at most a year of days in the chart
CHART_MIN_DAYS = 30  # and at least a month, so a first day's bar reads as one day
DONE = {"budget": "budget_saved", "pledge": "pledge_saved"}


def day_text(t: Text, day: dt.date | str | None) -> str:
    """15/09/2026, in either language (allocator.report.vietnam_time)."""
    return vietnam_time.day(day)


def _days(figures: dict[str, Any]) -> list[tuple[dt.date, int]]:
    """Every day from the first handover (at least a month back) to today, or the last
    handover, zeros included."""
    counts = {dt.date.fromisoformat(d["date"]): d["count"] for d in figures["handovers_per_day"]}
    if not counts:
        return []
    last = max(max(counts), dt.date.fromisoformat(figures["today"]))
    first = min(min(counts), last - dt.timedelta(days=CHART_MIN_DAYS - 1))
    first = max(first, last - dt.timedelta(days=CHART_DAYS - 1))
    return [(first + dt.timedelta(days=i), counts.get(first + dt.timedelta(days=i), 0))
            for i in range((last - first).days + 1)]


def drawings(figures: dict[str, Any], t: Text) -> dict[str, Any]:
    """The map by commune and the chart of handovers per day."""
    communes = [c for c in figures["communes"] if c["eligible"]]
    most = max([c["eligible"] for c in communes] + [1])
    places = [coverage_place(c["name"], c["lat"], c["lon"], c["eligible"] / most,
                             c["handed_over"], c["eligible"],
                             f"{c['name']}: {t.number(c['handed_over'])}/"
                             f"{t.number(c['eligible'])} "
                             f"({t.percent(c['handed_over'], c['eligible'])})", t)
              for c in communes if c["lat"] is not None and c["lon"] is not None]
    map_svg, off_map = coverage_map(t, places, t("campaign_map"), t("map_key_handed"))
    days = _days(figures)
    pace = figures["pace"]
    needed = pace["needed_per_day"]
    chart = day_bars([(f"{day_text(t, d)}: {t.number(n)}", n) for d, n in days],
                     t("handovers_per_day"), needed,
                     f"{t('pace_needed')}: {t.number(needed or 0, 1)}")
    return {"map_svg": map_svg, "off_map": off_map, "chart": chart,
            "chart_first": day_text(t, days[0][0]) if days else "",
            "chart_last": day_text(t, days[-1][0]) if days else "",
            "chart_most": max([n for _, n in days] + [int(needed or 0), 0])}


def _campaign(request: Request, session: Session, user: Any, status_code: int = 200,
              error: str = "", notice: str = "", form: dict[str, str] | None = None,
              field_errors: dict[str, str] | None = None) -> Response:
    t = text_for(request)
    figures = campaign_figures(session)
    lots = ledger.lot_figures(session)
    return page(request, "campaign.html", user, status_code,
                title="Tiến độ chiến dịch / Campaign progress", f=figures, lots=lots,
                day=lambda d: day_text(t, d), error=error, notice=notice, form=form or {},
                field_errors=field_errors or {},
                followup=followup.share_in_use(session), **drawings(figures, t))


@router.get("/campaign", response_class=HTMLResponse)
def campaign_page(request: Request, session: SessionDep, user: PagePlanner,
                  done: Annotated[str, Query(max_length=20)] = "") -> Response:
    return _campaign(request, session, user, notice=DONE.get(done, ""))


def refused(error: RoundError) -> int:
    """409 when the ledger refuses (it would break), 422 for a value no one could accept."""
    return 409 if isinstance(error, ledger.LedgerConflict) else 422


def whole_number(text: str, most: int) -> int | None:
    """A whole number typed as people do (1.000.000, 1,000,000, 1 000 000); None if not."""
    digits = text.strip().replace(".", "").replace(",", "").replace(" ", "")
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        return None
    number = int(digits)
    return number if number <= most else None


@router.post("/campaign/budget", response_class=HTMLResponse)
def budget_form(request: Request, session: SessionDep, user: PagePlanner, csrf: Csrf = "",
                budget_vnd: Annotated[str, Form(max_length=40)] = "") -> Response:
    """Set the campaign budget; refused with the ledger's reason (below what is committed)."""
    check_csrf(request, csrf)
    t = text_for(request)
    try:
        amount = parse_money(budget_vnd, t.lang, MAX_INT)
        if amount is None:
            raise MoneyError("money_required", budget_vnd)
    except MoneyError as error:
        return _campaign(request, session, user, 422, form={"budget_vnd": budget_vnd},
                         field_errors={"budget_vnd": t(error.key)})
    try:
        ledger.set_budget(session, amount, user.name)
    except RoundError as error:
        session.rollback()
        return _campaign(request, session, user, refused(error),
                         f"Không đặt được ngân sách / the budget was not set: {error}",
                         form={"budget_vnd": budget_vnd})
    return RedirectResponse("/campaign?done=budget#budget", status_code=303)


@router.post("/campaign/pledge", response_class=HTMLResponse)
def pledge_form(request: Request, session: SessionDep, user: PagePlanner, csrf: Csrf = "",
                lot_id: Annotated[str, Form(max_length=64)] = "",
                devices: Annotated[str, Form(max_length=20)] = "") -> Response:
    """A sponsor pledges more devices to one of its lots; refused with the ledger's reason."""
    check_csrf(request, csrf)
    form = {"lot_id": lot_id, "devices": devices}
    count = whole_number(devices, 10**9)
    if count is None or not lot_id.strip() or not lot_id.isprintable():
        return _campaign(request, session, user, 422,
                         "Chọn một lô và nhập số máy (số nguyên dương) / choose a lot and give "
                         f"the number of devices as a whole number: {devices!r}", form=form)
    try:
        ledger.pledge(session, lot_id.strip(), count, user.name)
    except RoundError as error:
        session.rollback()
        return _campaign(request, session, user, refused(error),
                         f"Không ghi được cam kết / the pledge was not recorded: {error}",
                         form=form)
    return RedirectResponse("/campaign?done=pledge#stock", status_code=303)
