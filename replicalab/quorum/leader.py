"""DynamoDB's shape inside a region: a leader per partition, a write quorum, reads at the leader.

Every node holds a replica of every partition (one node per AZ). For each partition:

* **Writes** go to the partition's leader (a node that is not the leader forwards the request
  to the one it knows). The leader appends ``(term, key, value)`` to its log and sends the
  entry to the followers; each appends it (durably: the log survives a crash that keeps the
  disk) and acknowledges. Once ``write_quorum`` nodes (default 2 of 3, the leader included)
  have it, the entry is *committed*: the leader applies it and answers the client. Followers
  apply entries up to the commit index the leader tells them.
* **Strongly consistent reads** go to the leader, which first checks it is still the leader:
  it sends a heartbeat and answers only once a quorum replied in its term (a "read index"
  round), with its committed state. A deposed leader cut off from the others cannot answer.
  A newly elected leader also waits until its first entry (the no-op) has committed: before
  that it may not yet know every entry its predecessor committed (our property test found
  the stale read this rule prevents: a new leader answering from a state one acknowledged
  write behind).
* **Eventually consistent reads** are answered by any node from what it has applied: it can
  be behind the leader, so the read can be stale.
* **Election** (simple and documented, not full Raft): the leader sends heartbeats every
  ``heartbeat`` ms. A follower that hears none for its election timeout — ``election`` ms
  plus ``election`` × (its rank among the node ids), so that nodes never time out together
  and votes do not split — starts an election in the next term. A node grants one vote per
  term, and only to a candidate whose log is at least as up to date as its own (last entry's
  term, then length). A candidate with a quorum of votes leads; its first entry is a no-op in
  its term, and entries of earlier terms count as committed once an entry of its own term is.
  The vote rule is what keeps every committed entry: any quorum of voters contains a node
  that has it, and that node votes only for a candidate whose log holds it.
* **A node that lost its disk** restarts with an empty log and neither votes nor campaigns
  until it has heard from a leader: with its log it forgot what it had promised, and its vote
  could elect a leader that lacks a committed entry.
* **Logs agree by prefix**: an append names the entry before it (index and term); a
  follower whose log does not match says so, and the leader steps back one entry and
  retries, so a follower's divergent suffix (entries of a deposed leader that never
  committed) is replaced.

The trace gets ``Elected``, ``Committed`` and ``LeaderRead`` records.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, ClassVar

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError, TopologyError
from replicalab.quorum.ring import position
from replicalab.replica.base import Context, Replica, Request, Response

__all__ = ["NOT_LEADER", "Append", "Appended", "Entry", "LeaderConfig", "LeaderNode", "Read",
           "ReadDone", "Vote", "VoteRequest", "Write", "WriteDone"]

#: The error a client gets when no leader could take its request.
NOT_LEADER = "NoLeader"


@attrs.frozen
class LeaderConfig:
    """Partitions, write quorum and timers of a leader-based region (see the module docs)."""

    partitions: int = 2
    write_quorum: int = 2
    heartbeat: int = 15
    election: int = 50
    timeout: int = 200

    def __attrs_post_init__(self) -> None:
        for name in ("partitions", "write_quorum", "heartbeat", "election", "timeout"):
            value = getattr(self, name)
            if type(value) is not int or not 1 <= value <= 100_000:
                raise ConfigError(f"{name} must be an integer from 1 to 100000, got {_validate.shown(value)}")
        if self.heartbeat >= self.election:
            raise ConfigError(f"heartbeat ({self.heartbeat} ms) must be shorter than the election "
                              f"timeout ({self.election} ms), or followers depose a live leader")


def partition_of(key: str, partitions: int) -> int:
    """The partition of ``key``: its SHA-256 ring position modulo ``partitions``."""
    return position(key) % partitions


# -- client requests and answers ---------------------------------------------------------


@attrs.frozen
class Write(Request):
    """Set ``key`` to ``value`` (the ground truth records it as a write)."""

    mutates: ClassVar[bool] = True
    key: str = ""
    value: Any = None

    @property
    def scope(self) -> Hashable:
        return self.key


@attrs.frozen
class Read(Request):
    """Read ``key``: ``consistent=True`` at the leader after a quorum check, else at this node."""

    key: str = ""
    consistent: bool = False

    @property
    def scope(self) -> Hashable:
        return self.key


@attrs.frozen
class WriteDone(Response):
    """A committed write: its log ``index`` in the partition, and the ``term`` it was written in."""

    index: int = 0
    term: int = 0


@attrs.frozen
class ReadDone(Response):
    """A read's ``value`` (None: never written) and the log ``index`` of the write that set it
    (0: none), as applied at the answering node."""

    value: Any = None
    index: int = 0
    node: str = ""


# -- node to node ------------------------------------------------------------------------


@attrs.frozen
class Entry:
    """One log entry: written in ``term``, setting ``key`` to ``value`` (``op`` "" is a no-op)."""

    term: int
    key: str
    value: Any
    op: str


@attrs.frozen
class Append:
    """Leader -> follower: ``entries`` follow the entry at ``prev_index`` (of ``prev_term``);
    ``commit`` is the leader's commit index; ``probe`` is a read-index round's id (or 0)."""

    partition: int
    term: int
    prev_index: int
    prev_term: int
    entries: tuple[Entry, ...]
    commit: int
    probe: int = 0


@attrs.frozen
class Appended:
    """Follower -> leader: ``ok`` and the index it now matches up to (or its log length)."""

    partition: int
    term: int
    ok: bool
    match: int
    probe: int = 0


@attrs.frozen
class VoteRequest:
    partition: int
    term: int
    last_index: int
    last_term: int


@attrs.frozen
class Vote:
    partition: int
    term: int
    granted: bool


@attrs.frozen
class _Forward:
    """A client request forwarded to the leader; the leader answers the client directly."""

    client: str
    request: Request


@attrs.define
class _Partition:
    """One partition's replica at one node: its log, commit index and applied state."""

    log: list[Entry] = attrs.field(factory=list)
    term: int = 0
    voted_for: str | None = None
    leader: str | None = None
    commit: int = 0
    state: dict[str, tuple[Any, int]] = attrs.field(factory=dict)  # key -> (value, index)
    applied: int = 0
    # Leader only:
    match: dict[str, int] = attrs.field(factory=dict)
    next: dict[str, int] = attrs.field(factory=dict)
    waiting: dict[int, tuple[str, str]] = attrs.field(factory=dict)  # index -> (client, op)
    probes: dict[int, tuple[str, str, str, set[str]]] = attrs.field(factory=dict)
    votes: set[str] = attrs.field(factory=set)
    heard: int = 0  # when this node last heard from a leader (or started)
    #: False after a restart that lost the disk, until a leader has been heard: a node that
    #: forgot its log (and its vote) must not help elect a leader that lacks committed entries.
    can_vote: bool = True
    #: Leader only: it knows every committed entry — an entry of its own term has committed
    #: (Raft §8). Until then its state may lack writes an earlier leader acknowledged, and it
    #: holds strong reads back. A partition's first leader (term 1, no predecessor) is ready.
    ready: bool = True

    def last(self) -> tuple[int, int]:
        return len(self.log), (self.log[-1].term if self.log else 0)


class LeaderNode(Replica):
    """One node (one AZ) of a leader-based region; every node replicates every partition."""

    def __init__(self, replica_id: str, nodes: tuple[str, ...], config: LeaderConfig | None = None) -> None:
        super().__init__(replica_id)
        if not isinstance(nodes, tuple) or replica_id not in nodes or len(set(nodes)) != len(nodes):
            raise ConfigError(f"nodes must be a tuple of unique ids including {_validate.shown(replica_id)}, "
                              f"got {_validate.shown(nodes)}")
        self.config = config or LeaderConfig()
        if not isinstance(self.config, LeaderConfig):
            raise ConfigError(f"config must be a LeaderConfig, got {_validate.shown(config)}")
        if self.config.write_quorum > len(nodes):
            raise ConfigError(f"write_quorum={self.config.write_quorum} needs at least that many nodes")
        self.nodes = tuple(sorted(nodes))
        self.rank = self.nodes.index(replica_id)
        self.parts = [_Partition() for _ in range(self.config.partitions)]
        self._probe = 0
        # Partition p starts led by node p mod n in term 1: no election needed to begin.
        for p, part in enumerate(self.parts):
            part.term = 1
            part.leader = self.nodes[p % len(self.nodes)]

    def recover(self, identity: str) -> LeaderNode:
        """After losing its disk: an empty log, term 0, knowing no leader."""
        fresh = LeaderNode(self.id, self.nodes, self.config)
        for part in fresh.parts:
            part.term, part.leader, part.can_vote = 0, None, False
        return fresh

    @property
    def quorum(self) -> int:
        return self.config.write_quorum

    def leads(self, p: int) -> bool:
        """True iff this node believes it leads partition ``p``."""
        if type(p) is not int or not 0 <= p < len(self.parts):
            raise ConfigError(f"partition must be an integer from 0 to {len(self.parts) - 1}, got {_validate.shown(p)}")
        return self.parts[p].leader == self.id

    def _check_peers(self, ctx: Context) -> None:
        """Refuse, before changing anything, a context that cannot reach every other node."""
        missing = sorted(set(self.nodes) - {self.id} - set(ctx.peers))
        if missing:
            raise TopologyError(f"{self.id} replicates to {list(self.nodes)} but its context cannot "
                                f"reach {missing}; its peers are {list(ctx.peers)}")

    # -- lifecycle ---------------------------------------------------------------------
    def on_start(self, ctx: Context) -> None:
        self._check_peers(ctx)
        for p, part in enumerate(self.parts):
            part.heard = ctx.now
            part.waiting.clear()
            part.probes.clear()
            if self.leads(p):
                self._become_leader(ctx, p, announce=False)
        ctx.set_timer(self.config.heartbeat, ("tick",))

    def on_timer(self, ctx: Context, timer: Any) -> None:
        if timer != ("tick",):
            raise ConfigError(f"{self.id} got a timer it never set: {_validate.shown(timer)}")
        self._check_peers(ctx)
        for p, part in enumerate(self.parts):
            if self.leads(p):
                self._replicate(ctx, p)
            elif part.can_vote and ctx.now - part.heard >= self.config.election * (1 + self.rank):
                self._campaign(ctx, p)
        ctx.set_timer(self.config.heartbeat, ("tick",))

    # -- messages ----------------------------------------------------------------------
    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        kind = type(msg)
        if kind is Write or kind is Read:
            self._client(ctx, src, msg)
        elif kind is _Forward:
            self._client(ctx, msg.client, msg.request, forwarded=True)
        elif kind is Append:
            self._on_append(ctx, src, msg)
        elif kind is Appended:
            self._on_appended(ctx, src, msg)
        elif kind is VoteRequest:
            self._on_vote_request(ctx, src, msg)
        elif kind is Vote:
            self._on_vote(ctx, src, msg)
        else:
            raise ConfigError(f"{self.id} got a message it does not understand: {type(msg).__name__}")

    def _client(self, ctx: Context, client: str, req: Any, forwarded: bool = False) -> None:
        p = partition_of(req.key, self.config.partitions)
        part = self.parts[p]
        if type(req) is Read and not req.consistent:
            value, index = part.state.get(req.key, (None, 0))
            ctx.reply(client, ReadDone(req.op, value=value, index=index, node=self.id))
            return
        if not self.leads(p):
            if part.leader is not None and part.leader != self.id and not forwarded:
                ctx.send(part.leader, _Forward(client, req), scope=req.key)
            else:
                ctx.reply(client, Response(req.op, ok=False, error=NOT_LEADER,
                                           message=f"{self.id} does not lead partition {p} and knows no leader"))
            return
        if type(req) is Write:
            part.log.append(Entry(part.term, req.key, req.value, req.op))
            part.waiting[len(part.log)] = (client, req.op)
            part.match[self.id] = len(part.log)
            self._replicate(ctx, p)
            self._advance(ctx, p)
        else:  # a strongly consistent read: confirm leadership with a quorum first
            self._probe += 1
            part.probes[self._probe] = (client, req.op, req.key, {self.id})
            self._replicate(ctx, p, probe=self._probe)
            self._check_probe(ctx, p, self._probe)

    # -- replication -------------------------------------------------------------------
    def _become_leader(self, ctx: Context, p: int, announce: bool = True) -> None:
        part = self.parts[p]
        part.leader = self.id
        part.next = {n: len(part.log) + 1 for n in self.nodes}
        part.match = {n: 0 for n in self.nodes}
        part.match[self.id] = len(part.log)
        if announce:
            # A no-op in the new term: committing it commits every earlier entry it follows.
            part.ready = False
            part.log.append(Entry(part.term, "", None, ""))
            part.match[self.id] = len(part.log)
            ctx.log("Elected", partition=p, term=part.term, log=len(part.log))
        self._replicate(ctx, p)

    def _replicate(self, ctx: Context, p: int, probe: int = 0) -> None:
        part = self.parts[p]
        for node in self.nodes:
            if node == self.id:
                continue
            nxt = part.next.get(node, len(part.log) + 1)
            prev = nxt - 1
            prev_term = part.log[prev - 1].term if prev > 0 else 0
            self._send_append(ctx, node, Append(p, part.term, prev, prev_term, tuple(part.log[prev:]),
                                                part.commit, probe))

    def _send_append(self, ctx: Context, node: str, msg: Append) -> None:
        """Send an append (a subclass may attach the entries' causal scopes)."""
        ctx.send(node, msg)

    def _on_append(self, ctx: Context, src: str, msg: Append) -> None:
        part = self.parts[msg.partition]
        if msg.term < part.term:
            ctx.send(src, Appended(msg.partition, part.term, False, len(part.log), msg.probe))
            return
        if msg.term > part.term or self.leads(msg.partition):
            self._step_down(ctx, msg.partition, msg.term)
        part.leader, part.heard, part.can_vote = src, ctx.now, True
        if msg.prev_index > len(part.log) or (
                msg.prev_index > 0 and part.log[msg.prev_index - 1].term != msg.prev_term):
            ctx.send(src, Appended(msg.partition, part.term, False, min(len(part.log), msg.prev_index - 1),
                                   msg.probe))
            return
        # Keep the matching prefix, replace whatever follows with the leader's entries.
        for offset, entry in enumerate(msg.entries):
            i = msg.prev_index + offset
            if i < len(part.log):
                if part.log[i].term != entry.term:
                    del part.log[i:]
                    part.log.append(entry)
            else:
                part.log.append(entry)
        matched = msg.prev_index + len(msg.entries)
        if msg.commit > part.commit:
            part.commit = min(msg.commit, matched)
            self._apply(ctx, msg.partition)
        ctx.send(src, Appended(msg.partition, part.term, True, matched, msg.probe))

    def _on_appended(self, ctx: Context, src: str, msg: Appended) -> None:
        part = self.parts[msg.partition]
        if msg.term > part.term:
            self._step_down(ctx, msg.partition, msg.term)
            return
        if not self.leads(msg.partition) or msg.term != part.term:
            return
        if msg.ok:
            part.match[src] = max(part.match.get(src, 0), msg.match)
            part.next[src] = part.match[src] + 1
            if msg.probe in part.probes:
                part.probes[msg.probe][3].add(src)
                self._check_probe(ctx, msg.partition, msg.probe)
            self._advance(ctx, msg.partition)
        else:
            part.next[src] = max(1, min(part.next.get(src, 1) - 1, msg.match + 1))
            self._replicate(ctx, msg.partition)

    def _advance(self, ctx: Context, p: int) -> None:
        """Commit the highest index a quorum holds, if its entry is of the current term."""
        part = self.parts[p]
        held = sorted(part.match.values(), reverse=True)
        index = held[self.quorum - 1] if len(held) >= self.quorum else 0
        if index > part.commit and part.log[index - 1].term == part.term:
            part.commit = index
            self._apply(ctx, p)
            if not part.ready:
                part.ready = True
                for probe in list(part.probes):
                    self._check_probe(ctx, p, probe)

    def _apply(self, ctx: Context, p: int) -> None:
        """Apply the committed entries not yet applied, in log order."""
        part = self.parts[p]
        while part.applied < part.commit:
            part.applied += 1
            self._apply_entry(ctx, p, part.applied, part.log[part.applied - 1])

    def _apply_entry(self, ctx: Context, p: int, index: int, entry: Entry) -> None:
        """Apply one committed entry to this node's state machine — here a key-value map —
        and, at the leader, answer the client waiting for it. A subclass with another state
        machine overrides this (:mod:`replicalab.quorum.region`); the log is the same."""
        part = self.parts[p]
        if entry.op:
            part.state[entry.key] = (entry.value, index)
        waiting = part.waiting.pop(index, None)
        if waiting is not None and self.leads(p):
            client, op = waiting
            ctx.log("Committed", partition=p, index=index, op=op, key=entry.key)
            ctx.reply(client, WriteDone(op, index=index, term=entry.term))

    def _check_probe(self, ctx: Context, p: int, probe: int) -> None:
        part = self.parts[p]
        client, op, key, confirmed = part.probes[probe]
        if len(confirmed) >= self.quorum and part.ready:
            del part.probes[probe]
            self._answer_strong(ctx, p, client, op, key)

    def _answer_strong(self, ctx: Context, p: int, client: str, op: str, key: str) -> None:
        """Answer a strongly consistent read whose leadership check passed, from the
        committed state (a subclass with another state machine overrides this)."""
        part = self.parts[p]
        value, index = part.state.get(key, (None, 0))
        ctx.log("LeaderRead", partition=p, op=op, key=key, index=index, term=part.term)
        ctx.reply(client, ReadDone(op, value=value, index=index, node=self.id))

    def _step_down(self, ctx: Context, p: int, term: int) -> None:
        part = self.parts[p]
        part.term, part.voted_for, part.leader = term, None, None
        for client, op in part.waiting.values():
            ctx.reply(client, Response(op, ok=False, error=NOT_LEADER,
                                       message=f"{self.id} lost the leadership of partition {p}; "
                                               "the write may or may not commit"))
        part.waiting.clear()
        for client, op, _, _ in part.probes.values():
            ctx.reply(client, Response(op, ok=False, error=NOT_LEADER,
                                       message=f"{self.id} lost the leadership of partition {p}"))
        part.probes.clear()

    # -- election ----------------------------------------------------------------------
    def _campaign(self, ctx: Context, p: int) -> None:
        part = self.parts[p]
        self._step_down(ctx, p, part.term + 1)
        part.voted_for, part.votes, part.heard = self.id, {self.id}, ctx.now
        last_index, last_term = part.last()
        for node in self.nodes:
            if node != self.id:
                ctx.send(node, VoteRequest(p, part.term, last_index, last_term))
        if len(part.votes) >= self.quorum:  # a one-node quorum
            self._become_leader(ctx, p)

    def _on_vote_request(self, ctx: Context, src: str, msg: VoteRequest) -> None:
        part = self.parts[msg.partition]
        if msg.term > part.term:
            self._step_down(ctx, msg.partition, msg.term)
        last_index, last_term = part.last()
        up_to_date = (msg.last_term, msg.last_index) >= (last_term, last_index)
        granted = (msg.term == part.term and part.voted_for in (None, src) and up_to_date
                   and part.can_vote)
        if granted:
            part.voted_for, part.heard = src, ctx.now
        ctx.send(src, Vote(msg.partition, part.term, granted))

    def _on_vote(self, ctx: Context, src: str, msg: Vote) -> None:
        part = self.parts[msg.partition]
        if msg.term > part.term:
            self._step_down(ctx, msg.partition, msg.term)
            return
        if msg.term != part.term or not msg.granted or part.leader is not None:
            return
        part.votes.add(src)
        if len(part.votes) >= self.quorum:
            self._become_leader(ctx, msg.partition)
