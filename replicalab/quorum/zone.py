"""A region without a leader: AZ nodes running N/R/W quorums over the region's table (Dynamo's shape).

With ``replicas_per_region=3, region_protocol="leaderless"`` every region of a global table is
a group of AZ nodes (``eu-west-1a``, ``eu-west-1b``, ...), each a
:class:`~replicalab.replica.table.TableReplica` of its own, and no node leads anything
(DeCandia et al., SOSP 2007, §4):

* **A key lives on n nodes of its region**: its *preference list*, the first ``n`` nodes met on
  the region's consistent-hash ring (:class:`~replicalab.quorum.ring.HashRing`) from the key.
* **A client write goes to a live home node, the coordinator** (the request router picks the
  first live one). It applies the write to its own table — stamped with the node's own causal
  name, see below — and sends the resulting item to the other home nodes in a ``Hold``; each
  merges it with the table's merge policy and answers ``Held``. Merges are idempotent and
  commutative, which is why a leaderless region can use the table's own merge. The client is
  answered once ``w`` home nodes (the coordinator included) hold it.
* **If w acknowledgements do not come within** ``timeout`` ms the client gets a
  ``QuorumNotReached`` error whose outcome is unknown: the write is in the coordinator's table
  (and maybe others'); the ledger judges it by its effect and says the client was told it
  failed. With ``sloppy=True`` the coordinator first suspects the silent nodes and sends the
  item to the next nodes of the ring (stand-ins) with a *hint* naming the home node; a stand-in
  keeps hinted items apart from its table and hands them home every ``handoff_period`` ms
  until the home node takes them (:func:`~replicalab.quorum.ring.sloppy_targets`, shared with
  :class:`~replicalab.quorum.node.DynamoNode`).
* **Cross-region replication** starts once the write is acknowledged — or once its quorum
  timed out, since the write is in the coordinator's table either way and a region replicates
  what it holds: the coordinator sends the item to every node of each remote region's
  preference list for the key, and each merges it directly (a merge needs no quorum). It then
  tells every node that answered its ``Hold`` so (then, or when its ``Held`` comes), in a
  small ``Shipped`` note — sent only after the ``Held``, so it cannot overtake the ``Hold``.
* **A holder ships what its coordinator did not**: a node that took a ``Hold`` (home node or
  stand-in) remembers the write as *not known shipped* until the coordinator's ``Shipped``
  comes. If the note has not come ``3 * timeout`` ms after the ``Hold`` (the coordinator
  ships by ``2 * timeout`` at the latest, after a sloppy retry; one more timeout covers the
  note's trip), or if the coordinator restarts first (its ``CatchUp``: a coordinator that lost
  its disk lost its pending writes with it), the holder ships the write itself and logs
  ``ShippedForCoordinator``. Without this a coordinator that lost its disk (or never came
  back) between its ``Hold`` and its quorum left the write on the other AZs of its region for
  good and never in the other regions: the run never converged. Why this shape: every holder
  shipping every write would multiply cross-region traffic by ``n``; shipping only when a
  coordinator's restart is seen (a ``CatchUp``) misses a coordinator that never comes back,
  and a holder cannot tell "down" from "slow" without a deadline anyway. The cost in the
  common case is ``n - 1`` intra-region notes per write and no cross-region message. A write
  crosses twice only when a note is late or never sent (a ``Held`` after the quorum's
  timeout, a partition inside the region, a coordinator that kept its disk and ships when it
  restarts) or when several holders outlive their coordinator (each ships; none knows the
  others) — merges are idempotent, so a second copy changes nothing but the traffic.
* **Reads**: a strongly consistent read (``ConsistentRead``) waits for ``r`` replies from home
  nodes, an eventually consistent one answers from the first reply (the coordinator's own copy
  when it is home). Replies are merged with the policy. With ``read_repair`` the coordinator,
  once every home node answered (or at the timeout), sends the merge to home nodes that
  answered with less. With ``r + w > n`` and no sloppy quorum, a consistent read meets every
  write its region acknowledged; an eventual read need not.
* **Causal names**: each node stamps its writes with its own id (``eu-west-1b``), not the
  region's: two nodes of a region may coordinate writes to one key concurrently (after a
  failover, or while their views of who is up differ), and under one shared name they would
  mint the same dot, vector-clock entry or LWW stamp for different writes. A node that lost its
  disk restarts under a new name (the simulator's ``eu-west-1b~2``), as every replica does.

* **A node back from an outage catches up first**: it asks the other nodes — its region's,
  and the other regions' (for what they shipped while it was down) — for the items it is home
  for and merges what they send — a node's answer holds its table's copies and the hints it
  keeps for another home node of those keys; once ``nodes - w + 1`` of its region's other nodes
  answered (they hold at least one copy of every write the region acknowledged, even one this
  node held and lost with its disk, in a table or a hint) it is ready. Until then the request router sends it no client
  request and it answers no read's ``Peek``: its copy does not count towards ``r``. Without this a restarted node would coordinate
  the next write on the copy it had, and that write would not have *seen* a write the region
  acknowledged while it was away — LWW would then drop the acknowledged write in favour of
  one that had not seen it. (A write acknowledged in the moment between a peer's answer and
  the node becoming ready can still slip past: the peer's ``Hold`` races the answer.) A peer
  that was down when the node asked is asked again when it comes back (its own ``CatchUp``
  says it is up) — a remote region's node too — so a node never waits for ever on an answer
  an outage swallowed.
* **A write from a node's earlier incarnation comes back to it**: an answer to a ``CatchUp``
  holds what the answering node had *then*; a write the restarted node's earlier incarnation
  sent before it lost its disk (a ship to another region, a ``Hold``) may still be in flight
  and arrive after the answer left — the remote region then holds a write the node, its
  key's home, lost for good (with ``n=1`` nobody else in its region has it). So a node that
  answered a node's first ``CatchUp`` remembers it, and when an item from that node later
  teaches it something (the merge changed its copy of a key both are home for) it sends its
  merged copy back (a stand-in sends a hinted ``Hold``'s item back as it came). It cannot
  tell the earlier incarnation's messages from the new one's (a message names the node, not
  its incarnation, and clocks restart with the disk), so it sends back both: merges are
  idempotent, so a copy the new incarnation did not need changes nothing. A copy goes back
  only when a merge changed something, and a merge (a join) only grows a copy, so two
  restarted nodes cannot echo for ever: each echo that starts another grew a copy, and a run
  has finitely many writes. Cost: zero messages in a run where nothing restarts; after a restart, at most one
  copy back per item from the restarted node that was news to the receiver, for the rest of
  the run. Not covered: a receiver that itself lost its disk after answering forgets whom it
  answered (periodic anti-entropy inside the region repairs only between a region's nodes).

* **Merkle anti-entropy between the home nodes of a key range** (when the scenario has
  ``anti_entropy=AntiEntropy(...)``): every ``period`` ms (the first after a random offset from
  the node's seeded stream) a node starts a sync session (:mod:`replicalab.antientropy`, the
  table's protocol) with the next node of its region in ring order of ids, comparing only the
  keys both are home for; differing items are merged with the table's policy on both sides
  and logged as ``Merged`` (``write="anti-entropy"``, with the merge's losses) and ``Synced``.
  It is the repair for what nobody announces: catch-up runs when a node restarts, hinted
  handoff when a stand-in held a write, read repair when a read happens to touch the key —
  a node that was cut off from its region (an ``AzPartition``: nobody restarted) gets the
  writes the cut dropped from anti-entropy alone. Why these choices: sessions stay inside
  the region (the other regions' nodes get every write shipped to them, and a restarted node
  asks them too), round-robin rather than a random peer so that within ``nodes - 1`` periods
  after the last fault every pair of live nodes has compared (convergence by a bound, not by
  luck), and shared keys only so that no node takes or offers a key it is no home of.

"Held by a region" (the ledger's view): a node holds a write once it merged it; the ledger
judges a key on its home nodes only (:meth:`LeaderlessNode.owns`), per node, from ground
truth. Refused (see :mod:`replicalab.scenarios.options`): conditional writes, the versioned
pattern and transactions (a condition checked on one coordinator's possibly stale copy would
be a lie: use ``region_protocol="leader"``), strongly consistent Query, any Query when ``n``
is below the region's node count (a node answers it from its own copy), ``mode="mrsc"``
and provisioned capacity.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from replicalab import _validate
from replicalab.antientropy import HEADER_BYTES, SyncSession, item_bytes
from replicalab.errors import ConfigError, TopologyError
from replicalab.items import Item
from replicalab.merkle import MerkleTree
from replicalab.policies import MergePolicy
from replicalab.quorum.config import QuorumConfig
from replicalab.quorum.node import NOT_REACHED
from replicalab.quorum.ring import HashRing, sloppy_targets, stand_ins
from replicalab.replica import dynamo as _dynamo
from replicalab.replica.base import Context, Request, Response
from replicalab.replica.requests import GetItem, PutItem, UpdateItem
from replicalab.replica.sync_driver import SYNC_MESSAGES, SYNC_TIMER, AntiEntropy, is_sync_timer
from replicalab.replica.table import Replicate, TableReplica

__all__ = ["HANDOFF_TRIES", "CatchUp", "CaughtUp", "Held", "HintHandoff", "HintTaken", "Hold",
           "LeaderlessNode", "Peek", "Peeked", "Shipped", "refusal"]


def _op(_inst: object, _attr: object, value: Any) -> None:
    _validate.name(value, "operation id")


def _key(_inst: object, _attr: object, value: Any) -> None:
    _validate.name(value, "item key")


def _optional_node(_inst: object, _attr: object, value: Any) -> None:
    if value is not None:
        _validate.replica_id(value, "hinted home node")


def _replicate(_inst: object, _attr: object, value: Any) -> None:
    if not isinstance(value, Replicate):
        raise ConfigError(f"a Replicate(...) message is needed here, got {_validate.shown(value)}")


def _optional_item(_inst: object, _attr: object, value: Any) -> None:
    if value is not None and not isinstance(value, Item):
        raise ConfigError(f"an Item or None is needed here, got {_validate.shown(value)}")


def _replicates(_inst: object, _attr: object, value: Any) -> None:
    if not isinstance(value, tuple) or not all(isinstance(v, Replicate) for v in value):
        raise ConfigError(f"a tuple of Replicate(...) messages is needed here, got {_validate.shown(value)}")


def _clock(_inst: object, _attr: object, value: Any) -> None:
    if type(value) is not int or value < 0:
        raise ConfigError(f"a Lamport time is an integer >= 0, got {_validate.shown(value)}")


def _hlc(_inst: object, _attr: object, value: Any) -> None:
    if not (isinstance(value, tuple) and len(value) == 2 and all(type(v) is int and v >= 0 for v in value)):
        raise ConfigError(f"a hybrid logical clock is a (wall, logical) pair of integers >= 0, "
                          f"got {_validate.shown(value)}")


def _taken(_inst: object, _attr: object, value: Any) -> None:
    if not isinstance(value, tuple) or not all(
            isinstance(t, tuple) and len(t) == 2 and all(isinstance(x, str) for x in t) for t in value):
        raise ConfigError(f"taken must be a tuple of (key, write) string pairs, got {_validate.shown(value)}")


@attrs.frozen
class Hold:
    """Coordinator -> a node asked to hold write ``op``: the item after it (``hint``: the home
    node a stand-in keeps it for; None: the receiver is home)."""

    op: str = attrs.field(validator=_op)
    replicate: Replicate = attrs.field(validator=_replicate)
    hint: str | None = attrs.field(default=None, validator=_optional_node)


@attrs.frozen
class Held:
    """A node -> the coordinator: it holds ``op``'s item (merged, or kept as a hint)."""

    op: str = attrs.field(validator=_op)


@attrs.frozen
class Shipped:
    """Coordinator -> a node it asked to hold write ``op``: the write went to the other
    regions, so the node need not ship it (module docs)."""

    op: str = attrs.field(validator=_op)


@attrs.frozen
class Peek:
    """Coordinator -> a home node: your copy of ``key``, for read ``op``."""

    op: str = attrs.field(validator=_op)
    key: str = attrs.field(validator=_key)


@attrs.frozen
class Peeked:
    """A home node -> the coordinator: its copy of the key (None: it holds none), and its
    clocks (a read's answer advances the coordinator's clocks, as every path bringing a
    remote write in does)."""

    op: str = attrs.field(validator=_op)
    item: Item | None = attrs.field(validator=_optional_item)
    lamport: int = attrs.field(default=0, validator=_clock)
    hlc: tuple[int, int] = attrs.field(default=(0, 0), validator=_hlc)


def _flag(_inst: object, _attr: object, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"True or False is needed here, got {_validate.shown(value)}")


@attrs.frozen
class CatchUp:
    """A restarted node -> the other nodes of its region: send me the items I am home for.

    ``again``: not a restart but asking a node again that came back (its own ``CatchUp``) after
    an outage swallowed the first ask; it is answered and never asked back, so asks end."""

    again: bool = attrs.field(default=False, validator=_flag)


@attrs.frozen
class CaughtUp:
    """A node -> a restarted node: its copies of the keys the restarted node is home for."""

    items: tuple[Replicate, ...] = attrs.field(validator=_replicates)


@attrs.frozen
class HintHandoff:
    """A stand-in -> the home node: the items it kept for it."""

    items: tuple[Replicate, ...] = attrs.field(validator=_replicates)


@attrs.frozen
class HintTaken:
    """The home node -> the stand-in: it merged these items (by key and write)."""

    taken: tuple[tuple[str, str], ...] = attrs.field(validator=_taken)


_MESSAGES = (Hold, Held, Shipped, Peek, Peeked, CatchUp, CaughtUp, HintHandoff, HintTaken, Replicate,
             *SYNC_MESSAGES)

#: Hand-off rounds in a row without an answer before a stand-in stops trying (until the home
#: node's CatchUp, or its own restart).
HANDOFF_TRIES = 20

_TIMEOUT = "quorum-timeout"
_HANDOFF = ("hint-handoff",)
_SHIP = ("ship-unshipped",)


class _Pending:
    """One operation this node coordinates."""

    __slots__ = ("acks", "answered", "asked", "client", "hints", "item", "key", "need", "replies",
                 "request", "response", "retried", "shipped")

    def __init__(self, client: str, request: Any, key: str, need: int, asked: list[str],
                 hints: dict[str, str | None]) -> None:
        self.client = client
        self.request = request
        self.key = key
        self.need = need
        self.asked = asked
        self.hints = hints
        self.acks: list[str] = []
        self.replies: dict[str, Item | None] = {}
        self.response: Response | None = None  # a write's held answer
        self.item: Replicate | None = None  # a write's item, as sent
        self.answered = False
        self.retried = False
        self.shipped = False


def refusal(request: Any) -> str:
    """'' if a leaderless region can run ``request``, else why not and what to use instead."""
    conditional = (
        (isinstance(request, UpdateItem) and (request.condition or request.expect_version is not None
                                              or request.create_if_absent or request.versioned))
        or (isinstance(request, PutItem) and request.condition)
        or (isinstance(request, _dynamo.DynamoWrite) and request.condition is not None))
    if conditional:
        return ("a conditional write is not supported with region_protocol='leaderless': the "
                "condition would be checked on one coordinator's possibly stale copy (Dynamo has "
                "no conditional writes); use region_protocol='leader'")
    if isinstance(request, _dynamo.DynamoTransaction):
        return ("transactions are not supported with region_protocol='leaderless' (no node orders "
                "them); use region_protocol='leader'")
    if isinstance(request, _dynamo.DynamoQuery) and request.consistent:
        return ("a strongly consistent Query is not supported with region_protocol='leaderless'; "
                "read each item with ConsistentRead, or query eventually")
    return ""


class _Captured:
    """A context that passes everything on to ``ctx`` but keeps the replies (a write's answer
    waits for its quorum)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.replies: list[tuple[str, Response]] = []

    @property
    def replica(self) -> str:
        return self._ctx.replica

    @property
    def now(self) -> int:
        return self._ctx.now

    @property
    def peers(self) -> Sequence[str]:
        return self._ctx.peers

    @property
    def traced(self) -> bool:
        return getattr(self._ctx, "traced", True)

    def wall_time(self) -> int:
        return self._ctx.wall_time()

    def random(self) -> float:
        return self._ctx.random()

    def send(self, dst: str, msg: Any, scope: Hashable | None = None,
             scopes: Iterable[Hashable] | None = None) -> None:
        self._ctx.send(dst, msg, scope=scope, scopes=scopes)

    def set_timer(self, delay: int, timer: Any) -> int:
        return self._ctx.set_timer(delay, timer)

    def cancel_timer(self, timer_id: int) -> None:
        self._ctx.cancel_timer(timer_id)

    def reply(self, client: str, response: Response) -> None:
        self.replies.append((client, response))

    def log(self, kind: str, **data: Any) -> None:
        self._ctx.log(kind, **data)

    def sequenced(self, op: str, after: Sequence[str] = (), *, log: str | None = None,
                  extends: bool = False) -> None:
        self._ctx.sequenced(op, after, log=log, extends=extends)


class _SharedKeys(dict[str, bytes]):
    """The ``{key: item bytes}`` a session between two nodes compares (the keys both are home
    for), with what sending them all in one message would cost (the ``Synced`` record's
    ``full_state_bytes``)."""

    def __init__(self, values: dict[str, bytes]) -> None:
        super().__init__(values)
        self.full_state_bytes = HEADER_BYTES + sum(item_bytes(k, v) for k, v in values.items())


class LeaderlessNode(TableReplica):
    """One AZ node of a leaderless region (module docs).

    ``region`` is the node's region, ``rings`` every region's ring of nodes (a node addresses
    remote regions' home nodes by them), ``config`` the region's N/R/W (``n`` at most the
    region's node count), ``answers`` the shared observation channel of the staleness judge
    (the item each read was answered with; the protocol never reads it).
    """

    def __init__(self, replica_id: str, region: str, rings: Mapping[str, HashRing],
                 config: QuorumConfig, policy: str | MergePolicy = "item-lww",
                 items: Mapping[str, Item] | None = None, *, stamps: str = "wall",
                 actor: str | None = None, answers: dict[str, Item | None] | None = None,
                 anti_entropy: AntiEntropy | None = None) -> None:
        super().__init__(replica_id, policy, items, stamps=stamps, actor=actor, anti_entropy=anti_entropy)
        if not isinstance(config, QuorumConfig):
            raise ConfigError(f"config must be a QuorumConfig, got {_validate.shown(config)}")
        if not isinstance(rings, Mapping) or not all(isinstance(r, HashRing) for r in rings.values()):
            raise ConfigError("rings must map every region to its HashRing of node ids")
        ring = rings.get(region)
        if ring is None or replica_id not in ring.nodes:
            raise ConfigError(f"node {_validate.shown(replica_id)} is not on the ring of region "
                              f"{_validate.shown(region)}")
        if config.n > len(ring.nodes):
            raise ConfigError(f"n={config.n} home nodes per key need at least {config.n} nodes in "
                              f"{region}, it has {len(ring.nodes)}")
        self.region = region
        self.rings = dict(sorted(rings.items()))
        self.ring = ring
        self.config = config
        self._others = tuple(n for r in self.rings.values() for n in r.nodes if n != replica_id)
        self.answers = answers if answers is not None else {}
        #: Items kept for unreachable home nodes: home -> [(key, write) -> Replicate].
        self.hints: dict[str, dict[tuple[str, str], Replicate]] = {}
        self._pending: dict[str, _Pending] = {}
        self._suspected: dict[str, int] = {}
        self._written: list[tuple[str, Item, str]] = []
        self._handoff_armed = False
        self._handoff_tries = 0
        self.started = False
        #: After a restart: catching up from the region's other nodes (the request router
        #: sends it no client request until it has); how many of them answered.
        self.syncing = False
        self._caught_up_from: set[str] = set()
        #: Nodes this node asked to catch it up since its restart that have not answered.
        self._unanswered: set[str] = set()
        #: Writes this node holds for a coordinator that has not said it shipped them to the
        #: other regions: (coordinator, op) -> (deadline, item). Empty with one region.
        self._unshipped: dict[tuple[str, str], tuple[int, Replicate]] = {}
        self._ship_timer: int | None = None
        #: Anti-entropy sessions started: the next one is with the region's next node.
        self._sync_turn = 0
        #: Nodes whose restart (a first ``CatchUp``) this node answered: a write their earlier
        #: incarnation sent may still be on its way here, after the answer (module docs).
        self._rejoined: set[str] = set()

    def recover(self, identity: str) -> LeaderlessNode:
        """After losing its disk: an empty table, no hints, a new causal name; it catches up."""
        fresh = LeaderlessNode(self.id, self.region, self.rings, self.config, self.policy,
                               stamps=self.stamps, actor=identity, answers=self.answers,
                               anti_entropy=self.anti_entropy)
        fresh.started = True
        return fresh

    def owns(self, key: str) -> bool:
        """True iff this node is one of ``key``'s ``n`` home nodes (the ledger judges it there)."""
        return self.id in self.ring.preference_list(key, self.config.n)

    def home(self, key: str) -> tuple[str, ...]:
        """``key``'s preference list in this node's region."""
        return self.ring.preference_list(key, self.config.n)

    def drop_reads(self) -> list[tuple[str, Any]]:
        """The requests whose clients wait on this node, as (client, request); forgotten here
        (the node crashed: those clients' connections dropped)."""
        held = [(p.client, p.request) for _, p in sorted(self._pending.items()) if not p.answered]
        for pending in self._pending.values():
            pending.answered = True
        return held

    # -- lifecycle -----------------------------------------------------------------
    def on_start(self, ctx: Context) -> None:
        self._check_peers(ctx)
        # Operations this node coordinated died with it (their timers too); their clients'
        # connections dropped when it crashed (the scenario's reads_lost). A write it applied
        # and never shipped to the other regions is in its table (the disk survived): the
        # region replicates what it holds, so it goes now.
        for pending in [p for _, p in sorted(self._pending.items()) if p.item is not None]:
            self._ship_remote(ctx, pending)
        self._pending.clear()
        self._handoff_armed = False
        self._handoff_tries = 0
        if self.hints:
            self._arm_handoff(ctx)
        self._ship_timer = None  # it died with the crash; the writes it guarded did not
        if self._unshipped:
            self._arm_ship(ctx)
        if self.anti_entropy is not None:
            # A random first offset (from the node's seeded stream), so that the region's nodes
            # do not sync in lockstep; sessions in flight at a durable restart died in the crash.
            ctx.set_timer(1 + int(ctx.random() * self.anti_entropy.period), SYNC_TIMER)
            for name in sorted(self.sessions):
                ctx.log("SyncAbandoned", session=name, peer=self.session_peer.pop(name))
                self._end_session(name)
        if self.started:  # a restart: catch up before coordinating (module docs)
            self.syncing = True
            self._caught_up_from = set()
            self._unanswered = set(self._others)
            for node in self._others:  # the region's nodes, and the other regions' (what they
                ctx.send(node, CatchUp())  # shipped here while this node was down)
        self.started = True

    def reconnect(self, ctx: Context) -> None:
        """The network inside the region healed (the run's owner calls this at the heal of an
        :class:`~replicalab.scenarios.regions.AzPartition`).

        No node restarted, so no ``CatchUp`` asks for what the cut dropped: the ``Hold`` messages
        of writes coordinated on the other side, which nothing sends again. Periodic
        anti-entropy repairs those (within ``nodes - 1`` periods every pair of the region's
        nodes has compared; the options refuse a leaderless cut without it). What this node
        does now: a node that restarted while cut off asks again the nodes whose answer to its
        ``CatchUp`` the cut swallowed (else it would wait for ever, never ready), and a stand-in
        that gave up handing its hints home (a home node unreachable for :data:`HANDOFF_TRIES`
        rounds) starts a new round at once.
        """
        self._check_peers(ctx)
        for node in sorted(self._unanswered):
            ctx.send(node, CatchUp(again=True))
        if self.hints:
            self._handoff_tries = 0
            self._send_hints(ctx)

    def _catch_up_quorum(self) -> int:
        """Answers a restarted node needs: every write the region acknowledged is on ``w`` of
        its nodes, so at least ``w - 1`` of the others hold it even if this node held it and
        lost its disk; any ``nodes - w + 1`` of the others include one of them."""
        return max(1, min(len(self.ring.nodes) - 1, len(self.ring.nodes) - self.config.w + 1))

    def on_timer(self, ctx: Context, timer: Any) -> None:
        self._check_peers(ctx)
        if isinstance(timer, tuple) and len(timer) == 2 and timer[0] == _TIMEOUT and isinstance(timer[1], str):
            self._timed_out(ctx, timer[1])
        elif timer == _HANDOFF:
            self._handoff_armed = False
            self._send_hints(ctx)
        elif timer == _SHIP:
            self._ship_timer = None
            self._ship_unshipped(ctx, lambda coordinator, deadline: deadline <= ctx.now)
        elif self.anti_entropy is not None and is_sync_timer(timer):
            super().on_timer(ctx, timer)  # the table's: start a session, or abandon a stuck one
        else:
            raise ConfigError(f"{self.id} got a timer it never set: {_validate.shown(timer)}")

    # -- messages ------------------------------------------------------------------
    def _check_peers(self, ctx: Context) -> None:
        """Refuse, before changing anything, a context that cannot reach every node this one
        may send to (its region's, and each remote region's)."""
        peers = ctx.peers
        missing = [n for n in self._others if n not in peers]
        if missing:
            raise TopologyError(f"{self.id} sends to the nodes of every region but its context cannot "
                                f"reach {missing[:6]}; its peers are {list(peers)[:12]}")

    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        _validate.replica_id(src, "message source")
        self._check_peers(ctx)
        kind = type(msg)
        if kind not in _MESSAGES and not isinstance(msg, Request):
            raise ConfigError(f"{self.id} cannot handle a {type(msg).__name__}; a leaderless region "
                              "node takes the table's requests, Replicate and its quorum messages")
        if kind is CatchUp and not any(src in r.nodes for r in self.rings.values()):
            raise ConfigError(f"{self.id} got a CatchUp from {_validate.shown(src)}, which is "
                              "no node of the table's regions")
        if kind in SYNC_MESSAGES:
            if src == self.id or src not in self.ring.nodes:
                raise ConfigError(f"{self.id} got an anti-entropy message from {_validate.shown(src)}; "
                                  f"anti-entropy runs between the nodes of one region: "
                                  f"{', '.join(n for n in self.ring.nodes if n != self.id)}")
            if self.anti_entropy is None:
                raise ConfigError(f"{self.id} got an anti-entropy message but runs none; give the "
                                  "scenario anti_entropy=AntiEntropy(...) for every node")
        if self._suspected:
            self._suspected.pop(src, None)  # it spoke: it is up
        if kind is Hold:
            self._hold(ctx, src, msg)
        elif kind is Held:
            self._on_held(ctx, src, msg.op)
        elif kind is Shipped:
            if self._unshipped.pop((src, msg.op), None) is not None and not self._unshipped:
                self._disarm_ship(ctx)
        elif kind is Peek:
            if self.syncing:  # not caught up: its copy may lack acknowledged writes (see docs)
                return
            ctx.send(src, Peeked(msg.op, self.items.get(msg.key), self.lamport.time,
                                 (self.hlc.wall, self.hlc.logical)), scope=msg.key)
        elif kind is Peeked:
            self._observe_clocks(ctx, msg.lamport, msg.hlc)
            self._on_peeked(ctx, src, msg.op, msg.item)
        elif kind is HintHandoff:
            for replicate in msg.items:
                self._merge(ctx, src, replicate)
            ctx.send(src, HintTaken(tuple((r.key, r.write) for r in msg.items)))
        elif kind is HintTaken:
            self._taken(src, msg)
        elif kind is CatchUp:
            if not msg.again:
                self._rejoined.add(src)
            if src in self.hints:  # the home node is back: its hints go now
                self._send_hints(ctx, only=src)
            if self._unshipped and not msg.again:
                # src restarted: what it coordinated and had not shipped died with it if it
                # lost its disk. Ship before answering, so the write is on its way even if this
                # node loses its own disk after handing src its copy.
                self._ship_unshipped(ctx, lambda coordinator, deadline: coordinator == src)
            ring = next(r for r in self.rings.values() if src in r.nodes)
            n = min(self.config.n, len(ring.nodes))
            items = tuple(Replicate(k, item, "", self.lamport.time, (self.hlc.wall, self.hlc.logical))
                          for k, item in sorted(self.items.items())
                          if self.owns(k) and src in ring.preference_list(k, n))
            # A hint kept here for another home node of a key src is home for is a copy of a
            # write its region acknowledged — after src and the coordinator lost their disks
            # maybe the only one left: src gets it too (src's own hints went just above).
            items += tuple(self.hints[home][held] for home in sorted(self.hints) if home != src
                           for held in sorted(self.hints[home])
                           if src in ring.preference_list(held[0], n))
            ctx.send(src, CaughtUp(items), scopes=[r.key for r in items])
            if src in self._unanswered and not msg.again:
                # src is back from an outage that swallowed this node's own CatchUp: ask again,
                # or this node would wait for its answer for ever (it sends CatchUp only on
                # start) and never get what src holds for it (a remote write shipped here
                # while this node was down, and src was down when this node came back).
                ctx.send(src, CatchUp(again=True))
        elif kind is CaughtUp:
            self._unanswered.discard(src)
            for replicate in msg.items:
                self._merge(ctx, src, replicate)
            if self.syncing and src in self.ring.nodes:  # readiness counts its own region
                self._caught_up_from.add(src)
                if len(self._caught_up_from) >= self._catch_up_quorum():
                    self.syncing = False
                    ctx.log("CaughtUp", node=self.id, sources=sorted(self._caught_up_from))
        elif kind is Replicate:
            self._merge_from(ctx, src, msg)  # another region's write, or a read repair
        elif kind in SYNC_MESSAGES:
            self._on_sync(ctx, src, msg)
        else:
            self._request(ctx, src, msg)

    def _request(self, ctx: Context, src: str, msg: Request) -> None:
        why = refusal(msg)
        if not why and isinstance(msg, _dynamo.DynamoQuery) and self.config.n < len(self.ring.nodes):
            # A node answers a Query from its own table, which holds only the keys it is home
            # for: with n below the node count the answer would silently miss items.
            why = (f"a Query is not supported with n={self.config.n} of {len(self.ring.nodes)} nodes "
                   "per region: a node answers it from its own copy, which holds only the keys it is "
                   f"home for; give n={len(self.ring.nodes)}, or read each item with GetItem")
        if why:
            key = getattr(msg, "key", None) or getattr(msg, "prefix", "")
            ctx.log("Rejected", op=msg.op, key=str(key), client=src, error="ValidationError",
                    message=why)
            response = (_dynamo.DynamoResult(msg.op, ok=False, error="ValidationError", message=why)
                        if isinstance(msg, (_dynamo.DynamoWrite, _dynamo.DynamoTransaction,
                                            _dynamo.DynamoQuery))
                        else Response(msg.op, ok=False, error="ValidationError", message=why))
            ctx.reply(src, response)
            return
        if msg.mutates:
            self._write_request(ctx, src, msg)
        elif isinstance(msg, (GetItem, _dynamo.DynamoGet)):
            self._read(ctx, src, msg)
        else:  # an eventually consistent Query: this node's copy
            super().on_message(ctx, src, msg)

    # -- writes --------------------------------------------------------------------
    def _write_request(self, ctx: Context, src: str, msg: Request) -> None:
        captured = _Captured(ctx)
        self._written = []
        super().on_message(captured, src, msg)  # apply locally: Wrote (or Rejected), no reply yet
        written, self._written = self._written, []
        if not written:  # refused (a type mismatch) or nothing to write: answer now
            for client, response in captured.replies:
                ctx.reply(client, response)
            return
        key, item, op = written[0]
        targets, hints = self._targets(ctx, key)
        pending = _Pending(src, msg, key, self.config.w, targets, hints)
        pending.response = captured.replies[0][1] if captured.replies else Response(msg.op)
        pending.item = Replicate(key, item, op, self.lamport.time, (self.hlc.wall, self.hlc.logical))
        self._pending[msg.op] = pending
        ctx.set_timer(self.config.timeout, (_TIMEOUT, msg.op))
        self._send_holds(ctx, msg.op, pending, targets)

    def _merge_from(self, ctx: Context, src: str, msg: Replicate) -> None:
        """Merge an item ``src`` sent (a ``Hold``, a remote region's ship, a read repair); if
        ``src`` restarted since this node answered its ``CatchUp`` and the item taught this
        node something, send the merge back to ``src``: the item may come from ``src``'s
        earlier incarnation, whose table died with its disk after the answer left (module docs).
        """
        if src not in self._rejoined or not self.owns(msg.key):
            self._merge(ctx, src, msg)
            return
        before = self.items.get(msg.key)
        self._merge(ctx, src, msg)
        after = self.items[msg.key]
        ring = next(r for r in self.rings.values() if src in r.nodes)
        if after != before and src in ring.preference_list(msg.key, min(self.config.n, len(ring.nodes))):
            ctx.send(src, Replicate(msg.key, after, msg.write, self.lamport.time,
                                    (self.hlc.wall, self.hlc.logical)), scope=msg.key)

    def _replicate(self, ctx: Context, key: str, item: Item, write: str) -> None:
        # The table's write path calls this after applying: the quorum takes over from here.
        self._written.append((key, item, write))

    def _targets(self, ctx: Context, key: str) -> tuple[list[str], dict[str, str | None]]:
        if self.config.sloppy and self._suspected:
            for node, until in list(self._suspected.items()):
                if until <= ctx.now:
                    del self._suspected[node]
        return sloppy_targets(self.ring, key, self.config.n, self._suspected if self.config.sloppy else ())

    def _send_holds(self, ctx: Context, op: str, pending: _Pending, targets: Sequence[str]) -> None:
        assert pending.item is not None
        item = self._as_now(pending.item)  # a sloppy retry comes later: later writes included
        for node in targets:
            if node == self.id:
                self._on_held(ctx, node, op)  # applied already: the coordinator holds it
            else:
                ctx.send(node, Hold(op, item, pending.hints.get(node)), scope=pending.key)

    def _hold(self, ctx: Context, src: str, msg: Hold) -> None:
        if len(self.rings) > 1:  # guard the write until its coordinator says it shipped it
            self._unshipped[(src, msg.op)] = (ctx.now + 3 * self.config.timeout, msg.replicate)
            if self._ship_timer is None:
                self._arm_ship(ctx)
        if msg.hint is None or msg.hint == self.id:
            self._merge_from(ctx, src, msg.replicate)
        else:
            self._observe(ctx, msg.replicate)
            self.hints.setdefault(msg.hint, {})[(msg.replicate.key, msg.replicate.write)] = msg.replicate
            ctx.log("HintStored", key=msg.replicate.key, op=msg.op, home=msg.hint, dots=[])
            self._handoff_tries = 0  # a new hint: a new round of tries
            self._arm_handoff(ctx)
            if src in self._rejoined:
                # Kept apart from the table, so "news" cannot be told: the coordinator's item
                # goes back as it came (its earlier incarnation may have lost it, module docs).
                ctx.send(src, msg.replicate, scope=msg.replicate.key)
        ctx.send(src, Held(msg.op))

    def _on_held(self, ctx: Context, node: str, op: str) -> None:
        pending = self._pending.get(op)
        if pending is None or node in pending.acks or pending.item is None:
            return
        pending.acks.append(node)
        if not pending.answered and len(pending.acks) >= self.config.w:
            pending.answered = True
            ctx.reply(pending.client, pending.response or Response(op))
            self._ship_remote(ctx, pending)
        elif pending.shipped and node != self.id and len(self.rings) > 1:
            # The note goes only to a node whose Held came back: a note sent before it would
            # overtake the Hold it answers (links reorder) and find nothing to clear.
            ctx.send(node, Shipped(op), scope=pending.key)
        if len(pending.acks) == len(pending.asked) and pending.answered:
            del self._pending[op]

    def _ship_remote(self, ctx: Context, pending: _Pending) -> None:
        """Send the write's item to every home node of the key in each other region, then tell
        the nodes that hold it that it went (so none of them ships it again)."""
        if pending.shipped or pending.item is None:
            return
        pending.shipped = True
        if len(self.rings) == 1:
            return
        self._send_remote(ctx, pending.item)
        for node in pending.acks:  # a later Held gets its note on arrival (_on_held)
            if node != self.id:
                ctx.send(node, Shipped(pending.request.op), scope=pending.key)

    def _send_remote(self, ctx: Context, item: Replicate) -> None:
        item = self._as_now(item)
        for region, ring in self.rings.items():
            if region != self.region:
                for node in ring.preference_list(item.key, min(self.config.n, len(ring.nodes))):
                    ctx.send(node, item, scope=item.key)

    def _as_now(self, replicate: Replicate) -> Replicate:
        """``replicate`` as this node holds its key *now*: merged with its table's copy (a home
        node) or with every hint it keeps for the key (a stand-in), later writes included, and
        stamped with its clocks now — as a one-replica region ships (``TableReplica._ship``).

        Why: a message carries everything its sender knows of the key when it is sent (ground
        truth credits the receiver with all of it). A write shipped after its quorum timed out,
        or handed to a stand-in on a sloppy retry, leaves after later writes to the key may have
        reached this node; its item from before them would carry less than that, and a write
        the receiver made next would count as having seen writes its version vector lacks."""
        item = replicate.item
        if self.owns(replicate.key):
            current = self.items.get(replicate.key)
            held = [current] if current is not None else []
        else:
            held = [r.item for home in sorted(self.hints) for (key, _), r in sorted(self.hints[home].items())
                    if key == replicate.key]
        for other in held:
            if other is not item:  # the write's own item, unchanged since: nothing to merge
                item = self.policy.merge(item, other).item
        return Replicate(replicate.key, item, replicate.write, self.lamport.time,
                         (self.hlc.wall, self.hlc.logical))

    def _arm_ship(self, ctx: Context) -> None:
        """One timer for every write this node guards: it fires at the earliest deadline."""
        earliest = min(deadline for deadline, _ in self._unshipped.values())
        self._ship_timer = ctx.set_timer(max(0, earliest - ctx.now), _SHIP)

    def _disarm_ship(self, ctx: Context) -> None:
        if self._ship_timer is not None:
            ctx.cancel_timer(self._ship_timer)
            self._ship_timer = None

    def _ship_unshipped(self, ctx: Context, due: Callable[[str, int], bool]) -> None:
        """Ship every guarded write for which ``due(coordinator, deadline)`` holds, in a fixed
        order, and forget it; then wait for the next deadline, if any is left."""
        for guard in sorted(self._unshipped):
            deadline, item = self._unshipped[guard]
            if due(guard[0], deadline):
                del self._unshipped[guard]
                ctx.log("ShippedForCoordinator", key=item.key, op=guard[1], coordinator=guard[0])
                self._send_remote(ctx, item)
        self._disarm_ship(ctx)
        if self._unshipped:
            self._arm_ship(ctx)

    # -- reads ---------------------------------------------------------------------
    def _read(self, ctx: Context, src: str, msg: GetItem | _dynamo.DynamoGet) -> None:
        home = list(self.home(msg.key))
        need = self.config.r if msg.consistent else 1
        if not msg.consistent and self.id in home:
            asked = [self.id]  # the first reply is this node's own
        else:
            asked = home
        pending = _Pending(src, msg, msg.key, need, asked, dict.fromkeys(asked))
        self._pending[msg.op] = pending
        ctx.set_timer(self.config.timeout, (_TIMEOUT, msg.op))
        for node in asked:
            if node == self.id:
                self._on_peeked(ctx, node, msg.op, self.items.get(msg.key))
            else:
                ctx.send(node, Peek(msg.op, msg.key), scope=msg.key)

    def _merged(self, replies: Mapping[str, Item | None]) -> Item | None:
        merged: Item | None = None
        for node in sorted(replies):  # merges commute; a fixed order keeps the output canonical
            item = replies[node]
            if item is not None:
                merged = item if merged is None else self.policy.merge(merged, item).item
        return merged

    def _on_peeked(self, ctx: Context, node: str, op: str, item: Item | None) -> None:
        pending = self._pending.get(op)
        if pending is None or node in pending.replies or pending.item is not None:
            return
        pending.replies[node] = item
        if not pending.answered and len(pending.replies) >= pending.need:
            pending.answered = True
            merged = self._merged(pending.replies)
            request = pending.request
            self.answers[op] = merged
            if isinstance(request, GetItem):
                self._answer_read(ctx, pending.client, request, merged)
            else:
                _dynamo.answer_get(ctx, pending.client, request, merged)
        if len(pending.replies) == len(pending.asked):
            self._finish_read(ctx, op, pending)

    def _finish_read(self, ctx: Context, op: str, pending: _Pending) -> None:
        """Every home node asked answered, or time is up: read repair, then forget the read."""
        self._pending.pop(op, None)
        if not self.config.read_repair or len(pending.replies) < 2:
            return
        merged = self._merged(pending.replies)
        if merged is None:
            return
        for node in sorted(pending.replies):
            if pending.replies[node] != merged:
                repair = Replicate(pending.key, merged, "", self.lamport.time,
                                   (self.hlc.wall, self.hlc.logical))
                ctx.log("ReadRepaired", key=pending.key, op=op, node=node, dots=[])
                if node == self.id:
                    self._merge(ctx, node, repair)
                else:
                    ctx.send(node, repair, scope=pending.key)

    # -- time-outs -----------------------------------------------------------------
    def _timed_out(self, ctx: Context, op: str) -> None:
        pending = self._pending.get(op)
        if pending is None:
            return
        writing = pending.item is not None
        answered = pending.acks if writing else list(pending.replies)
        silent = [node for node in pending.asked if node not in answered]
        if writing and self.config.sloppy and not pending.retried and not pending.answered:
            pending.retried = True
            for node in silent:
                self._suspected[node] = ctx.now + self.config.suspect_for
            extra = stand_ins(self.ring, pending.key, pending.asked, self._suspected, silent,
                              pending.hints)
            if extra:
                pending.asked.extend(extra)
                ctx.set_timer(self.config.timeout, (_TIMEOUT, op))
                self._send_holds(ctx, op, pending, extra)
                return
        if not pending.answered:
            pending.answered = True
            what = "held the write" if writing else "answered"
            message = (f"only {len(answered)} of the {pending.need} home nodes needed {what} "
                       f"within {self.config.timeout} ms (asked {', '.join(pending.asked)})")
            if writing:
                message += "; the write is in the coordinator's table and may persist"
            ctx.reply(pending.client, Response(op, ok=False, error=NOT_REACHED, message=message))
        if writing:
            self._ship_remote(ctx, pending)  # the region holds it: it replicates what it holds
            del self._pending[op]
        else:
            self._finish_read(ctx, op, pending)

    # -- anti-entropy --------------------------------------------------------------
    def shares(self, key: str, peer: str) -> bool:
        """True iff this node and ``peer`` are both home nodes of ``key`` in this region: the
        keys an anti-entropy session between them compares."""
        home = self.ring.preference_list(key, self.config.n)
        return self.id in home and peer in home

    def _sync_peer(self, ctx: Context) -> str | None:
        """The region's other nodes in turn (ring order of ids), so that after a fault every
        pair of the region's live nodes has compared within ``nodes - 1`` periods."""
        peers = [node for node in self.ring.nodes if node != self.id]
        if not peers:
            return None
        peer = peers[self._sync_turn % len(peers)]
        self._sync_turn += 1
        return peer

    def _session(self, name: str, peer: str) -> SyncSession:
        """A session over the keys this node and ``peer`` are both home for. With ``n`` equal to
        the region's node count that is every key this node holds (a node holds only keys it is
        home for): the table's kept tree. Otherwise a tree of the shared keys, built for the
        session — a node must not take (nor offer) a key it is no home of."""
        if self.config.n >= len(self.ring.nodes):
            return super()._session(name, peer)
        config = self.anti_entropy or AntiEntropy()
        shared = {key: item for key, item in sorted(self.items.items()) if self.shares(key, peer)}
        values = _SharedKeys({key: item.to_bytes() for key, item in shared.items()})
        tree = MerkleTree.from_digests({key: item.digest() for key, item in shared.items()},
                                       fanout=config.fanout, depth=config.depth_for(len(shared)))
        return SyncSession(tree, values, self._merge_bytes, session=name,
                           child_hash_bytes=config.child_hash_bytes, adaptive=config.depth is None)

    # -- hinted handoff ------------------------------------------------------------
    def _arm_handoff(self, ctx: Context) -> None:
        if not self._handoff_armed:
            self._handoff_armed = True
            ctx.set_timer(self.config.handoff_period, _HANDOFF)

    def _send_hints(self, ctx: Context, only: str | None = None) -> None:
        """Send each home node the items kept for it; every ``handoff_period`` ms while any
        are kept, at most :data:`HANDOFF_TRIES` times in a row unanswered (a home node that
        never returns must not keep the run going for ever: when it does return, its
        ``CatchUp`` brings its hints at once)."""
        for home in sorted(self.hints):
            if only is None or home == only:
                items = tuple(self._as_now(self.hints[home][k]) for k in sorted(self.hints[home]))
                ctx.send(home, HintHandoff(items), scopes=sorted({r.key for r in items}))
        if only is not None:
            return
        self._handoff_tries += 1
        if self.hints and self._handoff_tries < HANDOFF_TRIES:
            self._arm_handoff(ctx)

    def _taken(self, home: str, msg: HintTaken) -> None:
        self._handoff_tries = 0
        kept = self.hints.get(home)
        if kept is None:
            return
        for key, write in msg.taken:
            kept.pop((key, write), None)
        if not kept:
            del self.hints[home]
