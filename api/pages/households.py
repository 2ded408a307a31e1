"""The planner's "why not me?" pages: a search box, and one household round by round.

The household page reads like what a commune officer says to the household: in every
round with results, served (with what, where, and what became of the phone) or not,
why in one sentence, and what would have served it. It prints on paper as it shows.
Both pages show personal data and are audited (`allocator.store.lookup`).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from allocator.store import lookup
from api.deps import SessionDep
from api.pages.auth import PagePlanner, Refused
from api.pages.render import page, text_for

router = APIRouter()
MAX_ID = 64  # as the registry's column


def _said(request: Request, english: str, vi: str) -> str:
    """A sentence in the reader's language first, then the other."""
    return f"{vi} / {english}" if text_for(request).lang == "vi" else f"{english} / {vi}"


@router.get("/households", response_class=HTMLResponse)
def search_page(request: Request, session: SessionDep, user: PagePlanner,
                q: Annotated[str | None, Query()] = None) -> Response:
    """The search box; with `q`, the households it finds (audited)."""
    title = "Tra cứu hộ / Household look-up"
    if q is None or not q.strip():
        return page(request, "households.html", user, title=title, q="", searched=False,
                    items=[], more=False, error="")
    try:
        found = lookup.search(session, user.name, q)
    except lookup.LookupRefused as refused:
        return page(request, "households.html", user, 422, title=title, q=q[:lookup.MAX_QUERY],
                    searched=False, items=[], more=False,
                    error=_said(request, str(refused), refused.vi))
    return page(request, "households.html", user, title=title, q=q, searched=True,
                items=found["items"], more=found["more"], error="")


@router.get("/households/{household_id}", response_class=HTMLResponse)
def household_page(request: Request, session: SessionDep, user: PagePlanner,
                   household_id: str) -> Response:
    """One household in every round, with the explanations in the page's language."""
    if len(household_id) > MAX_ID or any(unicodedata.category(c) in ("Cc", "Cs")
                                         for c in household_id):
        raise Refused(404, _said(request, "No such household.", "Không có hộ này."), user)
    try:
        told = lookup.look_up(session, user.name, household_id)
    except lookup.HouseholdUnknown as unknown:
        raise Refused(404, _said(request, str(unknown), unknown.vi), user) from None
    return page(request, "household.html", user, title=f"Hộ {told['household_id']} / "
                f"Household {told['household_id']}", told=told)
