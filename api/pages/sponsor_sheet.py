"""The sponsor sheet for planners: printable HTML (A4 portrait) and XLSX, for one round and
one sponsor (`allocator.store.sponsor_sheet`).

Vietnamese first; `?lang=en` gives the English version whatever the page language.
Planners only: the sheet is the planner's to hand over at a meeting, and a sponsor's own
figures are on the portal.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from allocator.report.labels import Text
from allocator.store.analyses import BOTTLENECKS, live_analysis
from allocator.store.sponsor_sheet import (
    OFFICE,
    SheetError,
    change_table,
    figure_columns,
    reason_table,
    sponsor_sheet,
    use_table,
)
from allocator.store.sponsor_sheet_xlsx import as_xlsx
from api.deps import RoundId, SessionDep
from api.pages.auth import PagePlanner, csrf_token
from api.pages.labels import PAGE_LABELS
from api.pages.render import TEMPLATES, error_page, text_for
from api.routers.rounds import XLSX
from api.routers.sponsor_sheet import SponsorId

router = APIRouter()
Lang = Annotated[Literal["vi", "en"] | None, Query()]


def sheet_text(request: Request, lang: str | None) -> Text:
    """The language asked for in the address, else the page's."""
    return Text(lang, PAGE_LABELS) if lang else text_for(request)


@router.get("/rounds/{round_id}/sponsors/{sponsor_id}/sheet.html", response_class=HTMLResponse)
def sheet_page(request: Request, round_id: RoundId, sponsor_id: SponsorId, session: SessionDep,
               user: PagePlanner, lang: Lang = None) -> Response:
    t = sheet_text(request, lang)
    try:
        sheet = sponsor_sheet(session, round_id, sponsor_id)
    except SheetError as error:
        return error_page(request, error.status, str(error), user)
    html = TEMPLATES.get_template("sponsor_sheet.html").render(
        t=t, user=user, csrf=csrf_token(request), here=request.url.path, standalone=False,
        assets={}, title=f"{t('sheet_title')}: {sheet.sponsor_name}", sheet=sheet,
        office=OFFICE[1 if t.lang == "en" else 0], use=use_table(sheet, t, t.amount),
        reasons=reason_table(sheet, t), changes=change_table(sheet, t),
        columns=lambda header: figure_columns(header, t),
        running=not sheet.analysed and live_analysis(session, round_id, BOTTLENECKS) is not None,
        base=f"/rounds/{round_id}/sponsors/{quote(sheet.sponsor_id, safe='')}/sheet")
    return HTMLResponse(html)


@router.get("/rounds/{round_id}/sponsors/{sponsor_id}/sheet.xlsx")
def sheet_xlsx(request: Request, round_id: RoundId, sponsor_id: SponsorId, session: SessionDep,
               user: PagePlanner, lang: Lang = None) -> Response:
    t = sheet_text(request, lang)
    try:
        sheet = sponsor_sheet(session, round_id, sponsor_id)
    except SheetError as error:
        return error_page(request, error.status, str(error), user)
    sponsor = re.sub(r"[^A-Za-z0-9_-]", "", sponsor_id)[:40]
    name = f"phieu-nha-tai-tro-{sponsor}-dot-{round_id}{'-en' if t.lang == 'en' else ''}.xlsx"
    return Response(as_xlsx(sheet, t), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
