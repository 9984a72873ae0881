"""The gossip exercise's topologies: checking a check's ``topologies`` entries, and building them.

A topology is a small table in the exercise's TOML (``{ graph = "ring", n = 12 }``);
:func:`check_topology` says what is valid, :func:`build_graph` draws the graph
(random ones from the check's seed) with replicas named ``n0``, ``n1``, ...
Split from :mod:`replicalab.exercises.kinds.replica`, the check kind that runs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx

from replicalab._validate import shown
from replicalab.errors import ConfigError
from replicalab.exercises.kinds.common import is_int
from replicalab.sim import topology as topologies
from replicalab.sim.rng import RandomStreams

__all__ = ["build_graph", "check_bool", "check_latency", "check_probability", "check_topology",
           "describe_graph"]


_GRAPH_KEYS: dict[str, dict[str, tuple[int, int] | None]] = {
    # graph -> {key: (min, max) for integers, None for the probability p}
    "full-mesh": {"n": (2, 64)},
    "ring": {"n": (3, 64)},
    "line": {"n": (2, 64)},
    "watts-strogatz": {"n": (4, 64), "k": (2, 16), "p": None},
    "random-regular": {"n": (4, 64), "d": (2, 16)},
}


def check_topology(value: Any, key: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{shown(key)} must be a table like {{ graph = \"full-mesh\", n = 16 }}, "
                          f"got {shown(value)}")
    graph = value.get("graph")
    if graph not in _GRAPH_KEYS:
        raise ConfigError(f"{key}.graph must be one of {sorted(_GRAPH_KEYS)}, got {shown(graph)}")
    allowed = _GRAPH_KEYS[graph]
    unknown = sorted(set(value) - set(allowed) - {"graph"})
    missing = sorted(set(allowed) - set(value))
    if unknown or missing:
        raise ConfigError(f"{key}: a {graph} graph takes exactly {sorted(allowed)}; "
                          f"unknown {unknown}, missing {missing}")
    for name, bounds in allowed.items():
        got = value[name]
        if bounds is None:
            if isinstance(got, bool) or not isinstance(got, (int, float)) or not 0 <= got <= 1:
                raise ConfigError(f"{key}.{name} must be a probability in [0, 1], got {shown(got)}")
        else:
            is_int(*bounds)(got, f"{key}.{name}")
    if graph == "watts-strogatz" and not value["k"] < value["n"]:
        raise ConfigError(f"{key}: watts-strogatz needs k < n")
    if graph == "random-regular" and (value["d"] >= value["n"] or value["n"] * value["d"] % 2):
        raise ConfigError(f"{key}: random-regular needs d < n and n * d even")


def check_probability(value: Any, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(f"{shown(key)} must be a probability in [0, 1), got {shown(value)}")


def check_latency(value: Any, key: str) -> None:
    if (not isinstance(value, list) or len(value) != 2
            or not all(type(v) is int and 0 <= v <= 10_000 for v in value) or value[0] > value[1]):
        raise ConfigError(f"{shown(key)} must be [low, high] in whole ms, low <= high, got {shown(value)}")


def check_bool(value: Any, key: str) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{shown(key)} must be true or false, got {shown(value)}")




def _names(n: int) -> list[str]:
    width = len(str(n - 1))
    return [f"n{i:0{width}d}" for i in range(n)]


def build_graph(spec: Mapping[str, Any], seed: int) -> nx.Graph:
    """The topology ``spec`` describes (random graphs drawn from ``seed``), replicas ``n00``...

        >>> sorted(build_graph({"graph": "ring", "n": 4}, seed=0).edges())
        [('n0', 'n1'), ('n0', 'n3'), ('n1', 'n2'), ('n2', 'n3')]
    """
    check_topology(dict(spec), "topology")
    graph, n = spec["graph"], spec["n"]
    if graph == "full-mesh":
        return topologies.full_mesh(_names(n))
    if graph == "ring":
        return topologies.ring(_names(n))
    if graph == "line":
        return topologies.line(_names(n))
    draw = RandomStreams(seed).stream("exercise:topology")
    if graph == "watts-strogatz":
        return topologies.watts_strogatz(n, spec["k"], float(spec["p"]),
                                         seed=int(draw.random() * 2**31))
    names = dict(enumerate(_names(n)))
    for _ in range(100):
        g = nx.random_regular_graph(spec["d"], n, seed=int(draw.random() * 2**31))
        if nx.is_connected(g):
            return nx.relabel_nodes(g, names)
    raise ConfigError(f"no connected random {spec['d']}-regular graph of {n} in 100 draws")


def describe_graph(spec: Mapping[str, Any]) -> str:
    """``{"graph": "ring", "n": 12}`` as words: ``ring of 12``."""
    graph, n = spec["graph"], spec["n"]
    if graph == "full-mesh":
        return f"full mesh of {n}"
    if graph == "ring":
        return f"ring of {n}"
    if graph == "line":
        return f"chain of {n}"
    if graph == "watts-strogatz":
        return f"Watts-Strogatz graph of {n} (k={spec['k']}, p={spec['p']})"
    return f"random {spec['d']}-regular graph of {n}"
