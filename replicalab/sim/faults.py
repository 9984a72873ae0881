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

from collections.abc import Collection, Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

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

    def apply(self, rt: Runtime) -> None:
        """Apply this fault to a running simulation (the simulator calls it at ``at``)."""
        _check_runtime(rt)
        groups = [set(g) for g in self.groups]
        rest = set(rt.replica_ids) - set().union(*groups) - set(self.bridges)
        if rest:
            groups.append(rest)
        cut = {(a, b) for i, left in enumerate(groups) for right in groups[i + 1:]
               for a in left for b in right}
        rt.cut_links(cut | {(b, a) for a, b in cut})
        rt.record("Partitioned", None, {"groups": [sorted(g) for g in groups],
                                        "bridges": list(self.bridges)})


@attrs.frozen
class OneWayCut:
    """From ``at`` on, messages from ``src`` to ``dst`` are dropped; the reverse direction works."""

    at: int
    src: str
    dst: str

    def apply(self, rt: Runtime) -> None:
        """Apply this fault to a running simulation (the simulator calls it at ``at``)."""
        _check_runtime(rt)
        rt.cut_links({(self.src, self.dst)})
        rt.record("Partitioned", None, {"one_way": [self.src, self.dst]})


@attrs.frozen
class Heal:
    """At ``at``, every partition and one-way cut ends."""

    at: int

    def apply(self, rt: Runtime) -> None:
        """Apply this fault to a running simulation (the simulator calls it at ``at``)."""
        _check_runtime(rt)
        rt.heal_links()
        rt.record("Healed", None, {})


@attrs.frozen
class LinkChange:
    """From ``at`` on, link ``a``–``b`` (both directions) gets new loss, duplication or latency."""

    at: int
    a: str
    b: str
    loss: float | None = None
    duplicate: float | None = None
    latency: Latency | None = None

    def apply(self, rt: Runtime) -> None:
        """Apply this fault to a running simulation (the simulator calls it at ``at``)."""
        _check_runtime(rt)
        for src, dst in ((self.a, self.b), (self.b, self.a)):
            rt.change_link(src, dst, self.loss, self.duplicate, self.latency)
        rt.record("LinkChanged", None, {"link": [self.a, self.b], "loss": self.loss,
                                        "duplicate": self.duplicate})


@attrs.frozen
class Crash:
    """At ``at``, ``replica`` goes down; ``durable`` says whether its state survives."""

    at: int
    replica: str
    durable: bool = True

    def apply(self, rt: Runtime) -> None:
        """Apply this fault to a running simulation (the simulator calls it at ``at``)."""
        _check_runtime(rt)
        rt.crash(self.replica, self.durable)
        rt.record("Crashed", self.replica, {"durable": self.durable})


@attrs.frozen
class Restart:
    """At ``at``, a crashed ``replica`` comes back (empty, under a new identity, if it lost its state)."""

    at: int
    replica: str

    def apply(self, rt: Runtime) -> None:
        """Apply this fault to a running simulation (the simulator calls it at ``at``)."""
        _check_runtime(rt)
        rt.restart(self.replica)


@attrs.frozen
class ClockSkew:
    """From ``at`` on, ``replica``'s wall clock is off by ``skew`` ms."""

    at: int
    replica: str
    skew: int

    def apply(self, rt: Runtime) -> None:
        """Apply this fault to a running simulation (the simulator calls it at ``at``)."""
        _check_runtime(rt)
        rt.set_skew(self.replica, self.skew)
        rt.record("ClockChanged", self.replica, {"skew": self.skew})


@attrs.frozen
class ClockBump:
    """At ``at``, ``replica``'s wall clock jumps by ``by`` ms (negative: backwards)."""

    at: int
    replica: str
    by: int

    def apply(self, rt: Runtime) -> None:
        """Apply this fault to a running simulation (the simulator calls it at ``at``)."""
        _check_runtime(rt)
        skew = rt.skew(self.replica) + self.by
        rt.set_skew(self.replica, skew)
        rt.record("ClockChanged", self.replica, {"skew": skew})


Fault = Partition | OneWayCut | Heal | LinkChange | Crash | Restart | ClockSkew | ClockBump

#: Every kind of fault.
FAULT_TYPES = (Partition, OneWayCut, Heal, LinkChange, Crash, Restart, ClockSkew, ClockBump)


@runtime_checkable
class Runtime(Protocol):
    """What a fault acts on: the simulator, seen only through these verbs. Faults are applied
    by :meth:`Simulation.add_faults <replicalab.sim.simulation.Simulation.add_faults>`."""

    @property
    def replica_ids(self) -> tuple[str, ...]: ...

    def record(self, kind: str, replica: str | None, data: dict[str, Any]) -> None: ...

    def cut_links(self, pairs: set[tuple[str, str]]) -> None: ...

    def heal_links(self) -> None: ...

    def change_link(self, src: str, dst: str, loss: float | None, duplicate: float | None,
                    latency: Latency | None) -> None: ...

    def crash(self, replica: str, durable: bool) -> None: ...

    def restart(self, replica: str) -> None: ...

    def skew(self, replica: str) -> int: ...

    def set_skew(self, replica: str, skew: int) -> None: ...


def _named(fault: Fault) -> list[str]:
    if isinstance(fault, Partition):
        return [r for g in fault.groups for r in g] + list(fault.bridges)
    if isinstance(fault, OneWayCut):
        return [fault.src, fault.dst]
    if isinstance(fault, LinkChange):
        return [fault.a, fault.b]
    if isinstance(fault, Heal):
        return []
    return [fault.replica]


def check_schedule(faults: Any, now: int, replicas: Collection[str], topology: Any,
                   partitioned: bool, down: set[str]) -> list[Fault]:
    """The faults, sorted by time, after checking the schedule as a whole.

    Raises :class:`FaultScheduleError` for a fault at a negative or past time, on an
    unknown replica or link, a heal with no partition active, a crash of a replica that
    is down, a restart of one that is up, or a replica given to two partition groups.
    """
    if isinstance(faults, (str, bytes, bytearray, Mapping)) or not hasattr(faults, "__iter__"):
        raise FaultScheduleError(f"add_faults takes an iterable of faults, got {_validate.shown(faults)}")
    faults = list(faults)
    for fault in faults:
        if not isinstance(fault, FAULT_TYPES):
            raise FaultScheduleError(f"not a fault: {_validate.shown(fault)}; see replicalab.sim.faults")
        if type(fault.at) is not int:
            raise FaultScheduleError(f"{_validate.shown(fault)}: faults need an integer time")
    faults.sort(key=lambda f: f.at)
    down = set(down)
    for fault in faults:
        if type(fault.at) is not int or fault.at < now:
            raise FaultScheduleError(
                f"{type(fault).__name__} at {_validate.shown(fault.at)}: faults need an integer time >= now ({now})")
        for replica in _named(fault):
            if replica not in replicas:
                raise FaultScheduleError(
                    f"{type(fault).__name__} names unknown replica {_validate.shown(replica)}; "
                    f"replicas are {sorted(replicas)}")
        if isinstance(fault, Partition):
            named = [r for g in fault.groups for r in g] + list(fault.bridges)
            if len(named) != len(set(named)):
                raise FaultScheduleError(f"a replica appears twice in {_validate.shown(fault)}")
            partitioned = True
        elif isinstance(fault, OneWayCut):
            partitioned = True
        elif isinstance(fault, Heal):
            if not partitioned:
                raise FaultScheduleError(f"Heal at {fault.at} but no partition is active then")
            partitioned = False
        elif isinstance(fault, LinkChange):
            if not topology.has_edge(fault.a, fault.b):
                raise FaultScheduleError(f"LinkChange names {_validate.shown(fault.a)}-{_validate.shown(fault.b)}, which is not a link")
            for name in ("loss", "duplicate"):
                value = getattr(fault, name)
                if value is not None and (isinstance(value, bool) or not isinstance(
                        value, (int, float)) or not 0 <= value <= 1):
                    raise FaultScheduleError(
                        f"LinkChange {name} must be a probability in [0, 1], got {_validate.shown(value)}")
        elif isinstance(fault, Crash):
            if fault.replica in down:
                raise FaultScheduleError(f"Crash of {fault.replica} at {fault.at}: it is already down")
            down.add(fault.replica)
        elif isinstance(fault, Restart):
            if fault.replica not in down:
                raise FaultScheduleError(f"Restart of {fault.replica} at {fault.at}: it is not down")
            down.discard(fault.replica)
        elif isinstance(fault, (ClockSkew, ClockBump)):
            amount = fault.skew if isinstance(fault, ClockSkew) else fault.by
            if type(amount) is not int:
                raise FaultScheduleError(f"{_validate.shown(fault)}: clock changes are integer ms")
    return faults


def _check_runtime(rt: Any) -> None:
    if not isinstance(rt, Runtime):
        raise FaultScheduleError(
            f"a fault applies itself to the simulator's runtime, got {_validate.shown(rt)}; "
            "schedule faults with Simulation.add_faults")
