"""Variants: a round made from another with its budget changed (+10%, −20%), to solve,
compare, and approve in place of it.

A variant keeps its base's data files byte for byte and changes only the policy.
It is refused when it would repeat a round that exists (the same data and the
same policy: the same inputs hash), and when it would have no money to spend.
Approving a variant supersedes the round it varies (`supersedes`), as approving
a re-plan supersedes the round it replaces; the campaign ledger then checks, at
that one place, that no two decisions claim the same households, phones or money.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.contract import COMMUNES, HOUSEHOLDS, KEEP, LOTS, POINTS, ROUND
from allocator.issues import InvalidInput
from allocator.policy import MAX_INT, parse_policy
from allocator.store import ledger
from allocator.store.lifecycle import PICKING_UP, BadValue, Conflict, RoundStatus, number_vi
from allocator.store.models import Round
from allocator.store.rounds import get_round, new_round

DATA_FILES = (HOUSEHOLDS, LOTS, POINTS, COMMUNES, KEEP)  # a round's inputs but its policy
# Rounds a variant's approval supersedes: one still to be decided, or the decision itself.
SUPERSEDABLE = PICKING_UP | {RoundStatus.SOLVED}


def vnd(amount: int) -> str:
    """1.100.000.000 đồng, as a Vietnamese sentence writes an amount."""
    return f"{number_vi(amount)} đồng"


class DuplicateRound(Conflict):
    """The variant asked for would repeat a round that exists: same data, same policy."""

    def __init__(self, existing: int, base: int) -> None:
        super().__init__(
            f"round {existing} already has the same inputs and policy as this variant of "
            f"round {base}; open round {existing} instead",
            f"Đợt {existing} đã có đúng dữ liệu và chính sách như phương án này của đợt {base}; "
            f"hãy mở đợt {existing} thay vì tạo thêm một đợt giống hệt.")
        self.existing, self.base = existing, base


def inputs_hash(files: dict[str, bytes], policy: dict[str, Any]) -> str:
    """The hash `new_round` gives a round of these files and this policy."""
    files = {**files, ROUND: (json.dumps(policy, indent=1, sort_keys=True) + "\n").encode()}
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def data_files(row: Round) -> dict[str, bytes]:
    """A round's frozen data files (its inputs without round.json), as stored."""
    with zipfile.ZipFile(io.BytesIO(row.inputs)) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n in DATA_FILES}


def varied_budget(base_budget: int, percent: float) -> int:
    """The base's budget changed by `percent`; refused if nothing would be left to spend."""
    if not math.isfinite(percent) or percent <= -100:
        raise BadValue(f"a budget change of {percent:+g}% leaves no budget; give more than "
                       "-100%",
                       f"Thay đổi ngân sách {percent:+g}% thì không còn đồng nào; hãy nhập "
                       "một tỷ lệ lớn hơn −100%.")
    changed = round(base_budget * (1 + percent / 100))
    if changed <= 0:
        raise BadValue(f"the budget would be {changed:,} VND; a variant needs a budget above "
                       "zero",
                       f"Ngân sách sẽ là {vnd(changed)}; phương án cần ngân sách lớn hơn 0.")
    if changed > MAX_INT:
        raise BadValue(f"the budget would be {changed:,} VND, more than {MAX_INT:,}",
                       f"Ngân sách sẽ là {vnd(changed)}, quá mức tối đa {vnd(MAX_INT)}.")
    return changed


def vary_round(session: Session, round_id: int, percent: float, name: str | None,
               actor: str) -> Round:
    """A draft variant of a round with its budget changed by `percent`.

    Refused (BadValue) if the budget would be zero or less, and (DuplicateRound,
    naming it) if a round with the same data and policy exists.
    """
    base = get_round(session, round_id)
    budget = varied_budget(int(base.policy.get("budget_vnd", 0)), percent)
    checked, issues = parse_policy({**base.policy, "budget_vnd": budget})
    if issues:
        raise InvalidInput(issues)
    policy = checked.to_json()
    files = data_files(base)
    try:
        ledger.lock(session)  # two identical variants asked at once: the second is refused
        same = session.scalar(select(Round.id).where(
            Round.inputs_hash == inputs_hash(files, policy)).order_by(Round.id).limit(1))
        if same is not None:
            raise DuplicateRound(same, base.id)
    except BaseException:
        session.rollback()
        raise
    title = name or f"{base.name} (ngân sách {percent:+g}%)"
    return new_round(session, files, policy, title[:200], actor, based_on=base.id)


def supersedes(session: Session, row: Round) -> int | None:
    """The round that approving `row` supersedes: the one a re-plan replaces, or the one
    a variant varies while that round is solved or open for pickup; else None."""
    if row.replaces is not None:
        return row.replaces
    if row.based_on is None:
        return None
    base = session.get(Round, row.based_on, populate_existing=True)
    return base.id if base is not None and base.status in SUPERSEDABLE else None


def differences(session: Session, row: Round) -> dict[str, Any] | None:
    """How a round differs from the round it was made from: its data files that differ
    (none: the same data), and the policy keys that differ, each as (before, after)."""
    if row.based_on is None:
        return None
    base = session.get(Round, row.based_on)
    if base is None:
        return None
    mine, theirs = data_files(row), data_files(base)
    files = sorted(n for n in set(mine) | set(theirs) if mine.get(n) != theirs.get(n))
    keys = sorted(set(row.policy) | set(base.policy))
    policy = [(k, base.policy.get(k), row.policy.get(k)) for k in keys
              if base.policy.get(k) != row.policy.get(k)]
    return {"base": base.id, "same_data": not files, "files": files, "policy": policy}
