"""A node's outage is visible in the space-time picture, and a merge that names no write says
what it was in the timeline.

The contract (replicalab/viz/svg.py, svg_rows.py): every ``Crashed`` step of a replica carries
the visible label ``down`` (``down, disk lost`` when it lost its state) and a bar across its
lane; every ``Restarted`` step ``back`` / ``back, disk lost``; between the two rows (or to the
bottom, when it never came back) the lane is drawn dashed instead of solid. Checked over a
matrix of scenarios (the single-replica ``crash``, AZ outages in leader and leaderless
regions, the dynamo and leader clusters, durable or not, healed or not) and views (full,
compact, page width), against the trace's own Crashed/Restarted events as the oracle.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from replicalab import scenarios
from replicalab.scenarios.regions import AzOutage
from replicalab.viz.story import build, merge_carried
from replicalab.viz.svg import diagram

LEADER = {"replicas_per_region": 3, "region_protocol": "leader"}
LEADERLESS = {"replicas_per_region": 3, "region_protocol": "leaderless"}

RUNS: dict[str, tuple[str, dict[str, Any]]] = {
    "crash-lossy": ("crash", {}),
    "crash-durable": ("crash", {"durable": True}),
    "london-leader-az": ("london", {**LEADER, "merge": "attribute-lww", "az_outages": [
        AzOutage(144, "eu-west-1", "a", until=600, durable=False)]}),
    "london-leader-az-for-good": ("london", {**LEADER, "az_outages": [AzOutage(144, "eu-west-1", "a")]}),
    "london-leaderless-az": ("london", {**LEADERLESS, "az_outages": [
        AzOutage(100, "eu-west-1", "a", until=400, durable=False)]}),
    "dynamo-crash": ("dynamo", {"fault": "crash", "ops": 40}),
    "dynamo-crash-lossy": ("dynamo", {"fault": "crash-lossy", "ops": 40}),
    "dynamo-no-heal": ("dynamo", {"fault": "crash", "heal": False, "ops": 40}),
    "leader-follower-crash": ("leader", {"fault": "follower-crash-lossy", "ops": 30}),
}
VIEWS: dict[str, dict[str, Any]] = {"full": {"compact": False}, "compact": {"compact": True},
                                    "page": {"width": 700}}

_TEXT = re.compile(r'<text x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>')
_LINE = re.compile(r'<line x1="([\d.]+)" y1="([\d.]+)" x2="\1" y2="([\d.]+)" stroke="([^"]+)"'
                   r' stroke-width="([\d.]+)"( stroke-dasharray="3 4")?/>')


def _step_labels(svg: str) -> list[tuple[float, str]]:
    """Each drawn step's label lines joined (a page layout wraps them), with the first line's y."""
    out = []
    for body in re.findall(r'<g class="step" data-step="\d+">(.*?)</g>', svg, re.S):
        lines = _TEXT.findall(body)
        if lines:
            out.append((float(lines[0][1]), " ".join(text for _, _, text in lines)))
    return out


def _run(case: str) -> Any:
    name, options = RUNS[case]
    options = dict(options)
    return scenarios.run(name, options.pop("merge", "item-lww"), **options)


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("case", sorted(RUNS))
def test_every_crash_and_restart_is_labelled_and_the_lane_is_dashed_while_down(case: str, view: str) -> None:
    result = _run(case)
    drawing = diagram(result, **VIEWS[view])
    svg = drawing.to_svg()
    crashes = [(e.replica, bool(e.get("durable"))) for e in result.trace.of_kind("Crashed")]
    restarts = [(e.replica, bool(e.get("durable"))) for e in result.trace.of_kind("Restarted")]
    assert crashes, "the case must have an outage"
    steps = _step_labels(svg)
    words = [label for _, label in steps]
    want_down = sorted("down" if durable else "down, disk lost" for _, durable in crashes)
    want_back = sorted("back" if durable else "back, disk lost" for _, durable in restarts)
    assert sorted(w for w in words if w.startswith("down")) == want_down
    assert sorted(w for w in words if w.startswith("back")) == want_back

    # Oracle for where: the rows of the Crashed / Restarted steps, read from the labels' y.
    story = build(result)
    down_y = {y - 4 for y, w in steps if w.startswith("down")}
    back_y = {y - 4 for y, w in steps if w.startswith("back")}
    dashed = [(float(x), float(y1), float(y2)) for x, y1, y2, _, _, dash in _LINE.findall(svg) if dash]
    assert len(dashed) == len(crashes)
    never_back = {r for r, _ in crashes} - {r for r, _ in restarts}
    for x, y1, y2 in dashed:
        assert y1 in down_y and y2 > y1
        assert y2 in back_y or never_back, (x, y1, y2)
        # the solid lane stops at the crash and resumes at the restart, never overlaps the gap
        solid = [(a, b) for lx, a, b, colour, width, dash in _LINE.findall(svg)
                 if not dash and float(lx) == x and colour == "#BBBBBB" and width == "2"]
        assert solid and all(float(b) <= y1 or float(a) >= y2 for a, b in solid), solid
    assert story.steps  # the story built: the picture's steps come from it


@pytest.mark.parametrize("case", ["london-leader-az", "crash-lossy", "dynamo-crash-lossy"])
def test_the_outage_labels_keep_clear_of_other_labels_and_read_at_11px(case: str) -> None:
    svg = _run(case).to_svg()
    labels = re.findall(r'<text x="([\d.]+)" y="([\d.]+)"([^>]*)>((?:down|back)[^<]*)</text>', svg)
    assert labels
    for _, _, attributes, _ in labels:
        assert 'font-size="11"' in attributes and 'font-weight="bold"' in attributes
    # no other text starts on the same baseline within the label's width (11 px bold estimate)
    for x, y, _, word in labels:
        right = float(x) + len(word) * 11 * 0.58 * 1.1
        clash = [(ox, t) for ox, oy, t in _TEXT.findall(svg)
                 if oy == y and t != word and float(x) <= float(ox) < right]
        assert not clash, (word, clash)


def test_a_run_without_outages_draws_no_dashed_lane() -> None:
    svg = scenarios.run("london").to_svg()
    assert not [m for m in _LINE.findall(svg) if m[5]]
    assert not re.search(r">(down|back)[^<]*</text>", svg)


def test_lane_names_are_sized_as_the_bold_text_they_are_drawn_in() -> None:
    """Every scenario's picture, full and compact: neighbouring lane names (bold 12 px, at the
    module's own bold estimate) are at least 6 px apart, or set at an angle."""
    for name in ("cart", "crash", "london", "skew"):
        for options in ({}, LEADER):
            if name == "crash" and options:
                continue
            for compact in (False, True):
                svg = scenarios.run(name, **options).to_svg(compact=compact)
                names = re.findall(r'<text x="([\d.]+)" y="[\d.]+"([^>]*font-weight="bold"[^>]*'
                                   r'font-size="12"[^>]*)>([a-z0-9-]+)</text>', svg)
                lanes = [(float(x), n) for x, a, n in names if "rotate(" not in a
                         and "text-anchor=\"middle\"" in a and " (" not in n]
                edges = sorted((x - len(n) * 12 * 0.58 * 1.1 / 2, x + len(n) * 12 * 0.58 * 1.1 / 2)
                               for x, n in lanes)
                gaps = [b[0] - a[1] for a, b in zip(edges, edges[1:], strict=False)]
                assert all(g >= 6 - 0.1 for g in gaps), (name, options, compact, gaps)


def test_a_catch_up_merge_says_catch_up_in_the_timeline_not_empty_brackets() -> None:
    result = scenarios.run("london", **LEADERLESS, az_outages=[
        AzOutage(100, "eu-west-1", "a", until=400, durable=False)])
    timeline = result.timeline()
    assert "(): " not in timeline
    assert "eu-west-1a receives sub_42 from eu-west-1c (catch-up): stored w2" in timeline
    notes = [step.note for step in build(result).steps]
    assert not [n for n in notes if "(): " in n]
    assert any("(catch-up)" in n for n in notes)


def test_merge_carried_names_the_write_or_what_kind_of_copy_it_was() -> None:
    assert merge_carried("w7", {"type": "CaughtUp"}) == "w7"
    assert merge_carried("", {"type": "CaughtUp"}) == "catch-up"
    assert merge_carried(None, None, True) == "read repair"
    assert merge_carried("", {"type": "Replicate"}) == "a copy with no write id"


@pytest.mark.parametrize("case", ["crash-lossy", "dynamo-crash", "leader-follower-crash", "london-leader-az"])
def test_the_legend_explains_the_outage_marks_only_where_there_is_an_outage(case: str) -> None:
    assert "node down, then back (its lane dashed in between)" in _run(case).to_svg()
    assert "node down, then back" not in scenarios.run(RUNS[case][0] if case != "crash-lossy" else "london").to_svg()


def test_a_side_by_side_picture_explains_the_outage_marks_when_one_side_has_them() -> None:
    from replicalab.viz.svg import compare_svg

    with_crash = [scenarios.run("crash", m) for m in ("item-lww", "causal")]
    assert "node down, then back" in compare_svg(with_crash)
    assert "node down, then back" not in compare_svg([scenarios.run("london", m) for m in ("item-lww", "causal")])
