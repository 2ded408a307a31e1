"""Small-count suppression for figures shown to sponsors.

A count from 1 to 4 could single a household out, so it is shown only as "<5"
(primary suppression). A reader who also sees totals can work hidden counts out:
by subtraction (one hidden cell in a sum), or by counting (a total of 3 over
three "<5" cells means 1 each). So more cells are hidden as "*" (complementary
suppression) until an audit finds no "<5" cell whose value the published
figures pin down: every sum keeps either no hidden cell or at least two, and an
exact search over every table consistent with what is shown and with what the
reader knows besides (`Facts`: a "<5" is 1 to 4, a "*" is 0 or at least 5, a
listed cell is not 0, a lot gives no more than its quantity, ...) finds at least
two possible values for each "<5". Where everything around such a count is
hidden already (a sponsor with very few devices), it is not published at all
("–").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

SMALL = 5  # counts 1..SMALL-1 are hidden as PRIMARY
PRIMARY = "<5"  # shown for a hidden small count
SECONDARY = "*"  # shown for a count hidden only so that a small one cannot be worked out
WITHHELD = "–"  # not published: so few figures that hiding cannot protect this one
HIDDEN = (PRIMARY, SECONDARY, WITHHELD)


@dataclass(frozen=True)
class Facts(Generic[K]):
    """What a reader knows of the figures besides their texts and the sums between them.

    Every count is a whole number >= 0 without saying so here.
    nonzero: figures known to be at least 1 (a list that names only what is there:
    a hidden figure in it is 1 to 4, or at least 5, never 0).
    ceilings: figures known to be at most a published number (a lot's quantity).
    at_most: pairs (a, b) with a <= b known (households with a flag <= all households).
    """

    nonzero: frozenset[K] = frozenset()
    ceilings: Mapping[K, int] = field(default_factory=dict)
    at_most: tuple[tuple[K, K], ...] = ()

    def check(self, cells: Mapping[K, int]) -> None:
        """The true figures must satisfy what the reader is said to know."""
        for key in (*self.nonzero, *self.ceilings, *(k for pair in self.at_most for k in pair)):
            if key not in cells:
                raise ValueError(f"a fact names unknown key {key!r}")
        for key in self.nonzero:
            if cells[key] == 0:
                raise ValueError(f"{key!r} is said to be non-zero but is 0")
        for key, top in self.ceilings.items():
            if cells[key] > top:
                raise ValueError(f"{key!r} is {cells[key]}, over its ceiling {top}")
        for low, high in self.at_most:
            if cells[low] > cells[high]:
                raise ValueError(f"{low!r} is said to be at most {high!r} but is not")

    def domain(self, key: K, value: int, text: str | None, top: int) -> list[list[int]]:
        """The values a reader thinks `key` may take, as intervals, given its text."""
        low = 1 if key in self.nonzero else 0
        high = min(self.ceilings.get(key, top), top)
        if text is None:
            spans = [[value, value]]
        elif text == PRIMARY:
            spans = [[1, SMALL - 1]]
        elif text == SECONDARY:  # 0, or 5 and up
            spans = [[0, 0], [SMALL, top]]
        else:
            spans = [[0, top]]
        return [[max(a, low), min(b, high)] for a, b in spans
                if max(a, low) <= min(b, high)] or [[value, value]]


def suppress(cells: Mapping[K, int], sums: Iterable[tuple[K, Sequence[K]]],
             protect: Collection[K] = (), facts: Facts[K] | None = None,
             fixed: Mapping[K, str] | None = None) -> dict[K, str]:
    """Return key -> text to show, hiding small counts and what would reveal them.

    cells: every figure that will be shown (key -> exact non-negative count).
    sums: linear relations the viewer could use, each (total_key, part_keys) meaning
    cells[total_key] == sum(cells[k] for k in part_keys); all keys are in `cells`.
    protect: figures that matter most to the reader (e.g. devices allocated per lot):
    hidden as complements only when a relation has no other visible cell.
    facts: what else the reader knows of the figures (see `Facts`).
    fixed: texts already published for some figures that cannot change since (a
    round's allocations, shown before any handover): they are shown the same again,
    and more is hidden around them instead.
    """
    facts = facts or Facts()
    fixed = fixed or {}
    facts.check(cells)
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

    hidden = {k: PRIMARY for k, n in cells.items() if 0 < n < SMALL and k not in fixed}
    hidden |= {k: text for k, text in fixed.items() if k in cells and text in HIDDEN}
    top = sum(cells.values()) + SMALL
    for k in [k for k, text in hidden.items() if text == PRIMARY and k not in fixed]:
        if facts.domain(k, cells[k], PRIMARY, top) == [[cells[k], cells[k]]]:
            hidden[k] = WITHHELD  # what the reader knows pins it, whatever else is hidden

    def hide_in(i: int) -> K | None:
        """Hide one more visible cell of relation i, the least useful to the reader."""
        visible = [k for k in members[i] if k not in hidden and k not in fixed]
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
    order = list(dict.fromkeys([*(k for keys in members for k in keys), *cells]))
    while True:
        pinned = _pinned(cells, relations, hidden, facts)
        target = next((k for k in order if k in pinned), None)
        if target is None:
            break
        pick = widen(target)
        if pick is not None:
            settle(holding[pick])
        elif target not in fixed:  # everything around it is hidden already: say nothing of it
            hidden[target] = WITHHELD
        else:  # published before and unchangeable: say nothing of the figures beside it
            beside = _beside(target, members, holding, facts)
            quiet = [k for k in beside if k not in fixed and hidden.get(k) != WITHHELD] or \
                [k for k in cells if k not in fixed and hidden.get(k) != WITHHELD]
            if not quiet:
                raise AssertionError(f"{target!r} is pinned by figures published before")
            for k in quiet:
                hidden[k] = WITHHELD
    return {k: hidden.get(k, str(n)) for k, n in cells.items()}


def _beside(target: K, members: list[list[K]], holding: Mapping[K, list[int]],
            facts: Facts[K]) -> list[K]:
    """The figures that share a sum, or a known bound, with `target`."""
    keys = [k for i in holding.get(target, []) for k in members[i]]
    keys += [k for pair in facts.at_most if target in pair for k in pair]
    return [k for k in dict.fromkeys(keys) if k != target]


def _pinned(cells: Mapping[K, int], relations: list[tuple[K, list[K]]],
            hidden: Mapping[K, str], facts: Facts[K]) -> set[K]:
    """The "<5" cells that what is shown, and what the reader knows, pin to their value:
    an exact check (CP-SAT) over every table a reader could rebuild, one group of
    linked hidden cells at a time."""
    from ortools.sat.python import cp_model

    parent = {k: k for k in hidden}

    def root(k: K) -> K:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    links = [[total, *parts] for total, parts in relations] + [list(p) for p in facts.at_most]
    for keys in links:
        linked = [k for k in keys if k in hidden]
        for k in linked[1:]:
            parent[root(k)] = root(linked[0])
    groups: dict[K, list[int]] = {root(k): [] for k in hidden}
    for i, keys in enumerate(links):
        linked = [k for k in keys if k in hidden]
        if linked:
            groups[root(linked[0])].append(i)
    top = sum(cells.values()) + SMALL
    pinned: set[K] = set()
    for first, indices in groups.items():
        checked = [k for k in hidden if hidden[k] == PRIMARY and root(k) == first]
        if not checked:
            continue
        model = cp_model.CpModel()
        x: dict[K, cp_model.IntVar] = {}

        def var(k: K, model: cp_model.CpModel = model,
                x: dict[K, cp_model.IntVar] = x) -> cp_model.IntVar:
            if k not in x:
                domain = facts.domain(k, cells[k], hidden.get(k), top)
                x[k] = model.new_int_var_from_domain(cp_model.Domain.from_intervals(domain),
                                                     f"x{len(x)}")
            return x[k]

        for k in checked:
            var(k)
        for i in indices:
            if i < len(relations):
                total, parts = relations[i]
                model.add(sum(var(k) for k in parts) == var(total))
            else:
                low, high = links[i]
                model.add(var(low) <= var(high))
        checks: dict[K, cp_model.IntVar] = {}
        for k in checked:
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
