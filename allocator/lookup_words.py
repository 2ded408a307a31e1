"""Why one household was or was not served in a round, as a commune officer reads it out.

Vietnamese first, then English. Each sentence names what stopped the household
as the round's `unserved.csv` names it: for an outranked household the resources
its detail starts with (`budget:`, `stock:`, `capacity:`, `priority:`), else the
reason itself (no suitable lot, no point in reach, or the eligibility rule it
failed). The figures come from `allocator.would_serve.options`: the nearest point
with room, the cheapest suitable lot and the priority-weight cut-off of its commune.
"""

from __future__ import annotations

import re

from allocator.report.labels import Text
from allocator.would_serve import LotChoice, Options, PointChoice

KINDS = ("budget", "stock", "capacity", "priority")  # what an outranked detail can name
# The words that name each cause in a sentence (the tests look for them).
CAUSE: dict[str, tuple[str, str]] = {
    "budget": ("ngân sách của đợt không còn đủ", "the round's budget was not enough"),
    "stock": ("các lô máy phù hợp đã phát hết", "every suitable lot was given out"),
    "capacity": ("các điểm nhận trong tầm đã kín chỗ", "every point within reach was full"),
    "priority": ("hộ xếp sau trong thứ tự ưu tiên của đợt",
                 "the household came after others in the round's order of priority"),
    "no_compatible_lot": ("không có lô máy phù hợp", "no lot suits it"),
    "no_point_in_reach": ("không có điểm nhận trong tầm", "no distribution point is in reach"),
    "received_earlier": ("đã nhận máy ở đợt trước", "it already received a phone"),
    "duplicate_identity": ("số CCCD của chủ hộ trùng với hộ khác",
                           "the head's citizen ID number is also given for"),
    "not_eligible_status": ("không thuộc diện của đợt", "its status was not eligible"),
    "no_2g_handset": ("không dùng máy chỉ có 2G", "it uses no 2G-only handset"),
    "has_smartphone": ("đã có điện thoại thông minh", "it already has a smartphone"),
}
STATUS_WORDS: dict[str, tuple[str, str]] = {
    "poor": ("hộ nghèo", "poor"), "near_poor": ("hộ cận nghèo", "near-poor"),
    "other": ("hộ khác", "other")}
STATE_WORDS: dict[str, tuple[str, str]] = {
    "handed_over": ("Hộ đã nhận máy", "The household was handed its phone"),
    "reserved": ("Máy đang được giữ chờ hộ đến nhận", "A phone is held for the household"),
    "released": ("Hộ không đến nhận đúng hạn nên máy đã trả về kho",
                 "The household did not collect in time, so the phone went back to stock"),
}
MAX_NAMED = 3  # lots or points named in one sentence
_KIND_AT = re.compile(r"(?:^|; )(" + "|".join(KINDS) + r"):")
_VI, _EN = Text("vi"), Text("en")


def binding_kinds(reason: str, detail: str) -> tuple[str, ...]:
    """What stopped the household, as `unserved.csv` says: an outranked detail's resources
    in its order (`budget: ...; capacity: ...`), else the reason."""
    if reason != "outranked":
        return (reason,) if reason else ()
    return tuple(dict.fromkeys(_KIND_AT.findall(detail or "")))


def explain(reason: str, detail: str, options: Options | None) -> tuple[str, str]:
    """(Vietnamese, English): why the household was not served in the round."""
    if reason == "outranked":
        kinds = binding_kinds(reason, detail) or _kinds_from(options)
        return _outranked(kinds, options)
    if reason == "no_compatible_lot":
        return _no_lot(options)
    if reason == "no_point_in_reach":
        return _no_point(options)
    return _not_eligible(reason, detail, options)


def served(model: str, lot_id: str, sponsor: str, point: str, state: str) -> tuple[str, str]:
    """(Vietnamese, English): what the household was given, where, and what became of it."""
    what_vi = f"{model} (lô {lot_id}" + (f", {sponsor})" if sponsor else ")")
    what_en = f"{model} (lot {lot_id}" + (f", {sponsor})" if sponsor else ")")
    vi = f"Hộ được phân bổ máy {what_vi}, nhận tại {point}."
    en = f"The household was allocated a {what_en}, to collect at {point}."
    if state in STATE_WORDS:
        vi, en = f"{vi} {STATE_WORDS[state][0]}.", f"{en} {STATE_WORDS[state][1]}."
    return vi, en


# --- outranked ---------------------------------------------------------------------------


def _kinds_from(options: Options | None) -> tuple[str, ...]:
    """The binding resources worked out from the figures, for a detail that names none."""
    if options is None:
        return ("priority",)
    kinds = []
    if options.lot is None or options.lot.devices_left <= 0:
        kinds.append("stock")
    elif options.lot.public_cost_vnd > options.budget_left_vnd:
        kinds.append("budget")
    if options.point is None or not options.point.in_reach:
        kinds.append("capacity")
    return tuple(kinds) or ("priority",)


def _outranked(kinds: tuple[str, ...], o: Options | None) -> tuple[str, str]:
    vi = ["Hộ chưa được nhận máy trong đợt này vì " +
          " và ".join(CAUSE[k][0] for k in kinds) + "."]
    en = ["The household was not given a phone in this round because " +
          " and ".join(CAUSE[k][1] for k in kinds) + "."]
    if o is not None:
        for kind in kinds:
            said = _figures(kind, o)
            if said:
                vi.append(said[0])
                en.append(said[1])
        cut = _cutoff(o, kinds)
        vi.append(cut[0])
        en.append(cut[1])
    vi.append("Hộ vẫn có tên trong danh sách để xét ở đợt sau.")
    en.append("The household stays on the list for the next round.")
    return " ".join(vi), " ".join(en)


def _figures(kind: str, o: Options) -> tuple[str, str] | None:
    lot, point = o.lot, o.point
    if kind == "budget" and lot is not None:
        return (f"Ngân sách còn lại {_VI.number(o.budget_left_vnd)} đồng, còn máy phù hợp rẻ "
                f"nhất trong kho ({_lot_vi(lot)}) cần {_VI.number(lot.public_cost_vnd)} "
                "đồng từ ngân sách.",
                f"{_EN.number(o.budget_left_vnd)} VND of the budget was left, and the cheapest "
                f"suitable phone in stock ({_lot_en(lot)}) would cost the budget "
                f"{_EN.number(lot.public_cost_vnd)} VND.")
    if kind == "stock":
        named = _named(list(o.suitable_lots), "lô")
        return (f"Các lô máy phù hợp với hộ ({named[0]}) đều đã được phân bổ hết.",
                f"The lots that suit the household ({named[1]}) were all allocated.")
    if kind == "capacity":
        named = _named(list(o.reach_points), "điểm")
        vi = f"Các điểm nhận trong tầm của hộ ({named[0]}) đều đã kín chỗ."
        en = f"The points within the household's reach ({named[1]}) were all full."
        if point is None:
            return (f"{vi} Không còn điểm nhận nào còn chỗ.", f"{en} No point had room left.")
        return (f"{vi} Điểm gần nhất còn chỗ là {_point_vi(point)}, nhưng ở ngoài xã, phường "
                f"của hộ và xa hơn {_km(_VI, o.max_distance_km)}.",
                f"{en} The nearest point with room is {_point_en(point)}, but it is outside "
                f"the household's commune and beyond the round's "
                f"{_km(_EN, o.max_distance_km)}.")
    if kind == "priority" and lot is not None and point is not None:
        vi = (f"Đợt này vẫn còn máy phù hợp ({_lot_vi(lot)}, "
              f"{_VI.number(lot.public_cost_vnd)} đồng từ ngân sách), còn chỗ ở "
              f"{_point_vi(point)} và ngân sách còn {_VI.number(o.budget_left_vnd)} đồng")
        en = (f"A suitable phone was still in stock ({_lot_en(lot)}, "
              f"{_EN.number(lot.public_cost_vnd)} VND to the budget), a point had room "
              f"({_point_en(point)}) and {_EN.number(o.budget_left_vnd)} VND of the budget "
              "was left")
        if o.weight == 0:  # the round's weights give nothing for serving it
            return (f"{vi}, nhưng theo cách tính điểm của đợt, hộ có 0 điểm ưu tiên nên đợt "
                    "không dành suất nào cho hộ.",
                    f"{en}, but by the round's weights the household has a priority weight "
                    "of 0, so the round set no place aside for it.")
        return (f"{vi}, nhưng theo thứ tự của đợt, các suất đó dành cho hộ có điểm ưu tiên "
                "cao hơn hoặc chi phí thấp hơn.",
                f"{en}, but the round's order gave those places to households of higher "
                "priority weight or lower cost.")
    return None


def _cutoff(o: Options, kinds: tuple[str, ...]) -> tuple[str, str]:
    """The lowest weight served in the household's commune, next to its own."""
    place = o.commune_name or o.commune_code
    w_vi, w_en = _VI.number(o.weight), _EN.number(o.weight)
    if o.cutoff_weight is None:
        return (f"Ở {place}, đợt này chưa có hộ nào được nhận; hộ này có {w_vi} điểm ưu tiên.",
                f"In {place} no household was served in this round; this household has a "
                f"priority weight of {w_en}.")
    cut_vi, cut_en = _VI.number(o.cutoff_weight), _EN.number(o.cutoff_weight)
    head_vi = f"Ở {place}, hộ được nhận có điểm ưu tiên thấp nhất là {cut_vi}; hộ này có {w_vi}"
    head_en = f"In {place} the lowest priority weight served was {cut_en}; this household's is " \
              f"{w_en}"
    if o.weight < o.cutoff_weight:
        return f"{head_vi}, thấp hơn.", f"{head_en}, below it."
    if o.weight == o.cutoff_weight:
        return f"{head_vi}, bằng mức đó.", f"{head_en}, the same."
    local = [k for k in kinds if k != "priority"]
    if not local:
        return f"{head_vi}, cao hơn.", f"{head_en}, above it."
    # Households ranked lower were served with phones or points this one could not use.
    return (f"{head_vi}, cao hơn: điều chặn hộ là "
            f"{' và '.join(CAUSE[k][0] for k in local)}, không phải thứ hạng trong xã, phường.",
            f"{head_en}, above it: what stopped it was that "
            f"{' and '.join(CAUSE[k][1] for k in local)}, not its rank in the commune.")


# --- eligible, but nothing could serve it --------------------------------------------------


def _no_lot(o: Options | None) -> tuple[str, str]:
    vi = "Hộ chưa được nhận máy trong đợt này vì " + CAUSE["no_compatible_lot"][0]
    en = "The household was not given a phone in this round because " + \
        CAUSE["no_compatible_lot"][1]
    if o is not None:
        status = STATUS_WORDS.get(o.status, (o.status, o.status))
        place = o.commune_name or o.commune_code
        needs = o.needs.replace(";", ", ")
        vi += f": không lô nào còn máy dành cho {status[0]} ở {place}"
        en += f": no lot with devices was open to {status[1]} households in {place}"
        if needs:
            vi += f" và có tính năng {needs}"
            en += f" that offers {needs}"
    return (vi + ". Hộ vẫn được xét ở đợt sau, khi có lô máy phù hợp.",
            en + ". The household stays on the list for a round with a suitable lot.")


def _no_point(o: Options | None) -> tuple[str, str]:
    vi = "Hộ chưa được nhận máy trong đợt này vì " + CAUSE["no_point_in_reach"][0]
    en = "The household was not given a phone in this round because " + \
        CAUSE["no_point_in_reach"][1]
    if o is None:
        return vi + ".", en + "."
    place = o.commune_name or o.commune_code
    vi += f": không có điểm nhận nào mở ở {place} hoặc trong vòng {_km(_VI, o.max_distance_km)}."
    en += f": no point was open in {place} or within {_km(_EN, o.max_distance_km)}."
    if o.point is not None:
        vi += f" Điểm gần nhất còn chỗ là {_point_vi(o.point)}."
        en += f" The nearest point with room is {_point_en(o.point)}."
    return vi, en


# --- not eligible ------------------------------------------------------------------------


def _not_eligible(reason: str, detail: str, o: Options | None) -> tuple[str, str]:
    cause = CAUSE.get(reason, (reason, reason))
    vi = "Hộ không được xét trong đợt này vì " + cause[0]
    en = "The household was not considered in this round because " + cause[1]
    if reason == "received_earlier":
        when = re.search(r"\((.*)\)\s*$", detail or "")
        said = f" ({when.group(1)})" if when else ""
        # The store writes "round 3, 2026-05-12": in Vietnamese, "đợt 3, ngày 12/05/2026".
        said_vi = re.sub(r"\(round (\d+), (\d{4})-(\d{2})-(\d{2})\)", r"(đợt \1, ngày \4/\3/\2)",
                         said)
        return vi + said_vi + ".", en + " earlier in the campaign" + said + "."
    if reason == "duplicate_identity":
        others = (detail or "").partition("given for ")[2]
        if others:
            vi += f" ({others.replace(' and ', ' và ').replace(' more', ' hộ khác')})"
        return (vi + "; cần xác minh lại giấy tờ.",
                en + f" {others or 'another household'}; the papers must be checked.")
    if o is not None:
        if reason == "not_eligible_status":
            status = STATUS_WORDS.get(o.status, (o.status, o.status))
            allowed = [STATUS_WORDS.get(s, (s, s)) for s in o.eligible_statuses]
            vi += (f": theo dữ liệu của đợt, hộ là {status[0]}, còn đợt này chỉ dành cho "
                   f"{', '.join(a[0] for a in allowed) or 'không diện nào'}")
            en += (f": by the round's data its status is {status[1]}, and this round was "
                   f"for {', '.join(a[1] for a in allowed) or 'no'} households only")
        elif reason == "no_2g_handset":
            vi += ": theo dữ liệu của đợt, hộ không có máy 2G nào, mà đợt này thay máy 2G"
            en += ": by the round's data it has none, and this round replaces 2G-only handsets"
        elif reason == "has_smartphone":
            vi += f": theo dữ liệu của đợt, hộ có {o.smartphones} máy 4G/5G"
            plural = "" if o.smartphones == 1 else "s"
            en += f": by the round's data it owns {o.smartphones} 4G/5G device{plural}"
    return (vi + ". Nếu thông tin này sai, cán bộ xã, phường cần sửa sổ hộ.",
            en + ". If this is wrong, the commune must correct the registry.")


# --- names and places ---------------------------------------------------------------------


def _named(names: list[str], unit_vi: str) -> tuple[str, str]:
    shown = ", ".join(names[:MAX_NAMED])
    more = len(names) - MAX_NAMED
    if more > 0:
        return f"{shown} và {more} {unit_vi} khác", f"{shown} and {more} more"
    return shown, shown


def _km(text: Text, km: float) -> str:
    """5 km, 2,5 km (vi) or 2.5 km (en): a tenth only when there is one."""
    return text.number(km, 0 if float(km).is_integer() else 1) + " km"


def _lot_vi(lot: LotChoice) -> str:
    return f"{lot.model}, lô {lot.lot_id} của {lot.sponsor_name or lot.sponsor_id}"


def _lot_en(lot: LotChoice) -> str:
    return f"{lot.model}, lot {lot.lot_id} from {lot.sponsor_name or lot.sponsor_id}"


def _point_vi(point: PointChoice) -> str:
    return (f"{_where(point, ' ở ')}, cách {_VI.number(point.km, 1)} km, còn "
            f"{_VI.number(point.room_left)} chỗ")


def _point_en(point: PointChoice) -> str:
    return (f"{_where(point, ' in ')}, {_EN.number(point.km, 1)} km away with "
            f"{_EN.number(point.room_left)} places left")


def _where(point: PointChoice, joint: str) -> str:
    """The point's name, and its commune unless the name says it ('UBND Phường X')."""
    name = point.name or point.point_id
    place = point.commune_name or point.commune_code
    return name if place and place in name else f"{name}{joint}{place}"
