"""Stage 3, the least total distance, proven at any size by pricing the points' capacity.

Stage 3 chooses who is served (keeping stages 0-2 at their optima) and where. Its
hard part is small: which households of equal weight and cost are served (the lot
side, with the weight and cost rows) interacts with where they go only through the
points' capacities. Price each point's capacity at rho_p >= 0 and drop those rows:
every household then goes to its cheapest point, min_p km + rho_p, and what is left
is an integer model of the lot side alone (the *sub-problem*). For any rho,

    L(rho) = sub-problem optimum - sum_p rho_p * capacity_p

is a lower bound on the distance optimum (the sub-problem's proven bound is used, so
L stays a bound even if its solve is stopped). Routing the sub-problem's households
exactly (a min-cost flow within capacity) gives an allocation, hence an upper bound U.
The next prices are the routing's own capacity prices (potentials.py), the least of
them: what one more place at each point would save. (The most, what one place less
would cost, overprice full points: the sub-problem then avoids their households and
the rounds close slower, or not at all; demo needs three rounds with them, two with
the least.) When the sub-problem's choice is the routed one, L = U and the optimum is
proven, whichever exact prices were used. Reduced-cost
fixing (fixing.py) first settles most households, so the sub-problem is small.

Where capacity is tight, one price vector at a time may not close the gap: the
sub-problem keeps choosing households the points cannot hold. Then every price seen
becomes a cut of a master model over the free sites (Benders' decomposition: the
distance of any choice is at least sum_s c_s(rho) take_s - rho . capacity, and a set
of homes whose points cannot hold them all gives sum take <= their points' room).
The master's optimum is a bound; routing its choice gives an allocation and a new
cut. Since the routing is exact for a given choice, this ends at the optimum.

A sub-problem too large for its MIP (national's) goes straight to the linear
relaxation of the whole stage on the points that bind (binding_points.py), from the
routing of the start: its prices prove a bound, and its optimum, rounded, is routed.
Then that relaxation's MIP, on the columns that an allocation shorter than the best
could move by the LP's prices, bounds the stage and routes its optimum. On national
(its stage-3 inputs, alone on the machine) the LPs take about 8 s on GLOP (about 4 s
for the first, about 1 s for each after it, from the last one's basis), the LP finds
1,375,319.41 km and proves 1,375,319.21, and the MIP proves 1,375,319.41 in about 3 s:
stage 3 proven in about 19 s.

Price rounds first, each settling such a sub-problem by its own linear relaxation,
only delay that proof: on national's stage-3 inputs, alone on the machine, stage 3
was proven in 31.9 s after none, 36.6 s after one, 47.5 s after three and 59.1 s after
six, the same optimum each time.

The distance counts as proven when U - L is within 1 metre in total, or 1e-9 of U.
Stage K2 (households kept at their point) is a row on the point side: it is dropped
from the bound, which stays valid, and every routing keeps it.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, replace

import numpy as np

from allocator.aggregate import Units
from allocator.binding_points import Arcs, closed_stage, relaxed_stage
from allocator.disaggregate import served_households
from allocator.fixing import Fixed, SiteBounds, fixed_by_cost, site_bounds
from allocator.lot_side import Lots, LotSide, class_lots, lot_side
from allocator.lp_rounding import priced_bound
from allocator.milp import Milp, MilpResult, SolveStatus, solve_lp
from allocator.model import KEEP_POINT, AllocationModel
from allocator.potentials import room_prices
from allocator.problem import Problem
from allocator.routing import Router, crowded_places

TOLERANCE_KM = 0.001     # 1 metre in total
RELATIVE_TOLERANCE = 1e-9
PRICE_ROUNDS = 6   # single-price rounds before the cuts take over
MAX_ROUNDS = 30
# Cuts close fast where few points are full; where most are, they crawl, and the
# allocation found stands with its bound rather than spend the whole time limit.
CUT_SHARE = 0.25
FALLBACK_NODES = 200
# Up to this many site model columns (sites and their point pairs) the exact site
# model takes a fraction of a second, less than one priced round where capacity is
# tight (random-8k: 0.15 s against 2.5 s for one sub-problem's root), so where the
# caller has it (`cuts` off) it decides at once.
SITE_MODEL_FIRST_COLUMNS = 20_000
# From this many columns on (national's sub-problem has 842,647), the sub-problem's MIP
# gains nothing in the time a round has: HiGHS spends 18 s in its root LP, returns
# its start, and one round of root cuts can run 200 s past the time limit. Such a
# sub-problem goes to the relaxation on the binding points, with no price round.
RELAXED_MIN_COLUMNS = 300_000
# The pool the relaxation's LP starts from: per key, sites for this many times the
# households the start serves there, and this many more.
POOL_SHARE, POOL_EXTRA = 3, 10


def tolerance(value: float) -> float:
    """How close the bound must come to the value for the distance to count as proven."""
    return max(TOLERANCE_KM, RELATIVE_TOLERANCE * abs(value))


@dataclass
class Distance:
    """The best allocation found for stage 3 and what is proven about it."""

    # Households served per site, handovers per (place, point) pair of the sites and
    # devices per lot route; None if no allocation could be routed home by home.
    found: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    value: float              # km
    bound: float              # km, a proven lower bound
    proven: bool
    seconds: float
    variables: int
    rows: int


def least_distance(problem: Problem, classes: Units, model: AllocationModel, sites: Units,
                   optimum: dict[int, float], class_x: np.ndarray, rank: np.ndarray,
                   deadline: float, cuts: bool = True, narrow: bool = False) -> Distance:
    """The least distance over allocations keeping stages 0-2 at `optimum` (stage -> value),
    with its proof, or the best found by `deadline` with a proven bound.

    `class_x` is an optimum of stages 0-2 in the class model's columns: the start.
    Without `cuts`, only the single-price rounds run (the caller has a faster way to
    finish what they leave open), and none at all on a round whose site model has at
    most SITE_MODEL_FIRST_COLUMNS columns: nothing is found, and the site model decides.

    With `narrow`, the (place, point) pairs of `sites` that the fixing closes leave
    `sites` itself: its pairs become the open ones, which the search works on and
    `found`'s handovers follow. A caller that needs every pair afterwards (the site
    model) leaves it off; a large round would otherwise hold the pairs twice (national:
    6.4 million, 196 MB).
    """
    started = time.perf_counter()
    if not cuts and len(sites) + len(sites.pp_place) <= SITE_MODEL_FIRST_COLUMNS:
        return Distance(None, float("inf"), float("-inf"), False, 0.0, 0, 0)
    fixed = fixed_by_cost(model, problem, classes, optimum[2], deadline - time.perf_counter())
    search = _Search(problem, model, sites, site_bounds(model, classes, sites, fixed), fixed,
                     optimum, narrow)
    served = served_households(classes, np.rint(class_x[model.take]).astype(np.int64), rank)
    take = np.bincount(sites.hh_unit[served], minlength=len(sites))
    search.offer(take, class_lots(model, class_x))
    priced = search.side(by_key=True)
    hint = priced.start(class_lots(model, class_x), take)  # the best choice so far
    price = search.prices(search.best[1]) if search.best is not None \
        else np.zeros(len(problem.point_id))
    rounds = 0
    tried: list[np.ndarray] = []
    # The best bound a round's MIP claimed (HiGHS without presolve), unproven: (bound,
    # its site costs, its result), None before any.
    claimed: tuple[float, np.ndarray, MilpResult] | None = None
    relaxed = cuts and priced.milp.n_vars >= RELAXED_MIN_COLUMNS
    if relaxed:
        # Too large for the sub-problem's MIP: straight to the relaxation on the binding
        # points, which knows the room of the start's homes if they did not fit.
        for homes in search.crowded:
            search.room_cut(priced, homes)
        if not search.proven and time.perf_counter() < deadline:
            search.relaxation(priced, hint, deadline)
    while not relaxed and rounds < PRICE_ROUNDS and not search.proven \
            and time.perf_counter() < deadline:
        rounds += 1
        tried.append(price)
        cost = search.site_cost(price)
        priced.milp.set_objective(_on_sites(priced, cost), False)
        # With the exact model per home to fall back on, a sub-problem that branches
        # long (a knapsack on the weight and cost rows) is not worth waiting for.
        result = priced.milp.solve(max(deadline - time.perf_counter(), 0.05),
                                   TOLERANCE_KM / 10, 0, hint, presolve=False,
                                   node_limit=None if cuts else FALLBACK_NODES,
                                   feasibility_jump=False)
        if result.status is SolveStatus.NO_SOLUTION and result.out_of_time:
            # Stopped before it answered (solver_process.py): its start is still a
            # choice of this sub-problem, worth routing with the sites chosen at
            # these prices.
            result = replace(result, status=SolveStatus.FEASIBLE, values=hint)
        if result.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
            break
        stuck = result.status is not SolveStatus.OPTIMAL and not cuts
        hint = result.values
        bound = result.bound + search.constant(cost, price)
        take = search.bounds.forced.copy()
        take[priced.free] = priced.site_takes(result.values, cost[priced.free])
        flow = search.offer(take, priced.lots(result.values))
        if search.upper - bound <= tolerance(search.upper) < search.upper - search.lower:
            # The MIP's bound, from HiGHS without presolve, would end the search: it is
            # proven again (by the LP's prices, else with presolve), and that bound is
            # used (see cut_rounds for what HiGHS without presolve has claimed).
            constant = search.constant(cost, price)
            enough = search.upper - tolerance(search.upper) - constant
            bound = constant + _checked_bound(priced.milp, enough, deadline,
                                              None if cuts else FALLBACK_NODES)
            search.bounded(bound)
        elif cuts and (claimed is None or bound > claimed[0]):
            claimed = (bound, cost, result)  # proven, if need be, once the rounds end
        new = search.prices(flow) if flow is not None else price
        if stuck or any(np.array_equal(new, seen) for seen in tried):
            # Prices tried already would choose the same again (the cuts take over), or
            # the sub-problem branches past its node limit: the rounds after it would too.
            break
        price = new
    if cuts and not search.proven and time.perf_counter() < deadline:
        now = time.perf_counter()
        rounds += search.cut_rounds(now + CUT_SHARE * (deadline - now), MAX_ROUNDS - rounds)
    if claimed is not None and not search.proven and claimed[0] > search.lower \
            and time.perf_counter() < deadline:
        best, best_cost, best_result = claimed
        # An unproven round reports its bound: the best a round's MIP claimed is proven
        # again first (HiGHS without presolve has claimed bounds above a master's
        # optimum, see cut_rounds), once, for the best claim only.
        priced.milp.set_objective(_on_sites(priced, best_cost), False)
        constant = best - best_result.bound
        search.bounded(constant + _checked_bound(priced.milp, best - constant, deadline, None))
    return search.result(time.perf_counter() - started)


def _site_pool(side: LotSide, start: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Where an LP over `side` starts (column_pool.py): every column but the sites, and
    per key the sites cheapest at `cost` for POOL_SHARE times the households `start` (a
    solution of `side`) serves there, and POOL_EXTRA more."""
    pool = np.ones(side.milp.n_vars, bool)
    pool[side.take] = False
    chosen = np.rint(start[side.model.take]).astype(np.int64)
    pool[side.take] |= side.shared(POOL_SHARE * chosen + POOL_EXTRA, cost[side.free]) > 0
    return pool


def _checked_bound(milp: Milp, enough: float, deadline: float,
                   node_limit: int | None) -> float:
    """The bound of `milp` (objective set) proven again: by the prices of its linear
    relaxation (computed here, lp_rounding.priced_bound) if they prove `enough`, else by
    HiGHS with its presolve; -inf if neither proves one in time."""
    lp = solve_lp(milp, max(deadline - time.perf_counter(), 0.05), presolve=False)
    if lp.status is SolveStatus.OPTIMAL:
        bound = priced_bound(milp, lp)[0]
        if bound >= enough:
            return bound
    # (No hint: given one, HiGHS has called it optimal where it was not; see cut_rounds.)
    checked = milp.solve(max(deadline - time.perf_counter(), 0.05), TOLERANCE_KM / 10, 0,
                         None, node_limit=node_limit, feasibility_jump=False)
    if checked.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        return float("-inf")
    return checked.bound


def _on_sites(side: LotSide, cost: np.ndarray) -> np.ndarray:
    """An objective with `cost` per household of each free site (0 for closed sites,
    whose column is held at 0)."""
    objective = np.zeros(side.milp.n_vars)
    objective[side.take] = np.where(np.isfinite(cost[side.free]), cost[side.free], 0.0)
    return objective


class _Search:
    """The best routed allocation, the best bound, and the prices and crowded homes seen."""

    def __init__(self, problem: Problem, model: AllocationModel, sites: Units,
                 bounds: SiteBounds, fixed: Fixed, optimum: dict[int, float],
                 narrow: bool = False) -> None:
        self.problem, self.model, self.sites, self.bounds = problem, model, sites, bounds
        self.fixed, self.optimum = fixed, optimum
        # The open arcs: the sites' pairs as they are where all are open, else a copy of
        # those open, which become the sites' own pairs with `narrow` (least_distance).
        arcs: np.ndarray | None = None
        self.place, self.point, self.km = sites.pp_place, sites.pp_point, sites.pp_km
        if not bounds.arc_open.all():
            arcs = np.flatnonzero(bounds.arc_open)
            self.place, self.point = sites.pp_place[arcs], sites.pp_point[arcs]
            self.km = sites.pp_km[arcs]
            if narrow:
                sites.pp_place, sites.pp_point, sites.pp_km = self.place, self.point, self.km
                bounds.arc_open = np.ones(len(arcs), bool)
                arcs = None
        self.arcs = arcs  # the sites' pair of each arc (None: the same)
        self.kept = sites.place_keep_point[self.place] == self.point \
            if KEEP_POINT in optimum else np.zeros(len(self.place), bool)
        self.capacity = problem.point_capacity
        self.router = Router(self.place, self.point, self.km, self.capacity, self.kept,
                             sites.n_places)
        self.upper, self.lower = float("inf"), float("-inf")
        self.best: tuple[np.ndarray, np.ndarray, Lots] | None = None
        self.seen: list[np.ndarray] = []     # prices of every routing
        self.crowded: list[np.ndarray] = []  # homes (places) that did not fit together
        self.variables = self.rows = 0
        self.priced: tuple[np.ndarray, np.ndarray] | None = None
        # Digest of every choice routed -> its flow, kept for the last choice and the best
        # only (one flow is 51 MB at national), None for the others.
        self.routed: dict[bytes, np.ndarray | None] = {}
        self.best_digest = b""

    @property
    def proven(self) -> bool:
        """Whether the best routed allocation is within tolerance of the bound (never
        before one is routed)."""
        return math.isfinite(self.upper) and self.upper - self.lower <= tolerance(self.upper)

    def side(self, by_key: bool) -> LotSide:
        side = lot_side(self.problem, self.model, self.sites, self.bounds, self.fixed,
                        self.optimum, by_key)
        reached = np.bincount(self.place, minlength=self.sites.n_places) > 0
        side.close(~reached[self.sites.place[side.free]])
        self.variables, self.rows = side.milp.n_vars, side.milp.n_rows
        return side

    def site_cost(self, price: np.ndarray) -> np.ndarray:
        """Per site, its cheapest point at these prices (inf where none is open)."""
        cheapest = np.full(self.sites.n_places, np.inf)
        np.minimum.at(cheapest, self.place, self.km + price[self.point])
        return cheapest[self.sites.place]

    def constant(self, cost: np.ndarray, price: np.ndarray) -> float:
        """The part of L(price) that the households served for certain and the room add."""
        forced = self.bounds.forced
        return float(forced[forced > 0] @ cost[forced > 0]) - float(price @ self.capacity)

    def bounded(self, bound: float) -> None:
        self.lower = max(self.lower, bound)

    def prices(self, flow: np.ndarray) -> np.ndarray:
        """The capacity prices of a routing (of the last one priced, kept for the next round)."""
        if self.priced is not None and self.priced[0] is flow:
            return self.priced[1]
        price = room_prices(self.place, self.point, self.km, flow, self.capacity)
        self.priced = (flow, price)
        return price

    def offer(self, take: np.ndarray, lots: Lots) -> np.ndarray | None:
        """Route a choice of households home by home; keep it if it is the best so far.
        Its prices (or, if it does not fit, the homes that crowd) become cuts. Returns its
        flow, or None if it does not fit (or was routed before, neither last nor best:
        its prices or crowded homes are in already)."""
        digest = hashlib.blake2b(take.tobytes(), digest_size=16).digest()
        if digest in self.routed:
            return self.routed[digest]
        supply = np.bincount(self.sites.place, weights=take,
                             minlength=self.sites.n_places).astype(np.int64)
        flow = self._routed(take, supply)
        if flow is not None:
            self.seen.append(self.prices(flow))
            distance = float(flow @ self.km)
            if distance < self.upper:
                self.upper, self.best, self.best_digest = distance, (take, flow, lots), digest
        for seen in self.routed:
            if seen != self.best_digest:
                self.routed[seen] = None
        self.routed[digest] = flow
        return flow

    def _routed(self, take: np.ndarray, supply: np.ndarray) -> np.ndarray | None:
        flow = self.router.route(supply)
        kept = self.optimum.get(KEEP_POINT)
        if flow is not None and kept is not None and int(flow[self.kept].sum()) < kept - 0.5:
            return None  # fits, but not with stage K2's households at their points
        if flow is None:
            crowded = crowded_places(self.place, self.point, supply, self.capacity)
            if crowded is not None:
                self.crowded.append(crowded)
        return flow

    def cut_rounds(self, deadline: float, rounds: int) -> int:
        """Benders' rounds: a master over the free sites with every price and crowded set
        as a cut; its bound is proven, its choice is routed and adds a cut. Rounds run."""
        master = self.side(by_key=False)
        eta = int(master.milp.add_vars(0.0, np.inf, 1, integer=False)[0])
        objective = np.zeros(master.milp.n_vars)
        objective[eta] = 1.0
        master.milp.set_objective(objective, False)
        added = [0, 0]
        done = 0
        while done < rounds and not self.proven and time.perf_counter() < deadline:
            for price in self.seen[added[0]:]:
                cost = self.site_cost(price)
                cost[~np.isfinite(cost)] = 0.0  # closed sites
                master.milp.add_row(np.r_[eta, master.take], np.r_[1.0, -cost[master.free]],
                                    self.constant(cost, price), np.inf)
            for crowded in self.crowded[added[1]:]:
                self.room_cut(master, crowded)
            added = [len(self.seen), len(self.crowded)]
            done += 1
            # Its bound counts, so HiGHS solves it as it claims least: with its presolve
            # and without a hint. Without presolve it once called a master infeasible;
            # given the best allocation as a hint, with presolve or without, it has
            # called the hint optimal where a point 178 km below it met every row (a
            # 3,000-household round, its second cut round; test_fixing.py), and called
            # points 0.25 km and 1.2 km above a master's optimum optimal (tight
            # 300-household rounds, test_distance.py: bounds above the stage's optimum).
            result = master.milp.solve(max(deadline - time.perf_counter(), 0.05),
                                       TOLERANCE_KM / 10, 0, None, feasibility_jump=False)
            if result.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
                break
            self.bounded(result.bound)
            take = self.bounds.forced.copy()
            take[master.free] = master.site_takes(result.values, np.zeros(len(master.free)))
            before = (len(self.seen), len(self.crowded))
            self.offer(take, master.lots(result.values))
            if (len(self.seen), len(self.crowded)) == before:
                break  # nothing new to cut with (stage K2 could not be kept)
        self.variables, self.rows = master.milp.n_vars, master.milp.n_rows
        return done

    def relaxation(self, side: LotSide, fallback: np.ndarray, deadline: float) -> None:
        """Stage 3's LP with the capacity of the points that bind (binding_points.py),
        from the best allocation (else `fallback`, a solution of `side`): its bound, and
        its optimum rounded and routed."""
        forced = np.bincount(self.sites.place, weights=self.bounds.forced,
                             minlength=self.sites.n_places)
        binding = np.zeros(len(self.capacity), bool)
        start = self.start_of(side, fallback)
        if self.best is not None:
            load = np.bincount(self.point, weights=self.best[1], minlength=len(binding))
            binding = (load >= self.capacity) | (self.prices(self.best[1]) > 0)
        # Every column but the sites, and the sites nearest their homes' points for the
        # households the start serves (what pricing would bring in first).
        pool = _site_pool(side, start, self.site_cost(np.zeros(len(binding))))
        arcs = Arcs(self.place, self.point, self.km, self.capacity, self.sites.n_places)
        relaxed = relaxed_stage(side, self.sites.place[side.free], forced, arcs, binding,
                                pool, start, deadline, TOLERANCE_KM / 10)
        self.bounded(relaxed.bound)
        if relaxed.values is not None:
            self.offer_whole(side, relaxed.values)
        if self.proven or self.best is None or time.perf_counter() >= deadline:
            return
        closed = closed_stage(relaxed, side, self.upper, TOLERANCE_KM / 10, deadline)
        self.bounded(closed.bound)
        if closed.values is not None and closed is not relaxed:
            self.offer_whole(side, closed.values)

    def offer_whole(self, side: LotSide, values: np.ndarray) -> None:
        """Route a whole solution of `side` (its sites as chosen)."""
        take = self.bounds.forced.copy()
        take[side.free] = np.rint(values[side.take]).astype(np.int64)
        self.offer(take, side.lots(values))

    def start_of(self, side: LotSide, fallback: np.ndarray) -> np.ndarray:
        """The best allocation routed so far in the columns of `side` (it meets every
        cut, fitting its points), else `fallback`."""
        if self.best is None:
            return fallback
        return side.start(self.best[2], self.best[0])

    def room_cut(self, master: LotSide, crowded: np.ndarray) -> None:
        """Homes `crowded` take no more households than the points they reach hold."""
        reached = np.unique(self.point[crowded[self.place]])
        room = float(self.capacity[reached].sum())
        inside = crowded[self.sites.place]
        room -= float(self.bounds.forced[inside].sum())
        cols = master.take[inside[master.free]]
        master.milp.add_row(cols, 1.0, -np.inf, room)

    def result(self, seconds: float) -> Distance:
        found = None
        if self.best is not None:
            send = self.best[1]
            if self.arcs is not None:
                send = np.zeros(len(self.sites.pp_place), np.int64)
                send[self.arcs] = self.best[1]
            found = (self.best[0], send, self.best[2].give)
        return Distance(found, self.upper, self.lower, self.proven, seconds,
                        self.variables, self.rows)
