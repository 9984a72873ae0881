"""Ground-truth causality: which client writes had reached which replica, and when.

For every replica and causal scope (an item key) the simulator keeps the
vector of client writes whose effects have reached it — because it executed
them, or because a message sent after them arrived. Each client write is
recorded as a :class:`WriteFact` with the dot it got and everything it had
seen. Replicas never see any of this; the ledger judges writes by it, never
by a merge policy's opinion.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import attrs

from replicalab import _validate
from replicalab.clocks import VectorClock, _trusted
from replicalab.dots import Dot
from replicalab.errors import ConfigError

__all__ = ["GroundTruth", "WriteFact"]

EMPTY = VectorClock()
#: Marks a message's causal payload as several (scope, past) pairs (anti-entropy).
MANY = object()


@attrs.frozen
class WriteFact:
    """Ground truth about one client write: where and when it ran, and what it had seen.

    ``seen`` counts, per replica, the writes on the same ``scope`` (item key)
    whose effects had reached the writing replica, this write included (for a write a
    leader sequenced: the writes ahead of it in the log, :meth:`GroundTruth.sequenced`).
    Write ``a`` *saw* write ``b`` iff ``b.dot`` is covered by ``a.seen``. A dot is usually
    ``(node the write reached, its count there)``; a write that a later one from its node
    was sequenced ahead of is named afresh, ``("<node>/<op>", 1)``.
    """

    op: str
    replica: str
    scope: Hashable
    time: int
    dot: Dot
    seen: VectorClock
    client: str

    def saw(self, other: WriteFact) -> bool:
        """True iff ``other``'s effect had reached this write's replica when this write ran."""
        if not isinstance(other, WriteFact):
            raise ConfigError(f"WriteFact.saw takes a WriteFact, got {_validate.shown(other)}")
        return self.scope == other.scope and other.dot.counter <= self.seen.get(other.dot.replica)


def _made(raw: tuple[Any, ...]) -> WriteFact:
    """The fact of a write :meth:`GroundTruth.record` kept plain."""
    op, replica, scope, time, actor, seen, client = raw
    # the actor was checked and its count is >= 1: the dot needs no second check
    return WriteFact(op, replica, scope, time, Dot._made(actor, seen._counts[actor]), seen, client)


class GroundTruth:
    """Who had received what: ``{(replica, scope): VectorClock}`` and every write's fact."""

    def __init__(self) -> None:
        self.knowledge: dict[tuple[str, Hashable], VectorClock] = {}
        #: op -> its fact, or (a write the simulator recorded with :meth:`record` and nobody
        #: asked about yet) the plain tuple ``(op, replica, scope, time, actor, seen, client)``
        #: its fact is made from: see :attr:`writes`.
        self._writes: dict[str, WriteFact | tuple[Any, ...]] = {}
        self._unmade = 0  # how many of _writes are still plain tuples
        #: (replica, log name) -> {scope: the join of the pasts of every write named on that log}
        #: (:meth:`sequenced` with ``log``): the running record that makes a long log linear.
        self._logs: dict[tuple[str, str], dict[Hashable, VectorClock]] = {}
        #: op -> the running records that name it, kept equal to the join of the *current*
        #: pasts when its fact is re-minted later (a past only grows).
        self._named: dict[str, list[dict[Hashable, VectorClock]]] = {}
        #: (node, scope) -> the counters of the dots :meth:`sequenced` took from writes it
        #: named afresh: those dots name no write any more.
        self._retired: dict[tuple[str, Hashable], set[int]] = {}
        #: The ops :meth:`sequenced` has placed at least once.
        self._placed: set[str] = set()

    def payload(self, replica: str, scope: Hashable | None,
                scopes: Iterable[Hashable] | None) -> Any:
        """The causal past a message from ``replica`` about ``scope`` (or ``scopes``) carries."""
        if scope is not None:
            past = self.knowledge.get((replica, scope))
            return None if past is None else (scope, past)
        if scopes is not None:
            pairs = tuple((s, self.knowledge[(replica, s)]) for s in scopes
                          if (replica, s) in self.knowledge)
            return (MANY, pairs) if pairs else None
        return None

    def receive(self, replica: str, payload: Any) -> None:
        """A message carrying ``payload`` (see :meth:`payload`) reached ``replica``."""
        knowledge = self.knowledge
        # Simulation.run does the one-scope case inline: a change here is a change there.
        if payload[0] is not MANY:  # one scope: every message about one key (the hot path)
            scope, past = payload
            key = (replica, scope)
            mine = knowledge.get(key)
            if mine is None:
                knowledge[key] = past
            elif mine is not past and mine._counts != past._counts:
                # Not the same clock (a reply carrying back what was sent), nor an equal one (a
                # third of B12's deliveries: both sides had heard of the same writes): merge.
                # The dicts compared in C, not through VectorClock.__eq__.
                knowledge[key] = mine.merge(past)
            return
        for scope, past in payload[1]:
            key = (replica, scope)
            mine = knowledge.get(key)
            knowledge[key] = past if mine is None else mine.merge(past)

    @property
    def writes(self) -> dict[str, WriteFact]:
        """Every client write's fact, by op id, in execution order (the dict itself: read it,
        do not change it)."""
        if self._unmade:
            writes = self._writes
            for op, fact in writes.items():  # values replaced in place: the order stays
                if type(fact) is tuple:
                    writes[op] = _made(fact)
            self._unmade = 0
        return self._writes  # type: ignore[return-value]  # every value is a WriteFact now

    def _fact(self, op: str) -> WriteFact | None:
        """The fact of write ``op`` (None if there is none), made now if it was recorded plain."""
        fact = self._writes.get(op)
        if type(fact) is tuple:
            fact = self._writes[op] = _made(fact)
            self._unmade -= 1
        return fact  # type: ignore[return-value]

    def wrote(self, op: str, replica: str, actor: str, scope: Hashable, time: int,
              client: str) -> WriteFact:
        """Client write ``op`` ran at ``replica`` (causal name ``actor``): it saw what had reached
        the replica, and now the replica has it too."""
        _validate.replica_id(actor)  # what VectorClock.tick checked
        self.record(op, replica, actor, scope, time, client)
        return self._fact(op)  # type: ignore[return-value]  # record just put it there

    def record(self, op: str, replica: str, actor: str, scope: Hashable, time: int,
               client: str) -> None:
        """:meth:`wrote` for the simulator, whose ``actor`` is a checked replica id: the write's
        fact is kept as a plain tuple and made when first asked for (:attr:`writes`).

        A leaderless cluster writes once per client operation and nobody reads the facts
        before the run ends (the ledger, after it): a frozen ``WriteFact`` and its ``Dot`` per
        write cost their building, and two objects more per write for every garbage
        collection to walk for the rest of the run."""
        knowledge = self.knowledge
        key = (replica, scope)
        mine = knowledge.get(key)
        # VectorClock.tick without re-checking actor: a copy of the counts, one more for actor.
        counts = {} if mine is None else mine._counts.copy()
        counts[actor] = counts.get(actor, 0) + 1
        seen = _trusted(counts)
        knowledge[key] = seen
        writes = self._writes
        if type(writes.get(op)) is not tuple:  # not the same op again, still plain (a test may)
            self._unmade += 1
        writes[op] = (op, replica, scope, time, actor, seen, client)

    def sequenced(self, op: str, replica: str, after: Iterable[str] = (), *,
                  log: str | None = None, extends: bool = False) -> WriteFact | None:
        """Client write ``op`` takes its place in ``replica``'s order now, behind the writes
        ``after`` (a leader region's partition leader appends it to its log, behind the entries
        ``after`` names; :meth:`Context.sequenced <replicalab.replica.base.Context.sequenced>`).

        Its past becomes its own dot joined with the past of every write in ``after`` on its
        scope (ops this ground truth has no write for, or on other scopes, add nothing): it is
        applied on a table holding exactly those writes' effects, whatever the node it first
        reached held or had been told of then (a request forwarded to that node, which the
        leader logs later, is not on the table). Placed again (a later leader appends it
        again), its past joins what it had: a past only grows. ``replica`` now has it and that
        past. The re-minted fact replaces the old one in place (execution order is kept); its
        dot, replica and time stay those of its arrival (a dot changes only as below). An op
        with no write here (a request a test sent as a plain message) re-mints nothing: None.

        A dot ``n:k`` implies ``n:1`` to ``n:k-1`` (a vector clock counts), so a write minted
        second at a node and taken first (two writes waiting there for a leader, passed on in
        reverse) would 'see' the one minted first, which is not behind it — and that one, taken
        next, would see it: a cycle no history has. So when ``op``'s dot covers the dot of
        another write on its scope that the writes ``after`` do not hold, that write is named
        afresh, now: a dot of its own, ``"<node>/<op>":1`` (the node its old dot named; no
        other write's dot implies it), added to its past, to every record naming it and to
        every replica's knowledge that held its old dot, which is retired (it names no write
        any more). Pasts only grow; ``op`` keeps its dot and no longer implies that write. In a
        run where no write is taken ahead of an earlier one from its own node nothing is named
        afresh: dots, pasts and output are those of arrival.

        Not ``replica``'s knowledge: a node may have received writes it has not ordered yet (a
        replication message a new leader holds and logs *after* a request that waited longer),
        and a write is not applied on a table holding those.

        With ``log`` (a name for one of ``replica``'s ordered logs) the writes behind ``op`` are
        kept as a running record, so that a log of n entries costs O(n) in all rather than
        O(n²): ``extends=False`` starts the record afresh from ``after`` (the whole prefix);
        ``extends=True`` adds ``after`` — only the writes appended since the previous call on
        that log — to what earlier calls named, and ``op`` is behind all of them. The result is
        exactly that of naming the whole prefix: each scope's record is the join of the
        *current* pasts of the writes named (a write re-minted later updates every record that
        names it). ``extends=True`` on a log with no record raises
        :class:`~replicalab.errors.ConfigError`, before anything changes.
        """
        fact_of = self._fact
        joins: dict[Hashable, VectorClock] | None = None
        if log is not None:
            record = self._logs.get((replica, log))
            if extends and record is None:
                raise ConfigError(f"sequenced(extends=True) on log {log!r} of {replica}, which no "
                                  "earlier call started; start it with extends=False and the whole prefix")
            joins = record if extends and record is not None else {}
            named = self._named
            for other in after:
                earlier = fact_of(other)
                if earlier is None:
                    continue
                scope = earlier.scope
                mine = joins.get(scope)
                joins[scope] = earlier.seen if mine is None else mine.merge(earlier.seen)
                named.setdefault(other, []).append(joins)
            self._logs[(replica, log)] = joins
        fact = fact_of(op)
        if fact is None:
            return None
        scope = fact.scope
        if joins is None:
            behind = EMPTY
            for other in after:
                earlier = fact_of(other)
                if earlier is not None and earlier.scope == scope and other != op:
                    behind = behind.merge(earlier.seen)
        else:
            behind = joins.get(scope, EMPTY)
        dot = fact.dot
        # The first time: its own dot and what is behind it, not what its node had received
        # (a forwarded request the leader logs later is not on the table). After that a past
        # only grows (a write appended again, by a later leader).
        mark = fact.seen if op in self._placed else VectorClock({dot.replica: dot.counter})
        self._placed.add(op)
        past = mark if behind is EMPTY else mark.merge(behind)
        if behind.get(dot.replica) < dot.counter - 1:  # rare: not everything below it is ahead
            self._rename_passed(dot, scope, behind)
        key = (replica, scope)
        mine = self.knowledge.get(key)
        self.knowledge[key] = past if mine is None else mine.merge(past)
        if past != fact.seen:
            fact = attrs.evolve(fact, seen=past)
            self._writes[op] = fact
            for record in self._named.get(op, ()):  # keep every record naming it current
                held = record.get(scope)
                record[scope] = past if held is None else held.merge(past)
        return fact

    def _rename_passed(self, dot: Dot, scope: Hashable, behind: VectorClock) -> None:
        """Name afresh every write on ``scope`` whose dot ``dot`` covers and ``behind`` does not
        (:meth:`sequenced`): a write that one taken ahead of it would otherwise have 'seen'."""
        node, held = dot.replica, behind.get(dot.replica)
        retired = self._retired.setdefault((node, scope), set())
        # Every counter of a node on a scope was minted for a write (wrote ticks it): a counter
        # below the dot and not behind is another write's, unless already named afresh.
        if all(c in retired for c in range(held + 1, dot.counter)):
            return
        writes = self.writes
        for op, fact in list(writes.items()):  # rare (writes taken out of order): a scan
            old = fact.dot
            if fact.scope != scope or old.replica != node or not held < old.counter < dot.counter:
                continue
            fresh = Dot._made(f"{node}/{op}", 1)
            mark = VectorClock({fresh.replica: 1})
            past = fact.seen.merge(mark)
            writes[op] = attrs.evolve(fact, dot=fresh, seen=past)
            retired.add(old.counter)
            for record in self._named.get(op, ()):
                held_there = record.get(scope)
                record[scope] = past if held_there is None else held_there.merge(past)
            knowledge = self.knowledge
            for key, known in knowledge.items():  # whoever had it has it under its new name
                if key[1] == scope and known.get(node) >= old.counter:
                    knowledge[key] = known.merge(mark)

    def forget(self, replica: str) -> None:
        """``replica`` lost its state: it no longer holds anything it had received."""
        for key in [k for k in self.knowledge if k[0] == replica]:
            del self.knowledge[key]
        for log in [k for k in self._logs if k[0] == replica]:  # its logs are gone with its disk
            del self._logs[log]
