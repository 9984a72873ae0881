"""A message lost on arrival ends where it arrived, in the space-time picture as in every export.

The contract (replicalab/viz/faults.py, "one rule for where a lost message ends"): a copy the
network lost on arrival (its destination down, or cut off when it got there) is drawn as a
dashed line from its send to an X **on the receiver's lane, at the row of the step that lost
it** — the time Mermaid's ``-x`` arrow and the step-through page give — labelled
``w1 dropped on arrival``; the notes column says it in the words of the other exports. A
copy lost on the way keeps its stub at the send. Checked over a matrix of runs (a one-way cut,
the crash and partition scenarios, an AZ outage in a leaderless region, a Dynamo cluster's crash) and views
(full, compact, page width, summarised), with the trace's own events as the oracle; a page
layout stays as wide as the page.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import pytest

from replicalab import scenarios
from replicalab.scenarios.regions import AzOutage
from replicalab.sim.faults import Heal, OneWayCut
from replicalab.viz import faults, to_mermaid
from replicalab.viz._svg import text_width
from replicalab.viz.story import Story, build
from replicalab.viz.svg import diagram


def _one_way_cut() -> Any:
    scenario = attrs.evolve(scenarios.get("london"),
                            faults=(OneWayCut(100, "eu-west-1", "us-east-1"), Heal(400)))
    return scenario.run("causal", 0)


RUNS = {
    "one-way-cut": _one_way_cut,
    "crash": lambda: scenarios.run("crash", merge="item-lww", seed=0),
    "partition": lambda: scenarios.run("partition", merge="causal", seed=0),
    "leaderless-az-outage": lambda: scenarios.run(
        "london", "item-lww", replicas_per_region=3, region_protocol="leaderless",
        az_outages=[AzOutage(100, "eu-west-1", "a", until=400, durable=False)]),
    "dynamo-crash": lambda: scenarios.run("dynamo", "item-lww", fault="crash", ops=40),
}
VIEWS: dict[str, dict[str, Any]] = {"full": {"compact": False}, "compact": {"compact": True},
                                    "page": {"width": 700}, "fold": {"fold": True}}

_CROSS = re.compile(r'<path d="M([\d.]+),([\d.]+)L([\d.]+),([\d.]+)M')
_ROW = re.compile(r'<rect class="row" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"[^>]*'
                  r'data-first="(\d+)" data-last="(\d+)"/>')
_LANE = re.compile(r'<line x1="([\d.]+)" y1="[\d.]+" x2="\1" y2="[\d.]+"')


def _arrival_from_the_trace(story: Story) -> dict[int, int]:
    """The oracle: {message number: the step whose Dropped event lost it}, for copies whose
    Dropped event came at a later step than their Sent event — read from trace events alone."""
    sent: dict[int, tuple[int, int]] = {}  # trace id -> (message number, step)
    out: dict[int, int] = {}
    number = 0
    for step in story.steps:
        for e in step.events:
            if e.kind in ("Sent", "Duplicated") and step.replica is not None:
                sent[e.get("id")] = (number, step.index)
                number += 1
            elif e.kind == "Dropped" and e.get("id") in sent and sent[e.get("id")][1] != step.index:
                out[sent[e.get("id")][0]] = step.index
    return out


@pytest.fixture(scope="module", params=sorted(RUNS))
def run(request: pytest.FixtureRequest) -> tuple[str, Any, Story]:
    result = RUNS[request.param]()
    return request.param, result, build(result)


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_a_copy_lost_on_arrival_is_an_x_on_the_receivers_lane_at_its_arrival_row(run, view) -> None:
    case, result, story = run
    lost = _arrival_from_the_trace(story)
    assert lost, f"{case} must lose a copy on arrival"
    assert {m.index for m in story.messages if faults.lost_on_arrival(m)} == set(lost)
    svg = diagram(story, **VIEWS[view]).to_svg()
    lanes = sorted({float(x) for x in _LANE.findall(svg)})
    assert len(lanes) == len(story.replicas), lanes
    lane_x = dict(zip(story.replicas, lanes, strict=True))
    row_y: dict[int, float] = {}
    folded: set[int] = set()
    for y, height, first, last in _ROW.findall(svg):
        for index in range(int(first), int(last) + 1):
            row_y[index] = float(y) + 15  # Row.y: markers sit 15 px below the row's top
            if float(height) == 24.0:  # a folded row (a page layout of a long run folds too)
                folded.add(index)
    drawn = 0
    for number, step in sorted(lost.items()):
        m = story.messages[number]
        groups = re.findall(rf'<g class="msg" data-sent="{m.sent_step}" data-lost="{step}">(.*?)</g>',
                            svg, re.S)
        if m.sent_step in folded or step in folded:
            continue  # a summarised view draws no line into or out of a folded row
        assert groups, (case, view, m)
        crosses = [(float(a) + float(c)) / 2 for g in groups for a, _, c, _ in _CROSS.findall(g)]
        ys = [(float(b) + float(d)) / 2 for g in groups for _, b, _, d in _CROSS.findall(g)]
        assert lane_x[m.dst] in crosses, (case, view, m, crosses, lane_x)
        assert all(y == row_y[step] for y in ys), (case, view, m)
        said = [" ".join(re.findall(r">([^<>]+)</text>", g)) for g in groups]  # a page wraps it
        assert f"{m.label} dropped on arrival" in said, (case, view, m, said)
        drawn += 1
    assert drawn or folded, "every copy lost on arrival is drawn"
    if "width" in VIEWS[view]:  # its labels wrap like the lane labels: they fit on the page
        width = float(re.match(r'<svg[^>]* width="([\d.]+)"', svg).group(1))
        if len(story.replicas) <= 4:  # a few lanes fit the page: the labels must not widen it
            assert width == VIEWS[view]["width"], (case, width)
        for g in re.findall(r'<g class="msg"[^>]*data-lost="\d+">(.*?)</g>', svg, re.S):
            for x, line in re.findall(r'<text x="([\d.]+)"[^>]*>([^<]+)</text>', g):
                assert float(x) + text_width(line, 11) <= width, (case, line, x, width)
    # Nothing says it was dropped at its send: a stub there is for a copy lost on the way.
    stubs = re.findall(r">([^<>]+) to ([^<>]+) dropped<", svg)
    assert len(stubs) == sum(faults.lost_on_the_way(m) for m in story.messages)


def test_a_summarised_view_counts_a_folded_loss_on_arrival() -> None:
    """A summarised view draws no line into a folded row; the row must still say that a copy
    was lost there, not file it under 'other steps'."""
    story = build(_one_way_cut())
    folded = re.findall(r"⋯ [^<]*", diagram(story, fold=True).to_svg())
    assert any(note.endswith("1 loss on arrival") for note in folded), folded
    assert not any("other step" in note for note in folded), folded


def test_the_notes_say_a_drop_on_arrival_in_the_words_of_the_other_exports() -> None:
    result = _one_way_cut()
    story = build(result)
    (m,) = [m for m in story.messages if faults.lost_on_arrival(m)]
    notes = re.findall(r'<text x="[\d.]+" y="[\d.]+" font-family="DejaVu Sans Mono[^"]*" '
                       r'fill="[^"]+" font-size="11">([^<]*)</text>', diagram(story, compact=False).to_svg())
    text = " ".join(n.strip() for n in notes)
    assert f"t={story.step(m.lost_step).time}  eu-west-1: {faults.drop_text(m)}" in text
    assert "Dropped" not in text
    assert f"lost on arrival at t={story.step(m.lost_step).time}" in to_mermaid(result)
