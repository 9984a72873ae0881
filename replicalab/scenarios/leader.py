"""``leader``: DynamoDB's shape inside one region — a leader per partition and a write quorum.

Three nodes, one per Availability Zone (``az-a``, ``az-b``, ``az-c``), each replicating every
partition (:mod:`replicalab.quorum.leader`). Clients issue a seeded mix of writes, strongly
consistent reads and eventually consistent reads, each to a node chosen at random (writes and
strong reads are forwarded to the partition's leader).

Options: ``partitions`` (2), ``write_quorum`` (2), ``fault`` — ``none``, ``leader-crash`` (the
leader of partition 0 crashes, keeping its disk, and restarts), ``az-outage`` (the same, for
an AZ: the node and its disk come back), ``az-partition`` (the leader of partition 0 is cut
off from the other two AZs, then healed), ``follower-crash-lossy`` (a follower loses its
disk) — ``heal`` (True), ``ops`` (300), ``keys`` (4), ``reads`` (0.6), ``strong`` (0.5 of the
reads), ``gap`` (2 ms), ``trace`` (True).

The result lists stale reads of both kinds (a read that returned an older write than one
acknowledged before it was issued, on the same key), acknowledged writes no node holds any
more, and the elections.

    >>> r = run(seed=0, fault="leader-crash")
    >>> r.stale_strong, r.lost, len(r.elections) >= 1
    ((), (), True)
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.ledger.quorum import QuorumEntry, QuorumLedger
from replicalab.quorum.leader import (
    LeaderConfig,
    LeaderNode,
    Read,
    ReadDone,
    Write,
    WriteDone,
    partition_of,
)
from replicalab.sim.faults import Crash, Heal, Partition, Restart
from replicalab.sim.network import Link, Uniform
from replicalab.sim.simulation import Simulation
from replicalab.trace import Trace
from replicalab.viz import svg

__all__ = ["FAULTS", "NODES", "WRITE_QUORUMS", "LeaderResult", "compare_rows", "compare_table", "run"]

NODES = ("az-a", "az-b", "az-c")
FAULTS = ("none", "leader-crash", "az-outage", "az-partition", "follower-crash-lossy")
_DEFAULTS: dict[str, Any] = {"partitions": 2, "write_quorum": 2, "fault": "none", "heal": True,
                             "ops": 300, "keys": 4, "reads": 0.6, "strong": 0.5, "gap": 2, "trace": True}


@attrs.frozen
class LeaderResult:
    """What one ``leader`` run produced: stale reads of each kind (with their whys), lost
    acknowledged writes, elections, and counts."""

    seed: int
    options: dict[str, Any]
    stale_strong: tuple[str, ...]
    stale_eventual: tuple[str, ...]
    lost: tuple[str, ...]
    elections: tuple[tuple[int, str, int], ...]
    """(time, node, partition) of each election won."""
    acknowledged: int
    failed: int
    strong_reads: int
    eventual_reads: int
    trace: Trace | None = attrs.field(repr=False, eq=False)  # a Trace compares by identity
    entries: tuple[QuorumEntry, ...] = ()
    """Every write that reached a node: ``kept`` (acknowledged, in a live node's log), ``lost``
    (acknowledged, in no live node's log) or ``rejected`` (the client got an error or no
    answer), each with its why. Drawn on :meth:`to_svg`."""

    scenario: ClassVar[str] = "leader"

    @property
    def ledger(self) -> QuorumLedger:
        """The writes' verdicts as a quorum ledger (what the picture draws)."""
        return QuorumLedger(self.entries)

    @property
    def stale_reads(self) -> tuple[str, ...]:
        """The op ids of the stale reads, strong and eventual (their whys: ``stale_strong``,
        ``stale_eventual``)."""
        return tuple(sorted(line.split(" ", 1)[0] for line in self.stale_strong + self.stale_eventual))

    @property
    def label(self) -> str:
        """``W=2 of 3, fault=leader-crash``: the settings, as picture titles show them."""
        fault = self.options.get("fault", "none")
        return (f"W={self.options.get('write_quorum', _DEFAULTS['write_quorum'])} of {len(NODES)}"
                + (f", fault={fault}" if fault != "none" else ""))

    def to_svg(self, *, compact: bool | None = None, width: float | None = None) -> str:
        """The space-time diagram: a lane per node, each client write marked where the client
        sent it with its verdict (kept, lost, rejected; the notes say why), stale reads in orange."""
        if self.trace is None:
            raise ConfigError("this run was made with trace=False; run it again with trace=True to draw it")
        compact, width = svg.checked_view(compact, width)
        return svg.to_svg(self, compact=compact, width=width)

    @property
    def summary(self) -> dict[str, int]:
        return {"acknowledged": self.acknowledged, "failed": self.failed, "lost": len(self.lost),
                "strong_reads": self.strong_reads, "stale_strong": len(self.stale_strong),
                "eventual_reads": self.eventual_reads, "stale_eventual": len(self.stale_eventual),
                "elections": len(self.elections)}


def _options(given: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(_DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown option(s) {unknown} for the leader scenario; valid: {', '.join(sorted(_DEFAULTS))}")
    opts = _DEFAULTS | given
    if opts["fault"] not in FAULTS:
        raise ConfigError(f"fault must be one of {', '.join(FAULTS)}, got {_validate.shown(opts['fault'])}")
    for name, high in (("ops", 100_000), ("keys", 10_000), ("gap", 10_000), ("partitions", 64)):
        if type(opts[name]) is not int or not 1 <= opts[name] <= high:
            raise ConfigError(f"{name} must be an integer from 1 to {high}, got {_validate.shown(opts[name])}")
    for name in ("reads", "strong"):
        if type(opts[name]) not in (int, float) or not 0 <= opts[name] <= 1:
            raise ConfigError(f"{name} must be a fraction from 0 to 1, got {_validate.shown(opts[name])}")
    for name in ("heal", "trace"):
        if type(opts[name]) is not bool:
            raise ConfigError(f"{name} must be True or False, got {_validate.shown(opts[name])}")
    return opts


def run(seed: int = 0, **given: Any) -> LeaderResult:
    """Run the ``leader`` scenario (see the module docs)."""
    opts = _options(given)
    config = LeaderConfig(partitions=opts["partitions"], write_quorum=opts["write_quorum"])
    sim = Simulation([LeaderNode(n, NODES, config) for n in NODES], seed=seed, link=Link(Uniform(1, 4)),
                     trace=opts["trace"])
    rng = sim.streams.stream("workload")
    issued: dict[str, tuple[int, str, str]] = {}  # op -> (time, kind, key)
    for i in range(opts["ops"]):
        at = (i + 1) * opts["gap"]
        key = f"k{int(rng.random() * opts['keys'])}"
        node = NODES[int(rng.random() * len(NODES))]
        if rng.random() < opts["reads"]:
            strong = rng.random() < opts["strong"]
            op = f"{'s' if strong else 'e'}{i + 1}"
            request: Any = Read(op, key=key, consistent=strong)
            issued[op] = (at, "strong" if strong else "eventual", key)
        else:
            op = f"w{i + 1}"
            request = Write(op, key=key, value=op)
            issued[op] = (at, "write", key)
        sim.client_request(at, node, request, client=f"c{i % 5}")
    end = (opts["ops"] + 1) * opts["gap"]
    down, up = end * 3 // 10, end * 6 // 10
    leader0 = NODES[0]  # partition 0 starts led by the first node
    faults: list[Any] = []
    if opts["fault"] in ("leader-crash", "az-outage"):
        faults = [Crash(down, leader0, durable=True)] + ([Restart(up, leader0)] if opts["heal"] else [])
    elif opts["fault"] == "az-partition":
        faults = [Partition.isolate(down, leader0, NODES)] + ([Heal(up)] if opts["heal"] else [])
    elif opts["fault"] == "follower-crash-lossy":
        faults = [Crash(down, NODES[1], durable=False)] + ([Restart(up, NODES[1])] if opts["heal"] else [])
    sim.add_faults(faults)
    sim.run(until=end + 2000)
    return _judge(sim, seed, opts, issued, config)


def _judge(sim: Simulation, seed: int, opts: dict[str, Any], issued: dict[str, tuple[int, str, str]],
           config: LeaderConfig) -> LeaderResult:
    acked: dict[str, list[tuple[int, int, str]]] = {}  # key -> (answered at, index, op)
    failed = 0
    replies = {r.response.op: r for r in sim.replies}
    for op, (_, kind, key) in issued.items():
        reply = replies.get(op)
        if kind == "write" and reply is not None and isinstance(reply.response, WriteDone):
            acked.setdefault(key, []).append((reply.time, reply.response.index, op))
        elif reply is None or not reply.response.ok:
            failed += 1
    stale: dict[str, list[str]] = {"strong": [], "eventual": []}
    counts = {"strong": 0, "eventual": 0}
    for op, (at, kind, key) in issued.items():
        reply = replies.get(op)
        if kind == "write" or reply is None or not isinstance(reply.response, ReadDone):
            continue
        counts[kind] += 1
        before = [(index, w) for t, index, w in acked.get(key, ()) if t < at]
        if before:
            index, w = max(before)
            if reply.response.index < index:
                stale[kind].append(
                    f"{op} ({kind}, at {reply.response.node}) returned the write at index "
                    f"{reply.response.index} of partition {partition_of(key, config.partitions)}, "
                    f"but {w} (index {index}) was acknowledged before the read was issued at t={at}")
    nodes: list[LeaderNode] = [sim.replica(n) for n in NODES if n not in sim.down]  # type: ignore[misc]
    lost = []
    for key, writes in sorted(acked.items()):
        p = partition_of(key, config.partitions)
        for _, index, op in writes:
            if not any(len(n.parts[p].log) >= index and n.parts[p].log[index - 1].op == op
                       for n in nodes):
                lost.append(f"{op} on {key}: acknowledged at index {index} of partition {p}, in no node's log now")
    trace = sim.trace
    elections = tuple((e.time, e.replica or "", e.get("partition")) for e in trace.of_kind("Elected")) \
        if trace is not None else ()
    shown = {k: v for k, v in opts.items() if _DEFAULTS.get(k) != v}
    gone = {line.split(" ", 1)[0]: line for line in lost}
    entries = []
    for op, (_, kind, key) in issued.items():
        if kind != "write":
            continue
        reply = replies.get(op)
        if op in gone:
            entries.append(QuorumEntry(op, key, "lost", (), gone[op].split(": ", 1)[1]))
        elif reply is not None and isinstance(reply.response, WriteDone):
            entries.append(QuorumEntry(op, key, "kept", (), (
                f"acknowledged at index {reply.response.index} of partition "
                f"{partition_of(key, config.partitions)}; a live node's log holds it")))
        else:
            told = f"the client was told {reply.response.error}" if reply is not None else \
                "the client never got an answer"
            entries.append(QuorumEntry(op, key, "rejected", (), told))
    return LeaderResult(seed, dict(sorted(shown.items())), tuple(stale["strong"]), tuple(stale["eventual"]),
                        tuple(lost), elections, sum(len(w) for w in acked.values()), failed,
                        counts["strong"], counts["eventual"], trace, tuple(entries))


#: The rows ``compare leader`` shows: the write quorum, from an ack by the leader alone to all three.
WRITE_QUORUMS: tuple[int, ...] = (1, 2, 3)


def compare_rows(seeds: range = range(1), write_quorums: tuple[int, ...] = WRITE_QUORUMS,
                 **given: Any) -> list[dict[str, Any]]:
    """One row per write quorum, summed over ``seeds`` on the same seeded workload and faults
    (``given``: the other ``leader`` options): writes acknowledged and failed, acknowledged
    writes lost, strong and eventual reads and how many of each were stale, elections."""
    if "write_quorum" in given or "seed" in given:
        raise ConfigError("compare_rows sets write_quorum and seed itself (write_quorums=..., seeds=...); "
                          "pass the other leader options only")
    if not isinstance(seeds, range) or not 1 <= len(seeds) <= 100:
        raise ConfigError(f"seeds must be a range of 1 to 100 seeds, got {_validate.shown(seeds)}")
    if (not isinstance(write_quorums, tuple) or not 1 <= len(write_quorums) <= len(NODES)
            or not all(type(q) is int and 1 <= q <= len(NODES) for q in write_quorums)):
        raise ConfigError(f"write_quorums must be a tuple of write quorums from 1 to {len(NODES)}, got "
                          f"{_validate.shown(write_quorums)}")
    _options(given)  # refuse a bad option before the first run
    rows = []
    for quorum in write_quorums:
        row: dict[str, Any] = {"write_quorum": quorum}
        for seed in seeds:
            for name, count in run(seed, **(given | {"write_quorum": quorum})).summary.items():
                row[name] = row.get(name, 0) + count
        rows.append(row)
    return rows


def compare_table(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`compare_rows` as a plain-text table."""
    columns = ("write_quorum", "acknowledged", "failed", "lost", "strong_reads", "stale_strong",
               "eventual_reads", "stale_eventual", "elections")
    if not isinstance(rows, list) or not all(isinstance(r, dict) and set(columns) <= set(r) for r in rows):
        raise ConfigError(f"compare_table takes the rows compare_rows returned, got {_validate.shown(rows)}")
    head = ["W (of 3)", "acked", "failed", "lost", "strong", "stale", "eventual", "stale", "elections"]
    body = [[str(r[c]) for c in columns] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True))
                     for line in [head, *body])
