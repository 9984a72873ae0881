"""A region with internal structure: one node per AZ, a leader per partition, a replicated table.

With ``replicas_per_region=3, region_protocol="leader"`` a region of a global table is not one
replica but three nodes, ``eu-west-1a``, ``eu-west-1b``, ``eu-west-1c`` (one per Availability
Zone). Each node runs the region's :class:`~replicalab.replica.table.TableReplica` logic as a
*replicated state machine* under the per-partition leader protocol of
:mod:`replicalab.quorum.leader` (the same log, append, commit and election code — this module
only chooses what a log entry holds and what applying one does):

* **Every input is a log entry.** A client write (UpdateItem, PutItem, a DynamoDB write) and an
  incoming cross-region replication message are appended, as they arrived, to the log of the
  partition of their item key (SHA-256 of the partition key modulo ``partitions``) at that
  partition's leader, with the leader's wall-clock time. The leader sends the entry to the
  other AZs and the entry *commits* once ``write_quorum`` nodes (default 2 of 3, the leader
  included) have it in their logs.
* **Only committed inputs are applied, in log order, on every node**, each with the wall time
  recorded in its entry, so every node computes the same item states and the same stamps:
  a node's table is the leader's table as of some prefix of the log. Conditions
  (``ConditionExpression``, the versioned pattern) are checked when the entry is applied, on
  the committed state — never on a follower's stale copy.
* **The client is answered on commit**, by the leader: an acknowledged write is in the logs of
  a quorum of AZs, so it survives the loss of any one AZ (the election below only elects a
  node whose log holds every committed entry).
* **Cross-region replication is sent once, by the leader, for committed inputs** — to every
  node of each remote region, so that one AZ down there loses nothing. The remote partition's
  leader logs it (once: a copy already in its log is dropped) and commits it like any other
  input; the other nodes only watch that the leader does (below). (After a failover a new
  leader applying entries its predecessor had already applied ships them again; merges are
  idempotent, so this is at-least-once, never a loss.)
* **Strongly consistent reads** (``GetItem(consistent=True)``, boto3's ``ConsistentRead``) go to
  the leader, which confirms its leadership with a quorum first and answers from its applied
  state: never older than the last write its region acknowledged.
* **Eventually consistent reads** go to a seeded random live node of the region and answer from
  what that node has applied: it can be behind the leader, so the read can be stale.
* **Failure detection is on demand.** Nothing ticks while the region is idle (so a run still
  ends when nothing is in flight). The liveness rule, per partition: a node that does not lead
  it keeps one election timer (``election`` × (1 + its rank), staggered so that nodes never
  time out together) running while it **waits** — while it holds an input the leader has not
  logged yet (a client's request it forwarded, a replication message it does not lead, a
  strong read it passed on), while its log holds **entries not yet committed** (a leader
  that dies between append and commit leaves them to the next one), or while it **knows no
  leader** (it stepped down to a higher term, lost a campaign, or its leader told it that it
  restarted). A wait is measured from when it began (the oldest waiting input's arrival, the
  step-down — if no wait was running: a candidate's higher term does not restart one —, the
  last campaign), never from an older timer. When the timer fires and a whole timeout has
  passed since the wait began
  with no word from a leader, the node campaigns — the vote rule of
  :mod:`replicalab.quorum.leader` — and, elected, takes the waiting inputs itself; a lost
  campaign starts a new wait, so some node with the most up-to-date log eventually wins. If a
  leader spoke meanwhile, the node passes its waiting inputs to it again. The timer stops once
  nothing waits and a leader is known — or after three timeouts in a row in which no leader
  spoke and no node came back (no quorum can be formed: too few nodes are up, or those up
  lost their disks and may not vote; votes, granted or refused, are no sign of a quorum). A
  restarting node's ``Rejoin`` wakes it again; strong reads still waiting then get a
  ``NoLeader`` error.
* **A strong read passed on is still this node's to answer**: the leader sends its answer back
  and this node replies to the client; if no leader answered within ``timeout`` +
  ``election`` × (number of nodes) × 2 ms (or no node answers its campaigns), the client gets
  a ``NoLeader`` error — every read gets a reply. A leader whose quorum round for a strong
  read does not complete by the same deadline answers ``NoLeader`` too, and a node that goes
  down holding a strong read drops its client's connection (the client gets an error then).
* **A node that restarts** (with its log, or without it) tells the others with a ``Rejoin``.
  It does not lead anything any more, and knows no leader itself until one answers. Every
  other node forgets its leader and starts a wait (above): a live leader answers the
  ``Rejoin`` with appends to every node at once, which ends the waits; a leader that went
  down meanwhile does not, and an election follows. The leader (new or not) then sends the
  restarted node what its log lacks, and it applies what has committed. A node that lost its
  disk neither votes nor campaigns until a leader speaks (:mod:`replicalab.quorum.leader`); it
  rebuilds its table from the initial items by replaying the log, so it may keep the region's
  causal name: everything stamped under that name is in the log.

"Held by a region" (the ledger's view): a write's effect is in a region once that region has
*committed* it; only committed inputs are applied, so the trace's ``Wrote`` and ``Merged``
records (logged by the leader when it applies the entry) and every node's table show
committed state, and ground truth sees a node hold a write once an entry carrying it reached
that node. A client write's causal past (what the ledger says it had seen) is what the
partition's leader had received when it **appended** the write to its log
(:meth:`Context.sequenced <replicalab.replica.base.Context.sequenced>`), not what the node the
client reached held then: a request that waited for a leader (forwarded, cut off, its node down)
is applied on a table holding every entry logged before it, and those had all reached the leader
by the append. The apply is not the moment: the leader may by then hold entries appended after
the write, which its table does not.

Refused (a :class:`~replicalab.errors.ConfigError` names the valid choices, see
:mod:`replicalab.scenarios.options`): scenarios with Merkle anti-entropy or a replication delay
(their timers are a single replica's), ``mode="mrsc"``, and crashes naming a whole region (use
:class:`~replicalab.scenarios.regions.AzOutage`; a partition between AZs is
:class:`~replicalab.scenarios.regions.AzPartition`, healed with :meth:`RegionNode.reconnect`). Refused per request, with a
``ValidationError`` (boto3: ``ValidationException``) the client sees: a transaction whose items
fall in different partitions (that depends on the keys' hashes: ``k0`` with ``k1`` may be
accepted where ``k0`` with ``k4`` is refused), and a strongly consistent ``Query`` (read each
item with ``ConsistentRead``, or read eventually).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import attrs

from replicalab import _validate
from replicalab.clocks import HybridLogicalClock, LamportClock
from replicalab.errors import ConfigError
from replicalab.items import Item
from replicalab.policies import MergePolicy
from replicalab.quorum.leader import (
    NOT_LEADER,
    Append,
    Appended,
    Entry,
    LeaderConfig,
    LeaderNode,
    Vote,
    VoteRequest,
    partition_of,
)
from replicalab.replica.base import Context, Log, RecordingContext, Reply, Request, Response, Send
from replicalab.replica.requests import GetItem
from replicalab.replica.table import Replicate, TableReplica

__all__ = ["AZ_LETTERS", "PROTOCOLS", "Input", "RegionNode", "Rejoin", "az_nodes",
           "region_of"]

#: The protocols a region's nodes can run (``region_protocol=``).
PROTOCOLS = ("leader",)

#: AZ suffixes, in order: a region has at most this many nodes.
AZ_LETTERS = "abcdefghi"


def az_nodes(region: str, count: int) -> tuple[str, ...]:
    """The node ids of ``region`` with ``count`` AZs: ``('eu-west-1a', 'eu-west-1b', ...)``.

        >>> az_nodes("eu-west-1", 3)
        ('eu-west-1a', 'eu-west-1b', 'eu-west-1c')
    """
    _validate.replica_id(region, "region")
    if type(count) is not int or not 1 <= count <= len(AZ_LETTERS):
        raise ConfigError(f"replicas_per_region must be an integer from 1 to {len(AZ_LETTERS)}, "
                          f"got {_validate.shown(count)}")
    return tuple(f"{region}{letter}" for letter in AZ_LETTERS[:count])


def region_of(node: str, regions: tuple[str, ...]) -> str:
    """The region a node id belongs to (``'eu-west-1b'`` -> ``'eu-west-1'``)."""
    _validate.replica_id(node, "node id")
    if isinstance(regions, (str, bytes)) or not isinstance(regions, (tuple, list)):
        raise ConfigError(f"regions must be a tuple of region names, got {_validate.shown(regions)}")
    for region in regions:
        if not isinstance(region, str):
            raise ConfigError(f"regions must be region names, got {_validate.shown(region)}")
        if node.startswith(region) and node[len(region):] in AZ_LETTERS and len(node) == len(region) + 1:
            return region
    raise ConfigError(f"{_validate.shown(node)} is not an AZ node of the regions {list(regions)}")


@attrs.frozen(repr=False)
class Input:
    """A log entry's payload: one input of the region's table, as it reached the leader.

    ``kind`` is ``"request"`` (a client's, from ``source``) or ``"replicate"`` (from another
    region's node ``source``); ``wall`` is the leader's wall clock when it appended the input,
    the time every node applies it at.
    """

    kind: str
    source: str
    message: Any
    wall: int

    def __repr__(self) -> str:  # short: the trace describes appends by their entries' reprs
        what = getattr(self.message, "op", None) or getattr(self.message, "write", "?")
        return f"Input({self.kind} {what} from {self.source} at wall {self.wall})"


@attrs.frozen
class Rejoin:
    """A restarted node -> the others: its log of ``partition`` is ``length`` entries long."""

    partition: int
    length: int


@attrs.frozen
class _Forward:
    """A request (or a replication message) passed on to the partition's leader."""

    source: str
    message: Any
    kind: str


@attrs.frozen
class _ReadAnswer:
    """Leader -> the node that passed it a strong read: the reply for that node to give."""

    partition: int
    client: str
    response: Response


_SUSPECT = "suspect"


def _writes(value: Input) -> tuple[str, ...]:
    """The client writes a log entry's input carries, by op: a request's (one per written
    item of a transaction), or the one a replication message ships."""
    message = value.message
    if value.kind == "replicate":
        return (message.write,)
    written = getattr(message, "written", None)
    return tuple(op for op, _ in written()) if written is not None else (message.op,)


class _LogIndex:
    """The entries of one partition's log by op, kept up to date as the log grows, so that
    asking whether the log holds an op costs O(entries added since the last question), not
    O(log): a long log stays linear.

    The log only grows at its end, except when a follower replaces a suffix with a new
    leader's entries; the index then notices that the last entry it saw is no longer at its
    place (entries are compared by identity: a replaced entry is another object) and starts
    over."""

    def __init__(self) -> None:
        self.size = 0
        self.last: Entry | None = None
        self.by_op: dict[str, list[Entry]] = {}

    def of(self, log: list[Entry]) -> dict[str, list[Entry]]:
        """``{op: the entries carrying it}`` for ``log`` as it is now (no-ops left out)."""
        size = self.size
        if size > len(log) or (size and log[size - 1] is not self.last):
            self.by_op, size = {}, 0  # cut back: index the log again
        by_op = self.by_op
        for i in range(size, len(log)):
            entry = log[i]
            if entry.op:
                by_op.setdefault(entry.op, []).append(entry)
        self.size = len(log)
        self.last = log[-1] if log else None
        return by_op


class RegionNode(LeaderNode):
    """One AZ node of a region whose table is a replicated state machine (module docs).

    ``region`` is the region's name (the table's causal name: every node stamps as the
    region); ``nodes`` the region's node ids; ``regions`` every region of the table, so that
    a node can address a remote region's node; ``policy``, ``items`` and ``stamps`` are the
    :class:`~replicalab.replica.table.TableReplica`'s.
    """

    def __init__(self, replica_id: str, region: str, nodes: tuple[str, ...],
                 regions: Mapping[str, tuple[str, ...]], policy: str | MergePolicy = "item-lww",
                 items: Mapping[str, Item] | None = None, *, stamps: str = "wall",
                 config: LeaderConfig | None = None, answers: dict[str, Item | None] | None = None) -> None:
        super().__init__(replica_id, nodes, config)
        if not isinstance(regions, Mapping) or tuple(regions.get(region, ())) != self.nodes:
            raise ConfigError(f"regions must map every region to its node ids, {region!r} to {list(self.nodes)}")
        self.region = region
        self.regions = {r: tuple(sorted(ns)) for r, ns in sorted(regions.items())}
        self.initial = dict(items or {})
        self.machine = TableReplica(region, policy, self.initial, stamps=stamps)
        #: Per partition: the table's write count and clocks after the last entry of that
        #: partition's log this node applied (see ``_apply_entry``).
        self.clocks: dict[int, tuple[int, LamportClock, HybridLogicalClock]] = {}
        #: Requests this node passed to a leader and has not yet seen in a log: (source, message,
        #: kind, when), per partition.
        self.forwarded: dict[int, list[tuple[str, Any, str, int]]] = {}
        self.watching: set[int] = set()
        #: Strong reads waiting for a leadership check: op -> request.
        self.strong: dict[str, Request] = {}
        #: Strong reads another node passed on, by op: that node (it answers the client).
        self.vias: dict[str, str] = {}
        #: When each strong read this node leads the quorum round of began, by op.
        self.read_at: dict[str, int] = {}
        self.started = False
        self.rejoining = False
        #: Per partition: when the current wait began (module docs, the liveness rule).
        self.since: dict[int, int] = {}
        #: Per partition: election timeouts in a row in which no other node said anything.
        self.unanswered: dict[int, int] = {}
        #: The item each read was answered with, by op: an observation channel the run's owner
        #: passes in (shared by the region's nodes and kept across a crash), for the staleness
        #: judge; the protocol never reads it.
        self.answers = answers if answers is not None else {}
        #: Per partition: its log's entries by op (see :class:`_LogIndex`).
        self._index: dict[int, _LogIndex] = {}
        #: Per partition: (term, log index, entry) of the last request this node sequenced as
        #: its leader — where the next append's ``ctx.sequenced`` may continue from (``_sequence``).
        self._sequenced: dict[int, tuple[int, int, Entry]] = {}

    def _ops(self, p: int) -> dict[str, list[Entry]]:
        """Partition ``p``'s log entries by op, as the log is now."""
        index = self._index.get(p)
        if index is None:
            index = self._index[p] = _LogIndex()
        return index.of(self.parts[p].log)

    def recover(self, identity: str) -> RegionNode:
        """After losing its disk: an empty log, the initial table, no vote until a leader speaks."""
        fresh = RegionNode(self.id, self.region, self.nodes, self.regions, self.machine.policy,
                           self.initial, stamps=self.machine.stamps, config=self.config,
                           answers=self.answers)
        for part in fresh.parts:
            part.term, part.leader, part.can_vote = 0, None, False
        fresh.rejoining = True
        return fresh

    @property
    def items(self) -> dict[str, Item]:
        """The node's table: the committed inputs it has applied."""
        return self.machine.items

    # -- lifecycle ---------------------------------------------------------------------
    def on_start(self, ctx: Context) -> None:
        self._check_peers(ctx)
        rejoin = self.started or self.rejoining
        self.started, self.rejoining = True, False
        self.watching.clear()
        for p, part in enumerate(self.parts):
            part.heard = ctx.now
            part.waiting.clear()
            part.probes.clear()
            if self.leads(p) and not rejoin:  # the first leaders: no announcement, no traffic
                part.next = {n: len(part.log) + 1 for n in self.nodes}
                part.match = {n: 0 for n in self.nodes}
                part.match[self.id] = len(part.log)
            elif rejoin:
                # Whoever led before the crash may have been replaced, or be down itself: know
                # no leader (so wait, and campaign if none speaks) until a leader answers the
                # Rejoin. A node that kept calling a dead leader its own would wait for nothing
                # and never get what its log lacks.
                part.leader = None
                for node in self.nodes:
                    if node != self.id:
                        ctx.send(node, Rejoin(p, len(part.log)))
        self.strong.clear()
        self.vias.clear()
        self.read_at.clear()
        self.since.clear()
        self.unanswered.clear()
        for p, part in enumerate(self.parts):
            waiting = self.forwarded.get(p)
            if waiting:  # strong reads died with the process: their clients' requests are lost
                waiting[:] = [w for w in waiting if w[2] != "read"]
                if not waiting:
                    del self.forwarded[p]
            if p in self.forwarded or (part.leader is None and part.can_vote):
                self._watch(ctx, p)

    def reconnect(self, ctx: Context) -> None:
        """The network inside the region healed (the run's owner calls this at the heal of an AZ
        partition, :class:`~replicalab.scenarios.regions.AzPartition`): catch up, as after a
        restart but keeping what this node leads.

        Nothing ticks while a region is idle, so without a word nobody would send a node that
        was cut off what it missed. Per partition: a node that believes it leads sends every
        follower an append (a node cut off with a stale leadership learns the higher term from
        the answers and steps down); any other node sends ``Rejoin`` with its log length, so
        that the leader sends what its log lacks; a wait that gave up (no quorum answered
        while cut off) starts again.
        """
        self._check_peers(ctx)
        self.unanswered.clear()
        for p, part in enumerate(self.parts):
            if self.leads(p):
                self._replicate(ctx, p)
                continue
            for node in self.nodes:
                if node != self.id:
                    ctx.send(node, Rejoin(p, len(part.log)))
            if p in self.forwarded or (part.leader is None and part.can_vote):
                self._watch(ctx, p)

    def on_timer(self, ctx: Context, timer: Any) -> None:
        if not (isinstance(timer, tuple) and len(timer) == 2 and timer[0] == _SUSPECT
                and type(timer[1]) is int and 0 <= timer[1] < len(self.parts)):
            raise ConfigError(f"{self.id} got a timer it never set: {_validate.shown(timer)}")
        p = timer[1]
        self.watching.discard(p)
        part = self.parts[p]
        if self.leads(p):
            self.since.pop(p, None)
            self._take_forwarded(ctx, p)
            self._expire_probes(ctx, p)
            return
        self._expire_reads(ctx, p)
        waiting = self.forwarded.get(p)
        uncommitted = len(part.log) > part.commit
        if not waiting and not uncommitted and (part.leader is not None or not part.can_vote):
            self.since.pop(p, None)  # nothing waits, and a leader is known (or we cannot vote)
            return
        timeout = self.config.election * (1 + self.rank)
        start = self.since.setdefault(p, ctx.now)
        if ctx.now < start + timeout:  # this wait began after the timer was set: not yet due
            self.watching.add(p)
            ctx.set_timer(start + timeout - ctx.now, (_SUSPECT, p))
            return
        if part.heard <= start:
            # No leader spoke for a whole timeout while we waited: campaign (if we may vote).
            if self.unanswered.get(p, 0) >= 3:
                self._give_up_reads(ctx, p)
                self.since.pop(p, None)
                return  # nobody answers: no quorum is up; a Rejoin wakes us
            self.unanswered[p] = self.unanswered.get(p, 0) + 1
            if part.can_vote:
                self._campaign(ctx, p)
                if self.leads(p):
                    return
        elif part.leader is not None and part.leader != self.id and waiting:
            for source, message, kind, _ in waiting:  # a leader we did not know then: pass again
                ctx.send(part.leader, _Forward(source, message, kind), scope=self._key(message))
        self.since[p] = ctx.now  # a new wait
        self._watch(ctx, p)

    def _watch(self, ctx: Context, p: int) -> None:
        """Keep ``p``'s election timer running; a wait that had not begun begins now."""
        self.since.setdefault(p, ctx.now)
        if p not in self.watching:
            self.watching.add(p)
            ctx.set_timer(self.config.election * (1 + self.rank), (_SUSPECT, p))

    def drop_reads(self) -> list[tuple[str, Any]]:
        """The strong reads whose clients wait on this node, as (client, request); forgotten
        here (the node crashed: those clients' connections dropped)."""
        held: list[tuple[str, Any]] = []
        for p in sorted(self.forwarded):
            waiting = self.forwarded[p]
            held.extend((w[0], w[1]) for w in waiting if w[2] == "read")
            waiting[:] = [w for w in waiting if w[2] != "read"]
            if not waiting:
                del self.forwarded[p]
        for part in self.parts:
            for probe, (client, op, key, _) in list(part.probes.items()):
                if op not in self.vias:
                    held.append((client, self.strong.pop(op, None) or GetItem(op, key, consistent=True)))
                    del part.probes[probe]
        return held

    def _expire_probes(self, ctx: Context, p: int) -> None:
        """At the leader: a strong read whose quorum round has not completed by the deadline
        gets a ``NoLeader`` error (no quorum answers: this node may no longer lead)."""
        part = self.parts[p]
        for probe, (client, op, _, _) in list(part.probes.items()):
            if ctx.now - self.read_at.get(op, ctx.now) < self._read_deadline():
                continue
            del part.probes[probe]
            self.strong.pop(op, None)
            self.read_at.pop(op, None)
            if self.vias.pop(op, None) is None:  # a read passed on: the node that has it answers
                ctx.reply(client, Response(op, ok=False, error=NOT_LEADER, message=(
                    f"{self.id} could not confirm with a quorum that it leads partition {p} within "
                    f"{self._read_deadline()} ms; the read was not answered")))
        if part.probes and p not in self.watching:
            self.watching.add(p)
            ctx.set_timer(self.config.election * (1 + self.rank), (_SUSPECT, p))

    def _read_deadline(self) -> int:
        return self.config.timeout + 2 * self.config.election * len(self.nodes)

    def _expire_reads(self, ctx: Context, p: int) -> None:
        """Answer with an error the strong reads passed on that no leader answered in time."""
        waiting = self.forwarded.get(p)
        if not waiting:
            return
        late = [w for w in waiting if w[2] == "read" and ctx.now - w[3] >= self._read_deadline()]
        if late:
            self._fail_reads(ctx, p, late, f"no leader of partition {p} answered within "
                                            f"{self._read_deadline()} ms")

    def _give_up_reads(self, ctx: Context, p: int) -> None:
        reads = [w for w in self.forwarded.get(p, ()) if w[2] == "read"]
        self._fail_reads(ctx, p, reads, f"no other node of {self.region} answers: partition {p} "
                                        "has no leader")

    def _fail_reads(self, ctx: Context, p: int, reads: list[tuple[str, Any, str, int]], why: str) -> None:
        if not reads:
            return
        waiting = self.forwarded[p]
        waiting[:] = [w for w in waiting if w not in reads]
        if not waiting:
            del self.forwarded[p]
        for source, request, _, _ in reads:
            ctx.reply(source, Response(request.op, ok=False, error=NOT_LEADER,
                                       message=f"{self.id}: {why}; the read was not answered"))

    # -- messages ----------------------------------------------------------------------
    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        _validate.replica_id(src, "message source")
        self._check_peers(ctx)  # before anything changes: an input reaches every AZ
        kind = type(msg)
        if kind in (Append, Rejoin, Appended) and type(msg.partition) is int:
            # A leader speaks, or a node came back: a quorum may be up. Votes and campaigns are
            # no such sign: with too few voters up, candidates would grant each other votes and
            # refuse each other forever (a node that lost its disk refuses every campaign).
            self.unanswered.pop(msg.partition, None)
        if kind is Append:
            self._on_append(ctx, src, msg)
            self._seen_in_log(msg.partition)
            part = self.parts[msg.partition]
            if len(part.log) > part.commit and not self.leads(msg.partition):
                self._watch(ctx, msg.partition)  # an entry waits to commit (module docs)
            elif not self.forwarded.get(msg.partition):
                self.since.pop(msg.partition, None)  # all committed, a leader spoke: no wait
        elif kind is Appended:
            self._on_appended(ctx, src, msg)
        elif kind is VoteRequest:
            self._on_vote_request(ctx, src, msg)
        elif kind is Vote:
            self._on_vote(ctx, src, msg)
        elif kind is Rejoin:
            self._on_rejoin(ctx, src, msg)
        elif kind is _Forward:
            if msg.kind == "read":
                self._read(ctx, msg.source, msg.message, forwarded=True, via=src)
            else:
                self._input(ctx, msg.source, msg.message, msg.kind, forwarded=True)
        elif kind is _ReadAnswer:
            self._on_read_answer(ctx, msg)
        elif kind is Replicate:
            self._input(ctx, src, msg, "replicate")
        elif isinstance(msg, Request):
            self._input(ctx, src, msg, "request")
        else:
            raise ConfigError(f"{self.id} cannot handle a {type(msg).__name__}; a region node takes "
                              "the table's requests, Replicate and the leader protocol's messages")

    @staticmethod
    def _key(message: Any) -> str:
        key = getattr(message, "key", None)
        if key is None:  # a transaction: its first item's key
            key = message.scope
        return str(key)

    def _input(self, ctx: Context, source: str, message: Any, kind: str, forwarded: bool = False) -> None:
        if kind == "request" and not message.mutates:
            self._read(ctx, source, message, forwarded)
            return
        partitions = {partition_of(str(k), self.config.partitions)
                      for _, k in getattr(message, "written", lambda: ((None, self._key(message)),))()}
        if len(partitions) > 1:
            ctx.reply(source, Response(message.op, ok=False, error="ValidationError", message=(
                f"the transaction's items lie in {len(partitions)} partitions of {self.region}; "
                "with region_protocol='leader' a transaction must stay within one partition")))
            return
        p = partitions.pop()
        part = self.parts[p]
        if self.leads(p):
            op = getattr(message, "op", None) or message.write
            if kind == "replicate" and any(  # another node's copy of it, or a failover's second
                    e.value.kind == kind and e.value.source == source and e.value.message == message
                    for e in self._ops(p).get(op, ())):
                return
            part.log.append(Entry(part.term, self._key(message), Input(kind, source, message, ctx.wall_time()), op))
            if kind == "request":
                part.waiting[len(part.log)] = (source, message.op)
                self._sequence(ctx, p)
            part.match[self.id] = len(part.log)
            self._replicate(ctx, p)
            self._advance(ctx, p)
            return
        if kind == "replicate" and any(e.value.source == source for e in self._ops(p).get(message.write, ())):
            return  # the leader's append brought it before the copy sent to this node arrived
        # Replication reaches every node of the region (the leader too): a follower only
        # watches that the leader logs it. A client's request reached this node alone: pass it on.
        if part.leader is not None and not forwarded and kind == "request":
            ctx.send(part.leader, _Forward(source, message, kind), scope=self._key(message))
        self.forwarded.setdefault(p, []).append((source, message, kind, ctx.now))
        self._watch(ctx, p)

    def _sequence(self, ctx: Context, p: int) -> None:
        """The request just appended to partition ``p``'s log takes its place here, now: the
        table it will be applied on holds exactly the writes of the entries before it (module
        docs, ground truth).

        Naming every earlier entry at each append would cost O(n²) over a log of n entries, so
        the node names its log (``"p0"``) and, while it leads in the same term and the request
        it sequenced last is still at its place, only the entries appended since then
        (``extends=True``); otherwise — its first append as leader, or its log was cut back —
        the whole prefix, afresh. Ground truth gives the same pasts either way."""
        part = self.parts[p]
        last = len(part.log)
        entry = part.log[-1]
        done = self._sequenced.get(p)
        start, extends = 0, False
        if done is not None and done[0] == part.term and done[1] < last and part.log[done[1] - 1] is done[2]:
            start, extends = done[1] - 1, True
        before = [w for i in range(start, last - 1) if part.log[i].op for w in _writes(part.log[i].value)]
        for n, op in enumerate(_writes(entry.value)):  # a transaction's writes: all behind the same
            ctx.sequenced(op, before if n == 0 else [], log=f"p{p}", extends=extends or n > 0)
        self._sequenced[p] = (part.term, last, entry)

    def _read(self, ctx: Context, source: str, request: Any, forwarded: bool, via: str | None = None) -> None:
        if not getattr(request, "consistent", False):
            self._run_machine(ctx, source, request, ctx.wall_time(), carry_out=True)  # what we applied
            return
        if not isinstance(request, GetItem) and not hasattr(request, "key"):
            ctx.reply(source, Response(request.op, ok=False, error="ValidationError", message=(
                "a strongly consistent read spanning items (a Query) is not supported with "
                "region_protocol='leader'; read each item with ConsistentRead, or read eventually")))
            return
        p = partition_of(request.key, self.config.partitions)
        part = self.parts[p]
        if self.leads(p):
            self._probe += 1
            self.strong[request.op] = request
            if via is not None:
                self.vias[request.op] = via
            part.probes[self._probe] = (source, request.op, request.key, {self.id})
            self.read_at[request.op] = ctx.now
            self._replicate(ctx, p, probe=self._probe)
            self._check_probe(ctx, p, self._probe)
            if part.probes and p not in self.watching:  # the read's deadline (module docs)
                self.watching.add(p)
                ctx.set_timer(self.config.election * (1 + self.rank), (_SUSPECT, p))
        elif via is not None:
            return  # passed to a node that no longer leads: the node that passed it retries
        else:
            # This node answers the client: it waits for the leader's answer (liveness rule).
            if part.leader is not None:
                ctx.send(part.leader, _Forward(source, request, "read"), scope=request.key)
            self.forwarded.setdefault(p, []).append((source, request, "read", ctx.now))
            self._watch(ctx, p)

    def _on_read_answer(self, ctx: Context, msg: _ReadAnswer) -> None:
        if type(msg.partition) is not int or not 0 <= msg.partition < len(self.parts):
            raise ConfigError(f"a read answer names no partition of {self.id}: {_validate.shown(msg.partition)}")
        waiting = self.forwarded.get(msg.partition, [])
        mine = [w for w in waiting if w[2] == "read" and w[0] == msg.client and w[1].op == msg.response.op]
        if not mine:
            return  # answered already (a second leader's answer, or a timeout)
        waiting.remove(mine[0])
        if not waiting:
            del self.forwarded[msg.partition]
        ctx.reply(msg.client, msg.response)

    def _answer_strong(self, ctx: Context, p: int, client: str, op: str, key: str) -> None:
        request = self.strong.pop(op, None) or GetItem(op, key, consistent=True)
        self.read_at.pop(op, None)
        via = self.vias.pop(op, None)
        self._run_machine(ctx, client, request, ctx.wall_time(), carry_out=True,
                          via=None if via is None else (via, p))

    def _step_down(self, ctx: Context, p: int, term: int) -> None:
        # Strong reads passed on by another node are that node's to answer (it retries).
        part = self.parts[p]
        for probe, (_, op, _, _) in list(part.probes.items()):
            self.read_at.pop(op, None)
            if self.vias.pop(op, None) is not None:
                self.strong.pop(op, None)
                del part.probes[probe]
        super()._step_down(ctx, p, term)
        if self.started:
            # No leader known: a wait begins — unless one is already running. A candidate whose
            # log we refuse (its VoteRequest's higher term steps us down) must not restart our
            # wait, or a node with the most up-to-date log but a longer timeout than a stale
            # candidate's campaign period never campaigns (found with an AZ partition healed
            # before another AZ came back without its disk).
            self.since.setdefault(p, ctx.now)
            self._watch(ctx, p)

    def _send_append(self, ctx: Context, node: str, msg: Append) -> None:
        # The entries carry their writes' ground truth to the follower (who holds what).
        keys = sorted({e.key for e in msg.entries if e.op})
        ctx.send(node, msg, scopes=keys) if keys else ctx.send(node, msg)

    def _seen_in_log(self, p: int) -> None:
        """Forget forwarded requests the leader has put in the log."""
        waiting = self.forwarded.get(p)
        if waiting:
            ops = self._ops(p)
            waiting[:] = [w for w in waiting
                          if w[2] == "read" or (getattr(w[1], "op", None) or w[1].write) not in ops]
            if not waiting:
                del self.forwarded[p]
                self.since.pop(p, None)  # the wait is over (the leader spoke)

    def _on_rejoin(self, ctx: Context, src: str, msg: Rejoin) -> None:
        if type(msg.partition) is not int or not 0 <= msg.partition < len(self.parts):
            raise ConfigError(f"Rejoin names no partition of {self.id}: {_validate.shown(msg.partition)}")
        part = self.parts[msg.partition]
        if self.leads(msg.partition) and src in self.nodes:
            part.next[src] = max(1, min(part.next.get(src, 1), msg.length + 1))
            self._replicate(ctx, msg.partition)
        elif src in self.nodes:
            if part.leader == src:  # our leader restarted: it leads nothing now (module docs)
                part.leader = None
                self.since[msg.partition] = ctx.now
            elif part.leader is not None:
                # A live leader answers the Rejoin with appends to every node; until one arrives,
                # doubt it. A leader that died while the region was quiet is noticed only so:
                # else nobody waits, nobody campaigns, and the node that came back (which may
                # not vote if it lost its disk) never gets what its log lacks.
                part.leader = None
            self._watch(ctx, msg.partition)  # a wait that had stopped resumes

    def _become_leader(self, ctx: Context, p: int, announce: bool = True) -> None:
        super()._become_leader(ctx, p, announce)
        self._take_forwarded(ctx, p)

    def _take_forwarded(self, ctx: Context, p: int) -> None:
        waiting = self.forwarded.pop(p, [])
        for source, message, kind, _ in waiting:
            if kind == "read":
                self._read(ctx, source, message, forwarded=True)
            else:
                self._input(ctx, source, message, kind, forwarded=True)

    def _advance(self, ctx: Context, p: int) -> None:
        before = self.parts[p].commit
        super()._advance(ctx, p)
        if self.parts[p].commit > before:
            self._replicate(ctx, p)  # tell the followers at once: no heartbeat will

    # -- the state machine -------------------------------------------------------------
    def _apply_entry(self, ctx: Context, p: int, index: int, entry: Entry) -> None:
        part = self.parts[p]
        waiting = part.waiting.pop(index, None)
        if not entry.op:
            return
        value: Input = entry.value
        leader = self.leads(p)
        # Each node interleaves the partitions' logs in its own order. Their keys are disjoint,
        # but the table's write count, Lamport and hybrid clocks span keys: one partition's
        # order would leak into another's stamps and version vectors, and the AZs' tables
        # would drift apart. So each partition's log runs under its own clocks.
        machine = self.machine
        machine.writes_applied, machine.lamport, machine.hlc = self.clocks.get(
            p, (0, LamportClock(machine.actor), HybridLogicalClock(machine.actor)))
        self._run_machine(ctx, value.source, value.message, value.wall, carry_out=leader,
                          answer=waiting is not None)
        self.clocks[p] = (machine.writes_applied, machine.lamport, machine.hlc)

    def _run_machine(self, ctx: Context, source: str, message: Any, wall: int, *, carry_out: bool,
                     answer: bool = True, via: tuple[str, int] | None = None) -> None:
        """Feed one input to the table; at the leader (``carry_out``), do what it asked: its
        trace records, its reply (if the client waits here) and its replication, to each
        remote region's gateway node. A follower's run changes its table only."""
        peers = tuple(r for r in self.regions if r != self.region)
        rctx = RecordingContext(self.region, now=ctx.now, wall=wall, peers=peers)
        self.machine.on_message(rctx, source, message)
        if not carry_out:
            return
        if not getattr(message, "mutates", True) and isinstance(getattr(message, "key", None), str):
            self.answers[message.op] = self.machine.items.get(message.key)
        for command in rctx.commands:
            if type(command) is Log:
                ctx.log(command.kind, **command.data)
            elif type(command) is Reply:
                if answer and via is not None:  # the node that passed the read on replies
                    ctx.send(via[0], _ReadAnswer(via[1], command.client, command.response))
                elif answer:
                    ctx.reply(command.client, command.response)
            elif type(command) is Send:
                scope: Hashable | None = command.scope
                for node in self.regions[command.dst]:
                    ctx.send(node, command.msg, scope=scope)
            else:
                raise ConfigError(f"a region's table asked for {type(command).__name__}, which a "
                                  "replicated region cannot do (timers belong to a single replica)")
