"""A round's dashboard as HTML: the same templates serve the web pages and the e-mailed report.

`render_report` writes one self-contained file (styles, script and SVG charts
inside it), to open offline, e-mail or print.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from allocator.report import vietnam_time
from allocator.report.decisions import Decisions
from allocator.report.labels import Text
from allocator.report.paper import ReportPaper, drop_empty_columns
from allocator.report.view import round_view

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def environment(*folders: Path) -> Environment:
    """Templates from `folders` first, then the dashboard's own; every date and time
    goes through the `day`, `moment` and `clock` filters (Vietnam's clock, dd/mm/yyyy)."""
    env = Environment(loader=FileSystemLoader([*folders, TEMPLATES]),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(day=vietnam_time.day, moment=vietnam_time.moment,
                       clock=vietnam_time.clock)
    return env


@cache
def assets() -> dict[str, Markup]:
    """The style sheet and script, to inline in a self-contained page."""
    return {"css": Markup((STATIC / "app.css").read_text(encoding="utf-8")),
            "js": Markup((STATIC / "app.js").read_text(encoding="utf-8")),
            "paper_css": Markup((STATIC / "paper.css").read_text(encoding="utf-8"))}


def render_report(data: dict[str, Any], summary: dict[str, Any], title: str,
                  lang: str = "vi", decisions: Decisions | None = None,
                  paper: ReportPaper | None = None) -> str:
    """The round dashboard as one HTML file that needs no network; with `decisions`,
    also the round's finished budget curve and bottlenecks; with `paper`, the heading,
    status and signatures of an official paper. Printed on A4, it drops table columns
    that are empty on every row."""
    t = Text(lang)
    return drop_empty_columns(environment().get_template("report.html").render(
        title=title, t=t, view=round_view(data, summary, t), standalone=True, assets=assets(),
        collected=False, technical=technical_details(summary, t), decisions=decisions,
        paper=paper))


def technical_details(summary: dict[str, Any], t: Text, inputs_hash: str = "",
                      seed: object = None) -> list[tuple[str, str]]:
    """What an auditor needs to solve the round again (version, solver, seed, inputs),
    folded away under "Chi tiết kỹ thuật" so it does not stand in a planner's way."""
    rows = [(t("engine_version"), summary.get("engine_version")),
            (t("solver"), summary.get("solver")),
            (t("method"), summary.get("method")),
            (t("seed"), summary.get("seed", seed) if seed is None else seed),
            (t("inputs_hash"), inputs_hash or summary.get("inputs_hash"))]
    return [(label, str(value)) for label, value in rows if value not in (None, "")]
