"""Planners' view of the registry: households (with contacts), lots, points; paged, filtered."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from allocator.store.audit import record_read
from allocator.store.models import Household, HouseholdContact, Lot, Point
from api.deps import Filter, Limit, Offset, PlannerDep, SessionDep, count

router = APIRouter(prefix="/registry", tags=["registry (planners)"])


def _page(session: SessionDep, query: Any, offset: int, limit: int) -> dict[str, Any]:
    total = count(session, query)
    rows = session.execute(query.offset(offset).limit(limit)).mappings().all()
    return {"total": total, "offset": offset, "limit": limit, "items": [dict(r) for r in rows]}


@router.get("/households")
def households(session: SessionDep, user: PlannerDep, offset: Offset = 0, limit: Limit = 100,
               commune: Filter = None, status: Filter = None) -> dict[str, Any]:
    """Households with their contacts (planners only), by commune and status."""
    query = select(Household.id.label("household_id"), Household.commune_code,
                   Household.poverty_status, Household.members, Household.twog_handsets,
                   Household.smartphones, Household.flags, Household.needs,
                   HouseholdContact.head_name, HouseholdContact.phone) \
        .outerjoin(HouseholdContact, HouseholdContact.household_id == Household.id)
    if commune:
        query = query.where(Household.commune_code == commune)
    if status:
        query = query.where(Household.poverty_status == status)
    record_read(session, user.name, "list households", "registry",
                {"offset": offset, "limit": limit, "commune": commune, "status": status})
    return _page(session, query.order_by(Household.id), offset, limit)


@router.get("/lots")
def lots(session: SessionDep, _: PlannerDep, offset: Offset = 0, limit: Limit = 100,
         sponsor: Filter = None) -> dict[str, Any]:
    query = select(Lot.id.label("lot_id"), Lot.sponsor_id, Lot.model, Lot.network,
                   Lot.quantity, Lot.unit_price_vnd, Lot.sponsor_subsidy_vnd, Lot.features,
                   Lot.allowed_communes, Lot.allowed_statuses)
    if sponsor:
        query = query.where(Lot.sponsor_id == sponsor)
    return _page(session, query.order_by(Lot.id), offset, limit)


@router.get("/points")
def points(session: SessionDep, _: PlannerDep, offset: Offset = 0, limit: Limit = 100,
           commune: Filter = None) -> dict[str, Any]:
    query = select(Point.id.label("point_id"), Point.name, Point.commune_code, Point.lat,
                   Point.lon, Point.capacity)
    if commune:
        query = query.where(Point.commune_code == commune)
    return _page(session, query.order_by(Point.id), offset, limit)
