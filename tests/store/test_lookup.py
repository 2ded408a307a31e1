"""Why not me? The look-up of one household names, in Vietnamese and English, what the
round's unserved.csv names for it, with figures that agree: the budget, the stock, the
capacity or the priority order for an outranked household, no suitable lot, no point in
reach, or the eligibility rule it failed. Search compares phones and ID numbers by their
digits only, and every look-up is audited.

Three rounds over the `sample` registry, on SQLite and PostgreSQL:
1. the campaign's round (its budget binds), approved, so served households hold codes;
2. a folder with a large budget, a third of the stock and half the capacity, plus
   households that received a phone earlier, share an ID number, are of another status,
   need a feature no lot has, or live where the only point is closed;
3. a folder where near-poor households weigh nothing, so the places left go unused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from allocator.geo import haversine_km
from allocator.lookup_words import CAUSE, KINDS, binding_kinds, explain
from allocator.store import ledger
from allocator.store.campaign import approve_round, create_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.lookup import (
    HouseholdUnknown,
    LookupRefused,
    digits,
    look_up,
    phone_key,
    round_state_of,
    search,
)
from allocator.store.models import AllocationRow, AuditEntry, HouseholdContact, UnservedRow
from allocator.store.rounds import import_folder_as_round, solve_round
from allocator.would_serve import Options, options
from scenarios.folder import ScenarioTables
from scenarios.named import scenario

RULES = ("received_earlier", "duplicate_identity", "not_eligible_status", "no_2g_handset",
         "has_smartphone", "no_compatible_lot", "no_point_in_reach")


@dataclass
class Store:
    sessions: sessionmaker[Session]
    rounds: list[int]
    closed_commune: str  # the commune whose only point is closed in round 2


def _tight(tables: ScenarioTables) -> tuple[ScenarioTables, str]:
    hh = tables.households.copy()
    lots = tables.lots.assign(quantity=tables.lots["quantity"] // 3)
    points = tables.points.assign(capacity=tables.points["capacity"] // 2)
    # A commune with one point and a household over 3 km from every other point: close it.
    closed, far = _lonely_commune(hh, points)
    points.loc[points["commune_code"] == closed, "capacity"] = 0
    eligible = hh.index[(hh["twog_handsets"] > 0) & (hh["smartphones"] == 0) &
                        (hh["commune_code"] != closed)]
    hh.loc[eligible[0:3], "received_device"] = "round 1, 2026-05-12"
    hh.loc[eligible[3:5], "national_id"] = "079 200-000-111"
    hh.loc[eligible[5:7], "poverty_status"] = "other"
    hh.loc[eligible[7:9], "needs"] = "braille_keypad"
    hh["received_device"] = hh.get("received_device", pd.Series("", index=hh.index)).fillna("")
    assert far in set(hh["household_id"])
    return ScenarioTables(hh, lots, points, {**tables.round, "budget_vnd": 10**12}), closed


def _lonely_commune(hh: pd.DataFrame, points: pd.DataFrame) -> tuple[str, str]:
    counts = points["commune_code"].value_counts()
    for commune in sorted(counts.index[counts == 1]):
        homes = hh[hh["commune_code"] == commune]
        others = points[points["commune_code"] != commune]
        for _, home in homes.iterrows():
            km = haversine_km(np.full(len(others), home["lat"]), np.full(len(others), home["lon"]),
                              others["lat"].to_numpy(float), others["lon"].to_numpy(float))
            if km.min() > 3.0 and home["twog_handsets"] > 0 and home["smartphones"] == 0:
                return str(commune), str(home["household_id"])
    raise AssertionError("no commune far enough from the others")


def _flat(tables: ScenarioTables) -> ScenarioTables:
    weights = {"status_weight": {"poor": 100, "near_poor": 0, "other": 0},
               "flag_bonus": {f: 0 for f in ("merit_family", "elderly_alone", "disability",
                                             "student", "single_parent", "ethnic_minority")}}
    return ScenarioTables(tables.households, tables.lots, tables.points,
                          {**tables.round, **weights, "budget_vnd": 10**12})


@pytest.fixture(scope="module")
def store(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("lookup")
    tables = scenario("sample", 4)
    tables.write(folder / "registry")
    tight, closed = _tight(tables)
    tight.write(folder / "tight")
    _flat(tables).write(folder / "flat")
    engine = make_engine(module_db_url)
    prepare(engine)
    made = make_sessions(engine)
    with made() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, folder / "registry" / f"{kind}.csv", "setup").ok
        ledger.set_budget(session, 400_000_000, "setup")
        first = create_round(session, {}, "campaign", "setup").id
        rounds = [first]
        for name in ("tight", "flat"):
            rounds.append(import_folder_as_round(session, folder / name, name, "setup").id)
        for round_id in rounds:
            solve_round(session, round_id, "setup")
        approve_round(session, first, "setup")
    yield Store(made, rounds, closed)
    engine.dispose()


def _unserved(session: Session, round_id: int) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in session.execute(  # type: ignore[misc]
        select(UnservedRow.household_id, UnservedRow.reason, UnservedRow.detail)
        .where(UnservedRow.round_id == round_id).order_by(UnservedRow.household_id))]


def _names_exactly(kinds: tuple[str, ...], vi: str, en: str) -> None:
    """The sentence names each cause the unserved row names, and no other."""
    for cause in CAUSE:
        named = cause in kinds
        assert (CAUSE[cause][0] in vi) == named, (cause, kinds, vi)
        assert (CAUSE[cause][1] in en) == named, (cause, kinds, en)


def test_every_unserved_household_is_told_what_its_unserved_row_names(store: Store) -> None:
    """Acceptance: for every household left out of every round, the explanation names the
    binding resource (or rule) of its unserved row, and the figures agree with it."""
    seen: set[str] = set()
    with store.sessions() as session:
        for round_id in store.rounds:
            state = round_state_of(session, round_id)
            assert state is not None
            lowest = dict(session.execute(
                select(AllocationRow.commune_code, func.min(AllocationRow.priority_weight))
                .where(AllocationRow.round_id == round_id)
                .group_by(AllocationRow.commune_code)).all())
            for household, reason, detail in _unserved(session, round_id):
                kinds = binding_kinds(reason, detail)
                # Read from the row itself too, so a parser that drops a resource fails.
                named = tuple(p.partition(":")[0] for p in detail.split("; ")) \
                    if reason == "outranked" else (reason,)
                assert kinds == named and set(kinds) <= set(CAUSE), (reason, detail)
                seen.update(kinds)
                o = options(state, household)
                assert o is not None
                vi, en = explain(reason, detail, o)
                _names_exactly(kinds, vi, en)
                assert (o.rule == "") == (reason in ("outranked", "no_compatible_lot",
                                                     "no_point_in_reach"))
                if reason == "outranked":
                    assert o.cutoff_weight == lowest.get(o.commune_code)
                    assert f"{o.cutoff_weight or ''}" in en
                    _figures_agree(kinds, o)
                if reason == "no_compatible_lot":
                    assert o.lot is None and not o.suitable_lots
                if reason == "no_point_in_reach":
                    assert not o.reach_points and (o.point is None or not o.point.in_reach)
    assert seen >= set(KINDS) | set(RULES), sorted(seen)


def _figures_agree(kinds: tuple[str, ...], o: Options) -> None:
    lot, point, left = o.lot, o.point, o.budget_left_vnd
    assert lot is not None and lot.lot_id in o.suitable_lots
    if "stock" in kinds:
        assert lot.devices_left == 0
    else:
        assert lot.devices_left > 0
        assert (lot.public_cost_vnd > left) == ("budget" in kinds)
    if "capacity" in kinds:
        assert point is None or not point.in_reach
    else:
        assert point is not None and point.in_reach and point.room_left > 0
    if kinds == ("priority",):
        assert lot.public_cost_vnd <= left


def test_a_look_up_gives_every_round_and_is_audited(store: Store) -> None:
    first, tight, flat = store.rounds
    with store.sessions() as session:
        picked: dict[tuple[int, tuple[str, ...]], str] = {}
        for round_id in store.rounds:
            for household, reason, detail in _unserved(session, round_id):
                picked.setdefault((round_id, binding_kinds(reason, detail)), household)
        served = session.scalar(select(AllocationRow.household_id).where(
            AllocationRow.round_id == first).order_by(AllocationRow.household_id))
        assert served
    for (round_id, kinds), household in sorted(picked.items()):
        with store.sessions() as session:
            told = look_up(session, "hoa", household)
        entry = next(e for e in told["rounds"] if e["round_id"] == round_id)
        assert entry["outcome"] == "unserved" and tuple(entry["binding"]) == kinds
        _names_exactly(kinds, entry["explanation_vi"], entry["explanation_en"])
        eligible = entry["reason"] in ("outranked", "no_compatible_lot", "no_point_in_reach")
        assert (entry["would_serve"] is not None) == eligible
        assert [e["round_id"] for e in told["rounds"]] == store.rounds
    with store.sessions() as session:
        told = look_up(session, "hoa", served.lower())  # the id in another case
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert told["household_id"] == served and told["head_name"]
    mine = next(e for e in told["rounds"] if e["round_id"] == first)
    assert mine["outcome"] == "served" and mine["code_issued"] and mine["state"] == "reserved"
    assert mine["model"] in mine["explanation_en"] and "Máy đang được giữ" in \
        mine["explanation_vi"]
    assert told["summary_vi"].startswith(f"Đợt {flat}:")
    assert last is not None and (last.actor, last.action, last.target) == (
        "hoa", "look up household", f"household {served}")
    with store.sessions() as session, pytest.raises(HouseholdUnknown) as unknown:
        look_up(session, "hoa", "NO-SUCH-HOUSEHOLD")
    assert "no household NO-SUCH-HOUSEHOLD" in str(unknown.value) and unknown.value.vi


def test_a_round_is_read_once_then_kept(store: Store) -> None:
    tight = store.rounds[1]
    with store.sessions() as session:
        state = round_state_of(session, tight)
        assert state is not None and round_state_of(session, tight) is state
        assert round_state_of(session, 999_999) is None


def test_the_closed_point_leaves_its_commune_out_of_reach(store: Store) -> None:
    with store.sessions() as session:
        reasons = {r for h, r, _ in _unserved(session, store.rounds[1])
                   if h.startswith(f"HH{store.closed_commune}-")}
    assert "no_point_in_reach" in reasons


# --- search --------------------------------------------------------------------------------


def _contact(store: Store) -> tuple[str, str, str]:
    with store.sessions() as session:
        row = session.execute(select(HouseholdContact.household_id, HouseholdContact.phone,
                                     HouseholdContact.national_id)
                              .where(HouseholdContact.phone.like("09%"),
                                     func.length(HouseholdContact.national_id) == 12)
                              .order_by(HouseholdContact.household_id)).first()
    assert row
    return row[0], row[1], row[2]


def _found(store: Store, query: str) -> list[tuple[str, list[str]]]:
    with store.sessions() as session:
        items = search(session, "hoa", query)["items"]
    return [(i["household_id"], i["matched_by"]) for i in items]


def test_phones_and_id_numbers_compare_by_their_digits(store: Store) -> None:
    household, phone, national_id = _contact(store)
    spaced = f"{national_id[:3]} {national_id[3:6]}-{national_id[6:9]}.{national_id[9:]}"
    wide = "".join(chr(ord(c) + 0xFEE0) for c in national_id)  # full-width digits
    for query in (national_id, spaced, f"  {spaced} ", wide):
        assert (household, ["national_id"]) in _found(store, query), query
    rest = phone[1:]
    for query in (phone, f"+84 {rest[:3]} {rest[3:6]} {rest[6:]}", f"84{rest}",
                  f"({phone[:4]}) {phone[4:7]}.{phone[7:]}", f"+84-{rest}"):
        assert (household, ["phone"]) in _found(store, query), query
    # Other digits, too few digits, or a number that only contains the phone: no match.
    for query in (phone[:-1] + str((int(phone[-1]) + 1) % 10), phone[:5], f"1{phone}",
                  national_id[1:]):
        assert household not in [h for h, _ in _found(store, query)], query


def test_ids_are_found_in_any_case_and_odd_text_finds_nothing(store: Store) -> None:
    household, _, _ = _contact(store)
    assert _found(store, household.lower()) == [(household, ["id"])]
    assert _found(store, f" {household}\u00a0") == [(household, ["id"])]
    for query in ("' OR 1=1 --", "%", "_", "x" * 100, "Hộ nghèo", "\u0301a", "🙂", "0" * 20):
        assert _found(store, query) == [], query
    for query in ("", "   ", "x" * 101, "a\x00b", "a\nb", "\ud800", None):
        with store.sessions() as session, pytest.raises(LookupRefused) as refused:
            search(session, "hoa", query)
        assert "1 to 100" in str(refused.value) and "từ 1 đến 100" in refused.value.vi


def test_a_search_is_audited_without_the_number_typed(store: Store) -> None:
    household, phone, _ = _contact(store)
    with store.sessions() as session:
        search(session, "hoa", phone)
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert last is not None and (last.actor, last.action) == ("hoa", "search households")
    assert last.detail["households"] == [household] and last.detail["by"] == ["phone"]
    assert phone not in str(last.detail)


def test_digits_and_phone_keys() -> None:
    assert digits("079 123-456") == "079123456" == digits("０７９１２３４５６")
    assert digits(None) == "" and digits("abc") == ""
    assert phone_key("84912345678") == phone_key("0912345678") == "0912345678"
    assert phone_key("8491234567") == "8491234567"  # 10 digits: not a country code


def test_a_household_only_a_folder_round_holds_is_found_by_its_id(
        db_url: str, tmp_path: Path) -> None:
    """A round made from a folder (not from the registry) still answers: its households
    are found by id, with what its results knew (served rows carry commune and status)."""
    from tests.allocator.helpers import household, lot, make_round, point, write_round

    folder = write_round(tmp_path / "folder", make_round(
        [household("FOLDER-1"), household("FOLDER-2", status="near_poor")],
        [lot("L1", quantity=1)], [point("P1")]))
    engine = make_engine(db_url)
    prepare(engine)
    sessions = make_sessions(engine)
    try:
        with sessions() as session:
            round_id = import_folder_as_round(session, folder, "folder", "setup").id
            solve_round(session, round_id, "setup")
            served = search(session, "lan", "FOLDER-1")["items"]
            left = search(session, "lan", "FOLDER-2")["items"]
            assert search(session, "lan", "FOLDER-3")["items"] == []
            told = look_up(session, "lan", "FOLDER-2")
    finally:
        engine.dispose()
    assert [(i["household_id"], i["poverty_status"], i["commune_code"]) for i in served] == \
        [("FOLDER-1", "poor", "26740")]
    assert [(i["household_id"], i["matched_by"]) for i in left] == [("FOLDER-2", ["id"])]
    assert [r["round_id"] for r in told["rounds"]] == [round_id]
