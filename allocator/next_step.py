"""What the next step of money buys, read from two exact rows of a budget curve, and the
sentence a planner reads out: "100 triệu đồng tiếp theo sẽ phục vụ thêm N hộ ..."."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from allocator.contract import STATUSES

if TYPE_CHECKING:
    from allocator.curve import Curve

STEP_VND = 100_000_000


@dataclass
class NextStep:
    """What `step_vnd` more than `from_budget_vnd` buys, between two exact rows of a curve."""

    from_budget_vnd: int
    to_budget_vnd: int      # the exact row compared with: from + step, or saturation if lower
    step_vnd: int
    saturation_vnd: int
    served_more: int
    weight_more: int
    floor_more: int         # stage 0: households more within the fairness floor
    by_status: dict[str, int]       # households more per poverty status (may be negative)
    communes: list[tuple[str, int]]  # communes serving more, most first: (code, households)
    saturated: bool = False  # from_budget is at or above saturation: nothing more to buy

    def to_json(self) -> dict[str, Any]:
        return {"from_budget_vnd": self.from_budget_vnd, "to_budget_vnd": self.to_budget_vnd,
                "step_vnd": self.step_vnd, "saturation_vnd": self.saturation_vnd,
                "served_more": self.served_more, "weight_more": self.weight_more,
                "floor_more": self.floor_more, "by_status": dict(self.by_status),
                "communes": [{"commune_code": c, "served_more": n} for c, n in self.communes],
                "saturated": self.saturated}


def next_step(curve: Curve, from_budget: int | None = None,
              step_vnd: int = STEP_VND) -> NextStep | None:
    """What `step_vnd` more than `from_budget` (default: the round's) buys, from exact rows.

    None when the curve lacks a row it needs (a budget outside a capped curve).
    """
    start = curve.round_budget_vnd if from_budget is None else int(from_budget)
    saturation = curve.saturation_vnd
    if start >= saturation:
        return NextStep(start, start, step_vnd, saturation, 0, 0, 0,
                        {s: 0 for s in STATUSES}, [], saturated=True)
    end = min(start + step_vnd, saturation)
    a, b = curve.point_at(start), curve.point_at(end)
    if a is None or b is None:
        return None
    by_status = {s: b.by_status.get(s, 0) - a.by_status.get(s, 0) for s in STATUSES}
    gains = {c: b.by_commune.get(c, 0) - a.by_commune.get(c, 0)
             for c in set(a.by_commune) | set(b.by_commune)}
    communes = sorted(((c, n) for c, n in gains.items() if n > 0), key=lambda x: (-x[1], x[0]))
    return NextStep(start, end, step_vnd, saturation, b.served - a.served,
                    b.stage1 - a.stage1, b.stage0 - a.stage0, by_status, communes)


_STATUS_WORDS = {"vi": {"poor": "hộ nghèo", "near_poor": "hộ cận nghèo", "other": "hộ khác"},
                 "en": {"poor": "poor", "near_poor": "near-poor", "other": "other"}}
_NAMED_COMMUNES = 3


def next_step_sentence(step: NextStep, commune_names: dict[str, str], lang: str = "vi") -> str:
    """The step as one or two sentences a planner can read out, in 'vi' or 'en'."""
    if lang not in ("vi", "en"):
        raise ValueError(f"lang must be 'vi' or 'en' (got {lang!r})")
    vi = lang == "vi"
    num = _vi_number if vi else _en_number
    if step.saturated:
        if vi:
            return (f"Ngân sách {num(step.from_budget_vnd)} đồng đã phục vụ được nhiều hộ "
                    f"nhất mà số máy, điểm phát và điều kiện của nhà tài trợ cho phép (mức bão "
                    f"hòa {num(step.saturation_vnd)} đồng): thêm tiền không phục vụ thêm hộ nào.")
        return (f"A budget of {num(step.from_budget_vnd)} VND already serves as many "
                f"households as the devices, points and sponsors' conditions allow "
                f"(saturation at {num(step.saturation_vnd)} VND): more money would serve no "
                f"one more.")
    money = _money(step.step_vnd, vi)
    n, w = step.served_more, step.weight_more
    if vi:
        text = f"{money} tiếp theo sẽ "
        text += (f"phục vụ thêm {num(n)} hộ" if n > 0 else "không phục vụ thêm hộ nào"
                 if n == 0 else f"phục vụ ít hơn {num(-n)} hộ")
        if w > 0 and n > 0:
            text += f" ({num(w)} điểm ưu tiên)"
        elif w > 0:
            text += f" nhưng là các hộ ưu tiên hơn (thêm {num(w)} điểm ưu tiên)"
        elif w < 0:
            text += f" (ít hơn {num(-w)} điểm ưu tiên)"
        if step.floor_more > 0:
            text += (f", đáp ứng mức sàn công bằng giữa các phường, xã cho thêm "
                     f"{num(step.floor_more)} hộ")
    else:
        text = f"The next {money} would "
        text += (f"serve {num(n)} more household{_s(n)}" if n > 0 else
                 "serve no more households" if n == 0 else
                 f"serve {num(-n)} fewer household{_s(-n)}")
        if w > 0 and n > 0:
            text += f" ({num(w)} priority point{_s(w)})"
        elif w > 0:
            text += f", but higher-priority ones ({num(w)} more priority point{_s(w)})"
        elif w < 0:
            text += f" ({num(-w)} fewer priority point{_s(-w)})"
        if step.floor_more > 0:
            text += (f", meeting the commune fairness floor for {num(step.floor_more)} more "
                     f"household{_s(step.floor_more)}")
    text += _mostly(step, commune_names, vi) + "."
    if step.to_budget_vnd < step.from_budget_vnd + step.step_vnd and (n > 0 or w > 0):
        needed = step.to_budget_vnd - step.from_budget_vnd
        text += (f" Chỉ cần {num(needed)} đồng trong số đó: từ {num(step.saturation_vnd)} "
                 f"đồng trở lên, thêm tiền không phục vụ thêm hộ nào." if vi else
                 f" Only {num(needed)} VND of it is needed: from {num(step.saturation_vnd)} "
                 f"VND on, more money serves no one more.")
    elif n <= 0 and w <= 0:
        text += (f" Với {num(step.saturation_vnd)} đồng, số hộ được phục vụ là nhiều nhất "
                 f"có thể." if vi else
                 f" The most households are served from {num(step.saturation_vnd)} VND.")
    return text


def _mostly(step: NextStep, names: dict[str, str], vi: bool) -> str:
    """', mostly near-poor households in X, Y': the status and communes gaining most."""
    gains = [(n, -i, s) for i, (s, n) in enumerate(step.by_status.items()) if n > 0]
    if step.served_more <= 0 or not gains:
        return ""
    status = max(gains)[2]
    words = _STATUS_WORDS["vi" if vi else "en"][status]
    where = ""
    # Name the communes gaining most, as few as cover half the gain (at most three).
    named: list[str] = []
    covered = 0
    for code, n in step.communes[:_NAMED_COMMUNES]:
        named.append(names.get(code, code))
        covered += n
        if 2 * covered >= step.served_more:
            break
    if named and 2 * covered >= step.served_more:
        where = (" ở " if vi else " in ") + ", ".join(named)
    elif named:
        count = len(step.communes)
        where = (f" ở {count} phường, xã, nhiều nhất ở " if vi else
                 f" across {count} communes, most in ") + ", ".join(named)
    return (f", chủ yếu là {words}{where}" if vi else f", mostly {words} households{where}")


def _money(vnd: int, vi: bool) -> str:
    """100 triệu đồng / 100 million VND; 1,5 tỷ đồng / 1.5 billion VND; else in full."""
    if vnd >= 10**9 and vnd % 10**8 == 0:
        whole, tenth = vnd // 10**9, vnd // 10**8 % 10
        if vi:
            return f"{_vi_number(whole)}{f',{tenth}' if tenth else ''} tỷ đồng"
        return f"{_en_number(whole)}{f'.{tenth}' if tenth else ''} billion VND"
    if vnd >= 10**6 and vnd % 10**6 == 0:
        return (f"{_vi_number(vnd // 10**6)} triệu đồng" if vi else
                f"{_en_number(vnd // 10**6)} million VND")
    return f"{_vi_number(vnd)} đồng" if vi else f"{_en_number(vnd)} VND"


def _vi_number(n: int) -> str:
    """Thousands separated as Vietnamese write them: 1.234.567."""
    return f"{n:,}".replace(",", ".")


def _en_number(n: int) -> str:
    return f"{n:,}"


def _s(n: int) -> str:
    return "" if n == 1 else "s"
