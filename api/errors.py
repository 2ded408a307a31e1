"""Typed errors of the store, turned into HTTP answers in one place.

A round asked for something its status does not allow is a 409, a missing one
a 404; a SQLite store still locked after its busy timeout is a 503 with
Retry-After, never a 500. The point desk's, the cases' and the follow-ups'
refusals are answered by the same rule (`api.statuses.status_of`, `refused`): 403 not the
asker's, 404 not there, 409 refused by the records, 422 wrong in itself. The
API answers in JSON; the pages with a page.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from allocator.issues import MAX_ISSUES
from allocator.store.lifecycle import RoundError
from allocator.store.point_desk import DeskError, NotFound, NotYours
from api.pages.render import error_page
from api.problems import ApiError, Problem, field_problems, from_lines
from api.statuses import status_of

RETRY_AFTER_SECONDS = 5


class SafeJSON(JSONResponse):
    """JSON written in ASCII: an answer that echoes what was sent (a 422 shows the input)
    can be written whatever it holds, a lone UTF-16 surrogate included."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False,
                          separators=(",", ":")).encode("ascii")


def invalid_request(error: RequestValidationError) -> Response:
    """The API's 422 for a request that does not fit its schema, each problem located by
    its field (`body.policy.budget_vnd`)."""
    found = error.errors()
    unread = next((e for e in found if e.get("type") == "json_invalid"), None)
    if unread is not None:  # not JSON at all: the body could not be read (400, as documented)
        at = unread.get("loc", ("body", 0))[-1]
        said = f"the body is not valid JSON ({unread.get('ctx', {}).get('error', 'unreadable')}"
        return answer(ApiError(400, f"{said}, at character {at})"))
    problems = field_problems(_finite(jsonable_encoder(found[:MAX_ISSUES])))
    total = len(found)
    first = f"{problems[0].field}: {problems[0].message}" if problems else ""
    detail = (f"{total:,} problem{'s' if total != 1 else ''} in the request"
              + (f"; the first: {first}" if first else ""))
    return answer(ApiError(422, detail, problems, more=total - len(problems)))


def answer(error: ApiError) -> Response:
    """An `Error` body with its status (and headers, such as Retry-After)."""
    return SafeJSON(error.body(), status_code=error.status, headers=error.headers)


def from_http(error: StarletteHTTPException) -> ApiError:
    """An HTTPException raised by FastAPI or Starlette (404 route, 405, 400 body), as an
    `Error`: its detail is a sentence, or a list of them."""
    detail = error.detail
    headers = dict(error.headers) if error.headers else None
    if isinstance(detail, list):
        made = from_lines(error.status_code, [str(line) for line in detail])
        made.headers = headers
        return made
    return ApiError(error.status_code, str(detail), headers=headers)


def _finite(value: Any) -> Any:
    """The input echoed back, with NaN and infinities (JSON has none) written as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def refused(error: RoundError | DeskError, where: str = "body") -> ApiError:
    """A store's refusal as the API answers it: its status, its English sentence and its
    Vietnamese one. A desk refusal also names the request field it is about, under
    `where` ("body", "query")."""
    code = status_of(error)
    if isinstance(error, DeskError):
        field = f"{where}.{error.field}" if error.field else where
        problems = [] if isinstance(error, NotYours | NotFound) else \
            [Problem(message=error.english, field=field)]
        return ApiError(code, error.english, problems, detail_vi=error.message)
    return ApiError(code, str(error), detail_vi=getattr(error, "vi", "") or None)


def is_busy(error: OperationalError) -> bool:
    """The store is locked by another writer (SQLite), or refused a lock in time."""
    text = str(error.orig).lower()
    return any(word in text for word in ("database is locked", "database table is locked",
                                         "lock timeout", "could not obtain lock",
                                         "deadlock detected"))


def install_error_handlers(app: FastAPI, is_api: Callable[[Request], bool]) -> None:
    @app.exception_handler(RoundError)
    async def round_error(request: Request, error: RoundError) -> Response:
        code = status_of(error)
        if is_api(request):
            english, vietnamese = getattr(error, "en", None), getattr(error, "vi", None)
            if isinstance(english, str) and isinstance(vietnamese, str):  # said in both
                return answer(ApiError(code, english, detail_vi=vietnamese))
            return answer(ApiError(code, str(error)))
        return error_page(request, code, str(error))

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        if is_api(request):
            return answer(error)
        return error_page(request, error.status, error.detail)

    @app.exception_handler(OperationalError)
    async def store_error(request: Request, error: OperationalError) -> Response:
        if not is_busy(error):
            raise error
        message = "the store is busy; try again in a few seconds"
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if is_api(request):
            return answer(ApiError(503, message, headers=headers))
        response = error_page(request, 503, "Hệ thống đang bận, vui lòng thử lại sau ít giây. / "
                                            "The service is busy; try again in a few seconds.")
        response.headers.update(headers)
        return response
