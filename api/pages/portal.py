"""The sponsor portal: a sponsor's lots and where its devices went, in suppressed counts only.

No household appears here: no name, phone, ID number, address or coordinate,
only counts by lot, commune and household group ("<5" for small ones).

A sponsor is shown only rounds it may see (`round_for_sponsor`'s rule); asking
for any other round, existing or not, gets the same 404 page.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.report.charts import Bar, Place, bars, bin_of
from allocator.report.labels import BINS, Text
from allocator.report.map_key import SEQUENTIAL, drawn_map
from allocator.store.models import Commune, Round, User
from allocator.store.sponsor_download import (
    SEPARATORS,
    TABLES,
    as_csv,
    as_xlsx,
    as_zip,
    file_name,
    tables,
)
from allocator.store.sponsor_idle import idle_devices
from allocator.store.sponsor_sheet import figure
from allocator.store.sponsor_view import (
    CHART_GROUPS,
    PREVIEW,
    VISIBLE,
    SponsorView,
    sponsor_view,
    visible_rounds,
)
from api.deps import SessionDep
from api.pages.auth import PagePortal
from api.pages.render import error_page, page, text_for

router = APIRouter()
RoundQuery = Annotated[int | None, Query(ge=1, le=2_147_483_647)]
SponsorQuery = Annotated[str | None, Query(max_length=64)]
TableQuery = Annotated[Literal["lots", "idle", "communes", "groups"], Query()]
SeparatorQuery = Annotated[Literal["comma", "semicolon"], Query()]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _choose(session: Session, user: User, round_id: int | None,
            sponsor: str | None) -> tuple[str | None, list[Round], Round | None, str]:
    """Whose figures (a sponsor sees only its own), the rounds to pick from, and the round."""
    # A sponsor sees only its own figures; a planner previews what a sponsor sees.
    statuses: tuple[str, ...]
    if user.role == "planner":
        sponsor_id, statuses = sponsor or None, PREVIEW
    else:
        sponsor_id, statuses = user.sponsor_id, VISIBLE
    rounds = visible_rounds(session, sponsor_id, statuses)
    if round_id is None:
        return sponsor_id, rounds, (rounds[0] if rounds else None), ""
    chosen = next((r for r in rounds if r.id == round_id), None)
    return sponsor_id, rounds, chosen, "" if chosen else f"round {round_id}"


@router.get("/portal", response_class=HTMLResponse)
def portal(request: Request, session: SessionDep, user: PagePortal, round: RoundQuery = None,
           sponsor: SponsorQuery = None) -> Response:
    sponsor_id, rounds, row, missing = _choose(session, user, round, sponsor)
    if missing:
        return error_page(request, 404, f"Không có kết quả cho đợt này / no results for "
                          f"{missing}", user)
    t = text_for(request)
    view = sponsor_view(session, row, sponsor_id) if row and sponsor_id else None
    context: dict[str, Any] = {"view": view, "rounds": rounds, "row": row,
                                  "sponsor_id": sponsor_id, "sponsors": [],
                                  "idle": idle_devices(session, row, sponsor_id)
                                  if view is not None and row is not None and sponsor_id
                                  else None,
                                  "count": lambda text: figure(text, t), "tables": TABLES}
    if user.role == "planner" and row is not None:
        context["sponsors"] = sorted({(str(x["sponsor_id"]), str(x.get("sponsor_name", "")))
                                      for x in (row.dashboard or {}).get("lots", [])})
    if view is not None:
        context |= _drawings(session, view, t)
    return page(request, "portal.html", user, title="Cổng nhà tài trợ / Sponsor portal",
                **context)


_DRAWN: OrderedDict[tuple[int, str], tuple[SponsorView, dict[str, Any]]] = OrderedDict()
_DRAWN_LOCK = threading.Lock()


def _drawings(session: Session, view: SponsorView, t: Text) -> dict[str, Any]:
    """The map, its legend and the group chart of a view, drawn once per view and language:
    `sponsor_view` hands out the same view until its figures change."""
    key = (id(view), t.lang)
    with _DRAWN_LOCK:
        kept = _DRAWN.get(key)
        if kept is not None and kept[0] is view:  # the very view, not one at a reused id
            _DRAWN.move_to_end(key)
            return kept[1]
    every = [(lat, lon) for lat, lon in session.execute(select(Commune.lat, Commune.lon))
             if lat is not None and lon is not None]
    places = []
    for c in view.communes:
        if c.lat is None or c.lon is None:
            continue
        level = max(0, bin_of(c.count)) if c.count is not None else 0
        places.append(Place(c.name, c.lat, c.lon, (level + 1) / len(BINS),
                            SEQUENTIAL[level], f"{c.name}: {t.figure(c.devices)}", level))
    # The key's ranges are the only figures it gives: "<5" covers the hidden counts too.
    steps = [label + (f" {t('map_hidden')}" if i == 0 else "")
             for i, (label, _, _) in enumerate(BINS)]
    drawn: dict[str, Any] = {}
    drawn["map_svg"], drawn["off_map"] = drawn_map(
        t, places, t("where_your_devices_went"), t("map_key_devices"), steps,
        t("map_no_devices"), every)
    drawn["chart"] = bars([Bar(t(g), int(n) if n.isdigit() else None, n)
                           for g, n in view.groups if g in CHART_GROUPS], t("by_household_group"))
    with _DRAWN_LOCK:
        _DRAWN[key] = (view, drawn)
        while len(_DRAWN) > 256:
            _DRAWN.popitem(last=False)
    return drawn


def _figures(request: Request, session: SessionDep, user: User, round_id: int | None,
             sponsor: str | None) -> tuple[Text, SponsorView, list[Any]] | Response:
    """The portal's tables for a download, or the 404 page (as for the portal itself)."""
    sponsor_id, _, row, missing = _choose(session, user, round_id, sponsor)
    if missing or row is None or sponsor_id is None:
        return error_page(request, 404, "Không có kết quả / no results", user)
    t = text_for(request)
    view = sponsor_view(session, row, sponsor_id)
    return t, view, tables(view, idle_devices(session, row, sponsor_id), t)


def _attachment(body: bytes, media: str, name: str) -> Response:
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/portal/figures.xlsx")
def portal_xlsx(request: Request, session: SessionDep, user: PagePortal,
                round: RoundQuery = None, sponsor: SponsorQuery = None) -> Response:
    """The portal's tables as a workbook, one sheet each, in the page's language."""
    made = _figures(request, session, user, round, sponsor)
    if isinstance(made, Response):
        return made
    t, view, every = made
    return _attachment(as_xlsx(view, every, t), XLSX, file_name(view.round_id, "", "xlsx"))


@router.get("/portal/figures.csv")
def portal_csv(request: Request, session: SessionDep, user: PagePortal, round: RoundQuery = None,
               sponsor: SponsorQuery = None, table: TableQuery = "lots",
               sep: SeparatorQuery = "comma") -> Response:
    """One of the portal's tables as a CSV that Excel opens directly (UTF-8 with BOM);
    `sep=semicolon` for an Excel set to Vietnamese."""
    made = _figures(request, session, user, round, sponsor)
    if isinstance(made, Response):
        return made
    _, view, every = made
    chosen = next(x for x in every if x.key == table)
    return _attachment(as_csv(chosen, SEPARATORS[sep]), "text/csv; charset=utf-8",
                       file_name(view.round_id, table, "csv"))


@router.get("/portal/figures.zip")
def portal_zip(request: Request, session: SessionDep, user: PagePortal, round: RoundQuery = None,
               sponsor: SponsorQuery = None, sep: SeparatorQuery = "comma") -> Response:
    """Every one of the portal's tables, one CSV file each, in a ZIP."""
    made = _figures(request, session, user, round, sponsor)
    if isinstance(made, Response):
        return made
    _, view, every = made
    return _attachment(as_zip(every, view.round_id, SEPARATORS[sep]), "application/zip",
                       file_name(view.round_id, "", "zip"))
