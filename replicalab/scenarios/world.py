"""The global-table world: regions, a seeded schedule of clients, and a run's result.

A :class:`TableScenario` is data: regions and their one-way latencies, the
items every region starts with, and what clients do (who, where, when,
what). :meth:`TableScenario.run` builds one replica per region, replays the
*same* seeded schedule under the options given, runs to quiescence and
returns a :class:`Result` with the ledger, each region's final items and the
trace. Changing one option changes one thing, so differences in the outcome
are that option's doing.

Options (the seed's landscape, DESIGN §4):

``merge``     the merge policy: ``item-lww`` (as deployed), ``attribute-lww``, ``causal``.
``writes``    ``plain`` (UpdateItem, no condition) or ``versioned``: the client
              reads the item locally, then writes with ``expect_version`` and
              retries on ``ConditionalCheckFailed`` (re-read, re-apply); the
              reconciliation scan flags version forks as ``detected``.
``routing``   ``local`` (write to your own region) or ``key-home``: every key
              has a home region (``homes`` or a stable hash) and writes from
              elsewhere travel there and back.
``mode``      ``mrec`` (asynchronous, the default), ``mrsc`` (synchronous, three
              regions, conflicts rejected) or ``single-primary`` (one writer
              region, writes forwarded to it).
``skew``      ``{region: ms}`` shifts regions' wall clocks.
``stamps``    ``wall`` or ``hlc``: what LWW orders by.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from replicalab.clocks import VectorClock
from replicalab.errors import ConfigError, ReplicaIdError
from replicalab.items import INITIAL_STAMP, Item
from replicalab.ledger import Ledger, WriteRecord, from_simulation
from replicalab.policies import MergePolicy, get_policy
from replicalab.reconcile import Fork, find_version_forks
from replicalab.replica.mrsc import MrscRegion, check_three_regions
from replicalab.replica.table import (
    STAMPS,
    AntiEntropy,
    GetItem,
    PutItem,
    TableReplica,
    UpdateItem,
)
from replicalab.sim.clock import WallClock
from replicalab.sim.faults import Crash
from replicalab.sim.network import Latency, Link
from replicalab.sim.simulation import Reply, Simulation, Statistics, WriteFact
from replicalab.sim.topology import full_mesh
from replicalab.trace import Trace, canonical_json

__all__ = ["INITIAL_STAMP", "ClientRead", "ClientWrite", "Options", "Result", "TableScenario",
           "home_of"]

RESULT_FORMAT = "replicalab/result"

WRITES = ("plain", "versioned")
ROUTING = ("local", "key-home")
MODES = ("mrec", "mrsc", "single-primary")


@attrs.frozen
class ClientWrite:
    """``client`` in ``region`` updates ``key`` at simulated time ``at``.

    ``put=True`` makes it a PutItem that must create the item (append-only
    data). ``read_at`` is when a versioned client read the version it
    expects (default: at the write itself). ``add`` and ``delete`` are
    DynamoDB's ADD and DELETE actions (see :class:`~replicalab.replica.table.UpdateItem`):
    ``add={"used": 1}`` increments a number, ``add={"items": {"pen"}}`` and
    ``delete={"items": {"book"}}`` change a set.
    """

    at: int
    region: str
    op: str
    client: str
    key: str
    attributes: dict[str, Any]
    condition: dict[str, Any] | None = None
    read_at: int | None = None
    put: bool = False
    add: dict[str, Any] = attrs.field(factory=dict)
    delete: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class ClientRead:
    """``client`` in ``region`` reads ``key`` at ``at`` (strongly consistent unless told otherwise)."""

    at: int
    region: str
    op: str
    client: str
    key: str
    consistent: bool = True


def _choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ConfigError(f"unknown {name} {value!r}; choose one of: {', '.join(allowed)}")
    return value


@attrs.frozen
class Options:
    """The validated options of one run (see the module docs)."""

    merge: str = "item-lww"
    seed: int = 0
    writes: str = "plain"
    routing: str = "local"
    mode: str = "mrec"
    homes: dict[str, str] = attrs.field(factory=dict)
    primary: str | None = None
    skew: dict[str, int] = attrs.field(factory=dict)
    stamps: str = "wall"
    retries: int = 3
    durable: bool | None = None

    def non_default(self, defaults: Options | None = None) -> dict[str, Any]:
        """The options that differ from ``defaults``, for output (merge and seed excluded)."""
        defaults = defaults or Options()
        out: dict[str, Any] = {}
        for field in attrs.fields(Options):
            if field.name in ("merge", "seed"):
                continue
            value = getattr(self, field.name)
            if value != getattr(defaults, field.name):
                out[field.name] = dict(sorted(value.items())) if isinstance(value, dict) else value
        return out

    @property
    def label(self) -> str:
        """A short name for the pattern these options make, e.g. ``item-lww + versioned``."""
        if self.mode == "mrsc":
            base = "mrsc"
        elif self.mode == "single-primary":
            base = f"single-primary ({self.merge})"
        else:
            base = self.merge
        extras = [self.writes] if self.writes != "plain" else []
        if self.routing != "local":
            extras.append(self.routing)
        if self.stamps != "wall":
            extras.append(f"{self.stamps} stamps")
        return " + ".join([base, *extras])


def _refuse_nonsense(scenario: TableScenario, merge: str, mode: str, routing: str,
                     durable: bool | None) -> None:
    """Refuse option combinations that make no sense, naming the conflict (DESIGN §4).

    * ``mode="mrsc"`` orders writes by commit: there is nothing for a merge
      policy to resolve, so only the default ``merge="item-lww"`` is accepted.
    * ``mode="single-primary"`` sends every write to the primary; ``routing="key-home"``
      would send it to the key's home instead: two routing rules, one request.
    * ``durable`` says whether a crash keeps state: a scenario without a crash
      has nothing for it to change.
    """
    if mode == "mrsc" and merge != "item-lww":
        raise ConfigError(
            f"mode='mrsc' orders writes by commit, so merge={merge!r} would never run; "
            "leave merge at its default (item-lww) with mode='mrsc'")
    if mode == "single-primary" and routing == "key-home":
        raise ConfigError(
            "mode='single-primary' sends every write to the primary region and "
            "routing='key-home' sends it to the key's home: choose one of them")
    if durable is not None and not any(isinstance(f, Crash) for f in scenario.faults):
        raise ConfigError(
            f"durable={durable!r} says whether a crash keeps a region's state, but scenario "
            f"{scenario.name!r} has no crash; scenarios with one: crash")


def home_of(key: str, regions: Sequence[str], homes: Mapping[str, str] | None = None) -> str:
    """The home region of ``key``: ``homes[key]`` if given, else a stable hash of the key.

    The hash is SHA-256 of the key modulo the sorted regions, so the same key
    has the same home in every process (never Python's ``hash()``).

        >>> home_of("sub_42", ["ap-southeast-2", "eu-west-1", "us-east-1"], {"sub_42": "eu-west-1"})
        'eu-west-1'
    """
    if homes and key in homes:
        return homes[key]
    ordered = sorted(regions)
    digest = hashlib.sha256(key.encode()).digest()
    return ordered[int.from_bytes(digest[:8], "big") % len(ordered)]


def _percentile(values: Sequence[int], q: float) -> int | None:
    """Nearest-rank percentile of integer values (None for none)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(q * 100) * len(ordered) // 100))  # ceil(q * n), at least 1
    return ordered[rank - 1]


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
    label: str = ""
    forks: tuple[Fork, ...] = ()
    write_latencies: tuple[int, ...] = ()
    stale_reads: tuple[str, ...] = ()
    reads: int = 0
    regions: tuple[str, ...] = ()
    facts: tuple[WriteFact, ...] = attrs.field(default=(), repr=False)
    skew: dict[str, int] = attrs.field(factory=dict)
    components: tuple[tuple[str, ...], ...] = ()

    @property
    def sync(self) -> dict[str, int]:
        """Anti-entropy totals: sessions, bytes sent, hashes, items, keys repaired, and the
        bytes a full-state transfer would have needed for the same sessions."""
        events = self.trace.of_kind("Synced")
        return {
            "sessions": len(events),
            "bytes": sum(e.get("bytes_sent") for e in events),
            "hashes": sum(e.get("hashes_sent") for e in events),
            "items": sum(e.get("items_sent") for e in events),
            "repaired": sum(len(e.get("repaired")) for e in events),
            "full_state_bytes": sum(e.get("full_state_bytes") for e in events),
        }

    @property
    def summary(self) -> dict[str, int]:
        """Verdict counts: acknowledged, kept, superseded, silently_lost, detected, rejected."""
        return self.ledger.summary

    @property
    def siblings_visible(self) -> int:
        """How many (region, key) pairs end with more than one concurrent version."""
        return sum(item.has_siblings for keys in self.items.values() for item in keys.values())

    @property
    def latency(self) -> dict[str, int | None]:
        """Client-observed write latency in simulated ms: ``{"p50", "p99", "max"}``."""
        values = self.write_latencies
        return {"p50": _percentile(values, 0.5), "p99": _percentile(values, 0.99),
                "max": max(values) if values else None}

    def to_plain(self) -> dict[str, Any]:
        """The canonical result document as plain data."""
        return {
            "format": RESULT_FORMAT,
            "schema_version": 1,
            "scenario": self.scenario,
            "merge": self.merge,
            "seed": self.seed,
            "options": self.options,
            "pattern": self.label,
            "summary": self.summary,
            "converged": self.converged,
            "siblings_visible": self.siblings_visible,
            "write_latency_ms": self.latency,
            "stale_strong_reads": list(self.stale_reads),
            "version_forks": [attrs.asdict(f) | {"writes": list(f.writes)} for f in self.forks],
            "final": self.final,
            "ledger": self.ledger.to_plain(),
            "statistics": attrs.asdict(self.statistics),
            "trace": self.trace.to_plain(),
        }

    def to_json(self) -> str:
        """The canonical JSON result document: same seed, same bytes."""
        return canonical_json(self.to_plain())

    def timeline(self) -> str:
        """A short numbered timeline of writes, rejections, reads and merges."""
        from replicalab.viz.text import timeline

        return timeline(self)

    def report(self) -> str:
        """Timeline, final items and ledger, formatted for people (what the CLI prints)."""
        from replicalab.viz.text import report

        return report(self)

    def to_svg(self, *, compact: bool | None = None) -> str:
        """The space-time diagram as standalone SVG: a lane per region, messages, merges, losses."""
        from replicalab.viz.svg import to_svg

        return to_svg(self, compact=compact)

    def to_html(self) -> str:
        """A self-contained step-through page (inline SVG, script and data; no network)."""
        from replicalab.viz.html import to_html

        return to_html(self)

    def to_mermaid(self) -> str:
        """Mermaid sequence-diagram text of the run."""
        from replicalab.viz.mermaid import to_mermaid

        return to_mermaid(self)

    def to_shiviz(self) -> str:
        """A ShiViz log: one event per step, happens-before vector clocks from the trace."""
        from replicalab.viz.shiviz import to_shiviz

        return to_shiviz(self)

    def _repr_svg_(self) -> str:
        """Jupyter: the space-time diagram."""
        return self.to_svg()

    def _repr_html_(self) -> str:
        """Jupyter: the diagram and the ledger (static HTML, no script)."""
        from replicalab.viz.html import html_fragment

        return html_fragment(self)


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
        """Validate run options against this scenario; raise :class:`ConfigError` on bad ones.

        ``merge`` is a registered policy's name or a :class:`~replicalab.policies.MergePolicy`
        instance (your own policy); ``Options.merge`` holds its name.
        """
        policy = get_policy(merge)
        merge = policy.name or type(policy).__name__
        if type(seed) is not int:
            raise ConfigError(f"seed must be an integer, got {seed!r}")
        unknown = sorted(set(given) - {f.name for f in attrs.fields(Options)} - {"merge", "seed"})
        if unknown:
            names = ", ".join(f.name for f in attrs.fields(Options))
            raise ConfigError(f"unknown option(s) {unknown}; options are: {names}")
        writes = _choice("writes", given.get("writes", "plain"), WRITES)
        routing = _choice("routing", given.get("routing", "local"), ROUTING)
        mode = _choice("mode", given.get("mode", "mrec"), MODES)
        stamps = _choice("stamps", given.get("stamps", "wall"), STAMPS)
        homes = given.get("homes")
        homes = dict(self.homes) if homes is None else homes
        if not isinstance(homes, Mapping):
            raise ConfigError(f"homes must be a mapping of key -> region, got {homes!r}")
        for key, region in homes.items():
            self._region(region, f"home of {key!r}")
        primary = given.get("primary") or self.primary or sorted(self.regions)[-1]
        self._region(primary, "primary")
        skew = given.get("skew")
        skew = dict(self.skew) if skew is None else skew
        if not isinstance(skew, Mapping):
            raise ConfigError(
                f"skew must be a mapping of region -> ms, e.g. {{'us-east-1': -60}}; got {skew!r}"
            )
        for region, ms in skew.items():
            self._region(region, "skew")
            if type(ms) is not int:
                raise ConfigError(f"skew for {region} must be an integer number of ms, got {ms!r}")
            if self.epoch + ms < 0:
                raise ConfigError(
                    f"skew {ms} ms for {region} would put its wall clock before the time origin "
                    f"(epoch {self.epoch} ms); use a skew >= {-self.epoch}"
                )
        retries = given.get("retries", 3)
        if type(retries) is not int or retries < 0:
            raise ConfigError(f"retries must be an integer >= 0, got {retries!r}")
        if mode == "mrsc":
            check_three_regions(self.regions)
        durable = given.get("durable")
        if durable is not None and not isinstance(durable, bool):
            raise ConfigError(f"durable must be True or False, got {durable!r}")
        _refuse_nonsense(self, merge, mode, routing, durable)
        return Options(merge=merge, seed=seed, writes=writes, routing=routing, mode=mode,
                       homes=dict(homes), primary=primary, skew=dict(skew), stamps=stamps,
                       retries=retries, durable=durable)

    def initial_items(self, merge: str | MergePolicy = "item-lww") -> dict[str, Item]:
        """The items every region starts with, shaped for merge policy ``merge``
        (a set attribute is a sorted list under the LWW policies, an OR-Set under ``crdt``)."""
        policy = get_policy(merge)
        return {key: policy.initial(attributes) for key, attributes in sorted(self.initial.items())}

    def _region(self, region: Any, what: str) -> None:
        if region not in self.regions:
            raise ReplicaIdError(
                f"{what} names unknown region {region!r}; regions are {list(self.regions)}"
            )

    def run(self, merge: str | MergePolicy = "item-lww", seed: int = 0, **given: Any) -> Result:
        """Replay the scenario with the given options (see the module docs).

        ``merge`` may be a policy of your own (a :class:`~replicalab.policies.MergePolicy`).
        """
        policy = get_policy(merge)
        opts = self.options(policy, seed, **given)
        if opts.mode == "mrsc":
            initial = self.initial_items("item-lww")
            # Regions catch up by log shipping at the scenario's anti-entropy period, if any.
            catch_up = self.anti_entropy.period if self.anti_entropy is not None else None
            replicas = [MrscRegion(r, "item-lww", initial, stamps=opts.stamps, catch_up=catch_up)
                        for r in self.regions]
        else:
            initial = self.initial_items(policy)
            replicas = [TableReplica(r, policy, initial, stamps=opts.stamps,
                                     replication_delay=self.replication_delay,
                                     anti_entropy=self.anti_entropy) for r in self.regions]
        sim = Simulation(
            replicas,
            topology=full_mesh(self.regions),
            seed=opts.seed,
            links={pair: Link(latency) for pair, latency in self.latency.items()},
            clocks={r: WallClock(skew=ms) for r, ms in opts.skew.items()},
            epoch=self.epoch,
            trace=True,
        )
        clients = _Clients(sim, self, opts)
        for write in self.workload:
            clients.write(write)
        for read in self.reads:
            clients.read(read)
        faults = self.faults
        if opts.durable is not None:
            faults = tuple(attrs.evolve(f, durable=opts.durable) if isinstance(f, Crash) else f
                           for f in faults)
        sim.add_faults(faults)
        if self.horizon is not None:
            sim.run(until=self.horizon)  # anti-entropy timers never stop: run for a fixed time
        else:
            sim.run_until_quiescent()
        return self._result(sim, opts, clients, policy)

    def _result(self, sim: Simulation, opts: Options, clients: _Clients,
                policy: MergePolicy) -> Result:
        items = {rid: dict(sorted(r.items.items())) for rid, r in sim.replicas.items()}  # type: ignore[attr-defined]
        reference = next(iter(items.values()))
        forks = tuple(find_version_forks(sim.trace))  # type: ignore[arg-type]
        reports = {w: f.describe() for f in forks for w in f.writes}
        ledger = from_simulation(sim, reports, clients.abandoned)
        return Result(
            scenario=self.name,
            merge="mrsc" if opts.mode == "mrsc" else opts.merge,
            seed=opts.seed,
            options=opts.non_default(self.options(policy, opts.seed)),
            epoch=self.epoch,
            ledger=ledger,
            final={rid: {k: item.to_plain() for k, item in keys.items()} for rid, keys in items.items()},
            items=items,
            converged=not sim.partitioned and all(states == reference for states in items.values()),
            components=tuple(tuple(c) for c in sim.components()) if sim.partitioned else (),
            trace=sim.trace,  # type: ignore[arg-type]
            statistics=sim.statistics(),
            label=opts.label,
            forks=forks,
            write_latencies=tuple(r.latency for r in sim.replies if r.response.op in sim.writes),
            stale_reads=clients.stale_reads(),
            reads=len(self.reads),
            regions=tuple(sorted(self.regions)),
            facts=tuple(sim.writes.values()),
            skew=dict(sorted(opts.skew.items())),
        )


class _Clients:
    """The client side of a run: where requests go, versioned read-then-write, retries."""

    def __init__(self, sim: Simulation, scenario: TableScenario, opts: Options) -> None:
        self.sim = sim
        self.scenario = scenario
        self.opts = opts
        self.read_replies: dict[str, Reply] = {}
        #: Ground truth: the writes on the read's key that had reached the answering region.
        self.read_knowledge: dict[str, VectorClock] = {}
        #: Writes a versioned client gave up before sending: its read failed.
        self.abandoned: list[WriteRecord] = []

    def target(self, key: str, region: str, writing: bool) -> str:
        """The region a request for ``key`` from a client in ``region`` goes to."""
        if writing and self.opts.mode == "single-primary":
            return self.opts.primary  # type: ignore[return-value]
        if writing and self.opts.routing == "key-home":
            return home_of(key, self.scenario.regions, self.opts.homes)
        return region

    def write(self, w: ClientWrite) -> None:
        target = self.target(w.key, w.region, writing=True)
        if self.opts.writes == "versioned" and not w.put:
            self._versioned(w, target, attempt=1, at=w.read_at if w.read_at is not None else w.at)
            return
        if w.put:
            request: Any = PutItem(w.op, w.key, w.attributes, w.condition)
        else:
            request = UpdateItem(w.op, w.key, w.attributes, w.condition, add=w.add,
                                 delete=w.delete)
        self.sim.client_request(w.at, target, request, client=w.client, via=w.region)

    def _versioned(self, w: ClientWrite, target: str, attempt: int, at: int) -> None:
        suffix = "" if attempt == 1 else f".retry{attempt - 1}"
        read_op, write_op = f"{w.op}{suffix}.read", f"{w.op}{suffix}"

        def after_read(sim: Simulation, reply: Reply) -> None:
            if not reply.response.ok:  # the read never got an answer: the write is not sent
                self.abandoned.append(WriteRecord(
                    id=write_op, replica=target, key=w.key, time=sim.now, client=w.client,
                    attributes=dict(w.attributes), dot=None, seen=VectorClock(),
                    acknowledged=False, error=(f"not sent: the versioned read {read_op} failed "
                                               f"({reply.response.error}: "
                                               f"{reply.response.message})")))
                return
            item = reply.response.item  # type: ignore[attr-defined]
            versions = [v.get("version") for v in (item if isinstance(item, list) else [item]) if v]
            known = [v for v in versions if type(v) is int]
            if item is None:
                request = UpdateItem(write_op, w.key, w.attributes, create_if_absent=True,
                                     add=w.add, delete=w.delete)
            elif not known:  # an item without a version attribute yet: start it at 1
                request = UpdateItem(write_op, w.key, {**w.attributes, "version": 1},
                                     condition={"version": None}, add=w.add, delete=w.delete,
                                     versioned=True)
            else:
                request = UpdateItem(write_op, w.key, w.attributes, expect_version=max(known),
                                     add=w.add, delete=w.delete)
            sim.client_request(max(sim.now, w.at), target, request, client=w.client, via=w.region,
                               on_reply=after_write)

        def after_write(sim: Simulation, reply: Reply) -> None:
            if reply.response.error == "ConditionalCheckFailed" and attempt <= self.opts.retries:
                self._versioned(w, target, attempt + 1, sim.now)

        self.sim.client_request(at, target, GetItem(read_op, w.key), client=w.client, via=w.region,
                                on_reply=after_read)

    def read(self, r: ClientRead) -> None:
        def keep(sim: Simulation, reply: Reply) -> None:
            self.read_replies[r.op] = reply
            # The region has answered; a global read's answer includes what the regions it
            # asked knew, and their replies carried that knowledge here.
            self.read_knowledge[r.op] = sim.knowledge(r.region, r.key)

        self.sim.client_request(r.at, r.region, GetItem(r.op, r.key, consistent=r.consistent),
                                client=r.client, via=r.region, on_reply=keep)

    def stale_reads(self) -> tuple[str, ...]:
        """Strong reads that missed a write acknowledged before they began.

        A read is stale if some write on its key was acknowledged to its client
        before the read was sent, yet had not reached the answering region when
        it answered (ground truth: no message carrying its effect had arrived).
        A write that arrived and then lost a merge is not staleness but loss;
        the ledger reports it.
        """
        facts = self.sim.writes
        acked = {r.response.op: r.time for r in self.sim.replies
                 if r.response.ok and r.response.op in facts}
        stale = []
        for read in self.scenario.reads:
            reply = self.read_replies.get(read.op)
            if reply is None or not read.consistent:
                continue
            known = self.read_knowledge[read.op]
            for op, when in sorted(acked.items()):
                fact = facts[op]
                if fact.scope != read.key or when > reply.issued:
                    continue
                if fact.dot.counter > known.get(fact.dot.replica):
                    stale.append(read.op)
                    break
        return tuple(stale)
