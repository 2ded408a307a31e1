"""A Python client generated from the running server's /openapi.json drives a round end to end.

openapi-python-client writes the client from the document alone, so an operation,
parameter, answer or error body the document misstates shows here: as a generator
warning, a call the client cannot make, or an answer it cannot parse. The round
(imports, create, solve, approve, handover list, a sponsor's figures) and two
refusals (a conflict and a located upload problem) go through the generated
code only, against the real service on a free local port, on SQLite and on
PostgreSQL (when TEST_POSTGRES_URL is set).
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_python_client import generate
from openapi_python_client.config import Config, ConfigFile, MetaType
from openapi_python_client.parser.errors import ErrorLevel

from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.handover import COLUMNS
from allocator.store.users import add_user
from scenarios.named import scenario
from tests.api.live_server import live_server
from tests.conftest import _fresh_postgres_database

REGISTRIES = ("lots", "points", "households")
SOLVE_SECONDS = 300
# Generator warnings about what the generator cannot do rather than what the document gets
# wrong: a piece of the warning's text, and why it is accepted. Any other warning fails.
ALLOWED_WARNINGS: dict[str, str] = {}
# A round's export is a zip and a sponsor's figures a workbook (their true media types,
# which the generator has no reader for); read as bytes like any other file, so that the
# operations are generated.
CONTENT_TYPES = {"application/zip": "application/octet-stream",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                     "application/octet-stream"}
# openapi-python-client 0.29 takes a string for a file only when it says `format: binary`
# (OpenAPI 3.0's way); given 3.1's `contentMediaType` alone it makes, without a warning, a
# text form field the service refuses. The served document says both (api/openapi.py).
UPLOAD = "application/octet-stream"


@dataclass
class Served:
    url: str
    database_url: str
    planner: str  # a planner's bearer token


@dataclass
class Generated:
    package: str  # the client's import name
    warnings: list[str]
    uploads_fixed: list[str]  # schemas whose uploaded files do not say `format: binary`

    def op(self, tag: str, name: str) -> Any:
        """One operation's module (sync_detailed and friends), by tag and operation id."""
        return importlib.import_module(f"{self.package}.api.{tag}.{name}")

    def __getattr__(self, name: str) -> Any:  # models, types, errors, client
        return importlib.import_module(f"{self.package}.{name}")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Served]:
    """The real service, with its in-process solve worker, over an empty store."""
    tmp = tmp_path_factory.mktemp("generated")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'api.db'}"
    elif os.environ.get("TEST_POSTGRES_URL"):
        url = _fresh_postgres_database(os.environ["TEST_POSTGRES_URL"], request)
    else:
        pytest.skip("TEST_POSTGRES_URL is not set (CI sets it after starting PostgreSQL)")
    engine = make_engine(url)
    prepare(engine)
    with make_sessions(engine)() as session:
        token = add_user(session, "an", "planner", None, "setup")[1]
    engine.dispose()
    with live_server(url) as base:
        yield Served(base, url, token)


@pytest.fixture(scope="module")
def generated(served: Served, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Generated]:
    """The client openapi-python-client writes from the served document, importable."""
    tmp = tmp_path_factory.mktemp("client")
    document = tmp / "openapi.json"
    text = httpx.get(f"{served.url}/openapi.json", timeout=30).raise_for_status().json()
    unmarked = _unmarked_uploads(text)
    document.write_text(json.dumps(text), encoding="utf-8")
    package = "allocator_client_" + served.database_url.split(":")[0].split("+")[0]
    # No post hooks: formatting the client needs ruff on PATH, and changes no behaviour.
    config = Config.from_sources(
        ConfigFile(post_hooks=[], content_type_overrides=CONTENT_TYPES), MetaType.NONE,
        document, "utf-8", overwrite=True, output_path=tmp / package)
    problems = generate(config=config)
    said = [f"{p.header}: {p.detail}" for p in problems]
    assert not [p for p in problems if p.level == ErrorLevel.ERROR], said
    sys.path.insert(0, str(tmp))
    yield Generated(package, said, unmarked)
    sys.path.remove(str(tmp))
    for name in [n for n in sys.modules if n.split(".")[0] == package]:
        del sys.modules[name]


def _unmarked_uploads(document: dict[str, Any]) -> list[str]:
    """The schemas with an uploaded file that does not also say `format: binary`."""
    found = []
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        for field in schema.get("properties", {}).values():
            for one in [field, field.get("items", {})]:
                if one.get("contentMediaType") == UPLOAD and one.get("format") != "binary":
                    found.append(name)
    return sorted(set(found))


def test_the_generator_reads_the_whole_document(generated: Generated) -> None:
    """Every warning is either a defect of the document (fix it) or allowed by name."""
    unexplained = [w for w in generated.warnings
                   if not any(key in w for key in ALLOWED_WARNINGS)]
    assert not unexplained, "\n\n".join(unexplained)
    assert not generated.uploads_fixed, "uploads a generated client would send as text"


def _upload(client: Any, g: Generated, kind: str, content: bytes) -> Any:
    body = g.models.BodyUploadApiImportsKindPost(file=g.types.File(
        payload=io.BytesIO(content), file_name=f"{kind}.csv", mime_type="text/csv"))
    return g.op("imports_planners", "upload_api_imports_kind_post").sync_detailed(
        kind, client=client, body=body)


def _solved(client: Any, g: Generated, round_id: int) -> Any:
    """The round once its solve is over (the worker runs inside the service)."""
    get_round = g.op("rounds_planners", "get_round_api_rounds_round_id_get")
    deadline = time.monotonic() + SOLVE_SECONDS
    while True:
        row = get_round.sync(round_id, client=client)
        if row.status not in ("draft", "solving") or time.monotonic() > deadline:
            return row
        time.sleep(0.5)


def _allocations(client: Any, g: Generated, round_id: int) -> list[Any]:
    pages = g.op("rounds_planners", "allocations_api_rounds_round_id_allocations_get")
    items: list[Any] = []
    while True:
        page = pages.sync(round_id, client=client, offset=len(items), limit=1000)
        items += page.items
        if len(items) >= page.total:
            return items


def _conflict(response: Any, g: Generated) -> None:
    """A 409 in the one error body, parsed as the document says."""
    assert response.status_code == 409, response.content
    error = response.parsed
    assert isinstance(error, g.models.Error), type(error)
    assert error.status == 409 and error.detail


def test_a_round_end_to_end(served: Served, generated: Generated, tmp_path: Path) -> None:
    g = generated
    planner = g.client.AuthenticatedClient(base_url=served.url, token=served.planner,
                                           raise_on_unexpected_status=True, timeout=60)
    folder = tmp_path / "sample"
    scenario("sample", 8).write(folder)

    # A households file with one bad cell: refused whole, the cell located.
    table = list(csv.DictReader(io.StringIO((folder / "households.csv").read_text("utf-8"))))
    table[1]["poverty_status"] = "rich"  # the second household: row 3 of the file
    bad = io.StringIO()
    writer = csv.DictWriter(bad, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    refused = _upload(planner, g, "households", bad.getvalue().encode())
    assert refused.status_code == 422, refused.content
    error = refused.parsed
    assert isinstance(error, g.models.Error), type(error)
    assert error.status == 422 and error.detail
    first = error.problems[0]
    assert isinstance(first, g.models.Problem), refused.content
    assert (first.file, first.row, first.column) == ("households.csv", 3, "poverty_status"), \
        refused.content
    assert "rich" in first.message

    for kind in REGISTRIES:
        content = (folder / f"{kind}.csv").read_bytes()
        response = _upload(planner, g, kind, content)
        assert response.status_code == 200, response.content
        rows = len(content.decode("utf-8").splitlines()) - 1
        assert response.parsed.to_dict()["inserted"] == rows

    policy = json.loads((folder / "round.json").read_text(encoding="utf-8"))
    created = g.op("rounds_planners", "new_round_api_rounds_post").sync_detailed(
        client=planner, body=g.models.RoundCreate.from_dict({"name": "sample", "policy": policy}))
    assert created.status_code == 201, created.content
    round_id = created.parsed.id
    assert created.parsed.status == "draft"

    solve = g.op("rounds_planners", "solve_api_rounds_round_id_solve_post")
    queued = solve.sync_detailed(round_id, client=planner)
    assert queued.status_code == 202, queued.content
    row = _solved(planner, g, round_id)
    assert row.status == "solved", (row.status, row.progress, row.error)
    served_count = row.summary.to_dict()["served"]
    assert served_count > 0

    # The body is optional, but the generated call sends its UNSET marker as JSON when
    # none is given: the default terms are given instead.
    approve = g.op("rounds_planners", "approve_api_rounds_round_id_approve_post")
    approved = approve.sync_detailed(round_id, client=planner, body=g.models.Approval())
    assert approved.status_code == 200, approved.content
    assert approved.parsed.status == "approved"
    _conflict(approve.sync_detailed(round_id, client=planner, body=g.models.Approval()), g)
    _conflict(solve.sync_detailed(round_id, client=planner), g)

    allocations = _allocations(planner, g, round_id)
    assert len(allocations) == served_count
    handover = g.op("rounds_planners", "handover_api_rounds_round_id_handover_get")
    sheet = handover.sync_detailed(round_id, client=planner, format_="csv")
    assert sheet.status_code == 200
    listed = list(csv.DictReader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert Counter(r[COLUMNS["household_id"]] for r in listed) == Counter(
        a.household_id for a in allocations)
    assert all(r[COLUMNS["pickup_code"]] for r in listed)  # approved: each has its code

    # A sponsor the round gives devices to sees its figures, and only as counts.
    by_sponsor = Counter(a.sponsor_id for a in allocations)
    sponsor_id = by_sponsor.most_common(1)[0][0]
    engine = make_engine(served.database_url)
    with make_sessions(engine)() as session:
        token = add_user(session, f"s-{round_id}", "sponsor", sponsor_id, "setup")[1]
    engine.dispose()
    sponsor = g.client.AuthenticatedClient(base_url=served.url, token=token,
                                           raise_on_unexpected_status=True, timeout=60)
    figures = g.op("sponsors", "distribution_api_sponsor_rounds_round_id_distribution_get"
                   ).sync(round_id, client=sponsor)
    assert figures and all(isinstance(f, g.models.DistributionRow) for f in figures)
    mine = Counter(a.commune_code for a in allocations if a.sponsor_id == sponsor_id)
    communes = {f.commune_code: f.devices for f in figures if f.group == "all"}
    assert set(communes) == set(mine)
    for code, devices in communes.items():
        if devices.isdigit():
            assert int(devices) == mine[code], code
    assert any(f.commune_code == "all" for f in figures)
