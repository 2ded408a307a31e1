"""Each API operation documents the error statuses it can answer, read from what it depends on.

A route asks for the caller (401), a role (403), the store (503), path values
that may name nothing (404), a body or parameters (422, and 400 for a body that
cannot be read); any request may carry a body over the limit (413). Statuses
that depend on what the handler does (a round's state: 409) are declared on the
route itself with `documented(...)`. Every one of them answers with the `Error`
body.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api import deps
from api.problems import documented

ROLES: tuple[Callable[..., Any], ...] = (deps.planner, deps.sponsor, deps.point_officer)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def statuses_of(route: APIRoute) -> set[int]:
    """The error statuses a route can answer with, from its dependencies and parameters."""
    calls = set(_calls(route.dependant))
    found: set[int] = {413}  # any request with a body over the limit (api/body_limit.py)
    if deps.current_user in calls:
        found.add(401)
    if calls & set(ROLES):
        found.add(403)
    if deps.get_session in calls:
        found.add(503)
    if route.dependant.path_params:
        found.add(404)
    if route.dependant.query_params or route.dependant.path_params or route.body_field:
        found.add(422)
    if route.body_field is not None:
        found.add(400)
    return found


def document_errors(router: APIRouter) -> APIRouter:
    """Add the `Error` answers to each of an API router's routes (before it is included
    in the app); statuses a route declares itself are kept as declared."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        for code, response in documented(*sorted(statuses_of(route))).items():
            route.responses.setdefault(code, response)
    return router


def allowed_methods(app: FastAPI, path: str) -> str | None:
    """The `Allow` header a 405 at this path must carry: the methods the document lists for
    the most literal path template that matches (`/api/rounds/import-folder` over
    `/api/rounds/{round_id}`). Starlette would name only the first route that matched."""
    paths = app.openapi().get("paths", {})
    best: tuple[int, str] | None = None
    for template in paths:
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            rank = template.count("{")
            if best is None or rank < best[0]:
                best = (rank, template)
    if best is None:
        return None
    return ", ".join(sorted(m.upper() for m in paths[best[1]] if m.upper() in HTTP_METHODS))


HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
