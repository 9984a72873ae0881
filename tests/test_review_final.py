"""Final review's reproducers: each test fails on the code it was written against."""

from __future__ import annotations

import json

import pytest

from replicalab.dynamodb.requestfile import load_requests

TABLE = {"TableName": "tbl", "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
         "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}]}
KEY = {"k": {"S": "a"}}


def _update(at: str, expression: str, values: dict | None = None) -> dict:
    body = {"TableName": "tbl", "Key": KEY, "UpdateExpression": expression}
    if values:
        body["ExpressionAttributeValues"] = values
    return {"at": at, "region": "us-east-1", "client": "c1", "UpdateItem": body}


def _file(requests: list) -> str:
    return json.dumps({"table": TABLE, "regions": ["us-east-1", "eu-west-1"],
                       "epoch": "00:00:00.000",
                       "items": [{"k": {"S": "a"}, "a": {"N": "1"}, "b": {"N": "1"}}],
                       "requests": requests})


@pytest.mark.parametrize("merge", ["item-lww", "attribute-lww", "causal", "crdt"])
@pytest.mark.parametrize("last", ["remove", "delete"])
def test_an_earlier_removal_is_not_a_remover_of_a_later_write(merge: str, last: str) -> None:
    # One client, one region, strictly sequential: REMOVE a; SET a = 2; then REMOVE a (or
    # DeleteItem). w2's a was removed by w3, which had seen it: superseded. The ledger counts
    # w1 (whose REMOVE came *before* w2, and which w2 had seen) as a remover that had not seen
    # w2 and says silently-lost, "absent ... never arrived". (rules.py _removers)
    third = (_update("00:00:03.000", "REMOVE a") if last == "remove" else
             {"at": "00:00:03.000", "region": "us-east-1", "client": "c1",
              "DeleteItem": {"TableName": "tbl", "Key": KEY}})
    result = load_requests(_file([_update("00:00:01.000", "REMOVE a"),
                                  _update("00:00:02.000", "SET a = :v", {":v": {"N": "2"}}),
                                  third])).replay(merge=merge).result
    assert result.ledger.verdicts()["w2"] == "superseded", result.ledger["w2"].why


def _far_home(latency: int):
    from replicalab.dynamodb import GlobalTable
    from replicalab.sim.network import Constant
    table = GlobalTable("subscribers", key=("id",), regions=["us-east-1", "eu-west-1"],
                        latency={("us-east-1", "eu-west-1"): Constant(latency)},
                        routing="key-home", homes={"x": "eu-west-1"})
    return table, table.client("us-east-1", "c")


def test_a_reply_after_client_timeout_is_a_time_out() -> None:
    # The request reaches its home region after 6 s, the answer comes back at 12 s: past
    # CLIENT_TIMEOUT (10 s) the client has given up (ServiceUnavailableException), as an SDK
    # would. The blocking call accepts the answer at t=12000. (global_table.py _call: the
    # time-out is checked only between events, never scheduled)
    from replicalab.dynamodb.global_table import CLIENT_TIMEOUT
    table, client = _far_home(6000)
    with pytest.raises(client.exceptions.ServiceUnavailableException):
        client.put_item(TableName="subscribers", Item={"id": {"S": "x"}, "v": {"N": "1"}})
    assert table.now == CLIENT_TIMEOUT


def test_a_time_out_is_at_client_timeout_not_at_the_next_event() -> None:
    # One way takes 20 s: the client gives up at 10 s. It is told "no answer after 20000 ms"
    # and the table's clock has run on to 20 s (the next event) before it gave up.
    from replicalab.dynamodb.global_table import CLIENT_TIMEOUT
    table, client = _far_home(20000)
    with pytest.raises(client.exceptions.ServiceUnavailableException) as error:
        client.put_item(TableName="subscribers", Item={"id": {"S": "x"}, "v": {"N": "1"}})
    assert table.now == CLIENT_TIMEOUT, str(error.value)


def _put(at: str, region: str, item: dict) -> dict:
    return {"at": at, "region": region, "client": "c",
            "PutItem": {"TableName": "tbl", "Item": {"k": {"S": "a"}, **item}}}


@pytest.mark.parametrize("merge", ["item-lww", "attribute-lww", "causal", "crdt"])
def test_a_put_replaced_by_a_later_put_that_saw_it_is_superseded(merge: str) -> None:
    # Sequential, one second apart (every message has arrived): DeleteItem at eu-west-1, then
    # at us-east-1 PutItem a=1, REMOVE b, PutItem b=3. w2's item was replaced by w3/w4, which
    # had seen it: superseded. The ledger says w2 silently-lost, "absent ... never arrived"
    # (the DeleteItem w1, *before* w2, counted as its remover).
    delete = {"at": "00:00:01.000", "region": "eu-west-1", "client": "c",
              "DeleteItem": {"TableName": "tbl", "Key": KEY}}
    result = load_requests(_file([
        delete, _put("00:00:02.000", "us-east-1", {"a": {"N": "1"}}),
        {**_update("00:00:03.000", "REMOVE b"), "client": "c"},
        _put("00:00:04.000", "us-east-1", {"b": {"N": "3"}})])).replay(merge=merge).result
    verdicts = result.ledger.verdicts()
    assert "silently-lost" not in verdicts.values(), (verdicts, result.ledger["w2"].why)


def test_crdt_put_that_replaced_a_seen_put_supersedes_it() -> None:
    # crdt, sequential: PutItem b=0 at eu-west-1; a second later PutItem a=1 at us-east-1 (it
    # had seen the first and replaced the item: b is gone). Then REMOVE a and DeleteItem.
    # w1 is superseded by w2; the ledger says silently-lost, "it never arrived or was dropped
    # without a recorded merge" while the timeline shows the merge that dropped it.
    result = load_requests(_file([
        _put("00:00:01.000", "eu-west-1", {"b": {"N": "0"}}),
        _put("00:00:02.000", "us-east-1", {"a": {"N": "1"}}),
        {**_update("00:00:03.000", "REMOVE a"), "region": "eu-west-1", "client": "c"},
        {"at": "00:00:04.000", "region": "eu-west-1", "client": "c",
         "DeleteItem": {"TableName": "tbl", "Key": KEY}}])).replay(merge="crdt").result
    assert result.ledger.verdicts()["w1"] == "superseded", result.ledger["w1"].why


def test_explorer_does_not_restart_a_region_the_scope_never_restarts() -> None:
    # eu-west-1 crashes at t=100 for good (no Restart). The client's second call is sent at
    # t>=146, after the crash, in every schedule: it can only be Unreachable. The explorer
    # (faults="none") adds "eu-west-1 restarts" steps at any point and reports w2 'ok' in
    # 200 of 252 schedules. (explore/driver.py steps(): restarts offered for every down replica)
    from replicalab import explore
    from replicalab.dynamodb import GlobalTable
    from replicalab.sim.faults import Crash

    key = {"id": {"S": "x"}}
    table = GlobalTable("subscribers", key=("id",), regions=["us-east-1", "eu-west-1"],
                        routing="key-home", homes={"x": "eu-west-1"}, faults=[Crash(100, "eu-west-1")],
                        items=[{"id": {"S": "x"}, "v": {"N": "0"}}])
    client = table.client("us-east-1", "a")
    client.update_item(TableName="subscribers", Key=key, UpdateExpression="SET v = :v",
                       ExpressionAttributeValues={":v": {"N": "1"}})
    with pytest.raises(client.exceptions.ServiceUnavailableException):
        client.update_item(TableName="subscribers", Key=key, UpdateExpression="SET v = :v",
                           ExpressionAttributeValues={":v": {"N": "2"}})
    assert table.settle().ledger.verdicts()["w2"] == "rejected"
    space = explore.scenario(table)
    assert space.replies()["w2"] == {"Unreachable": space.schedules}


def test_a_transactions_delete_part_deletes_the_item_in_the_ledger_words() -> None:
    # A TransactWriteItems Delete part removes the whole item, as DeleteItem and a
    # BatchWriteItem DeleteRequest do ("deletes the item"); the ledger says "removes x".
    # (viz/text.py ledger_lines: deletes are only ClientRequested operation == "DeleteItem")
    from replicalab.viz.text import ledger_lines
    doc = json.loads(_file([{"at": "00:00:01.000", "region": "us-east-1", "client": "c",
                             "TransactWriteItems": {"TransactItems": [
                                 {"Delete": {"TableName": "tbl", "Key": KEY}},
                                 {"Put": {"TableName": "tbl", "Item": {"k": {"S": "b"}}}}]}}]))
    result = load_requests(json.dumps(doc)).replay(merge="item-lww").result
    line = next(x for x in ledger_lines(result).splitlines() if x.strip().startswith("t1.1"))
    assert "deletes the item" in line, line


def test_exploring_regions_with_az_nodes_is_refused_at_once() -> None:
    # The review saw explore.scenario("london", replicas_per_region=3, region_protocol="leader")
    # run for minutes without an answer or a refusal: each AZ node's elections multiply the
    # schedules. It is refused up front, with what to do instead.
    from replicalab import explore
    from replicalab.errors import ConfigError
    with pytest.raises(ConfigError, match="replicas_per_region > 1"):
        explore.scenario("london", replicas_per_region=3, region_protocol="leader")
