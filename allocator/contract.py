"""The engine contract's vocabulary: statuses, flags, reasons, columns and the round policy.

Everything here mirrors `engine-contract.md` (v1, and v2's households columns);
reading and checking files lives in `validate.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("poor", "near_poor", "other")  # hộ nghèo, hộ cận nghèo, khác
FLAGS = ("merit_family", "elderly_alone", "disability", "student", "single_parent",
         "ethnic_minority")
NETWORKS = ("4G", "5G")
REASONS = ("received_earlier", "duplicate_identity", "not_eligible_status", "no_2g_handset",
           "has_smartphone", "no_compatible_lot", "no_point_in_reach", "outranked")
PERSONAL_COLUMNS = ("head_name", "phone", "national_id")

HOUSEHOLDS = "households.csv"
LOTS = "lots.csv"
POINTS = "points.csv"
COMMUNES = "communes.csv"
ROUND = "round.json"
KEEP = "keep.csv"

ALLOCATION_COLUMNS = ("household_id", "lot_id", "sponsor_id", "point_id", "priority_weight",
                      "public_cost_vnd", "copay_vnd", "distance_km")
UNSERVED_COLUMNS = ("household_id", "reason", "detail")


@dataclass(frozen=True)
class Column:
    """One column of an input file: its name, whether it is required and its kind."""

    name: str
    kind: str  # text, int0, int1, status, network, flags, words, statuses, communes, lat, lon
    required: bool = True


HOUSEHOLD_COLUMNS = (
    Column("household_id", "id"),
    Column("commune_code", "commune"),
    Column("poverty_status", "status"),
    Column("members", "int1"),
    Column("twog_handsets", "int0"),
    Column("smartphones", "int0"),
    Column("flags", "flags", False),
    Column("needs", "words", False),
    Column("lat", "lat", False),
    Column("lon", "lon", False),
    Column("head_name", "text", False),
    Column("phone", "text", False),
    Column("national_id", "text", False),
)
# What a round's households.csv may add (contract section 5): the registry and the
# folders the store writes keep to HOUSEHOLD_COLUMNS, the engine reads these too.
RECEIVED_DEVICE = "received_device"
ROUND_HOUSEHOLD_COLUMNS = HOUSEHOLD_COLUMNS + (Column(RECEIVED_DEVICE, "text", False),)

KEEP_COLUMNS = (
    Column("household_id", "id"),
    Column("lot_id", "text"),
    Column("point_id", "text"),
)

LOT_COLUMNS = (
    Column("lot_id", "id"),
    Column("sponsor_id", "text"),
    Column("sponsor_name", "text", False),
    Column("model", "text"),
    Column("network", "network"),
    Column("quantity", "int0"),
    Column("unit_price_vnd", "int0"),
    Column("sponsor_subsidy_vnd", "int0"),
    Column("features", "words", False),
    Column("allowed_communes", "communes", False),
    Column("allowed_statuses", "statuses", False),
)

POINT_COLUMNS = (
    Column("point_id", "id"),
    Column("name", "text", False),
    Column("commune_code", "commune"),
    Column("lat", "lat", False),
    Column("lon", "lon", False),
    Column("capacity", "int0"),
)

COMMUNE_COLUMNS = (
    Column("commune_code", "id"),
    Column("name", "text", False),
    Column("lat", "lat", False),
    Column("lon", "lon", False),
)

DEFAULT_STATUS_WEIGHT = {"poor": 100, "near_poor": 60, "other": 20}
DEFAULT_FLAG_BONUS = {"merit_family": 40, "elderly_alone": 25, "disability": 25, "student": 15,
                      "single_parent": 10, "ethnic_minority": 10}


@dataclass(frozen=True)
class RoundPolicy:
    """A round's policy (`round.json`), every field at the contract's default."""

    budget_vnd: int = 0
    max_distance_km: float = 5.0
    eligible_statuses: tuple[str, ...] = ("poor", "near_poor")
    require_2g_handset: bool = True
    require_no_smartphone: bool = True
    status_weight: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_STATUS_WEIGHT))
    flag_bonus: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_FLAG_BONUS))
    copay_vnd: dict[str, int] = field(default_factory=lambda: {s: 0 for s in STATUSES})
    min_commune_share: float = 0.0
    seed: int = 0
    time_limit_s: float = 60.0

    def to_json(self) -> dict[str, Any]:
        """The policy as `round.json` would hold it, with every key present."""
        return {
            "budget_vnd": self.budget_vnd,
            "max_distance_km": self.max_distance_km,
            "eligible_statuses": list(self.eligible_statuses),
            "require_2g_handset": self.require_2g_handset,
            "require_no_smartphone": self.require_no_smartphone,
            "status_weight": dict(self.status_weight),
            "flag_bonus": dict(self.flag_bonus),
            "copay_vnd": dict(self.copay_vnd),
            "min_commune_share": self.min_commune_share,
            "seed": self.seed,
            "time_limit_s": self.time_limit_s,
        }
