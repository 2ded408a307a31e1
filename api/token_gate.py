"""A request body to the API is read only for a caller with a live token.

FastAPI reads and parses a body before its dependencies check the token, so an
anonymous caller could make the server parse (or spool to disk) a body as large
as the largest upload before being told 401. This gate answers that 401 first,
from the headers alone. Requests without a body go on as before: their 401, 404
or 405 comes from the routes, as the document says.
"""

from __future__ import annotations

import json

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from allocator.store.users import user_for_token
from api.problems import Error

OPEN = ("/api/health",)  # the API's only operation without a token


def _has_body(headers: dict[bytes, bytes]) -> bool:
    length = headers.get(b"content-length", b"")
    return (length.strip() not in (b"", b"0")) or b"transfer-encoding" in headers


def _token(headers: dict[bytes, bytes]) -> str | None:
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class TokenGate:
    """ASGI middleware: 401 before reading the body of an API request without a live token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or not scope["path"].startswith("/api/")
                or scope["path"] in OPEN):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if not _has_body(headers) or await self._live(scope, _token(headers)):
            await self.app(scope, receive, send)
            return
        sentence = ("a bearer token is required" if _token(headers) is None
                    else "unknown, expired or revoked token")
        body = json.dumps(Error(status=401, detail=sentence).model_dump()).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _live(scope: Scope, token: str | None) -> bool:
        sessions = getattr(getattr(scope.get("app"), "state", None), "sessions", None)
        if token is None:
            return False
        if sessions is None:  # not started: let the routes answer
            return True

        def look() -> bool:
            with sessions() as session:
                return user_for_token(session, token) is not None

        return await anyio.to_thread.run_sync(look)
