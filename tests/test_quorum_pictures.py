"""A cluster run's space-time picture carries the quorum ledger's verdicts and the stale reads.

Every client write a node coordinated is drawn with the mark of its verdict (kept, sibling,
superseded, lost, hint-only, rejected) and its note says the verdict and why; every stale read
is marked and labelled STALE; the legend explains each mark; the title and summary count what
went wrong. Checked over a matrix of settings and faults against the ledger itself.
"""

from __future__ import annotations

import re

import pytest

from replicalab.errors import ConfigError
from replicalab.scenarios import dynamo
from replicalab.viz import _svg as s
from replicalab.viz.story import build

#: The first element of a write's marker, by verdict (write_mark's shapes and colours).
MARK = {
    "kept": rf'<circle [^>]*fill="{s.BLUE}"',
    "sibling": rf'<polygon [^>]*fill="{s.SKY}"',
    "superseded": rf'<circle [^>]*fill="#FFFFFF" stroke="{s.GREY}"',
    "lost": rf'<rect [^>]*fill="{s.VERMILLION}"',
    "hint-only": rf'<circle [^>]*stroke="{s.VERMILLION}"[^>]*stroke-dasharray',
    "rejected": r'<rect [^>]*fill="#FFFFFF"',
}

SETTINGS = [
    {"n": 3, "r": 1, "w": 1, "fault": "crash-lossy"},
    {"n": 3, "r": 2, "w": 2, "fault": "az-outage"},
    {"n": 3, "r": 1, "w": 1, "sloppy": True, "fault": "isolated-crash", "heal": False},
    {"n": 3, "r": 1, "w": 3, "fault": "az-partition"},
    {"n": 3, "r": 1, "w": 1, "fault": "isolated-crash", "heal": False},
]


def _groups(svg: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(2)
            for m in re.finditer(r'<g class="step" data-step="(\d+)">(.*?)</g>', svg, re.S)}


@pytest.mark.parametrize("options", SETTINGS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_every_coordinated_write_wears_the_mark_and_note_of_its_verdict(options) -> None:
    result = dynamo.run(seed=0, ops=40, **options)
    svg = result.to_svg()
    story = build(result)
    groups = _groups(svg)
    verdicts = {e.op: e for e in result.ledger.entries}
    drawn = set()
    for step in story.steps:
        if step.kind != "write":
            continue
        entry = verdicts[step.write]
        group = groups[step.index]
        after_title = group.split("</title>", 1)[1].lstrip()
        assert re.match(MARK[entry.verdict], after_title), (step.write, entry.verdict, after_title[:120])
        title = re.search(r"<title>(.*?)</title>", group, re.S)
        assert title is not None
        assert f"verdict: {entry.verdict}" in title.group(1)
        drawn.add(step.write)
    # Every write that reached a coordinator has its mark (a request that never reached a node
    # has no step to draw it on: the ledger table lists it).
    assert drawn == {e.get("op") for e in result.trace.of_kind("QuorumPut")}
    for stale in result.stale_reads:
        step = next(x for x in story.steps if story.read_op(x) == stale.read)
        assert f"{stale.read}: STALE" in groups[step.index]
        assert s.ORANGE in groups[step.index].split("</title>", 1)[1]
    gone = sorted(op for op, e in verdicts.items() if e.verdict in ("lost", "hint-only"))
    assert f"{len(gone)} acknowledged writes lost or only in hints" in svg
    assert f"{len(result.stale_reads)} stale reads" in svg


def test_the_matrix_shows_every_verdict_and_a_stale_read_somewhere() -> None:
    """The settings above are not vacuous: together they draw every mark."""
    seen: set[str] = set()
    stale = 0
    for options in SETTINGS:
        result = dynamo.run(seed=0, ops=40, **options)
        seen |= {e.verdict for e in result.ledger.entries
                 if e.op in {x.get("op") for x in result.trace.of_kind("QuorumPut")}}
        stale += len(result.stale_reads)
    assert seen >= {"kept", "sibling", "superseded", "hint-only", "rejected"}
    assert stale > 0


def test_the_legend_names_every_quorum_verdict_and_the_table_legend_is_not_used() -> None:
    svg = dynamo.run(seed=0, ops=20).to_svg()
    for words in ("kept", "sibling", "superseded", "THEN LOST", "ONLY IN A HINT", "rejected", "STALE read"):
        assert words in svg
    assert "SILENTLY LOST write" not in svg  # the table ledger's words do not apply here


def test_the_picture_is_deterministic_and_refuses_a_run_without_a_trace() -> None:
    assert dynamo.run(seed=2, ops=30).to_svg() == dynamo.run(seed=2, ops=30).to_svg()
    with pytest.raises(ConfigError, match="trace=True"):
        dynamo.run(seed=0, ops=10, trace=False).to_svg()
    small = dynamo.run(seed=0, ops=10)
    with pytest.raises(ConfigError, match="page width in px from 240"):
        small.to_svg(width=10)
    with pytest.raises(ConfigError, match="compact must be True, False or None"):
        small.to_svg(compact=1)  # type: ignore[arg-type]
    assert small.to_svg(width=680).startswith("<svg")


# -- the superseded why never suggests a live copy ------------------------------------------


def _superseded_entry(up: tuple[bool, bool]):
    from replicalab.dots import CausalContext, Dot
    from replicalab.ledger.quorum import NodeState, QuorumWrite, judge_quorum
    from replicalab.quorum.versions import DottedVersion

    old, new = Dot("n1", 1), Dot("n2", 1)
    successor = DottedVersion("b", new, CausalContext(cloud=frozenset({old})), "w2")
    writes = [QuorumWrite("w1", "k", "c1", 0, old, acknowledged=True, answered=1, stored_at=("n1",))]
    states = [NodeState("n1", {"k": (successor,)}, {}, intact=True, up=up[0]),
              NodeState("n2", {"k": (successor,)}, {}, intact=True, up=up[1])]
    return judge_quorum(writes, states, {"k": ("n1", "n2")}, {}).entries[0]


def test_a_superseded_why_names_holders_that_are_down_and_says_when_none_is_up() -> None:
    """Lesson: 'overwritten by a write held at n1, n2' misleads when both are down: no read can
    see that write until one comes back. The why says so."""
    both_up = _superseded_entry((True, True))
    assert both_up.verdict == "superseded" and "down" not in both_up.why
    one_down = _superseded_entry((False, True))
    assert "n1 (down, its state intact)" in one_down.why and "no read sees it" not in one_down.why
    both_down = _superseded_entry((False, False))
    assert both_down.verdict == "superseded"
    assert "every node holding that write is down, so no read sees it until one is back" in both_down.why
