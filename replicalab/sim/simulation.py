"""The discrete-event simulator: one heap, one seed, replicas that never see it.

The whole determinism story is a heap of ``(time, priority, seq, ...)``
entries: time is integer milliseconds, ``priority`` lets runtime actions
(faults) precede ordinary events at the same millisecond, and ``seq`` is a
counter, so same-time events run in the order they were scheduled and the
payloads are never compared. Randomness comes only from named streams of
:class:`~replicalab.sim.rng.RandomStreams`; nothing reads the real clock.

The simulator is a *runtime* for sans-I/O replicas (:mod:`replicalab.replica.base`):
it gives each replica a context, executes the effects it records, and keeps
two things the replicas cannot touch:

* the **trace** (:mod:`replicalab.trace`), if enabled;
* **ground-truth causality**: for every replica and causal scope (an item
  key), the vector of client writes whose effects have reached it, either
  because it executed them or because a message sent after them arrived.
  Each client write is recorded as a :class:`WriteFact` with the dot it got
  and everything it had seen. The ledger judges writes by this, never by a
  merge policy's opinion.

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
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import networkx as nx

from replicalab import _validate
from replicalab.clocks import VectorClock
from replicalab.errors import ConfigError, FaultScheduleError, ReplicaIdError, TopologyError
from replicalab.replica.base import (
    Replica,
    Request,
    Response,
)
from replicalab.sim import limits
from replicalab.sim.clock import WallClock
from replicalab.sim.context import (
    CALL,
    CLIENT,
    DELIVER,
    PRIORITY_NORMAL,
    PRIORITY_RUNTIME,
    TIMER,
    SimContext,
    _LinkState,
)
from replicalab.sim.describe import describe
from replicalab.sim.faults import (
    Fault,
    check_schedule,
)
from replicalab.sim.ground_truth import EMPTY, GroundTruth, WriteFact
from replicalab.sim.network import Link
from replicalab.sim.records import UNREACHABLE, FailedRequest, Reply, Statistics
from replicalab.sim.rng import RandomStreams
from replicalab.sim.topology import FullMesh, validate_topology
from replicalab.trace import Trace

__all__ = ["UNREACHABLE", "FailedRequest", "Reply", "Simulation", "Statistics", "WriteFact",
           "describe"]



def replica_incarnation(identity: str) -> int:
    """1 for ``eu-west-1``; n for ``eu-west-1~n`` (a replica that lost its state n - 1 times)."""
    _, sep, n = identity.rpartition("~")
    return int(n) if sep and n.isdigit() else 1


def _replica_list(replicas: Any) -> list[Any]:
    """``replicas`` as a list, or ConfigError if it is not an iterable of Replica objects."""
    if isinstance(replicas, (str, bytes, bytearray, Mapping)) or not hasattr(replicas, "__iter__"):
        raise ConfigError(f"replicas must be an iterable of Replica objects, got {_validate.shown(replicas)}")
    return list(replicas)




class _MeshLinks(dict[str, _LinkState]):
    """One replica's links in a :class:`FullMesh`, each made when it is first used."""

    __slots__ = ("_make", "_replica", "_mesh")

    def __init__(self, make: Callable[[str, str], _LinkState], replica: str, mesh: FullMesh) -> None:
        super().__init__()
        self._make, self._replica, self._mesh = make, replica, mesh

    def get(self, dst: Any, default: Any = None) -> Any:
        state = dict.get(self, dst)
        if state is None and isinstance(dst, str) and self._mesh.has_edge(self._replica, dst):
            state = self[dst] = self._make(self._replica, dst)
        return default if state is None else state

    def __missing__(self, dst: Any) -> _LinkState:
        state = self.get(dst)
        if state is None:
            raise KeyError(dst)
        return state


class _MeshPeers(Sequence[str]):
    """A replica's peers in a full mesh: every id but its own, sorted — without a copy each."""

    __slots__ = ("_ids", "_me")

    def __init__(self, ids: tuple[str, ...], me: int) -> None:
        self._ids, self._me = ids, me

    def __len__(self) -> int:
        return len(self._ids) - 1

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return tuple(self)[i]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("peer index out of range")
        return self._ids[i if i < self._me else i + 1]

    def __iter__(self) -> Iterator[str]:
        return (p for i, p in enumerate(self._ids) if i != self._me)

    def __contains__(self, peer: object) -> bool:
        return peer != self._ids[self._me] and peer in self._ids

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, Sequence) else other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


class _Runtime:
    """What a fault may do to a simulation (:class:`replicalab.sim.faults.Runtime`), and no more."""

    def __init__(self, sim: Simulation) -> None:
        self._sim = sim

    @property
    def replica_ids(self) -> tuple[str, ...]:
        return tuple(self._sim._replicas)

    def record(self, kind: str, replica: str | None, data: dict[str, Any]) -> None:
        trace = self._sim._trace
        if trace is not None:
            trace.record(self._sim.now, kind, replica, data)

    def cut_links(self, pairs: set[tuple[str, str]]) -> None:
        self._sim._cut.update(pairs)

    def heal_links(self) -> None:
        self._sim._cut.clear()

    def change_link(self, src: str, dst: str, loss: float | None, duplicate: float | None,
                    latency: Any) -> None:
        state = self._sim._contexts[src]._links[dst]
        if loss is not None:
            state.loss = loss
        if duplicate is not None:
            state.duplicate = duplicate
        if latency is not None:
            state.sample = latency.sampler(state.rng)

    def crash(self, replica: str, durable: bool) -> None:
        self._sim._down.add(replica)
        self._sim._durable[replica] = durable

    def restart(self, replica: str) -> None:
        self._sim._restart(replica)

    def skew(self, replica: str) -> int:
        return self._sim._contexts[replica]._clock.skew

    def set_skew(self, replica: str, skew: int) -> None:
        ctx = self._sim._contexts[replica]
        ctx._clock = attrs.evolve(ctx._clock, skew=skew)


class Simulation:
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
        for cap, value in (("max_events", max_events), ("max_pending", max_pending),
                           ("max_trace_events", max_trace_events)):
            limits.check_cap(cap, value)
        limits.check_cap("max_time", max_time, allow_none=True)
        replicas = _replica_list(replicas)
        by_id: dict[str, Replica] = {}
        for replica in replicas:
            if not isinstance(replica, Replica):
                raise ConfigError(f"replicas must be Replica objects, got {_validate.shown(replica)}")
            _validate.replica_id(replica.id)
            if replica.id in by_id:
                raise ReplicaIdError(f"replica id {_validate.shown(replica.id)} appears twice; ids must be unique")
            by_id[replica.id] = replica
        if not by_id:
            raise ConfigError("a simulation needs at least one replica")
        limits.check_replicas(len(by_id))
        # No topology: a full mesh that stores nothing per pair (links are made on first use),
        # so the link cap guards only topologies that do.
        graph = FullMesh(by_id) if topology is None else topology
        ids = validate_topology(graph, allow_disconnected=allow_disconnected)
        if not isinstance(graph, FullMesh):
            limits.check_links(graph.number_of_edges(), "the topology")
        if set(ids) != set(by_id):
            missing = sorted(set(by_id) - set(ids))
            extra = sorted(set(ids) - set(by_id))
            raise ReplicaIdError(
                f"topology and replicas disagree: replicas not in topology {missing}, "
                f"topology nodes without a replica {extra}"
            )
        default = Link() if link is None else link
        if not isinstance(default, Link):
            raise ConfigError(f"link must be a replicalab.sim.network.Link, got {_validate.shown(default)}")
        overrides = self._link_overrides(graph, links or {})
        clocks = dict(clocks or {})
        for name, clock in clocks.items():
            if name not in by_id:
                raise ReplicaIdError(f"clock given for unknown replica {_validate.shown(name)}; replicas are {ids}")
            if not isinstance(clock, WallClock):
                raise ConfigError(f"clock for {_validate.shown(name)} must be a WallClock, got {_validate.shown(clock)}")
        if type(epoch) is not int or epoch < 0:
            raise ConfigError(f"epoch must be an integer number of ms >= 0, got {_validate.shown(epoch)}")

        self.streams = RandomStreams(seed)
        self.seed = seed
        self.epoch = epoch
        self.topology = graph
        self.now = 0
        self._replicas = {i: by_id[i] for i in ids}
        self._heap: list[tuple] = []
        self._seq = 0
        self._trace = Trace(max_events=max_trace_events) if trace else None
        self._truth = GroundTruth()
        self._ops: set[str] = set()
        self._replies: list[Reply] = []
        self._cancelled: set[int] = set()
        self._timer_ids = 0
        self._started = False
        self._max_events = max_events
        self._max_time = max_time
        self._max_pending = max_pending
        self._events = self._sent = self._delivered = self._dropped = 0
        self._duplicated = self._timers = self._client_requests = 0
        self._handlers = {i: r.on_message for i, r in self._replicas.items()}
        self._cut: set[tuple[str, str]] = set()
        self._down: set[str] = set()
        self._durable: dict[str, bool] = {}
        self._identity: dict[str, str] = {}
        self._client_ops: dict[str, tuple[int, str | None, Any]] = {}
        self._failed: dict[str, FailedRequest] = {}
        self._client_samplers: dict[tuple[str, str], Callable[[], int]] = {}
        self._link_config = overrides
        self._default_link = default
        self._contexts: dict[str, SimContext] = {}
        for index, replica in enumerate(ids):
            clock = clocks.get(replica, WallClock())
            if isinstance(graph, FullMesh):
                self._contexts[replica] = SimContext(
                    self, replica, _MeshLinks(self._make_link, replica, graph), clock,
                    peers=_MeshPeers(graph.nodes, index))
                continue
            states = {
                peer: _LinkState(overrides.get((replica, peer), default), self.streams, replica, peer)
                for peer in sorted(graph.neighbors(replica))
            }
            self._contexts[replica] = SimContext(self, replica, states, clock)

    def _make_link(self, src: str, dst: str) -> _LinkState:
        return _LinkState(self._link_config.get((src, dst), self._default_link), self.streams,
                          src, dst)

    @staticmethod
    def _link_overrides(
        graph: nx.Graph | FullMesh, links: Mapping[tuple[str, str], Link]
    ) -> dict[tuple[str, str], Link]:
        out: dict[tuple[str, str], Link] = {}
        edges = () if isinstance(graph, FullMesh) else graph.edges(data=True)  # a mesh has no data
        for a, b, data in edges:
            if "link" in data:
                out[(a, b)] = out[(b, a)] = data["link"]
        for pair, link in links.items():
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise TopologyError(f"links keys are (a, b) pairs of replica ids, got {_validate.shown(pair)}")
            for replica in pair:
                _validate.replica_id(replica, "replica id in links")
            if not graph.has_edge(*pair):
                raise TopologyError(f"links names {_validate.shown(pair)}, which is not an edge of the topology")
            if not isinstance(link, Link):
                raise ConfigError(f"links[{_validate.shown(pair)}] must be a Link, got {_validate.shown(link)}")
        for (a, b), link in links.items():
            out[(a, b)] = link
            if (b, a) not in links:
                out[(b, a)] = link
        return out

    # -- inspection -----------------------------------------------------------
    @property
    def trace(self) -> Trace | None:
        """The trace (None when tracing is off)."""
        return self._trace

    @property
    def replicas(self) -> dict[str, Replica]:
        """Replicas by id, sorted."""
        return dict(self._replicas)

    def replica(self, replica_id: str) -> Replica:
        """The replica called ``replica_id``; an unknown id raises :class:`ReplicaIdError`."""
        try:
            return self._replicas[replica_id]
        except (KeyError, TypeError):
            raise ReplicaIdError(
                f"unknown replica {_validate.shown(replica_id)}; replicas are {list(self._replicas)}"
            ) from None

    @property
    def writes(self) -> dict[str, WriteFact]:
        """Ground truth for every client write executed so far, by op id, in execution order."""
        return dict(self._truth.writes)

    @property
    def failed_requests(self) -> dict[str, FailedRequest]:
        """Client requests that never reached their region (down, or cut off), by op id."""
        return dict(self._failed)

    @property
    def replies(self) -> list[Reply]:
        """Every reply sent to a client, in order."""
        return list(self._replies)

    def knowledge(self, replica_id: str, scope: Hashable) -> VectorClock:
        """Ground truth: the writes on ``scope`` whose effects have reached ``replica_id``."""
        self.replica(replica_id)
        try:
            return self._truth.knowledge.get((replica_id, scope), EMPTY)
        except TypeError:
            raise _validate.unhashable(scope, "scope (an item key)") from None

    def statistics(self) -> Statistics:
        """A frozen snapshot of the run's counters."""
        return Statistics(
            now=self.now, events=self._events, sent=self._sent, delivered=self._delivered,
            dropped=self._dropped, duplicated=self._duplicated, timers_fired=self._timers,
            client_requests=self._client_requests, pending=len(self._heap),
        )

    # -- scheduling -----------------------------------------------------------
    def _push(self, at: int, priority: int, kind: int, a: Any, b: Any, c: Any) -> None:
        if type(at) is not int or at < self.now:
            raise ConfigError(f"events must be scheduled at an integer time >= now ({self.now}), got {_validate.shown(at)}")
        if len(self._heap) >= self._max_pending:
            raise limits.too_many_pending(self._max_pending)
        seq = self._seq
        self._seq = seq + 1
        heapq.heappush(self._heap, (at, priority, seq, kind, a, b, c, None))

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
        when the client receives the reply; it may send further requests.

        Everything is checked before anything is drawn or scheduled: a refused
        request leaves the random streams, counters and queue as they were.
        """
        if type(at) is not int or at < self.now:
            raise ConfigError(
                f"a client request must be sent at an integer time >= now ({self.now}), got {_validate.shown(at)}"
            )
        if len(self._heap) >= self._max_pending:
            raise limits.too_many_pending(self._max_pending)
        self.replica(replica)
        if not isinstance(request, Request):
            raise ConfigError(f"client requests must be Request objects, got {_validate.shown(request)}")
        _validate.replica_id(client, "client name")
        if request.op in self._ops:
            raise ConfigError(f"request op id {_validate.shown(request.op)} is already scheduled; op ids must be unique")
        if via is not None and via != replica:
            self.replica(via)
            if not self.topology.has_edge(via, replica):
                raise TopologyError(f"a client at {_validate.shown(via)} cannot reach {_validate.shown(replica)}: no link between them")
        if self._trace is not None:
            describe(request)  # it will be traced when it arrives: refuse it now if it cannot be
        if on_reply is not None and not callable(on_reply):
            raise ConfigError(f"on_reply must be callable, got {_validate.shown(on_reply)}")
        delay = self._client_link(via, replica)() if via is not None and via != replica else 0
        self._push(at + delay if type(at) is int else at, PRIORITY_NORMAL, CLIENT, replica, client,
                   request)
        self._ops.add(request.op)
        self._client_ops[request.op] = (at, via, on_reply)

    def _client_link(self, src: str, dst: str) -> Callable[[], int]:
        sampler = self._client_samplers.get((src, dst))
        if sampler is None:
            link = self._link_config.get((src, dst), self._default_link)
            sampler = link.latency.sampler(self.streams.stream(f"client:{src}->{dst}"))
            self._client_samplers[(src, dst)] = sampler
        return sampler

    def schedule(self, at: int, action: Callable[[Simulation], None]) -> None:
        """Run ``action(sim)`` at time ``at``, before ordinary events of that millisecond (faults)."""
        if not callable(action):
            raise FaultScheduleError(f"scheduled action must be callable, got {_validate.shown(action)}")
        if type(at) is not int or at < self.now:
            raise FaultScheduleError(
                f"an action cannot be scheduled at {_validate.shown(at)}: it must be an integer time >= now ({self.now})"
            )
        self._push(at, PRIORITY_RUNTIME, CALL, action, None, None)

    # -- running ----------------------------------------------------------------
    def _start(self) -> None:
        self._started = True
        for replica_id, replica in self._replicas.items():
            if self._trace is not None:
                self._trace.step += 1
                self._trace.record(self.now, "Started", replica_id, {})
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
        pop = heapq.heappop
        contexts = self._contexts
        handlers = self._handlers
        cut = self._cut
        down = self._down
        truth = self._truth
        trace = self._trace
        horizon = until
        if self._max_time is not None and (horizon is None or horizon > self._max_time):
            horizon_cap = self._max_time
        else:
            horizon_cap = None
        budget = self._max_events - self._events
        stop_after = events if events is not None else -1
        processed = 0
        try:
            # `while True` + break rather than `while heap`: CPython 3.11 warms code up (specializes
            # it) only on unconditional backward jumps, so a long run() would stay generic.
            while True:
                if not heap:
                    break
                due = heap[0][0]
                if horizon is not None and due > horizon:
                    break
                if horizon_cap is not None and due > horizon_cap:
                    raise ConfigError(
                        f"the next event is at t={due}, past max_time={self._max_time}; "
                        "raise max_time or stop earlier with run(until=...)"
                    )
                if processed == stop_after:
                    break
                if processed >= budget:
                    raise ConfigError(
                        f"stopped after max_events={self._max_events} events without becoming "
                        "quiescent (a timer that always re-arms?); use run(until=...) or raise max_events"
                    )
                _t, _p, seq, kind, a, b, c, d = pop(heap)
                self.now = due
                processed += 1
                if trace is not None:
                    trace.step += 1  # every handler run (or runtime action) is one step
                if kind == DELIVER:
                    if (cut and (b, a) in cut) or (down and a in down):
                        self._drop_on_arrival(a, b, c, seq)
                        continue
                    if d is not None:
                        truth.receive(a, d)
                    self._delivered += 1
                    if trace is not None:
                        trace.record(due, "Delivered", a, {"src": b, "msg": describe(c), "id": seq})
                    handlers[a](contexts[a], b, c)
                elif kind == CLIENT:
                    via = self._client_ops[c.op][1]
                    if (down and a in down) or (cut and via is not None and (via, a) in cut):
                        self._client_failed(a, b, c, via)
                        continue
                    self._client_request(a, b, c)
                    handlers[a](contexts[a], b, c)
                elif kind == TIMER:
                    if b in self._cancelled:
                        self._cancelled.discard(b)
                        continue
                    if down and a in down:
                        continue  # a crashed replica's timers die with it
                    self._timers += 1
                    if trace is not None:
                        trace.record(due, "TimerFired", a, {"timer": describe(c), "id": b})
                    self._replicas[a].on_timer(contexts[a], c)
                else:
                    a(self)
        finally:
            self._events += processed
        if until is not None and until > self.now:
            self.now = until

    def _drop_on_arrival(self, dst: str, src: str, msg: Any, message_id: int) -> None:
        self._dropped += 1
        if self._trace is not None:
            reason = "crashed" if dst in self._down else "partition"
            self._trace.record(self.now, "Dropped", src, {"dst": dst, "msg": describe(msg),
                                                          "reason": reason, "id": message_id})

    def _client_failed(self, replica: str, client: str, request: Request, via: str | None) -> None:
        """A client request that cannot reach ``replica``: the client gets an error, at once."""
        self._dropped += 1
        if replica in self._down:
            reason = f"{replica} is down"
        else:
            reason = f"a partition cuts the client at {via} off from {replica}"
        self._failed[request.op] = FailedRequest(self.now, replica, via, client, request, reason)
        if self._trace is not None:
            self._trace.record(self.now, "RequestFailed", replica, {
                "client": client, "op": request.op, "via": via, "reason": reason,
                "request": describe(request)})
        issued, _, on_reply = self._client_ops[request.op]
        reply = Reply(self.now, replica, client,
                      Response(request.op, ok=False, error=UNREACHABLE, message=reason), issued)
        self._replies.append(reply)
        if on_reply is not None:
            self._push(self.now, PRIORITY_RUNTIME, CALL, lambda s: on_reply(s, reply), None, None)

    def _client_request(self, replica: str, client: str, request: Request) -> None:
        self._client_requests += 1
        if request.mutates:
            scope = request.scope
            actor = self._identity.get(replica, replica)
            self._truth.wrote(request.op, replica, actor, scope, self.now, client)
        if self._trace is not None:
            self._trace.record(self.now, "ClientRequested", replica,
                               {"client": client, "op": request.op, "request": describe(request),
                                "via": self._client_ops[request.op][1]})

    # -- faults -------------------------------------------------------------------------
    @property
    def partitioned(self) -> bool:
        """True while some link is cut by a partition."""
        return bool(self._cut)

    @property
    def down(self) -> tuple[str, ...]:
        """The replicas that are crashed right now, sorted."""
        return tuple(sorted(self._down))

    def components(self) -> list[list[str]]:
        """The groups of replicas that can currently reach each other (both ways), sorted."""
        graph = nx.Graph()
        graph.add_nodes_from(r for r in self._replicas if r not in self._down)
        graph.add_edges_from((a, b) for a, b in self.topology.edges()
                             if a not in self._down and b not in self._down
                             and (a, b) not in self._cut and (b, a) not in self._cut)
        return sorted(sorted(c) for c in nx.connected_components(graph))

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
            self._push(fault.at, PRIORITY_RUNTIME, CALL,
                       lambda sim, f=fault: f.apply(_Runtime(sim)), None, None)

    def _restart(self, replica_id: str) -> None:
        """Bring a crashed replica back: with its state, or empty under a new causal identity."""
        self._down.discard(replica_id)
        durable = self._durable.pop(replica_id, True)
        replica = self._replicas[replica_id]
        if not durable:
            incarnation = replica_incarnation(self._identity.get(replica_id, replica_id)) + 1
            identity = f"{replica_id}~{incarnation}"
            replica = replica.recover(identity)
            if not isinstance(replica, Replica) or replica.id != replica_id:
                raise ConfigError(f"{type(replica).__name__}.recover must return a fresh {replica_id}")
            self._identity[replica_id] = identity
            self._replicas[replica_id] = replica
            self._handlers[replica_id] = replica.on_message
            self._truth.forget(replica_id)  # ground truth: it no longer holds anything it had
        if self._trace is not None:
            self._trace.record(self.now, "Restarted", replica_id,
                               {"durable": durable, "identity": self._identity.get(replica_id, replica_id)})
        replica.on_start(self._contexts[replica_id])

    def run_until_quiescent(self) -> None:
        """Run until no event is left. Raises :class:`ConfigError` past ``max_events``/``max_time``."""
        self.run()

    def __repr__(self) -> str:
        return f"<Simulation of {len(self._replicas)} replicas at t={self.now}, seed={self.seed}>"
