"""The ledger judges a write that changed a *part* of an attribute by that part.

A nested map key (``SET m.k = :v``), a list_append, an increment (``ADD n :v``), a set
``ADD``/``DELETE``: the write
keeps the rest of the value it read, and a later write on the same attribute may keep this
write's part while its own cell now names the attribute. The part is *kept* while its effect is
in the final tables; *superseded* only when a write that had seen it replaced or removed that
part; *silently-lost* when a write that had not seen it dropped it.

The matrix below is checked against an oracle that reads only the final tables: the two writes'
parts are coded so each is visible on its own (key ``k`` / ``j``, list or set element ``x`` /
``y``, increments 1 / 2 of a counter that starts at 1: the sum's bits say which counted).
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from replicalab.clocks import VectorClock
from replicalab.dots import Dot
from replicalab.dynamodb import GlobalTable
from replicalab.items import Cell, Item, Stamp, Version
from replicalab.ledger import WriteRecord, judge
from replicalab.replica.parts import leaves

POLICIES = ("item-lww", "attribute-lww", "causal", "crdt")
KEY = {"pk": {"S": "k"}}
INITIAL = {"pk": {"S": "k"}, "m": {"M": {}}, "l": {"L": []}, "n": {"N": "1"}, "s": {"SS": ["a"]}}

#: shape -> (attribute, (first request, second request))
SHAPES = {
    "nested map keys": ("m", (("SET m.k = :v", {":v": {"N": "1"}}), ("SET m.j = :v", {":v": {"N": "2"}}))),
    "list_append": ("l", (("SET l = list_append(l, :v)", {":v": {"L": [{"S": "x"}]}}),
                          ("SET l = list_append(l, :v)", {":v": {"L": [{"S": "y"}]}}))),
    "counter ADD": ("n", (("ADD n :v", {":v": {"N": "1"}}), ("ADD n :v", {":v": {"N": "2"}}))),
    "set ADD": ("s", (("ADD s :v", {":v": {"SS": ["x"]}}), ("ADD s :v", {":v": {"SS": ["y"]}}))),
}

#: (where the second write runs, when): spaced 3 s (it had seen the first) or 10 ms later in
#: another region (it had not).
PLACES = {"same region": ("eu-west-1", 3100), "two regions": ("us-east-1", 3100),
          "two regions, concurrent": ("us-east-1", 110)}


def _values(final: Any, attribute: str) -> list[Any]:
    """Every value of ``attribute`` a reader can see in one final item: each sibling's, and
    each of a multi-value register's concurrent values."""
    items = final if isinstance(final, list) else [final]
    out: list[Any] = []
    for item in items:
        value = item.get(attribute)
        if attribute in ("m", "s"):
            out.extend(value if isinstance(value, list) else [value])
        elif attribute == "l":
            out.extend(value if value and all(isinstance(v, list) for v in value) else [value])
        else:
            out.extend(value if isinstance(value, list) else [value])
    return out


def _holds(value: Any, attribute: str, which: int) -> bool:
    """Does one value of the attribute hold write ``which``'s part (0: the first, 1: the second)?"""
    if attribute == "m":
        return isinstance(value, dict) and ("k", "j")[which] in value.get("M", {})
    if attribute == "l":
        return isinstance(value, list) and ("x", "y")[which] in value
    if attribute == "s":
        return isinstance(value, dict) and ("x", "y")[which] in value.get("SS", [])
    return isinstance(value, int) and bool((value - 1) & (1, 2)[which])


def _oracle(result: Any, attribute: str, which: int, seen: bool) -> set[str]:
    """The verdicts the final tables allow for write ``which``."""
    if all(any(_holds(v, attribute, which) for v in _values(items["k"], attribute))
           for items in result.final.values()):
        return {"kept"}
    return {"superseded"} if seen else {"silently-lost", "detected"}


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("merge", POLICIES)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_part_is_kept_exactly_when_the_final_tables_hold_it(shape: str, merge: str, place: str) -> None:
    attribute, ((first, v1), (second, v2)) = SHAPES[shape]
    region, when = PLACES[place]
    table = GlobalTable("tbl", key=("pk",), merge=merge, seed=0, items=[INITIAL])
    table.at(100)
    table.client("eu-west-1", "c1").update_item(TableName="tbl", Key=KEY, UpdateExpression=first,
                                                ExpressionAttributeValues=v1)
    table.at(when)
    table.client(region, "c2").update_item(TableName="tbl", Key=KEY, UpdateExpression=second,
                                           ExpressionAttributeValues=v2)
    result = table.settle()
    assert result.converged
    seen = when > 1000
    verdicts = result.ledger.verdicts()
    assert verdicts["w1"] in _oracle(result, attribute, 0, seen), (verdicts, result.final)
    assert verdicts["w2"] in _oracle(result, attribute, 1, False), (verdicts, result.final)
    if seen:  # a later write that only added to it: both parts are in every table
        assert verdicts == {"w1": "kept", "w2": "kept"}, result.final


#: The second write, having seen the first, replaces the first one's part.
REPLACES = {
    "nested map keys": ("m", "SET m.k = :v", {":v": {"N": "5"}}),
    "list_append": ("l", "SET l = :v", {":v": {"L": [{"S": "z"}]}}),
    "counter ADD": ("n", "SET n = :v", {":v": {"N": "7"}}),
    "set ADD": ("s", "DELETE s :v", {":v": {"SS": ["x"]}}),
}


@pytest.mark.parametrize("merge", POLICIES)
@pytest.mark.parametrize("shape", sorted(REPLACES))
def test_a_part_replaced_by_a_write_that_had_seen_it_is_superseded_by_that_write(
        shape: str, merge: str) -> None:
    attribute, ((first, v1), _) = SHAPES[shape]
    _, second, v2 = REPLACES[shape]
    table = GlobalTable("tbl", key=("pk",), merge=merge, seed=0, items=[INITIAL])
    table.at(100)
    table.client("eu-west-1", "c1").update_item(TableName="tbl", Key=KEY, UpdateExpression=first,
                                                ExpressionAttributeValues=v1)
    table.at(3100)
    table.client("us-east-1", "c2").update_item(TableName="tbl", Key=KEY, UpdateExpression=second,
                                                ExpressionAttributeValues=v2)
    result = table.settle()
    entry = result.ledger["w1"]
    assert (entry.verdict, entry.by) == ("superseded", ("w2",)), entry
    assert result.ledger["w2"].verdict == "kept"


def test_the_write_that_replaced_the_part_is_named_not_a_later_one_that_only_added() -> None:
    """w1 sets m.k, w2 (had seen it) sets m.k again, w3 (had seen both) sets m.j: w1 is
    superseded by w2, which replaced its part — not by w3, whose cell holds m now. And when w3
    sets m.k back to w1's value, w1 is still superseded: the ledger follows who wrote the part,
    not an equal value."""
    for last in ("SET m.j = :two", "SET m.k = :one"):
        table = GlobalTable("tbl", key=("pk",), merge="item-lww", seed=0, items=[INITIAL])
        values = {":one": {"N": "1"}, ":five": {"N": "5"}, ":two": {"N": "2"}}
        for t, region, expression in ((100, "eu-west-1", "SET m.k = :one"),
                                      (3100, "us-east-1", "SET m.k = :five"),
                                      (6100, "eu-west-1", last)):
            table.at(t)
            used = {k: v for k, v in values.items() if k in expression}
            table.client(region, "c").update_item(TableName="tbl", Key=KEY, UpdateExpression=expression,
                                                  ExpressionAttributeValues=used)
        result = table.settle()
        assert (result.ledger["w1"].verdict, result.ledger["w1"].by) == ("superseded", ("w2",)), last
        assert result.ledger["w3"].verdict == "kept"


def test_an_increment_lost_to_a_concurrent_increment_stays_silently_lost_after_a_later_one() -> None:
    """Item-lww: w1 (eu, +1) and w2 (us, +2) run 10 ms apart, neither had seen the other; w2's
    item wins everywhere and w1's +1 is gone (n = 3). A third increment at eu, 3 s later, builds
    on n = 3: it carries w2's part, not w1's, so w1 stays silently-lost."""
    table = GlobalTable("tbl", key=("pk",), merge="item-lww", seed=0, items=[INITIAL])
    for t, region, amount in ((100, "eu-west-1", "1"), (110, "us-east-1", "2"), (3100, "eu-west-1", "4")):
        table.at(t)
        table.client(region, "c").update_item(TableName="tbl", Key=KEY, UpdateExpression="ADD n :v",
                                              ExpressionAttributeValues={":v": {"N": amount}})
    result = table.settle()
    assert result.final["eu-west-1"]["k"]["n"] == 1 + 2 + 4
    assert result.ledger.verdicts() == {"w1": "silently-lost", "w2": "kept", "w3": "kept"}


def test_the_counter_idiom_with_if_not_exists_is_an_increment() -> None:
    """``SET n = if_not_exists(n, :zero) + :v`` adds to n like ``ADD n :v``."""
    table = GlobalTable("tbl", key=("pk",), merge="item-lww", seed=0, items=[INITIAL])
    for t, region in ((100, "eu-west-1"), (3100, "us-east-1")):
        table.at(t)
        table.client(region, "c").update_item(
            TableName="tbl", Key=KEY, UpdateExpression="SET n = if_not_exists(n, :zero) + :v",
            ExpressionAttributeValues={":zero": {"N": "0"}, ":v": {"N": "1"}})
    result = table.settle()
    assert result.final["eu-west-1"]["k"]["n"] == 3
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


def test_parts_leave_each_other_only_when_provably_apart() -> None:
    """Disjoint map keys leave each other; appends and increments add; a list index may name
    any element once the list changed, so an index never proves a part untouched."""
    assert leaves([("set", ("m", "j"))], [("set", ("m", "k"))])
    assert not leaves([("set", ("m", "k"))], [("set", ("m", "k"))])
    assert not leaves([("set", ("m",))], [("set", ("m", "k"))])        # the whole map
    assert not leaves([("set", ("m", "k", "z"))], [("set", ("m", "k"))])  # inside the part
    assert leaves([("append", ("l",))], [("prepend", ("l",))])
    assert not leaves([("remove", ("l", 0))], [("append", ("l",))])
    assert not leaves([("set", ("l", 2))], [("set", ("l", 5))])
    assert leaves([("add", ("n",))], [("add", ("n",))])
    assert leaves([("elements", ("s",), ("S:y",), ("S:a",))], [("elements", ("s",), ("S:x",), ())])
    assert not leaves([("elements", ("s",), (), ("S:x",))], [("elements", ("s",), ("S:x",), ())])
    assert not leaves([("elements", ("s",), ("S:x",), ())], [("elements", ("s",), (), ("S:x",))])
    assert not leaves([("set", ("n",))], [("add", ("n",))])


def test_judge_follows_parts_in_records_written_by_hand() -> None:
    """The rule needs no simulator: w2's cell of m was built on w1's value (``base``) and set
    only m.j, so w1's m.k is still in it; without ``base`` w2 replaced m whole."""
    def record(op: str, wall: int, part: str, **extra: Any) -> WriteRecord:
        return WriteRecord(id=op, replica="a", key="k", time=wall, client="c",
                           attributes={"m": {part: 1}}, dot=Dot("a", wall),
                           seen=VectorClock({"a": wall}), stamp=Stamp(wall, "a", wall),
                           parts={"m": (("set", ("m", part)),)}, **extra)
    w1, w2 = record("w1", 1, "k"), record("w2", 2, "j", base={"m": "w1"})
    cell = Cell({"k": 1, "j": 1}, "w2", w2.stamp)
    final = {"a": {"k": Item((Version.of({"m": cell}, write="w2", stamp=w2.stamp),))}}
    assert judge([w1, w2], final).verdicts() == {"w1": "kept", "w2": "kept"}
    unbased = record("w2", 2, "j")
    assert judge([w1, unbased], final)["w1"].verdict == "superseded"


#: Other ways a region applies writes: commit order (MRSC), a leader per partition, quorums.
REGION_KINDS = {
    "mrsc": ("item-lww", {"mode": "mrsc"}),
    "leader regions": ("causal", {"replicas_per_region": 3, "region_protocol": "leader"}),
    "leaderless regions": ("item-lww", {"replicas_per_region": 3, "region_protocol": "leaderless"}),
}


@pytest.mark.parametrize("kind", sorted(REGION_KINDS))
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_part_a_later_write_added_to_is_kept_however_regions_apply_writes(shape: str, kind: str) -> None:
    attribute, ((first, v1), (second, v2)) = SHAPES[shape]
    merge, options = REGION_KINDS[kind]
    table = GlobalTable("tbl", key=("pk",), merge=merge, seed=0, items=[INITIAL], **options)
    table.at(100)
    table.client("eu-west-1", "c1").update_item(TableName="tbl", Key=KEY, UpdateExpression=first,
                                                ExpressionAttributeValues=v1)
    table.at(3100)
    table.client("us-east-1", "c2").update_item(TableName="tbl", Key=KEY, UpdateExpression=second,
                                                ExpressionAttributeValues=v2)
    result = table.settle()
    assert result.converged
    assert _oracle(result, attribute, 0, True) == {"kept"}
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


def test_what_a_region_records_as_parts_of_an_update_expression() -> None:
    """Only attributes changed in part are listed; one written whole anywhere in the expression
    is not; equal number members (1 and 1.0) are one member; counters a policy keeps as
    counters are left to their own cells."""
    from replicalab.dynamodb.expressions import Substitutions, parse_update
    from replicalab.replica.parts import expression_parts

    values = {":v": {"N": "1"}, ":l": {"L": [{"S": "x"}]}, ":ns": {"NS": ["1.0", "2"]},
              ":e": {"L": []}}
    subs = Substitutions.from_request(values=values)
    update = parse_update("SET m.k = :v, l = list_append(if_not_exists(l, :e), :l), n = n - :v, "
                          "w = :v ADD s :ns REMOVE q.r[2]", subs)
    assert expression_parts(update, {}) == {
        "l": [["append", ["l"]]], "m": [["set", ["m", "k"]]], "n": [["add", ["n"]]],
        "q": [["remove", ["q", "r", 2]]], "s": [["elements", ["s"], ["N:1", "N:2"], []]]}
    assert "n" not in expression_parts(update, {"n": 1})
    assert expression_parts(parse_update("SET n = :v - n", subs), {}) == {}  # not an increment


@pytest.mark.parametrize("merge", POLICIES)
def test_sequential_counter_adds_of_a_scenario_are_all_kept(merge: str) -> None:
    """A scenario's ``add={"used": n}`` writes, 3 s apart in three regions (each had seen the
    ones before): under every policy the final count holds every increment, so each is kept —
    under the LWW policies and causal they used to be "superseded" by the next increment."""
    from replicalab.scenarios.london import EPOCH
    from replicalab.scenarios.london import SCENARIO as LONDON
    from replicalab.scenarios.world import ClientWrite, TableScenario

    ops = tuple(ClientWrite(100 + 3000 * i, region, f"w{i + 1}", "c", "k", {}, add={"used": 2 ** i})
                for i, region in enumerate(("eu-west-1", "us-east-1", "ap-southeast-2")))
    story = TableScenario(name="increments", description="three spaced increments",
                          regions=LONDON.regions, latency=LONDON.latency,
                          initial={"k": {"used": 0}}, workload=ops, epoch=EPOCH)
    result = story.run(merge=merge, seed=0)
    assert {items["k"]["used"] for items in result.final.values()} == {7}
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept", "w3": "kept"}


@pytest.mark.parametrize("parts", [
    {"m": (("move", ("m", "k")),)}, {"m": (("set", ()),)}, {"m": (("set", "m.k"),)},
    {"m": (("elements", ("s",), ("S:x",)),)}, {"m": "set m.k"}, {1: ()}])
def test_judge_refuses_parts_of_the_wrong_shape(parts: Any) -> None:
    from replicalab.errors import ConfigError

    w = WriteRecord(id="w1", replica="a", key="k", time=1, client="c", attributes={"m": 1},
                    dot=Dot("a", 1), seen=VectorClock({"a": 1}), parts=parts)
    with pytest.raises(ConfigError, match="parts must map"):
        judge([w], {})
    with pytest.raises(ConfigError, match="base must map"):
        judge([attrs.evolve(w, parts={}, base={"m": 3})], {})
