"""The simulator: time, randomness and delivery. Only this package knows about them.

* :class:`Simulation` — the event loop and runtime for sans-I/O replicas.
* :mod:`~replicalab.sim.network` — latency distributions and :class:`Link`.
* :mod:`~replicalab.sim.topology` — graph builders and validation.
* :mod:`~replicalab.sim.rng` — seeded, named random streams.
* :class:`WallClock` — per-replica wall clocks with skew and drift.
* :mod:`~replicalab.sim.limits` — the hard caps (replicas, links, events, pending events,
  trace records, simulated time) and how to raise them.
"""

from replicalab.sim.clock import WallClock
from replicalab.sim.network import Constant, Exponential, Link, Uniform
from replicalab.sim.rng import RandomStreams
from replicalab.sim.simulation import Reply, Simulation, Statistics, WriteFact
from replicalab.sim.topology import (
    from_edges,
    full_mesh,
    line,
    ring,
    star,
    validate_topology,
    watts_strogatz,
)

__all__ = [
    "Constant",
    "Exponential",
    "Link",
    "RandomStreams",
    "Reply",
    "Simulation",
    "Statistics",
    "Uniform",
    "WallClock",
    "WriteFact",
    "from_edges",
    "full_mesh",
    "line",
    "ring",
    "star",
    "validate_topology",
    "watts_strogatz",
]
