"""Known gaps of judging partial writes by their parts, each pinned by a reproducer.

* A set ``DELETE`` that empties the set removes the attribute (DynamoDB keeps no empty sets);
  it is still a change of a *part* (some members taken out), so a later ``ADD`` of other
  members, by a write that had seen it, leaves it in effect — as it does for a ``DELETE`` that
  left other members in the set.
* ``SET a = if_not_exists(a, :v)`` where ``a`` had a value wrote nothing of its own: there is
  nothing of it to lose, so it is never ``silently-lost`` or ``unreplicated`` for a value it
  never wrote. Where ``a`` had none it set ``:v`` and is judged like a SET.
* ``by`` names the write that removed or overwrote the part, not the last write to the item.
"""

from __future__ import annotations

from typing import Any

import pytest

from replicalab.dynamodb import GlobalTable

KEY = {"pk": {"S": "k"}}
LWW_AND_CAUSAL = ("item-lww", "attribute-lww", "causal")  # crdt sets: see test_ledger_parts_oracle


def _run(merge: str, initial: dict[str, Any], ops: list[tuple[int, str, str, dict[str, Any] | None]],
         **options: Any) -> Any:
    table = GlobalTable("tbl", key=("pk",), merge=merge, seed=0, items=[initial], **options)
    for t, region, expression, values in ops:
        table.at(t)
        extra = {"ExpressionAttributeValues": values} if values else {}
        table.client(region, "c").update_item(TableName="tbl", Key=KEY, UpdateExpression=expression,
                                              **extra)
    return table.settle()


SET_A = {"pk": {"S": "k"}, "s": {"SS": ["a"]}}


@pytest.mark.parametrize("merge", LWW_AND_CAUSAL)
def test_a_delete_that_emptied_the_set_stays_in_effect_after_a_later_add_of_others(merge: str) -> None:
    """w1 deletes the only member (the set is removed), w2 (had seen it) adds y: the final set
    {y} still lacks a, so w1 is kept — it was 'superseded by w2' before."""
    result = _run(merge, SET_A, [(100, "eu-west-1", "DELETE s :v", {":v": {"SS": ["a"]}}),
                                 (3100, "us-east-1", "ADD s :v", {":v": {"SS": ["y"]}})])
    assert {items["k"]["s"]["SS"][0] for items in result.final.values()} == {"y"}
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


@pytest.mark.parametrize("merge", LWW_AND_CAUSAL)
def test_a_delete_that_emptied_the_set_is_superseded_by_the_add_that_brought_its_member_back(
        merge: str) -> None:
    result = _run(merge, SET_A, [(100, "eu-west-1", "DELETE s :v", {":v": {"SS": ["a"]}}),
                                 (3100, "us-east-1", "ADD s :v", {":v": {"SS": ["y"]}}),
                                 (6100, "eu-west-1", "ADD s :v", {":v": {"SS": ["a"]}})])
    entry = result.ledger["w1"]
    assert (entry.verdict, entry.by) == ("superseded", ("w3",)), entry
    assert result.ledger.verdicts()["w2"] == "kept"


@pytest.mark.parametrize("merge", LWW_AND_CAUSAL)
def test_the_adds_a_set_emptying_delete_took_out_are_superseded_by_it(merge: str) -> None:
    """w1 adds x, w2 (had seen it) deletes a and x: the set is gone, and w1 was taken out by w2
    — also when w3 (had seen both) adds y afterwards: the why names w2, not w3."""
    for last in ([], [(6100, "eu-west-1", "ADD s :v", {":v": {"SS": ["y"]}})]):
        result = _run(merge, SET_A, [(100, "eu-west-1", "ADD s :v", {":v": {"SS": ["x"]}}),
                                     (3100, "us-east-1", "DELETE s :v", {":v": {"SS": ["a", "x"]}}),
                                     *last])
        entry = result.ledger["w1"]
        assert (entry.verdict, entry.by) == ("superseded", ("w2",)), entry
        assert all(v == "kept" for w, v in result.ledger.verdicts().items() if w != "w1")


def test_an_add_concurrent_with_a_set_emptying_delete_that_wins_is_silently_lost() -> None:
    """Item-lww: w1 adds x at eu, w2 deletes a at us 10 ms later without having seen w1 (its
    set empties there); w2's item wins everywhere, so w1's x is gone: silently-lost, by w2."""
    result = _run("item-lww", SET_A, [(100, "eu-west-1", "ADD s :v", {":v": {"SS": ["x"]}}),
                                      (110, "us-east-1", "DELETE s :v", {":v": {"SS": ["a"]}})])
    entry = result.ledger["w1"]
    assert (entry.verdict, entry.by) == ("silently-lost", ("w2",)), entry
    assert result.ledger["w2"].verdict == "kept"


A1 = {"pk": {"S": "k"}, "a": {"N": "1"}}
POLICIES = ("item-lww", "attribute-lww", "causal", "crdt")
IF_NOT_EXISTS = "SET a = if_not_exists(a, :v)"


@pytest.mark.parametrize("merge", POLICIES)
def test_if_not_exists_on_an_attribute_that_existed_wrote_nothing_to_lose(merge: str) -> None:
    """w1 (eu) writes a = if_not_exists(a, 9) on a = 1: it changed nothing. A concurrent
    SET a = 5 at us wins under LWW; w1 is not 'silently-lost' for a value it never wrote."""
    result = _run(merge, A1, [(100, "eu-west-1", IF_NOT_EXISTS, {":v": {"N": "9"}}),
                              (110, "us-east-1", "SET a = :v", {":v": {"N": "5"}})])
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


def test_if_not_exists_that_wrote_nothing_is_not_unreplicated() -> None:
    """Partitioned for good, w1's no-op never reaches the other regions: nothing of its own is
    missing anywhere, so it is kept (a SET of a new value there would be unreplicated)."""
    from replicalab.sim.faults import Partition

    for expression, verdict in ((IF_NOT_EXISTS, "kept"), ("SET a = :v", "unreplicated")):
        table = GlobalTable("tbl", key=("pk",), merge="item-lww", seed=0, items=[A1],
                            faults=[Partition(50, groups=[["eu-west-1"], ["us-east-1", "ap-southeast-2"]])])
        table.at(100)
        table.client("eu-west-1", "c").update_item(TableName="tbl", Key=KEY, UpdateExpression=expression,
                                                   ExpressionAttributeValues={":v": {"N": "9"}})
        result = table.settle()
        assert not result.converged or verdict == "kept"
        assert result.ledger["w1"].verdict == verdict, result.ledger["w1"]


@pytest.mark.parametrize("merge", LWW_AND_CAUSAL)
def test_if_not_exists_that_wrote_is_judged_like_a_set(merge: str) -> None:
    """On an absent attribute if_not_exists sets :v: a later SET that had seen it supersedes it;
    a concurrent SET that wins under LWW loses it silently."""
    bare = {"pk": {"S": "k"}}
    seen = _run(merge, bare, [(100, "eu-west-1", IF_NOT_EXISTS, {":v": {"N": "9"}}),
                              (3100, "us-east-1", "SET a = :v", {":v": {"N": "5"}})])
    assert (seen.ledger["w1"].verdict, seen.ledger["w1"].by) == ("superseded", ("w2",))
    concurrent = _run(merge, bare, [(100, "eu-west-1", IF_NOT_EXISTS, {":v": {"N": "9"}}),
                                    (110, "us-east-1", "SET a = :v", {":v": {"N": "5"}})])
    assert concurrent.ledger["w1"].verdict == ("kept" if merge == "causal" else "silently-lost")


@pytest.mark.parametrize("merge", LWW_AND_CAUSAL)
def test_if_not_exists_that_wrote_nothing_carries_an_earlier_part(merge: str) -> None:
    """w1 appends x to l; w2 (had seen it) writes l = if_not_exists(l, :e): l is as w1 left it,
    so w1 is kept — before, w2's cell made it 'superseded by w2'."""
    initial = {"pk": {"S": "k"}, "l": {"L": []}}
    result = _run(merge, initial, [
        (100, "eu-west-1", "SET l = list_append(l, :v)", {":v": {"L": [{"S": "x"}]}}),
        (3100, "us-east-1", "SET l = if_not_exists(l, :e)", {":e": {"L": []}})])
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


NM = {"pk": {"S": "k"}, "n": {"N": "1"}, "m": {"M": {}}, "a": {"N": "0"}}

#: name -> (the writes, 3 s apart, each having seen the ones before; {write: the write that
#: undid its effect}, under every policy (crdt: a counter's increments add up, so the SET
#: that reset the counter is the only one that undid w1, and w3's increment keeps w2's value)
BY_CASES = {
    "an increment, a SET, an increment": (
        [("eu-west-1", "ADD n :v", {":v": {"N": "1"}}), ("us-east-1", "SET n = :v", {":v": {"N": "7"}}),
         ("eu-west-1", "ADD n :v", {":v": {"N": "2"}})],
        {"w1": "w2", "w2": "w3"}),
    "a nested SET, REMOVE of the map, the map set again, another key": (
        [("eu-west-1", "SET m.k = :v", {":v": {"N": "1"}}), ("us-east-1", "REMOVE m", None),
         ("eu-west-1", "SET m = :e", {":e": {"M": {}}}), ("eu-west-1", "SET m.j = :v", {":v": {"N": "1"}})],
        {"w1": "w2", "w2": "w3", "w3": "w4"}),
    "three whole SETs": (
        [("eu-west-1", "SET a = :v", {":v": {"N": "1"}}), ("us-east-1", "SET a = :v", {":v": {"N": "2"}}),
         ("ap-southeast-2", "SET a = :v", {":v": {"N": "3"}})],
        {"w1": "w2", "w2": "w3"}),
    "a REMOVE undone by a SET, then another SET": (
        [("eu-west-1", "REMOVE a", None), ("us-east-1", "SET a = :v", {":v": {"N": "2"}}),
         ("ap-southeast-2", "SET a = :v", {":v": {"N": "3"}})],
        {"w1": "w2", "w2": "w3"}),
}


@pytest.mark.parametrize("merge", POLICIES)
@pytest.mark.parametrize("case", sorted(BY_CASES))
def test_by_names_the_write_that_undid_the_effect_not_the_last_write(case: str, merge: str) -> None:
    ops, undone = BY_CASES[case]
    result = _run(merge, NM, [(100 + 3000 * i, *op) for i, op in enumerate(ops)])
    if merge == "crdt" and case.startswith("an increment"):
        undone = {"w1": "w2"}
    for write, verdict in result.ledger.verdicts().items():
        entry = result.ledger[write]
        if write in undone:
            assert (verdict, entry.by) == ("superseded", (undone[write],)), entry
            assert f"overwritten by {undone[write]}," in entry.why
        else:
            assert verdict == "kept", entry


#: (initial item, update, values) -> the parts a region records for it: an action that left its
#: path as it was is a ``keep``.
RECORDED = [
    ({"n": {"N": "1"}}, "SET n = if_not_exists(n, :v)", {":v": {"N": "9"}}, {"n": [["keep", ["n"]]]}),
    ({}, "SET n = if_not_exists(n, :v)", {":v": {"N": "9"}}, None),  # it wrote: judged whole
    ({"m": {"M": {"j": {"N": "1"}}}}, "REMOVE m.k", None, {"m": [["keep", ["m", "k"]]]}),
    ({"m": {"M": {"k": {"N": "1"}}}}, "REMOVE m.k", None, {"m": [["remove", ["m", "k"]]]}),
    ({"s": {"SS": ["a"]}}, "DELETE s :v", {":v": {"SS": ["x"]}}, {"s": [["keep", ["s"]]]}),
    ({"s": {"SS": ["a"]}}, "ADD s :v", {":v": {"SS": ["a"]}}, {"s": [["keep", ["s"]]]}),
    ({"s": {"SS": ["a", "b"]}}, "DELETE s :v", {":v": {"SS": ["a", "x"]}},
     {"s": [["elements", ["s"], [], ["S:a", "S:x"]]]}),
]


@pytest.mark.parametrize("initial, update, values, parts", RECORDED)
def test_what_a_region_records_for_an_action_that_changed_nothing(
        initial: dict[str, Any], update: str, values: Any, parts: Any) -> None:
    result = _run("item-lww", {"pk": {"S": "k"}, **initial}, [(100, "eu-west-1", update, values)])
    wrote = next(iter(result.trace.of_kind("Wrote")))
    assert (wrote.get("parts") or None) == parts
    assert result.ledger.verdicts() == {"w1": "kept"}


def test_if_not_exists_on_a_crdt_counter_is_its_reset_not_a_no_op() -> None:
    """Under crdt, n after an ADD is a counter; if_not_exists(n, :v) assigns the total it read
    (the counter's reset): the ADD it observed is superseded by it, though n is unchanged."""
    result = _run("crdt", {"pk": {"S": "k"}, "n": {"N": "0"}}, [
        (100, "eu-west-1", "ADD n :v", {":v": {"N": "2"}}),
        (3100, "us-east-1", "SET n = if_not_exists(n, :v)", {":v": {"N": "9"}})])
    assert {items["k"]["n"] for items in result.final.values()} == {2}
    wrote = [e.get("parts") or None for e in result.trace.of_kind("Wrote")]
    assert wrote == [None, None]  # no keep: an assignment, judged whole
    assert (result.ledger["w1"].verdict, result.ledger["w1"].by) == ("superseded", ("w2",))
    assert result.ledger["w2"].verdict == "kept"


def test_judge_passes_a_chain_through_a_keep_in_records_written_by_hand() -> None:
    """No simulator: w1 set m whole, w2 only wrote it back (a keep built on w1's value), and
    w2's cell holds m: w1's value is there, so w1 is kept."""
    from replicalab.clocks import VectorClock
    from replicalab.dots import Dot
    from replicalab.items import Cell, Item, Stamp, Version
    from replicalab.ledger import WriteRecord, judge

    def record(op: str, wall: int, **extra: Any) -> WriteRecord:
        return WriteRecord(id=op, replica="a", key="k", time=wall, client="c",
                           attributes={"m": {"k": 1}}, dot=Dot("a", wall),
                           seen=VectorClock({"a": wall}), stamp=Stamp(wall, "a", wall), **extra)
    w1 = record("w1", 1)
    w2 = record("w2", 2, parts={"m": (("keep", ("m",)),)}, base={"m": "w1"})
    assert w2.effect == []  # nothing of its own
    cell = Cell({"k": 1}, "w2", w2.stamp)
    final = {"a": {"k": Item((Version.of({"m": cell}, write="w2", stamp=w2.stamp),))}}
    assert judge([w1, w2], final).verdicts() == {"w1": "kept", "w2": "kept"}
    assert judge([w1, record("w2", 2)], final)["w1"].verdict == "superseded"
