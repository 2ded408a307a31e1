"""The policy key list is the contract's RoundPolicy, and `parse_policy` checks by it."""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

import pytest

from allocator.contract import RoundPolicy
from allocator.policy import parse_policy
from allocator.policy_fields import POLICY_FIELDS, POLICY_KEYS

KINDS = {"integer": int, "number": float, "boolean": bool, "array": tuple, "object": dict}


def test_the_keys_are_the_contracts_in_its_order_with_its_defaults() -> None:
    assert [s.name for s in POLICY_FIELDS] == [f.name for f in fields(RoundPolicy)]
    assert set(RoundPolicy().to_json()) == POLICY_KEYS
    for spec in POLICY_FIELDS:
        assert spec.default == RoundPolicy().to_json()[spec.name]
        assert isinstance(getattr(RoundPolicy(), spec.name), KINDS[spec.kind]), spec.name
        assert spec.description and "\n" not in spec.description
        if spec.kind == "object":
            assert list(spec.default) == list(spec.keys)
        if spec.kind == "array":
            assert set(spec.default) <= set(spec.items)


def _set(spec_name: str, key: str | None, value: Any) -> dict[str, Any]:
    return {spec_name: value if key is None else {key: value}}


@pytest.mark.parametrize("spec", [s for s in POLICY_FIELDS if s.kind != "boolean"
                                  and s.kind != "array"], ids=lambda s: s.name)
def test_the_engine_stops_where_the_key_list_says(spec: Any) -> None:
    low, high = spec.bounds()
    key = spec.keys[0] if spec.kind == "object" else None
    step = 1 if spec.kind != "number" else math.ulp(float(high))
    assert not parse_policy(_set(spec.name, key, high))[1]
    assert parse_policy(_set(spec.name, key, high + step))[1]
    assert bool(parse_policy(_set(spec.name, key, low))[1]) == spec.exclusive_minimum
    below = low - 1 if spec.kind != "number" else math.nextafter(float(low), -math.inf)
    assert parse_policy(_set(spec.name, key, below))[1]


@pytest.mark.parametrize("raw,column,message", [
    ({"budget_vnd": 1.5}, "budget_vnd",
     "must be a whole number >= 0, at most 1,000,000,000,000,000 in size (got 1.5)"),
    ({"seed": "abc"}, "seed",
     "must be a whole number, at most 1,000,000,000,000,000 in size (got 'abc')"),
    ({"max_distance_km": 0}, "max_distance_km", "must be a number > 0 and at most 20000 (got 0)"),
    ({"min_commune_share": 1.2}, "min_commune_share", "must be a number from 0 to 1 (got 1.2)"),
    ({"time_limit_s": True}, "time_limit_s",
     "must be a number of seconds > 0 and at most a week (got True)"),
    ({"status_weight": {"poor": -5}}, "status_weight.poor",
     "must be a whole number >= 0, at most 1,000,000 in size (got -5)"),
    ({"copay_vnd": []}, "copay_vnd", 'must be an object like {"poor": 0} (got [])'),
    ({"flag_bonus": {"veteran": 5}}, "flag_bonus",
     "unknown key 'veteran' (allowed: merit_family, elderly_alone, disability, student, "
     "single_parent, ethnic_minority)"),
    ({"eligible_statuses": ["rich"]}, "eligible_statuses",
     "unknown status 'rich' (allowed: poor, near_poor, other)"),
    ({"require_2g_handset": 1}, "require_2g_handset", "must be true or false (got 1)"),
])
def test_messages_read_as_they_did(raw: dict[str, Any], column: str, message: str) -> None:
    """The bounds in these sentences now come from the key list; the words must not change."""
    [issue] = parse_policy(raw)[1]
    assert (issue.column, issue.message) == (column, message)


def test_a_table_keeps_the_contracts_value_for_keys_not_given() -> None:
    policy, issues = parse_policy({"status_weight": {"poor": 7.0}})
    assert not issues and policy.status_weight == {**RoundPolicy().status_weight, "poor": 7}
    assert type(policy.status_weight["poor"]) is int
