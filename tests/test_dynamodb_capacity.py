"""Provisioned capacity on a GlobalTable: read units, and replicated writes that wait.

Closed forms (DynamoDB's developer guide, "read and write operations"): a read costs one unit
per 4 KB (rounded up, at least one), half of that when eventually consistent; a Query sums
the sizes of the items it returns before rounding; a write costs one unit per 1 KB. A bucket
refills ``rate`` units per second (one milli-unit per ms per unit of rate) and starts full.
"""

from __future__ import annotations

import pytest

from replicalab.dynamodb import GlobalTable
from replicalab.dynamodb.exceptions import ProvisionedThroughputExceededException
from replicalab.errors import ConfigError
from replicalab.replica.capacity import TokenBucket, read_units, write_units

T = "things"


def table(**capacity: int) -> GlobalTable:
    return GlobalTable(T, key=("pk", "sk"), key_types={"sk": "N"},
                       capacity=capacity or None)


def put(client, pk: str, sk: int, size: int = 10) -> None:
    client.put_item(TableName=T, Item={"pk": {"S": pk}, "sk": {"N": str(sk)},
                                       "blob": {"S": "x" * size}})


def spend(client) -> None:
    """A write whose condition fails: charged one WCU where it runs, replicated nowhere."""
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.put_item(TableName=T, Item={"pk": {"S": "none"}, "sk": {"N": "0"}},
                        ConditionExpression="attribute_exists(pk)")


def get(client, pk: str, sk: int, consistent: bool = False) -> dict:
    return client.get_item(TableName=T, Key={"pk": {"S": pk}, "sk": {"N": str(sk)}},
                           ConsistentRead=consistent)


@pytest.mark.parametrize(("size", "consistent", "milli"), [
    (0, False, 500), (0, True, 1000), (4096, False, 500), (4097, False, 1000),
    (4097, True, 2000), (3 * 4096 + 1, True, 4000)])
def test_read_units_closed_form(size, consistent, milli):
    assert read_units(size, consistent) == milli
    assert write_units(size) == max(1, -(-size // 1024))


def test_get_item_spends_half_a_unit_eventually_and_a_whole_unit_strongly():
    tbl = table(write=100, read=1)  # 1 RCU/s: a bucket of 1000 milli-units, full
    eu = tbl.client("eu-west-1")
    put(eu, "a", 1)
    get(eu, "a", 1)
    get(eu, "a", 1)  # two eventually consistent reads of a small item: 2 x 0.5 = 1 unit
    with pytest.raises(ProvisionedThroughputExceededException) as throttled:
        get(eu, "a", 1)
    assert throttled.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    tbl.at(1000)  # refilled: one strongly consistent read fits, not two
    get(eu, "a", 1, consistent=True)
    with pytest.raises(eu.exceptions.ProvisionedThroughputExceededException):
        get(eu, "a", 1, consistent=True)
    other = tbl.client("us-east-1")  # another region has its own bucket
    get(other, "a", 1, consistent=True)
    result = tbl.settle()
    # A throttled call changes nothing, not even the op counter: the reads sent are r1..r4.
    assert [e.op for e in result.trace.of_kind("Read")] == ["r1", "r2", "r3", "r4"]


def test_query_spends_units_on_the_summed_size_of_what_it_returns():
    tbl = table(write=100, read=1)
    eu = tbl.client("eu-west-1")
    for sk in (1, 2, 3):
        put(eu, "p", sk, size=1500)  # about 1.5 KB each: 3 items sum past 4 KB
    tbl.at(1000)
    query = dict(TableName=T, KeyConditionExpression="pk = :p",
                 ExpressionAttributeValues={":p": {"S": "p"}})
    assert eu.query(**query)["Count"] == 3  # 2 x 4 KB units, eventually: 1000 milli
    with pytest.raises(ProvisionedThroughputExceededException):
        eu.query(**query)
    tbl.at(1500)  # 500 milli back: a query that returns one item costs exactly that
    assert eu.query(**query, Limit=1)["Count"] == 1


def test_on_demand_never_throttles():
    tbl = table()
    eu = tbl.client("eu-west-1")
    for sk in range(50):
        put(eu, "a", sk, size=5000)
        get(eu, "a", sk, consistent=True)
    assert tbl.settle().summary["rejected"] == 0


def test_a_replicated_write_waits_for_the_receiving_regions_capacity_and_is_never_dropped():
    """2 WCUs a second (a bucket of 2000 milli-units). Two failed conditional writes at
    us-east-1 at t=0 spend its bucket (charged, replicated nowhere); eu-west-1's write at
    t=10 must pay us-east-1 one unit to replicate there, which its bucket holds again at
    t=500 (2 milli-units a ms). So the write waits at eu-west-1 and leaves at 500 — while
    ap-southeast-2, which had units, gets it at once. Delayed, never dropped: the ledger
    keeps every write and the regions converge."""
    runs = {}
    for capacity in ({"write": 2}, {}):
        tbl = table(**capacity)
        eu, us = tbl.client("eu-west-1"), tbl.client("us-east-1")
        spend(us)
        spend(us)
        tbl.at(10)
        put(eu, "b", 1)
        tbl.at(300)
        seen = "Item" in get(us, "b", 1, consistent=True)
        result = tbl.settle()
        # Ground truth agrees: the lagging region had not received w3, so its strong read
        # missed a write acknowledged before it began (a stale read, counted).
        assert (seen, result.stale_reads) == ((False, ("r1",)) if capacity else (True, ()))
        throttled = [(e.replica, e.write, e.peer, e.units, e.time)
                     for e in result.trace.of_kind("ReplicationThrottled")]
        merged = {(e.replica, e.write): e.time for e in result.trace.of_kind("Merged")}
        runs[bool(capacity)] = throttled, merged
        assert result.ledger.verdicts() == {"w1": "rejected", "w2": "rejected", "w3": "kept"}
        assert result.converged
    (throttled, lagging), (none, free) = runs[True], runs[False]
    assert throttled == [("eu-west-1", "w3", "us-east-1", 1, 10)] and none == []
    assert 500 + 70 <= lagging[("us-east-1", "w3")] <= 500 + 80   # eu-west-1 -> us-east-1: 70-80 ms
    assert 10 + 70 <= free[("us-east-1", "w3")] <= 10 + 80
    assert lagging[("ap-southeast-2", "w3")] == free[("ap-southeast-2", "w3")]


def test_replication_waits_in_order_and_sends_the_item_as_it_is_then():
    """Two writes on one key wait for the same peer: one message leaves, carrying the item
    with both (the later write names it), and nothing is lost."""
    tbl = table(write=2)
    eu, us = tbl.client("eu-west-1"), tbl.client("us-east-1")
    spend(us)
    spend(us)  # us-east-1's bucket is empty at t=0
    tbl.at(10)
    put(eu, "b", 1)
    tbl.at(20)
    eu.update_item(TableName=T, Key={"pk": {"S": "b"}, "sk": {"N": "1"}},
                   UpdateExpression="SET more = :m", ExpressionAttributeValues={":m": {"S": "y"}})
    result = tbl.settle()
    to_us = [e for e in result.trace.of_kind("Merged")
             if e.replica == "us-east-1" and e.key.startswith("b")]
    assert [e.write for e in to_us] == ["w4"] and 570 <= to_us[0].time <= 580
    assert result.final["us-east-1"]["b|1"]["more"] == "y"
    assert result.ledger.verdicts() == {"w1": "rejected", "w2": "rejected", "w3": "kept",
                                        "w4": "kept"}


def test_token_bucket_contract_and_bad_capacity():
    bucket = TokenBucket(rate=2)
    assert bucket.take(0, 2000) and not bucket.take(0, 1) and bucket.level(0) == 0
    assert bucket.ready_at(0, 5000) == 1000  # capped at the bucket's size
    bucket.force(1000, 5000)
    assert bucket.level(1000) == -3000 and bucket.ready_at(1000, 1000) == 3000
    for bad in ({"write": 0}, {"read": 5}, {"write": 1, "reads": 2}, {"write": 1, "read": 1.5}):
        with pytest.raises(ConfigError):
            table(**bad)
