"""A real `allocator serve` over a store holding the `demo` scenario, and Debian's Chromium.

The store is made with the real commands (`allocator scenario`, `round
import-folder`, `round solve`, `round approve`, `user add`), and `allocator
solve` writes the `summary.json` the pages are checked against.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ALLOCATOR = Path(sys.executable).parent / "allocator"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium keeps calling out to a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
OUTPUT = Path(__file__).resolve().parents[1] / "output" / "browser"
VIEWPORTS = {"desktop": (1366, 768), "phone": (390, 844)}


@dataclass(frozen=True)
class World:
    url: str
    scenario: Path
    result: Path  # `allocator solve` on the same folder: summary.json, dashboard.json
    planner: str
    sponsor: str
    sponsor_id: str
    draft_round: int  # left for the browser to solve
    approved_round: int  # solved and approved from the terminal
    output: Path


def _run(*args: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run([str(ALLOCATOR), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def _token(output: str) -> str:
    found = re.search(r"token (\S+)", output)
    assert found, output
    return found.group(1)


@pytest.fixture(scope="session")
def browser_path() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing; `apt-get install chromium` (CI does)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); CI runs these")
    return CHROMIUM


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, browser_path: Path) -> Iterator[World]:
    import pandas as pd

    tmp = tmp_path_factory.mktemp("browser")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'store.db'}"}
    scenario, result = tmp / "demo", tmp / "demo-result"
    _run("scenario", "demo", "--out", str(scenario), env=env, cwd=tmp)
    _run("solve", str(scenario), "--out", str(result), "--quiet", env=env, cwd=tmp)
    _run("round", "import-folder", str(scenario), "--name", "Demo (trình duyệt)", env=env,
         cwd=tmp)
    _run("round", "import-folder", str(scenario), "--name", "Demo (đã duyệt)", env=env, cwd=tmp)
    _run("round", "solve", "2", env=env, cwd=tmp)
    _run("round", "approve", "2", env=env, cwd=tmp)
    # The sponsor whose devices went to the most communes in small numbers: the portal
    # must hide those counts.
    allocations = pd.read_csv(result / "allocations.csv", dtype=str)
    households = pd.read_csv(scenario / "households.csv", dtype=str)
    where = allocations.merge(households[["household_id", "commune_code"]], on="household_id")
    per = where.groupby(["sponsor_id", "commune_code"]).size()
    small = per[(per > 0) & (per < 5)].groupby(level=0).size()
    sponsor_id = str(small.idxmax())
    planner = _token(_run("user", "add", "lan", "--role", "planner", env=env, cwd=tmp))
    sponsor = _token(_run("user", "add", "tai-tro", "--role", "sponsor", "--sponsor",
                          sponsor_id, env=env, cwd=tmp))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(ALLOCATOR), "serve", "--port", str(port)], env=env, cwd=tmp,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        OUTPUT.mkdir(parents=True, exist_ok=True)
        yield World(url, scenario, result, planner, sponsor, sponsor_id, 1, 2, OUTPUT)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def chromium(browser_path: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(browser_path), headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()
