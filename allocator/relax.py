"""Realistic steps of relaxation a planner can negotiate, applied to a scenario.

Each `Change` is one step: more budget, more devices in a lot, more handovers at
a point, a lot opened to neighbouring communes or to every eligible status, or a
longer reach. Every one only relaxes the round, so the optimum before it stays
feasible after it, with the same lot and point ids (and so the same indices).

`apply_change` returns a new scenario and never touches the one it is given, and
`functools.partial(apply_change, change=...)` pickles, so a change can be sent to
a solver process (`allocator.parallel.Solvers.submit(variant=...)`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from allocator.contract import STATUSES
from allocator.validate import Scenario

KINDS = ("budget", "lot_stock", "point_capacity", "lot_communes", "lot_statuses", "reach")
BUDGET_STEP = 0.10    # +10% of the round's budget
STOCK_STEP = 20       # devices added to a lot
CAPACITY_STEP = 20    # handovers added at a point
REACH_STEP_KM = 1.0   # km added to max_distance_km

STATUS_VI = {"poor": "hộ nghèo", "near_poor": "hộ cận nghèo", "other": "hộ khác"}
STATUS_EN = {"poor": "poor", "near_poor": "near-poor", "other": "other"}


@dataclass(frozen=True)
class Change:
    """One relaxation; `subject` is the lot or point id ('' for budget and reach).

    `amount` is a fraction for "budget", devices for "lot_stock", handovers for
    "point_capacity" and km for "reach"; `communes` are the codes "lot_communes" adds.
    """

    kind: str
    subject: str = ""
    amount: float = 0.0
    communes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown change {self.kind!r} (known: {', '.join(KINDS)})")


def budget_step(budget_vnd: int, fraction: float) -> int:
    """VND that `fraction` more budget adds (rounded to the đồng)."""
    return int(round(int(budget_vnd) * fraction))


def apply_change(scenario: Scenario, change: Change) -> Scenario:
    """A copy of `scenario` with `change` made; the input is left as it was.

    Raises KeyError when the change names a lot or point the scenario does not hold.
    """
    kind = change.kind
    if kind == "budget":
        policy = scenario.policy
        added = budget_step(policy.budget_vnd, change.amount)
        return replace(scenario, policy=replace(policy, budget_vnd=policy.budget_vnd + added))
    if kind == "reach":
        policy = scenario.policy
        return replace(scenario, policy=replace(
            policy, max_distance_km=policy.max_distance_km + float(change.amount)))
    if kind == "point_capacity":
        points = scenario.points.copy()
        row = _row(points, "point_id", change.subject)
        points.loc[row, "capacity"] = points.loc[row, "capacity"] + int(change.amount)
        return replace(scenario, points=points)
    lots = scenario.lots.copy()
    row = _row(lots, "lot_id", change.subject)
    if kind == "lot_stock":
        lots.loc[row, "quantity"] = lots.loc[row, "quantity"] + int(change.amount)
    elif kind == "lot_communes":
        allowed = {c for c in str(lots.at[row, "allowed_communes"]).split(";") if c}
        if allowed:  # a lot open to every commune stays open to every commune
            lots.loc[row, "allowed_communes"] = ";".join(sorted(allowed | set(change.communes)))
    else:  # lot_statuses
        lots.loc[row, "allowed_statuses"] = ""
    return replace(scenario, lots=lots)


def _row(table, column: str, subject: str):  # type: ignore[no-untyped-def]
    found = table.index[(table[column] == subject).to_numpy()]
    if not len(found):
        raise KeyError(f"{column} {subject!r} is not in the scenario")
    return found[0]


def describe(change: Change, lang: str = "en", scenario: Scenario | None = None) -> str:
    """A short phrase for the change, in 'vi' or 'en', starting with a capital.

    With the scenario, the phrase names the lot's sponsor or the point, the budget's
    amount and the reach before and after.
    """
    vi = lang == "vi"
    kind, subject, amount = change.kind, change.subject, change.amount
    if kind == "budget":
        pct = f"{amount * 100:g}%"
        text = f"Tăng ngân sách {pct}" if vi else f"{pct} more budget"
        if scenario is not None:
            added = budget_step(scenario.policy.budget_vnd, amount)
            text += f" (thêm {number(added, lang)} đồng)" if vi else \
                f" ({number(added, lang)} VND more)"
        return text
    if kind == "reach":
        km = f"{amount:g}"
        text = f"Nới bán kính tiếp cận thêm {km} km" if vi else f"{km} km more reach"
        if scenario is not None:
            before = scenario.policy.max_distance_km
            after = before + amount
            text += f" (từ {before:g} lên {after:g} km)" if vi else \
                f" (from {before:g} to {after:g} km)"
        return text
    if kind == "point_capacity":
        label = subject + _point_name(scenario, subject)
        n = number(int(amount), lang)
        return f"Thêm {n} lượt trao máy tại điểm {label}" if vi else \
            f"{n} more handovers at point {label}"
    label = subject + _sponsor_name(scenario, subject)
    if kind == "lot_stock":
        n = number(int(amount), lang)
        return f"Thêm {n} máy cho lô {label}" if vi else f"{n} more devices in lot {label}"
    if kind == "lot_communes":
        k = len(change.communes)
        return f"Mở lô {label} cho {k} xã/phường lân cận" if vi else \
            f"Opening lot {label} to {k} neighbouring commune{'s' if k != 1 else ''}"
    statuses = _lot_statuses(scenario, subject)
    if vi:
        only = f" (nay chỉ {', '.join(STATUS_VI[s] for s in statuses)})" if statuses else ""
        return f"Bỏ giới hạn diện hộ của lô {label}{only}"
    only = f" (now only {', '.join(STATUS_EN[s] for s in statuses)} households)" \
        if statuses else ""
    return f"Lifting the status restriction of lot {label}{only}"


def describe_any(changes: Sequence[Change], lang: str = "en",
                 scenario: Scenario | None = None) -> str:
    """One phrase for changes of one kind and amount to different lots or points, any one of
    which would do ("20 more devices in any one of lots A, B or C")."""
    if len(changes) == 1:
        return describe(changes[0], lang, scenario)
    kind, vi = changes[0].kind, lang == "vi"
    if kind not in ("lot_stock", "point_capacity") or \
            any(c.kind != kind or c.amount != changes[0].amount for c in changes):
        raise ValueError("only lot stock or point capacity steps of one size can be merged")
    name = _sponsor_name if kind == "lot_stock" else _point_name
    labels = [c.subject + name(scenario, c.subject) for c in changes]
    listed = ", ".join(labels[:-1]) + (" hoặc " if vi else " or ") + labels[-1]
    n = number(int(changes[0].amount), lang)
    if kind == "lot_stock":
        return f"Thêm {n} máy cho một trong các lô {listed}" if vi else \
            f"{n} more devices in any one of lots {listed}"
    return f"Thêm {n} lượt trao máy tại một trong các điểm {listed}" if vi else \
        f"{n} more handovers at any one of points {listed}"


def count(n: int, noun: str) -> str:
    """An English count: '1 household', '1,240 households'."""
    return f"{number(n, 'en')} {noun}{'' if abs(int(n)) == 1 else 's'}"


def number(n: int, lang: str) -> str:
    """A whole number as the language writes it: 1.240 in Vietnamese, 1,240 in English."""
    text = f"{int(n):,}"
    return text.replace(",", ".") if lang == "vi" else text


def _sponsor_name(scenario: Scenario | None, lot_id: str) -> str:
    if scenario is None:
        return ""
    lots = scenario.lots
    found = lots[lots["lot_id"] == lot_id]
    if not len(found):
        return ""
    row = found.iloc[0]
    name = str(row.get("sponsor_name", "") or "") or str(row["sponsor_id"])
    return f" ({name})"


def _point_name(scenario: Scenario | None, point_id: str) -> str:
    if scenario is None:
        return ""
    points = scenario.points
    found = points[points["point_id"] == point_id]
    name = str(found.iloc[0].get("name", "") or "") if len(found) else ""
    return f" ({name})" if name else ""


def _lot_statuses(scenario: Scenario | None, lot_id: str) -> list[str]:
    if scenario is None:
        return []
    found = scenario.lots[scenario.lots["lot_id"] == lot_id]
    if not len(found):
        return []
    allowed = {s for s in str(found.iloc[0]["allowed_statuses"]).split(";") if s}
    return [s for s in STATUSES if s in allowed]
