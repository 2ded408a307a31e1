"""Sending one SMS notice through an HTTP gateway: a JSON POST, retried with backoff.

The gateway gets `{"id": key, "phone": "0XXXXXXXXX", "message": text}` with an
`Idempotency-Key` header equal to the key, which is stable for a round's notice
to a household: a message whose answer was lost and that is posted again can be
dropped by the gateway. A bearer token, if configured, goes in `Authorization`.

Only a 2xx answer counts as sent. Dropped connections, timeouts, 408, 425, 429
and 5xx answers are retried, waiting base_delay x 2^n (bounded by max_delay; a
Retry-After of seconds is honoured within that bound); other answers (a 4xx: the
gateway refuses this message as it is) fail the message at once. 401 and 403
say the gateway refuses the sender itself, so sending stops (`Refused`).
Redirects are not followed: the token must reach only the configured address.

Standard library only; the store side (which messages, and recording results)
is `allocator.store.delivery`.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

URL_ENV, TOKEN_ENV = "ALLOCATOR_SMS_URL", "ALLOCATOR_SMS_TOKEN"
RETRIED = frozenset({408, 425, 429, 500, 502, 503, 504})
REFUSED = frozenset({401, 403})


@dataclass(frozen=True)
class Outgoing:
    """One message to post."""

    key: str
    phone: str
    message: str


@dataclass(frozen=True)
class Delivery:
    """What became of one message: sent (a 2xx), or the last error; tries = POSTs made."""

    sent: bool
    tries: int
    error: str = ""


class Refused(Exception):
    """The gateway refuses the sender (401/403), or the configuration is unusable."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 3xx then reaches the caller as an HTTPError


@dataclass
class HttpSender:
    """Posts messages to `url`; call it with an `Outgoing`, get a `Delivery`."""

    url: str
    token: str = ""
    tries: int = 5  # POSTs per message at most
    base_delay: float = 1.0  # seconds before the first retry; doubled each time
    max_delay: float = 30.0
    timeout: float = 10.0
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused(f"the SMS gateway address must be an http:// or https:// URL "
                          f"(got {self.url[:100]!r})")
        if not 1 <= self.tries <= 20:
            raise Refused("tries must be between 1 and 20")
        if not (0 <= self.base_delay <= self.max_delay <= 3600):
            raise Refused("delays must satisfy 0 <= base delay <= max delay <= 3600 seconds")
        self._opener = urllib.request.build_opener(_NoRedirect())

    def __call__(self, message: Outgoing) -> Delivery:
        error = ""
        for attempt in range(1, self.tries + 1):
            wait: float | None
            try:
                status = self._post(message)
            except urllib.error.HTTPError as answer:
                status, error = answer.code, f"HTTP {answer.code} {answer.reason}".strip()
                if status in REFUSED:
                    raise Refused(f"the SMS gateway refused the sender ({error}); check "
                                  f"{TOKEN_ENV} and the address") from None
                if status not in RETRIED:
                    return Delivery(False, attempt, error)
                wait = _retry_after(answer.headers.get("Retry-After"))
            except (urllib.error.URLError, http.client.HTTPException, OSError) as failure:
                error = f"no answer from the SMS gateway ({_reason(failure)})"
                wait = None
            else:
                if 200 <= status < 300:
                    return Delivery(True, attempt)
                return Delivery(False, attempt, f"HTTP {status}")
            if attempt < self.tries:
                self.sleep(self._delay(attempt, wait))
        return Delivery(False, self.tries, f"{error}, after {self.tries} tries")

    def _post(self, message: Outgoing) -> int:
        body = json.dumps({"id": message.key, "phone": message.phone,
                           "message": message.message}, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Idempotency-Key": message.key, "User-Agent": "allocator-sms"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with self._opener.open(request, timeout=self.timeout) as answer:
            answer.read()
            return int(answer.status)

    def _delay(self, attempt: int, asked: float | None) -> float:
        """Exponential, with a little jitter so that many retries do not arrive together."""
        backoff = self.base_delay * 2 ** (attempt - 1) * (1 + random.random() / 4)
        if asked is not None:
            backoff = max(backoff, asked)
        return min(backoff, self.max_delay)


def from_env(url: str | None = None, **options: float | int) -> HttpSender:
    """A sender to `url` or $ALLOCATOR_SMS_URL, with the token of $ALLOCATOR_SMS_TOKEN."""
    address = url or os.environ.get(URL_ENV, "")
    if not address:
        raise Refused(f"no SMS gateway is configured: give --url or set {URL_ENV}")
    return HttpSender(address, os.environ.get(TOKEN_ENV, ""), **options)  # type: ignore[arg-type]


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a date form is ignored: backoff applies)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _reason(failure: BaseException) -> str:
    if isinstance(failure, urllib.error.URLError) and not isinstance(failure.reason, str):
        failure = failure.reason  # type: ignore[assignment]
    text = str(failure) or type(failure).__name__
    return text[:200]
