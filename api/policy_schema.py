"""The round policy a request may send, as a typed model built from the engine's key list.

Every key, bound and default comes from `allocator.policy_fields`, the description
`parse_policy` checks with, so the schema in /openapi.json accepts exactly what
the engine accepts: numbers are strict (true and "3" are refused, as the engine
refuses them), whole numbers may be written 3.0, and NaN or infinity is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, create_model

from allocator.policy_fields import POLICY_FIELDS, PolicyField
from api.fields import AS_WHOLE

# Through the API a round's budget is by default what the campaign has left (see
# store.campaign.create_round), not the contract's 0, so the schema states no default.
_API_NOTES = {"budget_vnd": " Left out: what the campaign has left (0 if it has no budget); "
                            "more than that is refused."}
EXAMPLE: dict[str, Any] = {"budget_vnd": 150_000_000, "max_distance_km": 5,
                           "eligible_statuses": ["poor"], "copay_vnd": {"other": 500_000},
                           "seed": 1}


def _whole(spec: PolicyField) -> Any:
    low, high = spec.bounds()
    # Field before BeforeValidator: the bounds then reach the schema as minimum/maximum.
    return Annotated[int, Strict(), Field(ge=low, le=high), AS_WHOLE]


def _number(spec: PolicyField) -> Any:
    low, high = spec.bounds()
    floor = Field(gt=low) if spec.exclusive_minimum else Field(ge=low)
    return Annotated[float, Strict(), floor, Field(le=high, allow_inf_nan=False)]


def _table(spec: PolicyField) -> Any:
    default = spec.default
    title = "".join(part.title() for part in spec.name.split("_"))
    number = _whole(spec)
    return create_model(  # type: ignore[call-overload]
        title, __config__=ConfigDict(extra="forbid", title=title),
        __doc__=f"{spec.description} Keys: {', '.join(spec.keys)}.",
        **{key: (number, Field(default=default[key])) for key in spec.keys})


def _annotation(spec: PolicyField) -> Any:
    if spec.kind == "integer":
        return _whole(spec)
    if spec.kind == "number":
        return _number(spec)
    if spec.kind == "boolean":
        return Annotated[bool, Strict()]
    if spec.kind == "array":
        # Literal[("a", "b")] is Literal["a", "b"]: the items are known only at run time.
        return Annotated[list[Literal[spec.items]], Strict()]  # type: ignore[name-defined, valid-type]
    if spec.kind == "object":
        return _table(spec)
    raise ValueError(f"policy key {spec.name}: no schema for kind {spec.kind!r}")


def _field(spec: PolicyField) -> tuple[Any, Any]:
    annotation = _annotation(spec)
    default = spec.default
    if spec.kind == "object":
        default = annotation()  # the contract's table, shown in full as the default
    note = _API_NOTES.get(spec.name)
    if note is None:
        return annotation, Field(default=default, description=spec.description)
    return annotation, Field(default=default, description=spec.description + note,
                             json_schema_extra=_no_default)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _model() -> type[BaseModel]:
    config = ConfigDict(extra="forbid", title="RoundPolicy",
                        json_schema_extra={"examples": [EXAMPLE]})
    return create_model(  # type: ignore[call-overload, no-any-return]
        "RoundPolicyIn", __config__=config,
        __doc__="A round's policy: every key is optional and takes the contract's default.",
        **{spec.name: _field(spec) for spec in POLICY_FIELDS})


if TYPE_CHECKING:
    class RoundPolicyIn(BaseModel):
        """Built from POLICY_FIELDS at import; type checkers see a plain model."""
else:
    RoundPolicyIn = _model()
