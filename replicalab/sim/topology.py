"""Topology builders: networkx graphs whose nodes are replica ids.

Every builder returns an undirected :class:`networkx.Graph` whose nodes are
non-empty strings; an edge means the two replicas can message each other. An
edge may carry a ``link`` attribute (a :class:`~replicalab.sim.network.Link`)
to give that pair its own latency, loss or duplication.

:func:`validate_topology` is what the simulator calls at its boundary: it
refuses self-loops, malformed or duplicate ids and (unless allowed)
disconnected graphs, and returns the ids sorted.

    >>> sorted(full_mesh(["b", "a", "c"]).edges())
    [('a', 'b'), ('a', 'c'), ('b', 'c')]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from replicalab import _validate
from replicalab.errors import ConfigError, ReplicaIdError, TopologyError

if TYPE_CHECKING:  # networkx costs ~90 ms to import: only where a graph is built
    import networkx as nx

__all__ = [
    "from_edges",
    "full_mesh",
    "line",
    "ring",
    "star",
    "validate_topology",
    "watts_strogatz",
]


def _listed(ids: Any, what: str = "ids") -> list[Any]:
    """``ids`` as a list, or ConfigError if it is not an iterable of replica ids."""
    if isinstance(ids, str):
        raise ConfigError(
            f"pass a list of replica ids, not the string {_validate.shown(ids)} (it would make one replica per letter)"
        )
    if isinstance(ids, (bytes, bytearray)) or not hasattr(ids, "__iter__"):
        raise ConfigError(f"{what} must be an iterable of replica ids, got {_validate.shown(ids)}")
    return list(ids)


def _ids(ids: Iterable[str]) -> list[str]:
    ids = _listed(ids)
    out = [_validate.replica_id(i) for i in ids]
    seen: set[str] = set()
    for replica in out:
        if replica in seen:
            raise ReplicaIdError(f"replica id {_validate.shown(replica)} appears twice; ids must be unique")
        seen.add(replica)
    return sorted(out)


class FullMesh:
    """Every pair of replicas linked — implied, not stored: what a simulation uses when given
    no topology.

    A full mesh of n replicas has n(n - 1) / 2 links. Nothing is kept per pair: the simulator
    asks whether two replicas are linked (always, if both exist) and makes a link's state and
    random stream only when the link first carries something, so building the mesh costs
    memory linear in the replicas. It answers the few questions the simulator asks of a
    graph (``nodes``, ``has_edge``, ``neighbors``, ``edges``, ``number_of_edges``);
    :func:`full_mesh` builds the same mesh as a networkx graph, for drawing or analysis.
    """

    def __init__(self, ids: Iterable[str]) -> None:
        self.nodes: tuple[str, ...] = tuple(_ids(ids))
        self._members = frozenset(self.nodes)

    def has_edge(self, a: object, b: object) -> bool:
        return a != b and a in self._members and b in self._members

    def neighbors(self, replica: str) -> Iterator[str]:
        return (other for other in self.nodes if other != replica)

    def edges(self, data: bool = False) -> Iterator[Any]:
        for i, a in enumerate(self.nodes):
            for b in self.nodes[i + 1:]:
                yield (a, b, {}) if data else (a, b)

    def number_of_nodes(self) -> int:
        return len(self.nodes)

    def number_of_edges(self) -> int:
        return len(self.nodes) * (len(self.nodes) - 1) // 2

    def __repr__(self) -> str:
        return f"FullMesh({list(self.nodes)!r})"


def full_mesh(ids: Iterable[str]) -> nx.Graph:
    """Every pair of replicas linked (how a global table's regions replicate)."""
    import networkx as nx
    nodes = _ids(ids)
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((a, b) for i, a in enumerate(nodes) for b in nodes[i + 1 :])
    return graph


def ring(ids: Iterable[str]) -> nx.Graph:
    """Each replica linked to the next, the last to the first (ids in the order given)."""
    import networkx as nx
    nodes = _listed(ids)
    _ids(nodes)
    if len(nodes) < 3:
        raise TopologyError(f"a ring needs at least 3 replicas, got {len(nodes)}")
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(zip(nodes, nodes[1:] + nodes[:1], strict=False))
    return graph


def line(ids: Iterable[str]) -> nx.Graph:
    """A chain: each replica linked to the next (ids in the order given)."""
    import networkx as nx
    nodes = _listed(ids)
    _ids(nodes)
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(zip(nodes, nodes[1:], strict=False))
    return graph


def star(center: str, leaves: Iterable[str]) -> nx.Graph:
    """``center`` linked to every leaf; leaves only reach each other through it."""
    import networkx as nx
    leaves = _listed(leaves, "leaves")
    _ids([center, *leaves])
    graph = nx.Graph()
    graph.add_nodes_from([center, *leaves])
    graph.add_edges_from((center, leaf) for leaf in leaves)
    return graph


def watts_strogatz(n: int, k: int, p: float, *, seed: int, prefix: str = "n") -> nx.Graph:
    """A connected small-world graph (networkx ``connected_watts_strogatz_graph``).

    Nodes are named ``prefix`` plus a zero-padded index so they sort in index order.
    """
    import networkx as nx
    if type(n) is not int or n < 3:
        raise TopologyError(f"watts_strogatz needs n >= 3 replicas, got {_validate.shown(n)}")
    if type(k) is not int or not 2 <= k < n:
        raise TopologyError(f"watts_strogatz needs 2 <= k < n neighbours, got k={_validate.shown(k)}")
    _validate.probability(p, "rewiring probability p")
    if type(seed) is not int:
        raise ConfigError(f"seed must be an integer, got {_validate.shown(seed)}")
    base = nx.connected_watts_strogatz_graph(n, k, p, seed=seed)
    width = len(str(n - 1))
    return nx.relabel_nodes(base, {i: f"{prefix}{i:0{width}d}" for i in base.nodes})


def from_edges(edges: Iterable[tuple[str, str]], nodes: Iterable[str] = ()) -> nx.Graph:
    """A graph from explicit ``(a, b)`` pairs (plus isolated ``nodes``), validated."""
    import networkx as nx
    edges = _listed(edges, "edges")
    for edge in edges:
        if not isinstance(edge, (tuple, list)) or len(edge) != 2:
            raise TopologyError(f"an edge is a pair of replica ids, got {_validate.shown(edge)}")
    nodes = _listed(nodes, "nodes")
    for replica in [*nodes, *(i for edge in edges for i in edge)]:
        _validate.replica_id(replica)
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    validate_topology(graph, allow_disconnected=True)
    return graph


def validate_topology(graph: object, *, allow_disconnected: bool = False) -> list[str]:
    """Check a topology and return its replica ids, sorted.

    Raises :class:`ReplicaIdError` for ids that are not non-empty strings and
    :class:`TopologyError` for a graph that is not an undirected networkx graph,
    is empty, has a self-loop, or (unless ``allow_disconnected``) is disconnected.
    """
    if isinstance(graph, FullMesh):
        if not graph.nodes:
            raise TopologyError("topology has no replicas")
        return list(graph.nodes)  # validated when it was made; connected by definition
    import networkx as nx
    if not isinstance(graph, nx.Graph) or graph.is_directed() or graph.is_multigraph():
        raise TopologyError(
            f"topology must be an undirected networkx.Graph, got {type(graph).__name__}; "
            "build one with replicalab.sim.topology.full_mesh(...)"
        )
    if graph.number_of_nodes() == 0:
        raise TopologyError("topology has no replicas")
    ids = _ids(graph.nodes)
    loops = sorted(a for a, b in nx.selfloop_edges(graph))
    if loops:
        raise TopologyError(f"topology has a self-loop at {_validate.shown(loops[0])}; a replica needs no link to itself")
    if not allow_disconnected and not nx.is_connected(graph):
        parts = sorted(sorted(c) for c in nx.connected_components(graph))
        raise TopologyError(
            f"topology is disconnected into {len(parts)} parts {parts}; "
            "link them, or pass allow_disconnected=True"
        )
    return ids
