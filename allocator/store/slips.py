"""The pickup slips of a round open for pickup, read from the store: one per allocation.

Names, devices and places come from the round's frozen inputs, as the handover
list's do, so a slip printed twice says the same thing even if the registry
changed in between. Codes and windows come from the allocations themselves.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocator.slips import Slip
from allocator.store.lifecycle import PICKING_UP, RoundError, require
from allocator.store.models import AllocationRow, Round
from allocator.store.rounds import unpack_inputs
from allocator.validate import Scenario, read_scenario

WHAT = "given pickup slips"


class UnknownPoint(RoundError):
    """The round has no allocation at this point."""

    def __init__(self, round_id: int, point_id: str) -> None:
        super().__init__(round_id, point_id)
        self.round_id, self.point_id = round_id, point_id

    def __str__(self) -> str:
        return f"round {self.round_id} has no household to serve at point {self.point_id!r}"


@dataclass(frozen=True)
class SlipPoint:
    """A point of the round and how many slips it has."""

    id: str
    name: str
    slips: int


def slip_round(session: Session, round_id: int) -> Round:
    """The round, if it is open for pickup (approved or pickup over); or raise a RoundError."""
    return require(session, round_id, PICKING_UP, WHAT)


def point_slips(session: Session, round_id: int, point_id: str | None,
                allowed: Collection[str] | None = None) -> tuple[list[SlipPoint], list[Slip]]:
    """The points a reader may choose (those `allowed`, if given) and the slips of one point:
    `point_id`, or the first of them; with one reading of the round's inputs."""
    row = slip_round(session, round_id)
    scenario = _scenario(row)
    points = _points(session, round_id, scenario, allowed)
    chosen = point_id if point_id is not None else (points[0].id if points else None)
    if chosen is None:
        return points, []
    return points, _slips(session, round_id, scenario, chosen)


def round_slips(session: Session, round_id: int, point_id: str | None = None) -> list[Slip]:
    """Every slip of the round, or of one point."""
    row = slip_round(session, round_id)
    return _slips(session, round_id, _scenario(row), point_id)


def _points(session: Session, round_id: int, scenario: Scenario,
            allowed: Collection[str] | None) -> list[SlipPoint]:
    counts = session.execute(
        select(AllocationRow.point_id, func.count())
        .where(AllocationRow.round_id == round_id)
        .group_by(AllocationRow.point_id).order_by(AllocationRow.point_id)).all()
    names = _point_names(scenario)
    return [SlipPoint(str(p), names.get(str(p), ""), int(n)) for p, n in counts
            if allowed is None or p in allowed]


def _slips(session: Session, round_id: int, scenario: Scenario,
           point_id: str | None) -> list[Slip]:
    """Ordered by point, then commune, window and household, so that a commune office
    hands its households their slips in one pass and a point sees its days in order."""
    query = select(AllocationRow).where(AllocationRow.round_id == round_id)
    if point_id is not None:
        query = query.where(AllocationRow.point_id == point_id)
    allocations = list(session.scalars(query))
    if point_id is not None and not allocations:
        raise UnknownPoint(round_id, point_id)
    people = scenario.households.set_index("household_id")["head_name"].to_dict()
    models = scenario.lots.set_index("lot_id")["model"].to_dict()
    communes = _commune_names(scenario)
    names = _point_names(scenario)
    point_communes = scenario.points.set_index("point_id")["commune_code"].to_dict()
    slips = [Slip(household_id=a.household_id, head_name=str(people.get(a.household_id, "")),
                  commune=communes.get(a.commune_code, "") or f"xã/phường {a.commune_code}",
                  point_id=a.point_id, point_name=names.get(a.point_id, "") or a.point_id,
                  point_place=communes.get(str(point_communes.get(a.point_id, "")), ""),
                  model=str(models.get(a.lot_id, "")), code=a.pickup_code, day=a.window_day,
                  opens=a.window_start, closes=a.window_end)
             for a in allocations]
    by_commune = {a.household_id: a.commune_code for a in allocations}
    return sorted(slips, key=lambda s: (s.point_id, by_commune[s.household_id],
                                        s.day is None, s.day or 0, s.opens is None,
                                        s.opens or 0, s.household_id))


def _scenario(row: Round) -> Scenario:
    with tempfile.TemporaryDirectory() as tmp:
        return read_scenario(unpack_inputs(row, Path(tmp)))


def _point_names(scenario: Scenario) -> dict[str, str]:
    return {str(k): str(v) for k, v in
            scenario.points.set_index("point_id")["name"].to_dict().items()}


def _commune_names(scenario: Scenario) -> dict[str, str]:
    return {str(k): str(v) for k, v in
            scenario.communes.set_index("commune_code")["name"].to_dict().items()}
