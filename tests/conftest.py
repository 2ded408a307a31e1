"""Shared test settings: HYPOTHESIS_PROFILE=thorough runs ten times more examples."""

import os

from hypothesis import HealthCheck, settings

_quiet = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile("default", deadline=None, suppress_health_check=_quiet)
settings.register_profile("thorough", deadline=None, suppress_health_check=_quiet,
                          max_examples=600)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
