"""Reading and checking a round's policy (`round.json`)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from allocator.contract import ROUND, RoundPolicy
from allocator.issues import InputIssue
from allocator.policy_fields import MAX_DISTANCE_KM as MAX_DISTANCE_KM
from allocator.policy_fields import MAX_INT as MAX_INT
from allocator.policy_fields import MAX_SECONDS as MAX_SECONDS
from allocator.policy_fields import MAX_WEIGHT as MAX_WEIGHT
from allocator.policy_fields import POLICY_FIELDS, POLICY_KEYS, PolicyField


def read_policy(folder: Path) -> tuple[RoundPolicy, list[InputIssue]]:
    """The folder's policy (defaults if round.json is absent) and its problems."""
    path = folder / ROUND
    if not path.exists():
        return RoundPolicy(), []
    try:
        raw = json.loads(path.read_bytes().decode("utf-8-sig"),
                         object_pairs_hook=_no_repeated_keys)
    except OSError as err:
        return RoundPolicy(), [InputIssue(ROUND, 0, "", f"cannot be read ({err.strerror or err})")]
    except UnicodeDecodeError:
        return RoundPolicy(), [InputIssue(ROUND, 0, "", "is not UTF-8 text")]
    except json.JSONDecodeError as err:
        return RoundPolicy(), [InputIssue(ROUND, err.lineno, "", f"is not valid JSON: {err.msg}")]
    except RepeatedKey as err:
        return RoundPolicy(), [InputIssue(ROUND, 0, str(err), "key is given twice")]
    except RecursionError:
        return RoundPolicy(), [InputIssue(ROUND, 0, "", "is not valid JSON: nested too deeply")]
    return parse_policy(raw)


class RepeatedKey(ValueError):
    """A key given twice in one JSON object: the second would silently win."""


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise RepeatedKey(key)
        out[key] = value
    return out


def parse_policy(raw: Any, file: str = ROUND) -> tuple[RoundPolicy, list[InputIssue]]:
    """Check a decoded round.json; unknown keys are errors, missing keys take defaults."""
    issues: list[InputIssue] = []

    def bad(key: str, message: str) -> None:
        issues.append(InputIssue(file, 0, key, message))

    if not isinstance(raw, dict):
        bad("", "must be a JSON object of policy keys")
        return RoundPolicy(), issues
    for key in sorted(set(raw) - POLICY_KEYS):
        bad(str(key), f"unknown key (known keys: {', '.join(sorted(POLICY_KEYS))})")
    values: dict[str, Any] = {}
    for spec in POLICY_FIELDS:  # in RoundPolicy's order, which is the order of the issues
        if spec.name in raw:
            value = _CHECKS[spec.kind](raw[spec.name], spec, bad)
            if value is not None:
                values[spec.name] = value
    return RoundPolicy(**values), issues


Bad = Callable[[str, str], None]


def _number(v: Any, spec: PolicyField, bad: Bad) -> float | None:
    if _is_number(v) and spec.within(v):
        return float(v)
    low, high = spec.bounds()
    unit = f" of {spec.unit}" if spec.unit else ""
    most = spec.maximum_words or f"{high:g}"
    rule = f"> {low:g} and at most {most}" if spec.exclusive_minimum else \
        f"from {low:g} to {most}"
    bad(spec.name, f"must be a number{unit} {rule} (got {v!r})")
    return None


def _whole(v: Any, spec: PolicyField, bad: Bad) -> int | None:
    return _integer(v, spec.name, spec, bad)


def _boolean(v: Any, spec: PolicyField, bad: Bad) -> bool | None:
    if isinstance(v, bool):
        return v
    bad(spec.name, f"must be true or false (got {v!r})")
    return None


def _statuses(v: Any, spec: PolicyField, bad: Bad) -> tuple[str, ...] | None:
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        bad(spec.name, f"must be a list of statuses (got {v!r})")
        return None
    unknown = [s for s in v if s not in spec.items]
    if unknown:
        bad(spec.name, f"unknown status {unknown[0]!r} (allowed: {', '.join(spec.items)})")
        return None
    return tuple(dict.fromkeys(v))


def _table(v: Any, spec: PolicyField, bad: Bad) -> dict[str, int] | None:
    """A table's given keys over the contract's defaults for the others."""
    allowed = spec.keys
    if not isinstance(v, dict):
        bad(spec.name, f"must be an object like {{\"{allowed[0]}\": 0}} (got {v!r})")
        return None
    out: dict[str, int] = {}
    ok = True
    for name, amount in v.items():
        if name not in allowed:
            bad(spec.name, f"unknown key {name!r} (allowed: {', '.join(allowed)})")
            ok = False
            continue
        number = _integer(amount, f"{spec.name}.{name}", spec, bad)
        if number is None:
            ok = False
        else:
            out[name] = number
    return {**spec.default, **out} if ok else None


_CHECKS: dict[str, Callable[[Any, PolicyField, Bad], Any]] = {
    "integer": _whole, "number": _number, "boolean": _boolean, "array": _statuses,
    "object": _table}


def _is_number(v: Any) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return isinstance(v, int) or math.isfinite(v)


def _integer(v: Any, key: str, spec: PolicyField, bad: Bad) -> int | None:
    if _is_number(v) and (isinstance(v, int) or float(v).is_integer()) and spec.within(v):
        return int(v)
    low, high = spec.bounds()
    floor = "" if low == -high else f" >= {low}"  # a symmetric range is a size limit only
    bad(key, f"must be a whole number{floor}, at most {high:,} in size (got {_short(v)})")
    return None


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:40] + "…"
