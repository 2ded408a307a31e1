"""The engine's explanation of one household for a case, in words a planner can repeat.

For every round with results: served (where, with what, and what became of the
phone), or not served with the engine's reason and detail (the `unserved`
table), or not in the round at all (the household joined the registry later).
Each reason comes with a sentence for the citizen, Vietnamese first, and the
registry fields that decide it, so the planner knows what to check with the
commune before correcting the registry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.contract import REASONS
from allocator.report.labels import LABELS
from allocator.store.ledger import household_history
from allocator.store.lifecycle import WITH_RESULTS
from allocator.store.models import Household, Point, Round, UnservedRow

# reason -> (Vietnamese, English): what to tell the household.
SAY: dict[str, tuple[str, str]] = {
    "received_earlier": (
        "Hộ đã nhận máy ở một đợt trước nên không được nhận thêm.",
        "The household already received a phone in an earlier round."),
    "duplicate_identity": (
        "Số CCCD của chủ hộ trùng với một hộ khác trong danh sách; cần xác minh lại giấy tờ.",
        "The head's citizen ID number is the same as another household's; the papers "
        "must be checked."),
    "not_eligible_status": (
        "Theo sổ hộ, hộ không thuộc diện được nhận trong đợt này (hộ nghèo, cận nghèo theo "
        "quy định của đợt).",
        "By the registry, the household's status was not one of those eligible in this "
        "round (poor, near-poor as the round set)."),
    "no_2g_handset": (
        "Theo sổ hộ, hộ không dùng máy chỉ có 2G, là loại máy chương trình thay thế.",
        "By the registry, the household uses no 2G-only handset, which is what the "
        "programme replaces."),
    "has_smartphone": (
        "Theo sổ hộ, hộ đã có điện thoại thông minh 4G/5G.",
        "By the registry, the household already owns a 4G/5G smartphone."),
    "no_compatible_lot": (
        "Trong đợt này không còn lô máy phù hợp dành cho hộ ở xã, phường của hộ.",
        "In this round no lot with devices left was open to households like this one in "
        "its commune."),
    "no_point_in_reach": (
        "Không có điểm nhận máy còn chỗ ở xã, phường của hộ hoặc trong khoảng cách cho phép.",
        "No distribution point with room was in the household's commune or within the "
        "allowed distance."),
    "outranked": (
        "Số máy và ngân sách có hạn; đợt này dành cho các hộ được ưu tiên hơn. Hộ vẫn được "
        "xét ở đợt sau.",
        "Devices and money were limited and went to households with a higher priority; "
        "the household stays on the list for the next round."),
}
# reason -> the registry fields that decide it (what to check before correcting)
CHECK: dict[str, tuple[str, ...]] = {
    "received_earlier": (),
    "duplicate_identity": ("national_id",),
    "not_eligible_status": ("poverty_status",),
    "no_2g_handset": ("twog_handsets",),
    "has_smartphone": ("smartphones",),
    "no_compatible_lot": ("commune_code", "poverty_status", "needs"),
    "no_point_in_reach": ("commune_code", "lat", "lon"),
    "outranked": ("poverty_status", "flags", "members"),
}
STATE_SAY: dict[str, tuple[str, str]] = {
    "handed_over": ("Hộ đã nhận máy.", "The household was handed its phone."),
    "reserved": ("Máy đang được giữ chờ hộ đến nhận.", "A phone is held for the household "
                 "to collect."),
    "released": ("Hộ không đến nhận đúng hạn; máy đã trả về kho.", "The household did not "
                 "collect in time; the phone went back to stock."),
}
NOT_IN_ROUND = ("Hộ chưa có trong dữ liệu của đợt này (có thể được thêm vào sổ hộ sau khi "
                "lập đợt).", "The household was not in this round's inputs (it may have "
                "joined the registry after the round was made).")
REGISTRY_FIELDS = ("commune_code", "poverty_status", "members", "twog_handsets",
                   "smartphones", "flags", "needs", "lat", "lon")
assert set(SAY) == set(CHECK) == set(REASONS)


def _label(key: str) -> tuple[str, str]:
    return LABELS.get(key, (key, key))


def registry_row(session: Session, household_id: str) -> dict[str, Any] | None:
    """What the registry says of the household now (no personal data)."""
    row = session.get(Household, household_id, populate_existing=True)
    if row is None:
        return None
    return {name: getattr(row, name) for name in REGISTRY_FIELDS}


def explain(session: Session, household_id: str) -> dict[str, Any]:
    """The household in every round with results (oldest first), and a summary sentence
    from the latest one that holds it."""
    rounds = session.execute(select(Round.id, Round.name, Round.status)
                             .where(Round.status.in_([s.value for s in WITH_RESULTS]))
                             .order_by(Round.id)).all()
    served = {h["round_id"]: h for h in household_history(session, household_id)}
    unserved = {r: (reason, detail) for r, reason, detail in session.execute(
        select(UnservedRow.round_id, UnservedRow.reason, UnservedRow.detail)
        .where(UnservedRow.household_id == household_id))}
    names = {p: n for p, n in session.execute(select(Point.id, Point.name).where(
        Point.id.in_({h["point_id"] for h in served.values()})))}
    entries: list[dict[str, Any]] = []
    for round_id, name, status in rounds:
        vi_status, en_status = _label(status)
        entry: dict[str, Any] = {"round_id": round_id, "round_name": name,
                                 "round_status": status, "round_status_vi": vi_status,
                                 "round_status_en": en_status}
        if round_id in served:
            held = served[round_id]
            say = STATE_SAY.get(held["state"], ("Hộ được phân bổ máy trong đợt này.",
                                                "The household was allocated a phone."))
            entry |= {"outcome": "served", "point_id": held["point_id"],
                      "point_name": names.get(held["point_id"], ""), "lot_id": held["lot_id"],
                      "state": held["state"], "handed_over_at": held["handed_over_at"],
                      "say_vi": say[0], "say_en": say[1], "check": []}
        elif round_id in unserved:
            reason, detail = unserved[round_id]
            vi, en = _label(reason)
            say = SAY.get(reason, (vi, en))
            entry |= {"outcome": "unserved", "reason": reason, "reason_vi": vi,
                      "reason_en": en, "detail": detail, "say_vi": say[0], "say_en": say[1],
                      "check": list(CHECK.get(reason, ()))}
        else:
            entry |= {"outcome": "not_in_round", "say_vi": NOT_IN_ROUND[0],
                      "say_en": NOT_IN_ROUND[1], "check": []}
        entries.append(entry)
    placed = [e for e in entries if e["outcome"] != "not_in_round"]
    if placed:
        last = placed[-1]
        summary = (f"Đợt {last['round_id']}: {last['say_vi']}",
                   f"Round {last['round_id']}: {last['say_en']}")
    elif entries:
        summary = NOT_IN_ROUND
    else:
        summary = ("Chưa có đợt phân bổ nào có kết quả.", "No round has results yet.")
    return {"household_id": household_id, "registry": registry_row(session, household_id),
            "rounds": entries, "summary_vi": summary[0], "summary_en": summary[1]}
