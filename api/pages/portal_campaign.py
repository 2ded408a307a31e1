"""The sponsor portal's campaign view: a sponsor's own lots over every round, in suppressed
counts only (`allocator.store.sponsor_campaign`). A planner previews any sponsor's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from allocator.report.charts import BIN_COLOURS, Place, bin_of, city_map
from allocator.report.labels import BINS
from allocator.store.models import Commune, Sponsor
from allocator.store.sponsor_campaign import SponsorCampaign, sponsor_campaign
from api.deps import SessionDep
from api.pages.auth import PageUser
from api.pages.render import page, text_for

router = APIRouter()
# No control character: PostgreSQL refuses NUL in text (a 422 page, never a 500).
SponsorQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]


def _map(view: SponsorCampaign, every: list[tuple[float, float]], label: str) -> dict[str, Any]:
    places = []
    for c in view.communes:
        if c.lat is None or c.lon is None:
            continue
        level = max(0, bin_of(c.count)) if c.count is not None else 0
        places.append(Place(c.name, c.lat, c.lon, (level + 1) / len(BINS), BIN_COLOURS[level],
                            f"{c.name}: {c.devices}"))
    svg, off_map = city_map(places, every, label)
    return {"map_svg": svg, "off_map": off_map,
            "legend": [(text, BIN_COLOURS[i]) for i, (text, _, _) in enumerate(BINS)]}


@router.get("/portal/campaign", response_class=HTMLResponse)
def portal_campaign(request: Request, session: SessionDep, user: PageUser,
                    sponsor: SponsorQuery = None) -> Response:
    """A sponsor's devices over the whole campaign: its own figures only, whatever is asked."""
    sponsor_id = (sponsor or None) if user.role == "planner" else user.sponsor_id
    view = sponsor_campaign(session, sponsor_id) if sponsor_id else None
    context: dict[str, Any] = {"view": view, "sponsor_id": sponsor_id, "sponsors": []}
    if user.role == "planner":
        context["sponsors"] = [(s.id, s.name) for s in
                               session.scalars(select(Sponsor).order_by(Sponsor.id))]
    if view is not None:
        every = [(lat, lon) for lat, lon in session.execute(select(Commune.lat, Commune.lon))
                 if lat is not None and lon is not None]
        context |= _map(view, every, text_for(request)("where_your_devices_are"))
    return page(request, "portal_campaign.html", user,
                title="Cổng nhà tài trợ: toàn chiến dịch / Sponsor portal: the campaign",
                **context)
