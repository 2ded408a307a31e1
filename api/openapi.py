"""The OpenAPI document as served: what FastAPI writes, with uploads marked as files.

FastAPI writes an upload as `{"type": "string", "contentMediaType":
"application/octet-stream"}` (OpenAPI 3.1). Client generators that know only the
3.0 way (`format: binary`) would make it a text field, and the service would
refuse what they send; both keywords together say "a file" to either kind.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def _mark_files(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and "contentMediaType" in node:
            node.setdefault("format", "binary")
        for value in node.values():
            _mark_files(value)
    elif isinstance(node, list):
        for value in node:
            _mark_files(value)


def serve_document(app: FastAPI) -> None:
    """Make `app.openapi()` (and so /openapi.json and /docs) give the finished document."""
    made = app.openapi

    def document() -> dict[str, Any]:
        schema = made()
        _mark_files(schema.get("components", {}))
        return schema

    app.openapi = document  # type: ignore[method-assign]
