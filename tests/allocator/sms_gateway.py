"""A local SMS gateway for the sender's tests: an http.server in a thread that answers
each POST as its script says, and records what it accepted."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# What the gateway does with a call: an HTTP status to answer, or "drop" (close the
# connection without an answer).
Answer = int | str


@dataclass
class Gateway:
    url: str
    # Called with (call number from 1, the JSON body); returns the answer.
    decide: Callable[[int, dict[str, Any]], Answer]
    calls: list[dict[str, Any]] = field(default_factory=list)  # every POST: body + headers
    accepted: list[dict[str, Any]] = field(default_factory=list)  # bodies answered 2xx
    redirect_to: str = ""  # sent as Location with every answer
    lock: threading.Lock = field(default_factory=threading.Lock)


def first_calls_fail(*failures: Answer) -> Callable[[int, dict[str, Any]], Answer]:
    """The first calls answer as given (500, 'drop', 503 ...), every later one 200."""
    return lambda n, _: failures[n - 1] if n <= len(failures) else 200


def always(answer: Answer) -> Callable[[int, dict[str, Any]], Answer]:
    return lambda n, _: answer


@contextmanager
def gateway(decide: Callable[[int, dict[str, Any]], Answer]) -> Iterator[Gateway]:
    state = Gateway("", decide)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.calls.append({**body, "headers": dict(self.headers)})
                answer = state.decide(len(state.calls), body)
                if isinstance(answer, int) and 200 <= answer < 300:
                    state.accepted.append(body)
            if answer == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            assert isinstance(answer, int)
            self.send_response(answer)
            if state.redirect_to:
                self.send_header("Location", state.redirect_to)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def do_GET(self) -> None:  # noqa: N802 (a redirected POST arrives as a GET)
            with state.lock:
                state.calls.append({"method": "GET", "headers": dict(self.headers)})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
