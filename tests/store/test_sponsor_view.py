"""What sponsors are shown: no small count, and none that the other figures pin down.

The figures are built exactly as the portal, its CSV and the sponsor API build
them; an exact attack (CP-SAT over every table consistent with what is shown and
with what a reader knows besides: listed communes are not zero, a lot gives at most
its quantity, a flag counts at most every household) must leave every "<5" with
at least two possible values.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.contract import FLAGS, STATUSES
from allocator.disclosure import PRIMARY, SECONDARY, SMALL, WITHHELD, suppress
from allocator.store.sponsor_view import Allocated, figures, publish
from tests.allocator.test_disclosure import exact_ranges

ALLOCATED = st.builds(
    Allocated,
    lot_id=st.sampled_from(["L1", "L2", "L3"]),
    commune_code=st.sampled_from([f"C{i}" for i in range(6)]),
    poverty_status=st.sampled_from(STATUSES),
    flags=st.sets(st.sampled_from(FLAGS[:3]), max_size=2).map(";".join),
    handed_over=st.booleans())


@settings(max_examples=80)
@given(st.lists(ALLOCATED, max_size=45), st.booleans(), st.lists(st.integers(0, 3),
                                                                  min_size=4, max_size=4))
def test_no_small_count_can_be_worked_out(allocated: list[Allocated], spare_lot: bool,
                                          spare: list[int]) -> None:
    lots = sorted({a.lot_id for a in allocated} | ({"L9"} if spare_lot else set()))
    quantities = {lot: sum(a.lot_id == lot for a in allocated) + extra
                  for lot, extra in zip(lots, spare, strict=False)}
    made = figures(allocated, lots, quantities)
    got = publish(made)
    for key, n in made.cells.items():
        if 0 < n < SMALL:
            assert got[key] in (PRIMARY, WITHHELD), key
        elif got[key] not in (SECONDARY, WITHHELD):
            assert got[key] == str(n), key
    for key, (low, high) in exact_ranges(made.cells, made.sums, got, made.facts).items():
        assert low < high, f"{key} is pinned to {low}: {got}"
    assert made.cells[("total", "a")] == len(allocated)
    assert made.facts.nonzero == {k for k in made.cells if k[0] == "commune"}


@settings(max_examples=40)
@given(st.lists(ALLOCATED, min_size=5, max_size=40))
def test_handovers_never_change_the_allocation_figures(allocated: list[Allocated]) -> None:
    """Allocations are fixed once approved: a sponsor who looked before and after a
    handover sees the same allocation figures, so two looks tell no more than one."""
    lots = sorted({a.lot_id for a in allocated})
    before = publish(figures([a._replace(handed_over=False) for a in allocated], lots))
    after = publish(figures(allocated, lots))
    assert {k: t for k, t in after.items() if k[-1] not in ("h", "p")} == \
        {k: t for k, t in before.items() if k[-1] not in ("h", "p")}


def test_the_figures_add_up_and_keep_the_lots_in_view() -> None:
    allocated = ([Allocated("L1", "C1", "poor", "disability", True)] * 3 +
                 [Allocated("L1", "C2", "near_poor", "", False)] * 20 +
                 [Allocated("L2", "C2", "poor", "merit_family", False)] * 9)
    cells, sums, keep, _ = figures(allocated, ["L1", "L2"])
    got = suppress(cells, sums, keep)
    assert (got[("lot", "L1", "a")], got[("lot", "L2", "a")], got[("total", "a")]) == \
        ("23", "9", "32")
    assert got[("lot", "L1", "h")] == "<5" and got[("lot", "L1", "p")] == "*"
    assert got[("commune", "C1")] == "<5" and got[("commune", "C2")] == "*"
    assert got[("group", "disability")] == "<5" and got[("group", "merit_family")] == "9"
