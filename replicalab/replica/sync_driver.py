"""Periodic Merkle anti-entropy for a region: when to sync, with whom, and what to repair.

:class:`AntiEntropy` is the configuration a region takes (``anti_entropy=``);
:class:`AntiEntropyDriver` is the part of a region that runs the sans-I/O
:class:`~replicalab.antientropy.SyncSession` protocol over ``ctx``: it starts a
session with a random peer on a timer, answers a peer's sessions, carries what
the region holds *now* in every item-bearing message, and merges what a finished
session found with the region's policy (logging ``Merged`` and ``Synced``). A peer's item
that lost to the region's own changes nothing, yet its merge is logged too (``Merged`` with
``changed=False`` and the client values it dropped), as a losing replication merge is: the
write ledger judges by the losses merges record.
"""

from __future__ import annotations

from typing import Any

import attrs

from replicalab import _validate
from replicalab.antientropy import (
    SHORT_HASH_BYTES,
    BucketItems,
    ChildHashes,
    InSync,
    MergedItems,
    RootHash,
    SyncSession,
)
from replicalab.antientropy.wire import _check_child_hash_bytes
from replicalab.clocks import HybridLogicalClock, LamportClock
from replicalab.errors import ConfigError
from replicalab.items import INITIAL_WRITE, Item
from replicalab.merkle import _check_shape, suggested_depth
from replicalab.policies import MergePolicy
from replicalab.replica._keyspace import ItemStore, KeyspaceIndex, Snapshot
from replicalab.replica.base import Context
from replicalab.replica.log_fields import loss_fields

__all__ = ["AntiEntropy", "AntiEntropyDriver"]

#: The timer that starts a sync session.
SYNC_TIMER = "anti-entropy"
#: The first item of a session's time-out timer, ``(SYNC_TIMEOUT, session name)``.
SYNC_TIMEOUT = "sync-timeout"
#: The messages of the sync protocol, which a region hands to :meth:`AntiEntropyDriver._on_sync`.
SYNC_MESSAGES = (RootHash, ChildHashes, BucketItems, MergedItems, InSync)


def is_sync_timer(timer: Any) -> bool:
    """True iff ``timer`` is one the driver sets: :data:`SYNC_TIMER` (start a session) or a
    session's time-out ``(SYNC_TIMEOUT, name)``."""
    return timer == SYNC_TIMER or (isinstance(timer, tuple) and len(timer) == 2
                                   and timer[0] == SYNC_TIMEOUT and isinstance(timer[1], str))


@attrs.frozen
class AntiEntropy:
    """Periodic Merkle anti-entropy: every ``period`` ms a replica syncs with a random peer.

    Items are compared as canonical bytes in a :class:`~replicalab.merkle.MerkleTree`
    of the given ``fanout`` and ``depth``; differing items are merged with the
    replica's policy on both sides. A session that has not finished after
    ``timeout`` ms (a message was lost) is abandoned; the next one starts afresh.

    Each region keeps its tree up to date as items change (it is built when the region
    is made), so a session costs what the changed and differing keys cost, not a rebuild.

    **Depth.** By default (``depth=None``) the depth follows the key count at run time:
    a region keeps its tree at :func:`~replicalab.merkle.suggested_depth` of its own key
    count (about one key per bucket), and each session runs at the depth of the *larger*
    of the two stores. Peers agree on it in the first flights (each root carries its
    sender's key count; see "Depth" in :mod:`replicalab.antientropy`); the smaller side
    rebuilds its tree at that depth for the session, from the snapshot, and the session
    takes one flight more when the responder is the larger. Why this rule: the depth is a
    function both sides compute from the same two numbers, so no table of shapes must be
    configured alike; the larger store decides because streaming whole crowded buckets
    costs it the most; and a depth changes only when a key count crosses a power of the
    fan-out, so regions of one table almost always agree already and rebuild nothing.
    An integer ``depth`` fixes the shape instead (every region must then use the same);
    :meth:`for_keys` picks a fixed depth for a key count.
    ``child_hash_bytes`` is the length of the hashes below the root: 8 by default (short
    hashes salted per session, a quarter of the hash bytes; a collision only delays a
    repair by one session, see :mod:`replicalab.antientropy`), 32 for full SHA-256.
    """

    period: int = attrs.field(default=500, validator=lambda _i, _a, v: _positive(v, "period"))
    fanout: int = attrs.field(default=16, validator=lambda _i, _a, v: _check_shape(v, 0))
    depth: int | None = attrs.field(default=None, validator=lambda i, _a, v: _check_depth(i, v))
    timeout: int = attrs.field(default=2000, validator=lambda _i, _a, v: _positive(v, "timeout"))
    child_hash_bytes: int = attrs.field(default=SHORT_HASH_BYTES,
                                        validator=lambda _i, _a, v: _check_child_hash_bytes(v))

    def depth_for(self, keys: int) -> int:
        """The depth of a region's tree holding ``keys`` keys: ``depth``, or if None ``suggested_depth(keys)``.

            >>> AntiEntropy().depth_for(100_000), AntiEntropy(depth=2).depth_for(100_000)
            (5, 2)
        """
        return suggested_depth(keys, self.fanout) if self.depth is None else self.depth

    @classmethod
    def for_keys(cls, keys: int, *, period: int = 500, fanout: int = 16, timeout: int = 2000,
                 child_hash_bytes: int = SHORT_HASH_BYTES) -> AntiEntropy:
        """Anti-entropy whose tree depth follows the key count: about one key per bucket.

        The depth is :func:`~replicalab.merkle.suggested_depth` of ``keys``: with a fixed
        depth, buckets hold ``keys / fanout**depth`` keys each, and a session streams every
        key of a bucket that differs.

            >>> AntiEntropy.for_keys(100_000).depth, AntiEntropy.for_keys(200).depth
            (5, 2)
        """
        return cls(period=period, fanout=fanout, depth=suggested_depth(keys, fanout), timeout=timeout,
                   child_hash_bytes=child_hash_bytes)


def _check_depth(config: AntiEntropy, depth: Any) -> None:
    if depth is not None:
        _check_shape(config.fanout, depth)


def _positive(value: Any, what: str) -> None:
    if type(value) is not int or value < 1:
        raise ConfigError(f"anti-entropy {what} must be an integer number of ms >= 1, got {_validate.shown(value)}")


class AntiEntropyDriver:
    """The anti-entropy half of a region (a mixin of :class:`~replicalab.replica.table.TableReplica`).

    It keeps its sessions in the region's ``sessions`` and ``session_peer`` and
    counts ``syncs_started``; the region sets them up, sets the timers and
    routes :data:`SYNC_MESSAGES` here. Items arriving by repair advance the
    region's clocks through the region's ``_observe_clocks``.
    """

    # State the region holds (set in TableReplica.__init__).
    items: dict[str, Item]
    keyspace: KeyspaceIndex
    policy: MergePolicy
    actor: str
    lamport: LamportClock
    hlc: HybridLogicalClock
    anti_entropy: AntiEntropy | None
    sessions: dict[str, SyncSession]
    session_peer: dict[str, str]
    syncs_started: int
    #: Per session: the peer's items that lost to ours outright (the merge left our item as it
    #: was, so the session has nothing to write), by key. Their losses are logged when the
    #: session ends, like a replication merge that loses: the ledger judges by recorded losses.
    outvoted: dict[str, dict[str, bytes]]

    def _observe_clocks(self, ctx: Context, lamport: int, hlc: tuple[int, int]) -> None:
        raise NotImplementedError  # the region's: advance its Lamport and hybrid clocks

    def _merge_bytes(self, key: str, local: bytes | None, remote: bytes | None) -> bytes:
        if local is None or remote is None:
            return local if remote is None else remote  # type: ignore[return-value]
        return self.policy.merge(Item.from_bytes(local), Item.from_bytes(remote)).item.to_bytes()

    def _session(self, name: str, peer: str) -> SyncSession:
        """A session with ``peer`` over a snapshot of the items now: the kept tree, caught up
        with the keys changed since the last session (no re-encoding, no rebuild). A region
        compares every item it holds with any peer; a subclass whose peers share only some
        keys (a leaderless region's nodes) overrides this."""
        config = self.anti_entropy or AntiEntropy()
        if type(self.items) is not ItemStore:  # someone replaced the dict: track it from now on
            self.items = ItemStore(self.items)
        snapshot = self.keyspace.snapshot(self.items, fanout=config.fanout, depth=config.depth_for(len(self.items)))
        outvoted = self.outvoted[name] = {}

        def merge(key: str, local: bytes | None, remote: bytes | None) -> bytes:
            merged = self._merge_bytes(key, local, remote)
            if local is not None and remote is not None and merged == local:
                outvoted[key] = remote
            return merged

        return SyncSession(snapshot.tree, snapshot, merge, session=name,
                           child_hash_bytes=config.child_hash_bytes, adaptive=config.depth is None)

    def _end_session(self, name: str) -> SyncSession | None:
        """Forget session ``name`` (finished or abandoned) and close its snapshot."""
        session = self.sessions.pop(name, None)
        self.outvoted.pop(name, None)
        if session is not None and isinstance(session.values, Snapshot):
            session.values.close()
        return session

    def _sync_peer(self, ctx: Context) -> str | None:
        """The peer the next session is with: one drawn from ``ctx.peers`` with the replica's
        seeded random stream (None: no peer)."""
        if not ctx.peers:
            return None
        return ctx.peers[int(ctx.random() * len(ctx.peers))]

    def _start_sync(self, ctx: Context) -> None:
        peer = self._sync_peer(ctx)
        if peer is None:
            return
        self.syncs_started += 1
        name = f"{self.actor}->{peer}#{self.syncs_started}"
        session = self._session(name, peer)
        self.sessions[name] = session
        self.session_peer[name] = peer
        ctx.set_timer(self.anti_entropy.timeout, (SYNC_TIMEOUT, name))  # type: ignore[union-attr]
        self._send_sync(ctx, peer, session.start())

    def _send_sync(self, ctx: Context, peer: str, messages: list[Any]) -> None:
        for message in messages:
            keys = [k for k, _ in getattr(message, "items", ())]
            if isinstance(message, (BucketItems, MergedItems)):
                # A session compares a snapshot taken when it started, but a message carries
                # what this region knows *now* (its causal past, in ground truth): so it also
                # carries what the region holds now, each item merged with the current one.
                message = attrs.evolve(
                    message, items=tuple((k, self._fresh(k, v)) for k, v in message.items),
                    clock=(self.lamport.time, self.hlc.wall, self.hlc.logical))
            ctx.send(peer, message, scopes=keys or None)

    def _fresh(self, key: str, value: bytes) -> bytes:
        current = self.items.get(key)
        if current is None:
            return value
        carried = Item.from_bytes(value)
        merged = self.policy.merge(carried, current).item
        return value if merged == carried else merged.to_bytes()

    def _on_sync(self, ctx: Context, src: str, msg: Any) -> None:
        clock = getattr(msg, "clock", None)
        if clock is not None:  # items arrive by repair: they advance our clocks like replication
            self._observe_clocks(ctx, clock[0], (clock[1], clock[2]))
        session = self.sessions.get(msg.session)
        if session is None:
            if not isinstance(msg, RootHash):
                return  # a late message of a session this side already finished or abandoned
            session = self._session(msg.session, src)
            self.sessions[msg.session] = session
            self.session_peer[msg.session] = src
        self._send_sync(ctx, src, session.receive(msg))
        if session.done:
            outvoted = self.outvoted.get(msg.session, {})
            self._end_session(msg.session)
            self.session_peer.pop(msg.session, None)
            self._apply_sync(ctx, src, session, outvoted)

    def _apply_sync(self, ctx: Context, src: str, session: SyncSession,
                    outvoted: dict[str, bytes]) -> None:
        repaired = []
        updates = session.updates
        for key, value in sorted({**outvoted, **updates}.items()):
            local = self.items.get(key)
            outcome = self.policy.merge(local, Item.from_bytes(value))
            changed = outcome.item != local
            if changed and key not in updates:
                continue  # ours changed since the session's snapshot: a later session settles it
            if not changed and all(x.write == INITIAL_WRITE for x in outcome.losses):
                continue  # nothing changes here and no client write's values were dropped
            # A peer's item that lost to ours changes nothing here, but its merge dropped a
            # client write's values, and the ledger judges by the losses merges record (a
            # replication merge that loses logs its losses too, ``changed=False``).
            if changed:
                self.items[key] = outcome.item
                repaired.append(key)
            what = "repaired" if changed else "kept the local"
            ctx.log("Merged", key=key, source=src, write="anti-entropy", policy=self.policy.name,
                    changed=changed, note=f"anti-entropy {what} {key}: {outcome.note}",
                    siblings=len(outcome.item.versions), losses=loss_fields(outcome.losses),
                    item=outcome.item.to_trace())
        stats = session.stats
        ctx.log("Synced", session=session.session, peer=src, repaired=repaired,
                divergent=session.divergent or 0, bytes_sent=stats.bytes_sent,
                hashes_sent=stats.hashes_sent, items_sent=stats.items_sent,
                full_state_bytes=session.values.full_state_bytes)  # type: ignore[attr-defined]
