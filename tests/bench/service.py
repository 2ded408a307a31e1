"""The web service under load: requests per second and latency, as sponsors and planners see it.

Builds the `demo` store in a temporary folder (as `allocator demo` does), starts the
real server (`allocator serve`) on 127.0.0.1 over it, and for each route sends
requests from 1, then 50, concurrent clients for a fixed time, each client a thread
with its own connection. Prints a markdown table. Run:

    .venv/bin/python -m tests.bench.service [--seconds 10] [--clients 1,50]

Each route is measured three ways: one client sending requests back to back; 50
clients back to back (the service's capacity: every client waits for the one before
it, so latency there is mostly queueing); and 50 clients each opening a page once a
second, started at random moments of the first second (50 sponsors using the portal
at once, a heavier use than people make of it).

Target: 50 concurrent sponsors get the portal with p99 under 300 ms — judged on the
paced cell, which models sponsors; the back-to-back cell reports the capacity.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ROUND = 1


@dataclass
class Client:
    """How one simulated client signs its requests: a bearer token or a page session."""

    headers: dict[str, str]
    cookies: dict[str, str]


@dataclass
class Cell:
    route: str
    clients: int
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    pace: float | None = None  # seconds between one client's requests; None: back to back

    def row(self) -> str:
        ms = sorted(x * 1000 for x in self.latencies) or [float("nan")]
        p50 = statistics.median(ms)
        p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
        how = "back to back" if self.pace is None else f"1 per {self.pace:g} s each"
        return (f"| `{self.route}` | {self.clients} | {how} | "
                f"{self.requests / self.seconds:,.1f} | {p50:,.0f} | {p99:,.0f} | "
                f"{self.errors} |")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_store(folder: Path) -> str:
    """The demo store (round 1 approved) as `allocator demo` makes it; its database URL."""
    subprocess.run([str(BIN / "allocator"), "demo", "--folder", str(folder)], check=True,
                   stdout=subprocess.DEVNULL, cwd=folder)
    return f"sqlite:///{folder / 'allocator.db'}"


def add_people(url: str, sponsors: int) -> tuple[str, list[tuple[str, str, str]]]:
    """A planner's API token, and per sponsor of round 1 (up to `sponsors`): a user name,
    a password (where the store has passwords) and an API token."""
    from sqlalchemy import select

    from allocator.store import users
    from allocator.store.db import make_engine, make_sessions
    from allocator.store.models import AllocationRow

    engine = make_engine(url)
    people = []
    with make_sessions(engine)() as session:
        planner = users.add_user(session, "bench-planner", "planner", None, "bench")[1]
        ids = sorted(set(session.scalars(select(AllocationRow.sponsor_id).distinct()
                                         .where(AllocationRow.round_id == ROUND))))[:sponsors]
        for i, sponsor_id in enumerate(ids):
            name = f"bench-sponsor-{i}"
            token = users.add_user(session, name, "sponsor", sponsor_id, "bench")[1]
            password = ""
            if hasattr(users, "set_password"):
                password = f"{secrets.token_urlsafe(12)}-Bench-{i}"
                users.set_password(session, name, password, "bench")
            people.append((name, password, token))
    engine.dispose()
    return planner, people


def sign_in(base: str, name: str, password: str, token: str) -> dict[str, str]:
    """Sign in at /login as a browser does, with whatever the form asks for."""
    with httpx.Client(base_url=base, follow_redirects=False) as http:
        form = http.get("/login").text
        data: dict[str, str] = {}
        found = re.search(r'name="csrf" value="([^"]*)"', form)
        if found:
            data["csrf"] = found.group(1)
        if 'name="password"' in form:
            data |= {"name": name, "password": password}
        else:
            data["token"] = token
        answer = http.post("/login", data=data)
        if answer.status_code != 303 or "allocator_session" not in http.cookies:
            raise SystemExit(f"sign-in failed ({answer.status_code}): {answer.text[:200]}")
        return {"allocator_session": http.cookies["allocator_session"]}


def start_server(url: str, port: int, log: Path, processes: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"DATABASE_URL": url}
    server = subprocess.Popen([str(BIN / "allocator"), "serve", "--port", str(port),
                               "--processes", str(processes)],
                              env=env, cwd=ROOT, stdout=log.open("wb"),
                              stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code < 500:
                return server
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            raise SystemExit(f"the server stopped: see {log}")
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not start within 60 s")


def load(base: str, path: str, clients: list[Client], seconds: float,
         pace: float | None = None) -> Cell:
    """Each client sends requests one after another until the time is up (with `pace`:
    one request every `pace` seconds, from a random moment of the first interval)."""
    latencies: list[list[float]] = [[] for _ in clients]
    errors = [0] * len(clients)
    start = threading.Barrier(len(clients) + 1)
    stop = [0.0]

    def run(i: int) -> None:
        with httpx.Client(base_url=base, headers=clients[i].headers,
                          cookies=clients[i].cookies, timeout=60) as http:
            start.wait()
            due = time.perf_counter() + (random.uniform(0, pace) if pace else 0.0)
            while True:
                if pace:
                    time.sleep(max(0.0, due - time.perf_counter()))
                    due += pace
                if time.perf_counter() >= stop[0]:
                    break
                began = time.perf_counter()
                try:
                    answer = http.get(path)
                    ok = answer.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies[i].append(time.perf_counter() - began)
                errors[i] += not ok

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(clients))]
    for t in threads:
        t.start()
    began = time.perf_counter()
    stop[0] = began + seconds
    start.wait()
    for t in threads:
        t.join()
    took = time.perf_counter() - began
    every = [x for each in latencies for x in each]
    return Cell(path, len(clients), len(every), sum(errors), took, every, pace)


def first_views(base: str, path: str, pool: list[Client]) -> Cell:
    """Each sponsor's first view of a round, one after another: the audit runs for each."""
    latencies, errors = [], 0
    began = time.perf_counter()
    for client in pool:
        with httpx.Client(base_url=base, headers=client.headers, cookies=client.cookies,
                          timeout=120) as http:
            start = time.perf_counter()
            errors += http.get(path).status_code != 200
            latencies.append(time.perf_counter() - start)
    return Cell(f"{path} (first view)", 1, len(pool), errors, time.perf_counter() - began,
                latencies)


def warm_up(base: str, path: str, pool: list[Client]) -> None:
    """One request per client first: the cells measure figures already kept (each
    sponsor's first view, measured by `first_views`, runs the audit)."""
    for client in pool:
        with httpx.Client(base_url=base, headers=client.headers, cookies=client.cookies,
                          timeout=120) as http:
            http.get(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per cell (default 10)")
    parser.add_argument("--clients", default="1,50", help="concurrent clients per cell")
    parser.add_argument("--processes", type=int, default=1,
                        help="web processes of `allocator serve` (default 1)")
    parser.add_argument("--pace", type=float, default=1.0,
                        help="seconds between a paced client's requests (default 1)")
    args = parser.parse_args(argv)
    counts = [int(x) for x in args.clients.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        folder = Path(tmp)
        print("building the demo store ...", file=sys.stderr)
        url = build_store(folder)
        planner, people = add_people(url, max(counts))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(url, port, folder / "server.log", args.processes)
        try:
            sponsors_api = [Client({"Authorization": f"Bearer {token}"}, {})
                            for _, _, token in people]
            sponsors_pages = [Client({}, sign_in(base, name, password, token))
                              for name, password, token in people]
            planners = [Client({"Authorization": f"Bearer {planner}"}, {})]
            routes: list[tuple[str, str, list[Client]]] = [
                ("planner", f"/api/rounds/{ROUND}/kpis", planners),
                ("sponsor page", f"/portal?round={ROUND}", sponsors_pages),
                ("sponsor API", f"/api/sponsor/rounds/{ROUND}/distribution", sponsors_api),
                ("sponsor API", f"/api/sponsor/rounds/{ROUND}/lots", sponsors_api),
            ]
            cells = [("sponsor API", first_views(
                base, f"/api/sponsor/rounds/{ROUND}/lots", sponsors_api))]
            for who, path, pool in routes:
                warm_up(base, path, pool)
                for n, pace in [(n, None) for n in counts] + [(max(counts), args.pace)]:
                    chosen = [pool[i % len(pool)] for i in range(n)]
                    cells.append((who, load(base, path, chosen, args.seconds, pace)))
                    print(f"{path} x{n} pace {pace}: done", file=sys.stderr)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"\nService load, demo store on SQLite, `allocator serve --processes "
          f"{args.processes}`; "
          f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{args.seconds:g} s per cell; {len(people)} sponsors share the clients.\n")
    print("| who | route | clients | each client | requests/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for who, cell in cells:
        print(f"| {who} {cell.row()}")


if __name__ == "__main__":
    main()
