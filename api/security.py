"""Security headers on every response the service sends, errors included.

The pages load only the site's own script and style sheet, so the policy can
forbid inline script and style outright: a name that slipped past escaping
still cannot run. Personal data (handover lists, allocations, registry rows,
round pages, the portal) must not stay in a shared computer's browser cache, so
every answer but the static assets and the health check is `no-store`.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
# Files that are the same for everyone and hold no personal data may be cached.
CACHEABLE = ("/static/", "/docs/assets/")


def may_cache(path: str) -> bool:
    return path.startswith(CACHEABLE)


class SecurityHeaders:
    """ASGI middleware: sets the headers above on every HTTP response start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = may_cache(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if cacheable or k.lower() != b"cache-control"]
                present = {k.lower() for k, _ in headers}
                # A route may narrow or widen its own policy (the API docs page does).
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()
                            if k.encode() not in present]
                if not cacheable:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
