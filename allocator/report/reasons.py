"""Households not served in a round, told apart: not eligible, by the rule that left them
out, and eligible but not served, by what stopped them (the budget, with what is left
and what the cheapest suitable phone costs it; the stock of suitable lots; the room at
the points within reach), from `dashboard.json`'s `unserved_causes`
(`allocator.explain.unserved_causes`). The most common details are shown as
`unserved.csv` gives them, in the page's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from allocator.explain import in_language
from allocator.report.charts import Bar, bars
from allocator.report.labels import Text


@dataclass(frozen=True)
class Row:
    key: str  # a rule, or the resources that stopped them ("budget", "budget+capacity")
    label: str
    households: int


@dataclass(frozen=True)
class Unserved:
    not_eligible: list[Row]
    not_eligible_chart: Markup
    eligible: list[Row]
    eligible_chart: Markup
    details: list[tuple[str, int]] = field(default_factory=list)  # as unserved.csv words it
    more_details: int = 0  # distinct details not listed


def unserved_view(data: dict[str, Any], t: Text) -> Unserved | None:
    """The two groups for a round's page; None for a round solved before they were kept."""
    causes = data.get("unserved_causes")
    if not isinstance(causes, dict):
        return None
    statuses = ", ".join(t(s).lower() for s in causes.get("eligible_statuses", []))
    rules = []
    for r in causes.get("not_eligible", []):
        reason = str(r["reason"])
        label = (t("rule_not_eligible_status").format(statuses=statuses or "–")
                 if reason == "not_eligible_status" else t(reason))
        rules.append(Row(reason, label, int(r["households"])))
    eligible = [Row("+".join(r["kinds"]), _resources(r, causes, t), int(r["households"]))
                for r in causes.get("eligible", [])]
    details = [(in_language(str(d["detail"]), t.lang) or t(str(d["reason"])),
                int(d["households"])) for d in causes.get("details", [])]
    return Unserved(
        rules, bars([Bar(r.label, r.households, t.number(r.households)) for r in rules],
                    t("not_eligible_group")),
        eligible, bars([Bar(r.label, r.households, t.number(r.households)) for r in eligible],
                       t("eligible_unserved_group")),
        details, max(0, int(causes.get("distinct_details", 0)) - len(details)))


def _resources(row: dict[str, Any], causes: dict[str, Any], t: Text) -> str:
    """What stopped them, with the amounts: "Ngân sách: còn 110.000 ₫; ..."."""
    words = []
    for kind in row["kinds"]:
        if kind == "budget":
            low, high = row.get("cost_min_vnd"), row.get("cost_max_vnd")
            cost = t.money(low) if low == high else t("cost_range").format(
                low=t.money(low), high=t.money(high))
            words.append(t("cause_budget").format(left=t.money(causes.get("budget_left_vnd")),
                                                  cost=cost))
        elif kind == "no_point_in_reach":
            km = float(causes.get("max_distance_km", 0))
            words.append(t("cause_no_point_in_reach").format(
                km=t.number(km, 0 if km.is_integer() else 1)))
        else:
            words.append(t(f"cause_{kind}"))
    return "; ".join(words)
