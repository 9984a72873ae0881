"""The tutorials' pictures, each drawn from a real run or a real structure of replicalab.

:func:`all_pictures` yields ``(file name, SVG)`` for every picture: ``NAME.svg``
laid out for the page column (:data:`COLUMN` px: no text under 11 px there) and
``NAME-full.svg``, the full-size drawing the page links to; a picture of a
scenario run also gets ``NAME-steps.html``, its step-through page, which the
site embeds under the picture. The small drawings
(a Lamport diagram, Dynamo's version DAG, CRDT states, a lattice) are computed
with the library's own clocks and CRDTs; nothing is typed in by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from replicalab.scenarios.regions import AzOutage
from replicalab.viz import _svg as s

HERE = Path(__file__).resolve().parent

#: The page column the pictures are laid out for (px). Material's column is 688 px wide on a
#: desktop; a picture this wide shows at its own size, so its 11 px text stays 11 px.
COLUMN = 680
#: The smallest text any page picture may have (px).
MIN_TEXT = 11

RUNS = {
    "london-item-lww": ("london", dict(merge="item-lww")),
    "london-attribute-lww": ("london", dict(merge="attribute-lww")),
    "london-causal": ("london", dict(merge="causal")),
    "london-mrsc": ("london", dict(mode="mrsc")),
    "london-azs": ("london", dict(replicas_per_region=3, region_protocol="leader")),
    # Chapter 14: eu-west-1a, sub_42's leader, down from t=144 to t=600 without its disk.
    "london-az-outage": ("london", dict(merge="attribute-lww", replicas_per_region=3, az_outages=[
        AzOutage(144, "eu-west-1", "a", until=600, durable=False)])),
    "skew": ("skew", {}),
    "skew-hlc": ("skew", dict(stamps="hlc")),
    "partition": ("partition", dict(merge="causal")),
    "cart-crdt": ("cart", dict(merge="crdt")),
}


#: Chapter 14's small run: W=3 with a sloppy quorum through an AZ outage (hints, handoff).
HANDOFF_RUN = dict(seed=0, sloppy=True, fault="az-outage", ops=8, keys=2, gap=40, w=3, r=1)


def all_pictures() -> Iterator[tuple[str, str]]:
    from replicalab import scenarios
    from replicalab.viz import to_html, to_svg

    for stem, (name, options) in RUNS.items():
        result = scenarios.run(name, seed=0, **options)
        yield f"{stem}.svg", to_svg(result, width=COLUMN)
        yield f"{stem}-full.svg", to_svg(result)
        yield f"{stem}-steps.html", to_html(result, width=COLUMN)
    # Chapter 15: the shortest London schedule that loses w1 under item-lww, and the forking
    # step-through page over every schedule (the reader picks which message arrives next).
    from replicalab import explore
    from replicalab.explore.html import stepper_html

    cx = explore.scenario("london", merge="item-lww").find(
        lambda result: result.summary["silently_lost"] > 0)
    yield "explore-london.svg", to_svg(cx.result, width=COLUMN)
    yield "explore-london-full.svg", to_svg(cx.result)
    yield "explore-london-steps.html", stepper_html(explore.scenario("london", reduce=False))
    handoff = scenarios.run("dynamo", **HANDOFF_RUN)
    # Drawn from the result, not the bare trace: each write wears its quorum verdict and
    # the stale read r8 is marked.
    yield "dynamo-handoff.svg", to_svg(handoff, width=COLUMN)
    yield "dynamo-handoff-full.svg", to_svg(handoff)
    from replicalab.dynamodb.requestfile import example

    # Chapter 13: the seed's request, verbatim, replayed on a GlobalTable (a request file).
    requests = example("london-versioned").replay().result
    yield "london-requests.svg", to_svg(requests, width=COLUMN)
    yield "london-requests-full.svg", to_svg(requests)
    yield "london-requests-steps.html", to_html(requests, width=COLUMN)
    for stem, draw in (("lamport", lamport), ("dynamo-fig3", dynamo_fig3), ("orset", orset),
                       ("basket-lattice", basket_lattice), ("merkle-diff", merkle_diff),
                       ("gossip", gossip), ("t-visibility", t_visibility),
                       ("sweep-contested", sweep_contested)):
        page, full = draw()
        yield f"{stem}.svg", page
        yield f"{stem}-full.svg", full


# ---------------------------------------------------------------- chapter 2

def lamport() -> tuple[str, str]:
    """Chapter 2's five events on three replicas, stamped by LamportClock."""
    from replicalab.clocks import LamportClock

    a1 = LamportClock("a").tick()
    a2 = a1.tick()
    b1 = LamportClock("b").tick()
    b2 = b1.receive(a2.time)
    c1 = LamportClock("c").tick()
    events = {"a1": (a1, 1), "a2": (a2, 2), "b1": (b1, 1), "b2": (b2, 3), "c1": (c1, 1)}
    lanes = {"a": 170.0, "b": 360.0, "c": 550.0}
    row = {1: 150.0, 2: 230.0, 3: 310.0}
    body = [s.text(16, 30, "Lamport stamps of chapter 2's five events", size=16,
                   font_weight="bold", fill=s.INK),
            s.text(16, 52, "time flows down · the arrow is a2's message to b", size=12,
                   fill=s.GREY)]
    for name, x in lanes.items():
        body.append(s.text(x, 96, f"replica {name}", size=13, font_weight="bold", fill=s.INK,
                           text_anchor="middle"))
        body.append(s.line(x, 106, x, 350, stroke=s.FAINT, stroke_width=2))
    xy = {name: (lanes[clock.replica], row[level]) for name, (clock, level) in events.items()}
    body.append(s.arrow(*xy["a2"], *xy["b2"], colour=s.BLUE, width=1.6))
    body.append(s.halo_text((xy["a2"][0] + xy["b2"][0]) / 2, (xy["a2"][1] + xy["b2"][1]) / 2 - 6,
                            f"message stamped {a2.time}", size=12, fill=s.BLUE,
                            text_anchor="middle"))
    # The pair the stamps order although neither saw the other.
    (bx, by), (ax, ay) = xy["b1"], xy["a2"]
    body.append(s.line(bx, by, ax, ay, stroke=s.VERMILLION, stroke_width=1.6,
                       stroke_dasharray="5 4"))
    body.append(s.halo_text((ax + bx) / 2 + 8, (ay + by) / 2 + 22, "concurrent, yet",
                            size=12, fill=s.VERMILLION, font_weight="bold"))
    body.append(s.halo_text((ax + bx) / 2 + 8, (ay + by) / 2 + 37,
                            f"{b1.stamp} < {a2.stamp}", size=12, fill=s.VERMILLION,
                            font_weight="bold"))
    for name, (clock, _) in events.items():
        x, y = xy[name]
        body.append(s.circle(x, y, 7, s.BLUE))
        body.append(s.halo_text(x + 12, y + 5, f"{name}  {clock.stamp}", size=13, fill=s.INK,
                                font_family=s.MONO))
    body.append(s.text(16, 390, f"Sorted by stamp: {', '.join(sorted(events, key=lambda n: events[n][0].stamp))}",
                       size=12, fill=s.INK))
    svg = s.document(COLUMN, 410, "Lamport diagram: three replicas, one message", body,
                     "Each event is labelled with its Lamport stamp (time, replica).")
    return svg, svg


# ---------------------------------------------------------------- DAG pictures

def _dag(title: str, subtitle: str, nodes: list[tuple[str, int, list[str], str]],
         edges: list[tuple[str, str, str, str]], note: str = "") -> str:
    """Boxes on levels (top to bottom) with labelled arrows.

    ``nodes``: ``(id, level, lines, colour)``; ``edges``: ``(src, dst, label, colour)``.
    """
    size, line_h = 12, 16
    widths = {n: max(s.text_width(line, size, mono=True) for line in lines) + 20
              for n, _, lines, _ in nodes}
    heights = {n: 10 + line_h * len(lines) for n, _, lines, _ in nodes}
    levels: dict[int, list[str]] = {}
    for n, level, _, _ in nodes:
        levels.setdefault(level, []).append(n)
    gap_y = 70
    top = 80.0
    pos: dict[str, tuple[float, float]] = {}
    for level in sorted(levels):
        names = levels[level]
        total = sum(widths[n] for n in names) + 40 * (len(names) - 1)
        x = (COLUMN - total) / 2
        h = max(heights[n] for n in names)
        for n in names:
            pos[n] = (x, top)
            x += widths[n] + 40
        top += h + gap_y
    body = [s.text(16, 30, title, size=16, font_weight="bold", fill=s.INK),
            s.text(16, 52, subtitle, size=12, fill=s.GREY)]
    labelled = set()
    for src, dst, label, colour in edges:
        if (dst, label) in labelled:
            label = ""
        labelled.add((dst, label))
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        ax, ay = x1 + widths[src] / 2, y1 + heights[src]
        bx, by = x2 + widths[dst] / 2, y2
        if y2 < y1:  # an arrow up: from the top of src to the bottom of dst
            ay, by = y1, y2 + heights[dst]
        if colour == s.VERMILLION:  # the counterexample runs beside the edge it contradicts
            ax, bx = ax + 14, bx + 14
        body.append(s.arrow(ax, ay, bx, by, colour=colour, width=1.6, gap1=2, gap2=2))
        if label:
            body.append(s.halo_text((ax + bx) / 2 + (6 if bx >= ax or colour == s.VERMILLION
                                                     else -6), (ay + by) / 2 + 4,
                                    label, size=12, fill=colour,
                                    text_anchor="start" if bx >= ax or colour == s.VERMILLION
                                    else "end"))
    for n, _, lines, colour in nodes:
        x, y = pos[n]
        body.append(s.tag("rect", None, x=x, y=y, width=widths[n], height=heights[n], rx=4,
                          fill="#FFFFFF", stroke=colour, stroke_width=2))
        for i, line in enumerate(lines):
            body.append(s.text(x + 10, y + 18 + line_h * i, line, size=size, fill=s.INK,
                               font_family=s.MONO, font_weight="bold" if i == 0 else None))
    if note:
        body.append(s.text(16, top - gap_y + 36, note, size=12, fill=s.INK))
    return s.document(COLUMN, top - gap_y + 56, title, body, subtitle)


def dynamo_fig3() -> tuple[str, str]:
    """Dynamo's Figure 3: five versions, their vector clocks, and what descends from what."""
    from replicalab.clocks import Causality, VectorClock

    d1 = VectorClock().tick("Sx")
    d2 = d1.tick("Sx")
    d3 = d2.tick("Sy")
    d4 = d2.tick("Sz")
    d5 = d3.merge(d4).tick("Sx")
    versions = {"D1": d1, "D2": d2, "D3": d3, "D4": d4, "D5": d5}
    via = {"D1": "Sx", "D2": "Sx", "D3": "Sy", "D4": "Sz", "D5": "Sx"}
    level = {"D1": 0, "D2": 1, "D3": 2, "D4": 2, "D5": 3}

    def clock(vc):
        return "[" + ", ".join(f"{r}:{n}" for r, n in vc.items()) + "]"

    nodes = [(n, level[n], [n, clock(vc)], s.BLUE) for n, vc in versions.items()]
    # An edge where x is before y with no version in between (the DAG's own edges).
    edges = []
    for x, vx in versions.items():
        for y, vy in versions.items():
            if vx.compare(vy) is Causality.BEFORE and not any(
                    vx.compare(vz) is Causality.BEFORE and vz.compare(vy) is Causality.BEFORE
                    for vz in versions.values()):
                edges.append((x, y, f"write via {via[y]}" if y != "D5" else "reconciled via Sx",
                              s.GREY))
    assert d3.compare(d4) is Causality.CONCURRENT
    svg = _dag("Dynamo's Figure 3: versions and their vector clocks",
               "an arrow: the lower version's clock is after the upper one's",
               nodes, edges, "D3 and D4 are concurrent: a node holding both keeps both, until D5.")
    return svg, svg


def orset() -> tuple[str, str]:
    """Chapter 7's add-wins example: the states of an ORSet, and the merge."""
    from replicalab.crdts import ORSet

    shared = ORSet().add("milk", replica="phone")
    removed = shared.remove("milk")
    re_added = shared.add("milk", replica="laptop")
    merged = removed.merge(re_added)

    def lines(name, state):
        elements = [f"{e}: {', '.join(repr(d) for d in state.dots(e))}" for e in sorted(state.value)]
        return [name, *(elements or ["(empty)"]),
                "seen: " + ", ".join(f"{r}:{n}" for r, n in state.context.vv.items())]

    nodes = [("shared", 0, lines("shared list", shared), s.BLUE),
             ("removed", 1, lines("phone", removed), s.BLUE),
             ("re_added", 1, lines("laptop", re_added), s.BLUE),
             ("merged", 2, lines("merged", merged), s.GREEN)]
    edges = [("shared", "removed", "remove milk", s.GREY),
             ("shared", "re_added", "add milk", s.GREY),
             ("removed", "merged", "merge", s.GREY), ("re_added", "merged", "", s.GREY)]
    svg = _dag("Add wins: an ORSet remove deletes only the dots it saw",
               "each element lists the dots that support it; 'seen' is the causal context",
               nodes, edges, "The phone saw Dot('phone', 1) only: the laptop's add survives.")
    return svg, svg


def basket_lattice() -> tuple[str, str]:
    """Chapter 8: the states of a grow-only set over two items, ordered by merge (a lattice)."""
    from replicalab.crdts import GSet

    empty = GSet()
    states = {"{}": empty, "{eggs}": empty.add("eggs"), "{milk}": empty.add("milk")}
    states["{eggs, milk}"] = states["{eggs}"].merge(states["{milk}"])
    level = {"{}": 2, "{eggs}": 1, "{milk}": 1, "{eggs, milk}": 0}
    nodes = [(n, level[n], [n], s.BLUE) for n in states]
    edges = [(x, y, "", s.GREY) for x, sx in states.items() for y, sy in states.items()
             if x != y and sx.merge(sy) == sy and level[y] == level[x] - 1]
    # Intersection as "merge": {milk} merged with a stale {} goes *down*.
    assert (states["{milk}"].value & states["{}"].value) == states["{}"].value
    edges.append(("{milk}", "{}", "intersection: down!", s.VERMILLION))
    svg = _dag("Merge must move states up: the lattice of a two-item set",
               "grey arrows: merging with union (the join) only ever moves a state up",
               nodes, edges, "Vermillion: intersection merges {milk} with a stale {} into {}.")
    return svg, svg


# ---------------------------------------------------------------- chapter 9

def merkle_diff() -> tuple[str, str]:
    """Chapter 9's two trees: three keys differ out of a hundred."""
    from replicalab.merkle import MerkleTree
    from replicalab.viz import merkle_diff_svg

    mine = {f"k{i}": f"v{i}".encode() for i in range(100)}
    theirs = dict(mine)
    theirs["k7"] = b"changed"
    del theirs["k50"]
    theirs["k200"] = b"new"
    a = MerkleTree.build(mine, fanout=4, depth=3)
    b = MerkleTree.build(theirs, fanout=4, depth=3)
    return merkle_diff_svg(a, b, width=COLUMN), merkle_diff_svg(a, b)


# ---------------------------------------------------------------- chapter 12

def gossip() -> tuple[str, str]:
    """Chapter 12's own Gossip replica (its code, taken from the page) on a ring of eight:
    when each replica learned the rumour and from whom, with 5 and with 15 rounds."""
    from replicalab.sim import Link, Simulation, Uniform, ring

    page = (HERE / "12-own-replica.md").read_text(encoding="utf-8")
    code = next(block for block in re.findall(r"^```python\n(.*?)^```", page, re.M | re.S)
                if "class Gossip" in block)
    namespace: dict = {"__name__": "gossip_figure"}
    exec(compile(code, "12-own-replica.md", "exec"), namespace)
    ids = [f"n{i}" for i in range(8)]

    def run(rounds):
        replicas = [namespace["Gossip"](i, "cake in the kitchen" if i == "n0" else None,
                                        rounds=rounds) for i in ids]
        sim = Simulation(replicas, topology=ring(ids), seed=0, link=Link(Uniform(5, 20)))
        sim.run_until_quiescent()
        return sim

    runs = [(rounds, run(rounds)) for rounds in (5, 15)]
    end = max(sim.statistics().now for _, sim in runs)
    left, right, row_h = 70.0, COLUMN - 24.0, 22.0
    body = [s.text(16, 30, "Gossip spread on a ring of eight", size=16, font_weight="bold",
                   fill=s.INK),
            s.text(16, 52, "a bar: the replica knows the rumour · an arrow: the message that "
                           "taught it", size=12, fill=s.GREY)]
    y = 80.0
    for rounds, sim in runs:
        learned = {e.replica: (e.time, e.get("src")) for e in sim.trace.of_kind("Learned")}
        learned["n0"] = (0, None)
        stats = sim.statistics()
        body.append(s.text(16, y + 14, f"{rounds} rounds: {len(learned)} of {len(ids)} know it, "
                                       f"{stats.sent} messages sent", size=13,
                           font_weight="bold", fill=s.INK))
        top = y + 30
        x_of = lambda t: left + (right - left) * t / end  # noqa: E731
        row = {r: top + row_h * i + row_h / 2 for i, r in enumerate(ids)}
        for r in ids:
            body.append(s.text(left - 10, row[r] + 4, r, size=12, fill=s.INK,
                               text_anchor="end", font_family=s.MONO))
            body.append(s.line(left, row[r], right, row[r], stroke=s.FAINT, stroke_width=1))
            if r in learned:
                body.append(s.line(x_of(learned[r][0]), row[r], right, row[r], stroke=s.BLUE,
                                   stroke_width=6, opacity=0.8))
            else:
                body.append(s.text(right, row[r] - 4, "never heard it", size=11,
                                   fill=s.VERMILLION, text_anchor="end", font_weight="bold"))
        for r, (when, src) in learned.items():
            if src is not None:
                body.append(s.arrow(x_of(when), row[src], x_of(when), row[r], colour=s.INK,
                                    width=1.2, head=6, gap1=3, gap2=3))
        axis = top + row_h * len(ids) + 4
        for tick in range(0, end + 1, 200):
            body.append(s.text(x_of(tick), axis + 14, f"t={tick}", size=11, fill=s.GREY,
                               text_anchor="middle", font_family=s.MONO))
        y = axis + 34
    svg = s.document(COLUMN, y, "Gossip spread: which replica learned the rumour when", body,
                     "Two runs of chapter 12's Gossip replica, seed 0: 5 and 15 rounds.")
    return svg, svg


# ---------------------------------------------------------------- chapter 14

def t_visibility() -> tuple[str, str]:
    """Chapter 14's PBS curves: P(consistent read) against ms after the write, N=3."""
    from replicalab.scenarios.pbs import t_visibility as curve
    from replicalab.viz.visibility import visibility_chart

    times = [0, 1, 2, 5, 10, 15, 20, 30, 40, 60, 80, 100]
    curves = {f"N=3 R={r} W={w}": curve(3, r, w, times, trials=4000, seed=0)
              for r, w in ((1, 1), (1, 2), (2, 1), (2, 2))}
    svg = visibility_chart(curves, title="t-visibility, N=3, every delay exponential (mean 10 ms)")
    return svg, svg


# ---------------------------------------------------------------- chapter 16

def sweep_contested() -> tuple[str, str]:
    """Chapter 16's distributions: every pattern on ten seeds of a minute of contested traffic.

    The sweep's picture is laid out for the page column already, so page and full size are one.
    """
    from replicalab.sweeps import sweep

    picture = sweep(workload="contested", minutes=1, seeds=10, workers=1).to_svg()
    return picture, picture
