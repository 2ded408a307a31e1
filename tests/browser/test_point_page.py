"""The handover page at the point in a real browser (Debian's Chromium), on a phone's screen
(390×844), as a point officer: the issue's acceptance scenario.

The officer signs in and lands on /point; finds a household by its code and again by
its phone; fails the ID check, then passes it; sees the IMEI's Luhn error; records
the handover, undoes it and records it again; and sends a form whose first answer was
lost, to find one record. They cannot open another point's household, a planner's
page or any sponsor route. Records are checked in the store the server writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from allocator.device_ids import luhn_check_digit
from allocator.phones import normalise_phone
from allocator.pickup_codes import display_code
from allocator.store.db import make_engine, make_sessions
from allocator.store.models import AllocationRow, Handover, User, UserPoint
from allocator.store.point_desk import last4
from tests.browser.conftest import World, shoot

PHONE = {"width": 390, "height": 844}
OFFICER = "diem"


@dataclass(frozen=True)
class Person:
    household_id: str
    head_name: str
    phone: str
    id_last4: str
    code: str  # as stored: 8 characters


def imei(n: int) -> str:
    payload = f"86{n:012d}"
    return payload + luhn_check_digit(payload)


class Store:
    """The server's SQLite store, read (and never written) by the test."""

    def __init__(self, world: World) -> None:
        self.engine = make_engine(f"sqlite:///{world.scenario.parent / 'store.db'}")
        self.sessions = make_sessions(self.engine)

    def points(self) -> list[str]:
        with self.sessions() as session:
            user = session.scalars(select(User).where(User.name == OFFICER)).one()
            return list(session.scalars(select(UserPoint.point_id)
                                        .where(UserPoint.user_id == user.id)))

    def allocations(self, round_id: int) -> list[AllocationRow]:
        with self.sessions() as session:
            return list(session.scalars(select(AllocationRow)
                                        .where(AllocationRow.round_id == round_id)
                                        .order_by(AllocationRow.household_id)))

    def handovers(self, household_id: str) -> list[Handover]:
        with self.sessions() as session:
            return list(session.scalars(select(Handover).where(
                Handover.household_id == household_id).order_by(Handover.id)))


@pytest.fixture(scope="module")
def store(world: World) -> Iterator[Store]:
    found = Store(world)
    yield found
    found.engine.dispose()


def _people(world: World, store: Store) -> tuple[list[Person], str]:
    """Households of the officer's point with a code, a mobile of their own and an ID number;
    and a household of another point."""
    homes = pd.read_csv(world.scenario / "households.csv", dtype=str).fillna("")
    homes = homes.set_index("household_id")
    rows = store.allocations(world.approved_round)
    mine = set(store.points())
    assert all(a.pickup_code for a in rows), "the approved round gave no pickup codes"
    phones = homes["phone"].map(lambda p: normalise_phone(p)[0])
    shared = set(phones[phones.duplicated(keep=False)].dropna())
    people = [Person(a.household_id, homes.at[a.household_id, "head_name"],
                     str(phones[a.household_id]), last4(homes.at[a.household_id, "national_id"]),
                     str(a.pickup_code))
              for a in rows if a.point_id in mine and phones[a.household_id]
              and phones[a.household_id] not in shared
              and last4(homes.at[a.household_id, "national_id"])]
    other = next(a.household_id for a in rows if a.point_id not in mine)
    assert len(people) >= 2, "the officer's point has too few households for the scenario"
    return people, other


def _sign_in(chromium: Any, world: World, **options: Any) -> tuple[Any, Any]:
    context = chromium.new_context(viewport=PHONE, has_touch=True, **options)
    page = context.new_page()
    page.goto(f"{world.url}/login")
    name, password = world.people["point"]
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state("load")
    return context, page


def _fill(page: Any, last4: str, device: str, outcome: str = "handed") -> None:
    page.fill("#id_last4", last4)
    page.check(f"#outcome-{outcome}")
    page.fill("#imei", device)


def _send(page: Any) -> None:
    """Press Send and wait for the answer: a new page, or a message on this one."""
    from playwright.sync_api import Error

    before = page.url
    page.click("#submit")
    for _ in range(600):
        try:
            if page.url != before:
                page.wait_for_load_state("load")
                return
            if page.evaluate("() => !document.querySelector('#submit').disabled"):
                return
        except Error:  # the page is being replaced under us
            pass
        page.wait_for_timeout(100)
    raise AssertionError("no answer to the form")


def _visible_text(page: Any, selector: str) -> str:
    box = page.locator(selector)
    return box.inner_text() if box.count() and box.is_visible() else ""


def test_an_officer_hands_a_phone_over_at_the_point(chromium: Any, world: World,
                                                    store: Store) -> None:
    people, other = _people(world, store)
    first, second = people[0], people[1]
    n = world.approved_round
    context, page = _sign_in(chromium, world)
    problems: list[str] = []
    # A script error or anything the security policy refused (failed loads are expected).
    page.on("console", lambda m: problems.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    assert page.url == f"{world.url}/point"  # an officer lands on the desk

    # Found by its code, typed as people do (lower case, a space): straight to the card.
    typed = display_code(first.code).lower().replace("-", " ")
    page.fill("#q", typed)
    page.click("#search")
    page.wait_for_load_state("load")
    assert page.url == f"{world.url}/point/{n}/{first.household_id}"
    assert page.locator("#head-name").inner_text() == first.head_name
    assert page.locator("#code").inner_text() == display_code(first.code)
    card = page.locator("#household").inner_text()
    assert not re.search(rf"\b{first.id_last4}\b", card)  # the officer reads it off the card

    # Found again by its phone, written the international way.
    page.goto(f"{world.url}/point")
    page.fill("#q", "+84 " + first.phone[1:])
    page.click("#search")
    page.wait_for_load_state("load")
    page.click(f"#results a[data-household='{first.household_id}']")
    page.wait_for_load_state("load")
    assert page.url == f"{world.url}/point/{n}/{first.household_id}"
    shoot(context, page.url, "point-household", world)

    # The ID check fails: refused next to the field, nothing recorded, the typing kept.
    wrong = f"{(int(first.id_last4) + 1) % 10000:04d}"
    _fill(page, wrong, imei(1))
    _send(page)
    assert "không khớp" in _visible_text(page, "#err-id_last4")
    assert page.input_value("#imei") == imei(1)
    assert store.handovers(first.household_id) == []

    # The right digits, and a mistyped IMEI: the page hints at the Luhn error as it is
    # typed, and the server refuses it.
    bad = imei(1)[:-1] + str((int(imei(1)[-1]) + 3) % 10)
    page.fill("#id_last4", first.id_last4)
    page.fill("#imei", "")
    page.type("#imei", bad)
    hint = _visible_text(page, "#err-imei")
    assert "kiểm tra" in hint, hint
    _send(page)
    assert "Luhn" in _visible_text(page, "#err-imei")
    assert _visible_text(page, "#err-id_last4") == ""
    assert page.input_value("#id_last4") == first.id_last4
    page.screenshot(path=str(world.output / "point-imei-error-390x844.png"), full_page=True)
    assert store.handovers(first.household_id) == []

    # Recorded.
    page.fill("#imei", imei(1))
    _send(page)
    assert page.get_attribute("#record", "data-outcome") == "handed"
    assert "✓" in page.locator("#record-title").inner_text()
    assert page.locator("#handover-form").count() == 0
    live = [h for h in store.handovers(first.household_id) if h.undone_at is None]
    assert [(h.outcome, h.identity, h.imei, h.officer) for h in live] == \
        [("handed", "cccd", imei(1), OFFICER)]
    shoot(context, page.url.split("?")[0], "point-recorded", world)

    # Undone, with a reason, and recorded again (the IMEI is free again).
    page.fill("#reason", "Ghi nhầm máy, ghi lại")
    page.click("#undo")
    page.wait_for_url(re.compile(r"undone=1"))
    assert page.locator("#undone").is_visible()
    records = store.handovers(first.household_id)
    assert len(records) == 1 and records[0].undo_reason == "Ghi nhầm máy, ghi lại"
    _fill(page, first.id_last4, imei(1))
    _send(page)
    assert page.get_attribute("#record", "data-outcome") == "handed"
    records = store.handovers(first.household_id)
    assert [h.undone_at is None for h in records] == [False, True]

    # The connection drops: the form keeps what was typed and says so; sent again (the
    # same key) once the first send did reach the server, it is recorded once.
    page.goto(f"{world.url}/point/{n}/{second.household_id}")
    _fill(page, second.id_last4, imei(2))
    page.fill("#note", "hộp còn nguyên")
    context.set_offline(True)
    _send(page)
    context.set_offline(False)
    offline = _visible_text(page, "#offline")
    assert offline.startswith("Chưa gửi được"), offline
    assert page.locator("#submit").inner_text() == "Gửi lại"
    assert (page.input_value("#id_last4"), page.input_value("#imei"),
            page.input_value("#note")) == (second.id_last4, imei(2), "hộp còn nguyên")
    assert store.handovers(second.household_id) == []

    lost: list[int] = []

    def arrive_then_drop(route: Any) -> None:
        if route.request.method == "POST" and not lost:
            lost.append(route.fetch().status)  # the server records it; the answer is lost
            route.abort()
        else:
            route.continue_()

    page.route(f"**/point/{n}/{second.household_id}", arrive_then_drop)
    _send(page)
    assert lost == [200]
    assert _visible_text(page, "#offline").startswith("Chưa gửi được")
    assert len(store.handovers(second.household_id)) == 1
    page.unroute(f"**/point/{n}/{second.household_id}")
    _send(page)
    assert page.get_attribute("#record", "data-outcome") == "handed"
    assert [(h.imei, h.undone_at) for h in store.handovers(second.household_id)] == \
        [(imei(2), None)]
    assert not problems, problems

    # Not another point's household, not a planner's page, no sponsor route.
    assert page.goto(f"{world.url}/point/{n}/{other}").status == 404  # as if not there
    for path in ("/rounds", f"/rounds/{n}", "/campaign", "/portal", "/portal/campaign",
                 f"/portal/figures.csv?round={n}"):
        assert page.goto(f"{world.url}{path}").status == 403, path
    spec = context.request.get(f"{world.url}/openapi.json").json()
    sponsor_paths = [p for p in spec["paths"] if p.startswith("/api/sponsor")]
    assert sponsor_paths
    for path in sponsor_paths:
        answer = context.request.get(world.url + path.replace("{round_id}", str(n)))
        assert answer.status in (401, 403), (path, answer.status)
    context.close()


def test_the_desk_fits_a_phone_with_large_touch_targets(chromium: Any, world: World,
                                                        store: Store) -> None:
    people, _ = _people(world, store)
    context, page = _sign_in(chromium, world)
    shoot(context, f"{world.url}/point", "point-search", world)
    surname = people[0].head_name.split()[-1]
    shoot(context, f"{world.url}/point?q={surname}", "point-results", world)
    page.goto(f"{world.url}/point/{world.approved_round}/{people[-1].household_id}")
    smallest = page.evaluate("""() => {
        const seen = [...document.querySelectorAll(
            'main a, main button, main input:not([type=hidden]):not([type=checkbox])' +
            ':not([type=radio]), main textarea, main label.choice')]
          .filter(e => e.offsetParent !== null);
        return Math.min(...seen.map(e => e.getBoundingClientRect().height));
    }""")
    assert smallest >= 48, smallest
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('#imei')).fontSize)")
    assert size >= 18, size
    # The camera button shows only where the browser can read a QR code.
    detector = page.evaluate("'BarcodeDetector' in window")
    assert page.locator("#scan").is_visible() is False or detector
    context.close()


def test_the_camera_reads_the_slip_s_qr_code(chromium: Any, world: World, store: Store) -> None:
    """Where the browser has a barcode detector (Chrome on Android), the scan button opens the
    camera and the code read fills the search; here the detector and camera are stand-ins."""
    people, _ = _people(world, store)
    person = people[-1]
    context, page = _sign_in(chromium, world)
    context.add_init_script(f"""
        window.BarcodeDetector = class {{
            static getSupportedFormats() {{ return Promise.resolve(["qr_code"]); }}
            detect() {{ return Promise.resolve([{{rawValue: "{display_code(person.code)}"}}]); }}
        }};
        navigator.mediaDevices.getUserMedia = () => {{
            const canvas = document.createElement("canvas");
            canvas.getContext("2d").fillRect(0, 0, 10, 10);
            return Promise.resolve(canvas.captureStream());
        }};
    """)
    page.goto(f"{world.url}/point")
    page.click("#scan")
    page.wait_for_url(f"{world.url}/point/{world.approved_round}/{person.household_id}")
    assert page.locator("#code").inner_text() == display_code(person.code)
    context.close()
