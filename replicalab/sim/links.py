"""Each replica's links: their state (loss, duplication, latency draws) and the implied full mesh.

A :class:`LinkState` is one directed link. A replica's links (:class:`MeshLinks`) are made
when first used, on any topology. With no topology given, the simulation is a
:class:`~replicalab.sim.topology.FullMesh` that stores nothing per pair, and a replica's
peers (:class:`MeshPeers`) are a view, not a copy per replica.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from replicalab import _validate
from replicalab.errors import ConfigError, TopologyError
from replicalab.sim.network import Link
from replicalab.sim.rng import RandomStreams
from replicalab.sim.topology import FullMesh

if TYPE_CHECKING:  # networkx costs ~90 ms to import: only where a graph is built
    import networkx as nx

__all__ = ["LinkState", "MeshLinks", "MeshPeers", "link_overrides", "replica_links"]


class LinkState:
    """One directed link: its loss, duplication and latency draws, all from the one stream
    ``link:src->dst`` (a bare :meth:`~replicalab.sim.rng.RandomStreams.generator`: a send
    calls ``rng.random()`` for its loss draw, which CPython 3.11 specializes on it).

    A link state, and so its stream (about 2.5 KB), is made when the link is first used
    (:class:`MeshLinks`), not when the simulation is built: a full mesh of n replicas has
    n(n - 1) directed links and most may never carry a message. Streams are derived from
    their names, so making one late gives exactly the same draws as making it early.
    """

    __slots__ = ("sample", "loss", "duplicate", "rng")

    def __init__(self, link: Link, streams: RandomStreams, src: str, dst: str) -> None:
        self.rng = streams.generator(f"link:{src}->{dst}")
        self.sample: Callable[[], int] = link.latency.sampler(self.rng)
        self.loss = link.loss
        self.duplicate = link.duplicate


class MeshLinks(dict[str, LinkState]):
    """One replica's links (in a :class:`FullMesh` or a graph), each made when it is first used."""

    __slots__ = ("_make", "_replica", "_mesh")

    def __init__(self, make: Callable[[str, str], LinkState], replica: str,
                 mesh: nx.Graph | FullMesh) -> None:
        super().__init__()
        self._make, self._replica, self._mesh = make, replica, mesh

    def get(self, dst: Any, default: Any = None) -> Any:
        state = dict.get(self, dst)
        if state is None and isinstance(dst, str) and self._mesh.has_edge(self._replica, dst):
            state = self[dst] = self._make(self._replica, dst)
        return default if state is None else state

    def __missing__(self, dst: Any) -> LinkState:
        state = self.get(dst)
        if state is None:
            raise KeyError(dst)
        return state


class MeshPeers(Sequence[str]):
    """A replica's peers in a full mesh: every id but its own, sorted — without a copy each."""

    __slots__ = ("_ids", "_me")

    def __init__(self, ids: tuple[str, ...], me: int) -> None:
        self._ids, self._me = ids, me

    def __len__(self) -> int:
        return len(self._ids) - 1

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return tuple(self)[i]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("peer index out of range")
        return self._ids[i if i < self._me else i + 1]

    def __iter__(self) -> Iterator[str]:
        return (p for i, p in enumerate(self._ids) if i != self._me)

    def __contains__(self, peer: object) -> bool:
        return peer != self._ids[self._me] and peer in self._ids

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, Sequence) else other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


def link_overrides(graph: nx.Graph | FullMesh,
                   links: Mapping[tuple[str, str], Link]) -> dict[tuple[str, str], Link]:
    """``{(src, dst): Link}`` from edge attributes ``link`` and ``links`` (``(a, b)`` also sets
    ``b -> a`` unless ``(b, a)`` is given too), after checking every pair is an edge."""
    out: dict[tuple[str, str], Link] = {}
    edges = () if isinstance(graph, FullMesh) else graph.edges(data=True)  # a mesh has no data
    for a, b, data in edges:
        if "link" in data:
            out[(a, b)] = out[(b, a)] = data["link"]
    for pair, link in links.items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TopologyError(f"links keys are (a, b) pairs of replica ids, got {_validate.shown(pair)}")
        for replica in pair:
            _validate.replica_id(replica, "replica id in links")
        if not graph.has_edge(*pair):
            raise TopologyError(f"links names {_validate.shown(pair)}, which is not an edge of the topology")
        if not isinstance(link, Link):
            raise ConfigError(f"links[{_validate.shown(pair)}] must be a Link, got {_validate.shown(link)}")
    for (a, b), link in links.items():
        out[(a, b)] = link
        if (b, a) not in links:
            out[(b, a)] = link
    return out


def replica_links(graph: nx.Graph | FullMesh, replica: str, index: int,
                  make: Callable[[str, str], LinkState]) -> tuple[dict[str, LinkState], Sequence[str]]:
    """``replica``'s links (each made on first use) and its peers, sorted; ``index``
    is its place among the sorted replica ids."""
    if isinstance(graph, FullMesh):
        return MeshLinks(make, replica, graph), MeshPeers(graph.nodes, index)
    # Links on a graph are made on first use too: a dense graph of n replicas would
    # otherwise build ~n^2 link states (200 MB and 4 s at 1,000 replicas) before step one.
    return MeshLinks(make, replica, graph), tuple(sorted(graph.neighbors(replica)))
