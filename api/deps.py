"""Named dependencies: the database session and the caller, by role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocator.store.models import User
from allocator.store.users import user_for_token

_bearer = HTTPBearer(auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_user(session: SessionDep,
                 credentials: Annotated[HTTPAuthorizationCredentials | None,
                                        Depends(_bearer)]) -> User:
    # Tokens are for machine clients (`allocator token add`); people use the pages.
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    user = user_for_token(session, credentials.credentials)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown, expired or revoked token",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


UserDep = Annotated[User, Depends(current_user)]


def planner(user: UserDep) -> User:
    if user.role != "planner":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "planners only")
    return user


def sponsor(user: UserDep) -> User:
    if user.role != "sponsor" or not user.sponsor_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "sponsors only")
    return user


def point_officer(user: UserDep) -> User:
    """A point officer, or a planner (planners keep full access to the point's work)."""
    if user.role not in ("point", "planner"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "point officers and planners only")
    return user


PlannerDep = Annotated[User, Depends(planner)]
PointDep = Annotated[User, Depends(point_officer)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
# Ids fit every database's integer column; larger ones are a 422, never a 500.
MAX_ID = 2_147_483_647
StoreId = Annotated[int, Path(ge=1, le=MAX_ID)]  # a round's, a case's, a handover's
RoundId = StoreId
# A filter by id or code: no control character (PostgreSQL refuses NUL: a 422, not a 500).
Filter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
SponsorDep = Annotated[User, Depends(sponsor)]


def count(session: Session, query: Any) -> int:
    """Rows a query would return, for the total of a page."""
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0
