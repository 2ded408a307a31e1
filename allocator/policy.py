"""Reading and checking a round's policy (`round.json`)."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path
from typing import Any

from allocator.contract import FLAGS, ROUND, STATUSES, RoundPolicy
from allocator.issues import InputIssue

_KEYS = {f.name for f in fields(RoundPolicy)}
MAX_INT = 10**15  # VND amounts and weights; keeps every sum exact in 64-bit integers
MAX_SECONDS = 7 * 24 * 3600.0
MAX_WEIGHT = 10**6  # per status or flag: sums over millions of households stay exact
MAX_DISTANCE_KM = 20_000.0  # half the Earth's circumference


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
    for key in sorted(set(raw) - _KEYS):
        bad(str(key), f"unknown key (known keys: {', '.join(sorted(_KEYS))})")
    default = RoundPolicy()
    values: dict[str, Any] = {}

    if "budget_vnd" in raw:
        values["budget_vnd"] = _integer(raw["budget_vnd"], "budget_vnd", bad)
    if "max_distance_km" in raw:
        v = raw["max_distance_km"]
        if not _is_number(v) or not 0 < v <= MAX_DISTANCE_KM:
            bad("max_distance_km", f"must be a number > 0 and at most {MAX_DISTANCE_KM:g} "
                                   f"(got {v!r})")
        else:
            values["max_distance_km"] = float(v)
    if "eligible_statuses" in raw:
        v = raw["eligible_statuses"]
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            bad("eligible_statuses", f"must be a list of statuses (got {v!r})")
        else:
            unknown = [s for s in v if s not in STATUSES]
            if unknown:
                bad("eligible_statuses", f"unknown status {unknown[0]!r} "
                                         f"(allowed: {', '.join(STATUSES)})")
            else:
                values["eligible_statuses"] = tuple(dict.fromkeys(v))
    for key in ("require_2g_handset", "require_no_smartphone"):
        if key in raw:
            if not isinstance(raw[key], bool):
                bad(key, f"must be true or false (got {raw[key]!r})")
            else:
                values[key] = raw[key]
    for key, allowed, base, most in (
            ("status_weight", STATUSES, default.status_weight, MAX_WEIGHT),
            ("flag_bonus", FLAGS, default.flag_bonus, MAX_WEIGHT),
            ("copay_vnd", STATUSES, default.copay_vnd, MAX_INT)):
        if key in raw:
            table = _table(raw[key], key, allowed, bad, most)
            if table is not None:
                values[key] = {**base, **table}
    if "min_commune_share" in raw:
        v = raw["min_commune_share"]
        if not _is_number(v) or not 0 <= v <= 1:
            bad("min_commune_share", f"must be a number from 0 to 1 (got {v!r})")
        else:
            values["min_commune_share"] = float(v)
    if "seed" in raw:
        seed = _integer(raw["seed"], "seed", bad, minimum=None)
        if seed is not None:
            values["seed"] = seed
    if "time_limit_s" in raw:
        v = raw["time_limit_s"]
        if not _is_number(v) or not 0 < v <= MAX_SECONDS:
            bad("time_limit_s", f"must be a number of seconds > 0 and at most a week "
                                f"(got {v!r})")
        else:
            values["time_limit_s"] = float(v)
    values = {k: v for k, v in values.items() if v is not None}
    return RoundPolicy(**values), issues


def _is_number(v: Any) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return isinstance(v, int) or math.isfinite(v)


def _integer(v: Any, key: str, bad: Any, minimum: int | None = 0,
             most: int = MAX_INT) -> int | None:
    ok = _is_number(v) and (isinstance(v, int) or float(v).is_integer()) and abs(v) <= most
    if ok and (minimum is None or v >= minimum):
        return int(v)
    bad(key, f"must be a whole number{'' if minimum is None else f' >= {minimum}'}, "
             f"at most {most:,} in size (got {_short(v)})")
    return None


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:40] + "…"


def _table(v: Any, key: str, allowed: tuple[str, ...], bad: Any,
           most: int) -> dict[str, int] | None:
    if not isinstance(v, dict):
        bad(key, f"must be an object like {{\"{allowed[0]}\": 0}} (got {v!r})")
        return None
    out: dict[str, int] = {}
    ok = True
    for name, amount in v.items():
        if name not in allowed:
            bad(key, f"unknown key {name!r} (allowed: {', '.join(allowed)})")
            ok = False
            continue
        number = _integer(amount, f"{key}.{name}", bad, most=most)
        if number is None:
            ok = False
        else:
            out[name] = number
    return out if ok else None
