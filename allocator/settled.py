"""What the proven keep stages of a re-plan leave no choice about, so stage 3 need not model it.

A re-plan usually keeps nearly everyone where they were told, and the keep stages
then settle most of the allocation before distance is considered:

- if stage K2 serves every servable kept household whose kept point is in reach at
  that point, each of them is there in every allocation that keeps K2: their homes
  need no other point;
- if stage K1 serves every servable kept household and stage 1 equals their total
  weight, any other household of positive weight would raise stage 1 above its
  optimum: none of them is served.

The distance model then only holds what is still open, which in a typical re-plan
is a small part of the round. Both rules follow from the stage optima alone, so
the distance optimum is the same as over the full model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.aggregate import Units
from allocator.check import pair_lookup
from allocator.model import KEEP_POINT, KEEP_SERVED
from allocator.problem import Problem


@dataclass
class Settled:
    unserved: np.ndarray    # per household: served in no allocation that keeps the stage optima
    at_kept_point: np.ndarray  # per home: its households are served at its kept point


def settled_by_keep(problem: Problem, classes: Units, optimum: dict[int, float]) -> Settled:
    """What the stage optima (stage -> proven value) settle; nothing without keep.csv."""
    unserved = np.zeros(len(problem.hh_id), bool)
    at_kept_point = np.zeros(len(problem.home_commune), bool)
    servable = classes.hh_unit[problem.keep_hh] >= 0
    kept = problem.keep_hh[servable]
    if not len(kept):
        return Settled(unserved, at_kept_point)
    in_reach = pair_lookup(problem.hp_home, problem.hp_point, problem.hh_home[kept],
                           problem.keep_point[servable]) >= 0
    if optimum.get(KEEP_POINT) == int(in_reach.sum()):
        # Homes are told apart by kept point, so all households of these homes are among them.
        at_kept_point[problem.hh_home[kept[in_reach]]] = True
    if optimum.get(KEEP_SERVED) == len(kept) and \
            optimum.get(1) == int(problem.hh_weight[kept].sum()):
        unserved = (classes.hh_unit >= 0) & (problem.hh_weight > 0)
        unserved[kept] = False
    return Settled(unserved, at_kept_point)
