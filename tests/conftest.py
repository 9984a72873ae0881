"""Shared hypothesis settings: a 'ci' profile with more examples, chosen by the CI variable.

CI derandomizes: the same examples every run, so a red CI is a regression, never the luck of
the draw. Local runs ('dev') explore new examples each time; when one finds a failure, add it
as a regression test (see tests/test_laws.py for an example).
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=300, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
