"""What a simulation lets you read: replicas, trace, ground truth, replies, counters, faults.

:class:`SimulationView` is the read-only half of
:class:`~replicalab.sim.simulation.Simulation` (its base class); nothing here changes a run.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from replicalab import _validate
from replicalab.clocks import VectorClock
from replicalab.errors import ReplicaIdError
from replicalab.replica.base import Replica
from replicalab.sim.ground_truth import EMPTY, GroundTruth, WriteFact
from replicalab.sim.records import FailedRequest, Reply, Statistics
from replicalab.trace import Trace

if TYPE_CHECKING:  # networkx costs ~90 ms to import: only where a graph is built
    pass

__all__ = ["SimulationView"]


class SimulationView:
    """Reading a simulation (the attributes are set by ``Simulation.__init__``)."""

    now: int
    topology: Any
    _replicas: dict[str, Replica]
    _trace: Trace | None
    _truth: GroundTruth
    _clients: Any
    _heap: list[Any]
    _queued: int
    _cut: set[tuple[str, str]]
    _down: set[str]
    _durable: dict[str, bool]
    _crashed_at: dict[str, int]
    _events: int
    _seq: int
    _scheduled: int
    _delivered: int
    _running: tuple[Any, int] | None
    _skipped: int
    _dropped: int
    _duplicated: int
    _timers: int
    _client_requests: int

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
        return dict(self._clients.failed)

    @property
    def replies(self) -> list[Reply]:
        """Every reply sent to a client, in order."""
        return list(self._clients.replies)

    def knowledge(self, replica_id: str, scope: Hashable) -> VectorClock:
        """Ground truth: the writes on ``scope`` whose effects have reached ``replica_id``."""
        self.replica(replica_id)
        try:
            return self._truth.knowledge.get((replica_id, scope), EMPTY)
        except TypeError:
            raise _validate.unhashable(scope, "scope (an item key)") from None

    def statistics(self) -> Statistics:
        """A frozen snapshot of the run's counters (asked from a handler: as of that event)."""
        events, delivered = self._events, self._delivered
        if self._running is not None:  # asked during run(), which adds its counts when it ends
            ticks, limit = self._running
            processed = limit - ticks.__length_hint__()  # this event included
            events += processed
            delivered += processed - self._skipped
        return Statistics(
            now=self.now, events=events, delivered=delivered,
            # every seq taken is a message sent, a duplicate or a scheduled event
            sent=self._seq - self._scheduled - self._duplicated,
            dropped=self._dropped, duplicated=self._duplicated, timers_fired=self._timers,
            client_requests=self._client_requests, pending=len(self._heap) + self._queued,
        )

    @property
    def partitioned(self) -> bool:
        """True while some link is cut by a partition."""
        return bool(self._cut)

    @property
    def down(self) -> tuple[str, ...]:
        """The replicas that are crashed right now, sorted."""
        return tuple(sorted(self._down))

    @property
    def state_lost(self) -> dict[str, int]:
        """``{replica: when it crashed}`` for the replicas down right now *without* their state
        (``Crash(durable=False)``), sorted by replica.

        Their memory is gone: until a :class:`~replicalab.sim.faults.Restart` brings one back
        empty, what its replica object still holds is not state the system has (a result shows
        such a replica holding nothing, and judges convergence without it). A replica down
        with its state (``durable=True``) is not here: its disk still holds what it had."""
        return {r: self._crashed_at[r] for r in sorted(self._down) if not self._durable.get(r, True)}

    def components(self) -> list[list[str]]:
        """The groups of replicas that can currently reach each other (both ways), sorted."""
        import networkx as nx
        graph = nx.Graph()
        graph.add_nodes_from(r for r in self._replicas if r not in self._down)
        graph.add_edges_from((a, b) for a, b in self.topology.edges()
                             if a not in self._down and b not in self._down
                             and (a, b) not in self._cut and (b, a) not in self._cut)
        return sorted(sorted(c) for c in nx.connected_components(graph))
