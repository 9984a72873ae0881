"""``Context.sequenced``: a write takes its place in a replica's order, behind named writes.

A leader region's partition leader applies a client write on a table that holds exactly the
writes of the log entries before it, which may be much more than the node the client reached
held when the request arrived (tests/test_review_regions2.py has the story). The contract:
ground truth re-mints the write's past as its own dot joined with the pasts of the writes
it was ordered behind (on its scope only), not what its arrival node had been told of; the dot, replica and time stay, except that
a write passed by a later one from its own node is named afresh (so that the later one does
not 'see' it); an unknown op re-mints nothing; bad input is refused before anything changes; runs whose replicas never
call it (single-replica regions) are unchanged, which tests/test_golden_outputs.py pins.
"""

from __future__ import annotations

import random
import types

import attrs
import pytest

from replicalab import scenarios
from replicalab.clocks import VectorClock
from replicalab.dots import Dot
from replicalab.errors import ConfigError
from replicalab.net.node import NetContext
from replicalab.quorum.leader import Entry
from replicalab.quorum.region import Input, RegionNode, _writes
from replicalab.replica.base import RecordingContext
from replicalab.scenarios.regions import AzOutage, AzPartition
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.ground_truth import GroundTruth
from replicalab.sim.network import Uniform

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


def _waiting() -> GroundTruth:
    """w1 then w2 reach b (dots b:1, b:2) and wait; w3 reaches c (c:1); x at b on another key."""
    truth = GroundTruth()
    truth.wrote("w1", "b", "b", "k", 150, "c1")
    truth.wrote("x", "b", "b", "other", 155, "cx")
    truth.wrote("w2", "b", "b", "k", 160, "c2")
    truth.wrote("w3", "c", "c", "k", 170, "c3")
    return truth


@pytest.mark.parametrize("named", [False, True])
def test_a_write_taken_ahead_of_an_earlier_one_from_its_node_does_not_see_it(named) -> None:
    """The leader c logs w3, then w2, then w1. w2's dot b:2 covers b:1; had w1 kept that dot,
    w2 would have 'seen' w1 and w1 (behind w2) w2: a cycle. w1 is named afresh instead."""
    truth = _waiting()
    w2_before = truth.writes["w2"]
    for n, (op, after) in enumerate((("w3", ()), ("w2", ("w3",)), ("w1", ("w3", "w2")))):
        if named:
            truth.sequenced(op, "c", after[-1:], log="p0", extends=n > 0)
        else:
            truth.sequenced(op, "c", after)
    w1, w2, w3 = (truth.writes[op] for op in ("w1", "w2", "w3"))
    assert w1.dot == Dot("b/w1", 1) and w2.dot == w2_before.dot == Dot("b", 2)
    assert w2.saw(w3) and not w2.saw(w1)
    assert w1.saw(w2) and w1.saw(w3) and w1.saw(w1)
    assert (w1.replica, w1.time, w1.scope) == ("b", 150, "k")  # only its name changed
    assert truth.writes["x"].dot == Dot("b", 1)  # another key: its own counters, untouched
    assert list(truth.writes) == ["w1", "x", "w2", "w3"]
    # Whoever held w1 under its old dot holds it under the new one (the node it reached, and
    # the leader, which w2's forward told of both): 'reached' stays what it was.
    assert truth.knowledge[("b", "k")] == VectorClock({"b": 2, "b/w1": 1})
    assert truth.knowledge[("c", "k")].get("b/w1") == 1


def test_writes_from_one_node_taken_in_their_order_keep_their_dots() -> None:
    truth = _waiting()
    before = dict(truth.writes)
    truth.sequenced("w3", "c")
    truth.sequenced("w1", "c", ("w3",))
    truth.sequenced("w2", "c", ("w3", "w1"))
    assert {op: f.dot for op, f in truth.writes.items()} == {op: f.dot for op, f in before.items()}
    assert truth.writes["w2"].saw(truth.writes["w1"]) and not truth.writes["w1"].saw(truth.writes["w2"])


def test_a_write_passed_twice_is_named_afresh_once() -> None:
    """w1, w2, w4 wait at b; the leader takes w4, then w2 (both pass w1), then w1."""
    truth = _waiting()
    truth.wrote("w4", "b", "b", "k", 165, "c4")  # b:3
    truth.sequenced("w4", "c")
    renamed = truth.writes["w1"]
    assert renamed.dot == Dot("b/w1", 1) and truth.writes["w2"].dot == Dot("b/w2", 1)
    truth.sequenced("w2", "c", ("w4",))
    truth.sequenced("w1", "c", ("w4", "w2"))
    w1, w2, w4 = (truth.writes[op] for op in ("w1", "w2", "w4"))
    assert w1.dot == renamed.dot
    assert not w4.saw(w1) and not w4.saw(w2) and w2.saw(w4) and not w2.saw(w1)
    assert w1.saw(w2) and w1.saw(w4)


def test_a_request_forwarded_to_a_node_is_not_in_the_past_of_a_write_that_arrives_there() -> None:
    """w2 reaches c and is forwarded to b (which thinks it leads); w3 then reaches b, whose
    knowledge holds w2. The leader a logs w3, then w2: w3 was applied on a table without w2."""
    truth = GroundTruth()
    truth.wrote("w2", "c", "c", "j", 133, "c2")
    truth.receive("b", truth.payload("c", "j", None))  # the forward
    truth.wrote("w3", "b", "b", "j", 140, "c3")
    assert truth.writes["w3"].saw(truth.writes["w2"])  # on arrival: b had been told of it
    truth.sequenced("w3", "a", (), log="p0")
    truth.sequenced("w2", "a", ("w3",), log="p0", extends=True)
    w2, w3 = truth.writes["w2"], truth.writes["w3"]
    assert not w3.saw(w2) and w2.saw(w3)
    assert w3.seen == VectorClock({"b": 1}) and w2.seen == VectorClock({"b": 1, "c": 1})
    assert truth.knowledge[("b", "j")] == VectorClock({"b": 1, "c": 1})  # b was told: unchanged


def test_a_leader_region_run_whose_forwarded_request_is_logged_late_has_no_cycle() -> None:
    """One region, keys j and k. 1b is down 29-134; w2 (j) reaches 1c at 133 and waits; w3 and
    w4 (j) reach 1b at 140-141, after 1c had told 1b of w2. The leader 1a logs w3, then w2 and
    w4. Ground truth said w3 had seen w2 and w2 w3. What is true: every write saw exactly the
    writes applied ahead of it, and the leader's order is the trace's ``Wrote`` order."""
    workload = (ClientWrite(133, "us-east-1", "w2", "c2", "j", {"a": "v2"}),
                ClientWrite(135, "us-east-1", "w5", "c5", "k", {"a": "v5"}),
                ClientWrite(140, "us-east-1", "w3", "c3", "j", {"b": "v3"}),
                ClientWrite(141, "us-east-1", "w4", "c4", "j", {"b": "v4"}),
                ClientWrite(143, "us-east-1", "w1", "c1", "k", {"b": "v1"}),
                ClientWrite(459, "us-east-1", "w6", "c6", "j", {"a": "v6"}),
                ClientWrite(459, "us-east-1", "w7", "c7", "j", {"b": "v7"}))
    scenario = TableScenario(name="late", description="a forwarded request logged late", regions=("us-east-1",),
                             latency={}, initial={"j": {"a": "a0", "b": "b0"}, "k": {"a": "a0", "b": "b0"}},
                             workload=workload)
    result = scenario.run("causal", 176, **LEADER, az_outages=[
        AzOutage(29, "us-east-1", "b", until=134), AzOutage(483, "us-east-1", "a", until=905, durable=False)],
        az_partitions=[AzPartition(348, "us-east-1", "b", 881)])
    order = [e.get("write") for e in result.trace.of_kind("Wrote") if e.get("key") == "j"]
    assert order == ["w3", "w2", "w4", "w6", "w7"]
    facts = {f.op: f for f in result.facts}
    for n, op in enumerate(order):
        assert {x for x in order if x != op and facts[op].saw(facts[x])} == set(order[:n]), op


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

    def spy(self, op, replica, after=(), **log):
        calls.append(op)
        return original(self, op, replica, after, **log)

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


# -- a long log costs O(n): the named log's running record gives exactly the brute-force pasts ---

def test_a_named_log_re_mints_exactly_what_naming_the_whole_prefix_does() -> None:
    truth = _truth()
    truth.sequenced("w2", "a", ("w1", "w9"), log="p0")
    fact = truth.sequenced("w3", "a", ("w2",), log="p0", extends=True)  # behind w1, w9 and w2
    assert fact is not None and fact.seen == VectorClock({"a": 1, "b": 1, "c": 1})
    oracle = _truth()
    oracle.sequenced("w2", "a", ("w1", "w9"))
    oracle.sequenced("w3", "a", ("w1", "w9", "w2"))
    assert truth.writes == oracle.writes and truth.knowledge == oracle.knowledge


def test_extending_a_log_no_call_started_is_refused_and_changes_nothing() -> None:
    truth = _truth()
    writes, knowledge = dict(truth.writes), dict(truth.knowledge)
    with pytest.raises(ConfigError, match="no earlier call started"):
        truth.sequenced("w2", "a", ("w1",), log="p0", extends=True)
    assert truth.writes == writes and truth.knowledge == knowledge


@pytest.mark.parametrize("log, extends", [("", False), (7, False), (None, True), ("p0", 1), ("p0", None)])
def test_the_simulator_refuses_a_bad_log_or_extends_and_changes_nothing(log, extends) -> None:
    prepared = scenarios.get("counter").prepare("causal", 0, **LEADER)
    sim = prepared.sim
    sim.run(until=101)
    ctx = sim._contexts[sorted(sim.replicas)[0]]
    writes, knowledge, logs = dict(sim._truth.writes), dict(sim._truth.knowledge), dict(sim._truth._logs)
    with pytest.raises(ConfigError):
        ctx.sequenced("w1", (), log=log, extends=extends)
    assert (sim._truth.writes, sim._truth.knowledge, sim._truth._logs) == (writes, knowledge, logs)


def test_recording_context_notes_the_log_of_a_call_that_names_one() -> None:
    ctx = RecordingContext("a")
    ctx.sequenced("w2", ["w1"], log="p0")
    ctx.sequenced("w3", ["w2"], log="p0", extends=True)
    assert ctx.sequenced_ops == [("w2", ("w1",), "p0", False), ("w3", ("w2",), "p0", True)]
    with pytest.raises(ConfigError):
        ctx.sequenced("w4", ["w3"], extends=True)  # extends needs a log
    assert len(ctx.sequenced_ops) == 2


def _random_calls(seed: int) -> list[tuple]:
    """A random history of writes and appends to a few replicas' logs: appends that extend,
    logs cut back (a new leader: start afresh), the same op appended twice (re-minted twice),
    several writes in one entry (a transaction), unknown ops, and a replica losing its state."""
    rng = random.Random(f"sequenced-oracle/{seed}")
    calls: list[tuple] = []
    replicas, scopes = ("a", "b", "c"), ("k0", "k1", "k2")
    written: list[str] = []
    for step in range(60):
        roll = rng.random()
        if roll < 0.35 or not written:
            op = f"w{step}"
            written.append(op)
            calls.append(("wrote", op, rng.choice(replicas), rng.choice(scopes)))
        elif roll < 0.85:
            ops = rng.sample(written, k=min(len(written), rng.choice((1, 1, 1, 2, 3))))
            if rng.random() < 0.05:
                ops.append("nobody")
            calls.append(("append", rng.choice(replicas), rng.choice(("p0", "p1")), tuple(ops)))
        elif roll < 0.95:
            calls.append(("cut", rng.choice(replicas), rng.choice(("p0", "p1")), rng.randrange(0, 6)))
        else:
            calls.append(("forget", rng.choice(replicas)))
    return calls


def _replay(calls: list[tuple], named: bool) -> GroundTruth:
    """Run ``calls`` on a ground truth, naming each log (``named``) or the whole prefix each time,
    as a node would: an append after a cut, or after the replica lost its state, starts afresh."""
    truth = GroundTruth()
    logs: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    named_up_to: dict[tuple[str, str], int] = {}  # entries already named on the log
    for call in calls:
        if call[0] == "wrote":
            _, op, replica, scope = call
            truth.wrote(op, replica, replica, scope, 0, "c")
        elif call[0] == "append":
            _, replica, log, ops = call
            entries = logs.setdefault((replica, log), [])
            if not named:
                before = tuple(w for entry in entries for w in entry)
                for op in ops:
                    truth.sequenced(op, replica, before)
            else:
                start = named_up_to.get((replica, log))
                extends = start is not None
                before = tuple(w for entry in entries[start or 0:] for w in entry)
                for n, op in enumerate(ops):
                    truth.sequenced(op, replica, before if n == 0 else (), log=log, extends=extends or n > 0)
                named_up_to[(replica, log)] = len(entries)
            entries.append(ops)
        elif call[0] == "cut":
            _, replica, log, keep = call
            if len(logs.get((replica, log), ())) > keep:
                del logs[(replica, log)][keep:]
                named_up_to.pop((replica, log), None)
        else:
            truth.forget(call[1])
            for key in [k for k in logs if k[0] == call[1]]:
                del logs[key]
                named_up_to.pop(key, None)
    return truth


@pytest.mark.parametrize("seed", range(150))
def test_named_logs_give_the_brute_force_pasts_over_random_histories(seed) -> None:
    calls = _random_calls(seed)
    fast, brute = _replay(calls, named=True), _replay(calls, named=False)
    assert list(fast.writes.items()) == list(brute.writes.items())
    assert fast.knowledge == brute.knowledge


def _brute_force_sequence(self, ctx, p) -> None:
    """What a leader did before named logs: name every earlier entry at every append."""
    part = self.parts[p]
    before = tuple(w for e in part.log[:-1] if e.op for w in _writes(e.value))
    for op in _writes(part.log[-1].value):
        ctx.sequenced(op, before)


def _story(seed: int) -> tuple[TableScenario, dict]:
    """A seeded three-region story on four keys with an AZ outage and an AZ cut."""
    rng = random.Random(f"sequenced-story/{seed}")
    regions = ("ap-southeast-2", "eu-west-1", "us-east-1")
    keys = ("k0", "k1", "k2", "k3")
    workload = tuple(ClientWrite(at=rng.randrange(0, 500), region=rng.choice(regions), op=f"w{i}",
                                 client=f"c{i % 4}", key=rng.choice(keys), attributes={"n": i})
                     for i in range(40))
    scenario = TableScenario(name="sequenced-story", description="", regions=regions,
                             latency={(a, b): Uniform(20, 90) for a in regions for b in regions if a < b},
                             initial={k: {"n": -1} for k in keys},
                             workload=tuple(sorted(workload, key=lambda w: (w.at, w.op))))
    region = rng.choice(regions)
    outage = AzOutage(rng.randrange(50, 300), region, rng.choice("abc"),
                      until=rng.choice((None, 700)), durable=rng.random() < 0.5)
    cut_az = rng.choice([az for az in "abc" if az != outage.az])
    cut = AzPartition(rng.randrange(40, 300), rng.choice(regions), cut_az, until=650)
    if cut.region == outage.region:
        cut = attrs.evolve(cut, region=next(r for r in regions if r != region))
    return scenario, {**LEADER, "az_outages": [outage], "az_partitions": [cut]}


@pytest.mark.parametrize("seed", range(8))
def test_a_leader_region_run_is_byte_identical_with_named_logs_and_with_the_whole_prefix(seed) -> None:
    scenario, options = _story(seed)
    merge = ("item-lww", "causal", "attribute-lww", "crdt")[seed % 4]
    fast = scenario.run(merge, seed, **options)
    original = RegionNode._sequence
    RegionNode._sequence = _brute_force_sequence  # type: ignore[method-assign]
    try:
        brute = scenario.run(merge, seed, **options)
    finally:
        RegionNode._sequence = original  # type: ignore[method-assign]
    assert [(f.op, f.seen) for f in fast.facts] == [(f.op, f.seen) for f in brute.facts]
    assert fast.to_json() == brute.to_json()


def _append(node: RegionNode, ctx: RecordingContext, op: str, term: int = 1) -> None:
    part = node.parts[0]
    part.log.append(Entry(term, "k", Input("request", "client", types.SimpleNamespace(op=op), 0), op))
    node._sequence(ctx, 0)


def test_a_leader_names_only_new_entries_while_its_log_extends_what_it_named() -> None:
    """The node side of the contract: ``extends=True`` only while the node leads in the term it
    last sequenced in and the entry it sequenced last is still at its place; else the whole
    prefix, afresh (a log cut back, a new term)."""
    nodes = ("r1a", "r1b", "r1c")
    node = RegionNode("r1a", "r1", nodes, {"r1": nodes})
    part = node.parts[0]
    part.leader, part.term = "r1a", 1
    ctx = RecordingContext("r1a")
    for op in ("w1", "w2", "w3"):
        _append(node, ctx, op)
    part.log.append(Entry(1, "", None, ""))  # a no-op entry carries no write
    _append(node, ctx, "w4")
    assert ctx.sequenced_ops == [("w1", (), "p0", False), ("w2", ("w1",), "p0", True),
                                 ("w3", ("w2",), "p0", True), ("w4", ("w3",), "p0", True)]
    del part.log[2:]  # cut back below the entry sequenced last: afresh, the whole prefix
    _append(node, ctx, "w5")
    assert ctx.sequenced_ops[-1] == ("w5", ("w1", "w2"), "p0", False)
    del part.log[2:]  # cut back and regrown to the same length with another entry
    part.log.append(Entry(1, "k", Input("request", "client", types.SimpleNamespace(op="w6"), 0), "w6"))
    _append(node, ctx, "w7")
    assert ctx.sequenced_ops[-1] == ("w7", ("w1", "w2", "w6"), "p0", False)
    part.term = 2  # leading again in a later term: afresh
    _append(node, ctx, "w8", term=2)
    assert ctx.sequenced_ops[-1] == ("w8", ("w1", "w2", "w6", "w7"), "p0", False)
    _append(node, ctx, "w9", term=2)
    assert ctx.sequenced_ops[-1] == ("w9", ("w8",), "p0", True)
