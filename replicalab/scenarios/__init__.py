"""Scenarios: stories you can replay under any merge policy.

    >>> from replicalab import scenarios
    >>> scenarios.names()
    ['london']
    >>> r = scenarios.run("london", merge="item-lww", seed=0)
    >>> r.summary["silently_lost"], r.converged
    (1, True)
"""

from __future__ import annotations

from typing import Any

from replicalab.errors import ConfigError
from replicalab.scenarios import london
from replicalab.scenarios.world import ClientWrite, Result, TableScenario

__all__ = ["ClientWrite", "Result", "TableScenario", "describe", "get", "names", "run"]

_SCENARIOS: dict[str, TableScenario] = {s.name: s for s in (london.SCENARIO,)}


def names() -> list[str]:
    """The scenario names, sorted."""
    return sorted(_SCENARIOS)


def describe() -> dict[str, str]:
    """``{name: one-line description}``, sorted by name."""
    return {name: _SCENARIOS[name].description for name in names()}


def get(name: str) -> TableScenario:
    """The scenario called ``name``; an unknown name raises :class:`ConfigError` listing the valid ones."""
    try:
        return _SCENARIOS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown scenario {name!r}; choose one of: {', '.join(names())}"
        ) from None


def run(name: str, merge: str = "item-lww", seed: int = 0, **options: Any) -> Result:
    """Run scenario ``name`` under merge policy ``merge`` with ``seed``.

    Options: ``skew={region: ms}`` shifts regions' wall clocks. An unknown
    option raises :class:`ConfigError`.
    """
    scenario = get(name)
    unknown = sorted(set(options) - {"skew"})
    if unknown:
        raise ConfigError(
            f"unknown option(s) {unknown} for scenario {name!r}; options are: merge, seed, skew"
        )
    return scenario.run(merge, seed, **options)
