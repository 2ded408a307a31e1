"""Small-count suppression for figures shown to sponsors.

A count from 1 to 4 could single a household out, so it is shown only as "<5"
(primary suppression). A lone hidden count in a row whose total and other parts
are visible can be recovered by subtraction, so a second cell of that relation
is hidden as "*" (complementary suppression), repeated until every relation has
either no hidden cell or at least two.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

SMALL = 5  # counts 1..SMALL-1 are hidden as PRIMARY
PRIMARY = "<5"  # shown for a hidden small count
SECONDARY = "*"  # shown for a count hidden only so that a small one cannot be worked out


def shown(n: int) -> str:
    """The text for a single standalone count (primary rule only)."""
    if n < 0:
        raise ValueError(f"count must be non-negative, got {n}")
    return PRIMARY if 0 < n < SMALL else str(n)


def suppress(cells: Mapping[K, int], sums: Iterable[tuple[K, Sequence[K]]],
             protect: Collection[K] = ()) -> dict[K, str]:
    """Return key -> text to show, hiding small counts and their complements.

    cells: every figure that will be shown (key -> exact non-negative count).
    sums: linear relations the viewer could use, each (total_key, part_keys) meaning
    cells[total_key] == sum(cells[k] for k in part_keys); all keys are in `cells`.
    protect: figures that matter most to the reader (e.g. devices allocated per lot):
    hidden as complements only when a relation has no other visible cell.
    """
    for key, n in cells.items():
        if n < 0:
            raise ValueError(f"count for {key!r} must be non-negative, got {n}")
    relations: list[list[K]] = []
    for total, parts in sums:
        for key in (total, *parts):
            if key not in cells:
                raise ValueError(f"relation for total {total!r} names unknown key {key!r}")
        added = sum(cells[k] for k in parts)
        if cells[total] != added:
            raise ValueError(
                f"relation for total {total!r} does not add up: "
                f"total is {cells[total]} but its parts sum to {added}"
            )
        relations.append(list(dict.fromkeys([*parts, total])))  # parts in order, then total

    hidden = {k: PRIMARY for k, n in cells.items() if 0 < n < SMALL}
    # Only a relation holding a newly hidden cell can need another: check those again,
    # in the order given (a work list, so large tables stay fast and the result fixed).
    holding: dict[K, list[int]] = {}
    for i, members in enumerate(relations):
        for key in members:
            holding.setdefault(key, []).append(i)
    waiting = deque(range(len(relations)))
    queued = set(waiting)
    while waiting:
        i = waiting.popleft()
        queued.discard(i)
        members = relations[i]
        visible = [k for k in members if k not in hidden]
        if len(members) - len(visible) != 1 or not visible:
            continue
        spare = [k for k in visible if k not in protect]
        pick = _cheapest(spare, cells) if spare else _cheapest(visible, cells)
        hidden[pick] = SECONDARY
        for j in holding[pick]:
            if j not in queued:
                waiting.append(j)
                queued.add(j)
    return {k: hidden.get(k, str(n)) for k, n in cells.items()}


def _cheapest(keys: list[K], cells: Mapping[K, int]) -> K:
    """The smallest non-zero figure (the first one on a tie), else the first zero."""
    nonzero = [k for k in keys if cells[k] > 0]
    return min(nonzero, key=lambda k: cells[k]) if nonzero else keys[0]
