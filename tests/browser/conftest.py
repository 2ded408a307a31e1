"""A real `allocator serve` over a store holding the `demo` scenario, and Debian's Chromium.

The store is made with the real commands (`allocator scenario`, `round
import-folder`, `round solve`, `round approve`, `user add`, `token add`), and
`allocator solve` writes the `summary.json` the pages are checked against.
People set their passwords through the one-time links `user add` prints.

The tests' shared steps live here too: a desk-sized browser context, signing in as one
of the world's people, and photographing a page (or a part of it) at both sizes.
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
from typing import Any

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
    people: dict[str, tuple[str, str]]  # role -> (name, password)
    planner_token: str  # an API token of the planner, for machine calls
    new_person_link: str  # a one-time link nobody has used yet
    sponsor_id: str
    draft_round: int  # left for the browser to solve
    approved_round: int  # solved and approved from the terminal
    output: Path


def _run(*args: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run([str(ALLOCATOR), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def _link(output: str) -> str:
    found = re.search(r"(http\S+/set-password\?t=\S+)", output)
    assert found, output
    return found.group(1)


def _set_password(link: str, password: str) -> None:
    """What a person does with their link, without a browser (the browser test does it too)."""
    with httpx.Client(timeout=30, follow_redirects=True) as client:
        page = client.get(link)
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert page.status_code == 200 and found, page.text[:300]
        done = client.post(link.split("?")[0], data={
            "t": link.split("t=", 1)[1], "password": password, "again": password,
            "csrf": found.group(1)})
        assert done.status_code == 200 and "/login" in str(done.url), done.text[:300]


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
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env["ALLOCATOR_BASE_URL"] = f"http://127.0.0.1:{port}"
    links = {"planner": _link(_run("user", "add", "lan", "--role", "planner", env=env,
                                   cwd=tmp)),
             "sponsor": _link(_run("user", "add", "tai-tro", "--role", "sponsor", "--sponsor",
                                   sponsor_id, env=env, cwd=tmp)),
             "new": _link(_run("user", "add", "mai", "--role", "planner", env=env, cwd=tmp)),
             # A point officer at the busiest point of the approved round.
             "point": _link(_run("user", "add", "diem", "--role", "point", "--point",
                                 str(allocations["point_id"].value_counts().idxmax()),
                                 env=env, cwd=tmp))}
    token = _run("token", "add", "lan", env=env, cwd=tmp).strip().splitlines()[-1]
    people = {"planner": ("lan", "lan-plans-the-rounds"),
              "sponsor": ("tai-tro", "sees-only-its-own-lots"),
              "point": ("diem", "hands-phones-over-here")}
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
        for role, (_, password) in people.items():
            _set_password(links[role], password)
        OUTPUT.mkdir(parents=True, exist_ok=True)
        yield World(url, scenario, result, people, token, links["new"], sponsor_id, 1, 2,
                    OUTPUT)
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


def new_context(chromium: Any, **options: Any) -> Any:
    """A browser context the size of a desk's screen (1366×768)."""
    width, height = VIEWPORTS["desktop"]
    return chromium.new_context(viewport={"width": width, "height": height}, **options)


def sign_in(chromium: Any, world: World, role: str) -> tuple[Any, Any]:
    """A new desk context signed in as the world's `role`, and the page it signed in on."""
    context = new_context(chromium)
    page = context.new_page()
    page.goto(f"{world.url}/login")
    name, password = world.people[role]
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state("load")
    assert "/login" not in page.url, role
    return context, page


def signed_in_context(chromium: Any, world: World, role: str) -> Any:
    """A desk context of `role`, or of someone not signed in ("anonymous"), without a page."""
    if role == "anonymous":
        return new_context(chromium)
    context, page = sign_in(chromium, world, role)
    page.close()
    return context


def shoot(context: Any, url: str, name: str, world: Any,
          selector: str | None = None) -> list[Path]:
    """A screenshot per viewport, of the whole page or of the part at `selector`, into
    `world.output`; the page must fit the phone's width."""
    saved = []
    for label, (width, height) in VIEWPORTS.items():
        page = context.new_page()
        page.set_viewport_size({"width": width, "height": height})
        page.goto(url)
        page.wait_for_load_state("load")
        overflow = page.evaluate("document.documentElement.scrollWidth") - width
        assert overflow <= 1, f"{name} is {overflow}px wider than the {label} screen"
        path = world.output / f"{name}-{width}x{height}.png"
        if selector is None:
            page.screenshot(path=str(path), full_page=True)
        else:
            page.locator(selector).screenshot(path=str(path))
        assert path.stat().st_size > (5_000 if selector is None else 3_000)
        saved.append(path)
        page.close()
    return saved


def digits(text: str) -> int:
    """A number as a page prints it ("1.109", "3.197.890.000 ₫"), as an int."""
    return int(re.sub(r"[^0-9]", "", text))


def wait_until_solved(page: Any) -> list[str]:
    """Watch the progress box until the page reloads on the solved round; its labels seen."""
    seen: list[str] = []
    for _ in range(3000):  # a deadline, not a speed target: 10 minutes at most
        try:
            if page.get_attribute("#round-status", "data-status") == "solved":
                break
            label = page.locator("[data-progress-text]").inner_text(timeout=1000)
            if not seen or seen[-1] != label:
                seen.append(label)
        except Exception:  # the page is reloading under us
            pass
        page.wait_for_timeout(200)
    page.wait_for_selector("#round-status[data-status=solved]")
    page.wait_for_selector("#finished[data-status=solved]")
    return seen
