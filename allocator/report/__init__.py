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

from allocator.report.decisions import Decisions
from allocator.report.labels import Text
from allocator.report.view import round_view

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def environment(*folders: Path) -> Environment:
    """Templates from `folders` first, then the dashboard's own."""
    return Environment(loader=FileSystemLoader([*folders, TEMPLATES]),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@cache
def assets() -> dict[str, Markup]:
    """The style sheet and script, to inline in a self-contained page."""
    return {"css": Markup((STATIC / "app.css").read_text(encoding="utf-8")),
            "js": Markup((STATIC / "app.js").read_text(encoding="utf-8"))}


def render_report(data: dict[str, Any], summary: dict[str, Any], title: str,
                  lang: str = "vi", decisions: Decisions | None = None) -> str:
    """The round dashboard as one HTML file that needs no network; with `decisions`,
    also the round's finished budget curve and bottlenecks."""
    t = Text(lang)
    generated = (f"Engine {summary.get('engine_version', '')}, solver "
                 f"{summary.get('solver', '')}, seed {summary.get('seed', '')}")
    return environment().get_template("report.html").render(
        title=title, t=t, view=round_view(data, summary, t), standalone=True, assets=assets(),
        collected=False, generated=generated, decisions=decisions)
