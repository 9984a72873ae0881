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
    assert [e.op for e in result.trace.of_kind("Read")] == ["r1", "r2", "r4", "r6"]


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
    """us-east-1 spends its only WCU on its own write at t=50; eu-west-1's write arrives
    about 25 ms later and waits: the bucket holds 1000 milli-units again at 50 + 1000 ms.
    It is merged then (lag visible in the trace), and the ledger keeps every write."""
    merged_at = {}
    for capacity in ({"write": 1}, {}):
        tbl = table(**capacity)
        eu, us = tbl.client("eu-west-1"), tbl.client("us-east-1")
        put(eu, "b", 1)
        tbl.at(50)
        put(us, "a", 1)
        result = tbl.settle()
        merged_at[bool(capacity)] = {(e.replica, e.write): e.time
                                     for e in result.trace.of_kind("Merged")}
        throttled = result.trace.of_kind("ReplicationThrottled")
        # Every region has one WCU a second: eu-west-1 spent it on w1 at t=0, us-east-1 on
        # w2 at t=50, ap-southeast-2 on w1 when it arrived; the next arrival waits.
        assert sorted((e.replica, e.write, e.units) for e in throttled) == (
            [("ap-southeast-2", "w2", 1), ("eu-west-1", "w2", 1), ("us-east-1", "w1", 1)]
            if capacity else [])
        assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"} and result.converged
    lagging, free = merged_at[True], merged_at[False]
    assert lagging[("us-east-1", "w1")] == 50 + 1000 and free[("us-east-1", "w1")] < 100
    assert lagging[("eu-west-1", "w2")] == 0 + 1000 and free[("eu-west-1", "w2")] < 150
    ap_first = lagging[("ap-southeast-2", "w1")]
    assert ap_first == free[("ap-southeast-2", "w1")]  # the first arrival found units
    assert lagging[("ap-southeast-2", "w2")] == ap_first + 1000


def test_token_bucket_contract_and_bad_capacity():
    bucket = TokenBucket(rate=2)
    assert bucket.take(0, 2000) and not bucket.take(0, 1) and bucket.level(0) == 0
    assert bucket.ready_at(0, 5000) == 1000  # capped at the bucket's size
    bucket.force(1000, 5000)
    assert bucket.level(1000) == -3000 and bucket.ready_at(1000, 1000) == 3000
    for bad in ({"write": 0}, {"read": 5}, {"write": 1, "reads": 2}, {"write": 1, "read": 1.5}):
        with pytest.raises(ConfigError):
            table(**bad)
