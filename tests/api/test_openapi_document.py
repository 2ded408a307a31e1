"""The served OpenAPI document, read as a client author would read it."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    with TestClient(create_app(Settings(database_url="sqlite://", run_worker=False))) as http:
        return http.get("/openapi.json").json()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, operation)
            for path, item in document["paths"].items()
            for method, operation in item.items() if method in METHODS]


def test_every_error_status_answers_with_the_one_error_body(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_every_api_operation_lists_the_statuses_any_request_can_get(
        document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        if path == "/api/health":
            continue
        listed = set(operation["responses"])
        assert {"401", "413", "503"} <= listed, (method, path, sorted(listed))
        if "{" in path:
            assert "404" in listed, (method, path)


def test_the_error_body_is_always_whole(document: dict[str, Any]) -> None:
    """A client need not test for a missing key: every field of Error and Problem is sent."""
    schemas = document["components"]["schemas"]
    assert set(schemas["Error"]["required"]) == {"status", "detail", "detail_vi", "problems",
                                                  "more"}
    assert set(schemas["Problem"]["required"]) == {"message", "file", "row", "column", "field"}


def test_every_example_fits_its_own_schema(document: dict[str, Any]) -> None:
    """FastAPI drops nulls from the document; the examples are put back whole."""
    seen = 0
    for schema in document["components"]["schemas"].values():
        for example in schema.get("examples", []):
            whole = json.loads(json.dumps({"components": document["components"], **schema}))
            jsonschema_rs.validate(whole, example)
            seen += 1
    assert seen >= 5  # a round solving and solved, an error, a sponsor's rows, a policy


def test_uploads_are_files_to_any_generator(document: dict[str, Any]) -> None:
    uploads = [(name, field) for name, schema in document["components"]["schemas"].items()
               for field in schema.get("properties", {}).values()
               if field.get("contentMediaType") == "application/octet-stream"]
    assert len(uploads) >= 3
    assert all(field.get("format") == "binary" for _, field in uploads), uploads


def test_request_bodies_refuse_fields_they_do_not_know(document: dict[str, Any]) -> None:
    """A JSON body that takes named fields says additionalProperties: false, as the server
    refuses the unknown ones."""
    schemas = document["components"]["schemas"]
    for method, path, operation in _operations(document):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        schema = body["schema"]
        for one in schema.get("anyOf", [schema]):
            if "$ref" in one:
                named = schemas[one["$ref"].rsplit("/", 1)[1]]
                assert named.get("additionalProperties") is False, (method, path)
