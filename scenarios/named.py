"""The named scenarios: `allocator scenario NAME --out DIR [--seed N]`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from allocator.reference import hcmc_communes, national_communes
from scenarios.folder import ScenarioTables
from scenarios.generator import Recipe, generate

# Ho Chi Minh City, 2025 standard: 2,489 poor and 12,798 near-poor households (about 1:5).
CITY_STATUSES = {"poor": 2_489.0, "near_poor": 12_798.0}

DEMO = Recipe(households=16_800, status_shares=CITY_STATUSES, sponsors=30, lots=60,
              post_offices=50, operator_shops=30)
SAMPLE = replace(DEMO, households=2_000, sponsors=12, lots=16, post_offices=8,
                 operator_shops=4)
UNIVERSAL = Recipe(households=250_000,
                   status_shares={"poor": 0.02, "near_poor": 0.10, "other": 0.88},
                   smartphone_rate=0.03, sponsors=60, lots=120, devices_per_eligible=0.7,
                   post_offices=150, operator_shops=100, capacity_per_eligible=0.9,
                   round_extra={"eligible_statuses": ["poor", "near_poor", "other"],
                                "require_2g_handset": False})
NATIONAL = Recipe(households=2_000_000, status_shares={"poor": 0.2, "near_poor": 0.8},
                  sponsors=120, lots=300, post_offices=1_000, operator_shops=500,
                  max_distance_km=3.0)
# The city-wide campaign's recipe over the whole country: about four national rounds.
# Setting up a model of 8M households takes longer than the contract's default minute,
# so the round gives the engine an hour.
VN_UNIVERSAL = replace(UNIVERSAL, households=8_000_000, sponsors=200, lots=600,
                       post_offices=2_000, operator_shops=1_000, max_distance_km=3.0,
                       round_extra={**UNIVERSAL.round_extra, "time_limit_s": 3600})


def _city(recipe: Recipe) -> Callable[[int], ScenarioTables]:
    return lambda seed: generate(hcmc_communes(), recipe, seed, write_communes=False)


SCENARIOS: dict[str, tuple[str, Callable[[int], ScenarioTables]]] = {
    "demo": ("One city round: about 15,000 eligible poor and near-poor households over "
             "the 168 units of Ho Chi Minh City, 30 sponsors, 60 lots, about 250 points, "
             "a binding budget.", _city(DEMO)),
    "sample": ("A small city round of 2,000 households, for a first look.", _city(SAMPLE)),
    "hcmc-universal": ("The city-wide campaign: about 250,000 households without a smart "
                       "device, every status eligible, 60 sponsors, 120 lots, about 420 "
                       "points.", _city(UNIVERSAL)),
    "national": ("A national roll-out: about 2,000,000 households over all 3,321 units of "
                 "the 34 provinces, 120 sponsors, 300 lots, about 4,800 points.",
                 lambda seed: generate(national_communes(), NATIONAL, seed,
                                       write_communes=True)),
    "vn-universal": ("The campaign over the whole country: about 8,000,000 households "
                     "without a smart device over all 3,321 units, every status eligible, "
                     "200 sponsors, 600 lots, about 6,300 points.",
                     lambda seed: generate(national_communes(), VN_UNIVERSAL, seed,
                                           write_communes=True)),
    "demo-tight-budget": ("demo with a budget of a tenth of the part-subsidised cost.",
                          _city(replace(DEMO, budget_share=0.1))),
    "demo-restricted": ("demo where most lots are kept to a few units or to poor "
                        "households, and a quarter of households need a feature.",
                        _city(replace(DEMO, restricted_share=0.7, poor_only_share=0.6,
                                      needs_rate=0.25))),
    "demo-scarce-capacity": ("demo where points can hand over only half of the eligible "
                             "households.", _city(replace(DEMO, capacity_per_eligible=0.5))),
    "demo-fairness": ("demo with a fairness floor: every unit gets at least 60% of its "
                      "eligible households served where possible.",
                      _city(replace(DEMO, budget_share=0.2,
                                    round_extra={"min_commune_share": 0.6}))),
}


def scenario(name: str, seed: int = 1) -> ScenarioTables:
    """The named scenario for a seed; KeyError for an unknown name."""
    return SCENARIOS[name][1](seed)
