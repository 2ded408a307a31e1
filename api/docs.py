"""The API's interactive docs (Swagger UI), served from this server alone.

The service must work with no Internet, so the Swagger UI files come from the
`swagger-ui-bundle-v2` package (Apache-2.0, its licence ships with it) instead of
a CDN, and the page's start-up script is a file of its own: the page keeps the
site's Content-Security-Policy, no inline script and no exception for this route.
ReDoc is turned off (it would need another bundle and adds nothing for users).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

INIT_SCRIPT = Path(__file__).parent / "static" / "docs-init.js"
ASSETS = "/docs/assets"


def docs_page(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} — API</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi="{escape(openapi_url)}"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""


def add_docs(app: FastAPI) -> None:
    """`/docs`, its start-up script and the Swagger UI files, all from this server."""
    page = docs_page(app.title, app.openapi_url or "/openapi.json")
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/docs/init.js", include_in_schema=False)
    def docs_init() -> FileResponse:
        return FileResponse(INIT_SCRIPT, media_type="text/javascript")
