"""Histories of real runs: MRSC's strong reads are linearizable; MREC's and a planted bug's are not."""

from __future__ import annotations

import random
from functools import cache

import attrs
import pytest

from replicalab import scenarios
from replicalab.checkers import Operation, history_of, linearizable
from replicalab.items import INITIAL_WRITE, Cell, Item, Stamp, Version
from replicalab.replica.mrsc import MrscRegion
from replicalab.replica.table import GetItem, UpdateItem
from replicalab.scenarios.clients import ClientRead
from replicalab.scenarios.world import TableScenario
from replicalab.sim import Link, Simulation, Uniform

REGIONS = ["ap-southeast-2", "eu-west-1", "us-east-1"]
START = Stamp(-1, "", 0)
INITIAL = {"k": Item((Version.of({"x": Cell("v0", INITIAL_WRITE, START)}, write=INITIAL_WRITE,
                                 stamp=START),))}


def mrsc_run(seed: int, ops: int = 14, ack_early: bool = False) -> Simulation:
    """Random writes and strongly consistent reads of one attribute, from all three regions."""
    rng = random.Random(seed)
    regions = [MrscRegion(r, items=INITIAL, ack_early=ack_early) for r in REGIONS]
    sim = Simulation(regions, link=Link(Uniform(20, 120)), seed=seed)
    for n in range(ops):
        at, region = int(rng.random() * 600), REGIONS[int(rng.random() * 3)]
        if rng.random() < 0.5:
            request: UpdateItem | GetItem = UpdateItem(f"w{n}", "k", {"x": f"v{n + 1}"})
        else:
            request = GetItem(f"r{n}", "k", consistent=True)
        sim.client_request(at, region, request, client=f"c{n}")
    sim.run_until_quiescent()
    return sim


def reference(ops: list[Operation]) -> bool:
    """An independent memoised Wing & Gong search over completed operations (no pending ones)."""
    done = tuple(sorted((op.call, op.ret, op.kind, op.input if op.kind == "write" else op.output)
                        for op in ops if op.ret is not None))

    @cache
    def search(remaining: frozenset[int], state: object) -> bool:
        if not remaining:
            return True
        first_return = min(done[i][1] for i in remaining)
        for i in remaining:
            call, _, kind, value = done[i]
            if call > first_return or (kind == "read" and value != state):
                continue
            if search(remaining - {i}, value if kind == "write" else state):
                return True
        return False

    return search(frozenset(range(len(done))), None)


@pytest.mark.parametrize("seed", range(30))
def test_mrsc_histories_with_strong_reads_are_linearizable(seed: int) -> None:
    history = history_of(mrsc_run(seed).trace)
    assert any(op.kind == "read" for op in history.operations)
    verdict = linearizable(history, "kv")
    assert verdict.ok, verdict.explain()


def test_the_planted_early_ack_bug_is_caught_and_both_checkers_agree_on_every_run() -> None:
    """Acknowledge first, replicate later: some strong read misses a write that had completed."""
    caught = 0
    for seed in range(40):
        history = history_of(mrsc_run(seed, ack_early=True).trace)
        assert all(op.ret is not None for op in history.operations)
        verdict = linearizable(history, "kv")
        assert verdict.ok == reference(list(history.operations)), seed
        caught += not verdict.ok
    assert caught >= 5


@pytest.mark.parametrize("name", scenarios.names())
def test_every_story_under_mrsc_is_linearizable(name: str) -> None:
    result = scenarios.run(name, mode="mrsc", seed=0)
    assert linearizable(history_of(result, reads="consistent"), "kv").ok


def test_london_under_item_lww_mrec_serves_a_read_that_misses_a_completed_write() -> None:
    """The lesson: in MREC, ConsistentRead is regional. The support agent in eu-west-1 reads
    sub_42 after the us-east-1 retention job's write has been acknowledged, but eu-west-1 has
    not heard of it yet — so no single copy of the item could have answered that way."""
    result = scenarios.run("london", merge="item-lww", seed=0)
    verdict = linearizable(history_of(result), "kv")
    assert not verdict.ok and verdict.key == "sub_42.last_contacted"
    core = verdict.core_history.operations
    assert [(op.label, op.kind, op.output) for op in core] == [("w2", "write", None),
                                                                ("r1", "read", None)]
    assert "retention-job" in verdict.explain()


def test_london_under_mrsc_reads_the_completed_write() -> None:
    result = scenarios.run("london", merge="item-lww", seed=0, mode="mrsc")
    assert linearizable(history_of(result), "kv").ok


def test_history_of_keeps_only_strong_reads_when_asked() -> None:
    sim = mrsc_run(3)
    everything = history_of(sim.trace)
    assert history_of(sim.trace, reads="consistent") == everything  # every read here is strong
    writes = [op for op in everything.operations if op.kind == "write"]
    assert all(op.key == "k.x" and op.input == op.label for op in writes)


def test_the_core_is_drawn_as_one_bar_per_operation_on_one_row_per_process() -> None:
    import xml.etree.ElementTree as ET

    from replicalab.viz import verdict_svg

    verdict = linearizable(history_of(mrsc_run(2, ack_early=True).trace), "kv")
    svg = verdict_svg(verdict)
    assert svg == verdict_svg(verdict)  # same verdict, same bytes
    root = ET.fromstring(svg)
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("rx") == "3"]
    assert len(bars) == len(verdict.core) == 3
    assert "not linearizable on k.x" in svg and "read[k.x]() -&gt; 'w9' (r2)" in svg
    ok = linearizable(history_of(mrsc_run(2).trace), "kv")
    assert verdict_svg(ok, limit=5).count('rx="3"') == 5


def late_eventual_reads() -> TableScenario:
    """London with only eventually consistent reads of sub_42, in every region, long after both
    writes were acknowledged and replicated."""
    story = scenarios.get("london")
    reads = tuple(ClientRead(2000, region, f"e{n}", f"reader-{region}", "sub_42", consistent=False)
                  for n, region in enumerate(story.regions))
    return attrs.evolve(story, name="london-late-reads", reads=reads)


def test_item_lww_turns_a_silent_loss_into_a_non_linearizable_history() -> None:
    """The lesson: under item-lww the London address update is acknowledged and then silently
    lost, so a read long afterwards — after every region has converged — still returns the old
    address. No single copy of the item could do that: the history is not linearizable, and the
    core is just the acknowledged write and a later read that does not see it."""
    result = late_eventual_reads().run(merge="item-lww", seed=0)
    assert result.summary["silently_lost"] == 1
    verdict = linearizable(history_of(result), "kv")
    assert not verdict.ok and verdict.key == "sub_42.delivery_address"
    assert [(op.label, op.kind) for op in verdict.core_history.operations] == [("w1", "write"),
                                                                                ("e0", "read")]


@pytest.mark.parametrize("merge", ["attribute-lww", "causal", "crdt"])
def test_merges_that_keep_both_attributes_give_late_reads_a_linearizable_history(merge: str) -> None:
    result = late_eventual_reads().run(merge=merge, seed=0)
    assert linearizable(history_of(result), "kv").ok


def test_a_write_whose_answer_was_cut_off_never_returned_but_may_have_taken_effect() -> None:
    """The client at b never hears that a applied w1 (a partition cuts the answer), so in the
    client's history w1 never returned; a later read that sees w1 is still linearizable."""
    from replicalab.replica.table import TableReplica
    from replicalab.sim import Constant
    from replicalab.sim.faults import Partition

    sim = Simulation([TableReplica("a"), TableReplica("b")], link=Link(Constant(10)), seed=0)
    sim.add_faults([Partition(15, (("a",), ("b",)))])
    sim.client_request(0, "a", UpdateItem("w1", "k", {"x": 1}), client="c1", via="b")
    sim.client_request(30, "a", GetItem("r1", "k"), client="c2")
    sim.run_until_quiescent()
    assert sim.trace is not None and sim.trace.of_kind("ReplyDropped")
    write, read = history_of(sim.trace).operations
    assert (write.label, write.ret) == ("w1", None)
    assert (read.label, read.output) == ("r1", "w1")
    assert linearizable([write, read], "kv").ok
