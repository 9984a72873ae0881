"""``dynamo``: a leaderless cluster inside one region, with N/R/W quorums you can turn.

Five nodes (``nodes=``) in three Availability Zones (``n1``, ``n4`` in az-a; ``n2``, ``n5``
in az-b; ``n3`` in az-c) hold a few keys on a consistent-hash ring. Clients issue a seeded
mix of reads and writes, each to a node chosen at random, which coordinates it (see
:mod:`replicalab.quorum.node`). A client writes with the context of its last read or write
of the key (read-your-context, as Dynamo's clients do), so one client's writes supersede
each other and two clients' concurrent writes become siblings.

Options (all checked; an unknown one raises :class:`~replicalab.errors.ConfigError`):

``n``, ``r``, ``w``   replicas per key, read and write quorum (default 3, 2, 2)
``sloppy``           stand-ins with hints when home nodes do not answer (default False)
``fault``            ``none``; ``crash`` (a home node of ``k0`` crashes, keeping its disk,
                     and restarts); ``crash-lossy`` (the same, losing its state);
                     ``az-outage`` (every node of az-a down, then back);
                     ``az-partition`` (az-a cut off from the other AZs, then healed);
                     ``isolated-crash`` (az-a cut off, then ``n1`` in it crashes losing its
                     state: what only az-a had is gone)
``heal``             whether the fault ends (restart / heal) before the run does (default True)
``ops``, ``keys``, ``clients``, ``reads``   the workload: how many operations, over how
                     many keys, by how many clients, which fraction are reads
``gap``              ms between operations (default 2)
``timeout``, ``handoff_period``, ``anti_entropy``, ``read_repair``, ``vnodes``  see
                     :class:`~replicalab.quorum.config.QuorumConfig`
``trace``            record the trace (default True; off: faster, no ledger)

The result is a :class:`QuorumResult`: the write ledger
(:mod:`replicalab.ledger.quorum`), the stale reads with their whys, each node's final
keys and hints, and the trace (``to_svg()`` draws it).

    >>> r = run(seed=0, n=3, r=1, w=1, ops=60)
    >>> r.summary["lost"], len(r.stale_reads) > 0
    (0, True)
    >>> run(seed=0, n=3, r=2, w=2, ops=60).stale_reads
    ()
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from replicalab import _validate
from replicalab.dots import Dot
from replicalab.errors import ConfigError
from replicalab.ledger.quorum import (
    QUORUM_VERDICTS,
    NodeState,
    QuorumLedger,
    QuorumRead,
    QuorumWrite,
    StaleRead,
    judge_quorum,
    stale_reads,
)
from replicalab.quorum import DynamoNode, Get, GetDone, HashRing, Put, PutDone, QuorumConfig
from replicalab.quorum.versions import EMPTY
from replicalab.sim.faults import Crash, Heal, Partition, Restart
from replicalab.sim.network import Constant, Link, Uniform
from replicalab.sim.records import Statistics
from replicalab.sim.simulation import Simulation
from replicalab.trace import Trace, canonical_json
from replicalab.viz import svg

__all__ = ["DESCRIPTION", "FAULTS", "NAME", "SETTINGS", "QuorumResult", "az_of", "compare_rows",
           "compare_table", "run"]

NAME = "dynamo"
DESCRIPTION = "a leaderless Dynamo cluster in one region: turn N, R, W and sloppy, watch stale reads and lost writes"
FAULTS = ("none", "crash", "crash-lossy", "az-outage", "az-partition", "isolated-crash")
AZS = ("az-a", "az-b", "az-c")
#: Hard caps, so a typo cannot ask for a run that does not end.
MAX_OPS = 100_000
MAX_NODES = 32

_DEFAULTS: dict[str, Any] = {
    "n": 3, "r": 2, "w": 2, "sloppy": False, "fault": "none", "heal": True, "nodes": 5,
    "ops": 200, "keys": 4, "clients": 2, "reads": 0.5, "gap": 2, "timeout": 50,
    "handoff_period": 200, "anti_entropy": None, "read_repair": True, "vnodes": 8, "trace": True,
}


def az_of(node: str, nodes: tuple[str, ...]) -> str:
    """The Availability Zone of ``node``: nodes go round-robin over az-a, az-b, az-c."""
    if not isinstance(nodes, tuple) or not isinstance(node, str) or node not in nodes:
        raise ConfigError(f"az_of takes a node id and the tuple of nodes it is one of, got "
                          f"{_validate.shown(node)} and {_validate.shown(nodes)}")
    return AZS[nodes.index(node) % len(AZS)]


@attrs.frozen
class QuorumResult:
    """What one ``dynamo`` run produced, as values. ``final``: ``{node: {key: [values]}}``;
    ``hints``: ``{node: {home: {key: [values]}}}`` still held at the end.

    A node down at the end having lost its state (``fault="crash-lossy"`` or
    ``"isolated-crash"`` with ``heal=False``) holds nothing: ``final`` and ``hints`` show it
    empty, whatever its process held before the crash, and ``state_lost`` names it with the
    time of that crash (None of it counts for ``siblings`` or the ledger)."""

    scenario: str
    seed: int
    options: dict[str, Any]
    config: QuorumConfig
    ledger: QuorumLedger
    stale_reads: tuple[StaleRead, ...]
    reads: int
    final: dict[str, dict[str, list[Any]]]
    hints: dict[str, dict[str, dict[str, list[Any]]]]
    statistics: Statistics
    homes: dict[str, tuple[str, ...]]
    azs: dict[str, str]
    trace: Trace | None = attrs.field(repr=False, eq=False)  # a Trace compares by identity
    failed_reads: int = 0
    state_lost: dict[str, int] = attrs.field(factory=dict)
    """``{node: time of its crash}`` for each node down at the end without its state."""

    @property
    def summary(self) -> dict[str, int]:
        """Write verdict counts (see :mod:`replicalab.ledger.quorum`) plus ``stale_reads``."""
        return self.ledger.summary | {"stale_reads": len(self.stale_reads)}

    @property
    def sync(self) -> dict[str, int]:
        """Anti-entropy totals (``anti_entropy=`` set; zeros otherwise): ``sessions`` (trees
        sent), ``rounds`` (messages: a session is the tree, then at most two item messages),
        ``bytes`` (the byte model of :mod:`replicalab.quorum.node`), ``tree_bytes`` (of it,
        the trees), ``keys_compared`` (keys in the trees), ``repaired`` (keys found to
        differ)."""
        if self.trace is None:
            raise ConfigError("this run was made with trace=False; its sync totals are in the trace")
        sent = self.trace.of_kind("QuorumSyncSent")
        trees = [e for e in sent if e.get("flight") == "tree"]
        return {"sessions": len(trees), "rounds": len(sent),
                "bytes": sum(e.get("bytes") for e in sent),
                "tree_bytes": sum(e.get("bytes") for e in trees),
                "keys_compared": sum(e.get("keys") for e in trees),
                "repaired": sum(len(e.get("differ")) for e in self.trace.of_kind("QuorumSynced"))}

    @property
    def siblings(self) -> dict[str, int]:
        """``{key: most concurrent versions any node holds for it}``, for keys with siblings."""
        out: dict[str, int] = {}
        for keys in self.final.values():
            for key, values in keys.items():
                if len(values) > 1:
                    out[key] = max(out.get(key, 0), len(values))
        return dict(sorted(out.items()))

    def report(self) -> str:
        """The configuration, the verdict counts, the stale reads and the ledger, as text."""
        c = self.config
        lines = [f"dynamo  N={c.n} R={c.r} W={c.w} sloppy={c.sloppy}  seed={self.seed}  "
                 f"fault={self.options.get('fault', 'none')}",
                 "  ".join(f"{k}={v}" for k, v in self.summary.items()), ""]
        if self.state_lost:  # their memory is gone: final and hints show them empty
            lines += [", ".join(f"{n} is down, its state lost (crashed at t={t}, durable=False)"
                                for n, t in self.state_lost.items()) + ": it holds nothing", ""]
        if self.stale_reads:
            lines += ["stale reads:"] + [f"  {s}" for s in self.stale_reads] + [""]
        if c.anti_entropy is not None and self.trace is not None:
            lines += ["anti-entropy: " + "  ".join(f"{k}={v}" for k, v in self.sync.items()), ""]
        lines.append(self.ledger.table())
        return "\n".join(lines)

    def to_plain(self) -> dict[str, Any]:
        return {"format": "replicalab/quorum-result", "schema_version": 1, "scenario": self.scenario,
                "seed": self.seed, "options": self.options, "summary": self.summary,
                "stale_reads": [attrs.asdict(s) for s in self.stale_reads],
                "ledger": self.ledger.to_plain(), "final": self.final, "hints": self.hints,
                **({"state_lost": self.state_lost} if self.state_lost else {}),
                "trace": self.trace.to_plain() if self.trace is not None else None}

    def to_json(self) -> str:
        """Canonical JSON: same seed, same bytes."""
        return canonical_json(self.to_plain())

    @property
    def label(self) -> str:
        """``N=3 R=2 W=2 sloppy, fault=crash``: the settings, as picture titles show them."""
        c = self.config
        fault = self.options.get("fault", "none")
        return (f"N={c.n} R={c.r} W={c.w}" + (" sloppy" if c.sloppy else "")
                + (f", fault={fault}" if fault != "none" else ""))

    def to_svg(self, *, compact: bool | None = None, width: float | None = None) -> str:
        """The space-time diagram of the run: a lane per node, each client write marked with
        its quorum verdict (kept, sibling, superseded, lost, hint-only, rejected; the notes
        say why), stale reads in orange, and a legend."""
        if self.trace is None:
            raise ConfigError("this run was made with trace=False; run it again with trace=True to draw it")
        compact, width = svg.checked_view(compact, width)
        return svg.to_svg(self, compact=compact, width=width)


def options(**given: Any) -> dict[str, Any]:
    """The run's options: the defaults updated with ``given``, each checked."""
    unknown = sorted(set(given) - set(_DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown option(s) {unknown} for the dynamo scenario; "
                          f"valid: {', '.join(sorted(_DEFAULTS))}")
    opts = _DEFAULTS | given
    for name in ("nodes", "ops", "keys", "clients", "gap"):
        value, high = opts[name], {"nodes": MAX_NODES, "ops": MAX_OPS}.get(name, 10_000)
        if type(value) is not int or not 1 <= value <= high:
            raise ConfigError(f"{name} must be an integer from 1 to {high}, got {_validate.shown(value)}")
    if opts["fault"] not in FAULTS:
        raise ConfigError(f"fault must be one of {', '.join(FAULTS)}, got {_validate.shown(opts['fault'])}")
    for name in ("heal", "trace"):
        if type(opts[name]) is not bool:
            raise ConfigError(f"{name} must be True or False, got {_validate.shown(opts[name])}")
    reads = opts["reads"]
    if type(reads) not in (int, float) or not 0 <= reads <= 1:
        raise ConfigError(f"reads must be a fraction from 0 to 1, got {_validate.shown(reads)}")
    if opts["nodes"] < opts["n"]:
        raise ConfigError(f"n={opts['n']} replicas per key need nodes >= {opts['n']}, got nodes={opts['nodes']}")
    if opts["fault"] in ("az-outage", "az-partition", "isolated-crash") and opts["nodes"] < 3:
        raise ConfigError(f"fault={opts['fault']!r} needs nodes >= 3 (one per AZ)")
    return opts


def _config(opts: Mapping[str, Any]) -> QuorumConfig:
    return QuorumConfig(n=opts["n"], r=opts["r"], w=opts["w"], sloppy=opts["sloppy"],
                        timeout=opts["timeout"], handoff_period=opts["handoff_period"],
                        read_repair=opts["read_repair"], anti_entropy=opts["anti_entropy"],
                        vnodes=opts["vnodes"])


def _faults(opts: Mapping[str, Any], nodes: tuple[str, ...], ring: HashRing, end: int) -> list[Any]:
    fault = opts["fault"]
    if fault == "none":
        return []
    down, up = end * 3 // 10, end * 6 // 10
    if fault in ("crash", "crash-lossy"):
        victim = ring.preference_list("k0", opts["n"])[0]
        out: list[Any] = [Crash(down, victim, durable=fault == "crash")]
        return out + ([Restart(up, victim)] if opts["heal"] else [])
    zone = [n for n in nodes if az_of(n, nodes) == "az-a"]
    if fault == "az-outage":
        out = [Crash(down, n, durable=True) for n in zone]
        return out + ([Restart(up, n) for n in zone] if opts["heal"] else [])
    out = [Partition(down, [zone, [n for n in nodes if n not in zone]])]
    if fault == "isolated-crash":
        out += [Crash((down + up) // 2, zone[0], durable=False)]
        out += [Restart(up - 1, zone[0])] if opts["heal"] else []
    return out + ([Heal(up)] if opts["heal"] else [])


def build(seed: int = 0, **given: Any) -> tuple[Simulation, dict[str, Any]]:
    """The simulation of a run, with its workload and faults scheduled, not yet run."""
    opts = options(**given)
    config = _config(opts)
    nodes = tuple(f"n{i}" for i in range(1, opts["nodes"] + 1))
    ring = HashRing(nodes, vnodes=config.vnodes)
    # One AZ's nodes are 1 ms apart; crossing AZs costs 1-4 ms.
    links = {(a, b): Link(Constant(1)) for a in nodes for b in nodes
             if a < b and az_of(a, nodes) == az_of(b, nodes)}
    sim = Simulation([DynamoNode(n, ring, config) for n in nodes], seed=seed,
                     link=Link(Uniform(1, 4)), links=links, trace=opts["trace"])
    workload = sim.streams.stream("workload")
    session: dict[tuple[str, str], Any] = {}

    def remember(client: str, key: str):  # type: ignore[no-untyped-def]
        def on_reply(_sim: Simulation, reply: Any) -> None:
            response = reply.response
            context = session.get((client, key), EMPTY)
            if isinstance(response, GetDone) and response.ok:
                session[(client, key)] = context.merge(response.context)
            elif isinstance(response, PutDone) and response.ok:
                replica, _, counter = response.dot.rpartition(":")
                session[(client, key)] = context.add(Dot(replica, int(counter)))
        return on_reply

    def issue(at: int, node: str, client: str, key: str, op: str, read: bool):  # type: ignore[no-untyped-def]
        def action(s: Simulation) -> None:
            request: Any = (Get(op, key=key) if read else
                            Put(op, key=key, value=f"{client}.{op}", context=session.get((client, key), EMPTY)))
            s.client_request(s.now, node, request, client=client, on_reply=remember(client, key))
        return action

    for i in range(opts["ops"]):
        at = (i + 1) * opts["gap"]
        key = f"k{int(workload.random() * opts['keys'])}"
        client = f"c{int(workload.random() * opts['clients']) + 1}"
        node = nodes[int(workload.random() * len(nodes))]
        read = workload.random() < opts["reads"]
        sim.schedule(at, issue(at, node, client, key, f"{'r' if read else 'w'}{i + 1}", read))
    end = (opts["ops"] + 1) * opts["gap"]
    sim.add_faults(_faults(opts, nodes, ring, end))
    return sim, opts | {"_end": end, "_ring": ring, "_config": config}


def run(seed: int = 0, **given: Any) -> QuorumResult:
    """Run the ``dynamo`` scenario (see the module docs) and judge it."""
    sim, opts = build(seed, **given)
    end, ring, config = opts.pop("_end"), opts.pop("_ring"), opts.pop("_config")
    # Hinted handoff retries until hints are home; give it time, then stop (anti-entropy never does).
    horizon = end + max(2000, 4 * config.handoff_period + 4 * config.timeout)
    sim.run(until=horizon)
    return _result(sim, seed, opts, ring, config)


def _result(sim: Simulation, seed: int, opts: dict[str, Any], ring: HashRing,
            config: QuorumConfig) -> QuorumResult:
    nodes = ring.nodes
    replicas: dict[str, DynamoNode] = {n: sim.replica(n) for n in nodes}  # type: ignore[misc]
    trace = sim.trace
    back = {e.replica for e in trace.of_kind("Restarted")} if trace else set()
    down = set(sim.down)
    # Down at the end without its disk: its memory is gone, so it holds nothing (QuorumResult docs).
    lost = sim.state_lost
    states = [NodeState(n, replicas[n].store, replicas[n].hints,
                        intact=n not in lost, up=n not in down) for n in nodes]
    keys = sorted({k for r in replicas.values() for k in r.store} |
                  {f"k{i}" for i in range(opts["keys"])})
    homes = {k: ring.preference_list(k, config.n) for k in keys}
    replies = {r.response.op: r for r in sim.replies}
    ledger, reads, failed_reads = QuorumLedger(()), 0, 0
    stale: tuple[StaleRead, ...] = ()
    if trace is not None:
        crashes: dict[str, str] = {}
        for e in trace.of_kind("Crashed"):
            if not e.get("durable") and e.replica is not None:
                crashes[e.replica] = f"crashed at t={e.time} losing its state" + (
                    ", restarted empty" if e.replica in back else "")
        puts = {e.get("op"): e for e in trace.of_kind("QuorumPut")}
        stored: dict[str, list[str]] = {}
        for e in trace.of_kind("QuorumStored", "HintStored"):
            for dot in e.get("dots"):
                holders = stored.setdefault(dot, [])
                if e.replica is not None and e.replica not in holders:
                    holders.append(e.replica)
        writes, read_records = [], []
        for e in trace.of_kind("ClientRequested", "RequestFailed"):
            request = e.get("request")
            op = e.get("op")
            reply = replies.get(op)
            response = reply.response if reply is not None else None
            if request.get("type") == "Put":
                put = puts.get(op)
                dot_text = put.get("dot") if put is not None else None
                dot = None
                if dot_text is not None:
                    replica, _, counter = dot_text.rpartition(":")
                    dot = Dot(replica, int(counter))
                writes.append(QuorumWrite(
                    op, request["key"], e.get("client"), e.time, dot,
                    acknowledged=bool(response is not None and response.ok),
                    answered=reply.time if reply is not None else None,
                    error=response.error if response is not None else None,
                    stored_at=tuple(sorted(stored.get(dot_text, ()))) if dot_text else ()))
            elif isinstance(response, GetDone) and response.ok:
                read_records.append(QuorumRead(op, request["key"], e.time, response.versions,
                                               response.replied))
            else:
                failed_reads += 1
        ledger = judge_quorum(writes, states, homes, crashes)
        stale = stale_reads(read_records, writes)
        reads = len(read_records)
    shown = {k: v for k, v in opts.items() if not k.startswith("_") and _DEFAULTS.get(k) != v}
    return QuorumResult(
        scenario=NAME, seed=seed, options=dict(sorted(shown.items())), config=config,
        ledger=ledger, stale_reads=stale, reads=reads,
        final={n: {} if n in lost else {k: [v.value for v in vs] for k, vs in sorted(replicas[n].store.items())}
               for n in nodes},
        hints={n: {} if n in lost else {h: {k: [v.value for v in vs] for k, vs in sorted(ks.items())}
                                       for h, ks in sorted(replicas[n].hints.items())} for n in nodes},
        statistics=sim.statistics(), homes=homes, azs={n: az_of(n, nodes) for n in nodes},
        trace=trace, failed_reads=failed_reads,
        state_lost=sim.state_lost)


#: The rows ``compare dynamo`` shows: (N, R, W, sloppy), weakest first.
SETTINGS: tuple[tuple[int, int, int, bool], ...] = (
    (3, 1, 1, False), (3, 1, 2, False), (3, 2, 1, False), (3, 2, 2, False), (3, 1, 3, False),
    (3, 3, 1, False), (3, 2, 2, True), (3, 1, 1, True))


def compare_rows(seeds: range = range(1), settings: tuple[tuple[int, int, int, bool], ...] = SETTINGS,
                 **given: Any) -> list[dict[str, Any]]:
    """One row per N/R/W/sloppy setting, summed over ``seeds`` on the same seeded workload and
    faults (``given``): reads, stale reads, write verdicts."""
    fixed = sorted(set(given) & {"seed", "n", "r", "w", "sloppy"})
    if fixed:
        raise ConfigError(f"compare_rows sets {fixed} itself (seeds=..., settings=...); pass the other "
                          "dynamo options only")
    if not isinstance(seeds, range) or not 1 <= len(seeds) <= 100:
        raise ConfigError(f"seeds must be a range of 1 to 100 seeds, got {_validate.shown(seeds)}")
    if not isinstance(settings, tuple) or not all(
            isinstance(s, tuple) and len(s) == 4 for s in settings) or len(settings) > 64:
        raise ConfigError("settings must be a tuple of at most 64 (n, r, w, sloppy) tuples, got "
                          f"{_validate.shown(settings)}")
    rows = []
    for n, r, w, sloppy in settings:
        row: dict[str, Any] = {"n": n, "r": r, "w": w, "sloppy": sloppy, "strict": r + w > n,
                               "reads": 0, "stale_reads": 0}
        for seed in seeds:
            result = run(seed, **(given | {"n": n, "r": r, "w": w, "sloppy": sloppy}))
            row["reads"] += result.reads
            row["stale_reads"] += len(result.stale_reads)
            for verdict, count in result.ledger.summary.items():
                row[verdict] = row.get(verdict, 0) + count
        rows.append(row)
    return rows


def compare_table(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`compare_rows` as a plain-text table."""
    needed = {"n", "r", "w", "sloppy", "strict", "reads", "stale_reads", *QUORUM_VERDICTS}
    if not isinstance(rows, list) or not all(isinstance(r, dict) and needed <= set(r) for r in rows):
        raise ConfigError(f"compare_table takes the rows compare_rows returned, got {_validate.shown(rows)}")
    head = ["N/R/W", "sloppy", "R+W>N", "reads", "stale", "kept", "sibling", "superseded",
            "hint-only", "lost", "rejected"]
    body = [[f"{r['n']}/{r['r']}/{r['w']}", "yes" if r["sloppy"] else "no", "yes" if r["strict"] else "no",
             *(str(r[k]) for k in ("reads", "stale_reads", "kept", "sibling", "superseded", "hint-only",
                                   "lost", "rejected"))] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True))
                     for line in [head, *body])
