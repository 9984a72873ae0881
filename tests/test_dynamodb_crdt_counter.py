"""DynamoDB ``ADD`` on a number in a GlobalTable: what each merge policy makes of it (issue 16).

Lesson: DynamoDB's ``ADD n :v`` is an atomic increment *in one region*. Across regions it is
what the merge policy makes of it:

* ``crdt`` promises a counter ("every concurrent increment counts"). What was wrong: a
  GlobalTable request's ``ADD`` was evaluated into the sum it read locally and stored as a
  value, so two regions' concurrent ``ADD 1`` on 5 ended as the multi-value ``[6, 6]`` in every
  region — and the ledger called both writes kept. Now an integer ``ADD`` goes to the policy as
  an increment: 7 everywhere, both kept.
* ``item-lww`` / ``attribute-lww``: the region reads its number and writes the sum; one of two
  concurrent increments is lost, and the ledger says so (silently lost, naming the winner).
* ``causal``: the two sums are kept as siblings for the reader.

And a value set on a crdt counter (``SET n = :v``) resets exactly the increments its region had
seen (observed-reset). What was wrong there too (in the policy, for every client): a counter
cell was a region's running total, so a region that had not seen the reset carried the reset
increments back in with its next ``ADD``. The property test checks convergence under any
delivery order against an oracle built from the simulator's ground-truth causality.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replicalab.dynamodb import GlobalTable
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.network import Uniform

PROTOCOLS = {"one replica": {}, "leader": {"replicas_per_region": 3, "region_protocol": "leader"},
             "leaderless": {"replicas_per_region": 3, "region_protocol": "leaderless"}}
KEY = {"pk": {"S": "quota"}}


def _two_adds(merge: str, **options):
    table = GlobalTable("quotas", merge=merge, items=[{**KEY, "n": {"N": "5"}}], **options)
    eu, us = table.client("eu-west-1", "eu"), table.client("us-east-1", "us")
    table.at(100)
    answers = [c.update_item(TableName="quotas", Key=KEY, UpdateExpression="ADD n :one",
                             ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW")
               for c in (eu, us)]
    return table, answers, table.settle()


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_two_concurrent_adds_under_crdt_count_twice_in_every_region(protocol) -> None:
    table, answers, result = _two_adds("crdt", **PROTOCOLS[protocol])
    assert [a["Attributes"] for a in answers] == [{"n": {"N": "6"}}] * 2  # each region's own sum
    assert result.converged
    assert {state["quota"]["n"] for state in result.final.values()} == {7}
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}
    got = table.client("ap-southeast-2", "reader").get_item(TableName="quotas", Key=KEY)
    assert got["Item"]["n"] == {"N": "7"}  # a read sums the counter's cells
    assert "adds 1 to n" in result.report()


@pytest.mark.parametrize("merge", ["item-lww", "attribute-lww"])
@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_under_lww_one_of_two_concurrent_adds_is_lost_and_the_ledger_says_so(merge, protocol) -> None:
    _, _, result = _two_adds(merge, **PROTOCOLS[protocol])
    assert result.converged and {state["quota"]["n"] for state in result.final.values()} == {6}
    verdicts = result.ledger.verdicts()
    assert sorted(verdicts.values()) == ["kept", "silently-lost"]
    lost = next(e for e in result.ledger if e.verdict == "silently-lost")
    assert "had not seen" in lost.why and lost.by == (next(w for w, v in verdicts.items() if v == "kept"),)


def test_under_causal_the_two_sums_are_siblings() -> None:
    _, _, result = _two_adds("causal")
    assert all(sorted(v["n"] for v in state["quota"]) == [6, 6] for state in result.final.values())
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


def test_a_decimal_add_under_crdt_is_still_a_sum_it_read() -> None:
    """The counter holds integers; ``ADD n 0.5`` sets the local sum (documented in ``plan``)."""
    table = GlobalTable("quotas", merge="crdt", items=[{**KEY, "n": {"N": "5"}}])
    table.client("eu-west-1", "eu").update_item(TableName="quotas", Key=KEY, UpdateExpression="ADD n :h",
                                                ExpressionAttributeValues={":h": {"N": "0.5"}})
    result = table.settle()
    assert {str(s["quota"]["n"]) for s in result.final.values()} == {"{'N': '5.5'}"}


def _reset_story() -> TableScenario:
    """us-east-1 adds 1 (t=0); eu-west-1, having seen it, sets n=0 at t=300 while us-east-1
    adds 1 again."""
    regions = ("eu-west-1", "us-east-1")
    return TableScenario(
        name="reset", description="a SET concurrent with an ADD", regions=regions,
        latency={regions: Uniform(70, 70)}, initial={"k": {"n": 0}},
        workload=(ClientWrite(0, "us-east-1", "w1", "c1", "k", {}, add={"n": 1}),
                  ClientWrite(300, "eu-west-1", "w2", "c2", "k", {"n": 0}),
                  ClientWrite(300, "us-east-1", "w3", "c3", "k", {}, add={"n": 1})))


def test_a_set_resets_the_increments_it_saw_and_not_a_concurrent_one() -> None:
    """Before: 2 everywhere (us-east-1's running total 2 carried w1's reset increment back)."""
    result = _reset_story().run("crdt", 0)
    assert result.converged and {s["k"]["n"] for s in result.final.values()} == {1}
    assert result.ledger.verdicts() == {"w1": "superseded", "w2": "kept", "w3": "kept"}


REGIONS = ("ap-southeast-2", "eu-west-1", "us-east-1")
OPS = st.lists(st.tuples(st.sampled_from(REGIONS), st.integers(0, 1200), st.booleans(),
                         st.integers(-3, 3)), min_size=1, max_size=7)


def _oracle(result, ops) -> int:
    """The counter's value from ground truth, not from the policy: the base (5, unless a SET
    saw it) plus every live cell, a cell being live unless a SET that had seen it ran."""
    facts = {f.op: f for f in result.facts}
    sets = [facts[f"w{i}"] for i, (_, _, is_set, _) in enumerate(ops, 1) if is_set]
    live = [amount for i, (_, _, _, amount) in enumerate(ops, 1)
            if not any(s.op != f"w{i}" and s.saw(facts[f"w{i}"]) for s in sets)]
    return (0 if sets else 5) + sum(live)


@given(ops=OPS, seed=st.integers(0, 3))
def test_adds_and_sets_on_a_crdt_counter_converge_to_the_ground_truth_value(ops, seed) -> None:
    """Any schedule of ADDs and SETs from three regions, any delivery order (seed, latency):
    every region ends with the same number, the oracle's. ADDs run concurrently with anything;
    concurrent SETs are avoided (they would leave a multi-value register, not a number): each
    SET runs at least 400 ms after the one before, once it has replicated."""
    ordered, last_set = [], -1000
    for region, at, is_set, amount in sorted(ops, key=lambda o: o[1]):
        when = max(at, last_set + 400) if is_set else at
        last_set = when if is_set else last_set
        ordered.append((region, when, is_set, amount))
    workload = [ClientWrite(when, region, f"w{i}", f"c{i}", "k", {"n": amount} if is_set else {},
                            add={} if is_set else {"n": amount})
                for i, (region, when, is_set, amount) in enumerate(ordered, 1)]
    scenario = TableScenario(
        name="counter-prop", description="adds and sets", regions=REGIONS,
        latency={(a, b): Uniform(20, 120) for i, a in enumerate(REGIONS) for b in REGIONS[i + 1:]},
        initial={"k": {"n": 5}}, workload=tuple(workload))
    result = scenario.run("crdt", seed)
    values = {state["k"]["n"] for state in result.final.values()}
    assert result.converged and len(values) == 1
    assert values == {_oracle(result, ordered)}


def test_a_global_table_set_concurrent_with_an_add_keeps_the_add() -> None:
    """Chapter 7's claim, as requests: ``SET n = :zero`` in eu-west-1 while us-east-1 adds 1."""
    table = GlobalTable("quotas", merge="crdt", items=[{**KEY, "n": {"N": "5"}}])
    table.at(100)
    table.client("eu-west-1", "eu").update_item(TableName="quotas", Key=KEY, UpdateExpression="SET n = :z",
                                                ExpressionAttributeValues={":z": {"N": "0"}})
    table.client("us-east-1", "us").update_item(TableName="quotas", Key=KEY, UpdateExpression="ADD n :one",
                                                ExpressionAttributeValues={":one": {"N": "1"}})
    result = table.settle()
    assert result.converged and {s["quota"]["n"] for s in result.final.values()} == {1}
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


def test_two_concurrent_set_adds_under_crdt_union_in_every_region() -> None:
    """Found while fixing the counter: ``ADD tags :e`` from two regions at once ended as two
    sibling sets (``[{'SS': ['a', 'x']}, {'SS': ['b', 'x']}]``) and a GetItem returned only
    one of them, while the ledger called both kept. Now a set ADD under crdt adds OR-Set
    elements (issue hor): a, b and x in every region, both writes kept."""
    cart = {"pk": {"S": "cart"}}
    table = GlobalTable("carts", merge="crdt", items=[{**cart, "tags": {"SS": ["x"]}}])
    table.at(100)
    for region, element in (("eu-west-1", "a"), ("us-east-1", "b")):
        table.client(region, region).update_item(TableName="carts", Key=cart, UpdateExpression="ADD tags :e",
                                                 ExpressionAttributeValues={":e": {"SS": [element]}})
    result = table.settle()
    got = table.client("ap-southeast-2", "reader").get_item(TableName="carts", Key=cart)
    assert got["Item"]["tags"] == {"SS": ["a", "b", "x"]}
    assert result.converged and result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}
    assert {str(state["cart"]["tags"]) for state in result.final.values()} == {"{'SS': ['a', 'b', 'x']}"}
