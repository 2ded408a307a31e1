"""A round's dashboard as one self-contained HTML file: to e-mail, open offline, or print.

Charts are SVG drawn here; there is no script and nothing is fetched.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

REASONS_VI = {
    "not_eligible_status": "Không thuộc diện", "no_2g_handset": "Không dùng máy 2G",
    "has_smartphone": "Đã có điện thoại thông minh", "no_compatible_lot": "Không có máy phù hợp",
    "no_point_in_reach": "Không có điểm nhận gần", "outranked": "Ưu tiên thấp hơn (hết nguồn)",
}
STATUS_VI = {"poor": "Hộ nghèo", "near_poor": "Hộ cận nghèo", "other": "Khác"}


def render(data: dict[str, Any], summary: dict[str, Any], title: str) -> str:
    k = data["kpis"]
    cards = [
        ("Hộ đủ điều kiện", "Eligible households", f"{k['eligible']:,}"),
        ("Hộ được nhận máy", "Households served", f"{k['served']:,}"),
        *[(f"Độ phủ {STATUS_VI[s]}", f"Coverage, {s.replace('_', '-')}",
           _pct(v["served"], v["eligible"])) for s, v in k["by_status"].items() if v["eligible"]],
        ("Ngân sách đã dùng (triệu đ)", "Budget used (million VND)",
         f"{k['budget_used_vnd'] / 1e6:,.1f} / {k['budget_vnd'] / 1e6:,.1f}"),
        ("Máy còn lại", "Devices left in stock", f"{k['devices_left']:,} / {k['devices']:,}"),
    ]
    body = [
        f"<h1>{escape(title)}</h1>",
        f"<p class=note>Trạng thái / status: <b>{escape(str(summary.get('status')))}</b>"
        f" · trọng số ưu tiên / priority weight {summary.get('stage1', 0):,}"
        f" · quãng đường / distance {summary.get('stage3') or 0:,.1f} km</p>",
        "<section class=cards>" + "".join(
            f"<div class=card><div class=v>{escape(v)}</div><div>{escape(vi)}</div>"
            f"<div class=en>{escape(en)}</div></div>" for vi, en, v in cards) + "</section>",
        "<h2>Độ phủ theo xã/phường <span class=en>Coverage by commune</span></h2>",
        _map(data["communes"]),
        _commune_table(data["communes"]),
        "<h2>Hộ chưa được nhận, theo lý do <span class=en>Unserved by reason</span></h2>",
        _bars({REASONS_VI.get(r, r) + f" ({r})": n for r, n in
               data["unserved_by_reason"].items()}),
        "<h2>Sử dụng lô máy <span class=en>Use of each lot</span></h2>",
        _table(["Lô / lot", "Nhà tài trợ / sponsor", "Mẫu / model", "Đã giao / given",
                "Số lượng / quantity"],
               [[x["lot_id"], x["sponsor_id"], x["model"], f"{x['given']:,}",
                 f"{x['quantity']:,}"] for x in data["lots"]]),
        "<h2>Sử dụng điểm nhận <span class=en>Use of each point</span></h2>",
        _table(["Điểm / point", "Tên / name", "Đã giao / handed", "Công suất / capacity"],
               [[x["point_id"], x["name"], f"{x['handed']:,}", f"{x['capacity']:,}"]
                for x in data["points"]]),
    ]
    return ("<!doctype html><html lang=vi><head><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def _colour(share: float) -> str:
    """Red (nobody served) to green (everyone)."""
    hue = int(120 * max(0.0, min(1.0, share)))
    return f"hsl({hue},70%,45%)"


def _map(communes: list[dict[str, Any]]) -> str:
    located = [c for c in communes if c["lat"] is not None and c["lon"] is not None]
    if not located:
        return ""
    # Far islands (Côn Đảo is 180 km out) would shrink the city to a corner: they are
    # listed under the map instead of drawn on it.
    lat0 = sorted(c["lat"] for c in located)[len(located) // 2]
    lon0 = sorted(c["lon"] for c in located)[len(located) // 2]
    far = sorted(math.hypot(c["lat"] - lat0, c["lon"] - lon0) for c in located)
    limit = 3 * far[int(0.9 * (len(far) - 1))] + 1e-9
    placed = [c for c in located if math.hypot(c["lat"] - lat0, c["lon"] - lon0) <= limit]
    apart = [c for c in located if c not in placed]
    lats = [c["lat"] for c in placed]
    lons = [c["lon"] for c in placed]
    scale = math.cos(math.radians(sum(lats) / len(lats)))
    pad = 20.0
    span_x = max((max(lons) - min(lons)) * scale, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    width = 640.0
    height = min(900.0, max(240.0, (width - 2 * pad) * span_y / span_x + 2 * pad))
    span = max(span_x / (width - 2 * pad), span_y / (height - 2 * pad))
    most = max(c["eligible"] for c in placed)
    dots = []
    for c in placed:
        x = pad + (c["lon"] - min(lons)) * scale / span
        y = height - pad - (c["lat"] - min(lats)) / span
        r = 2 + 10 * math.sqrt(c["eligible"] / most)
        share = c["served"] / c["eligible"] if c["eligible"] else 0
        dots.append(f"<circle cx={x:.1f} cy={y:.1f} r={r:.1f} fill='{_colour(share)}' "
                    f"fill-opacity=.8><title>{escape(c['name'])}: {c['served']}/"
                    f"{c['eligible']} ({_pct(c['served'], c['eligible'])})</title></circle>")
    listed = "".join(f"<li>{escape(c['name'])}: {c['served']:,}/{c['eligible']:,} "
                     f"({_pct(c['served'], c['eligible'])})</li>" for c in apart)
    return (f"<svg class=map viewBox='0 0 {width:.0f} {height:.0f}' role=img "
            "aria-label='coverage map'>" + "".join(dots) + "</svg>"
            "<p class=en>Dot size: eligible households; colour: red = none served, "
            "green = all served.</p>"
            + (f"<p>Ngoài bản đồ <span class=en>off the map</span>:</p><ul>{listed}</ul>"
               if apart else ""))


def _commune_table(communes: list[dict[str, Any]]) -> str:
    rows = sorted(communes, key=lambda c: c["served"] / c["eligible"] if c["eligible"] else 0)
    return _table(["Mã / code", "Xã, phường / commune", "Đủ ĐK / eligible", "Nhận / served",
                   "Độ phủ / coverage"],
                  [[c["commune_code"], c["name"], f"{c['eligible']:,}", f"{c['served']:,}",
                    _pct(c["served"], c["eligible"])] for c in rows])


def _bars(values: dict[str, int]) -> str:
    if not values:
        return "<p>–</p>"
    most = max(values.values()) or 1
    rows = []
    for i, (label, n) in enumerate(values.items()):
        w = 360 * n / most
        rows.append(f"<text x=0 y={i * 26 + 17}>{escape(label)}</text>"
                    f"<rect x=300 y={i * 26 + 4} width={w:.1f} height=18 fill='#3b6ea8'/>"
                    f"<text x={305 + w:.1f} y={i * 26 + 17}>{n:,}</text>")
    return (f"<svg class=bars viewBox='0 0 760 {26 * len(values) + 6}' role=img "
            "aria-label='unserved by reason'>" + "".join(rows) + "</svg>")


def _table(head: list[str], rows: list[list[str]]) -> str:
    return ("<div class=scroll><table><thead><tr>" + "".join(f"<th>{escape(h)}</th>"
                                                            for h in head)
            + "</tr></thead><tbody>" + "".join(
                "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>"
                for row in rows) + "</tbody></table></div>")


CSS = """
body{font-family:system-ui,'Segoe UI',Roboto,Arial,sans-serif;margin:1rem auto;max-width:1100px;
padding:0 1rem;color:#1d2733}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}.en{color:#667;font-size:.8em;
font-weight:normal}.note{color:#445}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:.6rem}
.card{border:1px solid #d5dbe3;border-radius:8px;padding:.6rem}.card .v{font-size:1.3rem;
font-weight:600}
.map{width:100%;max-width:640px;border:1px solid #e3e7ec;border-radius:8px;background:#f7f9fb}
.bars{width:100%;font-size:12px}.scroll{overflow-x:auto;max-height:420px}
table{border-collapse:collapse;font-size:.85rem;width:100%}th,td{border-bottom:1px solid #e3e7ec;
padding:.25rem .5rem;text-align:left}th{position:sticky;top:0;background:#fff}
@media print{.scroll{max-height:none;overflow:visible}}
"""
