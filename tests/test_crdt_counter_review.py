"""The crdt counter beside values that are not integers, its answers, its range and its pictures.

Reproducers from the session-29 review (tests/test_review_session29.py on the reviewer's
branch), each fixed here with the rule it now follows. Lesson: a counter embedded in a
multi-value attribute has to say what it does with *every* value that can stand beside it —
a decimal, a string, a set, a 39-digit sum — and every place that shows the attribute (a read,
an UpdateItem's answer, the step-through page) must show the same thing.
"""

from __future__ import annotations

from typing import Any

import pytest

from replicalab.dynamodb import GlobalTable

QUOTA = {"pk": {"S": "quota"}}


def _add_beside_a_concurrent_set(value: dict[str, Any]) -> Any:
    """us-east-1 ``ADD n 1`` and eu-west-1 ``SET n = value`` at the same moment (neither saw the
    other), on ``n = 5``, under ``crdt``: the table and its settled result."""
    table = GlobalTable("quotas", merge="crdt", items=[{**QUOTA, "n": {"N": "5"}}])
    us, eu = table.client("us-east-1", "us"), table.client("eu-west-1", "eu")
    table.at(100)
    us.update_item(TableName="quotas", Key=QUOTA, UpdateExpression="ADD n :v",
                   ExpressionAttributeValues={":v": {"N": "1"}})
    eu.update_item(TableName="quotas", Key=QUOTA, UpdateExpression="SET n = :v",
                   ExpressionAttributeValues={":v": value})
    return table, table.settle()


def _get(table: GlobalTable, region: str = "ap-southeast-2") -> Any:
    return table.client(region, "reader").get_item(TableName="quotas", Key=QUOTA,
                                                     ConsistentRead=True)["Item"]


# -- 1. a number that is not an integer is a number of the sum ------------------------------------

def test_an_integer_set_beside_a_concurrent_add_reads_as_the_documented_sum() -> None:
    """The control: ``SET n = 10`` ∥ ``ADD n 1`` reads 11 everywhere, both kept."""
    table, result = _add_beside_a_concurrent_set({"N": "10"})
    assert {state["quota"]["n"] for state in result.final.values()} == {11}
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}
    assert _get(table)["n"] == {"N": "11"}


@pytest.mark.parametrize(("value", "total"), [("2.5", "3.5"), ("-0.25", "0.75"), ("0.5", "1.5"),
                                              ("1E+2", "101"), ("2.50", "3.5")])
def test_a_decimal_set_beside_a_concurrent_add_is_in_the_sum(value: str, total: str) -> None:
    """What was wrong: ``SET n = 2.5`` ∥ ``ADD n 1`` read 1 — the read summed only integer
    assignments, and a decimal is stored in cell form ``{"N": "2.5"}``. What is true (CrdtMap's
    rule): Σ surviving assignment values + Σ increments none saw = 3.5. The state shows it in
    the same cell form as any decimal; GetItem answers the number."""
    table, result = _add_beside_a_concurrent_set({"N": value})
    expected = int(total) if "." not in total else {"N": total}
    assert [state["quota"]["n"] for state in result.final.values()] == [expected] * 3
    assert _get(table)["n"] == {"N": total}
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


def test_a_decimal_add_beside_a_concurrent_integer_add_counts_both() -> None:
    """What was wrong: on 5, eu-west-1 ``ADD used 0.5`` ∥ us-east-1 ``ADD used 1`` read 1 —
    the 5.5 that the decimal ADD assigned (it is no increment: the region writes the sum it
    read) vanished. What is true: 5.5 + the increment it had not seen = 6.5."""
    table = GlobalTable("quotas", merge="crdt", items=[{**QUOTA, "used": {"N": "5"}}])
    table.at(100)
    for region, amount in (("eu-west-1", "0.5"), ("us-east-1", "1")):
        table.client(region, region).update_item(
            TableName="quotas", Key=QUOTA, UpdateExpression="ADD used :v",
            ExpressionAttributeValues={":v": {"N": amount}})
    result = table.settle()
    assert [state["quota"]["used"] for state in result.final.values()] == [{"N": "6.5"}] * 3
    assert _get(table)["used"] == {"N": "6.5"}


# -- 2. a value that is no number stays visible beside the counter ---------------------------------

@pytest.mark.parametrize("value", [{"S": "x"}, {"SS": ["a"]}, {"L": [{"N": "1"}]}, {"BOOL": True},
                                   {"NULL": True}],
                         ids=["string", "string-set", "list", "bool", "null"])
def test_a_write_the_ledger_calls_kept_can_be_read(value: dict[str, Any]) -> None:
    """What was wrong: ``SET n = "x"`` ∥ ``ADD n 1``: the ledger said both kept, yet every
    region read ``n = 1`` — the string could never be seen. What is true: the attribute reads
    as concurrent values (the multi-value read, oldest first): the counter's number and the
    other value; a GetItem, as for any concurrent values, answers the newest of them."""
    table, result = _add_beside_a_concurrent_set(value)
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}
    shown = [state["quota"]["n"] for state in result.final.values()]
    assert all(isinstance(n, list) and len(n) == 2 and 1 in n for n in shown), shown
    assert len({repr(n) for n in shown}) == 1  # converged
    got = _get(table)["n"]
    assert got in ({"N": "1"}, value if "SS" not in value else {"SS": ["a"]})


def test_a_string_beside_a_counter_goes_when_a_set_that_saw_both_replaces_them() -> None:
    """The multi-value read is transient like any sibling: a later ``SET`` that saw both
    replaces them, and ``ADD`` after that counts on from the number it set."""
    table, _ = _add_beside_a_concurrent_set({"S": "x"})
    eu = table.client("eu-west-1", "eu2")
    eu.update_item(TableName="quotas", Key=QUOTA, UpdateExpression="SET n = :v",
                   ExpressionAttributeValues={":v": {"N": "4"}})
    eu.update_item(TableName="quotas", Key=QUOTA, UpdateExpression="ADD n :v",
                   ExpressionAttributeValues={":v": {"N": "1"}})
    result = table.settle()
    assert {state["quota"]["n"] for state in result.final.values()} == {5}


# -- 3. an ADD answers what its region then reads ---------------------------------------------------

@pytest.mark.parametrize("returns", ["ALL_NEW", "UPDATED_NEW"])
def test_an_add_answers_the_value_its_own_region_then_reads(returns: str) -> None:
    """What was wrong: after concurrent ``SET n = 10`` ∥ ``SET n = 20`` had arrived everywhere,
    eu-west-1's ``ADD n 1`` answered 21 (planned on the newest sibling) while the region then
    read 31 (10 + 20 + 1, the counter's sum). What is true: the answer is the region's state
    after the write — what its next read returns."""
    table = GlobalTable("quotas", merge="crdt", items=[{**QUOTA, "n": {"N": "5"}}])
    eu, us = table.client("eu-west-1", "eu"), table.client("us-east-1", "us")
    table.at(100)
    for client, value in ((eu, "10"), (us, "20")):
        client.update_item(TableName="quotas", Key=QUOTA, UpdateExpression="SET n = :v",
                           ExpressionAttributeValues={":v": {"N": value}})
    table.at(3000)
    told = eu.update_item(TableName="quotas", Key=QUOTA, UpdateExpression="ADD n :v",
                          ExpressionAttributeValues={":v": {"N": "1"}}, ReturnValues=returns)
    read = eu.get_item(TableName="quotas", Key=QUOTA, ConsistentRead=True)
    assert told["Attributes"]["n"] == read["Item"]["n"] == {"N": "31"}


# -- 4. a merged counter past DynamoDB's 38 digits stays readable and writable ---------------------

def _past_38_digits() -> GlobalTable:
    """On ``n = 10**38 - 2`` (38 digits), eu-west-1 ``ADD n 1`` ∥ us-east-1 ``ADD n 2``: each is
    accepted in its region (99…99 and 1E+38 fit), and the merged counter is ``10**38 + 1``."""
    table = GlobalTable("quotas", merge="crdt", items=[{**QUOTA, "n": {"N": "9" * 37 + "8"}}])
    table.at(100)
    for region, amount in (("eu-west-1", "1"), ("us-east-1", "2")):
        table.client(region, region).update_item(
            TableName="quotas", Key=QUOTA, UpdateExpression="ADD n :v",
            ExpressionAttributeValues={":v": {"N": amount}})
    table.at(3000)
    return table


def test_two_concurrent_adds_never_make_an_item_unreadable() -> None:
    """What was wrong: the merged ``10**38 + 1`` (39 significant digits) made every GetItem and
    every UpdateItem of the item raise ValidationException — acknowledged writes had made the
    item unreadable. What is true (the documented choice): the read shows what the counter
    holds, exactly, though DynamoDB could not store it; a write that leaves ``n`` alone works."""
    table = _past_38_digits()
    over = str(10**38 + 1)
    for region in ("eu-west-1", "us-east-1", "ap-southeast-2"):
        assert _get(table, region)["n"] == {"N": over}
    client = table.client("eu-west-1", "writer")
    told = client.update_item(TableName="quotas", Key=QUOTA, UpdateExpression="SET m = :v",
                              ExpressionAttributeValues={":v": {"N": "1"}}, ReturnValues="ALL_NEW")
    assert told["Attributes"]["n"] == {"N": over} and told["Attributes"]["m"] == {"N": "1"}
    result = table.settle()
    assert {state["quota"]["n"] for state in result.final.values()} == {10**38 + 1}


def test_a_write_that_would_store_a_number_past_38_digits_is_refused_and_changes_nothing() -> None:
    """A region still refuses to *store* a number past 38 digits, as DynamoDB does: ``ADD n 1``
    on the over-range counter is refused (and changes nothing); ``ADD n -2`` (back in range)
    and ``SET n = 0`` are accepted."""
    from replicalab.dynamodb.exceptions import ValidationException

    table = _past_38_digits()
    client = table.client("eu-west-1", "writer")
    before = table.settle().final
    with pytest.raises(ValidationException, match="38 significant digits"):
        client.update_item(TableName="quotas", Key=QUOTA, UpdateExpression="ADD n :v",
                           ExpressionAttributeValues={":v": {"N": "1"}})
    assert table.settle().final == before
    told = client.update_item(TableName="quotas", Key=QUOTA, UpdateExpression="ADD n :v",
                              ExpressionAttributeValues={":v": {"N": "-2"}}, ReturnValues="UPDATED_NEW")
    assert told["Attributes"]["n"] == {"N": "9" * 38}
    client.update_item(TableName="quotas", Key=QUOTA, UpdateExpression="SET n = :v",
                       ExpressionAttributeValues={":v": {"N": "0"}})
    assert {state["quota"]["n"] for state in table.settle().final.values()} == {0}


def test_a_decimal_counter_past_38_digits_is_readable() -> None:
    """The same for a decimal sum: on 0, ``SET n = 0.5`` ∥ ``ADD n (10**38 - 1)`` is 39 digits."""
    table = GlobalTable("quotas", merge="crdt", items=[{**QUOTA, "n": {"N": "0"}}])
    table.at(100)
    table.client("us-east-1", "us").update_item(
        TableName="quotas", Key=QUOTA, UpdateExpression="ADD n :v",
        ExpressionAttributeValues={":v": {"N": "9" * 38}})
    table.client("eu-west-1", "eu").update_item(
        TableName="quotas", Key=QUOTA, UpdateExpression="SET n = :v",
        ExpressionAttributeValues={":v": {"N": "0.5"}})
    table.settle()
    assert _get(table)["n"] == {"N": "9" * 38 + ".5"}


# -- 5. the step-through page shows an attribute as it reads ---------------------------------------

def test_the_stepper_shows_a_crdt_counter_as_it_reads() -> None:
    """What was wrong: the ``counter`` story under ``crdt`` settles to ``used = 3`` everywhere,
    but the state each region's last step showed (and every Wrote/Merged trace item) was
    ``used: [1, 'w3']`` — one replica's running total, as if two increments were lost. What is
    true: the state a step shows for an attribute is what the attribute reads."""
    from replicalab import scenarios
    from replicalab.viz.story import build

    result = scenarios.run("counter", merge="crdt", seed=0)
    story = build(result)
    for region, items in result.final.items():
        assert items["quota_acme"]["used"] == 3
        last = [s.state for s in story.steps if s.replica == region and s.state][-1]
        assert [v["cells"]["used"][0] for v in last["quota_acme"]] == [3], (region, last)
    for region, item in result.items.items():
        assert [v["cells"]["used"][0] for v in item["quota_acme"].to_trace()] == [3], region


def test_the_stepper_shows_a_set_as_it_reads() -> None:
    """The same for an OR-Set: a step shows every member, not one element cell."""
    from replicalab import scenarios
    from replicalab.viz.story import build

    result = scenarios.run("cart", merge="crdt", seed=0)
    story = build(result)
    for region, items in result.final.items():
        last = [s.state for s in story.steps if s.replica == region and s.state][-1]
        for key, attributes in items.items():
            for name, value in attributes.items():
                assert [v["cells"][name][0] for v in last[key]] == [value], (region, key, name)


def test_the_stepper_never_shows_a_counted_increment_as_dropped() -> None:
    """What was wrong: two ``ADD n 1`` at eu-west-1 (t=0, t=10) under ``crdt``: both kept, n
    reads 2 — yet the second write's step listed a loss of w1 ("counted on in eu-west-1's
    running total"), so the page's ledger panel showed w1 dropped beside its verdict kept.
    What is true: no step lists a loss of a write whose increment still counts (the ledger
    still gets the record it needs to attribute a later reset)."""
    from replicalab.scenarios.world import ClientWrite, TableScenario
    from replicalab.sim import Uniform
    from replicalab.viz.story import build

    regions = ("eu-west-1", "us-east-1")
    scenario = TableScenario(
        name="two-adds", description="two increments in one region", regions=regions,
        latency={regions: Uniform(50, 60)}, initial={"k": {"n": 0}},
        workload=(ClientWrite(0, "eu-west-1", "w1", "c1", "k", {}, add={"n": 1}),
                  ClientWrite(10, "eu-west-1", "w2", "c2", "k", {}, add={"n": 1}),
                  ClientWrite(500, "us-east-1", "w3", "c3", "k", {"n": 0})))
    result = scenario.run("crdt", 0)
    assert result.ledger.verdicts() == {"w1": "superseded", "w2": "superseded", "w3": "kept"}
    story = build(result)
    before_the_reset = [(s.index, loss) for s in story.steps if s.time < 500 for loss in s.losses]
    assert before_the_reset == [], before_the_reset
    # The reset is shown: w3 drops the running total that carries w1 and w2 (it saw both).
    shown = {loss["write"] for s in story.steps for loss in s.losses}
    assert shown <= {"w1", "w2"} and "w2" in shown
