"""The round page's budget curve and bottleneck sections: their data, request buttons,
progress and the curve's CSV. The workers compute them (allocator.store.analyses)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from allocator.report.decisions import Decisions, decisions_view
from allocator.report.labels import Text
from allocator.store import analyses
from allocator.store.lifecycle import RoundError
from allocator.store.models import Round
from api.deps import RoundId, SessionDep
from api.pages.auth import Csrf, PagePlanner, check_csrf
from api.pages.render import error_page, text_for
from api.statuses import status_of

router = APIRouter()
Kind = Annotated[Literal["curve", "bottlenecks"], Path()]
# Progress the store writes, as the page words it (anything else is the engine's own words).
STEPS = {analyses.QUEUED: "analysis_queued", "started": "analysis_started",
         analyses.DONE: "analysis_done", analyses.FAILED: "analysis_failed"}


def analysis_state(session: Session, round_id: int, kind: str, t: Text) -> dict[str, Any]:
    """What the section shows of its analysis: running (and how far), failed, or done."""
    found = analyses.state(session, round_id, kind)
    if found is None:
        return {"status": "", "live": False, "label": "", "fraction": 0.0, "error": "",
                "result": None, "result_at": None}
    status, progress = found["status"], found["progress"] or ""
    return {"status": status, "live": status in analyses.LIVE,
            "label": t(STEPS[progress]) if progress in STEPS else progress,
            "fraction": analyses.fraction(progress, status), "error": found["error"],
            "result": found["result"], "result_at": found["result_at"]}


def sections(session: Session, row: Round, t: Text) -> dict[str, Any]:
    """The round page's context for decisions.html: the sections and their analyses."""
    states = {kind: analysis_state(session, row.id, kind, t) for kind in analyses.KINDS}
    return {"decisions": _view(states, t.lang), "analyses": states}


def report_sections(session: Session, round_id: int, lang: str) -> Decisions | None:
    """The finished sections for the downloadable report (None if neither is done)."""
    done = {kind: analyses.latest_done(session, round_id, kind) for kind in analyses.KINDS}
    if not any(done.values()):
        return None
    return _view({kind: {"result": d.result if d else None,
                         "result_at": d.finished_at if d else None}
                  for kind, d in done.items()}, lang)


def _view(states: dict[str, dict[str, Any]], lang: str) -> Decisions:
    curve, bottlenecks = states[analyses.CURVE], states[analyses.BOTTLENECKS]
    return decisions_view(curve["result"], bottlenecks["result"], lang,
                          curve["result_at"], bottlenecks["result_at"])


@router.post("/rounds/{round_id}/analyses/{kind}")
def request_page(request: Request, round_id: RoundId, kind: Kind, session: SessionDep,
                 user: PagePlanner, csrf: Csrf = "") -> Response:
    """Queue the round's budget curve or bottlenecks (or follow the one already running)."""
    check_csrf(request, csrf)
    try:
        analyses.request_analysis(session, round_id, kind, user.name)
    except RoundError as error:
        session.rollback()
        return error_page(request, status_of(error), str(error), user)
    return RedirectResponse(f"/rounds/{round_id}#{kind}", status_code=303)


@router.get("/rounds/{round_id}/analyses/{kind}/progress")
def progress_page(request: Request, round_id: RoundId, kind: Kind, session: SessionDep,
                  user: PagePlanner) -> Response:
    """How far the analysis got, for the page's progress bar (polled by app.js)."""
    found = analysis_state(session, round_id, kind, text_for(request))
    if not found["status"]:
        return JSONResponse({"detail": f"no {kind} requested for round {round_id}"},
                            status_code=404)
    return JSONResponse({"status": found["status"], "label": found["label"],
                         "fraction": found["fraction"]})


@router.get("/rounds/{round_id}/curve.csv")
def curve_download(request: Request, round_id: RoundId, session: SessionDep,
                   user: PagePlanner) -> Response:
    """The finished budget curve in the contract's columns (UTF-8 with BOM, for Excel)."""
    result = analyses.latest_result(session, round_id, analyses.CURVE)
    if result is None:
        return error_page(request, 404, f"Đợt {round_id} chưa có đường cong ngân sách / no "
                          f"budget curve for round {round_id}", user)
    return Response(analyses.curve_csv(result), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="duong-cong-dot-{round_id}.csv"'})
