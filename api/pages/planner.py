"""The planner's pages: the rounds, a round's dashboard (solve, approve, vary) and comparisons."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocator.issues import InvalidInput
from allocator.policy import MAX_INT
from allocator.report import render_report, technical_details
from allocator.report.labels import Text
from allocator.report.numbers import MoneyError, parse_money
from allocator.report.paper import ReportPaper
from allocator.report.view import comparison, round_view
from allocator.store.audit import record_read
from allocator.store.campaign import create_round, replan_round
from allocator.store.handover import as_csv
from allocator.store.jobs import progress_of as job_progress
from allocator.store.jobs import request_solve
from allocator.store.lifecycle import (
    VISIBLE_TO_SPONSORS,
    WITH_RESULTS,
    RoundError,
    RoundStatus,
)
from allocator.store.models import AllocationRow, Round
from allocator.store.papers import Kind, NoSuchPlace, PaperRefused, handover_papers, papers_table
from allocator.store.papers_xlsx import as_workbook, file_name
from allocator.store.rounds import import_folder_as_round
from allocator.store.variants import DuplicateRound, vary_round
from api.deps import Filter, RoundId, SessionDep
from api.pages.auth import Csrf, PagePlanner, check_csrf
from api.pages.decisions import report_sections, sections
from api.pages.refusals import issues_said, said, with_n
from api.pages.render import error_page, page, text_for
from api.pages.replan import ids, quantities, round_extras
from api.pages.variants import is_replan, percent, variant_extras
from api.routers.rounds import XLSX
from api.settings import issuing_office
from api.statuses import status_of
from api.uploads import BadUpload, LimitsDep, round_name, unpack_contract_zip

router = APIRouter()
RESULTS = WITH_RESULTS  # rounds with results
# Progress messages of the solver, in order, as steps of the progress bar (and their words).
STEPS = {"queued": "step_queued", "greedy start": "step_greedy",
         "stage 0: fairness floor": "step_fairness", "stage 1: priority weight": "step_priority",
         "stage 2: public cost": "step_cost", "stage 3: distance": "step_distance",
         "done": "step_done"}


def _round(session: Session, round_id: int) -> Round | None:
    return session.get(Round, round_id)


def progress_of(session: Session, row: Round, t: Text) -> dict[str, Any]:
    """How far the round's solve got, as its worker wrote it in the store."""
    message = ""
    if row.status in (RoundStatus.SOLVING, RoundStatus.FAILED):
        message = job_progress(session, row.id)
    elif row.status in RESULTS:
        message = "done"
    steps = list(STEPS)
    step = steps.index(message) if message in STEPS else 0
    label = t(STEPS[message]) if message in STEPS else (message or t("solving"))
    return {"status": row.status, "label": label,
            "fraction": round(step / (len(steps) - 1), 3)}


@router.get("/rounds", response_class=HTMLResponse)
def rounds_page(request: Request, session: SessionDep, user: PagePlanner) -> Response:
    rows = session.scalars(select(Round).order_by(Round.id.desc())).all()
    return page(request, "rounds.html", user, title="Các đợt phân bổ / Rounds", rows=rows,
                with_results=[r for r in rows if r.status in RESULTS])


@router.post("/rounds", response_class=HTMLResponse)
def create_page(request: Request, session: SessionDep, user: PagePlanner, csrf: Csrf = "",
                name: Annotated[str, Form(max_length=200)] = "",
                budget_vnd: Annotated[str, Form(max_length=30)] = "") -> Response:
    """A new round over the current registry, with the budget given."""
    check_csrf(request, csrf)
    t = text_for(request)
    policy: dict[str, Any] = {}
    typed = {"name": name, "budget_vnd": budget_vnd}
    try:
        budget = parse_money(budget_vnd, t.lang, MAX_INT)
    except MoneyError as error:
        return _rounds_error(request, session, user, "", typed, {"budget_vnd": t(error.key)})
    if budget is not None:
        policy["budget_vnd"] = budget
    try:
        row = create_round(session, policy, name.strip() or t("new_round_name"), user.name)
    except InvalidInput as error:
        return _rounds_error(request, session, user, issues_said(error, t), typed)
    return RedirectResponse(f"/rounds/{row.id}", status_code=303)


@router.post("/rounds/upload", response_class=HTMLResponse)
def upload_page(request: Request, session: SessionDep, user: PagePlanner,
                file: Annotated[UploadFile, File()], limits: LimitsDep, csrf: Csrf = "",
                name: Annotated[str, Form(max_length=200)] = "") -> Response:
    """A zipped contract folder as a new round."""
    check_csrf(request, csrf)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            title = round_name(name, file.filename)
            unpack_contract_zip(file.file, Path(tmp), limits)
            row = import_folder_as_round(session, Path(tmp), title, user.name)
        except BadUpload as error:
            return _rounds_error(request, session, user, str(error))
        except InvalidInput as error:
            return _rounds_error(request, session, user,
                                 "; ".join(str(i) for i in error.issues[:20]))
    return RedirectResponse(f"/rounds/{row.id}", status_code=303)


def _rounds_error(request: Request, session: Session, user: Any, message: str,
                  form: dict[str, str] | None = None,
                  field_errors: dict[str, str] | None = None) -> Response:
    """The rounds page again, with what was typed kept and each refused field's reason."""
    rows = session.scalars(select(Round).order_by(Round.id.desc())).all()
    return page(request, "rounds.html", user, 422, title="Các đợt phân bổ / Rounds", rows=rows,
                with_results=[r for r in rows if r.status in RESULTS],
                error=message, form=form or {}, field_errors=field_errors or {})


@router.get("/rounds/compare", response_class=HTMLResponse)
def compare_page(request: Request, session: SessionDep, user: PagePlanner,
                 a: Annotated[int, Query(ge=1, le=2_147_483_647)],
                 b: Annotated[int, Query(ge=1, le=2_147_483_647)]) -> Response:
    first, second = _round(session, a), _round(session, b)
    t = text_for(request)
    for wanted, row in ((a, first), (b, second)):
        if row is None:
            return error_page(request, 404, with_n(t, "no_round_n", n=wanted), user)
        if row.status not in RESULTS or not row.dashboard or not row.summary:
            return error_page(request, 409, with_n(t, "no_results_n", n=wanted), user)
    assert first is not None and second is not None
    data = comparison({"dashboard": first.dashboard, "summary": first.summary},
                      {"dashboard": second.dashboard, "summary": second.summary}, t)
    return page(request, "compare.html", user, title=f"So sánh đợt {a} và {b} / Compare",
                a=first, b=second, data=data)


@router.get("/rounds/{round_id}", response_class=HTMLResponse)
def round_page(request: Request, round_id: RoundId, session: SessionDep,
               user: PagePlanner, done: Annotated[str, Query(max_length=30)] = "") -> Response:
    row = _round(session, round_id)
    if row is None:
        return error_page(request, 404, with_n(text_for(request), "no_round_n", n=round_id),
                          user)
    return _dashboard(request, session, user, row, notice=_decided(request, row, done))


def _decided(request: Request, row: Round, done: str) -> str:
    """What the decision just made did (after approve or close), said on the round page."""
    t = text_for(request)
    if done == "approved_superseding" and row.replaces is not None:
        return with_n(t, "approved_superseding_notice", n=row.id, old=row.replaces)
    if done in ("approved", "closed"):
        return with_n(t, f"{done}_notice", n=row.id)
    return ""


def _dashboard(request: Request, session: Session, user: Any, row: Round, status_code: int = 200,
               error: str = "", form: dict[str, str] | None = None,
               notice: str = "", duplicate: int | None = None) -> Response:
    t = text_for(request)
    view = None
    if row.status in RESULTS and row.dashboard and row.summary:
        collected_lots = collected_points = None
        if row.status in VISIBLE_TO_SPONSORS:
            collected_lots = _collected(session, row.id, AllocationRow.lot_id)
            collected_points = _collected(session, row.id, AllocationRow.point_id)
        view = round_view(row.dashboard, row.summary, t, collected_lots, collected_points)
    others = session.scalars(select(Round).where(Round.id != row.id, Round.status.in_(RESULTS))
                             .order_by(Round.id.desc())).all()
    variants = session.scalars(select(Round).where(Round.based_on == row.id)
                               .order_by(Round.id)).all()
    title = f"{t('round')} {row.id}: {row.name}"
    return page(request, "round.html", user, status_code, title=title, row=row, view=view,
                collected=row.status in VISIBLE_TO_SPONSORS,
                progress=progress_of(session, row, t), others=others, variants=variants,
                error=error, notice=notice, duplicate=duplicate, form=form or {},
                **round_extras(session, row), **variant_extras(session, row, t),
                is_replan=is_replan(row),
                technical=technical_details(row.summary or {}, t, row.inputs_hash, row.seed),
                **sections(session, row, t))


def _collected(session: Session, round_id: int, column: Any) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).where(
        AllocationRow.round_id == round_id, AllocationRow.handed_over_at.is_not(None))
        .group_by(column)).all()
    return {str(k): int(n) for k, n in rows}


@router.get("/rounds/{round_id}/progress")
def progress(request: Request, round_id: RoundId, session: SessionDep,
             user: PagePlanner) -> Response:
    row = _round(session, round_id)
    if row is None:
        return JSONResponse({"detail": f"no round {round_id}"}, status_code=404)
    return JSONResponse(progress_of(session, row, text_for(request)))


@router.post("/rounds/{round_id}/solve", response_class=HTMLResponse)
def solve_page(request: Request, round_id: RoundId, session: SessionDep, user: PagePlanner,
               csrf: Csrf = "") -> Response:
    """Queue the round's solve; the page shows its progress."""
    return _transition(request, round_id, session, user, csrf, request_solve)


@router.post("/rounds/{round_id}/replan", response_class=HTMLResponse)
def replan_page(request: Request, round_id: RoundId, session: SessionDep, user: PagePlanner,
                csrf: Csrf = "", close_points: Annotated[str, Form(max_length=20_000)] = "",
                lot_quantities: Annotated[str, Form(max_length=20_000)] = "",
                withdraw: Annotated[str, Form(max_length=200_000)] = "",
                name: Annotated[str, Form(max_length=200)] = "") -> Response:
    """A new version of a round open for pickup, as a draft to solve, compare and approve."""
    check_csrf(request, csrf)
    t = text_for(request)
    row = _round(session, round_id)
    if row is None:
        return error_page(request, 404, with_n(t, "no_round_n", n=round_id), user)
    form = {"close_points": close_points, "lot_quantities": lot_quantities,
            "withdraw": withdraw, "name": name}
    lots, issues = quantities(lot_quantities)
    try:
        if issues:
            raise InvalidInput(issues)
        new = replan_round(session, round_id, user.name, close_points=ids(close_points),
                           lot_quantities=lots, withdraw=ids(withdraw),
                           name=name.strip() or None)
    except InvalidInput as error:
        session.rollback()
        return _dashboard(request, session, user, row, 422, issues_said(error, t), form)
    except RoundError as error:
        session.rollback()
        fresh = _round(session, round_id)
        if fresh is None:
            return error_page(request, 404, said(error, t), user)
        return _dashboard(request, session, user, fresh, status_of(error), said(error, t),
                          form)
    return RedirectResponse(f"/rounds/{new.id}", status_code=303)


def _transition(request: Request, round_id: int, session: Session, user: Any, csrf: str,
                step: Callable[[Session, int, str], Any]) -> Response:
    """Move a round on (a solve); a round in the wrong state shows why (409), in the page's
    language, on the round as it is now."""
    check_csrf(request, csrf)
    t = text_for(request)
    row = _round(session, round_id)
    if row is None:
        return error_page(request, 404, with_n(t, "no_round_n", n=round_id), user)
    try:
        step(session, round_id, user.name)
    except RoundError as error:
        session.expire_all()
        fresh = _round(session, round_id)
        if fresh is None:
            return error_page(request, 404, said(error, t), user)
        return _dashboard(request, session, user, fresh, status_of(error),
                          f"{said(error, t)} {t('page_out_of_date')}")
    return RedirectResponse(f"/rounds/{round_id}", status_code=303)


@router.post("/rounds/{round_id}/variant", response_class=HTMLResponse)
def variant_page(request: Request, round_id: RoundId, session: SessionDep, user: PagePlanner,
                 csrf: Csrf = "", budget_percent: Annotated[str, Form(max_length=30)] = "10",
                 name: Annotated[str, Form(max_length=200)] = "") -> Response:
    """A draft copy of the round with its budget changed by a percentage (e.g. +10%);
    refused, in the page's language, if it repeats a round (linked) or leaves no budget."""
    check_csrf(request, csrf)
    t = text_for(request)
    row = _round(session, round_id)
    if row is None:
        return error_page(request, 404, with_n(t, "no_round_n", n=round_id), user)
    form = {"budget_percent": budget_percent, "name": name}
    change = percent(budget_percent)
    if change is None:
        return _dashboard(request, session, user, row, 422,
                          with_n(t, "percent_unreadable", typed=budget_percent[:30]), form)
    try:
        new = vary_round(session, round_id, change, name.strip()
                         or with_n(t, "variant_default_name", name=row.name,
                                   change=f"{change:+g}%"), user.name)
    except InvalidInput as error:
        return _dashboard(request, session, user, row, 422, issues_said(error, t), form)
    except DuplicateRound as error:
        return _dashboard(request, session, user, row, 409, said(error, t), form,
                          duplicate=error.existing)
    except RoundError as error:
        return _dashboard(request, session, user, row, status_of(error), said(error, t), form)
    return RedirectResponse(f"/rounds/{new.id}", status_code=303)


@router.get("/rounds/{round_id}/report.html")
def report_download(request: Request, round_id: RoundId, session: SessionDep,
                    user: PagePlanner) -> Response:
    """The dashboard as one self-contained HTML file, to e-mail or print."""
    row = _round(session, round_id)
    if row is None or row.status not in RESULTS or not row.dashboard or not row.summary:
        return error_page(request, 404, f"Đợt {round_id} chưa có kết quả / no results for "
                          f"round {round_id}", user)
    t = text_for(request)
    lang = t.lang
    html = render_report(row.dashboard, row.summary, f"{t('round')} {row.id}: {row.name}", lang,
                         decisions=report_sections(session, row.id, lang),
                         paper=ReportPaper.of(issuing_office(request), row.status,
                                              row.approved_at, row.solved_at))
    return Response(html, media_type="text/html; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="bao-cao-dot-{row.id}.html"'})


@router.get("/rounds/{round_id}/handover.{kind}")
def handover_download(request: Request, round_id: RoundId, kind: str, session: SessionDep,
                      user: PagePlanner, by: Annotated[str, Query(pattern="^(point|commune)$")]
                      = "point", point: Filter = None, commune: Filter = None) -> Response:
    """The handover lists of an approved round: a sheet per point (or per commune), or one
    point's (commune's) list, each with its heading and signature blocks; CSV as one table."""
    t = text_for(request)
    if kind not in ("csv", "xlsx") or _round(session, round_id) is None:
        return error_page(request, 404, f"Không có đợt {round_id} / no round {round_id}", user)
    chosen: Kind = "commune" if commune or (by == "commune" and not point) else "point"
    try:
        papers = handover_papers(session, round_id, chosen, point or commune,
                                 office=issuing_office(request))
    except PaperRefused as error:
        return error_page(request, 404 if isinstance(error, NoSuchPlace) else 409,
                          error.said(t.lang), user)
    table = papers_table(papers)
    record_read(session, user.name, "download handover list", f"round {round_id}",
                {"format": kind, "by": chosen, "point": point, "commune": commune,
                 "rows": len(table)})
    name = file_name(papers, chosen, point or commune)
    if kind == "xlsx":
        return Response(as_workbook(papers), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return Response(as_csv(table), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name.removesuffix(".xlsx")}.csv"'})
