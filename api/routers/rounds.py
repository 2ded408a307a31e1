"""Planners' rounds: create, solve in the background, read results, approve."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, UploadFile, status
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocator.issues import InvalidInput
from allocator.store.audit import record_read
from allocator.store.campaign import (
    CHANGES,
    BeyondCampaign,
    approve_round,
    close_round,
    create_round,
    deadline_day,
    replan_diff,
    replan_round,
    set_pickup_deadline,
)
from allocator.store.handover import as_csv
from allocator.store.jobs import progress_of, request_solve
from allocator.store.lifecycle import WITH_RESULTS, RoundStatus
from allocator.store.models import AllocationRow, Round, UnservedRow
from allocator.store.papers import Kind, NoSuchPlace, PaperRefused, handover_papers, papers_table
from allocator.store.papers_xlsx import as_workbook, file_name
from allocator.store.rounds import export_round, import_folder_as_round, record_handovers
from api.deps import Filter, Limit, Offset, PlannerDep, RoundId, SessionDep, count
from api.problems import ApiError, Problem, documented, from_issues
from api.schemas import (
    PLAIN_TEXT,
    AllocationPublic,
    Approval,
    Closing,
    Deadline,
    HandoverRecord,
    HandoversRecorded,
    Kpis,
    Page,
    Replan,
    ReplanChange,
    ReplanDiff,
    RoundCreate,
    RoundPublic,
    UnservedPublic,
)
from api.settings import issuing_office
from api.uploads import BadUpload, LimitsDep, refusal, round_name, unpack_contract_zip

router = APIRouter(prefix="/rounds", tags=["rounds (planners)"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _public(row: Round, session: Session) -> RoundPublic:
    """A round as planners see it; progress is read from its solve job, shared by every
    web process and worker."""
    progress = "done" if row.status in WITH_RESULTS else ""
    if row.status in (RoundStatus.SOLVING, RoundStatus.FAILED):
        progress = progress_of(session, row.id)
    return RoundPublic(id=row.id, name=row.name, status=row.status,
                       inputs_hash=row.inputs_hash, seed=row.seed, summary=row.summary,
                       progress=progress, error=row.error,
                       pickup_deadline=deadline_day(row.pickup_deadline)
                       if row.pickup_deadline else None,
                       replaces=row.replaces, superseded_by=row.superseded_by,
                       ledger=row.ledger)


def _round(session: Session, round_id: int) -> Round:
    row = session.get(Round, round_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no round {round_id}")
    return row


@router.get("", response_model=list[RoundPublic])
def list_rounds(session: SessionDep, _: PlannerDep) -> list[RoundPublic]:
    return [_public(r, session) for r in session.scalars(select(Round).order_by(Round.id))]


@router.post("", response_model=RoundPublic, status_code=status.HTTP_201_CREATED,
             responses=documented(409))
def new_round(body: RoundCreate, session: SessionDep, user: PlannerDep) -> RoundPublic:
    try:
        row = create_round(session, body.policy.model_dump(exclude_unset=True), body.name,
                           user.name)
    except InvalidInput as error:
        # The campaign's money left is its state (409); anything else is the policy (422).
        code = 409 if isinstance(error, BeyondCampaign) else 422
        problems = [Problem(message=i.message, field=f"body.policy.{i.column}".rstrip("."))
                    for i in error.issues]
        raise ApiError(code, f"the policy is refused: {error.issues[0].message}",
                       problems) from None
    return _public(row, session)


@router.get("/{round_id:int}", response_model=RoundPublic)
def get_round(round_id: RoundId, session: SessionDep, _: PlannerDep) -> RoundPublic:
    return _public(_round(session, round_id), session)


@router.post("/{round_id}/solve", response_model=RoundPublic,
             status_code=status.HTTP_202_ACCEPTED, responses=documented(409))
def solve(round_id: RoundId, session: SessionDep, user: PlannerDep) -> RoundPublic:
    """Queue a solve (one at a time per round: a second is a 409); poll GET /rounds/{id}."""
    request_solve(session, round_id, user.name)
    return _public(_round(session, round_id), session)


@router.post("/{round_id}/approve", response_model=RoundPublic, responses=documented(409))
def approve(round_id: RoundId, session: SessionDep, user: PlannerDep,
            body: Approval | None = None) -> RoundPublic:
    """Make a solved round the decision; its phones are reserved until the pickup deadline.

    A re-plan, or a variant of a solved or approved round, supersedes the round it
    replaces (`replaces`). Refused (409, nothing changed) if a household would hold
    two phones, a variant's base already has handovers, or a lot or the campaign
    budget would be overcommitted.
    """
    body = body or Approval()
    return _public(approve_round(session, round_id, user.name,
                                 pickup_deadline=body.pickup_deadline,
                                 pickup_days=body.pickup_days), session)


@router.put("/{round_id}/pickup-deadline", response_model=RoundPublic,
            responses=documented(409))
def pickup_deadline(round_id: RoundId, body: Deadline, session: SessionDep,
                    user: PlannerDep) -> RoundPublic:
    """Move the last day households may collect (a round past its deadline opens again)."""
    return _public(set_pickup_deadline(session, round_id, body.pickup_deadline, user.name),
                   session)


@router.post("/{round_id}/close", response_model=RoundPublic, responses=documented(409))
def close(round_id: RoundId, session: SessionDep, user: PlannerDep,
          body: Closing | None = None) -> RoundPublic:
    """Close a round: phones not handed over go back to stock and their households count
    as no-shows. Before the pickup deadline only with `force` (else 409)."""
    force = body.force if body else False
    return _public(close_round(session, round_id, user.name, force=force), session)


@router.post("/{round_id}/replan", response_model=RoundPublic,
             status_code=status.HTTP_201_CREATED, responses=documented(409))
def replan(round_id: RoundId, body: Replan, session: SessionDep,
           user: PlannerDep) -> RoundPublic:
    """Draft a new version of an approved round (then solve it, read its diff, approve it)."""
    try:
        row = replan_round(session, round_id, user.name, close_points=body.close_points,
                           lot_quantities=body.lot_quantities, withdraw=body.withdraw,
                           budget_vnd=body.budget_vnd, name=body.name)
    except InvalidInput as error:
        # Every value is well formed (the schema saw to that): what is left is a point, lot
        # or household the round does not hold, which only the round's state can say.
        problems = [Problem(message=i.message, field=f"body.{i.column}") for i in error.issues]
        raise ApiError(409, f"the round does not hold what the re-plan names: "
                            f"{error.issues[0].message}", problems) from None
    return _public(row, session)


@router.get("/{round_id}/diff", response_model=ReplanDiff, responses=documented(409))
def diff(round_id: RoundId, session: SessionDep, user: PlannerDep, offset: Offset = 0,
         limit: Limit = 100,
         change: Annotated[str | None, Query(pattern="^(" + "|".join(CHANGES) + ")$")] = None
         ) -> ReplanDiff:
    """What a solved re-plan changes for households, against the round it replaces."""
    found = replan_diff(session, round_id)
    rows = [h for h in found["households"] if change is None or h["change"] == change]
    record_read(session, user.name, "read re-plan difference", f"round {round_id}",
                {"offset": offset, "limit": limit, "change": change})
    return ReplanDiff(round_id=found["round_id"], replaces=found["replaces"],
                      handed_over_fixed=found["handed_over_fixed"], counts=found["counts"],
                      total=len(rows), offset=offset, limit=limit,
                      households=[ReplanChange(**h) for h in rows[offset:offset + limit]])


@router.post("/{round_id}/handovers", response_model=HandoversRecorded,
             responses=documented(409))
def handovers(round_id: RoundId, body: HandoverRecord, session: SessionDep,
              user: PlannerDep) -> HandoversRecorded:
    """Record households who collected their phone at a point (approved rounds)."""
    newly = record_handovers(session, round_id, body.household_ids, user.name)
    return HandoversRecorded(recorded=len(set(body.household_ids)), new=newly)


@router.get("/{round_id}/allocations", response_model=Page[AllocationPublic])
def allocations(round_id: RoundId, session: SessionDep, user: PlannerDep, offset: Offset = 0,
                limit: Limit = 100, commune: Filter = None, point: Filter = None,
                sponsor: Filter = None) -> Page[AllocationPublic]:
    _round(session, round_id)
    query = select(AllocationRow).where(AllocationRow.round_id == round_id)
    if commune:
        query = query.where(AllocationRow.commune_code == commune)
    if point:
        query = query.where(AllocationRow.point_id == point)
    if sponsor:
        query = query.where(AllocationRow.sponsor_id == sponsor)
    total = count(session, query)
    items = [AllocationPublic.model_validate(r, from_attributes=True) for r in session.scalars(
        query.order_by(AllocationRow.household_id).offset(offset).limit(limit))]
    record_read(session, user.name, "list allocations", f"round {round_id}",
                {"offset": offset, "limit": limit, "commune": commune, "point": point,
                 "sponsor": sponsor})
    return Page[AllocationPublic](total=total, offset=offset, limit=limit, items=items)


@router.get("/{round_id}/unserved", response_model=Page[UnservedPublic])
def unserved(round_id: RoundId, session: SessionDep, _: PlannerDep, offset: Offset = 0,
             limit: Limit = 100, reason: Filter = None) -> Page[UnservedPublic]:
    _round(session, round_id)
    query = select(UnservedRow).where(UnservedRow.round_id == round_id)
    if reason:
        query = query.where(UnservedRow.reason == reason)
    total = count(session, query)
    rows = session.scalars(query.order_by(UnservedRow.household_id).offset(offset).limit(limit))
    return Page[UnservedPublic](total=total, offset=offset, limit=limit, items=[
        UnservedPublic.model_validate(r, from_attributes=True) for r in rows])


@router.get("/{round_id}/handover", response_class=Response,
            responses={200: {"content": {"text/csv": {}, XLSX: {}}}, **documented(404, 409)})
def handover(request: Request, round_id: RoundId, session: SessionDep, user: PlannerDep,
             point: Filter = None, commune: Filter = None,
             by: Annotated[str, Query(pattern="^(point|commune)$")] = "point",
             format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv") -> Response:
    """The handover lists of an approved round, to print, sign and file: in XLSX a sheet
    per point (`by=commune`: per commune), each with the official heading, its own
    households numbered from 1 and the signature blocks; `point` or `commune` gives
    that one list; both together, that commune's list with only the households that
    collect at that point. CSV holds the same rows as one table. A round not approved,
    or no longer handing phones over, has no list (409)."""
    kind: Kind = "commune" if commune or (by == "commune" and not point) else "point"
    try:
        papers = handover_papers(session, round_id, kind, commune or point,
                                 points=[point] if point and commune else None,
                                 office=issuing_office(request))
    except PaperRefused as error:
        raise ApiError(404 if isinstance(error, NoSuchPlace) else 409, error.en,
                       detail_vi=error.vi) from None
    table = papers_table(papers)
    record_read(session, user.name, "download handover list", f"round {round_id}",
                {"point": point, "commune": commune, "by": kind, "format": format,
                 "rows": len(table)})
    name = file_name(papers, kind, commune or point)
    if format == "xlsx":
        return Response(as_workbook(papers), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    name = name.removesuffix(".xlsx") + ".csv"
    return Response(as_csv(table), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/{round_id}/kpis", response_model=Kpis, responses=documented(409))
def kpis(round_id: RoundId, session: SessionDep, _: PlannerDep) -> Kpis:
    """Eligible, served, coverage of poor and near-poor, budget used, devices left."""
    row = _round(session, round_id)
    if row.summary is None:
        raise ApiError(409, f"round {round_id} is {row.status}: it has no results yet")
    served = dict(session.execute(
        select(AllocationRow.poverty_status, func.count()).where(
            AllocationRow.round_id == round_id).group_by(AllocationRow.poverty_status)).all())
    eligible = row.summary.get("eligible_by_status", {})
    data = dict(row.summary)
    return Kpis(status=data["status"], eligible=data["eligible"], served=data["served"],
                coverage_poor=_share(served.get("poor", 0), eligible.get("poor")),
                coverage_near_poor=_share(served.get("near_poor", 0), eligible.get("near_poor")),
                budget_used_vnd=data["budget_used_vnd"], budget_vnd=data["budget_vnd"],
                devices_left=data.get("devices_left"))


def _share(part: int, whole: int | None) -> float | None:
    return round(part / whole, 4) if whole else None


@router.get("/{round_id}/export", response_class=Response,
            responses={200: {"content": {"application/zip": {}}}})
def export(round_id: RoundId, session: SessionDep, user: PlannerDep) -> Response:
    """The round as a contract folder (inputs, and results once solved), zipped."""
    _round(session, round_id)
    with tempfile.TemporaryDirectory() as tmp:
        folder = export_round(session, round_id, Path(tmp) / f"dot-{round_id}")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder).as_posix())
    record_read(session, user.name, "export round", f"round {round_id}")
    return Response(buffer.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition":
                             f'attachment; filename="dot-{round_id}.zip"'})


@router.post("/import-folder", response_model=RoundPublic, status_code=status.HTTP_201_CREATED,
             responses=documented(413))
def import_folder(file: UploadFile, session: SessionDep, user: PlannerDep, limits: LimitsDep,
                  name: Annotated[str, Query(max_length=200, pattern=PLAIN_TEXT)] = ""
                  ) -> RoundPublic:
    """A zipped contract folder (households.csv, lots.csv, points.csv, and optionally
    communes.csv, keep.csv, round.json) as a new draft round.

    **Accepts** one zip as `multipart/form-data` field `file`; each file is found by its
    name wherever it sits in the zip. The zip at most 256 MB (413 beyond); each file at
    most 64 MB once unpacked and all of them at most 256 MB (422 beyond). The sizes are
    the service's `ALLOCATOR_MAX_UNPACKED_MB` and four times it.

    **Refused** with 422 and every problem located (`file`, `row`, `column`): a file
    missing, a bad cell, a broken zip. Nothing is written then.
    """
    with tempfile.TemporaryDirectory() as tmp:
        try:
            title = round_name(name, file.filename)
            unpack_contract_zip(file.file, Path(tmp), limits)
            row = import_folder_as_round(session, Path(tmp), title, user.name)
        except BadUpload as error:
            raise refusal(error) from None
        except InvalidInput as error:
            raise from_issues(422, error.issues, error.more, "the folder") from None
    return _public(row, session)
