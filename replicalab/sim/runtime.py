"""The simulation as a fault sees it (:class:`replicalab.sim.faults.Runtime`), and no more.

Faults apply themselves through these verbs: cut and heal links, change a link, crash and
restart a replica, read and set a wall clock's skew, record a trace event. A replica that
restarts without its state comes back as ``recover(identity)`` under a new causal identity
(``eu-west-1~2``), and ground truth forgets what it held.
"""

from __future__ import annotations

from typing import Any

import attrs

from replicalab.errors import ConfigError
from replicalab.replica.base import Replica

#: The simulation (replicalab.sim.simulation imports this module, so it is not imported here).
Simulation = Any

__all__ = ["SimRuntime", "replica_incarnation"]


def replica_incarnation(identity: str) -> int:
    """1 for ``eu-west-1``; n for ``eu-west-1~n`` (a replica that lost its state n - 1 times)."""
    _, sep, n = identity.rpartition("~")
    return int(n) if sep and n.isdigit() else 1


class SimRuntime:
    """What a fault may do to a simulation, and no more."""

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
        self._sim._sync_cuts()

    def heal_links(self) -> None:
        self._sim._cut.clear()
        self._sim._sync_cuts()

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
        self._sim._crashed_at[replica] = self._sim.now
        # Its timers die with it: none fires after a restart, durable or not.
        pending = self._sim._pending_timers
        for timer_id in [t for t, owner in pending.items() if owner == replica]:
            del pending[timer_id]

    def restart(self, replica_id: str) -> None:
        """Bring a crashed replica back: with its state, or empty under a new causal identity."""
        sim = self._sim
        sim._down.discard(replica_id)
        durable = sim._durable.pop(replica_id, True)
        sim._crashed_at.pop(replica_id, None)
        replica = sim._replicas[replica_id]
        if not durable:
            incarnation = replica_incarnation(sim._identity.get(replica_id, replica_id)) + 1
            identity = f"{replica_id}~{incarnation}"
            replica = replica.recover(identity)
            if not isinstance(replica, Replica) or replica.id != replica_id:
                raise ConfigError(f"{type(replica).__name__}.recover must return a fresh {replica_id}")
            sim._identity[replica_id] = identity
            sim._replicas[replica_id] = replica
            sim._handlers[replica_id] = replica.on_message
            sim._contexts[replica_id]._on_message = replica.on_message
            sim._truth.forget(replica_id)  # ground truth: it no longer holds anything it had
        self.record("Restarted", replica_id,
                    {"durable": durable, "identity": sim._identity.get(replica_id, replica_id)})
        replica.on_start(sim._contexts[replica_id])

    def skew(self, replica: str) -> int:
        return self._sim._contexts[replica]._clock.skew

    def set_skew(self, replica: str, skew: int) -> None:
        ctx = self._sim._contexts[replica]
        ctx._clock = attrs.evolve(ctx._clock, skew=skew)
