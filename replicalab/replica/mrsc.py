"""Multi-region strong consistency (MRSC): synchronous writes that reject conflicts.

A model of DynamoDB global tables in MRSC mode, over exactly three regions:

* **Writes.** The region that receives a write checks its condition locally,
  takes a per-item lock, computes the new item on top of its current
  committed version ``v`` and sends ``Prepare(v + 1)`` to both other regions.
  A region *accepts* (and applies) a prepare only if its own version of the
  item is still ``v`` and it has no write of its own in flight on that item;
  otherwise it refuses. The first acceptance commits the write: the origin
  applies it, acknowledges the client, and sends ``Commit`` to everyone. If
  both refuse, the client gets ``ReplicatedWriteConflict`` (retryable) and
  nothing was applied anywhere.
* **Why no write is lost.** A committed write is at two of three regions;
  any later write needs two of three too, so one of its acceptors has the
  earlier write and refuses a stale base. Each region accepts at most one
  write per version, so versions never fork.
* **Reads.** ``GetItem(consistent=True)`` is global: the region asks both
  others and returns the highest version any region holds. Eventually
  consistent reads are local.
* **Order by commit, never by stamp.** A write is built on the committed
  item it was proposed against and replaces it, whatever the stamps say: a
  region whose wall clock runs behind cannot lose an acknowledged write.
* **Clocks.** Prepares, acceptances, commits and read replies carry the
  sender's Lamport and hybrid logical clocks; every region advances its own
  on receipt, like any replicated write.
* **Catching up.** A region that missed commits (cut off by a partition, or
  restarted without its state) catches up by log shipping: with
  ``catch_up=period`` every region sends its ``{key: commit number}`` digest to
  its peers every ``period`` ms, and a peer answers with a :class:`Commit` for
  every key where it is ahead. A proposal that gets no answer within
  ``timeout`` ms (its prepares were cut off) fails with ``ReplicationTimedOut``
  and releases the item's lock; the client knows.
* **Cost.** A write waits for a round trip to the nearest other region; a
  strong read for a round trip to the farthest.

    >>> from replicalab.replica.base import RecordingContext
    >>> from replicalab.replica.table import UpdateItem
    >>> region = MrscRegion("eu-west-1")
    >>> ctx = RecordingContext("eu-west-1", peers=["ap-southeast-2", "us-east-1"])
    >>> region.on_message(ctx, "portal", UpdateItem("w1", "k", {"a": 1}))
    >>> [e.kind for e in ctx.effects if e.kind != "log"]   # no reply yet: it waits for a region
    ['send', 'send', 'set_timer']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from replicalab.errors import ConfigError
from replicalab.items import Item
from replicalab.policies import Loss, MergePolicy
from replicalab.replica.base import Context, Response
from replicalab.replica.table import (
    GetItem,
    PutItem,
    ReadResult,
    TableReplica,
    UpdateItem,
    element_fields,
    loss_fields,
    stamp_fields,
    written_fields,
)

__all__ = ["Accepted", "Commit", "Digest", "MrscRegion", "Prepare", "ReadReply", "ReadRequest"]

_CATCH_UP = "catch-up"
_PREPARE_TIMEOUT = "prepare-timeout"


@attrs.frozen
class Prepare:
    """Origin asks a region to accept ``item`` as version ``base + 1`` of ``key``."""

    key: str
    item: Item
    write: str
    base: int
    lamport: int = 0
    hlc: tuple[int, int] = (0, 0)

    def trace_fields(self) -> dict[str, Any]:
        return {"key": self.key, "write": self.write, "base": self.base}


@attrs.frozen
class Accepted:
    """A region's answer to :class:`Prepare`: ``ok`` False means it refused (and why)."""

    key: str
    write: str
    ok: bool
    reason: str = ""
    lamport: int = 0
    hlc: tuple[int, int] = (0, 0)


@attrs.frozen
class Commit:
    """The origin tells everyone that ``write`` is version ``version`` of ``key``."""

    key: str
    item: Item
    write: str
    version: int
    lamport: int = 0
    hlc: tuple[int, int] = (0, 0)

    def trace_fields(self) -> dict[str, Any]:
        return {"key": self.key, "write": self.write, "version": self.version}


@attrs.frozen
class Digest:
    """Catch-up: the sender's commit number for every key it holds."""

    versions: tuple[tuple[str, int], ...]

    def trace_fields(self) -> dict[str, Any]:
        return {"keys": len(self.versions)}


@attrs.frozen
class ReadRequest:
    """A strong read asks a region for its latest version of ``key``."""

    key: str
    op: str


@attrs.frozen
class ReadReply:
    """A region's latest ``version`` and ``item`` of ``key`` (None if it has none)."""

    key: str
    op: str
    version: int
    item: Item | None
    lamport: int = 0
    hlc: tuple[int, int] = (0, 0)

    def trace_fields(self) -> dict[str, Any]:
        return {"key": self.key, "op": self.op, "version": self.version}


@attrs.define
class _Pending:
    msg: UpdateItem | PutItem
    client: str
    item: Item
    base: int
    attributes: dict[str, Any]
    lamport: int = 0
    hlc: tuple[int, int] = (0, 0)
    timer: int | None = None
    refusals: list[str] = attrs.field(factory=list)


@attrs.define
class _PendingRead:
    client: str
    version: int
    item: Item | None
    waiting: int


class MrscRegion(TableReplica):
    """One region of a three-region MRSC table (see the module docs for the protocol).

    ``ack_early=True`` plants the classic bug — acknowledge the client before
    any other region has the write — so tests can show the checker catches it.
    ``catch_up`` (ms, or None for never) is the period of the catch-up digest;
    ``timeout`` (ms) is how long a proposal waits for an answer.
    """

    def __init__(
        self,
        replica_id: str,
        policy: str | MergePolicy = "item-lww",
        items: Mapping[str, Item] | None = None,
        *,
        stamps: str = "wall",
        ack_early: bool = False,
        actor: str | None = None,
        catch_up: int | None = None,
        timeout: int = 1000,
    ) -> None:
        super().__init__(replica_id, policy, items, stamps=stamps, actor=actor)
        for name, value in (("catch_up", catch_up), ("timeout", timeout)):
            if value is not None and (type(value) is not int or value < 1):
                raise ConfigError(f"{name} must be an integer number of ms >= 1, got {value!r}")
        if timeout is None:
            raise ConfigError("timeout must be an integer number of ms >= 1, got None")
        self.versions: dict[str, int] = {}
        self.in_flight: dict[str, _Pending] = {}
        self.reads: dict[str, _PendingRead] = {}
        self.ack_early = ack_early
        #: The write that made each key's current commit (named by catch-up commits).
        self._last: dict[str, str] = {}
        self.catch_up = catch_up
        self.timeout = timeout

    def on_start(self, ctx: Context) -> None:
        if self.catch_up is not None:
            # A region that restarts without its state asks at once; others start at random.
            first = 0 if self.actor != self.id else 1 + int(ctx.random() * self.catch_up)
            ctx.set_timer(first, _CATCH_UP)

    def on_timer(self, ctx: Context, timer: Any) -> None:
        if timer == _CATCH_UP:
            digest = Digest(tuple(sorted(self.versions.items())))
            for peer in ctx.peers:
                ctx.send(peer, digest)
            ctx.set_timer(self.catch_up, _CATCH_UP)  # type: ignore[arg-type]
        elif isinstance(timer, tuple) and timer[0] == _PREPARE_TIMEOUT:
            _, key, op = timer
            pending = self.in_flight.get(key)
            if pending is not None and pending.msg.op == op:
                del self.in_flight[key]
                self._refuse(ctx, pending.client, pending.msg,
                             (f"no region answered within {self.timeout} ms; a region that "
                              "accepted it may still hold it (the outcome is unknown)"),
                             "ReplicationTimedOut")
        else:
            super().on_timer(ctx, timer)

    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        lamport = getattr(msg, "lamport", None)
        if isinstance(msg, (Prepare, Accepted, Commit, ReadReply)) and lamport is not None:
            self._observe_clocks(ctx, lamport, msg.hlc)
        if isinstance(msg, (UpdateItem, PutItem)):
            self._propose(ctx, src, msg)
        elif isinstance(msg, Prepare):
            self._on_prepare(ctx, src, msg)
        elif isinstance(msg, Accepted):
            self._on_accepted(ctx, src, msg)
        elif isinstance(msg, Commit):
            self._on_commit(ctx, src, msg)
        elif isinstance(msg, Digest):
            self._on_digest(ctx, src, msg)
        elif isinstance(msg, GetItem) and msg.consistent:
            self._strong_read(ctx, src, msg)
        elif isinstance(msg, ReadRequest):
            item = self.items.get(msg.key)
            ctx.send(src, ReadReply(msg.key, msg.op, self.versions.get(msg.key, 0), item,
                                    *self._clocks()), scope=msg.key)
        elif isinstance(msg, ReadReply):
            self._on_read_reply(ctx, msg)
        else:
            super().on_message(ctx, src, msg)

    def _clocks(self) -> tuple[int, tuple[int, int]]:
        return self.lamport.time, (self.hlc.wall, self.hlc.logical)

    def recover(self, identity: str) -> MrscRegion:
        """The region after losing its state: empty, under a new causal identity."""
        return MrscRegion(self.id, self.policy, stamps=self.stamps, actor=identity,
                          ack_early=self.ack_early, catch_up=self.catch_up, timeout=self.timeout)

    def _on_digest(self, ctx: Context, src: str, msg: Digest) -> None:
        """Send a peer every commit it is missing (it holds an older commit number, or none)."""
        theirs = dict(msg.versions)
        for key, version in sorted(self.versions.items()):
            if version > theirs.get(key, 0):
                ctx.send(src, Commit(key, self.items[key], self._last.get(key, ""), version,
                                     *self._clocks()), scope=key)

    # -- writes -------------------------------------------------------------------
    def _propose(self, ctx: Context, src: str, msg: UpdateItem | PutItem) -> None:
        if msg.key in self.in_flight:
            self._refuse(ctx, src, msg, f"another write on {msg.key} from {self.id} is in flight")
            return
        attributes = self._checked(ctx, src, msg)
        if attributes is None:
            return
        stamp = self._stamp(ctx)
        update = isinstance(msg, UpdateItem)
        # Commit order, not stamp order: the new item is this write on top of the committed one.
        outcome = self.policy.overwrite(self.items.get(msg.key), attributes, write=msg.op,
                                        stamp=stamp, replica=self.actor,
                                        replace=isinstance(msg, PutItem),
                                        adds=msg.increments if update else {},
                                        elements=msg.elements if update else {})
        base = self.versions.get(msg.key, 0)
        # The clocks as of the stamp: what the write's Wrote line reports when it commits.
        pending = _Pending(msg, src, outcome.item, base, dict(attributes), self.lamport.time,
                           (self.hlc.wall, self.hlc.logical))
        self.in_flight[msg.key] = pending
        ctx.log("Proposed", write=msg.op, key=msg.key, base=base, stamp=stamp_fields(stamp))
        for peer in ctx.peers:
            ctx.send(peer, Prepare(msg.key, outcome.item, msg.op, base, *self._clocks()),
                     scope=msg.key)
        if self.ack_early:  # the planted bug: the client hears "done" before anyone else has it
            self._commit(ctx, pending)
        elif ctx.peers:
            pending.timer = ctx.set_timer(self.timeout, (_PREPARE_TIMEOUT, msg.key, msg.op))

    def _on_prepare(self, ctx: Context, src: str, msg: Prepare) -> None:
        mine = self.versions.get(msg.key, 0)
        if msg.key in self.in_flight:
            reason = f"{self.id} has its own write {self.in_flight[msg.key].msg.op} in flight"
        elif mine != msg.base:
            reason = f"{self.id} has commit {mine} of {msg.key}; {msg.write} was based on commit {msg.base}"
        else:
            reason = ""
        if reason:
            ctx.log("Refused", write=msg.write, key=msg.key, source=src, reason=reason)
            ctx.send(src, Accepted(msg.key, msg.write, False, reason, *self._clocks()),
                     scope=msg.key)
            return
        self._install(ctx, src, msg.key, msg.item, msg.write, msg.base + 1, "accepted")
        ctx.send(src, Accepted(msg.key, msg.write, True, "", *self._clocks()), scope=msg.key)

    def _on_accepted(self, ctx: Context, src: str, msg: Accepted) -> None:
        pending = self.in_flight.get(msg.key)
        if pending is None or pending.msg.op != msg.write:
            return  # already decided (the second answer to a committed write)
        if msg.ok:
            self._commit(ctx, pending)
            return
        pending.refusals.append(f"{src}: {msg.reason}")
        if len(pending.refusals) == len(ctx.peers):
            del self.in_flight[msg.key]
            if pending.timer is not None:
                ctx.cancel_timer(pending.timer)
            self._refuse(ctx, pending.client, pending.msg,
                         "conflicting concurrent write; " + "; ".join(pending.refusals))

    def _commit(self, ctx: Context, pending: _Pending) -> None:
        key = pending.msg.key
        if self.in_flight.get(key) is pending:
            del self.in_flight[key]
        if pending.timer is not None:
            ctx.cancel_timer(pending.timer)
        version = pending.base + 1
        self.items[key] = pending.item
        self.versions[key] = max(self.versions.get(key, 0), version)
        self._last[key] = pending.msg.op
        version_item = pending.item.versions[0]
        update = isinstance(pending.msg, UpdateItem)
        increments = pending.msg.increments if update else {}
        elements = pending.msg.elements if update else {}
        ctx.log(
            "Wrote", write=pending.msg.op, key=key, client=pending.client,
            attributes=written_fields(pending.attributes, increments, elements),
            added=dict(sorted(increments.items())), elements=element_fields(elements),
            replace=isinstance(pending.msg, PutItem),
            bookkeeping=list(getattr(pending.msg, "bookkeeping", ())),
            stamp=stamp_fields(version_item.stamp),
            clock={}, lamport=pending.lamport, hlc=list(pending.hlc),
            losses=[], version=version, item=pending.item.to_trace(),
        )
        ctx.reply(pending.client, Response(pending.msg.op))
        for peer in ctx.peers:
            ctx.send(peer, Commit(key, pending.item, pending.msg.op, version, *self._clocks()),
                     scope=key)

    def _on_commit(self, ctx: Context, src: str, msg: Commit) -> None:
        if msg.version > self.versions.get(msg.key, 0):
            self._install(ctx, src, msg.key, msg.item, msg.write, msg.version, "committed")

    def _install(self, ctx: Context, src: str, key: str, item: Item, write: str, version: int,
                 how: str) -> None:
        before = self.items.get(key)
        lost = sorted((before.writes() - item.writes()) if before is not None else set())
        self.items[key] = item
        self.versions[key] = version
        self._last[key] = write
        rule = f"mrsc: commit {version} ({write}) replaced commit {version - 1}"
        ctx.log("Merged", key=key, source=src, write=write, policy="mrsc", changed=item != before,
                note=f"mrsc {how} {write} as commit {version}", siblings=1,
                losses=loss_fields(tuple(Loss(w, a, write, rule) for w, a in lost)),
                item=item.to_trace())

    def _refuse(self, ctx: Context, client: str, msg: UpdateItem | PutItem, why: str,
                error: str = "ReplicatedWriteConflict") -> None:
        ctx.log("Rejected", op=msg.op, key=msg.key, client=client, error=error, message=why)
        ctx.reply(client, Response(msg.op, ok=False, error=error, message=why))

    # -- strong reads ---------------------------------------------------------------
    def _strong_read(self, ctx: Context, src: str, msg: GetItem) -> None:
        self.reads[msg.op] = _PendingRead(src, self.versions.get(msg.key, 0),
                                          self.items.get(msg.key), len(ctx.peers))
        for peer in ctx.peers:
            # A request for data carries no effect, so it carries no causal past (no scope).
            ctx.send(peer, ReadRequest(msg.key, msg.op))
        if not ctx.peers:
            self._finish_read(ctx, msg.key, msg.op)

    def _on_read_reply(self, ctx: Context, msg: ReadReply) -> None:
        pending = self.reads.get(msg.op)
        if pending is None:
            return
        if msg.version > pending.version:
            pending.version, pending.item = msg.version, msg.item
        pending.waiting -= 1
        if pending.waiting == 0:
            self._finish_read(ctx, msg.key, msg.op)

    def _finish_read(self, ctx: Context, key: str, op: str) -> None:
        pending = self.reads.pop(op)
        item = pending.item
        writes = item.provenance() if item is not None else ()
        ctx.log("Read", op=op, key=key, client=pending.client, consistent=True,
                writes=list(writes), version=pending.version, scope="global")
        ctx.reply(pending.client, ReadResult(op, item=item.to_plain() if item else None,
                                             writes=writes))


def check_three_regions(regions: list[str] | tuple[str, ...]) -> None:
    """MRSC needs exactly three regions; anything else raises :class:`ConfigError`."""
    if len(regions) != 3:
        raise ConfigError(
            f"mode='mrsc' needs exactly three regions, got {len(regions)} ({', '.join(regions)}); "
            "DynamoDB MRSC global tables span exactly three"
        )
