"""Small-count suppression for figures shown to sponsors.

A count from 1 to 4 could single a household out, so it is shown only as "<5"
(primary suppression). A reader who also sees totals can work hidden counts out:
by subtraction (one hidden cell in a sum), or by counting (a total of 3 over
three "<5" cells means 1 each). So more cells are hidden as "*" (complementary
suppression) until an audit finds no "<5" cell whose value the published
figures pin down: every sum keeps either no hidden cell or at least two, and an
exact search over every table consistent with what is shown (a "<5" is 1 to 4,
a "*" is 0 or at least 5) finds at least two possible values for each "<5".
Where everything around such a count is hidden already (a sponsor with very
few devices), it is not published at all ("–").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

SMALL = 5  # counts 1..SMALL-1 are hidden as PRIMARY
PRIMARY = "<5"  # shown for a hidden small count
SECONDARY = "*"  # shown for a count hidden only so that a small one cannot be worked out
WITHHELD = "–"  # not published: so few figures that hiding cannot protect this one


def suppress(cells: Mapping[K, int], sums: Iterable[tuple[K, Sequence[K]]],
             protect: Collection[K] = ()) -> dict[K, str]:
    """Return key -> text to show, hiding small counts and what would reveal them.

    cells: every figure that will be shown (key -> exact non-negative count).
    sums: linear relations the viewer could use, each (total_key, part_keys) meaning
    cells[total_key] == sum(cells[k] for k in part_keys); all keys are in `cells`.
    protect: figures that matter most to the reader (e.g. devices allocated per lot):
    hidden as complements only when a relation has no other visible cell.
    """
    for key, n in cells.items():
        if n < 0:
            raise ValueError(f"count for {key!r} must be non-negative, got {n}")
    relations: list[tuple[K, list[K]]] = []
    for total, parts in sums:
        for key in (total, *parts):
            if key not in cells:
                raise ValueError(f"relation for total {total!r} names unknown key {key!r}")
        added = sum(cells[k] for k in parts)
        if cells[total] != added:
            raise ValueError(f"relation for total {total!r} does not add up: "
                             f"total is {cells[total]} but its parts sum to {added}")
        relations.append((total, list(parts)))
    members = [list(dict.fromkeys([*parts, total])) for total, parts in relations]
    holding: dict[K, list[int]] = {}
    for i, keys in enumerate(members):
        for key in keys:
            holding.setdefault(key, []).append(i)

    hidden = {k: PRIMARY for k, n in cells.items() if 0 < n < SMALL}

    def hide_in(i: int) -> K | None:
        """Hide one more visible cell of relation i, the least useful to the reader."""
        visible = [k for k in members[i] if k not in hidden]
        if not visible:
            return None
        spare = [k for k in visible if k not in protect]
        pick = _cheapest(spare, cells) if spare else _cheapest(visible, cells)
        hidden[pick] = SECONDARY
        return pick

    def settle(queue: Iterable[int]) -> None:
        """No relation may keep exactly one hidden cell: it is one subtraction away."""
        waiting = deque(queue)
        while waiting:
            i = waiting.popleft()
            if sum(k in hidden for k in members[i]) == 1:
                pick = hide_in(i)
                if pick is not None:
                    waiting.extend(holding[pick])

    def widen(target: K) -> K | None:
        """Hide one more cell near `target`: in the nearest sum, through hidden cells,
        that still shows something."""
        first = sorted(holding.get(target, []),
                       key=lambda i: (sum(k in hidden for k in members[i]), i))
        waiting, seen = deque(first), set(first)
        while waiting:
            i = waiting.popleft()
            pick = hide_in(i)
            if pick is not None:
                return pick
            for k in members[i]:
                for j in holding[k] if k in hidden else ():
                    if j not in seen:
                        seen.add(j)
                        waiting.append(j)
        return None

    settle(range(len(members)))
    order = list(dict.fromkeys(k for keys in members for k in keys))
    while True:
        pinned = _pinned(cells, relations, hidden)
        target = next((k for k in order if k in pinned), None)
        if target is None:
            break
        pick = widen(target)
        if pick is None:  # everything around it is hidden already: say nothing of it
            hidden[target] = WITHHELD
        else:
            settle(holding[pick])
    return {k: hidden.get(k, str(n)) for k, n in cells.items()}


def _pinned(cells: Mapping[K, int], relations: list[tuple[K, list[K]]],
            hidden: Mapping[K, str]) -> set[K]:
    """The "<5" cells that what is shown pins to their value: an exact check (CP-SAT)
    over every table a reader could rebuild, one group of linked hidden cells at a time."""
    from ortools.sat.python import cp_model

    parent = {k: k for k in hidden}

    def root(k: K) -> K:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for total, parts in relations:
        linked = [k for k in (total, *parts) if k in hidden]
        for k in linked[1:]:
            parent[root(k)] = root(linked[0])
    groups: dict[K, list[int]] = {}
    for i, (total, parts) in enumerate(relations):
        linked = [k for k in (total, *parts) if k in hidden]
        if linked:
            groups.setdefault(root(linked[0]), []).append(i)
    top = sum(cells.values()) + SMALL
    pinned: set[K] = set()
    for first, indices in groups.items():
        model = cp_model.CpModel()
        x: dict[K, cp_model.IntVar] = {}

        def var(k: K, model: cp_model.CpModel = model,
                x: dict[K, cp_model.IntVar] = x) -> cp_model.IntVar:
            if k not in x:
                n, text = cells[k], hidden.get(k)
                domain = ([[n, n]] if text is None else [[1, SMALL - 1]] if text == PRIMARY
                          else [[0, 0], [SMALL, top]] if text == SECONDARY  # 0, or 5 and up
                          else [[0, top]])
                x[k] = model.new_int_var_from_domain(cp_model.Domain.from_intervals(domain),
                                                 f"x{len(x)}")
            return x[k]

        for i in indices:
            total, parts = relations[i]
            model.add(sum(var(k) for k in parts) == var(total))
        checks: dict[K, cp_model.IntVar] = {}
        for k in list(x):
            if hidden.get(k) == PRIMARY and root(k) == first:
                checks[k] = model.new_bool_var(f"b{len(checks)}")
                model.add(x[k] != cells[k]).only_enforce_if(checks[k])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = 10.0
        for k, differs in checks.items():
            model.clear_assumptions()
            model.add_assumptions([differs])
            if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                pinned.add(k)  # no other value fits (or no answer in time: hide more)
    return pinned


def _cheapest(keys: list[K], cells: Mapping[K, int]) -> K:
    """The smallest non-zero figure (the first one on a tie), else the first zero."""
    nonzero = [k for k in keys if cells[k] > 0]
    return min(nonzero, key=lambda k: cells[k]) if nonzero else keys[0]
