"""The sponsor portal's campaign view: a sponsor's own lots over every round, in suppressed
counts only (`allocator.store.sponsor_campaign`). A planner previews any sponsor's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from allocator.store.models import Sponsor
from allocator.store.sponsor_campaign import sponsor_campaign
from allocator.store.sponsor_followup import sponsor_followup
from api.deps import SessionDep
from api.pages.auth import PagePortal
from api.pages.render import page

router = APIRouter()
# No control character: PostgreSQL refuses NUL in text (a 422 page, never a 500).
SponsorQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]


@router.get("/portal/campaign", response_class=HTMLResponse)
def portal_campaign(request: Request, session: SessionDep, user: PagePortal,
                    sponsor: SponsorQuery = None) -> Response:
    """A sponsor's devices over the whole campaign: its own figures only, whatever is asked."""
    sponsor_id = (sponsor or None) if user.role == "planner" else user.sponsor_id
    view = sponsor_campaign(session, sponsor_id) if sponsor_id else None
    context: dict[str, Any] = {"view": view, "sponsor_id": sponsor_id, "sponsors": [],
                               "in_use": sponsor_followup(session, view.sponsor_id) if view else []}
    if user.role == "planner":
        context["sponsors"] = [(s.id, s.name) for s in
                               session.scalars(select(Sponsor).order_by(Sponsor.id))]
    return page(request, "portal_campaign.html", user,
                title="Cổng nhà tài trợ: toàn chiến dịch / Sponsor portal: the campaign",
                **context)
