"""Scenarios: stories you can replay under any merge policy.

    >>> from replicalab import scenarios
    >>> scenarios.names()
    ['cart', 'counter', 'crash', 'london', 'london-batch-at-home', 'partition', 'skew']
    >>> r = scenarios.run("london", merge="item-lww", seed=0)
    >>> r.summary["silently_lost"], r.converged
    (1, True)

``names()`` are the global-table stories (any merge policy, any pattern). ``"dynamo"`` is a
different kind of world — one region's leaderless cluster with N/R/W quorums
(:mod:`replicalab.scenarios.dynamo`) — run by the same ``run``:

    >>> q = run("dynamo", seed=0, n=3, r=1, w=1, ops=60)
    >>> sorted(q.summary)[:3], len(q.stale_reads) > 0
    (['hint-only', 'kept', 'lost'], True)
"""

from __future__ import annotations

from typing import Any

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.policies import MergePolicy
from replicalab.scenarios import cart, counter, crash, dynamo, leader, london, partition, skew
from replicalab.scenarios.world import ClientWrite, Result, TableScenario

__all__ = ["CLUSTERS", "ClientWrite", "Result", "TableScenario", "describe", "get", "names", "run"]

#: Cluster scenarios: one region's replicas and their protocol, not a global table.
CLUSTERS = {dynamo.NAME: dynamo.DESCRIPTION,
            "leader": "a leader per partition in one region (DynamoDB's shape): strong reads at the "
                      "leader, eventual reads anywhere, failover"}

_SCENARIOS: dict[str, TableScenario] = {
    s.name: s
    for s in (london.SCENARIO, london.BATCH_AT_HOME, skew.SCENARIO, partition.SCENARIO, crash.SCENARIO,
              counter.SCENARIO, cart.SCENARIO)
}


def names() -> list[str]:
    """The scenario names, sorted."""
    return sorted(_SCENARIOS)


def describe() -> dict[str, str]:
    """``{name: one-line description}`` of every scenario, cluster ones included, sorted by name."""
    every = {name: _SCENARIOS[name].description for name in names()} | CLUSTERS
    return dict(sorted(every.items()))


def get(name: str) -> TableScenario:
    """The scenario called ``name``; an unknown name raises :class:`ConfigError` listing the valid ones."""
    try:
        return _SCENARIOS[name]
    except (KeyError, TypeError):
        if isinstance(name, str) and name in CLUSTERS:
            raise ConfigError(f"{name!r} is a cluster scenario, not a table story: use "
                              f"scenarios.run({name!r}, ...) or replicalab.scenarios.{name}") from None
        raise ConfigError(
            f"unknown scenario {_validate.shown(name)}; choose one of: {', '.join(names())}, "
            f"or the cluster scenario {', '.join(CLUSTERS)}"
        ) from None


def run(name: str, merge: str | MergePolicy = "item-lww", seed: int = 0,
        **options: Any) -> Any:
    """Run scenario ``name`` under merge policy ``merge`` (a name, or your own
    :class:`~replicalab.policies.MergePolicy`) with ``seed``.

    Options (see :mod:`replicalab.scenarios.world`): ``writes="versioned"``,
    ``routing="key-home"`` (with ``homes={key: region}``), ``mode="mrsc"`` or
    ``"single-primary"`` (with ``primary=region``), ``skew={region: ms}``,
    ``stamps="hlc"``, ``retries=n``; ``replicas_per_region=3`` with
    ``region_protocol="leader"`` makes every region three AZ nodes under a per-partition
    leader (:mod:`replicalab.quorum.region`), ``region_protocol="leaderless"`` (with ``n=``,
    ``r=``, ``w=``, ``sloppy=``) three AZ peers under N/R/W quorums
    (:mod:`replicalab.quorum.zone`), ``az_outages=[AzOutage(...)]`` takes AZs down
    and ``az_partitions=[AzPartition(...)]`` (leader regions) cuts an AZ off from its region's other AZs
    (:mod:`replicalab.scenarios.regions`). An unknown option or value raises
    :class:`ConfigError` naming the valid ones.

    ``run("dynamo", seed=..., n=, r=, w=, sloppy=, fault=, ...)`` runs the leaderless
    cluster instead and returns a :class:`~replicalab.scenarios.dynamo.QuorumResult`;
    ``run("leader", seed=..., partitions=, fault=, ...)`` the leader-based one
    (:class:`~replicalab.scenarios.leader.LeaderResult`). Neither takes a merge policy.
    """
    if isinstance(name, str) and name in CLUSTERS:
        if merge != "item-lww":
            raise ConfigError("the dynamo cluster keeps concurrent versions as siblings by causality; "
                              "it takes no merge policy (leave merge at its default)")
        return dynamo.run(seed, **options) if name == dynamo.NAME else leader.run(seed, **options)
    return get(name).run(merge, seed, **options)
