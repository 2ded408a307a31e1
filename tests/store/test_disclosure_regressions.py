"""Small counts a sponsor could once work out, rebuilt figure for figure, with the attack.

D4: sponsor UN05 in round 1 of the `demo` store. Its commune table lists only the
communes it served, so every listed count is at least 1 and a listed "*" at least 5.
The total was 466 and the visible communes 459, leaving "<5", "<5" and "*" to share
7: with "*" >= 5 the two "<5" are 1 and 1, as the database holds.
"""

from __future__ import annotations

from allocator.contract import FLAGS
from allocator.disclosure import PRIMARY, SECONDARY, suppress
from allocator.store.sponsor_view import Allocated, Figures, figures, publish
from tests.allocator.test_disclosure import exact_ranges

UN05_COMMUNES = {
    "25942": 57, "25945": 18, "25951": 22, "25987": 22, "26800": 1, "26824": 22, "26833": 1,
    "26842": 45, "27259": 5, "27265": 19, "27286": 5, "27301": 7, "27316": 15, "27343": 11,
    "27349": 11, "27364": 18, "27367": 7, "27373": 23, "27418": 98, "27424": 38, "27427": 21}
UN05_LOTS = {"LOT-008": (188, 188), "LOT-038": (180, 180), "LOT-043": (0, 188),
             "LOT-044": (98, 98)}  # lot -> (allocated, quantity)
UN05_STATUSES = {"poor": 355, "near_poor": 111}
UN05_FLAGS = {"merit_family": 28, "elderly_alone": 55, "disability": 42, "student": 92,
              "single_parent": 37, "ethnic_minority": 19}


def un05(handed: dict[str, int] | None = None) -> Figures:
    """UN05's 466 devices with the demo's margins (each flag on its own households, which
    the margins cannot tell apart), and `handed` devices of each lot handed over."""
    handed = handed or {}
    communes = [c for c, n in UN05_COMMUNES.items() for _ in range(n)]
    lots = [lot for lot, (n, _) in UN05_LOTS.items() for _ in range(n)]
    statuses = [s for s, n in UN05_STATUSES.items() for _ in range(n)]
    flags = [f for f, n in UN05_FLAGS.items() for _ in range(n)]
    flags += [""] * (len(communes) - len(flags))
    seen: dict[str, int] = {}
    allocated = []
    for commune, lot, status, flag in zip(communes, lots, statuses, flags, strict=True):
        seen[lot] = seen.get(lot, 0) + 1
        allocated.append(Allocated(lot, commune, status, flag,
                                   seen[lot] <= handed.get(lot, 0)))
    return figures(allocated, sorted(UN05_LOTS), {k: q for k, (_, q) in UN05_LOTS.items()})


def hidden_communes(got: dict[tuple[str, ...], str]) -> dict[str, str]:
    return {k[1]: t for k, t in got.items() if k[0] == "commune" and not t.isdigit()}


def test_d4_the_pattern_once_published_gives_two_small_counts_away() -> None:
    made = un05()
    assert len(FLAGS) == len(UN05_FLAGS) and made.cells[("total", "a")] == 466
    before = suppress(made.cells, made.sums, made.keep)  # the audit without the facts
    assert hidden_communes(before) == {"26800": PRIMARY, "26833": PRIMARY, "27259": SECONDARY}
    assert sum(int(t) for k, t in before.items()
               if k[0] == "commune" and t.isdigit()) == 459
    ranges = exact_ranges(made.cells, made.sums, before, made.facts)
    assert ranges[("commune", "26800")] == ranges[("commune", "26833")] == (1, 1)


def test_d4_now_every_small_count_keeps_several_values() -> None:
    made = un05()
    got = publish(made)
    # By hand: 466 - 447 = 19 over "<5", "<5" and three "*" of 5 or more (5, 5, 7): the
    # two "<5" add up to 2 to 4, so each is 1, 2 or 3.
    assert hidden_communes(got) == {"26800": PRIMARY, "26833": PRIMARY, "27259": SECONDARY,
                                    "27286": SECONDARY, "27301": SECONDARY}
    assert sum(int(t) for k, t in got.items() if k[0] == "commune" and t.isdigit()) == 447
    ranges = exact_ranges(made.cells, made.sums, got, made.facts)
    assert ranges[("commune", "26800")] == ranges[("commune", "26833")] == (1, 3)
    assert all(low < high for low, high in ranges.values())
    assert [got[("lot", lot, "a")] for lot in sorted(UN05_LOTS)] == ["188", "180", "0", "98"]


def test_d4_handovers_leave_the_commune_table_as_it_was() -> None:
    before = publish(un05())
    made = un05({"LOT-044": 95, "LOT-008": 3})
    after = publish(made)
    assert hidden_communes(after) == hidden_communes(before)
    assert after[("lot", "LOT-044", "p")] == PRIMARY and after[("lot", "LOT-008", "h")] == PRIMARY
    assert all(low < high for low, high in
               exact_ranges(made.cells, made.sums, after, made.facts).values())
