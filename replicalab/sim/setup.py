"""Checking a simulation's configuration as a whole, before anything is built.

:func:`checked` turns :class:`~replicalab.sim.simulation.Simulation`'s arguments into a
:class:`Setup` or raises :class:`~replicalab.errors.ConfigError` (or a subclass) saying
what is wrong: caps, replicas (unique, valid ids), topology, links, clocks, epoch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError, ReplicaIdError
from replicalab.replica.base import Replica
from replicalab.sim import limits
from replicalab.sim.clock import WallClock
from replicalab.sim.links import link_overrides
from replicalab.sim.network import Link
from replicalab.sim.topology import FullMesh, validate_topology

if TYPE_CHECKING:  # networkx costs ~90 ms to import: only where a graph is built
    import networkx as nx

__all__ = ["Setup", "checked"]


@attrs.frozen
class Setup:
    """A checked configuration."""

    replicas: dict[str, Replica]
    """Replicas by id, sorted."""
    topology: nx.Graph | FullMesh
    """The graph (a :class:`FullMesh` that stores nothing per pair when none was given)."""
    link: Link
    """The default link."""
    links: dict[tuple[str, str], Link]
    """Per directed pair overrides."""
    clocks: dict[str, WallClock]
    """Wall clocks given, by replica."""


def _replica_list(replicas: Any) -> list[Any]:
    """``replicas`` as a list, or ConfigError if it is not an iterable of Replica objects."""
    if isinstance(replicas, (str, bytes, bytearray, Mapping)) or not hasattr(replicas, "__iter__"):
        raise ConfigError(f"replicas must be an iterable of Replica objects, got {_validate.shown(replicas)}")
    return list(replicas)


def checked(replicas: Any, *, topology: Any, link: Any, links: Any, clocks: Any, epoch: Any,
            allow_disconnected: bool, caps: Mapping[str, Any]) -> Setup:
    """The configuration, checked; see :class:`~replicalab.sim.simulation.Simulation`."""
    for cap, value in caps.items():
        limits.check_cap(cap, value, allow_none=cap == "max_time")
    by_id: dict[str, Replica] = {}
    for replica in _replica_list(replicas):
        if not isinstance(replica, Replica):
            raise ConfigError(f"replicas must be Replica objects, got {_validate.shown(replica)}")
        _validate.replica_id(replica.id)
        if replica.id in by_id:
            raise ReplicaIdError(f"replica id {_validate.shown(replica.id)} appears twice; ids must be unique")
        by_id[replica.id] = replica
    if not by_id:
        raise ConfigError("a simulation needs at least one replica")
    limits.check_replicas(len(by_id))
    # No topology: a full mesh that stores nothing per pair (links are made on first use),
    # so the link cap guards only topologies that do.
    graph = FullMesh(by_id) if topology is None else topology
    ids = validate_topology(graph, allow_disconnected=allow_disconnected)
    if not isinstance(graph, FullMesh):
        limits.check_links(graph.number_of_edges(), "the topology")
    if set(ids) != set(by_id):
        missing = sorted(set(by_id) - set(ids))
        extra = sorted(set(ids) - set(by_id))
        raise ReplicaIdError(
            f"topology and replicas disagree: replicas not in topology {missing}, "
            f"topology nodes without a replica {extra}"
        )
    default = Link() if link is None else link
    if not isinstance(default, Link):
        raise ConfigError(f"link must be a replicalab.sim.network.Link, got {_validate.shown(default)}")
    overrides = link_overrides(graph, links or {})
    clocks = dict(clocks or {})
    for name, clock in clocks.items():
        if name not in by_id:
            raise ReplicaIdError(f"clock given for unknown replica {_validate.shown(name)}; replicas are {ids}")
        if not isinstance(clock, WallClock):
            raise ConfigError(f"clock for {_validate.shown(name)} must be a WallClock, got {_validate.shown(clock)}")
    if type(epoch) is not int or epoch < 0:
        raise ConfigError(f"epoch must be an integer number of ms >= 0, got {_validate.shown(epoch)}")
    return Setup({i: by_id[i] for i in ids}, graph, default, overrides, clocks)
