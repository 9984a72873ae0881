"""Review reproducers for GlobalTable(mode="mrsc") and capacity metering.

Each test FAILS on the code under review and states what is true."""

from __future__ import annotations

from replicalab.dynamodb import GlobalTable
from replicalab.sim.faults import Heal, Partition

REG = ("ap-southeast-2", "eu-west-1", "us-east-1")
T = "things"


def test_a_strong_read_does_not_turn_an_unreplicated_mrsc_write_into_silently_lost():
    """us-east-1 is cut off 10..500 ms and has no catch_up: eu-west-1's w1 commits with
    ap-southeast-2 and never reaches us-east-1's table. Without a read the ledger rightly
    says 'unreplicated'. A strong read from us-east-1 at 600 gets ap-southeast-2's
    ReadReply (which carries w1's item, sent with scope=key) and returns x=1 — yet
    us-east-1 still does not hold w1. The ledger then says 'silently-lost ... never
    arrived', which MRSC can never do; the truth is still 'unreplicated'."""
    table = GlobalTable(T, key=("pk",), mode="mrsc",
                        faults=[Partition.isolate(10, "us-east-1", REG), Heal(500)],
                        items=[{"pk": {"S": "k"}, "y": {"S": "0"}}])
    table.at(100)
    table.client("eu-west-1").update_item(TableName=T, Key={"pk": {"S": "k"}}, UpdateExpression="SET x = :v",
                                          ExpressionAttributeValues={":v": {"S": "1"}})
    table.at(600)
    got = table.client("us-east-1").get_item(TableName=T, Key={"pk": {"S": "k"}}, ConsistentRead=True)
    assert got["Item"]["x"] == {"S": "1"}
    result = table.settle()
    assert "x" not in result.final["us-east-1"]["k"] and not result.converged
    assert result.ledger.verdicts() == {"w1": "unreplicated"}


def test_a_refused_prepare_does_not_turn_an_unreplicated_mrsc_write_into_silently_lost():
    """ap-southeast-2 refuses us-east-1's Prepare for w1 (its own w2 on the key is in flight)
    and crashes (durable) before w1's Commit arrives; no catch_up, so it never holds w1.
    us-east-1 and eu-west-1 hold w1: 'unreplicated'. The ledger counts the refused Prepare
    as 'reached' and says 'silently-lost'."""
    from replicalab.sim.faults import Crash, Restart
    from replicalab.sim.network import Constant

    lat = {("eu-west-1", "us-east-1"): Constant(10), ("ap-southeast-2", "us-east-1"): Constant(300),
           ("ap-southeast-2", "eu-west-1"): Constant(300)}
    table = GlobalTable(T, key=("pk",), mode="mrsc", latency=lat,
                        faults=[Crash(330, "ap-southeast-2", durable=True), Restart(1000, "ap-southeast-2")])
    us, ap = table.client("us-east-1"), table.client("ap-southeast-2")
    key = {"pk": {"S": "b"}}
    table.at(10)
    table.start(ap, "update_item", dict(TableName=T, Key=key, UpdateExpression="SET y = :v",
                                        ExpressionAttributeValues={":v": {"S": "2"}}))
    table.at(20)
    table.start(us, "update_item", dict(TableName=T, Key=key, UpdateExpression="SET x = :v",
                                        ExpressionAttributeValues={":v": {"S": "1"}}))
    result = table.settle()
    assert result.final["us-east-1"]["b"]["x"] == "1" and "b" not in result.final["ap-southeast-2"]
    assert result.ledger.verdicts()["w2"] == "unreplicated"


def test_a_blocking_call_whose_mrsc_region_crashes_mid_request_raises_a_boto3_error():
    """us-east-1 takes update_item at t=50, sends its Prepares and crashes at t=100 before any
    Accepted is back. The caller gets `replicalab.errors.ConfigError: request w1 got no reply`
    (global_table.py `_call`, the guard commented 'cannot happen') after the table clock
    ran on to 1.050 — a configuration error for a fault. boto3 code expects a DynamoDB error
    (e.g. ServiceUnavailableException / a timeout: the outcome is unknown). With
    GlobalTable.start the Call stays `done=False` forever, even after settle()."""
    import pytest

    from replicalab.dynamodb.exceptions import DynamoDBError
    from replicalab.sim.faults import Crash

    table = GlobalTable(T, key=("pk",), mode="mrsc", faults=[Crash(100, "us-east-1", durable=False)])
    table.at(50)
    with pytest.raises(DynamoDBError):
        table.client("us-east-1").update_item(TableName=T, Key={"pk": {"S": "k"}}, UpdateExpression="SET x = :v",
                                              ExpressionAttributeValues={":v": {"S": "1"}})


def test_a_strong_read_that_failed_is_not_counted_as_a_stale_read():
    """ap-southeast-2 is down 50..700. eu-west-1's w1 commits at ~100 with us-east-1; at 300 a
    client in ap-southeast-2 calls get_item(ConsistentRead=True) and gets
    ServiceUnavailableException — it was told nothing about the item. result.stale_reads
    still lists r1, so the MRSC run reports a stale *strong* read (chapter 13: MRSC strong
    reads are global, never stale). Also true on main's GlobalTable for mode='mrec' (a failed
    read is judged as if it had answered); an eventually consistent failed read is not listed."""
    import pytest

    from replicalab.dynamodb.exceptions import ServiceUnavailableException
    from replicalab.sim.faults import Crash, Restart

    table = GlobalTable(T, key=("pk",), mode="mrsc",
                        faults=[Crash(50, "ap-southeast-2", durable=False), Restart(700, "ap-southeast-2")],
                        items=[{"pk": {"S": "k"}, "y": {"S": "0"}}])
    table.at(100)
    table.client("eu-west-1").update_item(TableName=T, Key={"pk": {"S": "k"}}, UpdateExpression="SET x = :v",
                                          ExpressionAttributeValues={":v": {"S": "1"}})
    table.at(300)
    with pytest.raises(ServiceUnavailableException):
        table.client("ap-southeast-2").get_item(TableName=T, Key={"pk": {"S": "k"}}, ConsistentRead=True)
    assert table.settle().stale_reads == ()
