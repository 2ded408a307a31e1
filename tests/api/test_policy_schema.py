"""The round policy's schema accepts exactly what the engine's `parse_policy` accepts.

Values are drawn from the policy key list itself (valid and invalid: bools for
numbers, 3.0 and 3.5 for whole numbers, numeric strings, edges of every bound,
huge integers, NaN and infinity, unknown keys and wrong table keys), then put to
the pydantic model, to the schema /openapi.json publishes and to the engine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from allocator.contract import FLAGS, STATUSES
from allocator.policy import parse_policy
from allocator.policy_fields import POLICY_FIELDS, PolicyField
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.users import add_user
from api.main import create_app
from api.policy_schema import EXAMPLE, RoundPolicyIn
from api.settings import Settings

JUNK = st.one_of(st.none(), st.booleans(), st.text(max_size=4),
                 st.sampled_from(["3", "1e3", "true", "poor", "", "NaN"]),
                 st.lists(st.integers(0, 3), max_size=2),
                 st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2))
ODD_NUMBERS = st.sampled_from([0, -0.0, 1, -1, 3.0, 3.5, 0.5, 1e300, -1e300, 10**400,
                               -10**400, 2**63, 2**53 + 1, 1e-300])
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])  # not JSON, but json.loads reads them


def _near(value: int | float) -> st.SearchStrategy[Any]:
    """The value, its neighbours as integers and floats, and the float itself."""
    f = float(value)
    return st.sampled_from([value, value - 1, value + 1, f, math.nextafter(f, math.inf),
                            math.nextafter(f, -math.inf)])


def _inside(spec: PolicyField) -> st.SearchStrategy[Any]:
    """Numbers within the key's bounds, as the engine reads them (3.0 is a whole number)."""
    low, high = spec.bounds()
    if spec.kind == "integer" or spec.kind == "object":
        whole = st.one_of(st.integers(int(low), int(high)), st.sampled_from([low, high]))
        return st.one_of(whole, whole.map(float))
    floats = st.floats(low, high, exclude_min=spec.exclusive_minimum)
    return st.one_of(floats, st.sampled_from([high, int(high)]))


def _number(spec: PolicyField, finite: bool) -> st.SearchStrategy[Any]:
    low, high = spec.bounds()
    parts = [_inside(spec), _near(low), _near(high), ODD_NUMBERS, JUNK,
             st.integers(int(low) - 2, int(high) + 2),
             st.floats(allow_nan=False, allow_infinity=False)]
    if not finite:
        parts.append(NON_FINITE)
    return st.one_of(*parts)


def _valid(spec: PolicyField) -> st.SearchStrategy[Any]:
    """Values the engine should accept for the key (a bias: the tests do not assume it)."""
    if spec.kind in ("integer", "number"):
        return _inside(spec)
    if spec.kind == "boolean":
        return st.booleans()
    if spec.kind == "array":
        return st.lists(st.sampled_from(spec.items), max_size=4)
    return st.dictionaries(st.sampled_from(spec.keys), _inside(spec), max_size=len(spec.keys))


def _value(spec: PolicyField, finite: bool) -> st.SearchStrategy[Any]:
    """Any value for the key, valid or not."""
    if spec.kind in ("integer", "number"):
        return _number(spec, finite)
    if spec.kind == "boolean":
        return st.one_of(st.booleans(), st.sampled_from([0, 1, 1.0, "true", None]), JUNK)
    if spec.kind == "array":
        item = st.one_of(st.sampled_from(spec.items), st.sampled_from(["rich", "", "Poor", 1]))
        return st.one_of(st.lists(item, max_size=4), st.just("poor"), JUNK)
    if spec.kind == "object":
        keys = st.one_of(st.sampled_from(spec.keys),
                         st.sampled_from([*STATUSES, *FLAGS, "veteran", ""]))
        tables = st.one_of(
            st.dictionaries(st.sampled_from(spec.keys), _number(spec, finite), max_size=4),
            st.dictionaries(keys, _inside(spec), max_size=3))
        return st.one_of(tables, JUNK)
    raise AssertionError(spec.kind)


def policies(finite: bool) -> st.SearchStrategy[Any]:
    """Valid policies, ones with a bad value or an unknown key, and values that are no object."""
    valid = st.fixed_dictionaries({}, optional={s.name: _valid(s) for s in POLICY_FIELDS})
    one_bad = st.tuples(valid, st.sampled_from(POLICY_FIELDS)).flatmap(
        lambda pair: _value(pair[1], finite).map(lambda v: {**pair[0], pair[1].name: v}))
    anything = st.fixed_dictionaries({}, optional={s.name: _value(s, finite)
                                                   for s in POLICY_FIELDS})
    unknown = st.dictionaries(st.sampled_from(["budjet", "seeds", "", "policy"]), JUNK,
                              min_size=1, max_size=2)
    return st.one_of(valid, one_bad, anything,
                     st.builds(lambda a, b: {**a, **b}, valid, unknown), JUNK)


def _model(raw: Any) -> Any | None:
    try:
        return RoundPolicyIn.model_validate(raw)
    except ValidationError:
        return None


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies(finite=False))
def test_the_model_accepts_what_the_engine_accepts(raw: Any) -> None:
    engine, issues = parse_policy(raw)
    model = _model(raw)
    assert (model is not None) == (not issues), (raw, issues)
    if model is not None:
        # What the router passes on (only the keys sent), and the model in full: the
        # schema's defaults are the contract's.
        sent, sent_issues = parse_policy(model.model_dump(exclude_unset=True))
        full, full_issues = parse_policy(model.model_dump())
        assert not sent_issues and not full_issues
        assert sent == engine and full == engine


def _edges(spec: PolicyField) -> list[Any]:
    """Each bound, one step either side as an integer and as a float, and odd numbers."""
    low, high = spec.bounds()
    out: list[Any] = [True, False, "1", None, math.nan, math.inf, -math.inf, 0.5, 10**400]
    for bound in (low, high):
        f = float(bound)
        out += [bound, int(bound), int(bound) - 1, int(bound) + 1, f, f + 1, f - 1,
                math.nextafter(f, math.inf), math.nextafter(f, -math.inf)]
    return out


EDGES = [({spec.name: value}, spec.name) for spec in POLICY_FIELDS
         if spec.kind in ("integer", "number") for value in _edges(spec)] + \
        [({spec.name: {key: value}}, f"{spec.name}.{key}") for spec in POLICY_FIELDS
         if spec.kind == "object" for key in spec.keys for value in _edges(spec)]


@pytest.mark.parametrize("raw,where", EDGES, ids=lambda v: v if isinstance(v, str) else "")
def test_every_bound_is_where_the_engine_puts_it(published: Any, raw: dict[str, Any],
                                                 where: str) -> None:
    """Drawing misses edges (a maximum one too high passes 3000 examples): try each one."""
    issues = parse_policy(raw)[1]
    assert (_model(raw) is not None) == (not issues), (raw, issues)
    try:
        sent = json.loads(json.dumps(raw, allow_nan=False))
    except ValueError:
        return  # NaN and infinity are not JSON: only the model sees them
    assert published.is_valid(sent) == (not issues), (raw, issues)


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    app = create_app(Settings(database_url="sqlite://", run_worker=False))
    return app.openapi()


@pytest.fixture(scope="module")
def published(openapi: dict[str, Any]) -> Any:
    """A validator for RoundCreate.policy as /openapi.json describes it."""
    ref = openapi["components"]["schemas"]["RoundCreate"]["properties"]["policy"]["$ref"]
    return jsonschema_rs.validator_for({"$ref": ref, "components": openapi["components"]})


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=policies(finite=True))
def test_the_published_schema_accepts_what_the_engine_accepts(published: Any, raw: Any) -> None:
    raw = json.loads(json.dumps(raw, allow_nan=False))  # as a client would send it
    issues = parse_policy(raw)[1]
    assert published.is_valid(raw) == (not issues), (raw, issues)


def test_the_published_policy_lists_every_key_and_no_other(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    body = schemas["RoundCreate"]
    assert body["additionalProperties"] is False
    policy = schemas[body["properties"]["policy"]["$ref"].rsplit("/", 1)[1]]
    assert policy["title"] == "RoundPolicy" and policy["additionalProperties"] is False
    assert list(policy["properties"]) == [s.name for s in POLICY_FIELDS]
    for spec in POLICY_FIELDS:
        shown = policy["properties"][spec.name]
        assert shown["description"].startswith(spec.description)
        if spec.kind == "object":
            table = schemas[shown["$ref"].rsplit("/", 1)[1]]
            assert table["additionalProperties"] is False
            assert list(table["properties"]) == list(spec.keys)
            assert {k: v["default"] for k, v in table["properties"].items()} == spec.default
        if spec.name != "budget_vnd":  # the campaign's remaining budget, not a constant
            assert shown["default"] == spec.default
    assert "default" not in policy["properties"]["budget_vnd"]
    assert not parse_policy(EXAMPLE)[1] and policy["examples"] == [EXAMPLE]


@pytest.fixture(scope="module")
def planner(module_db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    engine = make_engine(module_db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        token = add_user(session, "an", "planner", None, "setup")[1]
    engine.dispose()
    app = create_app(Settings(database_url=module_db_url, run_worker=False))
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("body,status", [
    ('{"policy": {"seed": 3.0, "max_distance_km": 3}}', 201),
    ('{"policy": {"seed": "3"}}', 422),
    ('{"policy": {"seed": true}}', 422),
    ('{"policy": {"max_distance_km": NaN}}', 422),  # json.loads reads it; the engine refuses it
    ('{"policy": {"time_limit_s": Infinity}}', 422),
    ('{"policy": {"status_weight": {"rich": 5}}}', 422),
    ('{"policy": {}, "polcy": {}}', 422),
])
def test_post_rounds_checks_the_policy_as_the_engine_does(
        planner: tuple[TestClient, dict[str, str]], body: str, status: int) -> None:
    client, headers = planner
    made = client.post("/api/rounds", content=body,
                       headers={**headers, "Content-Type": "application/json"})
    assert made.status_code == status, made.text
    if status == 201:
        assert made.json()["seed"] == 3
