"""What the simulator schedules: small immutable events, ordered by ``(at, priority, seq)``.

An event's first three fields are its place on the timeline: ``at`` (integer ms),
``priority`` (runtime actions such as faults and replies reaching clients run before
ordinary events of the same millisecond) and ``seq``, a counter, so same-time events
run in the order they were scheduled. ``seq`` is unique, so two events are never
compared beyond it: payloads are never compared. A message's ``seq`` is also its id,
carried from ``Sent`` to ``Delivered`` or ``Dropped``.

    >>> a = Deliver(10, PRIORITY_NORMAL, 3, "b", "a", "ping", None)
    >>> b = Action(10, PRIORITY_RUNTIME, 4, print)
    >>> sorted([a, b])[0] is b   # same millisecond: the runtime action first
    True

Events are named tuples, not attrs classes, for speed: the heap compares them in C, where a
frozen attrs event needs a wrapper tuple ``(at, priority, seq, event)`` and took about four
times as long to build (timeit: 585 ns against 141 ns for a named tuple).

One speed trick, where the benchmark proved it pays: a delivery, the one event made per
message, goes on the heap as a *plain* tuple with exactly :class:`Deliver`'s fields
(``Deliver._make(entry)`` reads one); every other event is its class. Deliveries as
``Deliver`` instances cost B1 11 % more instructions in the run loop (callgrind, 20,000
deliveries: 382 M against 343 M), above its 10 % budget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from replicalab.replica.base import Request
from replicalab.sim.records import Reply

__all__ = ["PRIORITY_NORMAL", "PRIORITY_RUNTIME", "Action", "ClientArrival", "Deliver", "Delivery",
           "Event", "Fire", "ReplyArrival"]

#: Runtime actions (faults, replies reaching clients) run before ordinary events of their ms.
PRIORITY_RUNTIME, PRIORITY_NORMAL = 0, 1


class Deliver(NamedTuple):
    """Message ``msg`` from ``src`` reaches ``dst``; ``causal`` is the ground truth it carries.

    On the heap a delivery is a plain tuple with these fields (see above)."""

    at: int
    priority: int
    seq: int
    dst: str
    src: str
    msg: Any
    causal: Any


class Fire(NamedTuple):
    """Timer ``timer_id`` (payload ``timer``) of ``replica`` fires, unless it was cancelled."""

    at: int
    priority: int
    seq: int
    replica: str
    timer_id: int
    timer: Any


class ClientArrival(NamedTuple):
    """``client``'s ``request`` reaches ``replica`` (unless it is down or cut off)."""

    at: int
    priority: int
    seq: int
    replica: str
    client: str
    request: Request


class ReplyArrival(NamedTuple):
    """``reply`` from ``replica`` reaches the client at ``via``: as an error if a partition cut
    that link by then (the region acted on the request; the client cannot know)."""

    at: int
    priority: int
    seq: int
    replica: str
    via: str | None
    reply: Reply
    on_reply: Callable[[Any, Reply], None] | None


class Action(NamedTuple):
    """``action(sim)`` runs: a fault, a caller's :meth:`Simulation.schedule`, a client callback."""

    at: int
    priority: int
    seq: int
    action: Callable[[Any], None]


#: A delivery as it sits on the heap: a plain tuple with :class:`Deliver`'s fields.
Delivery = tuple[int, int, int, str, str, Any, Any]

#: Everything the simulator schedules.
Event = Delivery | Fire | ClientArrival | ReplyArrival | Action
