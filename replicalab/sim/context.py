"""The simulator's side of a replica's context: links, sends, timers, replies.

A replica's handler gets a :class:`SimContext`; what it asks for (send, set a
timer, reply, log) is carried out here against the simulation's heap, network
and trace. The heap's entry layout and priorities are defined here too.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError, TopologyError
from replicalab.replica.base import Response, check_log_kind, check_reply, check_timer_id
from replicalab.sim import limits
from replicalab.sim.clock import WallClock
from replicalab.sim.describe import describe
from replicalab.sim.network import Link
from replicalab.sim.records import UNREACHABLE, Reply
from replicalab.sim.rng import RandomStreams

__all__ = ["CALL", "CLIENT", "DELIVER", "PRIORITY_NORMAL", "PRIORITY_RUNTIME", "TIMER",
           "SimContext"]

#: Heap entries are ``(time, priority, seq, kind, a, b, c, d)``; what a-d hold depends on kind.
DELIVER, CLIENT, TIMER, CALL = 0, 1, 2, 3
#: Runtime actions (faults, replies reaching clients) run before ordinary events of their ms.
PRIORITY_RUNTIME, PRIORITY_NORMAL = 0, 1


class _LinkState:
    """One directed link: its loss, duplication and latency draws, from stream ``link:src->dst``.

    The stream (a ``random.Random``, about 2.5 KB) is made on the link's first draw, not
    when the simulation is built: a full mesh of n replicas has n(n - 1) directed links and
    most may never carry a message. Streams are derived from their names, so making one
    late gives exactly the same draws as making it early.
    """

    __slots__ = ("sample", "loss", "duplicate", "_rng", "_latency", "_streams", "_src", "_dst")

    def __init__(self, link: Link, streams: RandomStreams, src: str, dst: str) -> None:
        self._rng: Any = None
        self._latency = link.latency
        self._streams, self._src, self._dst = streams, src, dst
        self.sample: Callable[[], int] = self._first_sample
        self.loss = link.loss
        self.duplicate = link.duplicate

    @property
    def rng(self) -> Any:
        rng = self._rng
        if rng is None:
            rng = self._rng = self._streams.stream(f"link:{self._src}->{self._dst}")
        return rng

    def _first_sample(self) -> int:
        self.sample = self._latency.sampler(self.rng)
        return self.sample()


@attrs.frozen
class _ReplyArrival:
    """A reply reaching its client. One that crosses a link a partition has cut by then
    reaches the client as an error: the region acted on the request, the client cannot know."""

    replica: str
    via: str | None
    reply: Reply
    on_reply: Callable[[Any, Reply], None] | None

    def __call__(self, sim: Any) -> None:
        reply = self.reply
        if self.via is not None and (self.replica, self.via) in sim._cut:
            said = "ok" if reply.response.ok else str(reply.response.error)
            reply = attrs.evolve(reply, response=Response(reply.response.op, ok=False,
                                                          error=UNREACHABLE, message=(
                f"the reply from {self.replica} to the client at {self.via} was cut by a "
                f"partition; {self.replica} had answered {said}")))
            if sim._trace is not None:
                sim._trace.record(sim.now, "ReplyDropped", self.replica, {
                    "client": reply.client, "op": reply.response.op, "via": self.via})
        sim._replies.append(reply)
        if self.on_reply is not None:
            self.on_reply(sim, reply)


class SimContext:
    """The simulator's implementation of :class:`replicalab.replica.base.Context`."""

    __slots__ = ("_sim", "_replica", "_links", "_rng", "_clock", "peers", "random")

    def __init__(self, sim: Any, replica: str, links: dict[str, _LinkState],
                 clock: WallClock, peers: Sequence[str] | None = None) -> None:
        self._sim = sim
        self._replica = replica
        self._links = links
        self._rng = sim.streams.stream(f"replica:{replica}")
        self._clock = clock
        #: The replica's neighbours, sorted (a full mesh passes a view, not a copy per replica).
        self.peers: Sequence[str] = tuple(sorted(links)) if peers is None else peers
        # random() -> float in [0, 1) from this replica's stream: the bound C method, no wrapper.
        self.random = self._rng.random

    @property
    def replica(self) -> str:
        return self._replica

    @property
    def now(self) -> int:
        return self._sim.now

    def wall_time(self) -> int:
        return self._clock.read(self._sim.now, self._sim.epoch)

    def send(self, dst: str, msg: Any, *, scope: Hashable | None = None,
             scopes: Iterable[Hashable] | None = None) -> None:
        link = self._links.get(dst) if isinstance(dst, str) else None
        if link is None:
            raise TopologyError(
                f"{self._replica} has no link to {_validate.shown(dst)}; its peers are {list(self.peers)}"
            )
        sim = self._sim
        if len(sim._heap) >= sim._max_pending:
            raise limits.too_many_pending(sim._max_pending)
        described = describe(msg) if sim._trace is not None else None  # refused before any change
        sim._sent += 1
        causal = (None if scope is None and scopes is None  # the hot path: nothing causal
                  else sim._truth.payload(self._replica, scope, scopes))
        trace = sim._trace
        # A message's id is the sequence number of its delivery on the heap: unique, and
        # carried from Sent to Delivered or Dropped, so a picture never has to match them up.
        seq = sim._seq
        sim._seq = seq + 1
        if link.loss and link.rng.random() < link.loss:
            sim._dropped += 1
            if trace is not None:
                trace.record(sim.now, "Sent", self._replica,
                             {"dst": dst, "msg": described, "due": None, "id": seq})
                trace.record(sim.now, "Dropped", self._replica,
                             {"dst": dst, "msg": described, "reason": "loss", "id": seq})
            return
        due = sim.now + link.sample()
        heapq.heappush(sim._heap, (due, PRIORITY_NORMAL, seq, DELIVER, dst, self._replica, msg, causal))
        if trace is not None:
            trace.record(sim.now, "Sent", self._replica,
                         {"dst": dst, "msg": described, "due": due, "id": seq})
        if link.duplicate and link.rng.random() < link.duplicate:
            again = sim.now + link.sample()
            seq = sim._seq
            sim._seq = seq + 1
            heapq.heappush(sim._heap, (again, PRIORITY_NORMAL, seq, DELIVER, dst, self._replica, msg, causal))
            sim._duplicated += 1
            if trace is not None:
                trace.record(sim.now, "Duplicated", self._replica,
                             {"dst": dst, "msg": described, "due": again, "id": seq})

    def set_timer(self, delay: int, timer: Any) -> int:
        if type(delay) is not int or delay < 0:
            raise ConfigError(f"timer delay must be an integer number of ms >= 0, got {_validate.shown(delay)}")
        sim = self._sim
        if len(sim._heap) >= sim._max_pending:
            raise limits.too_many_pending(sim._max_pending)
        if sim._trace is not None:
            describe(timer)  # it will be traced when it fires: refuse it now if it cannot be
        sim._timer_ids += 1
        seq = sim._seq
        sim._seq = seq + 1
        heapq.heappush(sim._heap, (sim.now + delay, PRIORITY_NORMAL, seq, TIMER, self._replica,
                                   sim._timer_ids, timer, None))
        return sim._timer_ids

    def cancel_timer(self, timer_id: int) -> None:
        check_timer_id(timer_id)
        self._sim._cancelled.add(timer_id)

    def reply(self, client: str, response: Response) -> None:
        check_reply(client, response)
        sim = self._sim
        issued, via, on_reply = sim._client_ops.get(response.op, (sim.now, None, None))
        received = sim.now
        if via is not None and via != self._replica:
            received += sim._client_link(self._replica, via)()
        if sim._trace is not None:
            sim._trace.record(sim.now, "Replied", self._replica, {
                "client": client, "op": response.op, "ok": response.ok,
                "error": response.error, "message": response.message, "received": received})
        arrival = _ReplyArrival(self._replica, via, Reply(received, self._replica, client,
                                                          response, issued), on_reply)
        if received == sim.now:
            arrival(sim)
        else:  # the answer crosses the client's link: a partition by then cuts it
            sim._push(received, PRIORITY_RUNTIME, CALL, arrival, None, None)

    def log(self, kind: str, **data: Any) -> None:
        check_log_kind(kind)
        trace = self._sim._trace
        if trace is not None:
            trace.record(self._sim.now, kind, self._replica, data)
