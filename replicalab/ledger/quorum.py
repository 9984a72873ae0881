"""Verdicts for a leaderless cluster's writes, and the reads that missed them.

A Dynamo cluster stores each key on its N home nodes, so "did the write survive?" means
"does a home node that still has its state hold it?". Every write that reached a
coordinator gets one verdict:

``kept``
    a home node that still has its state holds the write's version: a live one (read with
    R = N, a client would see it), or one that is down with its state intact — the why then
    names it as down, since no read sees the write until that node is back;
``sibling``
    kept, but as one of several concurrent versions: the reader must resolve them
    (surfaced, not lost — the client sees them all);
``superseded``
    no node holds it, but a held version's writer had read it (its context covers the
    write's dot): an ordinary overwrite. As for ``kept``, a holder that is down (state
    intact) is named as down, and the why says when no live node holds the overwriting write;
``hint-only``
    no home node holds it or a write that saw it; it lives only in a *hint* on a stand-in
    node that never handed it home (the home node never came back, or a partition
    never healed): one more failure of the stand-in and it is gone;
``lost``
    acknowledged to the client and held nowhere: every node that stored it lost its state
    (W = 1 and a crash before replication, say). The why names the nodes and the crashes;
``rejected``
    the client got an error and the write is held nowhere (too few replicas in time, or the
    coordinator unreachable): it took effect nowhere and the client knows.

A write whose client got an error but which some node stored anyway is judged by where it
is, like any other (``kept``, ...), and its why says what the client was told.

A **stale read** is a successful read that missed a write acknowledged *before the read was
issued* on the same key: none of the versions it returned is that write or a write whose
writer had seen it. Each comes with its why: which nodes answered and which had the write.

Everything here is a function of plain records taken from one run's history (the trace's
``QuorumPut`` records, the replies, the final node states), never of a re-run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from replicalab import _validate
from replicalab.dots import Dot
from replicalab.errors import ConfigError
from replicalab.quorum.versions import DottedVersion, holds

__all__ = ["QUORUM_VERDICTS", "NodeState", "QuorumEntry", "QuorumLedger", "QuorumRead",
           "QuorumWrite", "StaleRead", "judge_quorum", "stale_reads"]

QUORUM_VERDICTS = ("kept", "sibling", "superseded", "hint-only", "lost", "rejected")


@attrs.frozen
class QuorumWrite:
    """One client write as the history has it. ``dot`` is None if it reached no coordinator."""

    op: str
    key: str
    client: str
    issued: int
    dot: Dot | None
    acknowledged: bool
    answered: int | None = None
    """When the client got the answer (None: never)."""
    error: str | None = None
    stored_at: tuple[str, ...] = ()
    """Nodes that stored it at some point (home or stand-in), sorted."""


@attrs.frozen
class NodeState:
    """A node's state at the end: its versions by key, and its hints ``{home: {key: versions}}``.

    ``intact`` is False for a node that is down having lost its state; ``up`` is False for a
    node that is down at the end (with its state intact or not)."""

    node: str
    store: Mapping[str, tuple[DottedVersion, ...]]
    hints: Mapping[str, Mapping[str, tuple[DottedVersion, ...]]]
    intact: bool = True
    up: bool = True


@attrs.frozen
class QuorumEntry:
    """One write's verdict, where it is held and why."""

    op: str
    key: str
    verdict: str
    held_by: tuple[str, ...]
    why: str

    def to_plain(self) -> dict[str, Any]:
        return attrs.asdict(self) | {"held_by": list(self.held_by)}


@attrs.frozen
class QuorumLedger:
    """Every write's :class:`QuorumEntry`, in the order the writes were issued."""

    entries: tuple[QuorumEntry, ...]

    @property
    def summary(self) -> dict[str, int]:
        """``{verdict: count}`` for every verdict (zeros included), plus ``acknowledged``."""
        counts = dict.fromkeys(QUORUM_VERDICTS, 0)
        for e in self.entries:
            counts[e.verdict] += 1
        return counts

    def of(self, verdict: str) -> list[QuorumEntry]:
        """The entries with ``verdict``."""
        return [e for e in self.entries if e.verdict == verdict]

    def __getitem__(self, op: str) -> QuorumEntry:
        for e in self.entries:
            if e.op == op:
                return e
        raise KeyError(op)

    def to_plain(self) -> list[dict[str, Any]]:
        return [e.to_plain() for e in self.entries]

    def table(self) -> str:
        """A plain-text table: op, key, verdict, held by, why."""
        rows = [("write", "key", "verdict", "held by", "why")]
        rows += [(e.op, e.key, e.verdict, ",".join(e.held_by) or "-", e.why) for e in self.entries]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
                         for r in rows)


def judge_quorum(writes: Iterable[QuorumWrite], states: Sequence[NodeState],
                 homes: Mapping[str, Sequence[str]], crashes: Mapping[str, str]) -> QuorumLedger:
    """The verdict of every write (see the module docs).

    ``homes`` maps each key to its home nodes (the preference list); ``crashes`` maps a node
    to a sentence about the state-losing crash(es) it went through, for the whys.
    """
    writes = _records(writes, QuorumWrite, "writes")
    states = _records(states, NodeState, "states")
    if not isinstance(homes, Mapping) or not isinstance(crashes, Mapping):
        raise ConfigError("homes and crashes must be mappings ({key: nodes}, {node: sentence})")
    by_node = {s.node: s for s in states}
    entries = []
    for w in writes:
        entries.append(_judge(w, by_node, homes.get(w.key, ()), crashes))
    return QuorumLedger(tuple(entries))


def _records(value: Any, cls: type, what: str) -> list[Any]:
    """``value`` as a list of ``cls`` records, or ConfigError saying what was expected."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ConfigError(f"{what} must be an iterable of {cls.__name__}, got {_validate.shown(value)}")
    out = list(value)
    for record in out:
        if not isinstance(record, cls):
            raise ConfigError(f"{what} must hold {cls.__name__} records, got {_validate.shown(record)}")
    return out


def _told(w: QuorumWrite) -> str:
    if w.acknowledged:
        return ""
    if w.answered is None:
        return "the client never got an answer; "
    return f"the client was told {w.error}; "


def _judge(w: QuorumWrite, by_node: Mapping[str, NodeState], home: Sequence[str],
           crashes: Mapping[str, str]) -> QuorumEntry:
    told = _told(w)
    if w.dot is None:
        return QuorumEntry(w.op, w.key, "rejected", (), f"{w.error or 'refused'}: it reached no coordinator")
    dot = w.dot
    exact, covered, siblings = [], [], 0
    for node in home:
        state = by_node.get(node)
        if state is None or not state.intact:
            continue
        versions = state.store.get(w.key, ())
        if any(v.dot == dot for v in versions):
            exact.append(node)
            siblings = max(siblings, len(versions))
        elif holds(versions, dot):
            covered.append(node)
    if exact:
        verdict = "sibling" if siblings > 1 else "kept"
        # a node that is down still has the write on disk, but no read sees it until it is back
        shown = [n if by_node[n].up else f"{n} (down, its state intact)" for n in exact]
        why = (f"held by home node(s) {', '.join(shown)}" +
               (f" as one of {siblings} concurrent versions" if siblings > 1 else ""))
        return QuorumEntry(w.op, w.key, verdict, tuple(exact), told + why)
    if covered:
        # As for kept: a holder that is down has the superseding write on disk, but no read
        # sees it until it is back — the why must not suggest a live copy.
        shown = [n if by_node[n].up else f"{n} (down, its state intact)" for n in covered]
        unseen = ("; every node holding that write is down, so no read sees it until one is back"
                  if not any(by_node[n].up for n in covered) else "")
        return QuorumEntry(w.op, w.key, "superseded", tuple(covered),
                           told + f"overwritten by a write that had read it (at {', '.join(shown)}){unseen}")
    hinted = sorted(s.node for s in by_node.values() if s.intact and any(
        any(v.dot == dot for v in keys.get(w.key, ())) for keys in s.hints.values()))
    if hinted:
        gone = sorted({h for s in by_node.values() if s.node in hinted
                       for h, keys in s.hints.items() if any(v.dot == dot for v in keys.get(w.key, ()))})
        return QuorumEntry(w.op, w.key, "hint-only", tuple(hinted), told + (
            f"no home node ({', '.join(home)}) has it; it lives only in a hint at "
            f"{', '.join(hinted)} for {', '.join(gone)}, never handed home"))
    if not w.acknowledged:
        return QuorumEntry(w.op, w.key, "rejected", (),
                           told + ("stored nowhere that kept it" if w.stored_at else "stored nowhere"))
    wiped = [f"{n} ({crashes[n]})" for n in w.stored_at if n in crashes]
    return QuorumEntry(w.op, w.key, "lost", (), (
        f"acknowledged, then lost: stored only at {', '.join(w.stored_at) or 'no node'}"
        + (f"; state lost at {', '.join(wiped)}" if wiped else "")))


@attrs.frozen
class QuorumRead:
    """One successful client read: what it returned and who answered."""

    op: str
    key: str
    issued: int
    versions: tuple[DottedVersion, ...]
    replied: tuple[str, ...]


@attrs.frozen
class StaleRead:
    """A read that missed an acknowledged write, and why."""

    read: str
    key: str
    missed: str
    why: str

    def __str__(self) -> str:
        return f"{self.read} missed {self.missed} on {self.key}: {self.why}"


def stale_reads(reads: Iterable[QuorumRead], writes: Iterable[QuorumWrite]) -> tuple[StaleRead, ...]:
    """Every read that missed a write acknowledged before the read was issued (module docs)."""
    reads = _records(reads, QuorumRead, "reads")
    writes = _records(writes, QuorumWrite, "writes")
    acked: dict[str, list[QuorumWrite]] = {}
    for w in writes:
        if w.acknowledged and w.dot is not None and w.answered is not None:
            acked.setdefault(w.key, []).append(w)
    out = []
    for r in reads:
        for w in acked.get(r.key, ()):
            assert w.dot is not None and w.answered is not None
            if w.answered < r.issued and not holds(r.versions, w.dot):
                had = ", ".join(w.stored_at) or "no node"
                out.append(StaleRead(r.op, r.key, w.op, (
                    f"{w.op} was acknowledged at t={w.answered}, before the read was issued at "
                    f"t={r.issued}; the nodes that answered ({', '.join(r.replied)}) did not have it "
                    f"(it was stored at {had})")))
    return tuple(out)
