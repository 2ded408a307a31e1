"""Server-rendered pages: the planner's rounds and dashboard, and the sponsor portal.

They work offline: styles, script and SVG charts all come from this server.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.pages import (
    auth,
    campaign,
    cases,
    decide,
    planner,
    point,
    portal,
    portal_campaign,
    replan,
    slips,
)
from api.pages import decisions as decision_pages
from api.pages import followup as followup_pages
from api.pages import glossary as glossary_pages
from api.pages import households as household_pages
from api.pages import sponsor_sheet as sponsor_sheet_pages

router = APIRouter(include_in_schema=False)
for part in (auth.router, planner.router, decide.router, replan.router, campaign.router,
             portal.router, portal_campaign.router, cases.router, slips.router, point.router,
             followup_pages.router, decision_pages.router):
    router.include_router(part)
router.include_router(household_pages.router)
router.include_router(sponsor_sheet_pages.router)
router.include_router(glossary_pages.router)
