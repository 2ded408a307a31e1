"""The OpenAPI document as served: what FastAPI writes, with uploads marked as files and
examples as the models give them.

FastAPI writes an upload as `{"type": "string", "contentMediaType":
"application/octet-stream"}` (OpenAPI 3.1). Client generators that know only the
3.0 way (`format: binary`) would make it a text field, and the service would
refuse what they send; both keywords together say "a file" to either kind.

FastAPI also drops every null from the document it writes, examples included, so
an example of a body whose fields are always sent (some of them null) would break
its own schema; the models' examples are put back as written.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel


def _mark_files(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and "contentMediaType" in node:
            node.setdefault("format", "binary")
        for value in node.values():
            _mark_files(value)
    elif isinstance(node, list):
        for value in node:
            _mark_files(value)


def _models() -> dict[str, type[BaseModel]]:
    """The service's own models, by the name the document gives their schemas."""
    found: dict[str, type[BaseModel]] = {}
    waiting: list[type[BaseModel]] = [BaseModel]
    while waiting:
        for model in waiting.pop().__subclasses__():
            waiting.append(model)
            if model.__module__.startswith("api."):
                found.setdefault(model.__name__, model)
    return found


def _put_back_examples(components: dict[str, Any]) -> None:
    models = _models()
    for name, schema in components.get("schemas", {}).items():
        extra = models[name].model_config.get("json_schema_extra") if name in models else None
        if isinstance(extra, dict) and "examples" in extra:
            schema["examples"] = copy.deepcopy(extra["examples"])


def serve_document(app: FastAPI) -> None:
    """Make `app.openapi()` (and so /openapi.json and /docs) give the finished document."""
    made = app.openapi

    def document() -> dict[str, Any]:
        schema = made()
        _mark_files(schema.get("components", {}))
        _put_back_examples(schema.get("components", {}))
        return schema

    app.openapi = document  # type: ignore[method-assign]
