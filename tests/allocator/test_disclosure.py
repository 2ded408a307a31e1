"""Small-count suppression: hand-made cases with known answers, then properties."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocator.disclosure import PRIMARY, SECONDARY, SMALL, WITHHELD, Facts, suppress

HIDDEN = {PRIMARY, SECONDARY, WITHHELD}


def shown(n: int) -> str:
    """What the primary rule alone shows."""
    return PRIMARY if 0 < n < SMALL else str(n)


def exact_ranges(cells: dict[Any, int], sums: Sequence[tuple[Any, Sequence[Any]]],
                 got: dict[Any, str], facts: Facts[Any] | None = None
                 ) -> dict[Any, tuple[int, int]]:
    """The least and greatest value of every "<5" cell, over every table a reader could
    reconstruct from what is shown and from what else they know (facts: listed cells
    are not zero, ceilings, a <= b): an exact attack with CP-SAT over the whole table
    at once, sharing no code with the module's audit."""
    from ortools.sat.python import cp_model

    facts = facts or Facts()

    ranges = {}
    for target in [k for k in cells if got[k] == PRIMARY]:
        bounds = []
        for sense in (1, -1):
            model = cp_model.CpModel()
            top = sum(cells.values()) + SMALL
            x = {k: model.NewIntVar(0, top, repr(k)) for k in cells}
            for k, text in got.items():
                if text == PRIMARY:
                    model.Add(x[k] >= 1)
                    model.Add(x[k] <= SMALL - 1)
                elif text == SECONDARY:  # 0, or at least SMALL
                    some = model.NewBoolVar(f"some {k!r}")
                    model.Add(x[k] == 0).OnlyEnforceIf(some.Not())
                    model.Add(x[k] >= SMALL).OnlyEnforceIf(some)
                elif text == WITHHELD:  # anything
                    pass
                else:
                    model.Add(x[k] == int(text))
            for total, parts in sums:
                model.Add(sum(x[k] for k in parts) == x[total])
            for k in facts.nonzero:
                model.Add(x[k] >= 1)
            for k, ceiling in facts.ceilings.items():
                model.Add(x[k] <= ceiling)
            for low, high in facts.at_most:
                model.Add(x[low] <= x[high])
            model.Minimize(sense * x[target])
            solver = cp_model.CpSolver()
            assert solver.Solve(model) == cp_model.OPTIMAL
            bounds.append(solver.Value(x[target]))
        ranges[target] = (bounds[0], bounds[1])
    return ranges


def test_constants() -> None:
    assert (SMALL, PRIMARY, SECONDARY) == (5, "<5", "*")


def test_counting_hidden_cells_does_not_give_them_away() -> None:
    # 7 = a + b + 5 with a, b "<5": a + b = 2, so both would be 1. More is hidden.
    cells = {"t": 7, "a": 1, "b": 1, "c": 5}
    got = suppress(cells, [("t", ["a", "b", "c"])])
    assert got["a"] == got["b"] == PRIMARY and got["c"] == SECONDARY
    assert all(low < high for low, high in exact_ranges(cells, [("t", ["a", "b", "c"])],
                                                        got).values())
    # 20 = five cells of 4: all four each, unless the total goes too.
    cells = {"t": 20} | {f"p{i}": 4 for i in range(5)}
    sums = [("t", [f"p{i}" for i in range(5)])]
    got = suppress(cells, sums)
    assert got["t"] == SECONDARY
    assert all(low < high for low, high in exact_ranges(cells, sums, got).values())


def test_small_part_takes_smallest_visible_nonzero_as_complement() -> None:
    cells = {"t": 13, "a": 3, "b": 10, "c": 0}
    got = suppress(cells, [("t", ["a", "b", "c"])])
    assert got == {"t": "13", "a": "<5", "b": "*", "c": "0"}


def test_nothing_hidden_when_all_counts_large() -> None:
    cells = {"t": 30, "a": 5, "b": 25}
    assert suppress(cells, [("t", ["a", "b"])]) == {"t": "30", "a": "5", "b": "25"}


def test_small_total_and_part_already_two_hidden() -> None:
    # Total and part are both primary: two hidden cells, so the zero stays visible.
    cells = {"t": 3, "a": 3, "b": 0}
    assert suppress(cells, [("t", ["a", "b"])]) == {"t": "<5", "a": "<5", "b": "0"}


def test_all_visible_zero_hides_first_zero() -> None:
    # With consistent sums this branch needs a relation naming its total among its parts:
    # q = q + z + y says nothing, but the rule still hides the first visible zero, z.
    cells = {"q": 3, "z": 0, "y": 0}
    assert suppress(cells, [("q", ["q", "z", "y"])]) == {"q": "<5", "z": "*", "y": "0"}


def test_ties_broken_by_position_parts_then_total() -> None:
    cells = {"t": 16, "a": 2, "b": 7, "c": 7}
    assert suppress(cells, [("t", ["a", "b", "c"])]) == {"t": "16", "a": "<5", "b": "*", "c": "7"}
    assert suppress(cells, [("t", ["a", "c", "b"])]) == {"t": "16", "a": "<5", "b": "7", "c": "*"}
    # z is hidden as a zero (see above); then in t = a + z the part a ties with the total t
    # and, coming first, is hidden.
    cells = {"q": 3, "z": 0, "a": 9, "t": 9}
    got = suppress(cells, [("q", ["q", "z"]), ("t", ["a", "z"])])
    assert got == {"q": "<5", "z": "*", "a": "*", "t": "9"}


CASCADE = {"a": 2, "b": 10, "t1": 12, "c": 20, "t2": 30}
R1 = ("t1", ["a", "b"])
R2 = ("t2", ["b", "c"])
CASCADE_WANT = {"a": "<5", "b": "*", "t1": "12", "c": "*", "t2": "30"}


@pytest.mark.parametrize("relations", [[R1, R2], [R2, R1]])
def test_cascade_across_relations_sharing_a_cell(relations: list[Any]) -> None:
    # a is primary, so b is hidden in t1 = a + b; then b alone is hidden in t2 = b + c.
    assert suppress(CASCADE, relations) == CASCADE_WANT


def test_relation_that_does_not_add_up() -> None:
    with pytest.raises(ValueError, match="does not add up"):
        suppress({"t": 10, "a": 3, "b": 6}, [("t", ["a", "b"])])


def test_negative_count() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        suppress({"t": -1}, [])


@pytest.mark.parametrize("relation", [("t", ["a", "nope"]), ("nope", ["a"])])
def test_unknown_key(relation: Any) -> None:
    with pytest.raises(ValueError, match="unknown key 'nope'"):
        suppress({"t": 5, "a": 5}, [relation])


Key = tuple[Any, ...]


@st.composite
def tables(draw: Any) -> tuple[dict[Key, int], list[tuple[Key, list[Key]]]]:
    n_rows = draw(st.integers(1, 5))
    n_cols = draw(st.integers(1, 4))
    grid = [[draw(st.integers(0, 30)) for _ in range(n_cols)] for _ in range(n_rows)]
    cells: dict[Key, int] = {}
    for i, row in enumerate(grid):
        for j, n in enumerate(row):
            cells[("cell", i, j)] = n
    for i, row in enumerate(grid):
        cells[("row", i)] = sum(row)
    for j in range(n_cols):
        cells[("col", j)] = sum(row[j] for row in grid)
    cells[("all",)] = sum(map(sum, grid))
    rows = [("row", i) for i in range(n_rows)]
    cols = [("col", j) for j in range(n_cols)]
    sums: list[tuple[Key, list[Key]]] = [
        *((("row", i), [("cell", i, j) for j in range(n_cols)]) for i in range(n_rows)),
        *((("col", j), [("cell", i, j) for i in range(n_rows)]) for j in range(n_cols)),
        (("all",), list(rows)),
        (("all",), list(cols)),
    ]
    return cells, sums


def members(total: Key, parts: Sequence[Key]) -> set[Key]:
    return {total, *parts}


@given(tables(), st.data())
def test_table_properties(table: tuple[dict[Key, int], list[tuple[Key, list[Key]]]],
                          data: st.DataObject) -> None:
    cells, sums = table
    protect = data.draw(st.sets(st.sampled_from(sorted(cells, key=repr))), label="protect")
    got = suppress(cells, sums, protect)
    assert got.keys() == cells.keys()
    for key, n in cells.items():
        text = got[key]
        if 1 <= n < SMALL:
            assert text in (PRIMARY, WITHHELD)
        elif text in HIDDEN:
            assert text == SECONDARY and (n == 0 or n >= SMALL)
        else:
            assert text == str(n)
    for total, parts in sums:
        assert sum(got[k] in HIDDEN for k in members(total, parts)) != 1
    for key, (low, high) in exact_ranges(cells, sums, got).items():
        assert low < high, f"{key} is pinned to {low} by what is shown: {got}"
    assert suppress(cells, sums, protect) == got
    # Determinism does not hang on the cells mapping's insertion order either.
    assert suppress(dict(reversed(list(cells.items()))), sums, protect) == got


@given(st.lists(st.integers(0, 30), min_size=1, max_size=6))
def test_single_relation_properties(parts: list[int]) -> None:
    cells = {f"p{i}": n for i, n in enumerate(parts)} | {"t": sum(parts)}
    got = suppress(cells, [("t", [f"p{i}" for i in range(len(parts))])])
    hidden = [k for k in cells if got[k] in HIDDEN]
    assert len(hidden) != 1
    assert all(got[k] == shown(n) for k, n in cells.items()
               if got[k] not in (SECONDARY, WITHHELD))
    sums = [("t", [f"p{i}" for i in range(len(parts))])]
    assert all(low < high for low, high in exact_ranges(cells, sums, got).values())


def test_protected_figures_are_hidden_as_complements_last() -> None:
    # allocated = handed + pending: handed is small, so one more must go; the
    # protected 'allocated' stays and 'pending' is hidden instead, even though larger.
    cells = {"allocated": 12, "handed": 3, "pending": 9}
    got = suppress(cells, [("allocated", ["handed", "pending"])], protect={"allocated"})
    assert got == {"allocated": "12", "handed": "<5", "pending": "*"}
    # With nothing else left, a protected figure is hidden after all.
    got = suppress({"t": 7, "a": 3, "b": 4}, [("t", ["a", "b"])], protect={"t"})
    assert got == {"t": "7", "a": "<5", "b": "<5"}
    got = suppress({"t": 10, "a": 3, "b": 7}, [("t", ["a", "b"])], protect={"t", "b"})
    assert got == {"t": "10", "a": "<5", "b": "*"}


def test_a_listed_cell_hidden_as_a_complement_is_at_least_five() -> None:
    # A list that names only non-zero cells: "*" there is 5 or more, never 0. With a
    # and b "<5" and c = 5 hidden, 17 = a + b + c + 10 gives a + b = 2: both 1. So d goes.
    cells = {"t": 17, "a": 1, "b": 1, "c": 5, "d": 10}
    sums = [("t", ["a", "b", "c", "d"])]
    listed = Facts(nonzero=frozenset({"a", "b", "c", "d"}))
    assert suppress(cells, sums) == {"t": "17", "a": "<5", "b": "<5", "c": "*", "d": "10"}
    assert exact_ranges(cells, sums, suppress(cells, sums), listed)["a"] == (1, 1)
    got = suppress(cells, sums, facts=listed)
    assert got == {"t": "17", "a": "<5", "b": "<5", "c": "*", "d": "*"}
    assert all(low < high for low, high in exact_ranges(cells, sums, got, listed).values())


def test_a_count_its_ceiling_pins_is_withheld_and_its_sum_kept_whole() -> None:
    # A lot of 1 phone that gave it: "<5" with "at most 1" is 1, so it is not published,
    # and the other part of its sum is hidden too.
    cells = {"t": 10, "a": 1, "b": 9}
    got = suppress(cells, [("t", ["a", "b"])], facts=Facts(ceilings={"a": 1}))
    assert got == {"t": "10", "a": WITHHELD, "b": SECONDARY}
    # A ceiling of 3 leaves 1..3: still more than one value.
    got = suppress(cells | {"a": 3, "b": 7}, [("t", ["a", "b"])],
                   facts=Facts(ceilings={"a": 3}))
    assert got == {"t": "10", "a": PRIMARY, "b": SECONDARY}


def test_fixed_texts_stay_and_more_is_hidden_around_them() -> None:
    # allocated 8 was published before any handover; now 4 handed over and 4 pending
    # would pin each other, and 8 cannot be hidden any more: one of them is withheld.
    cells = {"a": 8, "h": 4, "p": 4}
    sums = [("a", ["h", "p"])]
    assert suppress(cells, sums) == {"a": SECONDARY, "h": PRIMARY, "p": PRIMARY}
    got = suppress(cells, sums, fixed={"a": "8"})
    assert got == {"a": "8", "h": WITHHELD, "p": PRIMARY}


@pytest.mark.parametrize("facts", [Facts(nonzero=frozenset({"b"})),
                                   Facts(ceilings={"a": 2}),
                                   Facts(at_most=(("a", "b"),)),
                                   Facts(nonzero=frozenset({"nope"}))])
def test_facts_the_figures_break(facts: Facts[str]) -> None:
    with pytest.raises(ValueError):
        suppress({"t": 3, "a": 3, "b": 0}, [("t", ["a", "b"])], facts=facts)
