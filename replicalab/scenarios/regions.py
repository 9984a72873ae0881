"""Regions with internal structure in the table scenarios: AZ nodes, their links, routing, staleness.

``replicas_per_region=3, region_protocol="leader"`` makes every region of a
:class:`~replicalab.scenarios.world.TableScenario` a group of AZ nodes running
:class:`~replicalab.quorum.region.RegionNode` (read that module for the protocol);
``region_protocol="leaderless"`` a group of
:class:`~replicalab.quorum.zone.LeaderlessNode` peers. This module is the scenario side of both:

* :func:`build` — the nodes, and links: every pair of nodes of two regions gets the scenario's
  latency for that region pair, nodes of one region talk over :data:`INTRA_REGION` (1–2 ms
  one way); a region's clock skew applies to each of its nodes.
* :class:`Router` — where a client's request goes inside a region, decided when the client
  sends it (the request router knows which nodes are up, as DynamoDB's does from health
  checks): a write or a strongly consistent read to the live node that leads the key's
  partition (the one with the highest term, if several think so), else the first live node
  from the partition's starting leader on (which forwards it) — while an AZ partition is in
  force, among the nodes that reach a majority of their region only; an eventually consistent
  read to a live node drawn from the run's ``"az-reads"`` random stream (cut off or not). In a
  leaderless region: a write or a strongly consistent read to the first live home node of the
  key (one that has caught up after a restart, if any has), an eventually consistent read to a
  live home node drawn from ``"az-reads"``, a Query to the first live node — cut off or not
  (an AZ partition, which a leaderless region runs only with anti-entropy: its router knows
  who is up, not who is cut off, as a Dynamo client does not; a cut-off coordinator's write
  then misses its quorum unless ``w=1``, and its item reaches its region's other home nodes
  by anti-entropy after the heal).
* :func:`stale_reads` — every read, strongly or eventually consistent, that missed a write
  acknowledged before the read was sent, and why.
* :class:`AzOutage` — the fault: one AZ of one region down (and back).
* :class:`AzPartition` — the fault: one AZ of one region cut off from the region's other AZs
  (and back, or for good); :func:`partition_faults` turns several into one consistent schedule of
  simulator partitions, and :func:`reconnect` tells the nodes when the network heals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.items import Item
from replicalab.ledger.reading import write_records
from replicalab.ledger.rules import effect_missing
from replicalab.policies import MergePolicy
from replicalab.quorum.config import QuorumConfig
from replicalab.quorum.leader import LeaderConfig, partition_of
from replicalab.quorum.region import AZ_LETTERS, RegionNode, az_nodes
from replicalab.quorum.ring import HashRing
from replicalab.replica.base import Request
from replicalab.replica.sync_driver import AntiEntropy
from replicalab.sim.clock import WallClock
from replicalab.sim.faults import Crash, Heal, Partition, Restart
from replicalab.sim.network import Latency, Link, Uniform
from replicalab.sim.simulation import Reply, Simulation

# build, Router and stale_reads are the scenario's own machinery (world.py calls them with
# what it built); the public names are the fault and the link latency.
__all__ = ["INTRA_REGION", "AzOutage", "AzPartition"]

#: One-way latency between two AZs of one region.
INTRA_REGION = Uniform(1, 2)


@attrs.frozen
class AzOutage:
    """AZ ``az`` of ``region`` (its one node, e.g. ``eu-west-1a``) goes down at ``at``; back at ``until``.

    ``durable`` says whether the node keeps its disk (its log) through the outage. As
    simulator faults it is a :class:`~replicalab.sim.faults.Crash` of the node and, with
    ``until``, a :class:`~replicalab.sim.faults.Restart`.
    """

    at: int
    region: str
    az: str
    until: int | None = None
    durable: bool = True

    def __attrs_post_init__(self) -> None:
        if type(self.at) is not int or self.at < 0:
            raise ConfigError(f"AzOutage.at must be an integer time >= 0, got {_validate.shown(self.at)}")
        _validate.replica_id(self.region, "region")
        if not isinstance(self.az, str) or len(self.az) != 1 or self.az not in AZ_LETTERS:
            raise ConfigError(f"AzOutage.az must be one AZ letter from {AZ_LETTERS!r}, got "
                              f"{_validate.shown(self.az)}")
        if self.until is not None and (type(self.until) is not int or self.until <= self.at):
            raise ConfigError(f"AzOutage.until must be an integer time after at={self.at}, got "
                              f"{_validate.shown(self.until)}")
        if not isinstance(self.durable, bool):
            raise ConfigError(f"AzOutage.durable must be True or False, got {_validate.shown(self.durable)}")

    @property
    def node(self) -> str:
        """The node id that goes down: region and AZ letter, ``'eu-west-1a'``."""
        return f"{self.region}{self.az}"

    def faults(self) -> tuple[Crash | Restart, ...]:
        """The simulator faults this outage is."""
        crash = Crash(self.at, self.node, durable=self.durable)
        return (crash,) if self.until is None else (crash, Restart(self.until, self.node))

    def to_plain(self) -> dict[str, Any]:
        return {"at": self.at, "region": self.region, "az": self.az, "until": self.until,
                "durable": self.durable}


@attrs.frozen
class AzPartition:
    """AZ ``az`` of ``region`` (its node, e.g. ``eu-west-1a``) cut off from the region's other
    AZs at ``at``; the cut heals at ``until`` (never, if ``until`` is None).

    The cut is between that node and the other nodes *of its region*: replication, forwarded
    requests and the leader protocol's messages between them are dropped (messages in flight
    too). Every other link works — clients still reach the node (a request router sits on each
    side) and so do the other regions' nodes; in a leader region a node that can reach fewer
    than a majority of its region's nodes gets no writes and no strongly consistent reads from
    the :class:`Router` while cut off (its eventually consistent reads go on, and can be
    stale); in a leaderless one (with anti-entropy only) the router does not know of the cut.

    As simulator faults it is a :class:`~replicalab.sim.faults.Partition` with the two sides
    as groups and every other node as a bridge, and a :class:`~replicalab.sim.faults.Heal`
    (see :func:`partition_faults` for several at once). At the heal every live node of the
    region is told the network is back (:meth:`~replicalab.quorum.region.RegionNode.reconnect`,
    :meth:`~replicalab.quorum.zone.LeaderlessNode.reconnect`): with nothing ticking while a
    leader region is idle, that is how the cut-off node catches up. A
    cut-off node that campaigned in vain (the other regions' replication reached it and no
    leader logged it) comes back with a higher term; its answer then deposes the leader of that
    partition, and the region elects again — Raft's PreVote would avoid that, and is not
    modelled: a client whose write was in that leader's hands is told ``NoLeader`` (the write
    "may or may not commit").

    ``until=None`` is a cut that never heals (``--az-partition eu-west-1a@150`` in the CLI).
    The run still ends — a leader region goes quiet, a leaderless one stops at the scenario's
    horizon — without converging, and the ledger says which writes the cut-off node lacks: a
    write (a removal too) that reached it in the other regions' replication but never entered
    its table — only the leader logs such a message — is ``unreplicated`` where it did not
    arrive. A removal is ranked there against the write whose value the cut-off table still
    holds by the merge policy's own rule whenever no merge recorded how the two rank (an older
    write it had overwritten where it ran, a concurrent one that lost elsewhere to a third
    write before the removal came): by stamp under the LWW policies, as siblings under
    ``causal``, by observed dots under ``crdt`` — where a concurrent add still wins, so the
    removal is still lost (:mod:`replicalab.ledger`, "Reached is not applied";
    ``tests/test_regions_cut_for_good.py``). Not offered: a cut from the other regions too (a
    whole AZ's network isolated) — the region's leader ships cross-region replication once, so
    a message in flight across the cut would be dropped and never sent again.
    """

    at: int
    region: str
    az: str
    until: int | None = None

    def __attrs_post_init__(self) -> None:
        if type(self.at) is not int or self.at < 0:
            raise ConfigError(f"AzPartition.at must be an integer time >= 0, got {_validate.shown(self.at)}")
        _validate.replica_id(self.region, "region")
        if not isinstance(self.az, str) or len(self.az) != 1 or self.az not in AZ_LETTERS:
            raise ConfigError(f"AzPartition.az must be one AZ letter from {AZ_LETTERS!r}, got "
                              f"{_validate.shown(self.az)}")
        if self.until is not None and (type(self.until) is not int or self.until <= self.at):
            raise ConfigError(f"AzPartition.until must be an integer time after at={self.at}, or None "
                              f"for a cut that never heals; got {_validate.shown(self.until)}")

    @property
    def node(self) -> str:
        """The node id cut off: region and AZ letter, ``'eu-west-1a'``."""
        return f"{self.region}{self.az}"

    def active(self, t: int) -> bool:
        """True iff the cut is in force at time ``t`` (from ``at`` on, until ``until`` if any)."""
        if type(t) is not int:
            raise ConfigError(f"a time is an integer number of ms, got {_validate.shown(t)}")
        return self.at <= t and (self.until is None or t < self.until)

    def partition(self, at: int, nodes_of: Mapping[str, tuple[str, ...]]) -> Partition:
        """This cut as a simulator :class:`~replicalab.sim.faults.Partition` applied at ``at``;
        ``nodes_of`` maps each region to its node ids (this AZ's region must be there)."""
        if type(at) is not int or at < 0:
            raise ConfigError(f"a partition's time is an integer >= 0, got {_validate.shown(at)}")
        if (not isinstance(nodes_of, Mapping) or self.node not in nodes_of.get(self.region, ())
                or not all(isinstance(ns, tuple) for ns in nodes_of.values())):
            raise ConfigError(f"nodes_of must map every region to a tuple of its node ids, with "
                              f"{self.node!r} among {self.region!r}'s; got {_validate.shown(nodes_of)}")
        rest = tuple(n for n in nodes_of[self.region] if n != self.node)
        bridges = [n for region, nodes in sorted(nodes_of.items()) if region != self.region for n in nodes]
        return Partition(at, ((self.node,), rest), bridges)

    def to_plain(self) -> dict[str, Any]:
        return {"at": self.at, "region": self.region, "az": self.az, "until": self.until}


def partition_faults(cuts: tuple[AzPartition, ...], nodes_of: Mapping[str, tuple[str, ...]]
                     ) -> list[Partition | Heal]:
    """The simulator faults for several AZ partitions at once, as one consistent schedule.

    A simulator :class:`~replicalab.sim.faults.Heal` ends *every* cut, and partitions in force
    together cut the union of their links. So at each time a cut begins or ends, the schedule
    heals what was cut (if anything was) and applies again every cut in force from then on:
    two overlapping partitions stay exactly as cut as each says, whatever their order.

        >>> nodes = {"eu-west-1": ("eu-west-1a", "eu-west-1b", "eu-west-1c"), "us-east-1": ("us-east-1a",)}
        >>> [type(f).__name__ + "@" + str(f.at) for f in partition_faults(
        ...     (AzPartition(10, "eu-west-1", "a", 30), AzPartition(20, "eu-west-1", "b", 40)), nodes)]
        ['Partition@10', 'Heal@20', 'Partition@20', 'Partition@20', 'Heal@30', 'Partition@30', 'Heal@40']
    """
    times = sorted({c.at for c in cuts} | {c.until for c in cuts if c.until is not None})
    faults: list[Partition | Heal] = []
    cut = False
    for t in times:
        if cut:
            faults.append(Heal(t))
        active = [c for c in cuts if c.active(t)]
        faults.extend(c.partition(t, nodes_of) for c in active)
        cut = bool(active)
    return faults


def reconnect(sim: Simulation, region: str) -> None:
    """The network inside ``region`` healed: each live node of it is told
    (:meth:`~replicalab.quorum.region.RegionNode.reconnect`, or
    :meth:`~replicalab.quorum.zone.LeaderlessNode.reconnect`), in node order."""
    down = set(sim.down)
    for node, replica in sim.replicas.items():
        if getattr(replica, "region", None) == region and node not in down:
            replica.reconnect(sim._contexts[node])  # type: ignore[attr-defined]


def groups(regions: tuple[str, ...], count: int) -> dict[str, tuple[str, ...]]:
    """``{region: its node ids}``, sorted by region."""
    return {region: az_nodes(region, count) for region in sorted(regions)}


def build(regions: tuple[str, ...], latency: Mapping[tuple[str, str], Latency], count: int,
          policy: MergePolicy, initial: Mapping[str, Item], *, stamps: str,
          skew: Mapping[str, int], protocol: str = "leader", quorum: QuorumConfig | None = None,
          anti_entropy: AntiEntropy | None = None,
          ) -> tuple[list[Any], dict[tuple[str, str], Link], dict[str, WallClock]]:
    """The nodes of every region, the links between them and their clocks (module docs).

    ``protocol`` is ``"leader"`` (:class:`RegionNode`) or ``"leaderless"``
    (:class:`~replicalab.quorum.zone.LeaderlessNode`, with the ``quorum`` config and
    ``anti_entropy`` between the home nodes of each key, if given)."""
    if anti_entropy is not None and protocol != "leaderless":
        raise ConfigError("anti_entropy inside a region runs between the home nodes of a key: give "
                          "protocol='leaderless' with it")
    nodes_of = groups(regions, count)
    answers: dict[str, Item | None] = {}
    replicas: list[Any]
    if protocol == "leaderless":
        from replicalab.quorum.zone import LeaderlessNode  # only leaderless runs need it

        config = quorum if quorum is not None else QuorumConfig(n=count, r=count // 2 + 1, w=count // 2 + 1)
        rings = {region: HashRing(nodes, vnodes=config.vnodes) for region, nodes in nodes_of.items()}
        # Only a key's home nodes start with it: the others never hold it.
        replicas = [LeaderlessNode(node, region, rings, config, policy,
                                   {k: v for k, v in initial.items()
                                    if node in rings[region].preference_list(k, config.n)},
                                   stamps=stamps, answers=answers, anti_entropy=anti_entropy)
                    for region, nodes in nodes_of.items() for node in nodes]
    else:
        leader = LeaderConfig(write_quorum=count // 2 + 1)
        replicas = [RegionNode(node, region, nodes, nodes_of, policy, initial, stamps=stamps,
                               config=leader, answers=answers)
                    for region, nodes in nodes_of.items() for node in nodes]
    links: dict[tuple[str, str], Link] = {}
    for nodes in nodes_of.values():
        for i, a in enumerate(nodes):
            for b in nodes[i + 1:]:
                links[(a, b)] = Link(INTRA_REGION)
    for (ra, rb), lat in latency.items():
        for a in nodes_of[ra]:
            for b in nodes_of[rb]:
                links[(a, b)] = Link(lat)
    clocks = {node: WallClock(skew=ms) for region, ms in skew.items() for node in nodes_of[region]}
    return replicas, links, clocks


class Router:
    """Where a client's request goes inside a region (module docs)."""

    def __init__(self, sim: Simulation, nodes_of: Mapping[str, tuple[str, ...]]) -> None:
        self.sim = sim
        self.nodes_of = dict(nodes_of)

    def node(self, region: str, key: Any, request: Request) -> str:
        """The node of ``region`` that takes ``request`` about ``key`` now."""
        nodes = self.nodes_of[region]
        down = set(self.sim.down)
        live = [n for n in nodes if n not in down]
        if not live:
            return nodes[0]  # the whole region is down: the request fails there, and says so
        node0: Any = self.sim.replicas[live[0]]
        if hasattr(node0, "home"):  # leaderless: a live home node of the key
            if not isinstance(key, str):  # a Query: any live node answers from its own copy
                return live[0]
            home = node0.home(key)
            up = [n for n in home if n not in down]
            # A node catching up after a restart reports itself unhealthy (zone.py docs).
            ready = [n for n in up if not getattr(self.sim.replicas[n], "syncing", False)]
            up = ready or up
            if not up:
                return home[0]  # every home node is down: the request fails there, and says so
            if not request.mutates and not getattr(request, "consistent", False):
                return up[int(self.sim.streams.stream("az-reads").random() * len(up))]
            return up[0]
        if not request.mutates and not getattr(request, "consistent", False):
            return live[int(self.sim.streams.stream("az-reads").random() * len(live))]
        if self.sim.partitioned:  # an AZ partition: writes and strong reads stay on the majority side
            live = self.majority_side(nodes, live)
            node0 = self.sim.replicas[live[0]]
        p = partition_of(str(key), node0.config.partitions)
        leaders = [(self.sim.replicas[n].parts[p].term, n) for n in live  # type: ignore[attr-defined]
                   if self.sim.replicas[n].leads(p)]  # type: ignore[attr-defined]
        if leaders:
            return max(leaders)[1]
        start = p % len(nodes)
        return next(n for n in nodes[start:] + nodes[:start] if n in live)

    def majority_side(self, nodes: tuple[str, ...], live: list[str]) -> list[str]:
        """The nodes of ``live`` that reach a majority of ``nodes`` (themselves included) over
        links no partition cuts — all of ``live`` if none does (then the requests fail or wait
        where they land, and say so)."""
        cut = self.sim._cut
        majority = len(nodes) // 2 + 1
        side = [n for n in live if sum(1 for m in nodes if m == n or (n, m) not in cut) >= majority]
        return side or live

    def freshest(self, region: str) -> Any:
        """The live node of ``region`` that has applied the most of its log (ties: the first)."""
        down = set(self.sim.down)
        nodes = [n for n in self.nodes_of[region] if n not in down] or list(self.nodes_of[region])
        if not hasattr(self.sim.replicas[nodes[0]], "parts"):  # leaderless: no log to compare
            return _HomeView([self.sim.replicas[n] for n in nodes])
        return max((self.sim.replicas[n] for n in nodes),
                   key=lambda node: sum(p.applied for p in node.parts))  # type: ignore[attr-defined]

    def client(self, region: str) -> str:
        """The node a client in ``region`` sits next to: the first live one."""
        down = set(self.sim.down)
        nodes = self.nodes_of[region]
        return next((n for n in nodes if n not in down), nodes[0])

    def send(self, at: int, region: str, key: Any, request: Request, *, client: str, via: str,
             on_reply: Callable[[Simulation, Reply], None] | None = None) -> None:
        """Send ``request`` at ``at`` to ``region`` from a client in region ``via``; the node is
        chosen at ``at`` (who is up, who leads then)."""

        def go(sim: Simulation) -> None:
            node = self.node(region, key, request)
            near = node if via == region else self.client(via)
            sim.client_request(sim.now, node, request, client=client, via=near, on_reply=on_reply)

        self.sim.schedule(at, go)


class _HomeView:
    """A leaderless region's table as one replica's ``items``: each key's item merged (with
    the table's policy) over those of ``nodes`` (the live ones, or all if none is) that are
    home for it — what the region holds: a write is held once a node merged it. (The first
    home node's copy alone could lack a write its coordinator had acknowledged.)"""

    def __init__(self, nodes: list[Any]) -> None:
        items: dict[str, Item] = {}
        for node in nodes:
            for key, item in sorted(node.items.items()):
                if node.owns(key):
                    # Merges commute: the ring order of nodes keeps the result canonical.
                    items[key] = item if key not in items else node.policy.merge(items[key], item).item
        self.items = dict(sorted(items.items()))


def reads_lost(sim: Simulation, node: str) -> None:
    """``node`` has crashed: each client waiting on it for a strong read gets an error now (its
    connection dropped), so every read gets a reply."""
    replica: Any = sim.replicas[node]
    for client, request in replica.drop_reads():
        sim._clients.lost(sim, node, client, request, f"{node} went down before answering; "
                                                         "the client's connection dropped")


def stale_reads(sim: Simulation, reads: Any, replies: Mapping[str, Reply],
                knowledge: Mapping[str, Any], verdicts: Mapping[str, Any]) -> dict[str, str]:
    """``{read op: why}`` for every read that missed an acknowledged write.

    A read *missed* write ``w`` on its key if ``w`` was acknowledged to its client before the
    read was sent, and the item the read was answered with does not hold ``w``'s effect (judged
    as the ledger judges effects: attributes by provenance, counter and set actions by value)
    nor a write that had seen ``w`` in its place (then ``w`` was superseded, not missed) —
    unless that is loss rather than staleness: ``w`` had reached the answering node (ground
    truth ``knowledge`` when it answered) and the ledger's entry for it (``verdicts``: write id
    -> :class:`~replicalab.ledger.Entry`) says it was lost, detected or superseded, at or before
    the answer (or at a time the ledger does not place, as for a set action judged by value);
    the ledger reports those. A write that had reached the node and was not gone by then, yet
    is not in the answer, was not yet applied there (an uncommitted log entry, or a replication
    message the leader had not yet logged): stale.
    """
    facts = sim.writes
    records = {r.id: r for r in write_records(sim)}
    acked = {r.response.op: r.time for r in sim.replies if r.response.ok and r.response.op in facts}
    answered = {e.get("op"): e for e in sim.trace.of_kind("Read")}  # type: ignore[union-attr]
    items = next(iter(sim.replicas.values())).answers  # type: ignore[attr-defined]
    out: dict[str, str] = {}
    for read in reads:
        reply = replies.get(read.op)
        event = answered.get(read.op)
        if reply is None or event is None or not reply.response.ok or read.op not in items:
            continue
        known = knowledge[read.op]
        for op, when in sorted(acked.items(), key=lambda kv: (kv[1], kv[0])):
            fact = facts[op]
            if fact.scope != read.key or when > reply.issued:
                continue
            found = effect_missing(records[op], items[read.op], records)
            if found is None:
                continue
            holders = found[0]
            if holders and all(h in facts and facts[h].saw(fact) for h in holders):
                continue  # overwritten by writes that had seen it
            reached = fact.dot.counter <= known.get(fact.dot.replica)
            entry = verdicts.get(op)
            if (reached and entry is not None and entry.verdict not in ("kept", "unreplicated")
                    and (entry.time is None or entry.time <= event.time)):
                continue
            kind = "strongly" if read.consistent else "eventually"
            out[read.op] = (f"{kind} consistent read answered by {event.replica} at t={event.time} "
                            f"missed {op}, acknowledged at t={when} (the read was sent at "
                            f"t={reply.issued})" + ("; it had reached the node, not yet applied"
                                                    if reached else ""))
            break
    return out
