"""Review rv: the ledger's ``by`` and verdicts on set and removal histories, against oracles.

Found by running independent oracles (tests/test_ledger_parts_oracle.py's brute force, now also
over crdt sets, and a causal OR-Set model) over seeded histories. Each test names the history,
says what the ledger said and what is true:

* a ``DELETE`` of members that were not there (a no-op) was named as the write that undid a
  set written whole, or that brought back a removed attribute — it undid nothing;
"""

from __future__ import annotations

from typing import Any

import pytest

from replicalab.dynamodb import GlobalTable

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
