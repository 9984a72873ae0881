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
* **Catching up.** A region that missed commits (cut off by a partition)
  catches up by state transfer: with ``catch_up=period`` every region sends
  its digest — ``(key, commit number, write)`` for every key it holds — to
  its peers every ``period`` ms, and a peer answers with its latest committed
  item for every key where it is ahead (:class:`CatchUp`). A region that
  restarted without its state asks at once, and refuses client writes
  (``RegionRecovering``) and prepares until both peers have answered.
* **Timeouts.** A proposal with no decision within ``timeout`` ms (its
  prepares or the answers were cut off) tells the client
  ``ReplicationTimedOut`` — the outcome is unknown — but keeps the item
  locked: a region may have accepted it, and releasing the lock could let a
  different write take the same commit number. The proposal's fate is
  learned from the peers' digests: commit it if one holds it, abort it if
  another write took its commit number or no peer accepted it. A strong read
  with a missing answer fails the same way. Without ``catch_up`` a timed-out
  proposal keeps its lock: MRSC gives up availability, never consistency.
* **Cost.** A write waits for a round trip to the nearest other region; a
  strong read for a round trip to the farthest.
* **DynamoDB requests** (:mod:`replicalab.replica.dynamo`, what a
  :class:`~replicalab.dynamodb.GlobalTable` client sends). A ``DynamoWrite`` is planned
  on the region's committed item — its ``ConditionExpression`` evaluated, its
  ``UpdateExpression`` applied — and the result is proposed like any write, so the
  condition held on the commit it replaces. A request that would change nothing (its
  condition is false, its update cannot apply, it deletes a missing item, a
  ``ConditionCheck``) is answered from the local copy only after one peer confirms
  (:class:`Confirm`) that the copy is the latest commit and no write on the item is in
  flight there; if both peers deny it, ``ReplicatedWriteConflict`` (the item is being
  modified in another region), so a stale copy never yields a wrong
  ``ConditionalCheckFailed``. ``DynamoGet(consistent=True)`` is a global strong read;
  eventually consistent reads and queries are local. ``DynamoTransaction`` is refused
  (``ValidationError``): DynamoDB's MRSC tables do not support transactions.

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

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.items import INITIAL_WRITE, Item
from replicalab.policies import Loss, MergePolicy
from replicalab.replica import dynamo as _dynamo
from replicalab.replica import parts as _parts
from replicalab.replica.base import Context, Response
from replicalab.replica.log_fields import element_fields, loss_fields, stamp_fields, written_fields
from replicalab.replica.mrsc_messages import (
    Accepted,
    CatchUp,
    Commit,
    Confirm,
    Digest,
    Prepare,
    ReadReply,
    ReadRequest,
)
from replicalab.replica.requests import GetItem, PutItem, ReadResult, UpdateItem
from replicalab.replica.table import REMOVED, TableReplica

__all__ = ["Accepted", "CatchUp", "Commit", "Confirm", "Digest", "MrscRegion", "Prepare",
           "ReadReply", "ReadRequest"]

_CATCH_UP = "catch-up"
_PREPARE_TIMEOUT = "prepare-timeout"
_READ_TIMEOUT = "read-timeout"


#: Messages that carry the sender's Lamport and hybrid clocks.
_CLOCKED = (Prepare, Confirm, Accepted, Commit, ReadReply, CatchUp)


@attrs.define
class _Pending:
    msg: UpdateItem | PutItem | _dynamo.DynamoWrite
    client: str
    #: The item this write commits (None for a confirmation: nothing is committed).
    item: Item | None
    base: int
    attributes: dict[str, Any]
    lamport: int = 0
    hlc: tuple[int, int] = (0, 0)
    timer: int | None = None
    #: The client has its answer (a timeout): a late decision changes the item, not the reply.
    replied: bool = False
    timed_out: bool = False
    refusals: dict[str, str] = attrs.field(factory=dict)
    #: Peers whose digest, after the timeout, showed they never accepted this write.
    silent: set[str] = attrs.field(factory=set)
    replace: bool = False
    #: Attributes a DynamoDB write removes (REMOVE, a delete): tombstones in the commit.
    removed: tuple[str, ...] = ()
    #: The answer the client gets on commit (or, for a confirmation, once confirmed).
    answer: Response | None = None
    #: A confirmation (:class:`Confirm`), not a proposal: it takes no commit number.
    confirming: bool = False
    #: What it changed in part, and on which stored value (:mod:`replicalab.replica.parts`).
    partial: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class _PendingRead:
    client: str
    version: int
    item: Item | None
    waiting: set[str]
    timer: int | None = None
    #: The DynamoDB read being answered, if it is one (its reply has DynamoDB's shape).
    request: _dynamo.DynamoGet | None = None


class MrscRegion(TableReplica):
    """One region of a three-region MRSC table (see the module docs for the protocol).

    ``ack_early=True`` plants the classic bug — acknowledge the client before
    any other region has the write — so tests can show the checker catches it.
    ``catch_up`` (ms, or None for never) is the period of the catch-up digest;
    ``timeout`` (ms) is how long a proposal or a strong read waits for answers.
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
                raise ConfigError(f"{name} must be an integer number of ms >= 1, got {_validate.shown(value)}")
        if timeout is None:
            raise ConfigError("timeout must be an integer number of ms >= 1, got None")
        self.versions: dict[str, int] = {}
        self.in_flight: dict[str, _Pending] = {}
        self.reads: dict[str, _PendingRead] = {}
        self.ack_early = ack_early
        #: The write that made each key's current commit (the initial data before any).
        self._last: dict[str, str] = {}
        self.catch_up = catch_up
        self.timeout = timeout
        #: Peers this region still waits to hear from after restarting without its state.
        self.awaiting: set[str] = set()

    def on_start(self, ctx: Context) -> None:
        if self.actor != self.id and not self.items:
            # Back without its state: refuse writes and prepares until every peer has sent
            # what it holds, so nothing is built on (or accepted over) an empty item.
            self.awaiting = set(ctx.peers)
            self._send_digest(ctx, recovering=True)
        for pending in self.in_flight.values():  # a durable restart: timers died with the crash
            if not pending.timed_out:
                pending.timer = ctx.set_timer(0, (_PREPARE_TIMEOUT, pending.msg.key,
                                                  pending.msg.op))
        if self.catch_up is not None:
            ctx.set_timer(1 + int(ctx.random() * self.catch_up), _CATCH_UP)

    def on_timer(self, ctx: Context, timer: Any) -> None:
        if timer == _CATCH_UP:
            self._send_digest(ctx, recovering=bool(self.awaiting))
            ctx.set_timer(self.catch_up, _CATCH_UP)  # type: ignore[arg-type]
        elif (isinstance(timer, tuple) and len(timer) == 3 and timer[0] == _PREPARE_TIMEOUT
              and all(isinstance(part, str) for part in timer)):
            self._timed_out(ctx, timer[1], timer[2])
        elif (isinstance(timer, tuple) and len(timer) == 2 and timer[0] == _READ_TIMEOUT
              and isinstance(timer[1], str)):
            read = self.reads.pop(timer[1], None)
            if read is not None:
                ctx.reply(read.client, Response(timer[1], ok=False, error="ReplicationTimedOut",
                                                message=f"no answer from {', '.join(sorted(read.waiting))} "
                                                        f"within {self.timeout} ms"))
        else:
            super().on_timer(ctx, timer)

    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        _validate.replica_id(src, "message source")  # checked before any clock moves
        lamport = getattr(msg, "lamport", None)
        if isinstance(msg, _CLOCKED) and lamport is not None:
            self._observe_clocks(ctx, lamport, msg.hlc)
        if isinstance(msg, (UpdateItem, PutItem)):
            self._propose(ctx, src, msg)
        elif isinstance(msg, _dynamo.DynamoWrite):
            self._propose_request(ctx, src, msg)
        elif isinstance(msg, _dynamo.DynamoTransaction):
            why = ("transactions are not supported on a global table in multi-Region strong "
                   "consistency (MRSC) mode")
            ctx.log("Rejected", op=msg.op, key=msg.parts[0].key, client=src,
                    error="ValidationError", message=why)
            ctx.reply(src, _dynamo.DynamoResult(msg.op, ok=False, error="ValidationError",
                                                message=why))
        elif isinstance(msg, _dynamo.DynamoGet) and msg.consistent:
            self._strong_read(ctx, src, msg)
        elif isinstance(msg, Confirm):
            self._on_confirm(ctx, src, msg)
        elif isinstance(msg, Prepare):
            self._on_prepare(ctx, src, msg)
        elif isinstance(msg, Accepted):
            self._on_accepted(ctx, src, msg)
        elif isinstance(msg, Commit):
            self._on_commit(ctx, src, msg)
        elif isinstance(msg, Digest):
            self._on_digest(ctx, src, msg)
        elif isinstance(msg, CatchUp):
            self._on_catch_up(ctx, src, msg)
        elif isinstance(msg, GetItem) and msg.consistent:
            self._strong_read(ctx, src, msg)
        elif isinstance(msg, ReadRequest):
            item = self.items.get(msg.key)
            ctx.send(src, ReadReply(msg.key, msg.op, self.versions.get(msg.key, 0), item,
                                    *self._clocks()), scope=msg.key)
        elif isinstance(msg, ReadReply):
            self._on_read_reply(ctx, src, msg)
        else:
            super().on_message(ctx, src, msg)

    def _clocks(self) -> tuple[int, tuple[int, int]]:
        return self.lamport.time, (self.hlc.wall, self.hlc.logical)

    def recover(self, identity: str) -> MrscRegion:
        """The region after losing its state: empty, under a new causal identity."""
        return MrscRegion(self.id, self.policy, stamps=self.stamps, actor=identity,
                          ack_early=self.ack_early, catch_up=self.catch_up, timeout=self.timeout)

    # -- catching up ------------------------------------------------------------------
    def _entry(self, key: str) -> tuple[str, int, str]:
        return (key, self.versions.get(key, 0), self._last.get(key, INITIAL_WRITE))

    def _send_digest(self, ctx: Context, recovering: bool) -> None:
        digest = Digest(tuple(self._entry(k) for k in sorted(self.items)), recovering)
        for peer in ctx.peers:
            ctx.send(peer, digest)  # no data, so no causal past (no scope)

    def _on_digest(self, ctx: Context, src: str, msg: Digest) -> None:
        """Learn the fate of timed-out proposals from a peer's commits; send it what it lacks."""
        theirs = {key: (version, write) for key, version, write in msg.versions}
        for key, pending in sorted(self.in_flight.items()):
            if pending.timed_out and key in theirs:
                self._learn(ctx, src, pending, *theirs[key])
        ahead = tuple((key, self.versions.get(key, 0), self._last.get(key, INITIAL_WRITE),
                       self.items[key]) for key in sorted(self.items)
                      if key not in theirs or self.versions.get(key, 0) > theirs[key][0])
        if ahead or msg.recovering:
            ctx.send(src, CatchUp(ahead, *self._clocks()), scopes=[e[0] for e in ahead] or None)

    def _learn(self, ctx: Context, src: str, pending: _Pending, version: int, write: str) -> None:
        """A peer holds ``write`` as commit ``version`` of a key this region's timed-out
        proposal was waiting on: it was accepted (commit it), or lost (abort it)."""
        if version == pending.base + 1 and write == pending.msg.op:
            self._commit(ctx, pending)
        elif version > pending.base:
            # Another commit holds the number (or later ones were built on top): either way the
            # key has moved on, and the lock can go.
            self._abort(ctx, pending, f"{src} holds commit {version} ({write})")
        else:
            pending.silent.add(src)
            if pending.silent >= set(ctx.peers):
                self._abort(ctx, pending, "no region accepted it")

    def _on_catch_up(self, ctx: Context, src: str, msg: CatchUp) -> None:
        for key, version, write, item in msg.entries:
            pending = self.in_flight.get(key)
            if pending is not None and pending.timed_out:
                self._learn(ctx, src, pending, version, write)
            if key not in self.items or version > self.versions.get(key, 0):
                self._install(ctx, src, key, item, write, version, "caught up on")
        if src in self.awaiting:
            self.awaiting.discard(src)
            if not self.awaiting:
                ctx.log("Recovered", keys=len(self.items))

    # -- writes -------------------------------------------------------------------
    def _refused_busy(self, ctx: Context, src: str, msg: Any) -> bool:
        """Refuse ``msg`` (and say True) while this region catches up after a restart without
        its state, or while another write on the same key from here is in flight."""
        if self.awaiting:
            self._refuse(ctx, src, msg, f"{self.id} restarted without its state and is catching "
                         f"up from {', '.join(sorted(self.awaiting))}", "RegionRecovering")
            return True
        if msg.key in self.in_flight:
            self._refuse(ctx, src, msg, f"another write on {msg.key} from {self.id} is in flight")
            return True
        return False

    def _propose(self, ctx: Context, src: str, msg: UpdateItem | PutItem) -> None:
        if self._refused_busy(ctx, src, msg):
            return
        attributes = self._checked(ctx, src, msg)
        if attributes is None:
            return
        stamp = self._stamp(ctx)
        # Commit order, not stamp order: the new item is this write on top of the committed one.
        adds = msg.increments if isinstance(msg, UpdateItem) else {}
        outcome = self.policy.overwrite(self.items.get(msg.key), attributes, write=msg.op,
                                        stamp=stamp, replica=self.actor,
                                        replace=isinstance(msg, PutItem), adds=adds,
                                        elements=msg.elements if isinstance(msg, UpdateItem) else {})
        base = self.versions.get(msg.key, 0)
        partial = _parts.wrote_fields(self.items.get(msg.key), None, adds,
                                      self.policy.keeps_counters, isinstance(msg, PutItem))
        # The clocks as of the stamp: what the write's Wrote line reports when it commits.
        self._send_proposal(ctx, _Pending(msg, src, outcome.item, base, dict(attributes),
                                          self.lamport.time, (self.hlc.wall, self.hlc.logical),
                                          replace=isinstance(msg, PutItem), partial=partial))

    def _propose_request(self, ctx: Context, src: str, msg: _dynamo.DynamoWrite) -> None:
        """A DynamoDB write: planned on the committed item, then proposed (or, if it changes
        nothing, answered once a peer confirms the committed item is the latest)."""
        if self._refused_busy(ctx, src, msg):
            return
        base = self.versions.get(msg.key, 0)
        planned = _dynamo._failure(self, msg)
        if not isinstance(planned, _dynamo.Planned) or (planned.old is None and planned.new is None):
            if isinstance(planned, tuple):
                error, message, old = planned
                answer = _dynamo.DynamoResult(msg.op, ok=False, error=error, message=message, old=old)
            else:  # a ConditionCheck that held, or a delete of an item nobody holds
                answer = _dynamo.DynamoResult(msg.op)
            pending = _Pending(msg, src, None, base, {}, answer=answer, confirming=True)
            self.in_flight[msg.key] = pending
            for peer in ctx.peers:
                # A question about versions carries no effect, so no causal past (no scope).
                ctx.send(peer, Confirm(msg.key, msg.op, base, *self._clocks()))
            if ctx.peers:
                pending.timer = ctx.set_timer(self.timeout, (_PREPARE_TIMEOUT, msg.key, msg.op))
            else:
                self._confirmed(ctx, pending)
            return
        written = {**planned.attributes, **{name: frozenset() for name in planned.removed}}
        stamp = self._stamp(ctx)
        outcome = self.policy.overwrite(self.items.get(msg.key), written, write=msg.op,
                                        stamp=stamp, replica=self.actor, replace=planned.replace)
        answer = _dynamo.DynamoResult(msg.op, old=_dynamo._cells(planned.old),
                                      new=_dynamo._cells(planned.new))
        partial = _parts.wrote_fields(self.items.get(msg.key), msg.update, planned.adds,
                                      self.policy.keeps_counters, planned.replace)
        self._send_proposal(ctx, _Pending(msg, src, outcome.item, base, dict(planned.attributes),
                                          self.lamport.time, (self.hlc.wall, self.hlc.logical),
                                          replace=planned.replace, removed=planned.removed,
                                          answer=answer, partial=partial))

    def _send_proposal(self, ctx: Context, pending: _Pending) -> None:
        msg, base = pending.msg, pending.base
        assert pending.item is not None
        stamp = pending.item.versions[0].stamp
        self.in_flight[msg.key] = pending
        ctx.log("Proposed", write=msg.op, key=msg.key, base=base, stamp=stamp_fields(stamp))
        for peer in ctx.peers:
            ctx.send(peer, Prepare(msg.key, pending.item, msg.op, base, *self._clocks()),
                     scope=msg.key)
        if self.ack_early:  # the planted bug: the client hears "done" before anyone else has it
            self._commit(ctx, pending)
        elif ctx.peers:
            pending.timer = ctx.set_timer(self.timeout, (_PREPARE_TIMEOUT, msg.key, msg.op))

    def _timed_out(self, ctx: Context, key: str, op: str) -> None:
        """No decision within the timeout. The client is told the outcome is unknown, and the
        item stays locked here: a region may have accepted the write, and releasing the lock
        could let a different write take the same commit number. The fate is learned from the
        peers' digests (catch-up) or a late answer."""
        pending = self.in_flight.get(key)
        if pending is None or pending.msg.op != op or pending.timed_out:
            return
        if pending.confirming:  # took no commit number: nothing to learn, release at once
            del self.in_flight[key]
            self._refuse(ctx, pending.client, pending.msg,
                         f"no region answered within {self.timeout} ms", "ReplicationTimedOut")
            return
        pending.timed_out = True
        if not pending.replied:
            pending.replied = True
            self._refuse(ctx, pending.client, pending.msg,
                         f"no region answered within {self.timeout} ms; the outcome is unknown "
                         "until the regions catch up", "ReplicationTimedOut")

    def _on_prepare(self, ctx: Context, src: str, msg: Prepare) -> None:
        mine = self.versions.get(msg.key, 0)
        if mine == msg.base + 1 and self._last.get(msg.key) == msg.write:
            # A duplicate of a prepare already accepted: accepting is idempotent.
            ctx.send(src, Accepted(msg.key, msg.write, True, "", *self._clocks()), scope=msg.key)
            return
        reason = self._refusal(msg, mine, "was based on")
        if reason:
            ctx.log("Refused", write=msg.write, key=msg.key, source=src, reason=reason)
            ctx.send(src, Accepted(msg.key, msg.write, False, reason, *self._clocks()),
                     scope=msg.key)
            return
        self._install(ctx, src, msg.key, msg.item, msg.write, msg.base + 1, "accepted")
        ctx.send(src, Accepted(msg.key, msg.write, True, "", *self._clocks()), scope=msg.key)

    def _refusal(self, msg: Prepare | Confirm, mine: int, verb: str) -> str:
        """Why this region refuses ``msg`` (a Prepare or a Confirm about ``msg.key``, whose
        commit here is ``mine``), or "" if it does not: it is catching up, it has its own write
        on the key in flight, or its commit is not the one ``msg`` ``verb`` (was based on, read)."""
        if self.awaiting:
            return f"{self.id} is catching up after losing its state"
        if msg.key in self.in_flight:
            return f"{self.id} has its own write {self.in_flight[msg.key].msg.op} in flight"
        if mine != msg.base:
            return f"{self.id} has commit {mine} of {msg.key}; {msg.write} {verb} commit {msg.base}"
        return ""

    def _on_accepted(self, ctx: Context, src: str, msg: Accepted) -> None:
        pending = self.in_flight.get(msg.key)
        if pending is None or pending.msg.op != msg.write:
            return  # already decided (the second answer to a committed write)
        if msg.ok:
            if pending.confirming:
                self._confirmed(ctx, pending)
            else:
                self._commit(ctx, pending)
            return
        pending.refusals[src] = msg.reason  # by region: a duplicated refusal counts once
        if set(pending.refusals) >= set(ctx.peers):
            self._abort(ctx, pending, "conflicting concurrent write; " + "; ".join(
                f"{peer}: {why}" for peer, why in sorted(pending.refusals.items())))

    def _on_confirm(self, ctx: Context, src: str, msg: Confirm) -> None:
        reason = self._refusal(msg, self.versions.get(msg.key, 0), "read")
        if reason:
            ctx.log("Refused", write=msg.write, key=msg.key, source=src, reason=reason)
        # The answer carries no data either: the origin answers from its own copy.
        ctx.send(src, Accepted(msg.key, msg.write, not reason, reason, *self._clocks()))

    def _confirmed(self, ctx: Context, pending: _Pending) -> None:
        """A peer confirmed the local copy is the latest commit: answer from it."""
        del self.in_flight[pending.msg.key]
        if pending.timer is not None:
            ctx.cancel_timer(pending.timer)
        answer = pending.answer
        assert answer is not None
        pending.replied = True
        if not answer.ok:
            ctx.log("Rejected", op=answer.op, key=pending.msg.key, client=pending.client,
                    error=answer.error, message=answer.message)
        ctx.reply(pending.client, answer)

    def _abort(self, ctx: Context, pending: _Pending, why: str) -> None:
        """No region holds the write: release the lock; tell the client if it was waiting."""
        del self.in_flight[pending.msg.key]
        if pending.timer is not None:
            ctx.cancel_timer(pending.timer)
        if pending.replied:
            ctx.log("Aborted", write=pending.msg.op, key=pending.msg.key, reason=why)
        else:
            pending.replied = True
            self._refuse(ctx, pending.client, pending.msg, why)

    def _commit(self, ctx: Context, pending: _Pending) -> None:
        key = pending.msg.key
        if self.in_flight.get(key) is pending:
            del self.in_flight[key]
        if pending.timer is not None:
            ctx.cancel_timer(pending.timer)
        version = pending.base + 1
        assert pending.item is not None  # a confirmation never commits
        if self.versions.get(key, 0) <= pending.base:
            self.items[key] = pending.item
            self.versions[key] = version
            self._last[key] = pending.msg.op
        # else: learned late, after this region had installed a later commit built on it
        version_item = pending.item.versions[0]
        increments = pending.msg.increments if isinstance(pending.msg, UpdateItem) else {}
        elements = pending.msg.elements if isinstance(pending.msg, UpdateItem) else {}
        # Only a DynamoDB write removes attributes; the scenarios' writes log no ``removed``.
        extra = {"removed": list(pending.removed)} if isinstance(pending.msg, _dynamo.DynamoWrite) else {}
        ctx.log(
            "Wrote", write=pending.msg.op, key=key, client=pending.client,
            attributes={**written_fields(pending.attributes, increments, elements),
                        **{name: REMOVED for name in pending.removed}},
            added=dict(sorted(increments.items())), elements=element_fields(elements),
            replace=pending.replace,
            bookkeeping=list(getattr(pending.msg, "bookkeeping", ())),
            stamp=stamp_fields(version_item.stamp),
            clock={}, lamport=pending.lamport, hlc=list(pending.hlc),
            losses=[], version=version, item=self.items[key].to_trace(), **pending.partial, **extra,
        )
        if not pending.replied:
            pending.replied = True
            ctx.reply(pending.client, pending.answer or Response(pending.msg.op))
        for peer in ctx.peers:
            ctx.send(peer, Commit(key, pending.item, pending.msg.op, version, *self._clocks()),
                     scope=key)

    def _on_commit(self, ctx: Context, src: str, msg: Commit) -> None:
        if msg.version > self.versions.get(msg.key, 0) or msg.key not in self.items:
            self._install(ctx, src, msg.key, msg.item, msg.write, msg.version, "committed")

    def _install(self, ctx: Context, src: str, key: str, item: Item, write: str, version: int,
                 how: str) -> None:
        before = self.items.get(key)
        lost = sorted((before.writes() - item.writes()) if before is not None else set())
        self.items[key] = item
        self.versions[key] = version
        self._last[key] = write
        replaced = "(none held)" if before is None else f"{version - 1} or older"
        rule = f"mrsc: commit {version} ({write}) replaced commit {replaced}"
        ctx.log("Merged", key=key, source=src, write=write, policy="mrsc", changed=item != before,
                note=f"mrsc {how} {write} as commit {version}", siblings=1,
                losses=loss_fields(tuple(Loss(w, a, write, rule) for w, a in lost)),
                item=item.to_trace())

    def _refuse(self, ctx: Context, client: str, msg: UpdateItem | PutItem | _dynamo.DynamoWrite,
                why: str, error: str = "ReplicatedWriteConflict") -> None:
        ctx.log("Rejected", op=msg.op, key=msg.key, client=client, error=error, message=why)
        ctx.reply(client, Response(msg.op, ok=False, error=error, message=why))

    # -- strong reads ---------------------------------------------------------------
    def _strong_read(self, ctx: Context, src: str, msg: GetItem | _dynamo.DynamoGet) -> None:
        read = _PendingRead(src, self.versions.get(msg.key, 0), self.items.get(msg.key),
                            set(ctx.peers),
                            request=msg if isinstance(msg, _dynamo.DynamoGet) else None)
        self.reads[msg.op] = read
        for peer in ctx.peers:
            # A request for data carries no effect, so it carries no causal past (no scope).
            ctx.send(peer, ReadRequest(msg.key, msg.op))
        if not ctx.peers:
            self._finish_read(ctx, msg.key, msg.op)
        else:
            read.timer = ctx.set_timer(self.timeout, (_READ_TIMEOUT, msg.op))

    def _on_read_reply(self, ctx: Context, src: str, msg: ReadReply) -> None:
        pending = self.reads.get(msg.op)
        if pending is None or src not in pending.waiting:
            return  # late, or a duplicate
        if msg.version > pending.version:
            pending.version, pending.item = msg.version, msg.item
        pending.waiting.discard(src)
        if not pending.waiting:
            if pending.timer is not None:
                ctx.cancel_timer(pending.timer)
            self._finish_read(ctx, msg.key, msg.op)

    def _finish_read(self, ctx: Context, key: str, op: str) -> None:
        pending = self.reads.pop(op)
        item = pending.item
        writes = item.provenance() if item is not None else ()
        if pending.request is not None:  # a DynamoDB GetItem: its reply has DynamoDB's shape
            view = _dynamo.resolved(item)
            view = {**view, **pending.request.key_item} if view is not None else None
            ctx.log("Read", op=op, key=key, client=pending.client, consistent=True,
                    writes=list(writes) if view is not None else [], version=pending.version,
                    scope="global")
            ctx.reply(pending.client, _dynamo.DynamoResult(op, item=_dynamo._cells(view)))
            return
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
