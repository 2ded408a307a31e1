"""Request and response models. Personal data can only leak if a model here names it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator

from allocator.limits import control_message, first_control
from allocator.store.limits import column_length
from allocator.store.models import Round
from api.policy_schema import RoundPolicyIn

ROUND_NAME_LENGTH = column_length(Round.name) or 200
# An id of the registry (household, lot, point): printable, no spaces at the ends.
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
# A pickup deadline ends at the midnight after its day, which the calendar's last day does
# not have; the store refuses any day beyond a year with a sentence anyway.
PickupDay = Annotated[dt.date, Field(le=dt.date(9999, 12, 30))]


class RoundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=ROUND_NAME_LENGTH)
    policy: RoundPolicyIn = Field(default_factory=RoundPolicyIn)

    @field_validator("name")
    @classmethod
    def _no_control_characters(cls, name: str) -> str:
        # NUL is refused by PostgreSQL and would cut the name on SQLite; line breaks
        # and tabs have no place in a one-line name either.
        if first_control(name) >= 0:
            raise ValueError(control_message(name))
        return name


class RoundPublic(BaseModel):
    id: int
    name: str
    status: str
    inputs_hash: str
    seed: int
    summary: dict[str, Any] | None
    progress: str = ""
    error: str = ""
    pickup_deadline: dt.date | None = None  # the last day households may collect
    replaces: int | None = None  # a re-plan: the round it would supersede
    superseded_by: int | None = None
    ledger: dict[str, Any] | None = None  # what the campaign ledger froze into the round


class AllocationPublic(BaseModel):
    household_id: str
    lot_id: str
    sponsor_id: str
    point_id: str
    commune_code: str
    priority_weight: int
    public_cost_vnd: int
    copay_vnd: int
    distance_km: float


class UnservedPublic(BaseModel):
    household_id: str
    reason: str
    detail: str


T = TypeVar("T")


class Page(BaseModel, Generic[T]):  # noqa: UP046 (Python 3.11)
    total: int
    offset: int
    limit: int
    items: list[T]


class SponsorLot(BaseModel):
    lot_id: str
    model: str
    network: str
    quantity: int
    unit_price_vnd: int
    sponsor_subsidy_vnd: int


class DistributionRow(BaseModel):
    """A sponsor's devices in one commune (group 'all') or one household group (commune
    'all'); small counts as '<5', and '*' for one hidden so that none can be worked out."""

    commune_code: str
    group: str
    devices: str


class HandoverRecord(BaseModel):
    household_ids: list[str] = Field(min_length=1, max_length=10_000)

    @field_validator("household_ids")
    @classmethod
    def _no_control_characters(cls, ids: list[str]) -> list[str]:
        # An id never holds one, and PostgreSQL refuses NUL outright (a 500, not a 422).
        for household_id in ids:
            if first_control(household_id) >= 0:
                raise ValueError(control_message(household_id))
        return ids


class SponsorLotUse(BaseModel):
    """One of a sponsor's lots in a round: devices allocated, handed over, still pending.

    Counts are text: small ones are '<5', and '*' hides one that would let a
    small count be worked out by subtraction.
    """

    lot_id: str
    model: str
    quantity: int
    allocated: str
    handed_over: str
    pending: str


class Strict(BaseModel):
    """A request body: a field the server does not know is refused, never ignored."""

    model_config = ConfigDict(extra="forbid")


class Approval(Strict):
    """When households must have collected their phones: a day, or a number of days from
    today (default: the campaign's pickup period)."""

    pickup_deadline: PickupDay | None = None
    # Strict: true is not one day, nor "3" or 3.0 a number of days.
    pickup_days: int | None = Field(default=None, ge=0, le=365, strict=True)


class Closing(Strict):
    force: bool = Field(default=False, description="close before the pickup deadline")


class Deadline(Strict):
    pickup_deadline: PickupDay


class Replan(Strict):
    close_points: list[Id] = Field(default_factory=list, max_length=10_000)
    lot_quantities: dict[Id, StrictInt] = Field(default_factory=dict, max_length=10_000)
    withdraw: list[Id] = Field(default_factory=list, max_length=100_000)
    budget_vnd: int | None = Field(default=None, ge=0, le=10**15, strict=True)
    name: str | None = Field(default=None, max_length=ROUND_NAME_LENGTH)

    @field_validator("lot_quantities")
    @classmethod
    def _quantities(cls, quantities: dict[str, int]) -> dict[str, int]:
        for lot, number in quantities.items():
            if not 0 <= number <= 10_000_000:
                raise ValueError(f"{lot}: a quantity from 0 to 10,000,000")
        return quantities

    @field_validator("name")
    @classmethod
    def _name(cls, name: str | None) -> str | None:
        if name is not None and first_control(name) >= 0:
            raise ValueError(control_message(name))
        return name


class CampaignBudget(Strict):
    budget_vnd: int | None = Field(ge=0, le=10**15, strict=True,
                                   description="null: no campaign budget")


class CampaignSettings(Strict):
    no_show_limit: int | None = Field(default=None, ge=1, le=100, strict=True)
    pickup_days: int | None = Field(default=None, ge=0, le=365, strict=True)


class Devices(Strict):
    devices: int = Field(ge=1, le=10_000_000, strict=True)  # true is not one device


class ReplanChange(BaseModel):
    household_id: str
    change: str
    point_before: str
    lot_before: str
    point_after: str
    lot_after: str
    reason: str
    detail: str


class ReplanDiff(BaseModel):
    round_id: int
    replaces: int
    handed_over_fixed: int
    counts: dict[str, int]
    total: int
    offset: int
    limit: int
    households: list[ReplanChange]
