"""Correcting one household of the registry for a "why not me?" case.

The registry is otherwise changed only by whole-file imports. When a case shows
that the survey was wrong (a household recorded as having a smartphone, say),
the planner corrects that one household here: the new values are checked by
the same rules as an import (allocator.validate, the store's column bounds,
Vietnamese status words), the change is audited field by field, and the case
records what changed with the audit entry's id; the case is then answered.

Rounds already made keep their frozen inputs: the correction counts from the
next round on.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.contract import HOUSEHOLD_COLUMNS
from allocator.issues import InputIssue
from allocator.store import audit
from allocator.store.case_explain import REGISTRY_FIELDS
from allocator.store.cases import (
    MAX_NOTE,
    CaseKind,
    CaseMove,
    CaseRefused,
    NotInStore,
    RefusedByRecords,
    get_case,
    move,
    require_planner,
    unwritable,
    utcnow,
)
from allocator.store.imports import ALIASES, STATUS_WORDS
from allocator.store.limits import registry_bounds
from allocator.store.models import Case, Commune, Household, User
from allocator.validate import check_table

EDITABLE = frozenset(REGISTRY_FIELDS)  # personal data (name, phone, ID) is not edited here
COLUMNS = tuple(c for c in HOUSEHOLD_COLUMNS if c.name in EDITABLE or c.name == "household_id")
SOURCE = "correction"  # the "file" named in a refused value's sentence


def _cell(value: Any) -> str:
    """A value as an import reads it: text; an empty cell for nothing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        raise CaseRefused("true and false are not registry values",
                          "Giá trị đúng/sai không phải giá trị của sổ hộ.")
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return repr(value)
    return str(value)


def _plain(value: Any) -> Any:
    """A checked cell as the database takes it (no numpy types, NaN as NULL)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _checked(row: Household, fields: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - EDITABLE)
    if unknown:
        raise CaseRefused(
            f"{unknown[0]} cannot be corrected here (correctable: {', '.join(REGISTRY_FIELDS)})",
            f"Không sửa được trường {unknown[0]} ở đây.", unknown[0])
    if not fields:
        raise CaseRefused("name at least one registry field to correct",
                          "Hãy nhập ít nhất một trường cần sửa.")
    cells = {"household_id": row.id} | {name: _cell(getattr(row, name)) for name in EDITABLE}
    cells |= {name: _cell(value) for name, value in fields.items()}
    status = cells["poverty_status"].strip()
    cells["poverty_status"] = STATUS_WORDS.get(status.lower(), status)
    issues: list[InputIssue] = []
    table = check_table(pd.DataFrame([cells], dtype=object), COLUMNS, SOURCE, issues,
                        ALIASES["households"], registry_bounds("households"))
    if issues or table is None or len(table) != 1:
        first = issues[0] if issues else InputIssue(SOURCE, 0, "", "the values were refused")
        said = "; ".join(f"{i.column}: {i.message}" if i.column else i.message
                         for i in issues[:5])
        raise CaseRefused(said or first.message,
                          f"Giá trị không hợp lệ / invalid value: {said or first.message}",
                          first.column or None)
    return {name: _plain(table.iloc[0][name]) for name in REGISTRY_FIELDS}


def _paired(row: Household, fields: dict[str, Any]) -> None:
    """One coordinate corrected alone must keep the registry's other company: given, when
    the registry holds the other; cleared, when it holds none. (Both given are checked as
    an import checks a row.)"""
    if ("lat" in fields) == ("lon" in fields):
        return
    given, other = ("lat", "lon") if "lat" in fields else ("lon", "lat")
    held = getattr(row, other)
    if held is not None and not (isinstance(held, float) and math.isnan(held)):
        if fields[given] is None:
            raise RefusedByRecords(
                f"the registry holds {other} {held}: clear lat and lon together",
                f"Sổ hộ đang có {other} {held}: xóa cả lat và lon.", given)
    elif fields[given] is not None:
        raise RefusedByRecords(f"the registry holds no {other}: give lat and lon together",
                               f"Sổ hộ chưa có {other}: nhập cả lat và lon.", given)


def correct_household(session: Session, case_id: int, fields: dict[str, Any],
                      actor: User | str, answer: str = "") -> tuple[Case, dict[str, list[Any]]]:
    """Correct the registry row of a why-not-me case's household, link it to the case and
    answer the case, in one transaction. Returns the case and {field: [old, new]}."""
    name = require_planner(actor)
    case = get_case(session, case_id)
    if case.kind != CaseKind.WHY_NOT_ME:
        raise RefusedByRecords("a registry correction answers a \"why not me?\" case",
                               "Chỉ sửa sổ hộ cho hồ sơ \"vì sao tôi chưa được nhận\".",
                               "kind")
    answer = (answer or "").strip()
    if len(answer) > MAX_NOTE or unwritable(answer):
        raise CaseRefused(f"an answer has at most {MAX_NOTE} characters",
                          f"Câu trả lời tối đa {MAX_NOTE} ký tự.", "answer")
    try:
        row = session.scalar(select(Household).where(Household.id == case.household_id)
                             .with_for_update())
        if row is None:
            raise NotInStore(f"household {case.household_id} is no longer in the registry",
                             f"Hộ {case.household_id} không còn trong sổ hộ.", "household_id")
        _paired(row, fields)
        new = _checked(row, fields)
        changes = {k: [getattr(row, k), v] for k, v in new.items() if getattr(row, k) != v}
        if not changes:
            raise RefusedByRecords("the registry already holds these values; nothing to "
                                   "correct", "Sổ hộ đã có đúng các giá trị này; không có gì "
                                   "để sửa.")
        if "commune_code" in changes and session.get(Commune, new["commune_code"]) is None:
            raise NotInStore(f"unknown commune {new['commune_code']!r}",
                             f"Không có xã, phường {new['commune_code']!r}.", "commune_code")
        for key, (_, value) in changes.items():
            setattr(row, key, value)
        row.updated_at = dt.datetime.now(dt.UTC)
        session.flush()
        entry = audit.record(session, name, "correct household", f"household {row.id}",
                             {"case": case_id, "changes": changes})
        said = "; ".join(f"{k}: {_shown(old)} -> {_shown(value)}"
                         for k, (old, value) in changes.items())
        line = f"{said} (audit entry {entry.id}, {name}, {utcnow():%Y-%m-%d})"
        correction = f"{case.correction}\n{line}".strip()
        text = answer or ("Sổ hộ đã được sửa: " + said + ". Hộ sẽ được xét lại từ đợt sau.")
    except BaseException:
        session.rollback()
        raise
    case = move(session, case_id, CaseMove.CORRECT, name,
                {"correction": correction, "answer": text, "answered_by": name,
                 "answered_at": utcnow()},
                {"audit_entry": entry.id, "changes": changes})
    return case, changes


def _shown(value: Any) -> str:
    return "(empty)" if value is None or value == "" else str(value)
