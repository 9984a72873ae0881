"""The crdt policy's counter is bounded: one running-total cell per replica, and a reset by offset.

Lesson: an observed-reset counter does not need a cell per increment. Each replica keeps one
cell per attribute, its running total under the dot of its latest ``ADD``; an assignment
(``SET``, a put, a ``REMOVE``) records, per replica, the ``(seq, total)`` it observed, and the
attribute reads as the surviving value(s) plus ``total_r - offset_r`` for every replica. The
answers are those of a cell per ``ADD`` (an increment counts iff no assignment that saw it has
been merged), checked here against an oracle built from causality alone, under any delivery
order, duplicated and lost messages; and the ledger still says ``kept`` for an increment that
counts and ``superseded`` for one a ``SET`` reset — never ``silently-lost``.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replicalab.items import Item, Stamp
from replicalab.policies import get_policy
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.network import Uniform

CRDT = get_policy("crdt")
REPLICAS = ("a", "b", "c")


class Model:
    """Three replicas applying crdt writes and merging snapshots, with ground-truth causality:
    ``known[r]`` is the set of writes replica r's state has seen, ``ops`` every write with the
    writes it had seen when it ran. The oracle never looks at cells."""

    def __init__(self) -> None:
        initial = CRDT.initial({"n": 5})
        self.state: dict[str, Item] = dict.fromkeys(REPLICAS, initial)
        self.known: dict[str, frozenset[str]] = dict.fromkeys(REPLICAS, frozenset())
        self.sent: list[tuple[Item, frozenset[str]]] = []  # every snapshot ever sent, for delays
        self.ops: dict[str, tuple[str, Any, frozenset[str]]] = {}
        self.seq = dict.fromkeys(REPLICAS, 0)

    def write(self, replica: str, kind: str, amount: int) -> None:
        self.seq[replica] += 1
        op = f"w{len(self.ops) + 1}"
        stamp = Stamp(len(self.ops) + 1, replica, self.seq[replica])
        if kind == "add":
            outcome = CRDT.write(self.state[replica], {}, write=op, stamp=stamp, replica=replica,
                                 adds={"n": amount})
        elif kind == "set":
            outcome = CRDT.write(self.state[replica], {"n": amount}, write=op, stamp=stamp, replica=replica)
        else:  # a REMOVE, as the table writes it: an empty value
            outcome = CRDT.write(self.state[replica], {"n": frozenset()}, write=op, stamp=stamp,
                                 replica=replica)
        self.ops[op] = (kind, amount, self.known[replica])
        self.state[replica] = outcome.item
        self.known[replica] = self.known[replica] | {op}
        self.sent.append((self.state[replica], self.known[replica]))

    def deliver(self, snapshot: tuple[Item, frozenset[str]], to: str) -> None:
        merged = CRDT.merge(self.state[to], snapshot[0]).item
        self.state[to] = merged
        self.known[to] = self.known[to] | snapshot[1]

    def oracle(self, known: frozenset[str]) -> Any:
        """What a replica that has seen exactly ``known`` must read for ``n``."""
        assigns = [o for o in known if self.ops[o][0] != "add"]
        surviving = [o for o in assigns if not any(o in self.ops[p][2] for p in assigns)]
        counted = [o for o in known if self.ops[o][0] == "add"
                   and not any(o in self.ops[p][2] for p in assigns)]
        values = [self.ops[o][1] for o in surviving if self.ops[o][0] == "set"]
        if not assigns:
            values = [5]
        if counted:
            return sum(values) + sum(self.ops[o][1] for o in counted)
        if not values:
            return None  # removed
        return values[0] if len(values) == 1 else sorted(values)


def _read(item: Item) -> Any:
    value = item.versions[0].attributes().get("n")
    return sorted(value) if isinstance(value, list) else value


STEPS = st.lists(st.one_of(
    st.tuples(st.just("write"), st.sampled_from(REPLICAS), st.sampled_from(["add", "add", "add", "set", "remove"]),
              st.integers(-3, 3)),
    # deliver the k-th most recent snapshot ever sent (k > 0: a delayed or duplicated message)
    st.tuples(st.just("deliver"), st.sampled_from(REPLICAS), st.just(""), st.integers(0, 6)),
), min_size=1, max_size=30)


@given(steps=STEPS, order=st.permutations(list(range(3))))
def test_any_delivery_order_duplication_and_loss_converges_to_the_causal_oracle(steps, order) -> None:
    """Each replica reads what causality says at every step; lost messages are the snapshots
    never delivered, duplicates the ones delivered twice. At the end every replica merges every
    other's state (in a drawn order) and all read the oracle's value with equal states."""
    model = Model()
    for action, replica, kind, n in steps:
        if action == "write":
            model.write(replica, kind, n)
        elif model.sent:
            model.deliver(model.sent[max(0, len(model.sent) - 1 - n)], replica)
        for r in REPLICAS:
            assert _read(model.state[r]) == model.oracle(model.known[r]), r
    finals = []
    for r in REPLICAS:
        mine = (model.state[r], model.known[r])
        for i in order:
            other = REPLICAS[i]
            model.deliver((model.state[other], model.known[other]), r) if other != r else None
        model.deliver(mine, r)  # a duplicate of its own past: idempotent
        finals.append(model.state[r])
    everything = frozenset(model.ops)
    assert all(model.known[r] == everything for r in REPLICAS)
    assert finals[0] == finals[1] == finals[2]
    assert _read(finals[0]) == model.oracle(everything)


def test_a_hot_counter_keeps_one_cell_per_replica() -> None:
    """300 ADDs from three replicas that merge as they go: the attribute holds three counter
    cells (and the initial value), not 300 — the state no longer grows with the increments."""
    model = Model()
    for i in range(300):
        model.write(REPLICAS[i % 3], "add", 1)
        model.deliver(model.sent[-1], REPLICAS[(i + 1) % 3])
    for r in REPLICAS:
        for other in REPLICAS:
            model.deliver((model.state[other], model.known[other]), r)
    cells = model.state["a"].versions[0].cells_of("n")
    assert sorted((c.counter, c.stamp.replica) for c in cells) == [
        (False, ""), (True, "a"), (True, "b"), (True, "c")]
    assert _read(model.state["a"]) == 305


def test_a_set_records_what_it_reset_and_a_concurrent_running_total_subtracts_it() -> None:
    """b adds 1 (total 1); a, having seen it, sets n=0; b concurrently adds 1 (total 2). The
    SET's cell records b's (seq 1, total 1): 0 + (2 - 1) = 1 — not 2 (the bug a plain
    PN-counter of running totals has), and not 0."""
    model = Model()
    model.write("b", "add", 1)
    model.deliver(model.sent[-1], "a")
    model.write("a", "set", 0)
    model.write("b", "add", 1)
    model.deliver(model.sent[-2], "b")
    assert [c.offsets for c in model.state["b"].versions[0].cells_of("n") if not c.counter] == [(("b", 1, 1),)]
    assert _read(model.state["b"]) == 1


def test_a_remove_leaves_a_tombstone_with_offsets_so_a_concurrent_add_counts_alone() -> None:
    """REMOVE n concurrent with another replica's ADD: the reset increments stay reset (the
    tombstone carries the offsets), the concurrent one counts: n reads 1."""
    model = Model()
    model.write("b", "add", 4)
    model.deliver(model.sent[-1], "a")
    model.write("a", "remove", 0)
    model.write("b", "add", 1)
    model.deliver(model.sent[-2], "b")
    model.deliver(model.sent[-1], "a")
    assert _read(model.state["a"]) == _read(model.state["b"]) == 1
    tomb = [c for c in model.state["a"].versions[0].cells_of("n") if c.removed]
    assert [c.offsets for c in tomb] == [(("b", 1, 4),)]


def test_two_concurrent_sets_with_an_increment_beside_them_read_as_the_sum() -> None:
    """The documented rule: concurrent SETs are a multi-value register; with a surviving
    increment the attribute reads as the sum of all (SET 10 and SET 20 with ADD 1 beside: 31),
    and without one as both values ([10, 20])."""
    model = Model()
    model.write("a", "set", 10)
    model.write("b", "set", 20)
    model.deliver(model.sent[-1], "a")
    assert _read(model.state["a"]) == [10, 20]
    model.write("c", "add", 1)
    model.deliver(model.sent[-1], "a")
    assert _read(model.state["a"]) == 31


def test_offsets_survive_the_item_codec() -> None:
    model = Model()
    model.write("b", "add", 2)
    model.deliver(model.sent[-1], "a")
    model.write("a", "set", 7)
    item = model.state["a"]
    assert Item.from_bytes(item.to_bytes()) == item


# ---------------------------------------------------------------------------
# The ledger, through the simulator, against a brute-force oracle of its verdicts.

REGIONS = ("ap-southeast-2", "eu-west-1", "us-east-1")
OPS = st.lists(st.tuples(st.sampled_from(REGIONS), st.integers(0, 900), st.integers(0, 4),
                         st.integers(-2, 3)), min_size=1, max_size=8)


@given(ops=OPS, seed=st.integers(0, 2))
def test_the_ledger_keeps_every_increment_that_counts_and_supersedes_every_reset_one(ops, seed) -> None:
    """ADDs and SETs (concurrent ones too) from three regions. Brute force over ground truth:
    an ADD is ``kept`` iff no SET had seen it, else ``superseded`` (a SET that saw it reset
    it) — never ``silently-lost``; the number every region reads is the oracle's."""
    workload = tuple(
        ClientWrite(at, region, f"w{i}", f"c{i}", "k", {"n": amount} if kind == 0 else {},
                    add={} if kind == 0 else {"n": amount})
        for i, (region, at, kind, amount) in enumerate(sorted(ops, key=lambda o: o[1]), 1))
    scenario = TableScenario(
        name="counter-ledger", description="adds and sets", regions=REGIONS,
        latency={(a, b): Uniform(20, 120) for i, a in enumerate(REGIONS) for b in REGIONS[i + 1:]},
        initial={"k": {"n": 5}}, workload=workload)
    result = scenario.run("crdt", seed)
    facts = {f.op: f for f in result.facts}
    sets = [w.op for w in workload if w.attributes]
    adds = [w.op for w in workload if w.add]
    verdicts = result.ledger.verdicts()
    for add in adds:
        reset = any(facts[s].saw(facts[add]) for s in sets)
        assert verdicts[add] == ("superseded" if reset else "kept"), (add, result.ledger[add].why)
        if reset:
            assert all(b in facts and facts[b].saw(facts[add]) for b in result.ledger[add].by
                       if b.startswith("w")), result.ledger[add].why
    amounts = {w.op: (w.attributes or w.add)["n"] for w in workload}
    surviving = [s for s in sets if not any(t != s and facts[t].saw(facts[s]) for t in sets)]
    counted = [a for a in adds if not any(facts[s].saw(facts[a]) for s in sets)]
    values = [amounts[s] for s in surviving] if sets else [5]
    expected: Any = (sum(values) + sum(amounts[a] for a in counted) if counted or len(values) == 1
                     else sorted(values))
    reads = [s["k"]["n"] for s in result.final.values()]
    assert result.converged
    assert all((sorted(r) if isinstance(r, list) else r) == expected for r in reads)


@pytest.mark.parametrize("n", [30, 90])
def test_a_hot_key_through_the_simulator_ends_with_one_counter_cell_per_region(n) -> None:
    """Every region's item holds three counter cells whatever the number of ADDs (before: one
    cell per ADD, so the state and every merge grew with the increments)."""
    workload = tuple(ClientWrite(i * 5, REGIONS[i % 3], f"w{i + 1}", f"c{i % 3}", "k", {}, add={"n": 1})
                     for i in range(n))
    scenario = TableScenario(
        name="hot", description="a hot counter", regions=REGIONS,
        latency={(a, b): Uniform(20, 120) for i, a in enumerate(REGIONS) for b in REGIONS[i + 1:]},
        initial={"k": {"n": 0}}, workload=workload)
    result = scenario.run("crdt", 0)
    assert {s["k"]["n"] for s in result.final.values()} == {n}
    assert set(result.ledger.verdicts().values()) == {"kept"}
    assert result.converged
    for state in result.items.values():
        cells = state["k"].versions[0].cells_of("n")
        assert sorted(c.stamp.replica for c in cells if c.counter) == sorted(REGIONS)
        assert len(cells) == 4  # and the initial 0 they add to


def test_every_pair_of_merge_orders_agrees_on_a_reset_story() -> None:
    """A fixed story merged in all 6 orders of three states: one state, one value."""
    model = Model()
    model.write("a", "add", 2)
    model.write("b", "add", 3)
    model.deliver(model.sent[0], "c")
    model.write("c", "set", 1)
    model.write("a", "add", 1)
    states = [model.state[r] for r in REPLICAS]
    results = set()
    for perm in itertools.permutations(states):
        merged = perm[0]
        for s in perm[1:]:
            merged = CRDT.merge(merged, s).item
        results.add(merged)
    assert len(results) == 1
    # c reset a's first ADD (2); a's second ADD (1) and b's 3 were concurrent with it: 1 + 1 + 3
    assert _read(results.pop()) == 5


def _global_story(first: str) -> Any:
    """us-east-1 adds 1; later eu-west-1 REMOVEs n / puts the item without n / deletes the item
    while us-east-1 adds 1 again, concurrently."""
    from replicalab.dynamodb import GlobalTable

    key = {"pk": {"S": "quota"}}
    table = GlobalTable("quotas", merge="crdt", items=[{**key, "n": {"N": "5"}}])
    us, eu = table.client("us-east-1", "us"), table.client("eu-west-1", "eu")

    def add() -> None:
        us.update_item(TableName="quotas", Key=key, UpdateExpression="ADD n :v",
                       ExpressionAttributeValues={":v": {"N": "1"}})
    table.at(100)
    add()
    table.at(2000)
    if first == "remove":
        eu.update_item(TableName="quotas", Key=key, UpdateExpression="REMOVE n")
    elif first == "put":
        eu.put_item(TableName="quotas", Item={**key, "x": {"S": "y"}})
    else:
        eu.delete_item(TableName="quotas", Key=key)
    add()
    return table.settle()


@pytest.mark.parametrize(("first", "second"), [("remove", "silently-lost"), ("put", "kept"),
                                               ("delete", "silently-lost")])
def test_a_removal_concurrent_with_an_add_leaves_the_add_alone_and_the_ledger_says_as_before(
        first, second) -> None:
    """The removal resets the increment it saw (w1: superseded), the concurrent one counts
    (n reads 1 everywhere), and the verdict on the removal is the one a cell per ADD gave:
    a REMOVE or delete whose attribute a concurrent ADD brought back is silently lost (as a
    set DELETE is to a concurrent add), a put is judged by what it wrote."""
    result = _global_story(first)
    assert result.converged and {s["quota"]["n"] for s in result.final.values()} == {1}
    assert result.ledger.verdicts() == {"w1": "superseded", "w2": second, "w3": "kept"}
    if second == "silently-lost":
        assert "is back (brought by w3) (w3 had not seen w2)" in result.ledger["w2"].why
