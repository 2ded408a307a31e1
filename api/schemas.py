"""Request and response models. Personal data can only leak if a model here names it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Generic, TypeVar

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)
from pydantic import Strict as StrictType

from allocator.limits import control_message, first_control
from allocator.store.limits import column_length
from allocator.store.models import Round
from api.fields import AS_WHOLE, ONE_LINE, clean
from api.policy_schema import RoundPolicyIn

ROUND_NAME_LENGTH = column_length(Round.name) or 200
# An id of the registry (household, lot, point): printable, no spaces at the ends.
Id = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                      pattern=r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]+$")]
# A pickup deadline ends at the midnight after its day, which the calendar's last day does
# not have; the store refuses any day beyond a year with a sentence anyway.
PickupDay = Annotated[dt.date, Field(le=dt.date(9999, 12, 30))]


def _iso_day(value: Any) -> Any:
    """A day as the document's `format: date` writes it, YYYY-MM-DD, and nothing else
    (pydantic alone would take a count of seconds, or a moment with its offset)."""
    if not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        raise ValueError("must be a day written YYYY-MM-DD")
    return value


Day = Annotated[PickupDay, BeforeValidator(_iso_day)]


# What `allocator.limits.CONTROL` refuses in typed text, as the document states it (the
# handlers' own check words the refusal for people).
PLAIN_TEXT = clean(ONE_LINE)


# Whole numbers as JSON Schema's "integer" means them: 3.0 is one, true and "3" are not.
# (The bounds sit before the validator, so that the document states them.)
Days = Annotated[int, StrictType(), Ge(0), Le(365), AS_WHOLE]
Quantity = Annotated[int, StrictType(), Ge(0), Le(10_000_000), AS_WHOLE]
Vnd = Annotated[int, StrictType(), Ge(0), Le(10**15), AS_WHOLE]


def _keys_as_names(schema: dict[str, Any]) -> None:
    """A dict keyed by ids: every key must match (propertyNames), not only those that do
    (patternProperties leaves the others free)."""
    for pattern, values in schema.pop("patternProperties", {}).items():
        schema.setdefault("propertyNames", {})["pattern"] = pattern
        schema["additionalProperties"] = values


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# A moment as the store keeps it (UTC, without an offset), answered with its offset ("Z"),
# as RFC 3339's date-time requires.
UtcDateTime = Annotated[dt.datetime, AfterValidator(_utc)]


class Strict(BaseModel):
    """A request body: a field the server does not know is refused, never ignored."""

    model_config = ConfigDict(extra="forbid")


class RoundCreate(BaseModel):
    """A new draft round from the registry: its name, and the policy keys that differ from
    the contract's defaults (the budget, if left out, is what the campaign has left)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Đợt 2 — tháng 12", "policy": {
            "budget_vnd": 3_500_000_000, "max_distance_km": 5,
            "eligible_statuses": ["poor", "near_poor"], "min_commune_share": 0.2}}]})

    name: str = Field(default="", max_length=ROUND_NAME_LENGTH,
                      json_schema_extra={"pattern": PLAIN_TEXT})
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
    replaces: int | None = None  # a re-plan or a variant: the round it would supersede
    superseded_by: int | None = None
    ledger: dict[str, Any] | None = None  # what the campaign ledger froze into the round

    model_config = ConfigDict(json_schema_serialization_defaults_required=True,
                              json_schema_extra={"examples": [
        {"id": 2, "name": "Đợt 2 — tháng 12", "status": "solving", "inputs_hash":
         "16b95e5700ddd20680eff6209b4d67f567a03f067919d4a50fdda57c447766ad", "seed": 8,
         "summary": None, "progress": "stage 2: public cost", "error": "",
         "pickup_deadline": None, "replaces": None, "superseded_by": None, "ledger": None},
        {"id": 1, "name": "Đợt 1", "status": "solved", "inputs_hash":
         "16b95e5700ddd20680eff6209b4d67f567a03f067919d4a50fdda57c447766ad", "seed": 8,
         "summary": {"status": "OPTIMAL", "method": "optimal", "served": 1076,
                     "eligible": 1781, "households": 2000, "budget_vnd": 312000000,
                     "budget_used_vnd": 311630000, "devices_left": 429,
                     "stage1": 94060, "stage2": 311630000, "stage3": 754.660208},
         "progress": "done", "error": "", "pickup_deadline": None, "replaces": None,
         "superseded_by": None, "ledger": None}]})


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

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"commune_code": "25813", "group": "all", "devices": "12"},
        {"commune_code": "25747", "group": "all", "devices": "<5"},
        {"commune_code": "all", "group": "near_poor", "devices": "31"}]})


class HandoverRecord(Strict):
    household_ids: list[Id] = Field(min_length=1, max_length=10_000)

    @field_validator("household_ids")
    @classmethod
    def _no_control_characters(cls, ids: list[str]) -> list[str]:
        # An id never holds one, and PostgreSQL refuses NUL outright (a 500, not a 422).
        for household_id in ids:
            if first_control(household_id) >= 0:
                raise ValueError(control_message(household_id))
        return ids


class HandoversRecorded(BaseModel):
    recorded: int = Field(description="Households named in the request (each once).")
    new: int = Field(description="Of them, handovers not recorded before.")


class Kpis(BaseModel):
    """A round's headline figures (shares from 0 to 1, rounded to 4 places)."""

    status: str
    eligible: int
    served: int
    coverage_poor: float | None
    coverage_near_poor: float | None
    budget_used_vnd: int
    budget_vnd: int
    devices_left: int | None

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"status": "OPTIMAL", "eligible": 1781, "served": 1076, "coverage_poor": 1.0,
         "coverage_near_poor": 0.5334, "budget_used_vnd": 311630000, "budget_vnd": 312000000,
         "devices_left": 429}]})


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


class Approval(Strict):
    """When households must have collected their phones: a day, or a number of days from
    today (default: the campaign's pickup period)."""

    pickup_deadline: Day | None = None
    # true is not one day, nor "3" a number of days.
    pickup_days: Days | None = None

    model_config = ConfigDict(json_schema_extra={
        "not": {"required": ["pickup_deadline", "pickup_days"],
                "properties": {"pickup_deadline": {"type": "string"},
                               "pickup_days": {"type": "integer"}}}})


class Closing(Strict):
    force: StrictBool = Field(default=False, description="close before the pickup deadline")


class Deadline(Strict):
    pickup_deadline: Day


class Replan(Strict):
    close_points: list[Id] = Field(default_factory=list, max_length=10_000)
    lot_quantities: dict[Id, Quantity] = Field(
        default_factory=dict, max_length=10_000, json_schema_extra=_keys_as_names)
    withdraw: list[Id] = Field(default_factory=list, max_length=100_000)
    budget_vnd: Vnd | None = None
    name: str | None = Field(default=None, max_length=ROUND_NAME_LENGTH,
                             json_schema_extra={"pattern": PLAIN_TEXT})

    @field_validator("name")
    @classmethod
    def _name(cls, name: str | None) -> str | None:
        if name is not None and first_control(name) >= 0:
            raise ValueError(control_message(name))
        return name


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
