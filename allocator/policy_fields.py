"""The keys of a round's policy (`round.json`): type, bounds, allowed keys and default.

One description serves both the engine's check (`policy.parse_policy`) and the
API's request schema, so what the schema promises and what the engine accepts
cannot drift apart. Defaults come from `contract.RoundPolicy`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from allocator.contract import FLAGS, STATUSES, RoundPolicy

MAX_INT = 10**15  # VND amounts and weights; keeps every sum exact in 64-bit integers
MAX_SECONDS = 7 * 24 * 3600.0
MAX_WEIGHT = 10**6  # per status or flag: sums over millions of households stay exact
MAX_DISTANCE_KM = 20_000.0  # half the Earth's circumference

@dataclass(frozen=True)
class PolicyField:
    """One policy key.

    `kind` is its JSON type: "integer" (a whole number; 3.0 counts, true does not),
    "number", "boolean", "array" (of `items`) or "object" (a table from `keys` to
    whole numbers). `minimum` and `maximum` bound the value, or a table's values;
    `exclusive_minimum` makes the minimum itself refused.
    """

    name: str
    kind: str
    description: str
    minimum: int | float | None = None
    maximum: int | float | None = None
    exclusive_minimum: bool = False
    items: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    unit: str = ""  # how messages name the number ("a number of seconds")
    maximum_words: str = ""  # how messages say the maximum, if not as a number

    @property
    def default(self) -> Any:
        """The contract's default, as round.json would hold it."""
        return RoundPolicy().to_json()[self.name]  # a fresh copy: callers may change it

    def bounds(self) -> tuple[int | float, int | float]:
        if self.minimum is None or self.maximum is None:
            raise ValueError(f"policy key {self.name} has no bounds")
        return self.minimum, self.maximum

    def within(self, value: int | float) -> bool:
        """Whether a number (or a table's value) lies within the bounds."""
        low, high = self.bounds()
        above = low < value if self.exclusive_minimum else low <= value
        return above and value <= high


POLICY_FIELDS = (
    PolicyField("budget_vnd", "integer",
                "Public money the round may spend on phones, in VND.",
                minimum=0, maximum=MAX_INT),
    PolicyField("max_distance_km", "number",
                "Farthest a household is sent to a pickup point, straight-line km.",
                minimum=0.0, maximum=MAX_DISTANCE_KM, exclusive_minimum=True),
    PolicyField("eligible_statuses", "array",
                "Poverty statuses that may receive a phone (repeats are ignored).",
                items=STATUSES),
    PolicyField("require_2g_handset", "boolean",
                "Only households that own a 2G handset are eligible."),
    PolicyField("require_no_smartphone", "boolean",
                "Only households without a smartphone are eligible."),
    PolicyField("status_weight", "object",
                "Priority weight of a household by poverty status; missing keys keep "
                "their default.",
                minimum=0, maximum=MAX_WEIGHT, keys=STATUSES),
    PolicyField("flag_bonus", "object",
                "Priority added for each flag a household carries; missing keys keep "
                "their default.",
                minimum=0, maximum=MAX_WEIGHT, keys=FLAGS),
    PolicyField("copay_vnd", "object",
                "What a household pays towards its phone by poverty status, in VND; "
                "missing keys keep their default.",
                minimum=0, maximum=MAX_INT, keys=STATUSES),
    PolicyField("min_commune_share", "number",
                "Share of each commune's eligible households that must be served "
                "(0 = no floor).",
                minimum=0.0, maximum=1.0),
    PolicyField("seed", "integer",
                "Seed for the solver, so a round can be solved again the same way.",
                minimum=-MAX_INT, maximum=MAX_INT),
    PolicyField("time_limit_s", "number",
                "Longest the solver may run, in seconds.",
                minimum=0.0, maximum=MAX_SECONDS, exclusive_minimum=True,
                unit="seconds", maximum_words="a week"),
)
POLICY_KEYS = frozenset(f.name for f in POLICY_FIELDS)

if [f.name for f in POLICY_FIELDS] != [f.name for f in fields(RoundPolicy)]:
    raise RuntimeError("POLICY_FIELDS must list RoundPolicy's fields in its order")
