"""What a round's dashboard shows, worked out once for the web page and the HTML report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from allocator.report import numbers
from allocator.report.charts import Bar, Place, bars
from allocator.report.labels import Text
from allocator.report.map_key import coverage_map, coverage_place
from allocator.report.reasons import Unserved, unserved_view


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    text: str
    sub: str  # what the figure is out of
    value: str  # the exact figure, for scripts and tests (data-value)
    title: str = ""  # the exact amount behind one written in words, shown on hover
    share: tuple[int, int] | None = None  # (part, whole) of a percentage, for its change


@dataclass
class RoundView:
    kpis: list[Kpi]
    map_svg: Markup
    off_map: list[Place]
    communes: list[dict[str, Any]]
    reasons: Markup
    reason_rows: list[tuple[str, str, int]]
    lots: list[dict[str, Any]]
    points: list[dict[str, Any]]
    solver_status: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    unserved: Unserved | None = None  # not eligible apart from eligible but not served


def kpis(data: dict[str, Any], summary: dict[str, Any], t: Text) -> list[Kpi]:
    k = data["kpis"]
    by = k["by_status"]
    out = [Kpi("eligible", t("eligible"), t.number(k["eligible"]), "", str(k["eligible"])),
           Kpi("served", t("served"), t.number(k["served"]), "", str(k["served"]))]
    for status in ("poor", "near_poor"):
        v = by.get(status, {"served": 0, "eligible": 0})
        share = f"{v['served'] / v['eligible']:.6f}" if v["eligible"] else ""
        out.append(Kpi(f"coverage_{status}", t(f"coverage_{status}"),
                       t.percent(v["served"], v["eligible"]),
                       f"{t.number(v['served'])} / {t.number(v['eligible'])}", share,
                       share=(v["served"], v["eligible"])))
    out.append(Kpi("budget_used_vnd", t("budget"), t.money_words(k["budget_used_vnd"]),
                   f"/ {t.money_words(k['budget_vnd'])}", str(k["budget_used_vnd"]),
                   title=f"{t.money(k['budget_used_vnd'])} / {t.money(k['budget_vnd'])}"))
    out.append(Kpi("devices_left", t("devices_left"), t.number(k["devices_left"]),
                   f"/ {t.number(k['devices'])}", str(k["devices_left"])))
    return out


def round_view(data: dict[str, Any], summary: dict[str, Any], t: Text,
               collected_lots: dict[str, int] | None = None,
               collected_points: dict[str, int] | None = None) -> RoundView:
    """Everything the dashboard draws; `collected_*` are handovers recorded so far."""
    communes = []
    for c in data["communes"]:
        share = c["served"] / c["eligible"] if c["eligible"] else 0.0
        communes.append({**c, "share": share, "coverage": t.percent(c["served"], c["eligible"])})
    most = max([c["eligible"] for c in communes] + [1])
    places = [coverage_place(c["name"], c["lat"], c["lon"], c["eligible"] / most, c["served"],
                             c["eligible"], f"{c['name']}: {t.number(c['served'])}/"
                             f"{t.number(c['eligible'])} ({c['coverage']})", t)
              for c in communes if c["lat"] is not None and c["lon"] is not None]
    svg, off_map = coverage_map(t, places, t("coverage_by_commune"), t("map_key_coverage"))
    reasons = [(r, t(r), n) for r, n in data["unserved_by_reason"].items()]
    lots = [{**x, "collected": (collected_lots or {}).get(x["lot_id"])} for x in data["lots"]]
    points = [{**x, "collected": (collected_points or {}).get(x["point_id"])}
              for x in data["points"]]
    status = str(summary.get("status", data["kpis"].get("status", "")))
    facts = [(t("status"), t(status)),
             (t("priority_weight"), t.number(summary.get("stage1"))),
             (t("distance"), t.number(summary.get("stage3"), 1))]
    return RoundView(kpis(data, summary, t), svg, off_map,
                     sorted(communes, key=lambda c: (c["share"], c["commune_code"])),
                     bars([Bar(f"{label}", n, t.number(n)) for _, label, n in reasons],
                          t("unserved_by_reason")),
                     reasons, lots, points, status, facts, unserved_view(data, t))


def comparison(a: dict[str, Any], b: dict[str, Any], t: Text) -> dict[str, Any]:
    """Two rounds side by side: KPIs, coverage by commune and unserved reasons, with changes."""
    rows = []
    for x, y in zip(kpis(a["dashboard"], a["summary"], t), kpis(b["dashboard"], b["summary"], t)):
        rows.append({"label": x.label, "a": x.text, "b": y.text, "title_a": x.title,
                     "title_b": y.title, "delta": _delta(x, y, t)})
    first = {c["commune_code"]: c for c in a["dashboard"]["communes"]}
    second = {c["commune_code"]: c for c in b["dashboard"]["communes"]}
    communes = []
    for code in sorted(set(first) | set(second)):
        p, q = first.get(code), second.get(code)
        share_a = p["served"] / p["eligible"] if p and p["eligible"] else 0.0
        share_b = q["served"] / q["eligible"] if q and q["eligible"] else 0.0
        served_a, served_b = (p["served"] if p else 0), (q["served"] if q else 0)
        whole_a, whole_b = (p["eligible"] if p else 0), (q["eligible"] if q else 0)
        communes.append({"code": code, "name": (p or q or {}).get("name", code),
                         "a": served_a, "b": served_b,
                         "eligible": (q or p or {}).get("eligible", 0),
                         "share_a": share_a, "share_b": share_b, "change": share_b - share_a,
                         "coverage_a": t.percent(served_a, whole_a),
                         "coverage_b": t.percent(served_b, whole_b),
                         "points": t.points((served_a, whole_a), (served_b, whole_b))})
    communes.sort(key=lambda c: (-abs(c["change"]), c["code"]))
    reasons = sorted(set(a["dashboard"]["unserved_by_reason"]) |
                     set(b["dashboard"]["unserved_by_reason"]))
    return {"kpis": rows, "communes": communes,
            "reasons": [(t(r), a["dashboard"]["unserved_by_reason"].get(r, 0),
                         b["dashboard"]["unserved_by_reason"].get(r, 0)) for r in reasons]}


def _delta(x: Kpi, y: Kpi, t: Text) -> str:
    """The change from one round's figure to the other's: percentage points between
    the two percentages shown, money in words, counts with their sign."""
    if x.share and y.share:
        return t.points(x.share, y.share)
    if not x.value or not y.value:
        return "–"
    change = int(y.value) - int(x.value)
    if x.key == "budget_used_vnd":
        return t.money_words(change, sign=True)
    return numbers.signed(t.number(abs(change)), change)
