"""Scenarios: stories you can replay under any merge policy.

    >>> from replicalab import scenarios
    >>> scenarios.names()
    ['cart', 'counter', 'crash', 'london', 'london-batch-at-home', 'partition', 'skew']
    >>> r = scenarios.run("london", merge="item-lww", seed=0)
    >>> r.summary["silently_lost"], r.converged
    (1, True)
"""

from __future__ import annotations

from typing import Any

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.policies import MergePolicy
from replicalab.scenarios import cart, counter, crash, london, partition, skew
from replicalab.scenarios.world import ClientWrite, Result, TableScenario

__all__ = ["ClientWrite", "Result", "TableScenario", "describe", "get", "names", "run"]

_SCENARIOS: dict[str, TableScenario] = {
    s.name: s
    for s in (london.SCENARIO, london.BATCH_AT_HOME, skew.SCENARIO, partition.SCENARIO, crash.SCENARIO,
              counter.SCENARIO, cart.SCENARIO)
}


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
            f"unknown scenario {_validate.shown(name)}; choose one of: {', '.join(names())}"
        ) from None


def run(name: str, merge: str | MergePolicy = "item-lww", seed: int = 0, **options: Any) -> Result:
    """Run scenario ``name`` under merge policy ``merge`` (a name, or your own
    :class:`~replicalab.policies.MergePolicy`) with ``seed``.

    Options (see :mod:`replicalab.scenarios.world`): ``writes="versioned"``,
    ``routing="key-home"`` (with ``homes={key: region}``), ``mode="mrsc"`` or
    ``"single-primary"`` (with ``primary=region``), ``skew={region: ms}``,
    ``stamps="hlc"``, ``retries=n``. An unknown option or value raises
    :class:`ConfigError` naming the valid ones.
    """
    return get(name).run(merge, seed, **options)
