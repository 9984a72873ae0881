"""The table replica: one region of a multi-region table (a DynamoDB global table, say).

A :class:`TableReplica` stores items by key, applies client ``put_item`` /
``update_item`` / ``get_item`` requests at once against its *local* copy,
acknowledges immediately, and replicates the resulting item asynchronously to
every peer it has a link to. What happens when replicated items meet is the
merge policy's business (:mod:`replicalab.policies`); the replica only
records what happened (``Wrote``, ``Merged``, ``Rejected``, ``Read``) so the
ledger and the timeline can show it.

    >>> from replicalab.replica.base import RecordingContext
    >>> region = TableReplica("eu-west-1", policy="item-lww")
    >>> ctx = RecordingContext("eu-west-1", wall=140, peers=["us-east-1"])
    >>> region.on_message(ctx, "portal", UpdateItem("w1", "sub_42", {"city": "London"}))
    >>> [e.kind for e in ctx.effects]
    ['log', 'reply', 'send']
    >>> region.items["sub_42"].to_plain()
    {'city': 'London'}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from replicalab import _validate
from replicalab.antientropy import SyncSession
from replicalab.clocks import HybridLogicalClock, LamportClock
from replicalab.dynamodb.values import item_size
from replicalab.errors import ConfigError
from replicalab.items import Item, Stamp
from replicalab.policies import MergePolicy, Outcome, get_policy
from replicalab.replica import dynamo as _dynamo
from replicalab.replica import parts as _parts
from replicalab.replica._keyspace import ItemStore, KeyspaceIndex
from replicalab.replica.base import Context, Replica, Response
from replicalab.replica.capacity import TokenBucket, write_units
from replicalab.replica.log_fields import element_fields, loss_fields, stamp_fields, written_fields
from replicalab.replica.requests import GetItem, PutItem, ReadResult, UpdateItem
from replicalab.replica.sync_driver import SYNC_MESSAGES as _SYNC_MESSAGES
from replicalab.replica.sync_driver import SYNC_TIMEOUT, AntiEntropy, AntiEntropyDriver
from replicalab.replica.sync_driver import SYNC_TIMER as _SYNC

#: How a ``Wrote`` record shows an attribute the write removed (DynamoDB REMOVE, a delete).
REMOVED = "<removed>"

#: How a table replica stamps writes for LWW: its wall clock, or a hybrid logical clock.
STAMPS = ("wall", "hlc")

# The requests (UpdateItem, PutItem, GetItem, ReadResult), the trace fields (written_fields, ...)
# and AntiEntropy live in replica/requests.py, replica/log_fields.py and replica/sync_driver.py;
# they are imported here, so ``from replicalab.replica.table import UpdateItem`` keeps working.
__all__ = ["Replicate", "TableReplica"]


def _timer_of(timer: Any, kind: str, size: int) -> bool:
    """True if ``timer`` is this replica's own ``(kind, name, ...)`` tuple of ``size`` items."""
    return (isinstance(timer, tuple) and len(timer) == size and timer[0] == kind
            and all(isinstance(part, str) for part in timer))


@attrs.frozen
class Replicate:
    """Replication message: the sender's whole ``item`` for ``key`` after ``write``."""

    key: str = attrs.field(validator=lambda _i, _a, v: _validate.name(v, "item key"))
    item: Item
    write: str
    lamport: int = 0
    hlc: tuple[int, int] = (0, 0)

    def trace_fields(self) -> dict[str, Any]:
        return {"key": self.key, "write": self.write}


_SHIP = "ship"
_CAPACITY = "replication-capacity"


class TableReplica(AntiEntropyDriver, Replica):
    """One region: local reads and writes, acknowledged at once, replicated asynchronously.

    Contract: a write is applied to the local item and acknowledged before any
    other region has it (MREC). Each write ships the whole resulting item to
    every peer, which merges it with the replica's policy. A conditional write
    is checked against the local copy only, so two regions can both pass.
    With ``anti_entropy=AntiEntropy(...)`` it also repairs divergence by periodic
    Merkle sync (:class:`~replicalab.replica.sync_driver.AntiEntropyDriver`).
    """

    def __init__(
        self,
        replica_id: str,
        policy: str | MergePolicy = "item-lww",
        items: Mapping[str, Item] | None = None,
        *,
        stamps: str = "wall",
        actor: str | None = None,
        replication_delay: int = 0,
        anti_entropy: AntiEntropy | None = None,
    ) -> None:
        super().__init__(replica_id)
        if type(replication_delay) is not int or replication_delay < 0:
            raise ConfigError(f"replication_delay must be an integer number of ms >= 0, "
                              f"got {_validate.shown(replication_delay)}")
        if anti_entropy is not None and not isinstance(anti_entropy, AntiEntropy):
            raise ConfigError(f"anti_entropy must be an AntiEntropy(...), got {_validate.shown(anti_entropy)}")
        self.replication_delay = replication_delay
        self.anti_entropy = anti_entropy
        #: Writes acknowledged but not yet shipped to the peers (replication lag).
        self.outbox: list[tuple[str, str]] = []
        self.sessions: dict[str, SyncSession] = {}
        self.session_peer: dict[str, str] = {}
        self.outvoted: dict[str, dict[str, bytes]] = {}
        self.syncs_started = 0
        self.policy = get_policy(policy)
        if stamps not in STAMPS:
            raise ConfigError(f"unknown stamps {_validate.shown(stamps)}; choose one of: {', '.join(STAMPS)}")
        self.stamps = stamps
        #: The name this replica uses causally; a new one after it lost its state.
        self.actor = _validate.replica_id(actor if actor is not None else self.id, "actor")
        self.lamport = LamportClock(self.actor)
        self.hlc = HybridLogicalClock(self.actor)
        if items is not None and not isinstance(items, Mapping):
            raise ConfigError(f"items must map item key -> Item, got {_validate.shown(items)}")
        items = dict(items or {})
        for key, item in items.items():
            _validate.name(key, "item key")
            if not isinstance(item, Item):
                raise ConfigError(f"items[{_validate.shown(key)}] must be an Item, got {type(item).__name__}")
        #: The items by key: a dict that tracks which keys changed, for the keyspace tree.
        self.items: dict[str, Item] = ItemStore(items)
        #: The keyspace tree anti-entropy compares, kept up to date from the changed keys.
        self.keyspace = KeyspaceIndex()
        if anti_entropy is not None:  # built now, from the initial items (regions that start
            # from the same items share one build); sessions then only catch up changed keys
            self.keyspace.update(self.items, fanout=anti_entropy.fanout,
                                 depth=anti_entropy.depth_for(len(self.items)))
        self.writes_applied = 0
        #: The provisioned write capacity of each peer (empty: on-demand, never throttles),
        #: set by a GlobalTable with ``capacity=``: the service's meter of the receiving
        #: region, which a replicated write must pay before it is sent (see
        #: :mod:`replicalab.replica.capacity`).
        self.peer_capacity: dict[str, TokenBucket] = {}
        #: Per peer, the keys whose replication waits for that peer's capacity, in order,
        #: with the latest write of each.
        self.throttled: dict[str, dict[str, str]] = {}

    def on_start(self, ctx: Context) -> None:
        if self.anti_entropy is not None:
            # A random first offset, so that replicas do not all sync in lockstep.
            ctx.set_timer(1 + int(ctx.random() * self.anti_entropy.period), _SYNC)
        if self.outbox:  # a durable restart: what was acknowledged but not shipped goes now
            ctx.set_timer(self.replication_delay, _SHIP)
        for peer in sorted(self.throttled):  # a durable restart: the waits died with the timers
            self._wait_for_capacity(ctx, peer)
        for name in sorted(self.sessions):  # a durable restart: syncs in flight died in the crash
            ctx.log("SyncAbandoned", session=name, peer=self.session_peer.pop(name))
        self.sessions.clear()
        self.outvoted.clear()

    def on_timer(self, ctx: Context, timer: Any) -> None:
        if timer == _SHIP:
            self._ship(ctx)
        elif _timer_of(timer, _CAPACITY, 2):
            self._drain(ctx, timer[1])
        elif timer == _SYNC:
            self._start_sync(ctx)
            ctx.set_timer(self.anti_entropy.period, _SYNC)  # type: ignore[union-attr]
        elif _timer_of(timer, SYNC_TIMEOUT, 2):
            if self._end_session(timer[1]) is not None:
                ctx.log("SyncAbandoned", session=timer[1], peer=self.session_peer.pop(timer[1]))

    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        _validate.replica_id(src, "message source")  # a peer or a client: checked before any clock moves
        if isinstance(msg, Replicate):
            self._merge(ctx, src, msg)
        elif isinstance(msg, _SYNC_MESSAGES):
            self._on_sync(ctx, src, msg)
        elif isinstance(msg, (UpdateItem, PutItem)):
            self._write(ctx, src, msg)
        elif _dynamo.handle(self, ctx, src, msg):
            pass
        elif isinstance(msg, GetItem):
            self._answer_read(ctx, src, msg, self.items.get(msg.key))
        else:
            raise ConfigError(
                f"{self.id} cannot handle a {type(msg).__name__}; a TableReplica takes "
                "UpdateItem, PutItem, GetItem and Replicate (and the DynamoDB requests of "
                "replicalab.replica.dynamo)"
            )

    @staticmethod
    def _answer_read(ctx: Context, src: str, msg: GetItem, item: Item | None) -> None:
        """Answer read ``msg`` with ``item`` (the local copy, or a quorum's merge) and log it."""
        plain = item.to_plain() if item is not None else None
        writes = item.provenance() if item is not None else ()
        ctx.log("Read", op=msg.op, key=msg.key, client=src, consistent=msg.consistent,
                writes=list(writes))
        ctx.reply(src, ReadResult(msg.op, item=plain, writes=writes))

    def _checked(self, ctx: Context, src: str,
                 msg: UpdateItem | PutItem) -> Mapping[str, Any] | None:
        """The attributes a write sets if its condition holds on the local copy; else log and
        reply ``ConditionalCheckFailed`` and return None. Shared by every kind of region."""
        current = self.items.get(msg.key)
        attributes: Mapping[str, Any]
        condition: Mapping[str, Any] | None
        if isinstance(msg, UpdateItem):
            attributes, condition = msg.effective()
            absent = msg.create_if_absent
        else:
            attributes, condition, absent = msg.attributes, msg.condition, False
        failed = self._failed_condition(current, condition)
        if absent and current is not None and not failed:
            failed = f"the item {msg.key} already exists locally (create_if_absent)"
        error = "ConditionalCheckFailed"
        if not failed and isinstance(msg, UpdateItem):
            failed = self._mistyped(current, msg)
            error = "ValidationError"
        if failed:
            ctx.log("Rejected", op=msg.op, key=msg.key, client=src, error=error, message=failed)
            ctx.reply(src, Response(msg.op, ok=False, error=error, message=failed))
            return None
        return attributes

    @staticmethod
    def _mistyped(item: Item | None, msg: UpdateItem) -> str:
        """'' if every ADD/DELETE meets a number or set it can act on locally, else why not.

        DynamoDB refuses such an update with a ValidationException; silently
        treating a string as 0 or as an empty set would corrupt the item.
        """
        if item is None:
            return ""
        elements = msg.elements
        for version in item.versions:
            for name, cell in version.cells:
                if cell.removed or (name not in elements and name not in msg.increments):
                    continue
                if name in elements and not (cell.element or isinstance(cell.value, tuple)):
                    return (f"ADD/DELETE of set elements on {name}, which holds {cell.value!r} "
                            "locally, not a set")
                if name in msg.increments and (cell.element or type(cell.value) is not int):
                    held = "a set" if cell.element else repr(cell.value)
                    return f"ADD of a number to {name}, which holds {held} locally, not a number"
        return ""

    def _write(self, ctx: Context, src: str, msg: UpdateItem | PutItem) -> None:
        attributes = self._checked(ctx, src, msg)
        if attributes is None:
            return
        outcome, stamp = self._apply(ctx, src, msg, attributes)
        ctx.reply(src, Response(msg.op))
        self._replicate(ctx, msg.key, outcome.item, msg.op)

    def _stamp(self, ctx: Context) -> Stamp:
        """Tick the replica's clocks for a local write and return the write's LWW stamp."""
        self.writes_applied += 1
        self.lamport = self.lamport.tick()
        self.hlc = self.hlc.tick(wall=ctx.wall_time())
        if self.stamps == "hlc":
            return Stamp(self.hlc.wall, self.actor, self.writes_applied, self.hlc.logical)
        return Stamp(ctx.wall_time(), self.actor, self.writes_applied)

    def _apply(self, ctx: Context, src: str, msg: UpdateItem | PutItem | _dynamo.DynamoWrite,
               attributes: Mapping[str, Any], *, replace: bool | None = None,
               removed: tuple[str, ...] = (), extra: Mapping[str, Any] | None = None,
               adds: Mapping[str, int] | None = None,
               elements: Mapping[str, tuple[frozenset[Any], frozenset[Any]]] | None = None,
               ) -> tuple[Outcome, Stamp]:
        """Apply a write that passed its checks locally and log it; no reply, no replication.

        ``removed`` attributes get tombstones (DynamoDB's REMOVE, a deleted item) and are
        logged as ``removed``; ``extra`` fields go into the ``Wrote`` record (a transaction);
        ``adds`` are a DynamoDB write's counter increments and ``elements`` its set
        ``ADD``/``DELETE`` as OR-Set members (an UpdateItem carries its own).
        """
        current = self.items.get(msg.key)
        stamp = self._stamp(ctx)
        adds = msg.increments if isinstance(msg, UpdateItem) else dict(adds or {})
        elements = msg.elements if isinstance(msg, UpdateItem) else dict(elements or {})
        # A DynamoDB write's elements are typed members (S:a, N:1, B:<hex>): only a policy
        # that keeps sets gets them (dynamo.plan sends them only then).
        typed = bool(elements) and not isinstance(msg, UpdateItem)
        if replace is None:
            replace = isinstance(msg, PutItem)
        # An empty set is the policies' tombstone for an attribute (a set is never empty).
        written = {**attributes, **{name: frozenset() for name in removed}}
        outcome = self.policy.write(
            current,
            written,
            write=msg.op,
            stamp=stamp,
            replica=self.actor,
            replace=replace,
            adds=adds,
            elements=elements,
            **({"typed": True} if typed else {}),
        )
        self.items[msg.key] = outcome.item
        # Counter increments and OR-Set elements have no parts: the ledger judges them by
        # their own cells (a counter's count, a set's members), not by a chain of bases.
        partial = _parts.wrote_fields(current, msg.update if isinstance(msg, _dynamo.DynamoWrite) else None,
                                      {**adds, **{name: 0 for name in elements}} if typed else adds,
                                      self.policy.keeps_counters, replace)
        ctx.log(
            "Wrote",
            write=msg.op,
            key=msg.key,
            client=src,
            attributes={**written_fields(attributes, adds, elements),
                        **{name: REMOVED for name in removed}},
            added=dict(sorted(adds.items())),
            elements=element_fields(elements),
            replace=replace,
            bookkeeping=list(getattr(msg, "bookkeeping", ())),
            stamp=stamp_fields(stamp),
            clock=outcome.item.versions[0].clock.to_dict(),
            lamport=self.lamport.time,
            hlc=[self.hlc.wall, self.hlc.logical],
            losses=loss_fields(outcome.losses),
            item=outcome.item.to_trace(),
            removed=list(removed),
            **partial,
            **dict(extra or {}),
        )
        return outcome, stamp

    def _replicate(self, ctx: Context, key: str, item: Item, write: str) -> None:
        """Ship the item to every peer, asynchronously (MREC), after the replication delay."""
        if self.replication_delay:
            if not self.outbox:
                ctx.set_timer(self.replication_delay, _SHIP)
            self.outbox.append((key, write))
            return
        replicate = Replicate(key, item, write, self.lamport.time, (self.hlc.wall, self.hlc.logical))
        for peer in ctx.peers:
            if peer in self.peer_capacity:
                self._metered_send(ctx, peer, key, write)
            else:
                ctx.send(peer, replicate, scope=key)

    def _ship(self, ctx: Context) -> None:
        """Send every item with a pending write, as it is now (later writes included)."""
        pending, self.outbox = self.outbox, []
        shipped: dict[str, str] = {}
        for key, write in pending:
            shipped[key] = write  # the latest pending write names the message
        for key, write in shipped.items():
            replicate = Replicate(key, self.items[key], write, self.lamport.time,
                                  (self.hlc.wall, self.hlc.logical))
            for peer in ctx.peers:
                if peer in self.peer_capacity:
                    self._metered_send(ctx, peer, key, write)
                else:
                    ctx.send(peer, replicate, scope=key)

    def _observe(self, ctx: Context, msg: Replicate) -> None:
        """Advance the Lamport and hybrid logical clocks on receiving a message."""
        self._observe_clocks(ctx, msg.lamport, msg.hlc)

    def _observe_clocks(self, ctx: Context, lamport: int, hlc: tuple[int, int]) -> None:
        """Every path that brings a remote write in (replication, repair, a commit, a read
        reply) advances both logical clocks, so a later local write is stamped after it."""
        self.lamport = self.lamport.receive(lamport)
        wall, logical = hlc
        remote = HybridLogicalClock(self.actor, wall, logical)
        self.hlc = self.hlc.receive(remote, wall=ctx.wall_time())

    def _replicated_milli(self, key: str) -> int:
        """Milli-WCUs replicating ``key`` costs the receiving region: 1 KB units of the item."""
        view = _dynamo.resolved(self.items[key])
        return 1000 * write_units(item_size(view) if view is not None else 0)

    def _metered_send(self, ctx: Context, peer: str, key: str, write: str) -> None:
        """Replicate ``key`` to ``peer`` if ``peer``'s write capacity can pay for it now, else
        hold it (behind what already waits for ``peer``) until it can.

        The wait happens before the message leaves, not inside the receiver: a write the
        receiving region has not applied has not reached it, so ground truth (which counts a
        delivered message as seen) stays true.
        """
        bucket = self.peer_capacity[peer]
        waiting = self.throttled.get(peer)
        # Capacity is the service's meter, so it runs on simulated time (not a skewed clock).
        if not waiting and bucket.take(ctx.now, self._replicated_milli(key)):
            ctx.send(peer, Replicate(key, self.items[key], write, self.lamport.time,
                                     (self.hlc.wall, self.hlc.logical)), scope=key)
            return
        ctx.log("ReplicationThrottled", key=key, write=write, peer=peer,
                units=self._replicated_milli(key) // 1000)
        if waiting is None:
            waiting = self.throttled[peer] = {}
            self._wait_for_capacity(ctx, peer, first=(key, write))
        waiting.pop(key, None)  # one message per key: it carries the item as it is by then
        waiting[key] = write

    def _wait_for_capacity(self, ctx: Context, peer: str,
                           first: tuple[str, str] | None = None) -> None:
        key = first[0] if first is not None else next(iter(self.throttled[peer]))
        bucket = self.peer_capacity[peer]
        milli = self._replicated_milli(key)
        ctx.set_timer(max(1, bucket.ready_at(ctx.now, milli) - ctx.now), (_CAPACITY, peer))

    def _drain(self, ctx: Context, peer: str) -> None:
        """Send ``peer`` the waiting items its capacity can pay for now, in order."""
        waiting = self.throttled.get(peer, {})
        bucket = self.peer_capacity[peer]
        while waiting:
            key, write = next(iter(waiting.items()))
            milli = self._replicated_milli(key)
            if not bucket.take(ctx.now, milli):
                if bucket.level(ctx.now) < bucket.size:
                    self._wait_for_capacity(ctx, peer)
                    return
                bucket.force(ctx.now, milli)  # larger than the whole bucket: pay it off later
            del waiting[key]
            ctx.send(peer, Replicate(key, self.items[key], write, self.lamport.time,
                                     (self.hlc.wall, self.hlc.logical)), scope=key)
        self.throttled.pop(peer, None)

    def _merge(self, ctx: Context, src: str, msg: Replicate) -> None:
        self._observe(ctx, msg)
        local = self.items.get(msg.key)
        outcome = self.policy.merge(local, msg.item)
        self.items[msg.key] = outcome.item
        ctx.log(
            "Merged",
            key=msg.key,
            source=src,
            write=msg.write,
            policy=self.policy.name,
            changed=outcome.item != local,
            note=outcome.note,
            siblings=len(outcome.item.versions),
            losses=loss_fields(outcome.losses),
            item=outcome.item.to_trace(),
        )

    def recover(self, identity: str) -> TableReplica:
        """The region after losing its state: no items, same policy, new causal identity."""
        fresh = type(self)(self.id, self.policy, stamps=self.stamps, actor=identity,
                           replication_delay=self.replication_delay, anti_entropy=self.anti_entropy)
        fresh.peer_capacity = self.peer_capacity  # the table's provisioning outlives a crash
        return fresh

    @staticmethod
    def _failed_condition(item: Item | None, condition: Mapping[str, Any] | None) -> str:
        """'' if the condition holds on every local version, else why it failed."""
        if not condition:
            return ""
        versions = [v.attributes() for v in item.versions] if item is not None else [{}]
        for attributes in versions:
            for name, expected in sorted(condition.items()):
                actual = attributes.get(name)
                if actual != expected:
                    want = "absent" if expected is None else repr(expected)
                    have = "absent" if actual is None else repr(actual)
                    return f"condition {name} = {want} is false locally ({name} is {have})"
        return ""
