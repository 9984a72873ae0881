"""Every export shows the faults: a node down (with or without its disk), back, cut off, healed.

The space-time pictures draw an outage on the node's lane; the text exports — Mermaid,
ShiViz and the step-through page — must say the same things at the same places, or a
learner reading them sees messages vanish with no reason. A run without faults must
export exactly the bytes it exported before the marks existed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from replicalab import scenarios
from replicalab.replica.table import AntiEntropy
from replicalab.scenarios.regions import AzOutage, AzPartition
from replicalab.sim.faults import Heal, OneWayCut
from replicalab.viz import faults, to_html, to_mermaid, to_shiviz
from replicalab.viz.html import page_data
from replicalab.viz.mermaid import DOWN_FILL, participant_ids
from replicalab.viz.story import build

# The ShiViz reader and rule checker of tests/test_viz.py, imported by path (module docs of
# tests/conftest: a package named "tests" may shadow ours).
_spec = importlib.util.spec_from_file_location("_viz_checks", Path(__file__).with_name("test_viz.py"))
assert _spec is not None and _spec.loader is not None
_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_checks)
parse_shiviz, check_shiviz_rules = _checks.parse_shiviz, _checks.check_shiviz_rules

SYNC = AntiEntropy(period=200, fanout=4, depth=1, timeout=1000)


def grouped(protocol: str, merge: str = "item-lww", **options: object) -> scenarios.Result:
    """London with three AZs per region; the leaderless protocol with anti-entropy (which a
    cut needs to heal, options.py)."""
    scenario = scenarios.get("london")
    if protocol == "leaderless":
        scenario = attrs.evolve(scenario, anti_entropy=SYNC, horizon=3000)
    return scenario.run(merge, 0, replicas_per_region=3, region_protocol=protocol, **options)


def line_time(line: str) -> int | None:
    """The time of the step a Mermaid line belongs to: a note's ``t=``, an arrow's arrival."""
    for pattern in (r"arrives t=(\d+)", r"lost on arrival at t=(\d+)", r"Note over [^:]+: t=(\d+)",
                    r"sent t=(\d+), (?:DROPPED|still in flight)"):
        found = re.search(pattern, line)
        if found:
            return int(found.group(1))
    return None


def check_mermaid_outage(text: str, node: str, outage: AzOutage | None, at: int, until: int | None,
                         durable: bool) -> None:
    lines = text.splitlines()
    me = participant_ids([node])[node]
    times = [t for t in map(line_time, lines) if t is not None]
    assert times == sorted(times), "Mermaid lines follow the run's time"
    down = [i for i, line in enumerate(lines) if f"Note over {me}: t=" in line and " down (" in line]
    assert len(down) == 1, down
    i = down[0]
    assert lines[i].strip() == f"Note over {me}: t={at} down (crashed, disk {'kept' if durable else 'lost'})"
    assert lines[i - 1].strip() == f"rect {DOWN_FILL}" and lines[i + 1].strip() == "end"
    back = [line.strip() for line in lines if f"Note over {me}: t=" in line and " back (" in line]
    if until is None:
        assert back == []
    else:
        words = "restarted with its disk" if durable else f"restarted empty as {node}~2: disk lost"
        assert back == [f"Note over {me}: t={until} back ({words})"]
    # While down, nothing reaches the node: a message due then is a -x arrow saying why.
    end = until if until is not None else 10**9
    for line in lines:
        arrival = re.search(rf"->>{me}: .* arrives t=(\d+)", line)
        assert not (arrival and at <= int(arrival.group(1)) < end), line
    lost = [line for line in lines if re.search(rf"-x{me}: .* lost on arrival", line)]
    assert all(line.endswith(f"{node} is down") for line in lines if f"-x{me}: " in line
               and "lost on arrival" in line)
    assert "Dropped" not in text and "Crashed" not in text and "Restarted" not in text
    assert outage is None or lost, "the workload replicates to the node while it is down"


def check_shiviz_outage(text: str, node: str, at: int, until: int | None) -> None:
    events = parse_shiviz(text)
    check_shiviz_rules(events)
    mine = [(int(re.match(r"t=(\d+)", e).group(1)), e) for h, e, _ in events if h == node]
    down = [i for i, (_, e) in enumerate(mine) if f"{node}: down (" in e]
    assert len(down) == 1 and mine[down[0]][0] == at
    after = mine[down[0] + 1:]
    if until is None:
        assert after == [], "a node down for good has no event after its outage"
    else:
        assert after and after[0][0] == until and f"{node}: back (" in after[0][1], after[:1]


@pytest.mark.parametrize("protocol", ["leader", "leaderless"])
@pytest.mark.parametrize(("durable", "until"), [(True, 500), (False, 500), (False, None)])
def test_an_az_outage_is_marked_at_its_times_in_every_export(protocol, durable, until) -> None:
    outage = AzOutage(150, "eu-west-1", "a", until=until, durable=durable)
    result = grouped(protocol, az_outages=[outage])
    check_mermaid_outage(to_mermaid(result), outage.node, outage, 150, until, durable)
    check_shiviz_outage(to_shiviz(result), outage.node, 150, until)
    story = build(result)
    notes = {s["n"]: s["note"] for s in page_data(story)["steps"]}
    crash = next(s for s in story.steps if s.event("Crashed") is not None)
    assert notes[crash.index] == f"{outage.node}: down (crashed, disk {'kept' if durable else 'lost'})"
    assert '"note":"eu-west-1a: down (crashed' in to_html(result)


@pytest.mark.parametrize("durable", [True, False])
def test_a_crash_and_restart_in_a_plain_scenario_is_marked(durable) -> None:
    """The crash scenario: eu-west-1 down at t=120, back at t=1000; messages sent to it in
    between are lost on arrival, and the exports say so there, not at their send."""
    result = scenarios.run("crash", merge="item-lww", seed=0, durable=durable)
    check_mermaid_outage(to_mermaid(result), "eu-west-1", None, 120, 1000, durable)
    check_shiviz_outage(to_shiviz(result), "eu-west-1", 120, 1000)
    story = build(result)
    lost = [m for m in story.messages if m.dropped]
    assert lost and all(m.reason == "crashed" and m.dst == "eu-west-1" for m in lost)
    assert all(story.step(m.lost_step).time == m.due for m in lost), "lost when it would arrive"
    shiviz = to_shiviz(result)
    assert "DROPPED by the network" not in shiviz and "DROPPED by the network" not in to_mermaid(result)
    for m in lost:
        assert f"{m.label} to eu-west-1 (sent t={m.sent_time}) lost on arrival: eu-west-1 is down" in shiviz


def expected_reach(cuts: list[AzPartition], nodes: list[str], t: int) -> dict[str, set[str]]:
    """The oracle: who each node cannot reach at ``t``, straight from the cuts' intervals."""
    out: dict[str, set[str]] = {n: set() for n in nodes}
    for cut in cuts:
        if cut.active(t):
            rest = {n for n in nodes if n.startswith(cut.region) and n != cut.node}
            out[cut.node] |= rest
            for other in rest:
                out[other].add(cut.node)
    return out


@pytest.mark.parametrize("protocol", ["leader", "leaderless"])
def test_overlapping_az_cuts_mark_exactly_the_nodes_whose_reach_changed(protocol) -> None:
    """Two overlapping AZ cuts are scheduled as heal-and-cut-again at each boundary; the marks
    must follow the real reach (an oracle from the intervals), never a heal that did not happen."""
    cuts = [AzPartition(100, "eu-west-1", "a", until=400), AzPartition(200, "eu-west-1", "b", until=500)]
    result = grouped(protocol, az_partitions=cuts)
    story = build(result)
    nodes = list(story.replicas)
    marks: dict[int, dict[str, str]] = {}
    for index, changes in faults.cut_changes(story).items():
        marks.setdefault(story.step(index).time, {}).update(dict(changes))
    assert sorted(marks) == [100, 200, 400, 500]
    for t in sorted(marks):
        before, after = expected_reach(cuts, nodes, t - 1), expected_reach(cuts, nodes, t)
        expected = {}
        for n in nodes:
            parts = []
            if after[n] - before[n]:
                parts.append("cut off from " + ", ".join(sorted(after[n] - before[n])))
            if before[n] - after[n]:
                parts.append("reaches " + ", ".join(sorted(before[n] - after[n])) + " again")
            if parts:
                expected[n] = "; ".join(parts)
        assert marks[t] == expected, t
    events = parse_shiviz(to_shiviz(result))
    check_shiviz_rules(events)
    shown = {(int(re.match(r"t=(\d+)", e).group(1)), h, e.split(": ", 1)[1].removesuffix(" (network)"))
             for h, e, _ in events if e.endswith("(network)")}
    assert shown == {(t, n, w) for t, ws in marks.items() for n, w in ws.items()}
    mermaid = to_mermaid(result)
    assert "t=200 network: eu-west-1b cut off from eu-west-1c<br/>eu-west-1c cut off from eu-west-1b" in mermaid
    assert "reaches" not in mermaid.split("t=400")[0], "no heal is shown before the first cut ends"


def test_a_whole_region_partition_is_marked_on_every_node_and_healed() -> None:
    result = scenarios.run("partition", merge="causal", seed=0)
    events = parse_shiviz(to_shiviz(result))
    check_shiviz_rules(events)
    network = [(h, e) for h, e, _ in events if e.endswith("(network)")]
    assert network == [
        ("ap-southeast-2", "t=200 ap-southeast-2: cut off from eu-west-1 (network)"),
        ("eu-west-1", "t=200 eu-west-1: cut off from ap-southeast-2, us-east-1 (network)"),
        ("us-east-1", "t=200 us-east-1: cut off from eu-west-1 (network)"),
        ("ap-southeast-2", "t=3000 ap-southeast-2: reaches eu-west-1 again (network)"),
        ("eu-west-1", "t=3000 eu-west-1: reaches ap-southeast-2, us-east-1 again (network)"),
        ("us-east-1", "t=3000 us-east-1: reaches eu-west-1 again (network)"),
    ]
    lines = to_mermaid(result).splitlines()
    cut = next(i for i, line in enumerate(lines) if "t=200 network:" in line)
    assert lines[cut].strip().startswith("Note over ap_southeast_2,us_east_1: t=200 network: ")
    assert lines[cut - 1].strip() == f"rect {DOWN_FILL}" and lines[cut + 1].strip() == "end"
    heal = next(line for line in lines if "t=3000 network:" in line)
    assert "eu-west-1 reaches ap-southeast-2, us-east-1 again" in heal


#: sha256 (first 16 hex digits) of to_mermaid, to_shiviz and to_html of runs without
#: faults, taken before the fault marks existed: those bytes must not move. After an
#: intended change to a fault-less export, print the new digests with ``_digests()``.
#: (The step-through pages' digests moved once since, with the page's own script: its
#: in-flight rule keeps a copy lost on arrival in flight until it arrives. Everything else
#: in those pages — the diagram, the data — was checked to be byte-identical.)
FAULTLESS = {
    "cart/causal": ["ac8020b0705e9424", "370876f2af667b78", "6290a1a80cdc15d8"],
    "cart/item-lww": ["fc786ca7ddff3788", "d80648539cd78cc7", "3562fce41ece7d03"],
    "counter/causal": ["0032c5332569c9cf", "daffd915f7312f87", "15ac91063d0470d9"],
    "counter/item-lww": ["f0ddb76f5fe8e810", "299d794f9f1be7d0", "31d54a395051c1b5"],
    "london-3az-leader": ["24817d961d903f8c", "022833a4570ec4fe", "9b6785ec7849fbe2"],
    "london-3az-leaderless": ["090c923b914dc860", "d1914407801a55a1", "d39cf7a1867c130d"],
    "london-batch-at-home/causal": ["cbfd55f3ed96aebf", "d5001dd99f2c35cf", "098b884ff8724f3e"],
    "london-batch-at-home/item-lww": ["33e9720c81b3d837", "ffd5458a6a5cf3a4", "a126852bd5c868d3"],
}


def _digests() -> dict[str, list[str]]:
    def h(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    runs = {f"{name}/{merge}": scenarios.run(name, merge=merge, seed=0)
            for name in ("cart", "counter", "london-batch-at-home") for merge in ("item-lww", "causal")}
    for protocol in ("leader", "leaderless"):
        runs[f"london-3az-{protocol}"] = scenarios.run("london", merge="item-lww", seed=0,
                                                       replicas_per_region=3, region_protocol=protocol)
    return {case: [h(to_mermaid(r)), h(to_shiviz(r)), h(to_html(r))] for case, r in runs.items()}


def test_runs_without_faults_export_the_same_bytes_as_before_the_marks() -> None:
    assert _digests() == FAULTLESS


_MARKED = ("import hashlib, sys; from replicalab import scenarios, viz; "
           "from replicalab.scenarios.regions import AzOutage; "
           "r = scenarios.run('london', merge='causal', seed=0, replicas_per_region=3, "
           "region_protocol='leader', az_outages=[AzOutage(150, 'eu-west-1', 'a', until=500, durable=False)]); "
           "print(hashlib.sha256('\\x00'.join([viz.to_mermaid(r), viz.to_shiviz(r), viz.to_html(r)])"
           ".encode()).hexdigest())")


def test_the_marked_exports_are_the_same_bytes_under_any_hash_seed() -> None:
    outs = {subprocess.run([sys.executable, "-c", _MARKED], env={**os.environ, "PYTHONHASHSEED": seed},
                           check=True, capture_output=True, text=True).stdout.strip()
            for seed in ("0", "4242")}
    assert len(outs) == 1, outs


def test_a_one_way_cut_says_who_cannot_send_and_who_cannot_hear() -> None:
    scenario = attrs.evolve(scenarios.get("london"), faults=(OneWayCut(100, "eu-west-1", "us-east-1"), Heal(400)))
    result = scenario.run("causal", 0)
    events = parse_shiviz(to_shiviz(result))
    check_shiviz_rules(events)
    assert [e for _, e, _ in events if e.endswith("(network)")] == [
        "t=100 eu-west-1: cannot send to us-east-1 (network)",
        "t=100 us-east-1: cannot hear from eu-west-1 (network)",
        "t=400 eu-west-1: can send to us-east-1 again (network)",
        "t=400 us-east-1: hears from eu-west-1 again (network)",
    ]
    assert "eu_west_1-xus_east_1: w1 sent t=140, lost on arrival at t=211: a partition cut it off" in \
        to_mermaid(result)


def test_the_page_data_of_a_cut_names_the_nodes() -> None:
    result = grouped("leader", az_partitions=[AzPartition(100, "eu-west-1", "c", until=400)])
    notes = [s["note"] for s in page_data(build(result))["steps"] if s["replica"] is None]
    assert notes[0] == ("network: eu-west-1a cut off from eu-west-1c; eu-west-1b cut off from eu-west-1c; "
                        "eu-west-1c cut off from eu-west-1a, eu-west-1b")
    assert json.dumps(notes[-1]).startswith('"network: eu-west-1a reaches eu-west-1c again')


def test_a_one_way_heal_is_a_plain_note_in_mermaid_like_every_heal() -> None:
    """Mermaid boxes a cut in grey and writes a heal as a plain note (module docs); the heal
    of a one-way cut ('can send to ... again', 'hears from ... again') is a heal too."""
    scenario = attrs.evolve(scenarios.get("london"), faults=(OneWayCut(100, "eu-west-1", "us-east-1"), Heal(400)))
    lines = to_mermaid(scenario.run("causal", 0)).splitlines()
    cut = next(i for i, line in enumerate(lines) if "t=100 network:" in line)
    heal = next(i for i, line in enumerate(lines) if "t=400 network:" in line)
    assert lines[cut - 1].strip() == f"rect {DOWN_FILL}"
    assert lines[heal - 1].strip() != f"rect {DOWN_FILL}" and "end" not in [line.strip() for line in lines[heal:]]
