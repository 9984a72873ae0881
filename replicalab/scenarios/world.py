"""The global-table world: regions, a seeded schedule of client writes, and a run's result.

A :class:`TableScenario` is data: regions and their one-way latencies, the
items every region starts with, and the client writes (who, where, when,
what). :meth:`TableScenario.run` builds one :class:`~replicalab.replica.table.TableReplica`
per region with the chosen merge policy, replays the *same* seeded schedule,
runs to quiescence and returns a :class:`Result` with the ledger, each
region's final items and the trace. Swapping ``merge`` changes the policy and
nothing else, so differences in the outcome are the policy's doing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from replicalab.errors import ConfigError, ReplicaIdError
from replicalab.items import INITIAL_WRITE, Cell, Item, Stamp, Version
from replicalab.ledger import Ledger, from_simulation
from replicalab.policies import get_policy
from replicalab.replica.table import TableReplica, UpdateItem
from replicalab.sim.clock import WallClock
from replicalab.sim.network import Latency, Link
from replicalab.sim.simulation import Simulation, Statistics
from replicalab.sim.topology import full_mesh
from replicalab.trace import Trace, canonical_json

__all__ = ["ClientWrite", "Result", "TableScenario"]

#: The stamp of data present before the run: older than any write.
INITIAL_STAMP = Stamp(-1, "", 0)

RESULT_FORMAT = "replicalab/result"


@attrs.frozen
class ClientWrite:
    """One scheduled client write: ``client`` in ``region`` updates ``key`` at simulated time ``at``."""

    at: int
    region: str
    op: str
    client: str
    key: str
    attributes: dict[str, Any]
    condition: dict[str, Any] | None = None


@attrs.frozen
class Result:
    """What one scenario run produced. Plain data throughout, except ``trace`` and ``ledger``.

    ``final`` is ``{region: {key: attributes}}`` — a dict of attributes, or a
    list of dicts when the region holds concurrent siblings.
    """

    scenario: str
    merge: str
    seed: int
    options: dict[str, Any]
    epoch: int
    ledger: Ledger
    final: dict[str, dict[str, Any]]
    items: dict[str, dict[str, Item]] = attrs.field(repr=False)
    converged: bool
    trace: Trace = attrs.field(repr=False)
    statistics: Statistics

    @property
    def summary(self) -> dict[str, int]:
        """Verdict counts: acknowledged, kept, superseded, silently_lost, detected, rejected."""
        return self.ledger.summary

    @property
    def siblings_visible(self) -> int:
        """How many (region, key) pairs end with more than one concurrent version."""
        return sum(item.has_siblings for keys in self.items.values() for item in keys.values())

    def to_plain(self) -> dict[str, Any]:
        """The canonical result document as plain data."""
        return {
            "format": RESULT_FORMAT,
            "schema_version": 1,
            "scenario": self.scenario,
            "merge": self.merge,
            "seed": self.seed,
            "options": self.options,
            "summary": self.summary,
            "converged": self.converged,
            "siblings_visible": self.siblings_visible,
            "final": self.final,
            "ledger": self.ledger.to_plain(),
            "statistics": attrs.asdict(self.statistics),
            "trace": self.trace.to_plain(),
        }

    def to_json(self) -> str:
        """The canonical JSON result document: same seed, same bytes."""
        return canonical_json(self.to_plain())

    def timeline(self) -> str:
        """A short numbered timeline of writes, rejections and merges."""
        from replicalab.viz.text import timeline

        return timeline(self)

    def report(self) -> str:
        """Timeline, final items and ledger, formatted for people (what the CLI prints)."""
        from replicalab.viz.text import report

        return report(self)


def _initial_item(attributes: Mapping[str, Any]) -> Item:
    cells = {name: Cell(value, INITIAL_WRITE, INITIAL_STAMP) for name, value in attributes.items()}
    return Item((Version.of(cells, write=INITIAL_WRITE, stamp=INITIAL_STAMP),))


@attrs.frozen
class TableScenario:
    """A story on a global table, as data. See the module docs.

    ``latency`` maps region pairs to one-way latency distributions (both
    directions); ``epoch`` is the wall-clock time (ms of day) at simulated time 0.
    """

    name: str
    description: str
    regions: tuple[str, ...]
    latency: dict[tuple[str, str], Latency]
    initial: dict[str, dict[str, Any]]
    workload: tuple[ClientWrite, ...]
    epoch: int = 0
    story: str = ""

    OPTIONS = ("merge", "seed", "skew")

    def run(
        self,
        merge: str = "item-lww",
        seed: int = 0,
        *,
        skew: Mapping[str, int] | None = None,
    ) -> Result:
        """Replay the scenario under ``merge`` with ``seed``; ``skew`` shifts regions' wall clocks (ms)."""
        policy = get_policy(merge)
        if type(seed) is not int:
            raise ConfigError(f"seed must be an integer, got {seed!r}")
        clocks = {}
        if skew is not None and not isinstance(skew, Mapping):
            raise ConfigError(f"skew must be a mapping of region -> ms, e.g. {{'us-east-1': -60}}; got {skew!r}")
        for region, ms in (skew or {}).items():
            if region not in self.regions:
                raise ReplicaIdError(
                    f"skew names unknown region {region!r}; regions are {list(self.regions)}"
                )
            if type(ms) is not int:
                raise ConfigError(f"skew for {region} must be an integer number of ms, got {ms!r}")
            clocks[region] = WallClock(skew=ms)
        initial = {key: _initial_item(attrs_) for key, attrs_ in self.initial.items()}
        replicas = [TableReplica(r, policy, initial) for r in self.regions]
        sim = Simulation(
            replicas,
            topology=full_mesh(self.regions),
            seed=seed,
            links={pair: Link(latency) for pair, latency in self.latency.items()},
            clocks=clocks,
            epoch=self.epoch,
            trace=True,
        )
        for write in self.workload:
            request = UpdateItem(write.op, write.key, write.attributes, write.condition)
            sim.client_request(write.at, write.region, request, client=write.client)
        sim.run_until_quiescent()
        items = {rid: dict(sorted(r.items.items())) for rid, r in sim.replicas.items()}  # type: ignore[attr-defined]
        reference = next(iter(items.values()))
        converged = all(states == reference for states in items.values())
        options: dict[str, Any] = {}
        if skew:
            options["skew"] = dict(sorted(skew.items()))
        return Result(
            scenario=self.name,
            merge=policy.name,
            seed=seed,
            options=options,
            epoch=self.epoch,
            ledger=from_simulation(sim),
            final={rid: {k: item.to_plain() for k, item in keys.items()} for rid, keys in items.items()},
            items=items,
            converged=converged,
            trace=sim.trace,  # type: ignore[arg-type]
            statistics=sim.statistics(),
        )
