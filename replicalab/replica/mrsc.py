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
* **Cost.** A write waits for a round trip to the nearest other region; a
  strong read for a round trip to the farthest.

    >>> from replicalab.replica.base import RecordingContext
    >>> from replicalab.replica.table import UpdateItem
    >>> region = MrscRegion("eu-west-1")
    >>> ctx = RecordingContext("eu-west-1", peers=["ap-southeast-2", "us-east-1"])
    >>> region.on_message(ctx, "portal", UpdateItem("w1", "k", {"a": 1}))
    >>> [e.kind for e in ctx.effects if e.kind != "log"]   # no reply yet: it waits for a region
    ['send', 'send']
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

__all__ = ["Accepted", "Commit", "MrscRegion", "Prepare", "ReadReply", "ReadRequest"]


@attrs.frozen
class Prepare:
    """Origin asks a region to accept ``item`` as version ``base + 1`` of ``key``."""

    key: str
    item: Item
    write: str
    base: int

    def trace_fields(self) -> dict[str, Any]:
        return {"key": self.key, "write": self.write, "base": self.base}


@attrs.frozen
class Accepted:
    """A region's answer to :class:`Prepare`: ``ok`` False means it refused (and why)."""

    key: str
    write: str
    ok: bool
    reason: str = ""


@attrs.frozen
class Commit:
    """The origin tells everyone that ``write`` is version ``version`` of ``key``."""

    key: str
    item: Item
    write: str
    version: int

    def trace_fields(self) -> dict[str, Any]:
        return {"key": self.key, "write": self.write, "version": self.version}


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

    def trace_fields(self) -> dict[str, Any]:
        return {"key": self.key, "op": self.op, "version": self.version}


@attrs.define
class _Pending:
    msg: UpdateItem | PutItem
    client: str
    item: Item
    base: int
    attributes: dict[str, Any]
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
    ) -> None:
        super().__init__(replica_id, policy, items, stamps=stamps, actor=actor)
        self.versions: dict[str, int] = {}
        self.in_flight: dict[str, _Pending] = {}
        self.reads: dict[str, _PendingRead] = {}
        self.ack_early = ack_early

    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        if isinstance(msg, (UpdateItem, PutItem)):
            self._propose(ctx, src, msg)
        elif isinstance(msg, Prepare):
            self._on_prepare(ctx, src, msg)
        elif isinstance(msg, Accepted):
            self._on_accepted(ctx, src, msg)
        elif isinstance(msg, Commit):
            self._on_commit(ctx, src, msg)
        elif isinstance(msg, GetItem) and msg.consistent:
            self._strong_read(ctx, src, msg)
        elif isinstance(msg, ReadRequest):
            item = self.items.get(msg.key)
            ctx.send(src, ReadReply(msg.key, msg.op, self.versions.get(msg.key, 0), item),
                     scope=msg.key)
        elif isinstance(msg, ReadReply):
            self._on_read_reply(ctx, msg)
        else:
            super().on_message(ctx, src, msg)

    def recover(self, identity: str) -> MrscRegion:
        """The region after losing its state: empty, under a new causal identity."""
        return MrscRegion(self.id, self.policy, stamps=self.stamps, actor=identity,
                          ack_early=self.ack_early)

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
        outcome = self.policy.write(self.items.get(msg.key), attributes, write=msg.op, stamp=stamp,
                                    replica=self.actor, replace=isinstance(msg, PutItem),
                                    adds=msg.increments if update else {},
                                    elements=msg.elements if update else {})
        base = self.versions.get(msg.key, 0)
        self.in_flight[msg.key] = _Pending(msg, src, outcome.item, base, dict(attributes))
        ctx.log("Proposed", write=msg.op, key=msg.key, base=base, stamp=stamp_fields(stamp))
        for peer in ctx.peers:
            ctx.send(peer, Prepare(msg.key, outcome.item, msg.op, base), scope=msg.key)
        if self.ack_early:  # the planted bug: the client hears "done" before anyone else has it
            self._commit(ctx, self.in_flight[msg.key])

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
            ctx.send(src, Accepted(msg.key, msg.write, False, reason), scope=msg.key)
            return
        self._install(ctx, src, msg.key, msg.item, msg.write, msg.base + 1, "accepted")
        ctx.send(src, Accepted(msg.key, msg.write, True), scope=msg.key)

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
            self._refuse(ctx, pending.client, pending.msg,
                         "conflicting concurrent write; " + "; ".join(pending.refusals))

    def _commit(self, ctx: Context, pending: _Pending) -> None:
        key = pending.msg.key
        if self.in_flight.get(key) is pending:
            del self.in_flight[key]
        version = pending.base + 1
        self.items[key] = pending.item
        self.versions[key] = max(self.versions.get(key, 0), version)
        version_item = pending.item.versions[0]
        update = isinstance(pending.msg, UpdateItem)
        increments = pending.msg.increments if update else {}
        elements = pending.msg.elements if update else {}
        ctx.log(
            "Wrote", write=pending.msg.op, key=key, client=pending.client,
            attributes=written_fields(pending.attributes, increments, elements),
            added=dict(sorted(increments.items())), elements=element_fields(elements),
            replace=isinstance(pending.msg, PutItem), stamp=stamp_fields(version_item.stamp),
            clock={}, lamport=self.lamport.time, hlc=[self.hlc.wall, self.hlc.logical],
            losses=[], version=version, item=pending.item.to_trace(),
        )
        ctx.reply(pending.client, Response(pending.msg.op))
        for peer in ctx.peers:
            ctx.send(peer, Commit(key, pending.item, pending.msg.op, version), scope=key)

    def _on_commit(self, ctx: Context, src: str, msg: Commit) -> None:
        if msg.version > self.versions.get(msg.key, 0):
            self._install(ctx, src, msg.key, msg.item, msg.write, msg.version, "committed")

    def _install(self, ctx: Context, src: str, key: str, item: Item, write: str, version: int,
                 how: str) -> None:
        before = self.items.get(key)
        lost = sorted((before.writes() - item.writes()) if before is not None else set())
        self.items[key] = item
        self.versions[key] = version
        rule = f"mrsc: commit {version} ({write}) replaced commit {version - 1}"
        ctx.log("Merged", key=key, source=src, write=write, policy="mrsc", changed=item != before,
                note=f"mrsc {how} {write} as commit {version}", siblings=1,
                losses=loss_fields(tuple(Loss(w, a, write, rule) for w, a in lost)),
                item=item.to_trace())

    def _refuse(self, ctx: Context, client: str, msg: UpdateItem | PutItem, why: str) -> None:
        ctx.log("Rejected", op=msg.op, key=msg.key, client=client, error="ReplicatedWriteConflict",
                message=why)
        ctx.reply(client, Response(msg.op, ok=False, error="ReplicatedWriteConflict", message=why))

    # -- strong reads ---------------------------------------------------------------
    def _strong_read(self, ctx: Context, src: str, msg: GetItem) -> None:
        self.reads[msg.op] = _PendingRead(src, self.versions.get(msg.key, 0),
                                          self.items.get(msg.key), len(ctx.peers))
        for peer in ctx.peers:
            ctx.send(peer, ReadRequest(msg.key, msg.op), scope=msg.key)
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
