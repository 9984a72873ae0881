"""A topology drawing: replicas as nodes, links as lines, partitions shaded, cut links crossed.

Positions come from networkx's spring layout with a fixed ``seed`` (started
from a circle over the *sorted* ids, so the order nodes were added in does not
matter) and are rounded to 0.1 px, so the same graph gives the same bytes.
``layout="circle"`` puts the sorted ids on a circle instead (no numpy needed;
it is also the fallback when numpy, which networkx's spring layout needs, is
missing).

``partitions`` is a list of groups of replica ids (replicas in no group form
one more group). Each group is shaded in its own colour; a link between two
groups is cut: drawn dashed and vermillion, with an X at its middle.

    >>> from replicalab.sim.topology import full_mesh
    >>> svg = topology_svg(full_mesh(["a", "b", "c", "d"]), partitions=[["a", "b"]])
    >>> svg.count("<circle") >= 4 and "cut" in svg
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from replicalab import _validate
from replicalab.errors import TopologyError
from replicalab.viz import _svg as s

if TYPE_CHECKING:  # networkx costs ~90 ms to import: only where a graph is drawn
    import networkx as nx

__all__ = ["layout_positions", "topology_svg"]

GROUP_FILLS = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#F0E442", "#0072B2", "#999999")
NODE_R = 16.0


def _circle(nodes: Sequence[str]) -> dict[str, tuple[float, float]]:
    n = len(nodes)
    if n == 1:
        return {nodes[0]: (0.0, 0.0)}
    return {v: (math.cos(2 * math.pi * i / n - math.pi / 2), math.sin(2 * math.pi * i / n - math.pi / 2))
            for i, v in enumerate(nodes)}


def layout_positions(graph: nx.Graph, *, layout: str = "spring",
                     seed: int = 0) -> dict[str, tuple[float, float]]:
    """Node positions in [-1, 1]², rounded, independent of insertion order.

        >>> import networkx as nx
        >>> layout_positions(nx.path_graph(["a", "b"]), layout="circle")
        {'a': (0.0, -1.0), 'b': (0.0, 1.0)}
    """
    import networkx as nx
    if layout not in ("spring", "circle"):
        raise TopologyError(f"layout must be 'spring' or 'circle', got {_validate.shown(layout)}")
    nodes = sorted(graph.nodes, key=str)
    start = _circle(nodes) if nodes else {}
    pos: Mapping[Any, Any] = start
    if layout == "spring" and len(nodes) > 2:
        ordered = nx.Graph()
        ordered.add_nodes_from(nodes)
        ordered.add_edges_from(sorted(tuple(sorted((a, b), key=str)) for a, b in graph.edges))
        try:
            pos = nx.spring_layout(ordered, pos=start, seed=seed)
        except ImportError:  # networkx needs numpy for this layout
            pos = start
    xs = [float(p[0]) for p in pos.values()] or [0.0]
    ys = [float(p[1]) for p in pos.values()] or [0.0]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return {str(v): (round(2 * (float(pos[v][0]) - cx) / span, 4),
                     round(2 * (float(pos[v][1]) - cy) / span, 4)) for v in nodes}


def _tint(colour: str, amount: float = 0.25) -> str:
    """``colour`` mixed with white (``amount`` of the colour), as #RRGGBB.

        >>> _tint("#000000", 0.5)
        '#808080'
    """
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - (255 - c) * amount):02X}" for c in rgb)


def _hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Convex hull (Andrew's monotone chain), counter-clockwise."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def turn(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and turn(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and turn(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _groups(nodes: list[str], partitions: Iterable[Iterable[str]] | None) -> list[list[str]]:
    if partitions is None:
        return []
    groups: list[list[str]] = []
    seen: set[str] = set()
    for group in partitions:
        if isinstance(group, str):
            raise TopologyError(f"each partition group is a list of replica ids, got the string {_validate.shown(group)}")
        members = sorted(str(v) for v in group)
        for v in members:
            if v not in nodes:
                raise TopologyError(f"partition names unknown replica {_validate.shown(v)}; replicas are {nodes}")
            if v in seen:
                raise TopologyError(f"replica {_validate.shown(v)} is in two partition groups")
            seen.add(v)
        groups.append(members)
    rest = [v for v in nodes if v not in seen]
    if rest:
        groups.append(rest)
    return groups


def topology_svg(
    graph: nx.Graph,
    partitions: Iterable[Iterable[str]] | None = None,
    *,
    layout: str = "spring",
    seed: int = 0,
    title: str = "topology",
    edge_labels: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """Draw ``graph`` as a standalone SVG; see the module docs. Same graph, same bytes."""
    import networkx as nx
    if not isinstance(graph, nx.Graph):
        raise TopologyError(f"topology_svg needs a networkx graph, got {type(graph).__name__}")
    nodes = sorted(str(v) for v in graph.nodes)
    groups = _groups(nodes, partitions)
    group_of = {v: i for i, members in enumerate(groups) for v in members}
    unit = layout_positions(graph, layout=layout, seed=seed)
    radius = 110 + 22 * math.sqrt(max(len(nodes), 1))
    top = 56.0
    margin = 60.0
    width = 2 * (radius + margin)
    pos = {v: (width / 2 + x * radius, top + margin + radius + y * radius) for v, (x, y) in unit.items()}
    body: list[str] = [
        s.text(16, 28, title, size=16, font_weight="bold", fill=s.INK),
        s.text(16, 46, f"{len(nodes)} replicas · {graph.number_of_edges()} links"
                       + (f" · {len(groups)} partition groups" if groups else ""),
               size=12, fill=s.GREY),
    ]
    for i, members in enumerate(groups):
        colour = _tint(GROUP_FILLS[i % len(GROUP_FILLS)])
        points = _hull([pos[v] for v in members])
        pad = NODE_R + 14
        # A hull stroked as wide as the padding, with round joins: a rounded blob around the group.
        common: dict[str, Any] = {"fill": colour, "stroke": colour, "stroke_width": 2 * pad,
                  "stroke_linejoin": "round", "stroke_linecap": "round"}
        if len(points) == 1:
            body.append(s.circle(points[0][0], points[0][1], pad, colour, colour))
        elif len(points) == 2:
            body.append(s.line(*points[0], *points[1], **{k: v for k, v in common.items()
                                                          if not k.startswith("fill")}))
        else:
            body.append(s.polygon(points, **common))
    edges = sorted(tuple(sorted((str(a), str(b)))) for a, b in graph.edges)
    labels = {tuple(sorted(k)): v for k, v in (edge_labels or {}).items()}
    for a, b in edges:
        (x1, y1), (x2, y2) = pos[a], pos[b]
        cut = bool(groups) and group_of[a] != group_of[b]
        if cut:
            body.append(s.tag("g", s.line(x1, y1, x2, y2, stroke=s.VERMILLION, stroke_width=1.5,
                                          stroke_dasharray="6 4")
                              + s.cross((x1 + x2) / 2, (y1 + y2) / 2, 5, s.VERMILLION, 2.2),
                              class_="cut"))
        else:
            body.append(s.line(x1, y1, x2, y2, stroke=s.GREY, stroke_width=1.5))
        if (a, b) in labels:
            body.append(s.halo_text((x1 + x2) / 2, (y1 + y2) / 2 - 6, labels[(a, b)], size=10,
                                    fill=s.INK, text_anchor="middle"))
    for v in nodes:
        x, y = pos[v]
        body.append(s.circle(x, y, NODE_R, "#FFFFFF", s.INK, 1.5))
        body.append(s.halo_text(x, y + NODE_R + 14, v, size=12, fill=s.INK, text_anchor="middle",
                                font_weight="bold"))
    y = top + 2 * (margin + radius) + 8
    legend = [(s.line(-12, 0, 12, 0, stroke=s.GREY, stroke_width=1.5), "link")]
    if groups:
        legend.append((s.line(-12, 0, 12, 0, stroke=s.VERMILLION, stroke_width=1.5,
                              stroke_dasharray="6 4") + s.cross(0, 0, 4, s.VERMILLION, 2),
                       "link cut by the partition"))
        for i, members in enumerate(groups):
            shown = ", ".join(members) if len(members) <= 6 else ", ".join(members[:6]) + ", …"
            legend.append((s.tag("rect", None, x=-10, y=-7, width=20, height=14,
                                 fill=_tint(GROUP_FILLS[i % len(GROUP_FILLS)])),
                           f"group {i + 1}: {shown}"))
    for n, (mark, label) in enumerate(legend):
        body.append(f'<g transform="translate(30,{s.num(y + n * 20)})">{mark}</g>')
        body.append(s.text(52, y + n * 20 + 4, label, size=11, fill=s.INK))
    height = y + len(legend) * 20 + 8
    return s.document(width, height, f"{title}: {len(nodes)} replicas", body)
