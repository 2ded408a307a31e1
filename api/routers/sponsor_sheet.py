"""The sponsor sheet's figures for planners, as JSON (the pages give it as HTML and XLSX).

Counts are texts, suppressed as the sponsor portal's are: a number, "<5", "*" or "–".
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from allocator.store.sponsor_sheet import SheetError, sponsor_sheet
from api.deps import PlannerDep, RoundId, SessionDep
from api.problems import ApiError, documented

router = APIRouter(prefix="/rounds", tags=["rounds (planners)"])
# A sponsor id as the registry holds it: no control character, no slash (a path segment).
SponsorId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f/]+$")]


@router.get("/{round_id}/sponsors/{sponsor_id}/sheet", responses=documented(409))
def sponsor_sheet_figures(round_id: RoundId, sponsor_id: SponsorId, session: SessionDep,
                          _: PlannerDep) -> dict[str, Any]:
    """One sponsor's lots in a round with results: use, idle devices and why, and the change
    that would use them (from the round's bottleneck analysis, when it has one). 404 for an
    unknown round or a sponsor with no lot in it; 409 for a round without results."""
    try:
        return sponsor_sheet(session, round_id, sponsor_id).to_json()
    except SheetError as error:
        raise ApiError(error.status, error.en, detail_vi=error.vi) from None
