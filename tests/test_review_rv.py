"""Review rv: the ledger's ``by`` and verdicts on set and removal histories, against oracles.

Found by running independent oracles (tests/test_ledger_parts_oracle.py's brute force, now also
over crdt sets, and a causal OR-Set model) over seeded histories. Each test names the history,
says what the ledger said and what is true:

* a ``DELETE`` of members that were not there (a no-op) was named as the write that undid a
  set written whole, or that brought back a removed attribute — it undid nothing;
* a set ``ADD`` removed by a ``DELETE`` that had seen it was said to be superseded by a *later*
  write that only added another element, or by every later delete of a member already gone;
* under crdt, an ``ADD`` removed by a ``REMOVE`` that had seen it was *silently lost* "to" an
  earlier ``REMOVE`` whose tombstone the item still held — a false verdict;
* under crdt, a ``REMOVE`` undone by a concurrent ``SET`` was silently lost "to" a write on
  *another attribute* (the last write the item had applied), not to the ``SET``.
"""

from __future__ import annotations

from typing import Any

import pytest

from replicalab.dynamodb import GlobalTable
from replicalab.scenarios.regions import AzPartition
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.network import Uniform

KEY = {"pk": {"S": "k"}}
POLICIES = ("item-lww", "attribute-lww", "causal", "crdt")


def _table(merge: str, **attributes: Any) -> GlobalTable:
    return GlobalTable("tbl", key=("pk",), merge=merge, seed=0, items=[{**KEY, **attributes}])


def _update(table: GlobalTable, at: int, region: str, expression: str, values: Any = None) -> None:
    table.at(at)
    extra = {"ExpressionAttributeValues": values} if values else {}
    table.client(region, f"c{at}").update_item(TableName="tbl", Key=KEY, UpdateExpression=expression, **extra)


def _outcome(result: Any) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {e.write: (e.verdict, e.by) for e in result.ledger}


def test_a_no_op_delete_does_not_undo_a_crdt_set_written_whole() -> None:
    """crdt; s = {a}. w1 (ap) ``SET s = {t0}``; w2 (ap, after it) ``DELETE s {a}`` — a was gone:
    a no-op; 3 s later w3 (ap) ``DELETE s {a, t0, t1}`` and w4 (eu) ``ADD s {t3}``. Final {t3}.
    Before: w1 superseded by w2. True: by w3, the delete that took t0 out (w4's add kept it)."""
    table = _table("crdt", s={"SS": ["a"]})
    _update(table, 100, "ap-southeast-2", "SET s = :v", {":v": {"SS": ["t0"]}})
    _update(table, 110, "ap-southeast-2", "DELETE s :v", {":v": {"SS": ["a"]}})
    _update(table, 3100, "ap-southeast-2", "DELETE s :v", {":v": {"SS": ["a", "t0", "t1"]}})
    _update(table, 3110, "eu-west-1", "ADD s :v", {":v": {"SS": ["t3"]}})
    result = table.settle()
    assert result.converged and {str(s["k"]["s"]) for s in result.final.values()} == {"{'SS': ['t3']}"}
    assert _outcome(result) == {"w1": ("superseded", ("w3",)), "w2": ("kept", ()),
                                "w3": ("kept", ()), "w4": ("kept", ())}


@pytest.mark.parametrize("merge", POLICIES)
def test_a_delete_of_members_never_brings_back_a_removed_attribute(merge: str) -> None:
    """s = {a}. w1 (us) ``REMOVE s``; w2 (us, after it) ``DELETE s {a}`` on the absent set; 3 s
    later w3 (ap) ``SET s = {t2}``. Before (crdt): w1 superseded by w2. True, every policy: w3
    set s again having seen w1."""
    table = _table(merge, s={"SS": ["a"]})
    _update(table, 100, "us-east-1", "REMOVE s")
    _update(table, 110, "us-east-1", "DELETE s :v", {":v": {"SS": ["a"]}})
    _update(table, 3100, "ap-southeast-2", "SET s = :v", {":v": {"SS": ["t2"]}})
    result = table.settle()
    assert result.converged
    assert _outcome(result)["w1"] == ("superseded", ("w3",))


def test_a_no_op_delete_after_a_remove_is_not_the_write_that_took_an_added_member_out() -> None:
    """crdt; s = {a}. w1 (eu) ``ADD s {t0}``; 3 s later w2 (us) ``REMOVE s``; 3 s later w3 (us)
    ``DELETE s {a, t0, t1}`` on the absent set. Before: w1 superseded by w3. True: by w2."""
    table = _table("crdt", s={"SS": ["a"]})
    _update(table, 100, "eu-west-1", "ADD s :v", {":v": {"SS": ["t0"]}})
    _update(table, 3100, "us-east-1", "REMOVE s")
    _update(table, 6100, "us-east-1", "DELETE s :v", {":v": {"SS": ["a", "t0", "t1"]}})
    result = table.settle()
    assert result.converged and all("s" not in s["k"] for s in result.final.values())
    assert _outcome(result)["w1"] == ("superseded", ("w2",))


def test_an_add_removed_by_a_remove_that_saw_it_is_superseded_not_lost_to_an_earlier_remove() -> None:
    """crdt; s = {a}. w1 (ap) ``REMOVE s``; w2 (ap, after it) ``ADD s {t1}``; 3 s later w3 (us)
    ``REMOVE s``. Before: w2 *silently lost*, by w1 ("'S:t1' is missing from s (w1 had not seen
    w2)") — w1's tombstone read as the value holding s. True: superseded by w3, which had seen
    it."""
    table = _table("crdt", s={"SS": ["a"]})
    _update(table, 100, "ap-southeast-2", "REMOVE s")
    _update(table, 110, "ap-southeast-2", "ADD s :v", {":v": {"SS": ["t1"]}})
    _update(table, 3100, "us-east-1", "REMOVE s")
    result = table.settle()
    assert result.converged and all("s" not in s["k"] for s in result.final.values())
    assert _outcome(result)["w2"] == ("superseded", ("w3",))


def test_a_later_delete_of_a_member_already_gone_undid_nothing() -> None:
    """crdt; s = {a}. w1 (ap) ``ADD s {t0}``; w2 (us) ``SET m.t1``; w3 (ap, after w1) ``DELETE s
    {a, t0}``; 3 s later w4 (us) ``DELETE s {a, t0, t2}`` of the gone members. Before: w1
    superseded by w3 and w4. True: by w3 alone."""
    table = _table("crdt", s={"SS": ["a"]}, m={"M": {}})
    _update(table, 100, "ap-southeast-2", "ADD s :v", {":v": {"SS": ["t0"]}})
    _update(table, 110, "us-east-1", "SET m.t1 = :v", {":v": {"N": "1"}})
    _update(table, 120, "ap-southeast-2", "DELETE s :v", {":v": {"SS": ["a", "t0"]}})
    _update(table, 3100, "us-east-1", "DELETE s :v", {":v": {"SS": ["a", "t0", "t2"]}})
    result = table.settle()
    assert result.converged
    assert _outcome(result)["w1"] == ("superseded", ("w3",))


@pytest.mark.parametrize("merge", POLICIES)
def test_a_removed_element_is_superseded_by_its_delete_not_by_a_later_add_of_another(merge: str) -> None:
    """A scenario cart {book}: w1 (eu, t=0) adds a pen; w2 (us, t=1000) deletes it having seen
    it; w3 (eu, t=2000) adds a cup. Before (item-lww, attribute-lww, causal): w1 superseded by
    w3, whose value of the set holds no pen — but w3 only added a cup to a set already without
    it. True under every policy: by w2."""
    regions = ("eu-west-1", "us-east-1")

    def write(at: int, region: str, op: str, **action: Any) -> ClientWrite:
        return ClientWrite(at, region, op, f"c-{op}", "k", {}, **action)

    story = TableScenario(name="cup-after-pen", description="a delete, then an add of another element",
                          regions=regions, latency={regions: Uniform(70, 80)},
                          initial={"k": {"items": frozenset({"book"})}},
                          workload=(write(0, "eu-west-1", "w1", add={"items": {"pen"}}),
                                    write(1000, "us-east-1", "w2", delete={"items": {"pen"}}),
                                    write(2000, "eu-west-1", "w3", add={"items": {"cup"}})))
    result = story.run(merge, 0)
    assert result.converged
    assert _outcome(result) == {"w1": ("superseded", ("w2",)), "w2": ("kept", ()), "w3": ("kept", ())}


def test_a_remove_undone_by_a_concurrent_crdt_set_is_lost_to_that_set_not_to_another_attribute() -> None:
    """crdt, at once in three regions: w1 (eu) ``SET s = {t0}``, w2 (ap) ``SET n =
    if_not_exists(n, :v)`` on an ``n`` that had a value (a no-op), w3 (us) ``REMOVE s``. The
    REMOVE resets only what it saw, so w1's t0 stays: w3 is silently lost. Before: ``by`` w2
    ("s, which w3 removed, is back (brought by w2)"), the last write the item applied, which
    never touched s. True: by w1."""
    table = _table("crdt", s={"SS": ["a"]}, n={"N": "0"})
    _update(table, 100, "eu-west-1", "SET s = :v", {":v": {"SS": ["t0"]}})
    _update(table, 110, "ap-southeast-2", "SET n = if_not_exists(n, :v)", {":v": {"N": "2048"}})
    _update(table, 120, "us-east-1", "REMOVE s")
    result = table.settle()
    assert result.converged and {str(s["k"]["s"]) for s in result.final.values()} == {"{'SS': ['t0']}"}
    w3 = result.ledger["w3"]
    assert (w3.verdict, w3.by) == ("silently-lost", ("w1",))
    assert "brought by w1" in w3.why


def test_a_causal_removal_dropped_when_a_later_write_resolved_the_siblings_names_the_value_kept() -> None:
    """causal; s = {a}. w1 (eu) ``REMOVE s`` and w2 (us) ``ADD s {t1}`` at once: siblings. 3 s
    later w3 (eu), having seen both, prepends to l: its item takes s from the sibling with the
    greatest stamp, w2's, and w1's removal is gone everywhere. Before: silently lost with
    ``by`` empty and the why "its value is absent from the final state (it never arrived or was
    dropped without a recorded merge)" — the ledger ranked a causal removal above every holder,
    so it took w1 (applied in its own region!) for a removal that never entered the tables.
    True: silently lost to w2, whose value was carried over it."""
    table = _table("causal", s={"SS": ["a"]}, l={"L": []})
    _update(table, 100, "eu-west-1", "REMOVE s")
    _update(table, 110, "us-east-1", "ADD s :v", {":v": {"SS": ["t1"]}})
    _update(table, 3100, "eu-west-1", "SET l = list_append(:v, l)", {":v": {"L": [{"S": "t2"}]}})
    result = table.settle()
    assert result.converged and {str(s["k"]["s"]) for s in result.final.values()} == {"{'SS': ['a', 't1']}"}
    w1 = result.ledger["w1"]
    assert (w1.verdict, w1.by) == ("silently-lost", ("w2",))
    assert "s, which w1 removed, is back (brought by w2) (w2 had not seen w1)" in w1.why


def test_an_add_a_cut_off_follower_never_applied_is_unreplicated_though_a_later_delete_saw_it() -> None:
    """causal, leader regions, us-east-1a cut off from its region for good at t=150. w1 (eu,
    t=290) adds a cup; w4 (us, t=329) sets the items whole to {cup, pen}; w2 (eu, t=337),
    having seen w1 only, deletes the cup. us-east-1a holds the initial {book, pen}: w1 reached
    it only in messages it never applied. A first version of this review's fix named every
    delete that had seen the add, w2 included — though w2 never entered that table either —
    so w1 came out silently lost ``by ('initial',)``. True: unreplicated."""
    regions = ("eu-west-1", "us-east-1")

    def write(at: int, region: str, op: str, attributes: Any, **action: Any) -> ClientWrite:
        return ClientWrite(at, region, op, f"c-{op}", "k", attributes, **action)

    story = TableScenario(name="cut-off-add", description="an add a cut-off follower never applied",
                          regions=regions, latency={regions: Uniform(60, 90)},
                          initial={"k": {"items": frozenset({"book", "pen"})}},
                          workload=(write(290, "eu-west-1", "w1", {}, add={"items": {"cup"}}),
                                    write(329, "us-east-1", "w4", {"items": frozenset({"cup", "pen"})}),
                                    write(337, "eu-west-1", "w2", {}, delete={"items": {"cup"}})))
    result = story.run("causal", 0, replicas_per_region=3, region_protocol="leader",
                       az_partitions=[AzPartition(150, "us-east-1", "a")])
    assert sorted(result.final["us-east-1a"]["k"]["items"]) == ["book", "pen"]
    assert not result.converged
    w1 = result.ledger["w1"]
    assert (w1.verdict, w1.by) == ("unreplicated", ()), w1
    assert w1.why.endswith("before us-east-1a applied it (it arrived there, but only in a message "
                           "that was not applied)")


def test_two_concurrent_deletes_of_an_added_member_are_both_named_in_leader_regions() -> None:
    """crdt, leader regions of three AZ nodes. w4 (us, t=62) adds a pen; w2 (ap, t=161) and w3
    (eu, t=194), each having seen it and not each other, delete it; w5 (us, t=279), having seen
    w2 only, adds a cup. Each delete took the pen out where it ran, so w4 is superseded by both.
    A first version of this review's fix counted only removers in the past of the write naming
    the merged crdt version (w5) and said ``by ('w2',)``."""
    regions = ("eu-west-1", "us-east-1", "ap-southeast-2")

    def write(at: int, region: str, op: str, **action: Any) -> ClientWrite:
        return ClientWrite(at, region, op, f"c-{op}", "k", {}, **action)

    story = TableScenario(name="two-deletes", description="two concurrent deletes of one add",
                          regions=regions, latency={(a, b): Uniform(60, 90) for a in regions
                                                    for b in regions if a < b},
                          initial={"k": {"items": frozenset({"book"})}},
                          workload=(write(40, "eu-west-1", "w1", add={"items": {"book", "cup"}}),
                                    write(62, "us-east-1", "w4", add={"items": {"pen"}}),
                                    write(106, "us-east-1", "w0", add={"items": {"cup", "pen"}}),
                                    write(161, "ap-southeast-2", "w2", delete={"items": {"pen"}}),
                                    write(194, "eu-west-1", "w3", delete={"items": {"pen"}}),
                                    write(218, "eu-west-1", "w6", delete={"items": {"cup", "pen"}}),
                                    write(279, "us-east-1", "w5", add={"items": {"cup"}})))
    result = story.run("crdt", 1, replicas_per_region=3, region_protocol="leader")
    assert result.converged
    assert {tuple(sorted(s["k"]["items"])) for s in result.final.values()} == {("book", "cup")}
    w4 = result.ledger["w4"]
    assert (w4.verdict, w4.by) == ("superseded", ("w2", "w3")), w4
