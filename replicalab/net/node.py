"""One replica in its own OS process: the runtime that carries out its commands on real sockets.

:func:`serve` connects to the run's hub (:mod:`replicalab.net.hub`) over TCP on
127.0.0.0/8, says hello, waits for ``start`` and then runs the replica's handlers, one at a
time, as frames arrive and real timers fire (asyncio). The replica is an ordinary
:class:`~replicalab.replica.base.Replica` — the same class the simulator runs; it gets a
:class:`NetContext` instead of a simulator's context and cannot tell the difference, except
that time is real:

* ``now``: real milliseconds since the run began (``time.monotonic_ns`` minus the hub's
  origin: the system-wide monotonic clock, so every process on the machine agrees);
  ``wall_time()``: the run's epoch plus ``now`` (the story's time of day, ticking for real).
* ``send``: a ``send`` frame to the hub, which injects delay, loss, partitions and crashes;
  ``set_timer`` / ``cancel_timer``: ``loop.call_later`` and its handle; ``reply``: a ``reply``
  frame; ``log``: a trace record.

Each handler run is one **step**. The process reports it to the hub as one ``step`` frame
(its events, in order, with this process's message ids; the ground truth of a client write)
*before* the frames its commands produce, on the same FIFO connection. So the hub learns of
every ``Sent`` before the message itself, and it forwards a message only after receiving
it: whatever step a message causes is reported after the step that sent it. The hub's
merge relies on this (:mod:`replicalab.net.history`).

Ground-truth causality is kept here, beside the replica and out of its reach, exactly as the
simulator keeps it (:class:`~replicalab.sim.ground_truth.GroundTruth`): a message about an
item key carries the sender's knowledge of that key; a client write ticks it.
"""

from __future__ import annotations

import asyncio
import os
import time
import traceback
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from replicalab import _validate
from replicalab.clocks import VectorClock
from replicalab.errors import ConfigError, TopologyError
from replicalab.items import Item
from replicalab.net import wire
from replicalab.net.config import check_loopback
from replicalab.replica.base import (
    Command,
    Replica,
    Request,
    Response,
    carry_out,
    check_log_kind,
    check_reply,
    check_timer_id,
)
from replicalab.sim.describe import describe
from replicalab.sim.ground_truth import MANY, GroundTruth
from replicalab.sim.rng import RandomStreams

__all__ = ["NetContext", "serve"]


def causal_to_wire(payload: Any) -> list[list[Any]] | None:
    """A ground-truth payload (``GroundTruth.payload``) as ``[[scope, {replica: n}], ...]``."""
    if payload is None:
        return None
    pairs = payload[1] if payload[0] is MANY else (payload,)
    return [[wire.encode(scope), past.to_dict()] for scope, past in pairs]


def causal_from_wire(data: Any) -> Any:
    """The payload :func:`causal_to_wire` wrote, for ``GroundTruth.receive``."""
    if data is None:
        return None
    return (MANY, tuple((wire.decode(scope), VectorClock(past)) for scope, past in data))


class NetContext:
    """The real-network implementation of :class:`replicalab.replica.base.Context`."""

    def __init__(self, node: _Node) -> None:
        self._node = node
        self.peers: tuple[str, ...] = node.peers
        self.random = node.rng.random

    @property
    def replica(self) -> str:
        return self._node.replica.id

    @property
    def now(self) -> int:
        return self._node.step_time

    def wall_time(self) -> int:
        return self._node.epoch + self._node.step_time

    def execute(self, command: Command) -> Any:
        """Carry out ``command`` as if the handler had called the verb (as the simulator's does)."""
        return carry_out(self, command)

    def send(self, dst: str, msg: Any, scope: Hashable | None = None,
             scopes: Iterable[Hashable] | None = None) -> None:
        node = self._node
        if not isinstance(dst, str) or dst not in node.peers:
            raise TopologyError(f"{node.replica.id} has no link to {_validate.shown(dst)}; "
                                f"its peers are {list(node.peers)}")
        described = describe(msg)  # refused (trace, then wire) before anything changes
        encoded = wire.encode(msg)
        causal = causal_to_wire(node.truth.payload(node.replica.id, scope,
                                                    None if scopes is None else tuple(scopes)))
        node.sent += 1
        node.events.append(["Sent", {"dst": dst, "msg": described, "due": None, "id": node.sent}])
        node.outgoing.append(wire.frame("send", dst=dst, id=node.sent, msg=encoded, causal=causal))

    def set_timer(self, delay: int, timer: Any) -> int:
        if type(delay) is not int or delay < 0:
            raise ConfigError(f"timer delay must be an integer number of ms >= 0, got {_validate.shown(delay)}")
        described = describe(timer)
        node = self._node
        node.timer_ids += 1
        timer_id = node.timer_ids
        node.timers[timer_id] = node.loop.call_later(delay / 1000, node.fire, timer_id, timer, described)
        return timer_id

    def cancel_timer(self, timer_id: int) -> None:
        check_timer_id(timer_id)
        handle = self._node.timers.pop(timer_id, None)
        if handle is not None:
            handle.cancel()

    def reply(self, client: str, response: Response) -> None:
        check_reply(client, response)
        node = self._node
        encoded = wire.encode(response)
        node.events.append(["Replied", {"client": client, "op": response.op, "ok": response.ok,
                                        "error": response.error, "message": response.message,
                                        "received": node.step_time}])
        node.outgoing.append(wire.frame("reply", client=client, op=response.op, response=encoded,
                                        t=node.step_time))

    def log(self, kind: str, **data: Any) -> None:
        check_log_kind(kind)
        self._node.events.append([kind, describe(data)])

    def sequenced(self, op: str, after: Sequence[str] = (), *, log: str | None = None,
                  extends: bool = False) -> None:
        # Each process keeps its own ground truth: the write's fact lives where it arrived, so
        # this process cannot re-mint it. Refused rather than ignored (the ledger would judge
        # the write by the wrong past); the runs that need it (leader regions) are refused here.
        _validate.name(op, "write op id")
        raise ConfigError(f"{self._node.replica.id} said write {op!r} takes its place here "
                          "(ctx.sequenced), which the real-network runtime cannot record: its "
                          "processes keep their ground truth apart. Run such replicas "
                          "(leader regions) in the simulator")


class _Node:
    """The process's side of the connection: steps, timers, ground truth."""

    def __init__(self, replica: Replica, writer: asyncio.StreamWriter, start: dict[str, Any]) -> None:
        self.replica = replica
        self.writer = writer
        self.loop = asyncio.get_running_loop()
        self.origin = int(start["origin_ns"])
        self.epoch = int(start["epoch"])
        self.peers = tuple(sorted(p for p in start["peers"] if p != replica.id))
        self.rng = RandomStreams(int(start["seed"])).stream(f"replica:{replica.id}")
        self.truth = GroundTruth()
        self.timers: dict[int, asyncio.TimerHandle] = {}
        self.timer_ids = 0
        self.sent = 0
        self.step_time = 0
        self.events: list[list[Any]] = []
        self.outgoing: list[bytes] = []
        self.failure: BaseException | None = None
        self.ctx = NetContext(self)

    def clock(self) -> int:
        return max(0, (time.monotonic_ns() - self.origin) // 1_000_000)

    def step(self, kind: str, data: dict[str, Any], handler: Any, facts: dict[str, Any] | None = None) -> None:
        """Run one handler as one step; report it, then send what it produced."""
        self.events, self.outgoing = [[kind, data]], []
        try:
            handler()
        except Exception:  # a replica's bug: report it and stop, as the simulator would raise
            self.failure = RuntimeError(traceback.format_exc(limit=8))
            self.writer.write(wire.frame("error", message=traceback.format_exc(limit=8)))
            return
        self.writer.write(wire.frame("step", t=self.step_time, events=self.events,
                                     facts=facts or {}, timers=len(self.timers)))
        for data_frame in self.outgoing:
            self.writer.write(data_frame)

    def fire(self, timer_id: int, timer: Any, described: Any) -> None:
        if self.timers.pop(timer_id, None) is None or self.failure is not None:
            return
        self.step_time = self.clock()
        self.step("TimerFired", {"timer": described, "id": timer_id},
                  lambda: self.replica.on_timer(self.ctx, timer))

    def started(self) -> None:
        self.step_time = self.clock()
        self.step("Started", {}, lambda: self.replica.on_start(self.ctx))

    def delivered(self, frame: dict[str, Any]) -> None:
        src, msg = frame["src"], wire.decode(frame["msg"])
        self.step_time = self.clock()
        causal = causal_from_wire(frame.get("causal"))
        if causal is not None:
            self.truth.receive(self.replica.id, causal)
        self.step("Delivered", {"src": src, "msg": describe(msg), "id": frame["id"]},
                  lambda: self.replica.on_message(self.ctx, src, msg))

    def requested(self, frame: dict[str, Any]) -> None:
        request = wire.decode(frame["request"])
        if not isinstance(request, Request):
            raise ConfigError(f"a client request must be a Request, got {_validate.shown(request)}")
        client = frame["client"]
        self.step_time = self.clock()
        facts: dict[str, Any] = {}
        scope = request.scope
        if request.mutates:
            fact = self.truth.wrote(request.op, self.replica.id, self.replica.id, scope,
                                    self.step_time, client)
            facts = {"write": {"op": fact.op, "scope": wire.encode(scope), "time": fact.time,
                               "dot": [fact.dot.replica, fact.dot.counter],
                               "seen": fact.seen.to_dict(), "client": client}}
        elif scope is not None:  # what had reached this replica when it answered a read
            facts = {"read": {"op": request.op, "seen": self.truth.knowledge.get(
                (self.replica.id, scope), _EMPTY).to_dict()}}
        self.step("ClientRequested", {"client": client, "op": request.op,
                                      "request": describe(request), "via": frame.get("via")},
                  lambda: self.replica.on_message(self.ctx, client, request), facts)

    def final(self) -> bytes:
        """The replica's final items (a table replica's) and this process's ground truth."""
        items = getattr(self.replica, "items", None)
        encoded = {}
        if isinstance(items, Mapping):
            encoded = {k: v.to_bytes().decode() for k, v in dict(items).items()
                       if isinstance(k, str) and isinstance(v, Item)}
        knowledge = [[wire.encode(scope), past.to_dict()]
                     for (rid, scope), past in self.truth.knowledge.items() if rid == self.replica.id]
        return wire.frame("final", items=encoded, knowledge=knowledge)


_EMPTY = VectorClock()


async def _serve(replica: Replica, host: str, port: int) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    cls = type(replica)
    writer.write(wire.frame("hello", replica=replica.id, cls=f"{cls.__module__}.{cls.__qualname__}",
                            pid=os.getpid()))
    start = await wire.read_frame(reader)
    if start is None or start["kind"] != "start":
        return 3
    node = _Node(replica, writer, start)
    node.started()
    while node.failure is None:
        await writer.drain()
        frame = await wire.read_frame(reader)
        if frame is None:  # the hub is gone: nothing to do without it
            break
        kind = frame["kind"]
        if kind == "deliver":
            node.delivered(frame)
        elif kind == "request":
            node.requested(frame)
        elif kind == "finish":
            for handle in node.timers.values():
                handle.cancel()
            writer.write(node.final())
            await writer.drain()
            break
        else:
            raise ConfigError(f"unexpected frame {kind!r} from the hub")
    writer.close()
    return 1 if node.failure is not None else 0


def serve(replica: Replica, host: str, port: int) -> int:
    """Run ``replica`` in this process, connected to the hub at ``host:port``, until the hub
    says ``finish`` or goes away. Returns the exit status (0: finished cleanly).

    ``host`` must be in 127.0.0.0/8 (:func:`~replicalab.net.config.check_loopback`).
    """
    if not isinstance(replica, Replica):
        raise ConfigError(f"serve runs a Replica, got {_validate.shown(replica)}")
    host = check_loopback(host)
    if type(port) is not int or not 1 <= port <= 65535:
        raise ConfigError(f"port must be an integer in [1, 65535], got {_validate.shown(port)}")
    return asyncio.run(_serve(replica, host, port))
