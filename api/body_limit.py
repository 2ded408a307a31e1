"""No request body larger than the largest upload the service takes (413, before any work).

The limit follows the upload settings: a zipped contract folder may hold up to
`Limits.max_archive_bytes`, so a body over that (plus room for the form's own
fields) can be refused from its Content-Length before a byte of it is read or
spooled to disk. A body sent without a length is counted as it arrives and cut
off at the same size.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allocator.limits import MB, Limits
from api.problems import Error

FORM_ROOM = MB  # multipart boundaries and the small fields beside the file


JSON_LIMIT = 8 * MB  # the largest JSON body a request needs (100,000 ids) is under 7 MB


def body_limit(scope: Scope) -> int:
    """An upload (a multipart form) may be as large as the largest archive; any other body
    (JSON, a form's fields) no larger than JSON_LIMIT."""
    app = scope.get("app")
    limits = getattr(getattr(app, "state", None), "limits", None) or Limits()
    kind = dict(scope.get("headers") or []).get(b"content-type", b"").lower()
    if not kind.startswith(b"multipart/form-data"):
        return JSON_LIMIT
    return int(limits.max_archive_bytes) + FORM_ROOM


class BodyLimit:
    """ASGI middleware: 413 for a request body over `body_limit`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        seen, over, started = 0, False, False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if over and not started:  # the app's answer to a cut-off body (e.g. 400) gives
                return  # way to the 413 below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not over or started:
                raise
        if over and not started:
            await _too_large(send, limit)


async def _too_large(send: Send, limit: int) -> None:
    sentence = f"the request is larger than {limit // MB} MB; no request that large is taken"
    body = json.dumps(Error(status=413, detail=sentence).model_dump()).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
