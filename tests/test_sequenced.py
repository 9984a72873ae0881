"""``Context.sequenced``: a write takes its place in a replica's order, behind named writes.

A leader region's partition leader applies a client write on a table that holds exactly the
writes of the log entries before it, which may be much more than the node the client reached
held when the request arrived (tests/test_review_regions2.py has the story). The contract:
ground truth re-mints the write's past as its arrival past joined with the pasts of the
writes it was ordered behind (on its scope only); the dot, replica and time stay; an unknown
op re-mints nothing; bad input is refused before anything changes; runs whose replicas never
call it (single-replica regions) are unchanged, which tests/test_golden_outputs.py pins.
"""

from __future__ import annotations

import types

import pytest

from replicalab import scenarios
from replicalab.clocks import VectorClock
from replicalab.errors import ConfigError
from replicalab.net.node import NetContext
from replicalab.replica.base import RecordingContext
from replicalab.scenarios.regions import AzOutage, AzPartition
from replicalab.sim.ground_truth import GroundTruth

LEADER = {"replicas_per_region": 3, "region_protocol": "leader"}


def _truth() -> GroundTruth:
    """w1 at a, w3 at c (key k); w9 at a on key other; w2 at b (key k) saw nothing."""
    truth = GroundTruth()
    truth.wrote("w1", "a", "a", "k", 1, "c1")
    truth.wrote("w9", "a", "a", "other", 2, "c9")
    truth.wrote("w2", "b", "b", "k", 3, "c2")
    truth.wrote("w3", "c", "c", "k", 4, "c3")
    return truth


def test_the_past_becomes_the_arrival_past_joined_with_the_pasts_it_was_ordered_behind() -> None:
    truth = _truth()
    before = truth.writes["w2"]
    fact = truth.sequenced("w2", "a", ("w1", "w9", "w3", "nobody", "w2"))
    assert fact is not None and fact.seen == VectorClock({"a": 1, "b": 1, "c": 1})
    assert (fact.dot, fact.replica, fact.time, fact.scope, fact.client) == (
        before.dot, before.replica, before.time, before.scope, before.client)
    assert fact.saw(truth.writes["w1"]) and fact.saw(truth.writes["w3"])
    assert not fact.saw(truth.writes["w9"])  # another key: not behind it on this scope
    assert list(truth.writes) == ["w1", "w9", "w2", "w3"]  # execution order kept
    assert truth.writes["w2"] is fact
    # The ordering node has it now, with that past (joined with what it had).
    assert truth.knowledge[("a", "k")] == VectorClock({"a": 1, "b": 1, "c": 1})
    assert truth.knowledge[("b", "k")] == VectorClock({"b": 1})  # the arrival node: unchanged


def test_ordered_behind_nothing_it_keeps_its_arrival_past_and_the_node_learns_it() -> None:
    truth = _truth()
    before = truth.writes["w2"]
    assert truth.sequenced("w2", "c") is before
    assert truth.knowledge[("c", "k")] == VectorClock({"b": 1, "c": 1})


def test_an_op_ground_truth_has_no_write_for_re_mints_nothing() -> None:
    truth = _truth()
    knowledge, writes = dict(truth.knowledge), dict(truth.writes)
    assert truth.sequenced("w404", "a", ("w1",)) is None
    assert truth.knowledge == knowledge and truth.writes == writes


@pytest.mark.parametrize("op, after", [("", ()), (None, ()), (3, ()), ("w2", "w1"), ("w2", ("w1", "")),
                                       ("w2", ("w1", 7)), ("w2", {"w1"}), ("w2", None)])
def test_the_simulator_refuses_bad_input_and_changes_nothing(op, after) -> None:
    prepared = scenarios.get("counter").prepare("causal", 0, **LEADER)
    sim = prepared.sim
    sim.run(until=101)
    ctx = sim._contexts[sorted(sim.replicas)[0]]
    writes, knowledge = dict(sim._truth.writes), dict(sim._truth.knowledge)
    with pytest.raises(ConfigError):
        ctx.sequenced(op, after)
    assert sim._truth.writes == writes and sim._truth.knowledge == knowledge


def test_recording_context_notes_each_call_and_checks_it() -> None:
    ctx = RecordingContext("a")
    ctx.sequenced("w2", ["w1"])
    ctx.sequenced("w3")
    assert ctx.sequenced_ops == [("w2", ("w1",)), ("w3", ())]
    assert ctx.commands == []  # not a command: it changes nothing the run does
    with pytest.raises(ConfigError):
        ctx.sequenced("w4", "w1")
    assert len(ctx.sequenced_ops) == 2


def test_the_network_runtime_refuses_it_by_name() -> None:
    node = types.SimpleNamespace(peers=(), rng=types.SimpleNamespace(random=lambda: 0.5),
                                 replica=types.SimpleNamespace(id="eu-west-1a"))
    with pytest.raises(ConfigError, match="real-network runtime cannot record"):
        NetContext(node).sequenced("w1")  # type: ignore[arg-type]


def test_single_replica_regions_never_re_mint() -> None:
    """The verb is a leader region's: one replica per region applies writes where they arrive."""
    calls = []
    original = GroundTruth.sequenced

    def spy(self, op, replica, after=()):
        calls.append(op)
        return original(self, op, replica, after)

    GroundTruth.sequenced = spy  # type: ignore[method-assign]
    try:
        for merge in ("causal", "item-lww"):
            scenarios.run("london", merge=merge, seed=0)
            scenarios.run("counter", merge=merge, seed=0)
        assert calls == []
        scenarios.run("counter", merge="causal", seed=0, **LEADER)
        assert sorted(calls) == ["w1", "w2", "w3"]
    finally:
        GroundTruth.sequenced = original  # type: ignore[method-assign]


# -- the independent oracle: the order the region applied writes in (its trace) ---------------

def _applied_before(result) -> dict[str, set[str]]:
    """For each write some leader Wrote: the writes whose effect its region's table on that key
    had taken in (a Wrote or Merged naming them, at any node of the region) before it."""
    order: dict[tuple[str, str], list[str]] = {}
    before: dict[str, set[str]] = {}
    for e in result.trace:
        if e.kind in ("Wrote", "Merged") and e.get("write"):
            seq = order.setdefault((e.replica[:-1], e.get("key")), [])
            if e.kind == "Wrote" and e.get("write") not in before:
                before[e.get("write")] = set(seq)
            if e.get("write") not in seq:
                seq.append(e.get("write"))
    return before


STORIES = [("counter", 0, [AzOutage(105, "eu-west-1", "b", until=366)],
            [AzPartition(101, "eu-west-1", "a", until=261)]),
           ("counter", 3, [AzOutage(90, "us-east-1", "a", until=400, durable=False)], []),
           ("london", 1, [AzOutage(150, "eu-west-1", "c", until=500)],
            [AzPartition(120, "us-east-1", "b", until=380)]),
           ("cart", 2, [], [AzPartition(100, "eu-west-1", "a", until=450)]),
           # Found by the fuzz that came with the fix: before it, the ledger said "w1 had not
           # seen w2" (skew) and "w3 had not seen w1" (counter), each of a write applied on a
           # table that held the other.
           ("skew", 9550, [AzOutage(101, "eu-west-1", "c", until=253)],
            [AzPartition(99, "eu-west-1", "b", until=353)]),
           ("counter", 1399, [AzOutage(110, "ap-southeast-2", "c", until=311, durable=False)],
            [AzPartition(102, "ap-southeast-2", "a", until=264)])]


@pytest.mark.parametrize("story", STORIES, ids=lambda s: f"{s[0]}-{s[1]}")
@pytest.mark.parametrize("merge", ["attribute-lww", "causal", "crdt", "item-lww"])
def test_a_leader_regions_write_had_seen_every_write_its_table_held_when_it_was_applied(story, merge) -> None:
    name, seed, outages, cuts = story
    result = scenarios.run(name, merge=merge, seed=seed, **LEADER, az_outages=outages, az_partitions=cuts)
    facts = {f.op: f for f in result.facts}
    for write, held in _applied_before(result).items():
        for other in held & set(facts):
            assert facts[write].saw(facts[other]), (write, other, facts[write])
    for entry in result.ledger:
        for fact in facts.values():
            assert f"{fact.op} had not seen {entry.write}" not in (entry.why or "") or \
                entry.write not in _applied_before(result).get(fact.op, set()), entry
