"""Clients of a simulation: requests that arrive at a region, replies that reach the client.

A client sits next to ``via`` (by default the replica it writes to, latency 0). A request
that reaches a replica which is down, or across a link a partition has cut, fails at once
with :data:`~replicalab.sim.records.UNREACHABLE`; so does a reply cut on its way back.
Client traffic draws latency from its own streams (``client:src->dst``), so it never
shifts replication's draws.
"""

from __future__ import annotations

from collections.abc import Callable, KeysView
from heapq import heappush
from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError, TopologyError
from replicalab.replica.base import Request, Response
from replicalab.sim import limits
from replicalab.sim.describe import describe
from replicalab.sim.events import PRIORITY_NORMAL, PRIORITY_RUNTIME, Action, ClientArrival
from replicalab.sim.network import Link
from replicalab.sim.records import UNREACHABLE, FailedRequest, Reply
from replicalab.sim.rng import RandomStreams

#: The simulation (replicalab.sim.simulation imports this module, so it is not imported here).
Simulation = Any

__all__ = ["Clients"]

OnReply = Callable[[Any, Reply], None]

#: A named-tuple event built in C (Simulation._schedule says why).
_make: Any = tuple.__new__


class Clients:
    """Every client request of one simulation: when and where it was issued, how it ended."""

    def __init__(self, streams: RandomStreams, links: dict[tuple[str, str], Link],
                 default: Link) -> None:
        #: op id -> (time issued, the replica the client sits next to or None, callback)
        self.issued: dict[str, tuple[int, str | None, OnReply | None]] = {}
        self.failed: dict[str, FailedRequest] = {}
        self.replies: list[Reply] = []
        self._streams, self._links, self._default = streams, links, default
        self._samplers: dict[tuple[str, str], Callable[[], int]] = {}
        #: request class -> does it write several items (has a ``written()`` method)?
        self._several: dict[type, bool] = {}

    @property
    def ops(self) -> KeysView[str]:
        """The op ids of every request scheduled so far (a live view of :attr:`issued`)."""
        return self.issued.keys()

    def link(self, src: str, dst: str) -> Callable[[], int]:
        """The latency sampler of the client link ``src -> dst``, on its own stream."""
        sampler = self._samplers.get((src, dst))
        if sampler is None:
            link = self._links.get((src, dst), self._default)
            sampler = link.latency.sampler(self._streams.stream(f"client:{src}->{dst}"))
            self._samplers[(src, dst)] = sampler
        return sampler

    def request(self, sim: Simulation, at: Any, replica: str, request: Any, client: str,
                via: str | None, on_reply: Any) -> None:
        """Schedule ``request``'s arrival, after checking everything (see
        :meth:`Simulation.client_request`)."""
        if type(at) is not int or at < sim.now:
            raise ConfigError(
                f"a client request must be sent at an integer time >= now ({sim.now}), got {_validate.shown(at)}"
            )
        if len(sim._heap) + sim._queued >= sim._max_pending:
            raise limits.too_many_pending(sim._max_pending)
        # The usual case asked inline, the checks that say what is wrong called only otherwise:
        # a client request is made per operation of a workload (two Python calls each).
        if type(replica) is not str or replica not in sim._replicas:
            sim.replica(replica)  # raises ReplicaIdError naming the replicas there are
        if not isinstance(request, Request):
            raise ConfigError(f"client requests must be Request objects, got {_validate.shown(request)}")
        if type(client) is not str or not client:
            _validate.replica_id(client, "client name")
        if request.op in self.issued:
            raise ConfigError(f"request op id {_validate.shown(request.op)} is already scheduled; op ids must be unique")
        if via is not None and via != replica:
            sim.replica(via)
            if not sim.topology.has_edge(via, replica):
                raise TopologyError(f"a client at {_validate.shown(via)} cannot reach {_validate.shown(replica)}: no link between them")
        if sim._trace is not None:
            describe(request)  # it will be traced when it arrives: refuse it now if it cannot be
        if on_reply is not None and not callable(on_reply):
            raise ConfigError(f"on_reply must be callable, got {_validate.shown(on_reply)}")
        delay = self.link(via, replica)() if via is not None and via != replica else 0
        # Simulation._schedule, inline (its checks were made above): one per client request.
        seq = sim._seq
        sim._seq = seq + 1
        sim._scheduled += 1
        heappush(sim._heap, _make(ClientArrival, (at + delay, PRIORITY_NORMAL, seq, replica, client, request)))
        self.issued[request.op] = (at, via, on_reply)

    def arrives(self, sim: Simulation, event: ClientArrival) -> bool:
        """``event``'s request reaches its replica: True if it gets there, False if it fails."""
        replica, client, request = event.replica, event.client, event.request
        via = self.issued[request.op][1]
        down = sim._down
        if (down and replica in down) or (sim._cut and via is not None and (via, replica) in sim._cut):
            self._failed(sim, replica, client, request, via)
            return False
        sim._client_requests += 1
        if request.mutates:
            actor = sim._identity.get(replica, replica)
            # A request that writes several items (a transaction) names one write per item. Its
            # class says so: asked per class, since getattr(request, "written", None) on a plain
            # write raised and swallowed an AttributeError per write.
            kind = type(request)
            several = self._several.get(kind)
            if several is None:
                several = self._several[kind] = callable(getattr(kind, "written", None))
            if several:
                for op, scope in request.written():  # type: ignore[attr-defined]  # asked above
                    sim._truth.record(op, replica, actor, scope, sim.now, client)
            else:
                sim._truth.record(request.op, replica, actor, request.scope, sim.now, client)
        if sim._trace is not None:
            sim._trace.record(sim.now, "ClientRequested", replica,
                              {"client": client, "op": request.op, "request": describe(request),
                               "via": via})
        return True

    def lost(self, sim: Simulation, replica: str, client: str, request: Request, reason: str) -> None:
        """A request ``replica`` took and can no longer answer (it crashed with it): the
        client's connection drops, so it gets an error now (once: not if it already has a reply)."""
        if request.op not in self.issued or any(r.response.op == request.op for r in self.replies):
            return
        self._refuse(sim, replica, client, request, self.issued[request.op][1], reason)

    def _failed(self, sim: Simulation, replica: str, client: str, request: Request,
                via: str | None) -> None:
        """A client request that cannot reach ``replica``: the client gets an error, at once."""
        sim._dropped += 1
        if replica in sim._down:
            reason = f"{replica} is down"
        else:
            reason = f"a partition cuts the client at {via} off from {replica}"
        self.failed[request.op] = FailedRequest(sim.now, replica, via, client, request, reason)
        self._refuse(sim, replica, client, request, via, reason)

    def _refuse(self, sim: Simulation, replica: str, client: str, request: Request,
                via: str | None, reason: str) -> None:
        """Tell ``client`` now that ``request`` failed at ``replica`` (traced as RequestFailed)."""
        if sim._trace is not None:
            sim._trace.record(sim.now, "RequestFailed", replica, {
                "client": client, "op": request.op, "via": via, "reason": reason,
                "request": describe(request)})
        issued, where, on_reply = self.issued[request.op]
        reply = Reply(sim.now, replica, client,
                      Response(request.op, ok=False, error=UNREACHABLE, message=reason), issued)
        self.replies.append(reply)
        if on_reply is not None:  # the client's answer: its callback is let go (reply_arrives)
            self.issued[request.op] = (issued, where, None)
            sim._schedule(Action, sim.now, PRIORITY_RUNTIME, lambda s: on_reply(s, reply))

    def reply_arrives(self, sim: Simulation, replica: str, via: str | None, reply: Reply,
                      on_reply: OnReply | None) -> None:
        """``reply`` reaches the client at ``via``: as an error if a partition cut that link by
        then (the region acted on the request; the client cannot know)."""
        if via is not None and (replica, via) in sim._cut:
            said = "ok" if reply.response.ok else str(reply.response.error)
            reply = attrs.evolve(reply, response=Response(reply.response.op, ok=False,
                                                          error=UNREACHABLE, message=(
                f"the reply from {replica} to the client at {via} was cut by a "
                f"partition; {replica} had answered {said}")))
            if sim._trace is not None:
                sim._trace.record(sim.now, "ReplyDropped", replica, {
                    "client": reply.client, "op": reply.response.op, "via": via})
        self.replies.append(reply)
        if on_reply is not None:
            # The client stops listening once answered: its callback runs for the first reply
            # only, and is let go (a workload's callback is a closure per request: kept to the
            # end of a run, 20,000 of them made B12's full garbage collections ~9 % of its time).
            op = reply.response.op
            at, where, waiting = self.issued[op]
            if waiting is not None:  # None: a second answer (recorded above), already in flight
                self.issued[op] = (at, where, None)
                on_reply(sim, reply)
