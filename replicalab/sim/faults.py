"""Faults as data on the timeline: partitions, heals, link changes, crashes, clock trouble.

A fault is a frozen value with a time ``at`` (simulated ms). Give a list of them
to :meth:`Simulation.add_faults <replicalab.sim.simulation.Simulation.add_faults>`,
which validates the whole schedule first (nothing is scheduled if any fault is
wrong) and then applies each one at its time, before the ordinary events of
that millisecond, recording a past-tense trace event (``Partitioned``,
``Healed``, ``LinkChanged``, ``Crashed``, ``Restarted``, ``ClockChanged``).

Semantics:

* **Partition** cuts every link between different groups; a message whose link
  is cut when it would be delivered is dropped (so messages in flight are lost
  too). Shapes: :meth:`Partition.isolate`, :meth:`Partition.split`,
  :meth:`Partition.bridge` (one replica still talks to both sides) and
  :class:`OneWayCut` (an asymmetric partition: ``src -> dst`` only).
* **Heal** restores every cut link. Healing with no partition active is an error.
* **LinkChange** sets a link's loss, duplication or latency from then on.
* **Crash** takes a replica down: messages, timers and client requests addressed
  to it are dropped. ``durable=True`` keeps its state (what it acknowledged was
  in its log); ``durable=False`` loses it, and on :class:`Restart` the replica
  comes back empty under a *new causal identity* (``eu-west-1~2``), never its
  old one, so its new writes cannot be confused with the ones it lost.
* **ClockSkew** sets a replica's wall-clock skew; **ClockBump** moves it by ``by`` ms.

    >>> Partition.isolate(100, "eu-west-1", ["ap-southeast-2", "eu-west-1", "us-east-1"]).groups
    (('eu-west-1',), ('ap-southeast-2', 'us-east-1'))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import FaultScheduleError
from replicalab.sim.network import Latency

__all__ = [
    "ClockBump",
    "ClockSkew",
    "Crash",
    "Fault",
    "Heal",
    "LinkChange",
    "OneWayCut",
    "Partition",
    "Restart",
]


def _listed(value: Any, what: str) -> list[Any]:
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not hasattr(value, "__iter__"):
        raise FaultScheduleError(f"{what} must be a list of replica ids, got {_validate.shown(value)}")
    return list(value)


def _ids(value: Any, what: str) -> tuple[str, ...]:
    """Sorted replica ids, or an error naming ``what`` (a string is refused: it is not a list)."""
    return tuple(sorted(_validate.replica_id(r, f"replica id in {what}") for r in _listed(value, what)))


@attrs.frozen
class Partition:
    """From ``at`` on, replicas in different ``groups`` cannot reach each other.

    Replicas in no group form one more group together; ``bridges`` reach every group.
    """

    at: int
    groups: tuple[tuple[str, ...], ...] = attrs.field(
        converter=lambda gs: tuple(_ids(g, "a partition group") for g in _listed(gs, "groups"))
    )
    bridges: tuple[str, ...] = attrs.field(default=(), converter=lambda b: _ids(b, "bridges"))

    @classmethod
    def isolate(cls, at: int, replica: str, replicas: Iterable[str]) -> Partition:
        """``replica`` alone on one side, everyone else on the other."""
        _validate.replica_id(replica)
        rest = sorted(r for r in _ids(replicas, "replicas") if r != replica)
        return cls(at, ((replica,), tuple(rest)))

    @classmethod
    def split(cls, at: int, side: Iterable[str], replicas: Iterable[str]) -> Partition:
        """``side`` against everyone else (e.g. a minority against a majority)."""
        side = list(_ids(side, "side"))
        return cls(at, (tuple(side), tuple(sorted(r for r in _ids(replicas, "replicas") if r not in side))))

    @classmethod
    def bridge(cls, at: int, bridge: str, left: Iterable[str], right: Iterable[str]) -> Partition:
        """``left`` and ``right`` cut from each other, ``bridge`` still talking to both."""
        _validate.replica_id(bridge, "bridge")
        return cls(at, (_ids(left, "left"), _ids(right, "right")), (bridge,))


@attrs.frozen
class OneWayCut:
    """From ``at`` on, messages from ``src`` to ``dst`` are dropped; the reverse direction works."""

    at: int
    src: str
    dst: str


@attrs.frozen
class Heal:
    """At ``at``, every partition and one-way cut ends."""

    at: int


@attrs.frozen
class LinkChange:
    """From ``at`` on, link ``a``–``b`` (both directions) gets new loss, duplication or latency."""

    at: int
    a: str
    b: str
    loss: float | None = None
    duplicate: float | None = None
    latency: Latency | None = None


@attrs.frozen
class Crash:
    """At ``at``, ``replica`` goes down; ``durable`` says whether its state survives."""

    at: int
    replica: str
    durable: bool = True


@attrs.frozen
class Restart:
    """At ``at``, a crashed ``replica`` comes back (empty, under a new identity, if it lost its state)."""

    at: int
    replica: str


@attrs.frozen
class ClockSkew:
    """From ``at`` on, ``replica``'s wall clock is off by ``skew`` ms."""

    at: int
    replica: str
    skew: int


@attrs.frozen
class ClockBump:
    """At ``at``, ``replica``'s wall clock jumps by ``by`` ms (negative: backwards)."""

    at: int
    replica: str
    by: int


Fault = Partition | OneWayCut | Heal | LinkChange | Crash | Restart | ClockSkew | ClockBump
