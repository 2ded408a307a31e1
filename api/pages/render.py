"""Rendering a page: the templates, the page's language and the signed-in user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from allocator.explain import in_language
from allocator.report import environment
from allocator.report.labels import LANGS, Text
from allocator.store.models import User
from api.pages.labels import PAGE_LABELS

TEMPLATES = environment(Path(__file__).parent / "templates")
# An engine detail ("English | Tiếng Việt") in the page's language: detail|said(t.lang)
TEMPLATES.filters["said"] = in_language
LANG_COOKIE = "lang"


def text_for(request: Request) -> Text:
    """Vietnamese unless the reader chose English (a cookie set by /lang/en)."""
    lang = request.cookies.get(LANG_COOKIE, "vi")
    return Text(lang if lang in LANGS else "vi", PAGE_LABELS)


def page(request: Request, name: str, user: User | None = None, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    from api.pages.auth import csrf_token

    t = text_for(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = TEMPLATES.get_template(name).render(
        t=t, user=user, csrf=csrf_token(request), here=here, standalone=False,
        assets={}, **context)
    return HTMLResponse(html, status_code=status_code)


def error_page(request: Request, status_code: int, message: str,
               user: User | None = None) -> HTMLResponse:
    return page(request, "error.html", user, status_code, title=str(status_code),
                message=message)
