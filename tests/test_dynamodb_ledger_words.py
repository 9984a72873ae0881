"""What the ledger says about REMOVE and DeleteItem on a GlobalTable (found in review).

* A write whose attributes a later write removed *having seen it* is superseded under every
  merge policy. Under crdt a removal leaves no tombstone cell naming its write, and the
  ledger used to call the first write silently lost with no cause.
* The ledger's "what" names a REMOVE as ``removes`` and a DeleteItem as ``deletes the item``
  (it said ``sets``), never names key attributes, and a default client is ``app@<region>``
  (it was ``app@us-east-1@us-east-1``).
"""

from __future__ import annotations

import pytest

from replicalab.dynamodb import GlobalTable

MERGES = ("item-lww", "attribute-lww", "causal", "crdt")
KEY = {"pk": {"S": "a"}}


@pytest.mark.parametrize("merge", MERGES)
def test_a_write_removed_by_a_write_that_saw_it_is_superseded(merge):
    table = GlobalTable("tbl", key=("pk",), merge=merge)
    us = table.client("us-east-1")
    us.update_item(TableName="tbl", Key=KEY, UpdateExpression="SET n = :n, m = :m",
                   ExpressionAttributeValues={":n": {"N": "2"}, ":m": {"S": "x"}})
    table.at(300)
    us.update_item(TableName="tbl", Key=KEY, UpdateExpression="REMOVE n, m")
    result = table.settle()
    assert result.ledger.verdicts() == {"w1": "superseded", "w2": "kept"}
    assert result.ledger["w1"].by == ("w2",)


@pytest.mark.parametrize("merge", MERGES)
def test_a_deleted_item_supersedes_the_writes_its_delete_had_seen(merge):
    table = GlobalTable("tbl", key=("pk",), merge=merge)
    us = table.client("us-east-1")
    us.put_item(TableName="tbl", Item={**KEY, "x": {"S": "1"}})
    table.at(500)
    us.delete_item(TableName="tbl", Key=KEY)
    result = table.settle()
    assert result.ledger.verdicts() == {"w1": "superseded", "w2": "kept"}


def test_the_ledger_names_removes_and_deletes_and_the_default_client_once():
    table = GlobalTable("tbl", key=("pk",))
    us = table.client("us-east-1")
    us.put_item(TableName="tbl", Item={**KEY, "x": {"S": "1"}, "y": {"S": "2"}})
    table.at(300)
    us.update_item(TableName="tbl", Key=KEY, UpdateExpression="REMOVE y SET z = :z",
                   ExpressionAttributeValues={":z": {"N": "1"}})
    table.at(500)
    us.delete_item(TableName="tbl", Key=KEY)
    ledger = table.settle().report().split("Ledger")[1]
    assert "app@us-east-1 sets x, y\n" in ledger  # the key attribute pk is bookkeeping
    assert "app@us-east-1 sets z; removes y\n" in ledger
    assert "app@us-east-1 deletes the item\n" in ledger
    assert "@us-east-1@" not in ledger
