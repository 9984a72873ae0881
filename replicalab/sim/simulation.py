"""The discrete-event simulator: one heap, one seed, replicas that never see it.

The loop: pop the earliest event (:mod:`~replicalab.sim.events`: ordered by
``(time, priority, seq)``, so same-time events run in the order they were scheduled),
set the clock to its time, and hand it to its handler — a delivery, a timer, a client
request or reply arriving, or a runtime action such as a fault. Handlers give commands
through their :class:`~replicalab.sim.context.SimContext`, which carries them out;
everything but a delivery is scheduled through one ``_schedule``. Randomness comes only
from named streams of :class:`~replicalab.sim.rng.RandomStreams`; nothing reads the real
clock. Beside the replicas the simulator keeps what they cannot touch: the **trace**
(:mod:`replicalab.trace`) and **ground-truth causality** (:mod:`~replicalab.sim.ground_truth`,
which client writes had reached which replica), by which the ledger judges writes.

    >>> from replicalab.replica.base import Replica
    >>> class Ping(Replica):
    ...     def on_start(self, ctx):
    ...         if self.id == "a":
    ...             ctx.send("b", "ping")
    ...     def on_message(self, ctx, src, msg):
    ...         ctx.log("Got", msg=msg, src=src)
    >>> sim = Simulation([Ping("a"), Ping("b")], seed=1)
    >>> sim.run_until_quiescent()
    >>> got = sim.trace.of_kind("Got")[0]
    >>> got.time, got.get("msg")
    (10, 'ping')
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from itertools import repeat
from typing import TYPE_CHECKING, Any

from replicalab import _validate
from replicalab.errors import ConfigError, FaultScheduleError
from replicalab.events import Dropped, Started, TimerFired
from replicalab.replica.base import Replica, Request
from replicalab.sim import limits
from replicalab.sim.clients import Clients
from replicalab.sim.clock import WallClock
from replicalab.sim.context import SimContext, TracedContext
from replicalab.sim.describe import describe
from replicalab.sim.events import (
    PRIORITY_RUNTIME,
    Action,
    ClientArrival,
    Deliver,
    Event,
    Fire,
    ReplyArrival,
)
from replicalab.sim.faults import Fault, check_schedule
from replicalab.sim.ground_truth import MANY, GroundTruth, WriteFact
from replicalab.sim.links import LinkState, replica_links
from replicalab.sim.network import Link
from replicalab.sim.records import UNREACHABLE, FailedRequest, Reply, Statistics
from replicalab.sim.rng import RandomStreams
from replicalab.sim.runtime import SimRuntime
from replicalab.sim.setup import checked
from replicalab.sim.view import SimulationView
from replicalab.trace import Trace

if TYPE_CHECKING:  # networkx costs ~90 ms to import: only where a graph is built
    import networkx as nx

__all__ = ["UNREACHABLE", "FailedRequest", "Reply", "Simulation", "Statistics", "WriteFact",
           "describe"]


#: Builds a named-tuple event from its fields in C: ``Fire(...)`` runs the named tuple's
#: generated Python ``__new__`` (0.6 us against 0.3 us), once per timer and client request.
_make: Any = tuple.__new__

#: Later than any event: the horizon of a run with neither ``until`` nor ``max_time``.
_NEVER = 1 << 62
#: The largest int CPython 3.11 compares without its generic path (one 30-bit digit).
_COMPACT = (1 << 30) - 1


class Simulation(SimulationView):
    """A deterministic network of replicas driven by one seed.

    Arguments:
        replicas: the :class:`~replicalab.replica.base.Replica` objects (unique ids).
        topology: a networkx graph over the replica ids; default: full mesh.
        seed: the run's only source of randomness.
        link: the default :class:`~replicalab.sim.network.Link` for every edge.
        links: per-pair overrides ``{(a, b): Link}``; ``(a, b)`` also sets ``b -> a``
            unless ``(b, a)`` is given too. An edge attribute ``link`` also works.
        clocks: per-replica :class:`~replicalab.sim.clock.WallClock` (skew, drift).
        epoch: wall time (ms) at simulated time 0, e.g. the time of day a story starts.
        trace: record a :class:`~replicalab.trace.Trace` (off: faster, no ledger).
        allow_disconnected: accept a topology with more than one component.
        max_events: hard cap on events processed; exceeding it raises ConfigError.
        max_time: hard cap on simulated time (ms); an event beyond it raises ConfigError
            (None: no cap on time; the other caps still hold).
        max_pending: hard cap on events scheduled at once (messages in flight, timers).
        max_trace_events: hard cap on trace records (when ``trace`` is on).

    The defaults are :mod:`replicalab.sim.limits` (sized for a 2-core, 24 GB machine), which
    also caps replicas and links.
    """

    # What every message reads or writes, as slots: a simulation holds more than 30
    # attributes, past which CPython 3.11 keeps an instance's attributes in a real dict,
    # so each read was a dict probe (LOAD_ATTR_WITH_HINT) instead of one fixed offset
    # (LOAD_ATTR_SLOT). The rest stay in the instance dict.
    __slots__ = ("now", "_heap", "_seq", "_delivered", "_dropped", "_duplicated", "_queued", "_heap_room")

    #: Keep actions scheduled in time order off the heap until they are next (see
    #: :meth:`schedule`). The explorer, which may pick any queued event, sets it False.
    _lanes = True

    def __init__(
        self,
        replicas: Iterable[Replica],
        *,
        topology: nx.Graph | None = None,
        seed: int = 0,
        link: Link | None = None,
        links: Mapping[tuple[str, str], Link] | None = None,
        clocks: Mapping[str, WallClock] | None = None,
        epoch: int = 0,
        trace: bool = True,
        allow_disconnected: bool = False,
        max_events: int = limits.MAX_EVENTS,
        max_time: int | None = limits.MAX_TIME,
        max_pending: int = limits.MAX_PENDING,
        max_trace_events: int = limits.MAX_TRACE_EVENTS,
    ) -> None:
        setup = checked(replicas, topology=topology, link=link, links=links, clocks=clocks,
                        epoch=epoch, allow_disconnected=allow_disconnected,
                        caps={"max_events": max_events, "max_pending": max_pending,
                              "max_trace_events": max_trace_events, "max_time": max_time})
        graph, default, overrides = setup.topology, setup.link, setup.links
        self.streams = RandomStreams(seed)
        self.seed = seed
        self.epoch = epoch
        self.topology = graph
        self.now = 0
        self._replicas = setup.replicas
        self._heap: list[Event] = []
        self._seq = 0
        self._trace = Trace(max_events=max_trace_events) if trace else None
        self._truth = GroundTruth()
        self._clients = Clients(self.streams, overrides, default)
        self._on: dict[type, Callable[[Any], None]] = {
            ClientArrival: self._arrive, Fire: self._fire, ReplyArrival: self._reply_arrives,
            Action: self._act}
        #: Timers set and not yet fired, cancelled or killed by a crash: id -> the replica that set it.
        self._pending_timers: dict[int, str] = {}
        self._timer_ids = 0
        #: Actions scheduled in time order wait here behind the one on the heap (its seq in
        #: ``_lane_head``, -1 if none; ``_lane_last``: when the lane's last one is due).
        #: ``_queued`` counts them: they are pending events like those on the heap.
        self._lane: deque[Action] = deque()
        self._lane_head = -1
        self._lane_last = 0
        #: Timers set in time order wait in a lane of their own, the same way (set_timer and
        #: _fire): a cluster that sets one time-out per operation kept ~100 of them on the heap.
        self._timer_lane: deque[Fire] = deque()
        self._timer_head = -1
        self._timer_last = 0
        self._queued = 0
        self._started = False
        self._max_events = max_events
        self._max_time = max_time
        self._max_pending = max_pending
        #: What the heap may still take: max_pending less the actions queued in the lane, kept
        #: beside _queued so that a send asks `len(heap) >= _heap_room`, one int it need not add up.
        self._heap_room = max_pending
        self._events = self._delivered = self._dropped = 0
        #: The run() in progress (its ticks and limit) and the events it processed that were
        #: not deliveries: statistics() counts deliveries from them (see run()).
        self._running: tuple[Any, int] | None = None
        self._skipped = 0
        # Every seq is one of: a message sent (lost or not), a duplicate, or an event scheduled
        # through _schedule. So messages sent are counted, not incremented per send:
        # sent = _seq - _scheduled - _duplicated (SimulationView.statistics).
        self._scheduled = 0
        self._duplicated = self._timers = self._client_requests = 0
        self._handlers = {i: r.on_message for i, r in self._replicas.items()}
        self._cut: set[tuple[str, str]] = set()
        self._down: set[str] = set()
        self._durable: dict[str, bool] = {}
        self._crashed_at: dict[str, int] = {}  # replica down now -> when it crashed
        self._identity: dict[str, str] = {}

        def make_link(src: str, dst: str) -> LinkState:
            return LinkState(overrides.get((src, dst), default), self.streams, src, dst)

        context = SimContext if self._trace is None else TracedContext  # picked once: why there
        self._contexts = {
            replica: context(self, replica, *replica_links(graph, replica, index, make_link),
                                setup.clocks.get(replica, WallClock()))
            for index, replica in enumerate(self._replicas)}

    # -- scheduling -----------------------------------------------------------
    def _schedule(self, kind: Callable[..., Event], at: int, priority: int, *fields: Any) -> Event:
        """Put a ``kind`` event at ``at`` on the timeline, after the events already there for
        ``(at, priority)``: every event but a message's delivery and a client request's arrival
        (:meth:`Clients.request <replicalab.sim.clients.Clients.request>`, which checked the
        same) is scheduled here."""
        if type(at) is not int or at < self.now:
            raise ConfigError(f"events must be scheduled at an integer time >= now ({self.now}), got {_validate.shown(at)}")
        if len(self._heap) + self._queued >= self._max_pending:
            raise limits.too_many_pending(self._max_pending)
        seq = self._seq
        self._seq = seq + 1
        self._scheduled += 1
        event = _make(kind, (at, priority, seq, *fields))  # kind(...) without its Python-level __new__
        heapq.heappush(self._heap, event)
        return event

    def client_request(
        self,
        at: int,
        replica: str,
        request: Request,
        *,
        client: str = "client",
        via: str | None = None,
        on_reply: Callable[[Simulation, Reply], None] | None = None,
    ) -> None:
        """Send client ``request`` at time ``at`` to ``replica``.

        A client sits next to ``via`` (default: the replica itself, latency 0).
        When ``via`` is another replica, the request and the reply each take one
        draw of that link's latency (from their own random streams, so client
        traffic never shifts replication's draws). ``on_reply(sim, reply)`` runs
        when the client receives the reply; it may send further requests. It runs once,
        for the first answer (a refusal included), and is then let go: a client stops
        listening once answered (a replica that answers again still has that answer
        recorded in :attr:`replies`).

        Everything is checked before anything is drawn or scheduled: a refused
        request leaves the random streams, counters and queue as they were.
        """
        self._clients.request(self, at, replica, request, client, via, on_reply)

    def schedule(self, at: int, action: Callable[[Simulation], None]) -> None:
        """Run ``action(sim)`` at time ``at``, before ordinary events of that millisecond (faults)."""
        if not callable(action):
            raise FaultScheduleError(f"scheduled action must be callable, got {_validate.shown(action)}")
        if type(at) is not int or at < self.now:
            raise FaultScheduleError(
                f"an action cannot be scheduled at {_validate.shown(at)}: it must be an integer time >= now ({self.now})"
            )
        if not self._lanes:
            self._schedule(Action, at, PRIORITY_RUNTIME, action)
        elif self._lane_head < 0:  # the first of a lane: on the heap, where it heads the lane
            self._lane_head = self._schedule(Action, at, PRIORITY_RUNTIME, action)[2]  # its seq
            self._lane_last = at
        elif at >= self._lane_last:
            # Due after every action of the lane, and its seq is the largest yet: it runs after
            # them whatever else is queued, so it waits in the lane, off the heap. A workload
            # of 20,000 operations scheduled up front made a heap of 20,000 entries, ~14 levels
            # deep for every push and pop of every message; the lane keeps the heap to what is
            # in flight. The order of events is the order of (at, priority, seq) either way.
            if len(self._heap) + self._queued >= self._max_pending:
                raise limits.too_many_pending(self._max_pending)
            seq = self._seq
            self._seq = seq + 1
            self._scheduled += 1  # a seq that is not a message's (statistics derive `sent` so)
            self._lane.append(Action(at, PRIORITY_RUNTIME, seq, action))
            self._lane_last = at
            self._queued += 1
            self._heap_room -= 1
        else:  # earlier than the lane's last: it takes its place on the heap
            self._schedule(Action, at, PRIORITY_RUNTIME, action)

    # -- running ----------------------------------------------------------------
    def _start(self) -> None:
        self._started = True
        for replica_id, replica in self._replicas.items():
            if self._trace is not None:
                self._trace.step += 1
                self._trace._add(Started, self.now, replica_id)
            replica.on_start(self._contexts[replica_id])

    def run(self, until: int | None = None, *, events: int | None = None) -> None:
        """Process events in order until none are left, the next is after ``until``, or
        ``events`` more have been processed. With ``until``, the clock ends at ``until``.
        """
        if until is not None and (type(until) is not int or until < self.now):
            raise ConfigError(f"until must be an integer time >= now ({self.now}), got {_validate.shown(until)}")
        if events is not None and (type(events) is not int or events < 0):
            raise ConfigError(f"events must be an integer >= 0, got {_validate.shown(events)}")
        if not self._started:
            self._start()
        heap = self._heap
        pop, push = heapq.heappop, heapq.heappush
        contexts = self._contexts
        on = self._on
        cut = self._cut
        down = self._down
        truth = self._truth
        knowledge = truth.knowledge  # one dict for the simulation's life, changed in place
        trace = self._trace
        cap = self._max_time
        # Two checks per event, not four: `last` is the earlier of until and max_time, `limit` the
        # fewer of `events` and the events left under max_events; which one it was is asked
        # only when one is reached.
        last = min(t for t in (until, cap, _NEVER) if t is not None)
        # CPython 3.11 compares two ints fast only when both fit in 30 bits, and the default
        # max_time (a year in ms) does not: `due > last` alone was a generic comparison per
        # event. `soon` fits, so the usual test is the fast one; past it `last` decides.
        soon = min(last, _COMPACT)
        budget = self._max_events - self._events
        limit = max(0, budget if events is None else min(events, budget))
        # Faults change only between deliveries, in a runtime event (a fault is an Action): so
        # whether a link is cut or a replica down is a bool asked again after each such event,
        # not a set truth test per delivery. A delivery looks up only what is active: with a
        # partition and no crash, not `dst in down` too (a set probe per delivery).
        cutting, crashed = bool(cut), bool(down)
        # One tick per event this run may process, from a C iterator: `for _ in ticks` replaces
        # both `processed += 1` and `processed >= limit`, and a tick is no int object (counting
        # up past 256 made one per event). How many were taken is the iterator's length hint.
        # Deliveries are not counted one by one either: this run's are the events it processed
        # less the others, which `_skipped` counts where they are handled (never a delivery).
        # `_running` lets statistics() count a run in progress (a handler may ask).
        ticks = repeat(None, limit)
        outer = self._running, self._skipped
        self._running, self._skipped = (ticks, limit), 0
        untaken = 0  # 1 when the last tick taken found no event to process
        try:
            for _ in ticks:
                try:
                    event: Any = pop(heap)  # an Event: a plain tuple (a delivery) or a typed one
                except IndexError:  # the queue is empty: asked once, not by a truth test per event
                    untaken = 1
                    break
                due = event[0]
                if due > soon and due > last:
                    # Not for this run: back on the heap (the same events, so the same order)
                    # before saying why. Popping first saves reading heap[0] for every event.
                    push(heap, event)
                    untaken = 1
                    if until is not None and due > until:
                        break
                    raise self._past_max_time(due)
                self.now = due
                if trace is not None:
                    trace.step += 1  # every handler run (or runtime action) is one step
                # A delivery (a plain tuple: events.py says why) is handled inline, every other
                # event by one method each.
                if type(event) is tuple:
                    _, _, seq, dst, src, msg, causal = event
                    ctx = contexts[dst]
                    # The cut, as the receiver's set of senders cut off from it (kept by
                    # _sync_cuts): a str probe, where `(src, dst) in cut` built and hashed a pair;
                    # None for a receiver none of whose peers is cut off from it, which asks no
                    # set at all (with one replica cut off: all but its neighbours).
                    if (cutting and ctx._cut_from is not None and src in ctx._cut_from) or (
                            crashed and dst in down):
                        self._skipped += 1
                        if trace is None:  # nothing to record: the count is all a drop leaves
                            self._dropped += 1
                        else:
                            self._drop_on_arrival(Deliver._make(event))
                        continue
                    if causal is not None:
                        # GroundTruth.receive's one-key case, inline (a Python call per message
                        # about a key): a clock not already known there is joined in.
                        scope, past = causal
                        if scope is not MANY:
                            key = (dst, scope)
                            mine = knowledge.get(key)
                            if mine is None:
                                knowledge[key] = past
                            elif mine is not past and mine._counts != past._counts:
                                knowledge[key] = mine.merge(past)
                        else:
                            truth.receive(dst, causal)
                    if trace is not None:
                        log = trace._log  # Trace._compact, inlined: one per delivery
                        if len(log) >= trace._room:
                            raise trace._full()
                        log.append(("Delivered", due, dst, trace.step, src, describe(msg), seq))
                    # The handler from the context's slot, not a second look-up by replica id;
                    # a local first, then the call: see SimContext.send on link.sample.
                    on_message = ctx._on_message
                    on_message(ctx, src, msg)
                else:
                    self._skipped += 1  # before the handler, which may read statistics()
                    on[type(event)](event)
                    cutting, crashed = bool(cut), bool(down)
            else:  # `limit` events processed: the next one, if any, says whether a cap was hit
                if heap:
                    due = heap[0][0]
                    if due > last and (until is None or due <= until):  # then due > max_time
                        raise self._past_max_time(due)
                    if limit != events and (until is None or due <= until):
                        raise ConfigError(
                            f"stopped after max_events={self._max_events} events without becoming "
                            "quiescent (a timer that always re-arms?); use run(until=...) or raise max_events"
                        )
        finally:
            processed = limit - ticks.__length_hint__() - untaken
            self._events += processed
            self._delivered += processed - self._skipped
            self._running, self._skipped = outer
        if until is not None and until > self.now:
            self.now = until

    def _past_max_time(self, due: int) -> ConfigError:
        if self._max_time is None:  # no cap on time: only an event past _NEVER gets here
            return ConfigError(f"the next event is at t={due}, past the simulator's horizon {_NEVER}")
        return ConfigError(f"the next event is at t={due}, past max_time={self._max_time}; "
                           "raise max_time or stop earlier with run(until=...)")

    def _drop_on_arrival(self, event: Deliver) -> None:
        self._dropped += 1
        if self._trace is not None:
            reason = "crashed" if event.dst in self._down else "partition"
            self._trace._add(Dropped, self.now, event.src, dst=event.dst, msg=describe(event.msg),
                            reason=reason, id=event.seq)

    def _arrive(self, event: ClientArrival) -> None:
        if self._clients.arrives(self, event):
            self._handlers[event.replica](self._contexts[event.replica], event.client, event.request)

    def _fire(self, event: Fire) -> None:
        if event.seq == self._timer_head:  # the timer lane's next takes its place on the heap
            lane = self._timer_lane
            if self._trace is None:
                # A timer cancelled while it waits in the lane would only pop, find itself
                # cancelled and do nothing: without a trace (whose step numbers count it) it
                # leaves unseen, still counted as an event so that a whole run's statistics match
                # a traced run's (part-way, `events` runs ahead and `pending` behind by those not
                # yet due, and run(events=n) does not count them: tests/test_sim_lanes.py). The
                # lane's last timer always pops, so a run still ends at the time of its last event.
                pending = self._pending_timers
                while len(lane) > 1 and lane[0].timer_id not in pending:
                    lane.popleft()
                    self._queued -= 1
                    self._heap_room += 1
                    self._events += 1
            if lane:
                after = lane.popleft()
                self._queued -= 1
                self._heap_room += 1
                heapq.heappush(self._heap, after)
                self._timer_head = after.seq
            else:
                self._timer_head = -1
        # Cancelled, or killed when its replica crashed (even if it is back up by now).
        if self._pending_timers.pop(event.timer_id, None) is not None:
            self._timers += 1
            if self._trace is not None:
                self._trace._add(TimerFired, self.now, event.replica, timer=describe(event.timer),
                                id=event.timer_id)
            self._replicas[event.replica].on_timer(self._contexts[event.replica], event.timer)

    def _reply_arrives(self, event: ReplyArrival) -> None:
        self._clients.reply_arrives(self, event.replica, event.via, event.reply, event.on_reply)

    def _act(self, event: Action) -> None:
        if event.seq == self._lane_head:  # the lane's next action takes its place on the heap
            if self._lane:
                after = self._lane.popleft()
                self._queued -= 1
                self._heap_room += 1
                heapq.heappush(self._heap, after)
                self._lane_head = after.seq
            else:
                self._lane_head = -1
        event.action(self)

    # -- faults -------------------------------------------------------------------------
    def _sync_cuts(self) -> None:
        """Give every context the peers whose link to it is cut, from ``_cut`` (None: none
        is): called whenever ``_cut`` changes (a partition starts or heals), so that a delivery
        asks its receiver's set, not ``_cut`` by pair.

        Only peers: a message arrives over a link, so a cut pair that is no edge of the topology
        drops nothing, and leaving it out leaves most replicas of a sparse graph no set to ask
        (cutting one replica off cuts it from everyone, but only its neighbours hear from it).
        ``_cut`` keeps every pair (client traffic via a replica asks it)."""
        cut_from: dict[str, set[str]] = {}
        edge = self.topology.has_edge
        for src, dst in self._cut:
            if edge(src, dst):
                cut_from.setdefault(dst, set()).add(src)
        for replica, ctx in self._contexts.items():
            senders = cut_from.get(replica)
            ctx._cut_from = None if senders is None else frozenset(senders)

    def add_faults(self, faults: Iterable[Fault]) -> None:
        """Validate a fault schedule as a whole, then put each fault on the timeline.

        Raises :class:`FaultScheduleError` — and schedules nothing — for a fault at a
        negative or past time, on an unknown replica or link, a heal with no partition
        active, a crash of a replica that is down, a restart of one that is up, or a
        replica given to two partition groups.
        """
        faults = check_schedule(faults, self.now, self._replicas, self.topology,
                                bool(self._cut), set(self._down))
        for fault in faults:
            self._schedule(Action, fault.at, PRIORITY_RUNTIME,
                                lambda sim, f=fault: f.apply(SimRuntime(sim)))

    def run_until_quiescent(self) -> None:
        """Run until no event is left. Raises :class:`ConfigError` past ``max_events``/``max_time``."""
        self.run()

    def __repr__(self) -> str:
        return f"<Simulation of {len(self._replicas)} replicas at t={self.now}, seed={self.seed}>"
