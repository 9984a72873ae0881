"""The global-table world: regions and a seeded schedule of clients, run under options.

A :class:`TableScenario` is data: regions and their one-way latencies, the
items every region starts with, and what clients do (who, where, when,
what). :meth:`TableScenario.run` builds one replica per region, replays the
*same* seeded schedule under the options given, runs to quiescence and
returns a :class:`~replicalab.scenarios.result.Result` with the ledger, each
region's final items and the trace. Changing one option changes one thing, so
differences in the outcome are that option's doing.

With ``replicas_per_region`` > 1 a region is a group of AZ nodes instead of one replica
(:mod:`~replicalab.scenarios.regions` builds them, routes clients to them and judges stale
reads; :mod:`~replicalab.quorum.region` is their protocol with ``region_protocol="leader"``,
:mod:`~replicalab.quorum.zone` with ``"leaderless"``); ``Result.final`` is then keyed by
node, and ``Result.stale_reads`` lists eventually consistent reads too, with
``Result.stale_why``. In a leaderless region a node holds only the keys it is home for, so
``converged`` compares each key's home nodes.

The parts live in their own modules: the options and their validation in
:mod:`~replicalab.scenarios.options`, the clients (routing, versioned retries,
reads) in :mod:`~replicalab.scenarios.clients`, and the result in
:mod:`~replicalab.scenarios.result`; their names are importable from here too.
"""

from __future__ import annotations

from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.items import INITIAL_STAMP, Item
from replicalab.ledger import from_simulation
from replicalab.policies import MergePolicy, get_policy
from replicalab.reconcile import find_version_forks
from replicalab.replica.table import AntiEntropy, TableReplica
from replicalab.scenarios.clients import ClientRead, Clients, ClientWrite, home_of
from replicalab.scenarios.options import MODES, ROUTING, WRITES, Options, validate
from replicalab.scenarios.result import RESULT_FORMAT, Result, percentile
from replicalab.sim.clock import WallClock
from replicalab.sim.faults import Crash
from replicalab.sim.network import Latency, Link
from replicalab.sim.simulation import Simulation

__all__ = ["INITIAL_STAMP", "MODES", "RESULT_FORMAT", "ROUTING", "WRITES", "ClientRead",
           "ClientWrite", "Options", "Prepared", "Result", "TableScenario", "home_of", "percentile"]


@attrs.frozen
class Prepared:
    """A scenario's run, built and not yet run (see :meth:`TableScenario.prepare`)."""

    scenario: TableScenario
    sim: Simulation
    opts: Options
    clients: Clients
    policy: MergePolicy
    initial: dict[str, Item]

    def result(self) -> Result:
        """The :class:`Result` of the run as it stands (run it to quiescence first)."""
        return self.scenario._result(self.sim, self.opts, self.clients, self.policy, self.initial)


@attrs.frozen
class TableScenario:
    """A story on a global table, as data. See the module docs.

    ``latency`` maps region pairs to one-way latency distributions (both
    directions); ``epoch`` is the wall-clock time (ms of day) at simulated time
    0; ``homes`` are the keys' home regions for key-home routing.
    """

    name: str
    description: str
    regions: tuple[str, ...]
    latency: dict[tuple[str, str], Latency]
    initial: dict[str, dict[str, Any]]
    workload: tuple[ClientWrite, ...]
    epoch: int = 0
    story: str = ""
    reads: tuple[ClientRead, ...] = ()
    homes: dict[str, str] = attrs.field(factory=dict)
    primary: str | None = None
    skew: dict[str, int] = attrs.field(factory=dict)
    faults: tuple[Any, ...] = ()
    anti_entropy: AntiEntropy | None = None
    replication_delay: int = 0
    horizon: int | None = None

    def options(self, merge: str | MergePolicy = "item-lww", seed: int = 0, **given: Any) -> Options:
        """Validate run options against this scenario (see :func:`~replicalab.scenarios.options.validate`)."""
        return validate(self, merge, seed, **given)

    def initial_items(self, merge: str | MergePolicy = "item-lww") -> dict[str, Item]:
        """The items every region starts with, shaped for merge policy ``merge``
        (a set attribute is a sorted list under the LWW policies, an OR-Set under ``crdt``)."""
        policy = get_policy(merge)
        return {key: policy.initial(attributes) for key, attributes in sorted(self.initial.items())}

    def run(self, merge: str | MergePolicy = "item-lww", seed: int = 0, **given: Any) -> Result:
        """Replay the scenario with the given options (see the module docs).

        ``merge`` may be a policy of your own (a :class:`~replicalab.policies.MergePolicy`).
        """
        prepared = self.prepare(merge, seed, **given)
        sim = prepared.sim
        if self.horizon is not None:
            sim.run(until=self.horizon)  # anti-entropy timers never stop: run for a fixed time
        else:
            sim.run_until_quiescent()
        return prepared.result()

    def prepare(self, merge: str | MergePolicy = "item-lww", seed: int = 0, *,
                simulation: type[Simulation] = Simulation, **given: Any) -> Prepared:
        """Build the run :meth:`run` would make — replicas, simulation (of class ``simulation``),
        clients, faults — without running it: for a driver of its own, such as the explorer,
        that picks the order of events itself and then asks :meth:`Prepared.result`, or a
        :class:`~replicalab.dynamodb.GlobalTable`, which sends its requests one by one."""
        if not (isinstance(simulation, type) and issubclass(simulation, Simulation)):
            raise ConfigError(f"simulation must be Simulation or a subclass of it, got "
                              f"{_validate.shown(simulation)}")
        policy = get_policy(merge)
        opts = self.options(policy, seed, **given)
        links = {pair: Link(latency) for pair, latency in self.latency.items()}
        clocks = {r: WallClock(skew=ms) for r, ms in opts.skew.items()}
        replicas: list[Any]
        if opts.replicas_per_region > 1:
            from replicalab.scenarios import regions  # only runs with AZ nodes need it

            initial = self.initial_items(policy)
            quorum = None
            if opts.region_protocol == "leaderless":
                from replicalab.quorum.config import QuorumConfig

                quorum = QuorumConfig(n=opts.n or 1, r=opts.r or 1, w=opts.w or 1, sloppy=opts.sloppy)
            replicas, links, clocks = regions.build(
                self.regions, self.latency, opts.replicas_per_region, policy, initial,
                stamps=opts.stamps, skew=opts.skew, protocol=opts.region_protocol or "leader",
                quorum=quorum, anti_entropy=self.anti_entropy)
        elif opts.mode == "mrsc":
            from replicalab.replica.mrsc import MrscRegion  # only mrsc runs need it

            initial = self.initial_items("item-lww")
            # Regions catch up (state transfer) at the scenario's anti-entropy period, if any.
            catch_up = self.anti_entropy.period if self.anti_entropy is not None else None
            replicas = [MrscRegion(r, "item-lww", initial, stamps=opts.stamps, catch_up=catch_up)
                        for r in self.regions]
        else:
            initial = self.initial_items(policy)
            replicas = [TableReplica(r, policy, initial, stamps=opts.stamps,
                                     replication_delay=self.replication_delay,
                                     anti_entropy=self.anti_entropy) for r in self.regions]
        sim = simulation(
            replicas,
            seed=opts.seed,
            links=links,
            clocks=clocks,
            epoch=self.epoch,
            trace=True,
        )
        clients = Clients(sim, self, opts)
        if opts.replicas_per_region > 1:
            clients.router = regions.Router(sim, regions.groups(self.regions, opts.replicas_per_region))
            # A fault of a millisecond happens before the requests sent in it (same-time actions
            # run in schedule order): the router, choosing a node when the client sends, must
            # see an AZ that goes down in that millisecond, as GlobalTable.at(t) does — else it
            # picks the node and the request reaches it down ("RegionUnreachable" with AZs up).
            sim.add_faults(tuple(f for outage in opts.az_outages for f in outage.faults()))
            if opts.az_partitions:
                self._cut_azs(sim, opts)
        for write in self.workload:
            clients.write(write)
        for read in self.reads:
            clients.read(read)
        faults = self.faults
        if opts.durable is not None:
            faults = tuple(attrs.evolve(f, durable=opts.durable) if isinstance(f, Crash) else f
                           for f in faults)
        sim.add_faults(faults)  # whole-region faults: single-replica regions only (options.py)
        if opts.az_outages:
            from functools import partial

            from replicalab.scenarios import regions as az

            for outage in opts.az_outages:  # after the crash: the reads the node held fail
                sim.schedule(outage.at, partial(az.reads_lost, node=outage.node))
        return Prepared(self, sim, opts, clients, policy, initial)

    def _cut_azs(self, sim: Simulation, opts: Options) -> None:
        """Schedule the AZ partitions, and at each heal tell the region's nodes."""
        from functools import partial

        from replicalab.scenarios import regions as az

        cuts = opts.az_partitions
        sim.add_faults(az.partition_faults(cuts, az.groups(self.regions, opts.replicas_per_region)))
        for at, region in sorted({(c.until, c.region) for c in cuts if c.until is not None}):
            sim.schedule(at, partial(az.reconnect, region=region))

    def _result(self, sim: Simulation, opts: Options, clients: Clients,
                policy: MergePolicy, initial: dict[str, Item]) -> Result:
        """The :class:`Result` of a finished simulation built by :meth:`prepare` (through
        :meth:`Prepared.result`, which holds exactly these)."""
        writes = sim.writes  # a copy per access: read it once, not once per reply
        # A replica down at the end without its disk holds nothing: what its object still has
        # in memory is gone (Result docs). It is shown empty and left out of convergence.
        lost = sim.state_lost
        items = {rid: {} if rid in lost else dict(sorted(r.items.items()))  # type: ignore[attr-defined]
                 for rid, r in sim.replicas.items()}
        judged = {rid: states for rid, states in items.items() if rid not in lost}
        reference = next(iter(judged.values()), {})
        forks = tuple(find_version_forks(sim.trace))  # type: ignore[arg-type]
        reports = {w: f.describe() for f in forks for w in f.writes}
        ledger = from_simulation(sim, reports, clients.abandoned)
        stale_why: dict[str, str] = {}
        if opts.replicas_per_region > 1:
            from replicalab.scenarios import regions

            stale_why = regions.stale_reads(sim, self.reads, clients.read_replies, clients.read_knowledge,
                                            {e.write: e for e in ledger})
            stale = tuple(stale_why)
        else:
            stale = clients.stale_reads()
        return Result(
            scenario=self.name,
            merge="mrsc" if opts.mode == "mrsc" else opts.merge,
            seed=opts.seed,
            options=opts.non_default(self.options(policy, opts.seed)),
            epoch=self.epoch,
            ledger=ledger,
            final={rid: {k: item.to_plain() for k, item in keys.items()} for rid, keys in items.items()},
            items=items,
            converged=not sim.partitioned and _converged(sim, judged, reference),
            components=tuple(tuple(c) for c in sim.components()) if sim.partitioned else (),
            trace=sim.trace,  # type: ignore[arg-type]
            statistics=sim.statistics(),
            label=opts.label,
            forks=forks,
            write_latencies=tuple(r.latency for r in sim.replies if r.response.op in writes),
            stale_reads=stale,
            stale_why=stale_why,
            reads=len(self.reads),
            regions=tuple(sorted(self.regions)),
            facts=tuple(writes.values()),
            skew=dict(sorted(opts.skew.items())),
            initial=dict(initial),
            state_lost=lost,
        )


def _converged(sim: Simulation, items: dict[str, dict[str, Item]], reference: dict[str, Item]) -> bool:
    """Every replica of ``items`` holds the same items — with leaderless regions, every home node
    of a key holds the same item for it (a node that is no home of a key never holds it).
    ``items`` leaves out the replicas down without their state: they hold nothing to compare;
    a replica down with its disk is in it, judged by what its disk holds (as the ledger does)."""
    owners = {rid: r for rid, r in sim.replicas.items() if hasattr(r, "owns") and rid in items}
    if not owners:
        return all(states == reference for states in items.values())
    keys = sorted({k for states in items.values() for k in states})
    for key in keys:
        held = [items[rid].get(key) for rid, r in owners.items() if r.owns(key)]
        if any(h != held[0] for h in held):
            return False
    return True
