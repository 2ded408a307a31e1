"""Why not me? A planner finds a household and reads, round by round, why it was or was
not served and what would have served it.

Search: by household id (case ignored), or by phone or citizen ID number compared by
their digits only ("079 123-456" is "079123456"; a phone's +84 or 84 is its leading
0). The registry holds numbers as people typed them, so the database is asked for a
wide match (the digits in order, anything between them) and the digits are compared
here.

Look-up: the engine's explanation of every round with results (`case_explain`),
and for each round where the household was not served, the figures of
`allocator.would_serve` (nearest point with room, cheapest suitable lot, the
commune's cut-off weight) read from that round's frozen inputs and allocation, and
a sentence in Vietnamese and English naming what `unserved.csv` names. A round's
inputs never change, so its state is kept per round (and per solve).

Both return personal data (the head's name, the phone), so each is audited.
"""

from __future__ import annotations

import tempfile
import threading
import unicodedata
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from allocator import lookup_words
from allocator.problem import build_problem, id_index
from allocator.store.audit import record_read
from allocator.store.case_explain import explain
from allocator.store.lifecycle import RoundError
from allocator.store.models import (
    AllocationRow,
    Commune,
    Household,
    HouseholdContact,
    Lot,
    Round,
    Sponsor,
    UnservedRow,
)
from allocator.store.rounds import unpack_inputs
from allocator.validate import read_scenario
from allocator.would_serve import RoundState, options, round_state

MAX_QUERY = 100  # characters of a search
MAX_FOUND = 50  # households shown for one search: more means "type more"
MIN_DIGITS = 6  # digits of a query compared with phones and ID numbers (a phone has 10)
COUNTRY = "84"
_CACHE: OrderedDict[tuple[Any, ...], RoundState] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 6  # rounds kept: a household's look-up reads every round it was left out of


class LookupRefused(RoundError):
    """A search that cannot be made; `str()` is the English sentence, `.vi` Vietnamese."""

    def __init__(self, english: str, vi: str) -> None:
        super().__init__(english)
        self.vi = vi


class HouseholdUnknown(RoundError):
    """No household of that id in the registry or in any round."""

    def __init__(self, household_id: str) -> None:
        super().__init__(household_id)
        self.household_id = household_id
        self.vi = f"Không có hộ mã {household_id} trong sổ hộ hay trong đợt nào."

    def __str__(self) -> str:
        return f"no household {self.household_id} in the registry or in any round"


# --- search ------------------------------------------------------------------------------


def clean_query(query: object) -> str:
    """The query trimmed and NFC-normalised; refused if empty, too long (as typed) or
    unwritable."""
    typed = query if isinstance(query, str) else ""
    text = unicodedata.normalize("NFC", typed).strip()
    if not text or len(typed) > MAX_QUERY or any(unicodedata.category(c) in ("Cc", "Cs")
                                                 for c in text):
        raise LookupRefused(
            f"Type a household id, a phone number or a citizen ID number (1 to {MAX_QUERY} "
            "characters, no control characters).",
            f"Nhập mã hộ, số điện thoại hoặc số CCCD (từ 1 đến {MAX_QUERY} ký tự, không có "
            "ký tự điều khiển).")
    return text


def digits(text: str | None) -> str:
    """The decimal digits of a text, as ASCII ('０７９ 123-456' is '079123456')."""
    return "".join(str(unicodedata.decimal(c)) for c in text or "" if c.isdecimal())


def phone_key(number_digits: str) -> str:
    """A phone's digits with the country code as the leading 0 ('84912345678' is
    '0912345678'), so numbers written either way compare equal."""
    if number_digits.startswith(COUNTRY) and len(number_digits) == 11:
        return "0" + number_digits[len(COUNTRY):]
    return number_digits


def _in_order(wanted: str) -> str:
    """A LIKE pattern for a text holding these digits in order, anything between them."""
    return "%" + "%".join(wanted) + "%"


def _matches(session: Session, text: str) -> dict[str, list[str]]:
    """Household id -> how it matched ('id', 'phone', 'national_id'), ids first."""
    found: dict[str, list[str]] = {}
    by_id = session.scalars(select(Household.id).where(
        or_(Household.id == text, func.lower(Household.id) == text.lower()))
        .order_by(Household.id).limit(MAX_FOUND + 1))
    for household in by_id:
        found.setdefault(household, []).append("id")
    if not found:  # a household only a round's own inputs held (a round made from a folder)
        for table in (AllocationRow, UnservedRow):
            if session.scalar(select(table.household_id)
                              .where(table.household_id == text).limit(1)):
                found[text] = ["id"]
                break
    wanted = digits(text)
    if len(wanted) < MIN_DIGITS:
        return found
    phone = phone_key(wanted)
    significant = phone[1:] if phone.startswith("0") else phone
    rows = session.execute(select(HouseholdContact.household_id, HouseholdContact.phone,
                                  HouseholdContact.national_id)
                           .where(or_(HouseholdContact.phone.like(_in_order(significant)),
                                      HouseholdContact.national_id.like(_in_order(wanted))))
                           .order_by(HouseholdContact.household_id)).all()
    for household, their_phone, their_id in rows:
        if phone_key(digits(their_phone)) == phone:
            found.setdefault(household, []).append("phone")
        if digits(their_id) == wanted:
            found.setdefault(household, []).append("national_id")
    return found


def search(session: Session, actor: str, query: object) -> dict[str, Any]:
    """Households whose id, phone or citizen ID number is the query; audited."""
    text = clean_query(query)
    found = _matches(session, text)
    shown = list(found)[:MAX_FOUND]
    rows = session.execute(
        select(Household.id, Household.commune_code, Commune.name, Household.poverty_status,
               HouseholdContact.head_name, HouseholdContact.phone)
        .outerjoin(Commune, Commune.code == Household.commune_code)
        .outerjoin(HouseholdContact, HouseholdContact.household_id == Household.id)
        .where(Household.id.in_(shown))).all() if shown else []
    about: dict[str, tuple[Any, ...]] = {r[0]: tuple(r) for r in rows}
    for h in shown:
        if h not in about:  # not in the registry: what its latest round with results knew
            about[h] = _from_rounds(session, h)
    items = [{"household_id": h, "commune_code": about[h][1], "commune_name": about[h][2] or "",
              "poverty_status": about[h][3], "head_name": about[h][4] or "",
              "phone": about[h][5] or "", "matched_by": found[h]}
             for h in shown]
    more = len(found) > MAX_FOUND
    record_read(session, actor, "search households", "households",
                {"by": sorted({m for h in shown for m in found[h]}), "found": len(items),
                 "more": more, "households": [i["household_id"] for i in items]})
    return {"items": items, "more": more}


def _from_rounds(session: Session, household_id: str) -> tuple[str, str, str, str, str, str]:
    """Id, commune code and name, status, name and phone of a household known only from
    rounds' results: served rows carry its commune and status, unserved rows neither."""
    row = session.execute(
        select(AllocationRow.commune_code, Commune.name, AllocationRow.poverty_status)
        .outerjoin(Commune, Commune.code == AllocationRow.commune_code)
        .where(AllocationRow.household_id == household_id)
        .order_by(AllocationRow.round_id.desc()).limit(1)).first()
    if row is None:
        return household_id, "", "", "", "", ""
    return household_id, row[0] or "", row[1] or "", row[2] or "", "", ""


# --- one household ------------------------------------------------------------------------


def resolve(session: Session, household_id: str) -> str | None:
    """The id as stored: in the registry (exact, else the one that differs only in case), or
    in a round's results (a household since removed from the registry)."""
    if session.get(Household, household_id) is not None:
        return household_id
    for table in (AllocationRow, UnservedRow):
        if session.scalar(select(table.household_id)
                          .where(table.household_id == household_id).limit(1)):
            return household_id
    folded = session.scalars(select(Household.id).where(
        func.lower(Household.id) == household_id.lower()).limit(2)).all()
    return folded[0] if len(folded) == 1 else None


def look_up(session: Session, actor: str, household_id: str) -> dict[str, Any]:
    """The household in every round with results, why, and what would have served it."""
    found = resolve(session, household_id)
    if found is None:
        raise HouseholdUnknown(household_id)
    told = explain(session, found)
    allocated = {a.round_id: a for a in session.scalars(
        select(AllocationRow).where(AllocationRow.household_id == found))}
    lots = {lot: (model, sponsor) for lot, model, sponsor in session.execute(
        select(Lot.id, Lot.model, Sponsor.name).join(Sponsor, Sponsor.id == Lot.sponsor_id)
        .where(Lot.id.in_({a.lot_id for a in allocated.values()})))}
    for entry in told["rounds"]:
        if entry["outcome"] == "served":
            _served(entry, allocated[entry["round_id"]], lots)
        elif entry["outcome"] == "unserved":
            _unserved(session, entry, found)
        else:
            entry |= {"explanation_vi": entry["say_vi"], "explanation_en": entry["say_en"]}
    placed = [e for e in told["rounds"] if e["outcome"] != "not_in_round"]
    if placed:
        last = placed[-1]
        told["summary_vi"] = f"Đợt {last['round_id']}: {last['explanation_vi']}"
        told["summary_en"] = f"Round {last['round_id']}: {last['explanation_en']}"
    head = session.execute(
        select(HouseholdContact.head_name, HouseholdContact.phone)
        .where(HouseholdContact.household_id == found)).first()
    code = (told["registry"] or {}).get("commune_code")
    name = session.scalar(select(Commune.name).where(Commune.code == code)) if code else None
    told |= {"head_name": head[0] if head else "", "phone": head[1] if head else "",
             "commune_name": name or ""}
    record_read(session, actor, "look up household", f"household {found}",
                {"rounds": len(told["rounds"])})
    return told


def _served(entry: dict[str, Any], row: AllocationRow,
            lots: dict[str, tuple[str, str]]) -> None:
    model, sponsor = lots.get(row.lot_id, ("", ""))
    vi, en = lookup_words.served(model or row.lot_id, row.lot_id, sponsor or row.sponsor_id,
                                 entry.get("point_name") or row.point_id, entry["state"])
    entry |= {"sponsor_id": row.sponsor_id, "sponsor_name": sponsor or "", "model": model or "",
              "public_cost_vnd": row.public_cost_vnd, "distance_km": row.distance_km,
              "code_issued": row.pickup_code is not None,
              "window_day": row.window_day.isoformat() if row.window_day else None,
              "window_start": row.window_start.strftime("%H:%M") if row.window_start else None,
              "window_end": row.window_end.strftime("%H:%M") if row.window_end else None,
              "released_at": row.released_at.isoformat() if row.released_at else None,
              "explanation_vi": vi, "explanation_en": en}


def _unserved(session: Session, entry: dict[str, Any], household_id: str) -> None:
    state = round_state_of(session, entry["round_id"])
    figures = options(state, household_id) if state is not None else None
    eligible = figures is not None and figures.rule == ""
    vi, en = lookup_words.explain(entry["reason"], entry["detail"], figures)
    entry |= {"binding": list(lookup_words.binding_kinds(entry["reason"], entry["detail"])),
              "would_serve": figures.to_json() if eligible and figures else None,
              "explanation_vi": vi, "explanation_en": en}


# --- a round's state, kept ---------------------------------------------------------------


def round_state_of(session: Session, round_id: int) -> RoundState | None:
    """The round's inputs and allocation as `would_serve` reads them; None without results.

    Kept by the database, the round and its solve: the inputs are frozen, and a round
    solved again has a new `solved_at`."""
    meta = session.execute(select(Round.inputs_hash, Round.created_at, Round.solved_at)
                           .where(Round.id == round_id)).first()
    if meta is None:
        return None
    key = (session.get_bind().engine.url.render_as_string(hide_password=True), round_id,
           *meta)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    state = _build(session, round_id)
    with _CACHE_LOCK:
        _CACHE[key] = state
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return state


def _build(session: Session, round_id: int) -> RoundState:
    row = session.get(Round, round_id)
    assert row is not None
    with tempfile.TemporaryDirectory() as tmp:
        scenario = read_scenario(unpack_inputs(row, Path(tmp)))
    problem = build_problem(scenario)
    given = pd.DataFrame(session.execute(
        select(AllocationRow.household_id, AllocationRow.lot_id, AllocationRow.point_id,
               AllocationRow.public_cost_vnd).where(AllocationRow.round_id == round_id)).all(),
        columns=["household_id", "lot_id", "point_id", "cost"])
    at = id_index(problem).get_indexer(pd.Index(given["household_id"].astype(str)))
    lot = pd.Index(problem.lot_id.astype(str)).get_indexer(given["lot_id"].astype(str))
    point = pd.Index(problem.point_id.astype(str)).get_indexer(given["point_id"].astype(str))
    known = (at >= 0) & (lot >= 0) & (point >= 0)  # always, for results of these inputs
    lot_of = np.full(len(problem.hh_id), -1, np.int64)
    point_of = np.full(len(problem.hh_id), -1, np.int64)
    lot_of[at[known]] = lot[known]
    point_of[at[known]] = point[known]
    return round_state(scenario, problem, lot_of, point_of, int(given["cost"].sum()))
