"""A replica's context in the simulator: the one place its commands are carried out.

A handler gets a :class:`SimContext`. Reading (``now``, ``wall_time()``, ``random()``,
``peers``) is answered here, and each verb carries out one command of
:mod:`replicalab.replica.base` — the frozen :class:`~replicalab.replica.base.Send`,
:class:`~replicalab.replica.base.SetTimer`, :class:`~replicalab.replica.base.CancelTimer`,
:class:`~replicalab.replica.base.Reply` and :class:`~replicalab.replica.base.Log` that
:class:`~replicalab.replica.base.RecordingContext` records — at once, so a refused command
raises inside the handler that gave it. :meth:`SimContext.execute` carries out a command
given as a value (one a ``RecordingContext`` recorded, say) through the same verbs.

* ``send``: draw loss on the link's stream; if the message survives, draw a latency and
  schedule its delivery (a :class:`~replicalab.sim.events.Deliver`, as a plain tuple; a
  second one if the link duplicates it). The message's id is the delivery's ``seq``, traced from ``Sent`` to ``Delivered`` or
  ``Dropped``. A send about an item key carries the sender's ground truth for that key.
* ``set_timer``: schedule a :class:`~replicalab.sim.events.Fire` (one due after every timer
  of the simulation's timer lane waits there, off the heap, until the one before it fired);
  ``cancel_timer`` marks it.
* ``reply``: the client gets it after one draw of its link's latency (0 next to its
  region), as a :class:`~replicalab.sim.events.ReplyArrival`.
* ``log``: a trace record.
* ``sequenced``: the write's ground truth is re-minted from this replica's knowledge
  (:meth:`~replicalab.sim.ground_truth.GroundTruth.sequenced`).

Everything is checked before anything is drawn, counted or scheduled. The verbs take a
command's fields rather than a command: building a frozen ``Send`` per message cost B1
(200,000 deliveries) about a third more instructions in the run loop (callgrind, 20,000
deliveries: 510 M against 388 M), for a value nobody reads.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from heapq import heappush
from typing import Any

from replicalab import _validate
from replicalab.errors import ConfigError, TopologyError
from replicalab.events import Dropped, Duplicated, Replied
from replicalab.replica.base import (
    Command,
    Response,
    carry_out,
    check_after,
    check_log,
    check_log_kind,
    check_reply,
    check_timer_id,
)
from replicalab.sim import limits
from replicalab.sim.clock import WallClock
from replicalab.sim.describe import describe
from replicalab.sim.events import PRIORITY_NORMAL, PRIORITY_RUNTIME, Fire, ReplyArrival
from replicalab.sim.links import LinkState
from replicalab.sim.records import made_reply

__all__ = ["SimContext", "TracedContext"]

#: A named-tuple event built in C (Simulation._schedule says why).
_make: Any = tuple.__new__



class SimContext:
    """The simulator's implementation of :class:`replicalab.replica.base.Context`.

    ``sim`` is the :class:`~replicalab.sim.simulation.Simulation` (which imports this module).
    """

    __slots__ = ("_sim", "_replica", "_links", "_made", "_rng", "_clock", "peers", "random",
                 "_heap", "_max_pending", "_on_message", "_cut_from", "_knowledge")

    #: True iff this run keeps a trace: a replica may skip building log data nobody reads (what
    #: it does must not depend on it). A class attribute, not a property: the simulation picks
    #: this class or :class:`TracedContext` once, by whether it traces, and a leaderless node
    #: asks about three times per client operation (a property was a Python call each time).
    traced = False

    def __init__(self, sim: Any, replica: str, links: dict[str, LinkState],
                 peers: Sequence[str], clock: WallClock) -> None:
        self._sim = sim
        self._replica = replica
        self._links = links
        self._made: dict[Any, LinkState] = {}  # the links that carried a message: _first_link
        self._rng = sim.streams.stream(f"replica:{replica}")
        self._clock = clock
        #: The replica's neighbours, sorted (a full mesh passes a view, not a copy per replica).
        self.peers: Sequence[str] = peers
        # random() -> float in [0, 1) from this replica's stream: the bound C method, no wrapper.
        self.random = self._rng.random
        # Fixed for the simulation's life (its queue only ever changes in place), and read
        # by every send: kept here, one attribute away rather than two.
        self._heap: list[Any] = sim._heap
        self._max_pending: int = sim._max_pending
        #: Ground truth's ``{(replica, key): past}`` (one dict for the simulation's life, changed
        #: only in place), read by every send about a key.
        self._knowledge: dict[Any, Any] = sim._truth.knowledge
        # Read by the simulation for every message delivered here (Simulation.run): the
        # replica's handler (a restart without state installs the new replica's), and the
        # senders whose link to this replica a partition cuts now, None if none is
        # (Simulation._sync_cuts).
        self._on_message: Any = sim._replicas[replica].on_message
        self._cut_from: frozenset[str] | None = None

    @property
    def replica(self) -> str:
        return self._replica

    @property
    def now(self) -> int:
        return self._sim.now


    def wall_time(self) -> int:
        return self._clock.read(self._sim.now, self._sim.epoch)

    def execute(self, command: Command) -> Any:
        """Carry out ``command`` as if the handler had called the verb. A :class:`SetTimer`
        gets this simulation's next timer id (returned), not the one it was recorded with:
        cancel it by that id."""
        return carry_out(self, command)

    def _first_link(self, dst: Any) -> LinkState:
        """The link to ``dst`` on its first message, kept in ``_made`` for the next ones; a
        ``dst`` that is not a peer raises :class:`TopologyError`.

        ``_links`` (a :class:`~replicalab.sim.links.MeshLinks`, which makes each link when first
        asked) is a dict subclass, and ``links[dst]`` on a dict subclass goes through a Python-level
        ``__getitem__`` look-up: about 300 instructions a message, against one C look-up in
        the plain ``_made``. Both hold the same :class:`LinkState`, so a fault that changes a
        link through ``_links`` changes the one ``send`` uses."""
        try:
            link = self._links[dst]
        except (KeyError, TypeError):  # not a peer; TypeError: not even hashable
            raise TopologyError(f"{self._replica} has no link to {_validate.shown(dst)}; "
                                f"its peers are {list(self.peers)}") from None
        self._made[dst] = link
        return link

    def send(self, dst: str, msg: Any, scope: Hashable | None = None,
             scopes: Iterable[Hashable] | None = None) -> None:
        # `scope` and `scopes` are passed by keyword by convention, but not declared keyword-only
        # (here, and so in no Context, so that replica code runs alike everywhere): CPython 3.11
        # inlines a call (no C-level frame, no defaults looked up in a dict) only into a
        # function without keyword-only parameters.
        # The traceless send. TracedContext.send below takes the same steps and records them:
        # a change to one is a change to both (tests/test_sim_lean.py runs every link option
        # both ways and compares the runs).
        src = self._replica
        try:  # a plain dict: one look-up in C (see _first_link for why not MeshLinks itself)
            link = self._made[dst]
        except (KeyError, TypeError):  # the first message on this link, or not a peer at all
            link = self._first_link(dst)
        heap = self._heap
        sim = self._sim
        # Pending: the heap, and the actions waiting in the simulation's lane (its schedule()):
        # len(heap) + sim._queued >= max_pending, asked as the heap against its room.
        if len(heap) >= sim._heap_room:
            raise limits.too_many_pending(self._max_pending)
        if scope is None:  # nothing causal (the hot path), or several keys (anti-entropy)
            causal = None if scopes is None else sim._truth.payload(src, None, scopes)
        else:  # GroundTruth.payload's one-key case, inlined: a Python call per message about a key
            past = self._knowledge.get((src, scope))
            causal = None if past is None else (scope, past)
        # The message's id, its delivery's place in the queue, and its count: messages sent
        # are derived from _seq (Simulation.__init__ says how), not counted a second time.
        seq = sim._seq
        sim._seq = seq + 1
        # Only a lossy link draws for loss. `link.rng.random()`, not a bound method kept aside:
        # on the link's bare generator 3.11 specializes this call (LinkState says why).
        if link.loss and link.rng.random() < link.loss:
            sim._dropped += 1
            return
        now = sim.now
        # `sample = link.sample` then `sample()`, not `link.sample()`: CPython 3.11 cannot
        # specialize a method call on a slot holding a function (a generic type look-up and
        # descriptor call per message), but it does specialize reading the slot.
        sample = link.sample
        # A Deliver as a plain tuple, pushed here rather than through Simulation._schedule
        # (which would check again what was checked above): the hot path (events.py says why).
        heappush(heap, (now + sample(), PRIORITY_NORMAL, seq, dst, src, msg, causal))
        if link.duplicate and link.rng.random() < link.duplicate:
            seq = sim._seq
            sim._seq = seq + 1
            heappush(heap, (now + link.sample(), PRIORITY_NORMAL, seq, dst, src, msg, causal))
            sim._duplicated += 1

    def set_timer(self, delay: int, timer: Any) -> int:
        if type(delay) is not int or delay < 0:
            raise ConfigError(f"timer delay must be an integer number of ms >= 0, got {_validate.shown(delay)}")
        sim = self._sim
        if len(self._heap) >= sim._heap_room:  # the heap and the lanes: see send
            raise limits.too_many_pending(sim._max_pending)
        if sim._trace is not None:
            describe(timer)  # it will be traced when it fires: refuse it now if it cannot be
        timer_id: int = sim._timer_ids + 1
        sim._timer_ids = timer_id
        at = sim.now + delay
        replica = self._replica
        if not sim._lanes:
            sim._schedule(Fire, at, PRIORITY_NORMAL, replica, timer_id, timer)
        elif sim._timer_head < 0:  # the first of a lane: on the heap, where it heads the lane
            sim._timer_head = sim._schedule(Fire, at, PRIORITY_NORMAL, replica, timer_id, timer)[2]
            sim._timer_last = at
        elif at >= sim._timer_last:
            # Due after every timer of the lane, and its seq is the largest yet: it fires after
            # them whatever else is queued, so it waits off the heap until the one before it
            # fired (Simulation._fire). Time-outs of one length, set in time order (one per
            # client operation of a quorum), all go here: the heap keeps to the messages in
            # flight. The order of events is the order of (at, priority, seq) either way.
            seq = sim._seq
            sim._seq = seq + 1
            sim._scheduled += 1  # a seq that is not a message's (statistics derive `sent` so)
            sim._timer_lane.append(_make(Fire, (at, PRIORITY_NORMAL, seq, replica, timer_id, timer)))
            sim._timer_last = at
            sim._queued += 1
            sim._heap_room -= 1
        else:  # earlier than the lane's last: it takes its place on the heap
            sim._schedule(Fire, at, PRIORITY_NORMAL, replica, timer_id, timer)
        sim._pending_timers[timer_id] = replica
        return timer_id

    def cancel_timer(self, timer_id: int) -> None:
        # Only this replica's own pending timer: an id that has fired, was cancelled, died in a
        # crash, belongs to another replica or was never handed out cancels nothing.
        if type(timer_id) is not int or timer_id < 1:  # the usual id asked inline (one per op)
            check_timer_id(timer_id)
        pending = self._sim._pending_timers
        if pending.get(timer_id) == self._replica:
            del pending[timer_id]

    def reply(self, client: str, response: Response) -> None:
        if type(client) is not str or not client or not isinstance(response, Response):
            check_reply(client, response)  # says what is wrong (one reply per client operation)
        sim, replica = self._sim, self._replica
        issued, via, on_reply = sim._clients.issued.get(response.op, (sim.now, None, None))
        received = sim.now
        if via is not None and via != replica:
            received += sim._clients.link(replica, via)()
        if sim._trace is not None:
            sim._trace._add(Replied, sim.now, replica, client=client, op=response.op, ok=response.ok,
                           error=response.error, message=response.message, received=received)
        reply = made_reply(received, replica, client, response, issued)  # checked above
        if received == sim.now:  # next to its region: the client has it at once
            sim._clients.reply_arrives(sim, replica, via, reply, on_reply)
        else:  # the answer crosses the client's link: a partition by then cuts it
            sim._schedule(ReplyArrival, received, PRIORITY_RUNTIME, replica, via, reply, on_reply)

    def log(self, kind: str, **data: Any) -> None:
        check_log_kind(kind)
        trace = self._sim._trace
        if trace is not None:
            trace.record(self._sim.now, kind, self._replica, data)

    def sequenced(self, op: str, after: Sequence[str] = (), *, log: str | None = None,
                  extends: bool = False) -> None:
        # Ground truth only: nothing is scheduled, drawn or traced, so a run whose replicas
        # never call it (every single-replica region) is unchanged.
        _validate.name(op, "write op id")
        self._sim._truth.sequenced(op, self._replica, check_after(after), **check_log(log, extends))


class TracedContext(SimContext):
    """:class:`SimContext` in a simulation that records a trace: ``send`` also records
    ``Sent`` (and ``Dropped`` or ``Duplicated``).

    The simulation picks the class once, when it is built, so that a traceless run never
    asks whether to trace, nor builds what a trace would hold.
    """

    __slots__ = ()

    traced = True

    def send(self, dst: str, msg: Any, scope: Hashable | None = None,
             scopes: Iterable[Hashable] | None = None) -> None:
        src = self._replica
        try:
            link = self._made[dst]
        except (KeyError, TypeError):
            link = self._first_link(dst)
        heap = self._heap
        sim = self._sim
        # Pending: the heap, and the actions waiting in the simulation's lane (its schedule()):
        # len(heap) + sim._queued >= max_pending, asked as the heap against its room.
        if len(heap) >= sim._heap_room:
            raise limits.too_many_pending(self._max_pending)
        trace = sim._trace
        described = describe(msg)  # refused (say, an address in its repr) before any change
        causal = (None if scope is None and scopes is None
                  else sim._truth.payload(src, scope, scopes))
        seq = sim._seq
        sim._seq = seq + 1
        now = sim.now
        if link.loss and link.rng.random() < link.loss:
            sim._dropped += 1
            trace._compact("Sent", now, src, dst, described, None, seq)
            trace._add(Dropped, now, src, dst=dst, msg=described, reason="loss", id=seq)
            return
        sample = link.sample  # a local, then the call: see SimContext.send
        due = now + sample()
        heappush(heap, (due, PRIORITY_NORMAL, seq, dst, src, msg, causal))
        log = trace._log  # Trace._compact, inlined: one Sent per message
        if len(log) >= trace._room:
            raise trace._full()
        log.append(("Sent", now, src, trace.step, dst, described, due, seq))
        if link.duplicate and link.rng.random() < link.duplicate:
            again = now + link.sample()
            seq = sim._seq
            sim._seq = seq + 1
            heappush(heap, (again, PRIORITY_NORMAL, seq, dst, src, msg, causal))
            sim._duplicated += 1
            trace._add(Duplicated, now, src, dst=dst, msg=described, due=again, id=seq)
