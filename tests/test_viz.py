"""Pictures and exports of a run: what a learner sees must be true, complete and byte-stable.

Golden files: ``tests/golden/*.svg`` are the exact diagrams of two small runs.
After an intended change to the diagram (or to the London scenario), look at
the new pictures, then regenerate them with

    REPLICALAB_REGEN_GOLDEN=1 python -m pytest tests/test_viz.py -k golden

(the regenerating test then skips, saying which files it wrote).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import attrs
import pytest

from replicalab import scenarios
from replicalab.clocks import Causality, VectorClock
from replicalab.errors import ConfigError, TopologyError
from replicalab.items import INITIAL_WRITE, Cell, Item, Stamp, Version
from replicalab.replica.table import TableReplica, UpdateItem
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.network import Constant, Link, Uniform
from replicalab.sim.simulation import Simulation
from replicalab.sim.topology import full_mesh
from replicalab.trace import Trace
from replicalab.viz import (
    _svg,
    compare_svg,
    cost_chart,
    cost_series,
    html_fragment,
    to_html,
    to_mermaid,
    to_shiviz,
    to_svg,
    topology_svg,
)
from replicalab.viz.html import page_data
from replicalab.viz.shiviz import REGEX
from replicalab.viz.story import build
from replicalab.viz.svg import COMPACT_STEPS, diagram

SVG = "{http://www.w3.org/2000/svg}"
GOLDEN = Path(__file__).parent / "golden"
POLICIES = ("item-lww", "attribute-lww", "causal")
GOLDEN_RUNS = {"london-item-lww-seed0.svg": ("item-lww", 0),
               "london-causal-seed0.svg": ("causal", 0)}


# ---------------------------------------------------------------------------
# Runs to draw


def big_result(merge: str = "item-lww"):
    """20 regions, 24 writes 13 ms apart on 3 keys: about 480 steps, several silent losses."""
    regions = tuple(f"r{i:02d}" for i in range(20))
    latency = {(a, b): Uniform(20 + 7 * ((i + j) % 9), 90 + 11 * ((i * j) % 7))
               for i, a in enumerate(regions) for j, b in enumerate(regions) if i < j}
    workload = tuple(
        ClientWrite(at=10 + 13 * k, region=regions[(k * 7) % 20], op=f"w{k + 1}",
                    client=f"c{k % 3}", key=f"k{k % 3}", attributes={"ab"[k % 2]: k})
        for k in range(24))
    scenario = TableScenario(name="big", description="a big run", regions=regions,
                             latency=latency, initial={f"k{i}": {"a": 0, "b": 0} for i in range(3)},
                             workload=workload)
    return scenario.run(merge, 0)


def lossy_trace():
    """A bare trace of three table replicas on links that lose and duplicate messages."""
    version = Version.of({"x": Cell(0, INITIAL_WRITE, Stamp(-1, "", 0))}, write=INITIAL_WRITE,
                         stamp=Stamp(-1, "", 0))
    replicas = [TableReplica(r, "item-lww", {"k": Item((version,))}) for r in ("a", "b", "c")]
    sim = Simulation(replicas, topology=full_mesh(["a", "b", "c"]), seed=3,
                     link=Link(Constant(10, jitter=8), loss=0.4, duplicate=0.3))
    for n in range(6):
        sim.client_request(5 + 7 * n, "abc"[n % 3], UpdateItem(f"w{n + 1}", "k", {"x": n + 1}))
    sim.run_until_quiescent()
    return sim.trace


@pytest.fixture(scope="module")
def london():
    return {m: scenarios.run("london", merge=m, seed=0) for m in POLICIES}


@pytest.fixture(scope="module")
def big():
    return big_result()


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    return root


def texts(root: ET.Element) -> str:
    return "\n".join("".join(t.itertext()) for t in root.iter(SVG + "text"))


def step_groups(root: ET.Element) -> dict[int, ET.Element]:
    return {int(g.get("data-step")): g for g in root.iter(SVG + "g") if g.get("class") == "step"}


def is_lost_mark(group: ET.Element) -> bool:
    """The silently-lost shape: a vermillion square with an X path on it."""
    rects = [r for r in group.iter(SVG + "rect") if r.get("fill") == _svg.VERMILLION]
    return bool(rects) and any(p.get("stroke") == "#FFFFFF" for p in group.iter(SVG + "path"))


# ---------------------------------------------------------------------------
# The space-time diagram


@pytest.mark.parametrize("merge", POLICIES)
def test_diagram_is_xml_with_title_legend_every_replica_and_every_write(london, merge):
    result = london[merge]
    root = parse(to_svg(result))
    title = root.find(SVG + "title")
    assert list(root).index(title) == 0 and "london" in title.text and merge in title.text
    shown = texts(root)
    assert "Legend" in shown and "SILENTLY LOST write" in shown and "superseded" in shown
    for replica in result.final:
        assert replica in shown
    for entry in result.ledger:
        assert re.search(rf"\b{entry.write}\b", shown), entry.write


def test_the_silently_lost_write_has_its_own_shape_and_the_others_do_not(london):
    result = london["item-lww"]
    story = build(result)
    groups = step_groups(parse(to_svg(result)))
    writes = story.write_steps()
    lost = [e.write for e in result.ledger if e.verdict == "silently-lost"]
    assert lost == ["w1"]
    assert is_lost_mark(groups[writes["w1"].index])
    assert not is_lost_mark(groups[writes["w2"].index])
    assert groups[writes["w2"].index].find(SVG + "circle") is not None  # kept: a circle
    # Every merge that dropped w1's value wears the same mark; the others do not.
    for step in story.steps:
        if step.kind == "merge":
            dropped_w1 = any(x["write"] == "w1" for x in step.losses)
            assert is_lost_mark(groups[step.index]) == dropped_w1, step.note


def test_a_run_without_losses_has_no_lost_mark_outside_the_legend(london):
    groups = step_groups(parse(to_svg(london["causal"])))
    assert groups and not any(is_lost_mark(g) for g in groups.values())


def test_messages_are_arrows_from_sender_step_to_receiver_step(london):
    result = london["item-lww"]
    root = parse(to_svg(result))
    msgs = [g for g in root.iter(SVG + "g") if g.get("class") == "msg"
            and g.find(SVG + "line") is not None]
    sent = result.trace.of_kind("Sent")
    assert len(msgs) == len(sent)
    for g in msgs:
        assert int(g.get("data-sent")) < int(g.get("data-got"))


@pytest.mark.parametrize("name,merge_seed", sorted(GOLDEN_RUNS.items()))
def test_golden_svg(name, merge_seed):
    merge, seed = merge_seed
    svg = to_svg(scenarios.run("london", merge=merge, seed=seed))
    path = GOLDEN / name
    if os.environ.get("REPLICALAB_REGEN_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(svg, encoding="utf-8", newline="\n")
        pytest.skip(f"regenerated {path}")
    assert path.read_bytes() == svg.encode("utf-8"), (
        f"{name} differs from the golden file; if the change is intended, look at the new "
        "picture and regenerate (see this module's docstring)")


EXPORTS = (
    "import hashlib, sys; from replicalab import scenarios, viz; "
    "r = scenarios.run('london', merge=sys.argv[1], seed=0); "
    "parts = [viz.to_svg(r), viz.to_html(r), viz.to_mermaid(r), viz.to_shiviz(r), "
    "viz.cost_chart(r), viz.compare_svg([r, r]), viz.topology_svg(__import__("
    "'replicalab.sim.topology', fromlist=['x']).full_mesh(sorted(r.final)), [[sorted(r.final)[0]]])]; "
    "print(hashlib.sha256('\\x00'.join(parts).encode()).hexdigest())"
)


@pytest.mark.parametrize("merge", ["item-lww", "causal"])
def test_same_bytes_in_other_processes_under_any_hash_seed(london, merge):
    r = london[merge]
    graph = full_mesh(sorted(r.final))
    parts = [to_svg(r), to_html(r), to_mermaid(r), to_shiviz(r), cost_chart(r),
             compare_svg([r, r]), topology_svg(graph, [[sorted(r.final)[0]]])]
    expected = hashlib.sha256("\x00".join(parts).encode()).hexdigest()
    for hash_seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", EXPORTS, merge], env=env, check=True,
                             capture_output=True, text=True).stdout.strip()
        assert out == expected, f"output differs under PYTHONHASHSEED={hash_seed}"


def test_compare_puts_each_policy_side_by_side(london):
    root = parse(compare_svg([london[m] for m in POLICIES]))
    shown = texts(root)
    for merge in POLICIES:
        assert f"london — {merge}" in shown
    assert shown.count("Legend") == 1


# ---------------------------------------------------------------------------
# Big runs: the compact view


def test_a_big_run_is_drawn_compact_and_stays_legible(big):
    story = build(big)
    assert len(story.replicas) == 20 and len(story.steps) > 400
    drawing = diagram(big)
    root = parse(drawing.to_svg())
    shown = texts(root)
    assert "compact view" in shown
    rows = [r for r in root.iter(SVG + "rect") if r.get("class") == "row"]
    assert len(rows) < len(story.steps) / 2, "routine deliveries should share rows"
    assert drawing.height < 4000 and drawing.width < 3000
    sizes = [float(t.get("font-size")) for t in root.iter(SVG + "text") if t.get("font-size")]
    assert min(sizes) >= 10, "no text smaller than 10 px"
    for replica in story.replicas:
        assert replica in shown
    for entry in big.ledger:
        assert re.search(rf"\b{entry.write}\b", shown), entry.write
    groups = step_groups(root)
    lost = [e for e in big.ledger if e.verdict == "silently-lost"]
    assert lost, "the big run is meant to lose writes"
    for entry in lost:
        assert is_lost_mark(groups[story.write_steps()[entry.write].index])
        where = [s for s in story.steps if s.replica == entry.where and s.time == entry.time
                 and any(x["write"] == entry.write for x in s.losses)]
        assert where and is_lost_mark(groups[where[0].index])


def test_small_runs_are_not_compact(london):
    assert len(build(london["item-lww"]).steps) <= COMPACT_STEPS
    assert "compact view" not in texts(parse(to_svg(london["item-lww"])))


def test_a_bare_trace_draws_dropped_messages_and_copies():
    trace = lossy_trace()
    root = parse(to_svg(trace))
    labels = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    dropped = trace.of_kind("Dropped")
    assert dropped and sum(bool(re.fullmatch(r"w\d+ to [abc] dropped", t)) for t in labels) == len(dropped)
    assert sum(t.endswith("(copy)") for t in labels) == len(trace.of_kind("Duplicated"))
    assert any("no ledger" in t for t in labels)


# ---------------------------------------------------------------------------
# The story the pictures are drawn from


def test_happens_before_clocks_follow_messages_and_leave_concurrent_writes_concurrent(london):
    story = build(london["item-lww"])
    for m in story.messages:
        if m.delivered_step is None:
            continue
        sender, receiver = story.step(m.sent_step), story.step(m.delivered_step)
        assert VectorClock(sender.vector) < VectorClock(receiver.vector)
        assert sender.lamport < receiver.lamport
    writes = story.write_steps()
    w1, w2 = VectorClock(writes["w1"].vector), VectorClock(writes["w2"].vector)
    assert w1.compare(w2) is Causality.CONCURRENT


@pytest.mark.parametrize("merge", POLICIES)
def test_replayed_states_end_at_the_final_items(london, merge):
    result = london[merge]
    story = build(result)
    assert story.states_available
    last = {r: story.initial[r] for r in story.replicas}
    for step in story.steps:
        if step.state is not None:
            last[step.replica] = step.state
    for replica, keys in result.items.items():
        for key, item in keys.items():
            plain = last[replica][key]
            assert [v["cells"] for v in plain] == [
                {n: [c.value, c.write] for n, c in v.cells if not c.removed} for v in item.versions]


def with_items_in_trace(result, corrupt: bool = False):
    """The result, its Wrote/Merged events carrying the resulting item, its policy hidden."""
    story = build(result)
    trace = Trace()
    states = {s.index: s.state for s in story.steps}
    step_of = {e.seq: s.index for s in story.steps for e in s.events}
    for e in result.trace:
        data = dict(e.data)
        if e.kind in ("Wrote", "Merged"):
            data["item"] = states[step_of[e.seq]][data["key"]]
            if corrupt:
                data["item"] = [{"write": "x", "clock": {}, "cells": {}}]
        trace.record(e.time, e.kind, e.replica, data)
    return attrs.evolve(result, trace=trace, merge="no-such-policy")


def test_states_are_read_from_the_history_and_nothing_is_replayed(london):
    """Every step's state comes from the items the Wrote and Merged events carry: the story
    never re-runs a policy, so an unknown policy name changes nothing, and a history whose
    items do not end at the final state shows no states rather than wrong ones."""
    result = london["causal"]
    recorded = build(with_items_in_trace(result))
    assert recorded.states_available
    assert [s.state for s in recorded.steps] == [s.state for s in build(result).steps]
    assert [s.keeps for s in recorded.steps] == [s.keeps for s in build(result).steps]
    assert cost_series(recorded) == cost_series(result)
    assert not build(with_items_in_trace(result, corrupt=True)).states_available
    assert build(attrs.evolve(result, merge="no-such-policy")).states_available
    wrote = result.trace.of_kind("Wrote")[0]
    with pytest.raises(ConfigError, match="closed set"):  # a Wrote without its item is refused
        Trace().record(wrote.time, "Wrote", wrote.replica,
                       {k: v for k, v in wrote.data.items() if k != "item"})


def test_a_reader_that_asks_for_a_field_no_event_has_is_told_not_answered_none(london):
    """Drift is caught on the reading side too: ``get`` answers ``default`` only for a field
    some other kind has; a typo, or a header field asked of the data, raises."""
    wrote = london["item-lww"].trace.of_kind("Wrote")[0]
    started = london["item-lww"].trace.of_kind("Started")[0]
    assert wrote.get("write") == wrote.write and started.get("write", "-") == "-"
    with pytest.raises(ConfigError, match="no trace event has a field 'wirte'"):
        wrote.get("wirte")
    with pytest.raises(ConfigError, match="header"):
        wrote.get("replica")


def test_the_london_address_is_gone_from_us_east_1_after_its_first_merge(london):
    """The lesson in one assertion: after the merge, us-east-1 holds the old address."""
    story = build(london["item-lww"])
    merge = next(s for s in story.steps if s.kind == "merge" and s.replica == "us-east-1")
    cells = merge.state["sub_42"][0]["cells"]
    assert cells["delivery_address"] == ["7 Canal Street, Manchester", INITIAL_WRITE]
    assert merge.keeps == "w2" and story.lost_here(merge) == ["w1"]


# ---------------------------------------------------------------------------
# ShiViz


def parse_shiviz(text: str) -> list[tuple[str, str, dict[str, int]]]:
    """Read a ShiViz upload file: regex line, delimiter line, then the log the regex matches."""
    lines = text.split("\n")
    regex = lines[0].replace("(?<", "(?P<")  # ShiViz's named groups, in Python syntax
    assert lines[1] == "", "one execution: the delimiter line is empty"
    log = "\n".join(lines[2:])
    events = [(m["host"], m["event"], json.loads(m["clock"]))
              for m in re.finditer(regex, log)]
    assert len(events) * 2 == len(log.strip("\n").split("\n")), "every line belongs to an event"
    return events


def check_shiviz_rules(events: list[tuple[str, str, dict[str, int]]]) -> None:
    """ShiViz's documented rules, and the consistency check its model graph performs."""
    seen: dict[str, list[dict[str, int]]] = {}
    for host, _, clock in events:
        assert re.fullmatch(r"\S+", host), f"host {host!r} must have no whitespace"
        assert host in clock, f"the local host {host} must be in its clock"
        own = seen.setdefault(host, [])
        assert clock[host] == len(own) + 1, (
            f"{host}: own entry must start at 1 and grow by one per event, got {clock[host]} "
            f"after {len(own)} events")
        assert all(type(v) is int and v >= 1 for v in clock.values()), "no zero or negative entries"
        own.append(clock)
    for host, _, clock in events:
        for other, value in clock.items():
            assert other in seen, f"{host}'s clock names unknown host {other}"
            assert value <= len(seen[other]), f"{host}'s clock names event {other}:{value}"
        # The clock must be exactly what the events it claims to know imply (no extra knowledge).
        implied: dict[str, int] = {}
        for other, value in clock.items():
            if other == host:
                source = seen[host][value - 2] if value > 1 else {}
            else:
                source = seen[other][value - 1]
            for h, v in source.items():
                implied[h] = max(implied.get(h, 0), v)
        implied[host] = clock[host]
        assert implied == clock, f"{host}:{clock[host]} has clock {clock}, expected {implied}"


@pytest.mark.parametrize("case", ["item-lww", "attribute-lww", "causal", "big", "lossy"])
def test_shiviz_export_satisfies_shivizs_clock_rules(london, big, case):
    source = {"big": big, "lossy": lossy_trace()}.get(case) or london[case]
    text = to_shiviz(source)
    assert text.split("\n")[0] == REGEX
    events = parse_shiviz(text)
    check_shiviz_rules(events)
    story = build(source)
    assert len(events) == sum(1 for s in story.steps if s.replica is not None)


def test_the_validator_catches_a_bad_log():
    with pytest.raises(AssertionError):
        check_shiviz_rules([("a", "x", {"a": 2})])  # does not start at 1
    with pytest.raises(AssertionError):
        check_shiviz_rules([("a", "x", {"a": 1}), ("b", "y", {"a": 1, "b": 2})])  # b skips 1
    with pytest.raises(AssertionError):  # b heard from a's event, which knew c:1, but forgot c
        check_shiviz_rules([("c", "z", {"c": 1}), ("a", "x", {"a": 1, "c": 1}),
                            ("b", "y", {"a": 1, "b": 1})])
    check_shiviz_rules([("a", "x", {"a": 1}), ("b", "y", {"a": 1, "b": 1})])


def test_shiviz_names_the_crossing_messages(london):
    events = parse_shiviz(to_shiviz(london["item-lww"]))
    merges = [(h, c) for h, e, c in events if "receives" in e]
    assert ("us-east-1", {"eu-west-1": 1, "us-east-1": 2}) in merges


# ---------------------------------------------------------------------------
# Mermaid


def test_mermaid_has_participants_messages_and_the_loss(london):
    result = london["item-lww"]
    text = to_mermaid(result)
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram"
    for replica in result.final:
        alias = re.sub(r"\W", "_", replica)
        assert f"    participant {alias} as {replica}" in lines
    arrows = [line for line in lines if "->>" in line]
    assert len(arrows) == len(result.trace.of_kind("Delivered"))
    assert any(line.strip() == "eu_west_1->>us_east_1: w1 sent t=140, arrives t=211"
               for line in lines)
    lost = lines.index(next(line for line in lines if "SILENTLY LOST" in line))
    assert lines[lost - 1].strip().startswith("rect") and lines[lost + 1].strip() == "end"
    assert ";" not in text.replace("#59;", "")


def test_mermaid_marks_dropped_messages():
    trace = lossy_trace()
    text = to_mermaid(trace)
    assert text.count("DROPPED by the network") == len(trace.of_kind("Dropped"))
    assert len(re.findall(r"^    \w+-x\w+: ", text, re.M)) == len(trace.of_kind("Dropped"))


# ---------------------------------------------------------------------------
# The step-through page, Jupyter, topology, charts


def test_html_page_is_self_contained(london):
    page = to_html(london["item-lww"])
    assert page.startswith("<!DOCTYPE html>")
    for needle in (" src=", " href=", "@import", "url(", "<link", "fetch(", "XMLHttpRequest"):
        assert needle not in page, needle
    assert page.count("<svg") >= 1 and "<script>" in page
    blob = re.search(r'<script type="application/json" id="replicalab-data">(.*?)</script>',
                     page, re.S).group(1)
    data = json.loads(blob)
    assert data["replicas"] == sorted(london["item-lww"].final)
    assert [w["write"] for w in data["writes"]] == ["w1", "w2"]


def test_page_data_escapes_script_breaking_text():
    story = build(lossy_trace())
    data = page_data(story)
    data["title"] = "</script><script>alert(1)</script>"
    from replicalab.viz.html import _json_for_script

    text = _json_for_script(data)
    assert "</" not in text and json.loads(text)["title"] == data["title"]


def test_jupyter_fragment_has_the_picture_and_the_ledger_but_no_script(london):
    fragment = html_fragment(london["item-lww"])
    assert "<svg" in fragment and "silently-lost" in fragment and "<script" not in fragment


def test_topology_is_independent_of_insertion_order_and_marks_cut_links():
    import networkx as nx

    a = nx.Graph()
    a.add_edges_from([("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")])
    b = nx.Graph()
    b.add_nodes_from(["d", "c", "b", "a"])
    b.add_edges_from([("d", "c"), ("b", "d"), ("c", "b"), ("d", "a"), ("c", "a"), ("b", "a")])
    svg = topology_svg(a, [["a", "b"], ["c", "d"]])
    assert svg == topology_svg(b, [["b", "a"], ["d", "c"]])
    root = parse(svg)
    assert sum(1 for g in root.iter(SVG + "g") if g.get("class") == "cut") == 4
    assert "cut" not in topology_svg(a).replace("link cut", "")
    with pytest.raises(TopologyError):
        topology_svg(a, [["a", "zz"]])
    with pytest.raises(TopologyError):
        topology_svg(a, [["a"], ["a", "b"]])


def test_cost_series_counts_messages_and_siblings(london):
    for merge in POLICIES:
        result = london[merge]
        series = cost_series(result)
        assert sum(series["messages"]) == len(result.trace.of_kind("Sent"))
        assert series["siblings"][-1] == result.siblings_visible
        assert all(m <= b for m, b in zip(series["metadata"], series["bytes"], strict=True))
    parse(cost_chart(london["causal"]))
    lossy = cost_series(lossy_trace())
    assert sum(lossy["dropped"]) == len(lossy_trace().of_kind("Dropped"))
    assert lossy["bytes"] is None  # a bare trace cannot be replayed to size its items
