"""One history from many processes: merging their steps into a trace ordered by causality.

Each replica process reports every handler run as a **step** (its events, in order, stamped
with the real time the handler began, and this process's message numbers); the hub adds
steps of its own (a message dropped, a partition, a crash, a request that failed). Steps
reach the hub over FIFO connections, and a process reports a step *before* sending the
messages it produced (:mod:`replicalab.net.node`).

**The merge** is a topological order of the steps under happens-before, with ties broken by
real time:

1. a process's steps stay in the order it ran them (its reports arrive in that order);
2. the step that delivered (or the hub step that dropped) message ``src#n`` comes after
   the step of ``src`` that sent it;

the hub's own records (a drop, a partition, a crash, a failed request) are placed by rule 2
and their time only;

and among the steps whose predecessors are all placed, the earliest ``(time, arrival at the
hub)`` goes next (Kahn's algorithm with a heap). All processes read one system-wide
monotonic clock, so the times already agree with rule 2; the rules make causality hold even
if they did not. Then steps are numbered 1, 2, ..., messages get trace ids in the order
they were sent and timers in the order they fired (each process numbers its own); a ``Sent`` event's ``due`` is the real time its message was delivered
(None: it never was). The result reads like a simulator's trace: the ledger, the timeline,
the pictures and the stepper take it as they are.

A real run is **not deterministic**: the operating system decides when each process runs.
:class:`NetRun` says so (``deterministic`` is False) and so does everything that prints it.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import attrs

from replicalab.clocks import VectorClock
from replicalab.dots import Dot
from replicalab.errors import NetworkRunError
from replicalab.items import Item
from replicalab.net import wire
from replicalab.sim import limits
from replicalab.sim.ground_truth import WriteFact
from replicalab.sim.records import FailedRequest, Reply, Statistics
from replicalab.trace import Trace

__all__ = ["Block", "Final", "NetRun", "merge"]

#: What a real run says about itself wherever it is printed.
NOT_DETERMINISTIC = ("a REAL run: separate OS processes over TCP on 127.0.0.1, real timers, real "
                     "milliseconds; NOT deterministic (the operating system schedules the processes), "
                     "so times — and, near a race, outcomes — can differ from run to run")


@attrs.frozen
class Block:
    """One step as reported: ``time`` (real ms since the start), the replica (None: the
    network), its events ``[[kind, data], ...]`` and its place in the hub's arrival order.
    ``by_hub``: the hub recorded it (a drop, a fault, a failed request), not the process."""

    time: int
    replica: str | None
    events: list[list[Any]]
    arrival: int
    by_hub: bool = False


@attrs.frozen
class Final:
    """A replica's state when the run ended: its items (a table replica's; else empty)."""

    items: dict[str, Item]


@attrs.frozen(eq=False)
class NetRun:
    """What a real-network run produced: the merged trace and what the ledger reads.

    It offers what :func:`replicalab.ledger.from_simulation` reads from a simulation —
    ``trace``, ``writes``, ``replies``, ``failed_requests``, ``replicas``, ``down``,
    ``knowledge(replica, key)`` — built from the processes' own reports. ``classes`` names
    the replica class each process ran; ``pids`` are the processes (all gone by now);
    ``address`` is where the hub listened.
    """

    trace: Trace
    writes: dict[str, WriteFact]
    replies: list[Reply]
    failed_requests: dict[str, FailedRequest]
    replicas: dict[str, Final]
    down: tuple[str, ...]
    classes: dict[str, str]
    pids: dict[str, int]
    elapsed: int
    address: str
    read_knowledge: dict[str, VectorClock]
    _knowledge: dict[tuple[str, Hashable], VectorClock]
    deterministic: bool = False
    note: str = NOT_DETERMINISTIC

    def knowledge(self, replica: str, scope: Hashable) -> VectorClock:
        """Ground truth at the end: the writes on ``scope`` that had reached ``replica``."""
        return self._knowledge.get((replica, scope), VectorClock())

    def statistics(self) -> Statistics:
        """Counters of the run, as a simulation reports them (``now``: real ms it took)."""
        kinds = [e.kind for e in self.trace]
        steps = {e.step for e in self.trace}
        return Statistics(now=self.elapsed, events=len(steps), sent=kinds.count("Sent"),
                          delivered=kinds.count("Delivered"), dropped=kinds.count("Dropped"),
                          duplicated=0, timers_fired=kinds.count("TimerFired"),
                          client_requests=kinds.count("ClientRequested"), pending=0)


def _order(blocks: Sequence[Block]) -> list[Block]:
    """The blocks in a causal order, earliest (time, arrival) first among those ready."""
    after: dict[int, list[int]] = {i: [] for i in range(len(blocks))}
    waits = [0] * len(blocks)
    last: dict[str | None, int] = {}
    sender: dict[tuple[str, int], int] = {}
    for i, block in enumerate(blocks):
        if block.by_hub or block.replica is None:
            # Rule 1 is about a process's own steps. A hub record (a crash, say) may arrive before
            # the report of a step the process ran just before it: only time orders the two.
            continue
        if block.replica in last:  # rule 1
            after[last[block.replica]].append(i)
            waits[i] += 1
        last[block.replica] = i
        for kind, data in block.events:
            if kind == "Sent":
                sender[(block.replica, data["id"])] = i
    for i, block in enumerate(blocks):
        for kind, data in block.events:
            source = (data["src"] if kind == "Delivered" else block.replica if kind == "Dropped"
                      else None)
            if source is not None:
                j = sender.get((source, data["id"]))
                if j is None:
                    raise NetworkRunError(f"{block.replica} reported {kind} of message "
                                          f"{source}#{data['id']}, which no process reported sending")
                if j != i:  # rule 2
                    after[j].append(i)
                    waits[i] += 1
    ready = [(b.time, b.arrival, i) for i, b in enumerate(blocks) if waits[i] == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        _, _, i = heapq.heappop(ready)
        out.append(blocks[i])
        for k in after[i]:
            waits[k] -= 1
            if waits[k] == 0:
                heapq.heappush(ready, (blocks[k].time, blocks[k].arrival, k))
    if len(out) != len(blocks):
        raise NetworkRunError("the processes' reports contradict each other (a cycle in happens-before)")
    return out


def merge(*, blocks: Sequence[Block], replicas: Sequence[str], down: Sequence[str],
          finals: Mapping[str, Mapping[str, Any]], facts: Mapping[str, Mapping[str, Any]],
          reads: Mapping[str, Mapping[str, int]], replies: Sequence[Reply],
          failed: Mapping[str, FailedRequest], classes: Mapping[str, str], pids: Mapping[str, int],
          elapsed: int, address: str) -> NetRun:
    """The :class:`NetRun` of the reports (see the module docs for the order)."""
    ordered = _order(blocks)
    ids: dict[tuple[str, int], int] = {}
    delivered_at: dict[int, int] = {}
    for block in ordered:
        for kind, data in block.events:
            if kind == "Sent":
                ids[(block.replica, data["id"])] = len(ids)  # type: ignore[index]
    for block in ordered:
        for kind, data in block.events:
            if kind == "Delivered":
                delivered_at.setdefault(ids[(data["src"], data["id"])], block.time)
    timers: dict[tuple[str | None, int], int] = {}  # (replica, its own timer id) -> trace id
    trace = Trace(max_events=limits.MAX_TRACE_EVENTS)
    for step, block in enumerate(ordered, start=1):
        trace.step = step
        for kind, data in block.events:
            data = dict(data)
            if kind == "Sent":
                data["id"] = ids[(block.replica, data["id"])]  # type: ignore[index]
                data["due"] = delivered_at.get(data["id"])
            elif kind == "Delivered":
                data["id"] = ids[(data["src"], data["id"])]
            elif kind == "Dropped":
                data["id"] = ids[(block.replica, data["id"])]  # type: ignore[index]
            elif kind == "TimerFired":  # each process counts its own timers: one count per trace
                data["id"] = timers.setdefault((block.replica, data["id"]), len(timers) + 1)
            trace.record(block.time, kind, block.replica, data)
    writes = {op: WriteFact(op, f["replica"], wire.decode(f["scope"]), f["time"], Dot(*f["dot"]),
                            VectorClock(f["seen"]), f["client"]) for op, f in facts.items()}
    knowledge: dict[tuple[str, Hashable], VectorClock] = {}
    final_states: dict[str, Final] = {}
    for replica in replicas:
        if replica in down:
            continue
        frame = finals[replica]
        final_states[replica] = Final({k: Item.from_bytes(v.encode())
                                       for k, v in sorted(frame["items"].items())})
        for scope, past in frame["knowledge"]:
            knowledge[(replica, wire.decode(scope))] = VectorClock(past)
    return NetRun(trace=trace, writes=writes, replies=list(replies), failed_requests=dict(failed),
                  replicas=final_states, down=tuple(down), classes=dict(classes), pids=dict(pids),
                  elapsed=elapsed, address=address,
                  read_knowledge={op: VectorClock(seen) for op, seen in reads.items()},
                  knowledge=knowledge)
