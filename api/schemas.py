"""Request and response models. Personal data can only leak if a model here names it."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, field_validator

from allocator.limits import control_message, first_control
from allocator.store.limits import column_length
from allocator.store.models import Round

ROUND_NAME_LENGTH = column_length(Round.name) or 200


class RoundCreate(BaseModel):
    name: str = Field(default="", max_length=ROUND_NAME_LENGTH)
    policy: dict[str, Any] = Field(default_factory=dict)

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
