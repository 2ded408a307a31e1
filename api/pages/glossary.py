"""The glossary: the few words of the pages a planner, a sponsor or a commune officer may
not know ("proven optimal", priority points, co-payment), in plain language. Open to
everyone, signed in or not, and linked from every page's footer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.pages.auth import MaybeUser
from api.pages.render import page, text_for

router = APIRouter()
# Each entry: the label of the term and of its explanation (api/pages/labels.py).
TERMS = ("optimal", "priority", "copay", "points", "money", "time")


@router.get("/glossary", response_class=HTMLResponse)
def glossary_page(request: Request, user: MaybeUser) -> Response:
    t = text_for(request)
    entries = [(term, t(f"glossary_{term}"), t(f"glossary_{term}_text")) for term in TERMS]
    return page(request, "glossary.html", user, title=t("glossary"), entries=entries)
