"""GlobalTable: your own DynamoDB requests on the simulated global table, judged by the ledger.

Oracles: the London scenario (``scenarios.run``) for the seed's story; closed-form
expectations per merge policy for a delete racing an update; moto (a real boto3 client)
for "a function written for boto3 runs unchanged"; the trace's deliveries for fractured reads.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from replicalab import scenarios
from replicalab.checkers import fractured_reads
from replicalab.dynamodb import (
    ClientError,
    ConditionalCheckFailedException,
    GlobalTable,
    TransactionCanceledException,
    ValidationException,
)
from replicalab.errors import ConditionalCheckFailed, ConfigError, InvalidRequest, ReplicaIdError

KEY = {"subscriber_id": {"S": "sub_42"}}
SUB_42 = {"subscriber_id": {"S": "sub_42"},
          "delivery_address": {"S": "7 Canal Street, Manchester"},
          "last_contacted": {"S": "2026-11-30T09:00:00.000Z"},
          "version": {"N": "17"}}


def london_table(merge: str = "item-lww", seed: int = 0, **options: object) -> GlobalTable:
    return GlobalTable("subscribers", key=("subscriber_id",), merge=merge, seed=seed,
                       epoch="14:07:12.000", items=[SUB_42], **options)


def seed_request(client) -> dict:
    """The seed's UpdateItem, pasted verbatim (seeds/000, "Optimistic concurrency in DynamoDB")."""
    return client.update_item(
        TableName="subscribers",
        Key={"subscriber_id": {"S": "sub_42"}},
        UpdateExpression="SET delivery_address = :addr, #v = :new_v",
        ConditionExpression="#v = :expected_v",
        ExpressionAttributeNames={"#v": "version"},
        ExpressionAttributeValues={
            ":addr": {"S": "12 High Street, London"},
            ":expected_v": {"N": "17"},
            ":new_v": {"N": "18"},
        },
    )


def retention_job(client, versioned: bool) -> dict:
    if not versioned:
        return client.update_item(TableName="subscribers", Key=KEY,
                                  UpdateExpression="SET last_contacted = :t",
                                  ExpressionAttributeValues={":t": {"S": "2026-12-22T14:07:12.189Z"}})
    return client.update_item(
        TableName="subscribers", Key=KEY,
        UpdateExpression="SET last_contacted = :t, #v = :new_v",
        ConditionExpression="#v = :expected_v", ExpressionAttributeNames={"#v": "version"},
        ExpressionAttributeValues={":t": {"S": "2026-12-22T14:07:12.189Z"},
                                   ":expected_v": {"N": "17"}, ":new_v": {"N": "18"}})


def run_london(merge: str, versioned: bool, seed: int = 0):
    table = london_table(merge, seed)
    eu, us = table.client("eu-west-1", "portal"), table.client("us-east-1", "retention-job")
    table.at("14:07:12.140")
    if versioned:
        seed_request(eu)
    else:
        eu.update_item(TableName="subscribers", Key=KEY, UpdateExpression="SET delivery_address = :addr",
                       ExpressionAttributeValues={":addr": {"S": "12 High Street, London"}})
    table.at("14:07:12.189")
    retention_job(us, versioned)
    return table.settle()


# ---------------------------------------------------------------------------
# The seed's story


@pytest.mark.parametrize("merge", ["item-lww", "attribute-lww", "causal", "crdt"])
@pytest.mark.parametrize("versioned", [False, True])
def test_the_london_story_matches_the_scenario_under_every_policy(merge, versioned):
    """Oracle: the London scenario, written with ClientWrite, judges the same two writes the
    same way when the same writes arrive as boto3 requests (the seed's, verbatim)."""
    mine = run_london(merge, versioned)
    theirs = scenarios.run("london", merge=merge, seed=0,
                           **({"writes": "versioned"} if versioned else {}))
    assert mine.ledger.verdicts() == {w: v for w, v in theirs.ledger.verdicts().items()
                                      if not w.endswith(".read")}
    assert mine.converged and theirs.converged


def test_the_seeds_request_reproduces_the_silent_loss_and_then_its_detection():
    plain = run_london("item-lww", versioned=False)
    assert plain.ledger.verdicts() == {"w1": "silently-lost", "w2": "kept"}
    assert "w2 had not seen w1" in plain.ledger["w1"].why
    assert plain.final["eu-west-1"]["sub_42"]["delivery_address"] == "7 Canal Street, Manchester"
    versioned = run_london("item-lww", versioned=True)
    assert versioned.ledger.verdicts() == {"w1": "detected", "w2": "kept"}
    assert "version fork on sub_42" in versioned.ledger["w1"].why
    assert [(f.key, f.version, f.writes) for f in versioned.forks] == [("sub_42", 18, ("w1", "w2"))]


def save_address(client, address: str, expected: int) -> int:
    """The seed's pattern, written for a boto3 client: conditional update; on
    ConditionalCheckFailedException re-read, re-apply, retry. Returns the version written."""
    for _attempt in range(5):
        try:
            client.update_item(
                TableName="subscribers", Key={"subscriber_id": {"S": "sub_42"}},
                UpdateExpression="SET delivery_address = :addr, #v = :new_v",
                ConditionExpression="#v = :expected_v", ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":addr": {"S": address},
                                           ":expected_v": {"N": str(expected)},
                                           ":new_v": {"N": str(expected + 1)}})
            return expected + 1
        except client.exceptions.ConditionalCheckFailedException:
            item = client.get_item(TableName="subscribers", Key={"subscriber_id": {"S": "sub_42"}},
                                   ConsistentRead=True)["Item"]
            expected = int(item["version"]["N"])
    raise RuntimeError("gave up")


def test_the_seeds_retry_loop_runs_unchanged_and_the_ledger_judges_each_attempt():
    table = london_table()
    eu, us = table.client("eu-west-1", "portal"), table.client("us-east-1", "retention-job")
    table.at("14:07:12.189")
    retention_job(us, versioned=True)           # version 18, from us-east-1
    table.at("14:07:12.400")                     # ... which has reached eu-west-1 by now
    assert save_address(eu, "12 High Street, London", expected=17) == 19
    result = table.settle()
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "rejected", "w3": "kept"}
    assert "ConditionalCheckFailed" in result.ledger["w2"].why
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        item = result.final[region]["sub_42"]
        assert (item["version"], item["delivery_address"]) == (19, "12 High Street, London")
        assert item["last_contacted"] == "2026-12-22T14:07:12.189Z"


def test_a_function_written_for_boto3_gives_the_same_answers_on_moto_and_on_a_global_table():
    pytest.importorskip("moto")
    import boto3
    from moto import mock_aws

    def story(client) -> list:
        """Plain boto3 code: put, conditional updates, errors caught the boto3 way."""
        out = [save_address(client, "12 High Street, London", expected=16)]
        try:
            client.put_item(TableName="subscribers", Item={"subscriber_id": {"S": "sub_42"}},
                            ConditionExpression="attribute_not_exists(subscriber_id)")
        except client.exceptions.ClientError as error:
            out.append(error.response["Error"]["Code"])
        item = client.get_item(TableName="subscribers", Key={"subscriber_id": {"S": "sub_42"}})
        out.append(item["Item"])
        out.append(client.delete_item(TableName="subscribers", Key={"subscriber_id": {"S": "sub_42"}},
                                      ReturnValues="ALL_OLD")["Attributes"]["version"])
        out.append("Item" in client.get_item(TableName="subscribers",
                                              Key={"subscriber_id": {"S": "sub_42"}}))
        return out

    with mock_aws():
        moto = boto3.client("dynamodb", region_name="eu-west-1", aws_access_key_id="x",
                            aws_secret_access_key="x")
        moto.create_table(TableName="subscribers", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "subscriber_id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "subscriber_id", "AttributeType": "S"}])
        moto.put_item(TableName="subscribers", Item=SUB_42)
        expected = story(moto)
    table = london_table()
    got = story(table.client("eu-west-1"))
    assert got == expected
    assert got[:2] == [18, "ConditionalCheckFailedException"]


def test_errors_are_boto3_shaped_and_replicalab_errors_too():
    table = london_table()
    eu = table.client("eu-west-1")
    with pytest.raises(eu.exceptions.ConditionalCheckFailedException) as caught:
        eu.update_item(TableName="subscribers", Key=KEY, UpdateExpression="SET a = :a",
                       ConditionExpression="version = :v", ExpressionAttributeValues={
                           ":a": {"S": "x"}, ":v": {"N": "3"}},
                       ReturnValuesOnConditionCheckFailure="ALL_OLD")
    error = caught.value
    assert isinstance(error, ConditionalCheckFailedException)
    assert isinstance(error, ConditionalCheckFailed) and isinstance(error, ClientError)
    assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert error.response["Item"]["version"] == {"N": "17"}
    with pytest.raises(ValidationException) as caught_v:
        eu.update_item(TableName="subscribers", Key=KEY, UpdateExpression="SET total = :a",
                       ExpressionAttributeValues={":a": {"S": "x"}})
    assert isinstance(caught_v.value, InvalidRequest)
    assert "reserved keyword" in str(caught_v.value)
    with pytest.raises(eu.exceptions.ResourceNotFoundException):
        eu.get_item(TableName="nope", Key=KEY)
    with pytest.raises(ValidationException, match="does not take parameter"):
        eu.get_item(TableName="subscribers", Key=KEY, Bogus=1)
    # A refused request reaches no region: nothing in the ledger but the conditional failure.
    assert table.settle().ledger.verdicts() == {"w1": "rejected"}


# ---------------------------------------------------------------------------
# Deletes race updates


def delete_vs_update(merge: str, seed: int, delete_at: int, update_at: int):
    table = GlobalTable("subscribers", key=("subscriber_id",), merge=merge, seed=seed, items=[
        {"subscriber_id": {"S": "sub_42"}, "plan": {"S": "basic"}, "delivery_address": {"S": "Leeds"}}])
    eu, us = table.client("eu-west-1", "portal"), table.client("us-east-1", "gdpr-job")
    for _, kind in sorted([(delete_at, "delete"), (update_at, "update")]):
        table.at(delete_at if kind == "delete" else update_at)
        if kind == "delete":
            us.delete_item(TableName="subscribers", Key=KEY)
        else:
            eu.update_item(TableName="subscribers", Key=KEY, UpdateExpression="SET delivery_address = :a",
                           ExpressionAttributeValues={":a": {"S": "London"}})
    result = table.settle()
    ids = {"delete": "w1" if delete_at < update_at else "w2",
           "update": "w2" if delete_at < update_at else "w1"}
    verdicts = result.ledger.verdicts()
    return {kind: verdicts[op] for kind, op in ids.items()}, result, ids


def expected_race(merge: str, delete_at: int, update_at: int) -> tuple[dict[str, str], object]:
    """The closed-form answer: verdicts, and the converged item (None: absent).

    Concurrent (neither had reached the other region: 49 ms apart, 70-80 ms one way):
    item-lww and attribute-lww keep the later stamp (the delete's tombstone covers the
    updated attribute too); causal keeps both as siblings; crdt lets the update win (an
    assignment the delete had not seen survives it). Sequential (the update ran after the
    delete had arrived): the update recreates the item having seen the delete.
    """
    if update_at - delete_at > 200:
        item = {"delivery_address": "London", "subscriber_id": "sub_42"}
        return {"delete": "superseded", "update": "kept"}, item
    if merge == "causal":
        return {"delete": "kept", "update": "kept"}, "siblings"
    update_wins = merge == "crdt" or update_at > delete_at
    if not update_wins:
        return {"delete": "kept", "update": "silently-lost"}, None
    item = ({"delivery_address": "London", "plan": "basic", "subscriber_id": "sub_42"}
            if merge == "item-lww" else {"delivery_address": "London"})
    return {"delete": "silently-lost", "update": "kept"}, item


@pytest.mark.parametrize("merge", ["item-lww", "attribute-lww", "causal", "crdt"])
@pytest.mark.parametrize("times", [(140, 189), (189, 140), (140, 500)],
                         ids=["delete-first", "update-first", "sequential"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_delete_racing_an_update_is_judged_as_the_policy_says(merge, times, seed):
    delete_at, update_at = times
    verdicts, result, ids = delete_vs_update(merge, seed, delete_at, update_at)
    want, item = expected_race(merge, delete_at, update_at)
    assert verdicts == want, [e.why for e in result.ledger]
    assert result.converged
    final = result.final["eu-west-1"].get("sub_42")
    if item == "siblings":
        assert isinstance(final, list) and {} in final and len(final) == 2
    elif item is None:
        assert final == {}
    else:
        assert final == item
    lost = [e for e in result.ledger if e.verdict == "silently-lost"]
    for entry in lost:  # the ledger names the competing write that the loser never saw
        other = ids["update"] if entry.write == ids["delete"] else ids["delete"]
        assert other in entry.why and f"{other} had not seen {entry.write}" in entry.why


# ---------------------------------------------------------------------------
# Transactions, batches, queries


def orders(seed: int = 0) -> GlobalTable:
    return GlobalTable("orders", key=("order_id", "line"), key_types={"line": "N"}, seed=seed)


def order_lines(order: str = "o1") -> list:
    return [
        {"Put": {"TableName": "orders", "Item": {"order_id": {"S": order}, "line": {"N": "0"},
                                                 "amount": {"N": "30"}}}},
        {"Put": {"TableName": "orders", "Item": {"order_id": {"S": order}, "line": {"N": "1"},
                                                 "sku": {"S": "book"}}}},
    ]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_two_item_transaction_is_seen_half_done_elsewhere_and_the_checker_names_it(seed):
    table = orders(seed)
    us, eu = table.client("us-east-1", "checkout"), table.client("eu-west-1", "warehouse")
    us.transact_write_items(TransactItems=order_lines())
    counts = []
    for ms in range(60, 90):
        table.at(ms)
        counts.append(eu.query(TableName="orders", KeyConditionExpression="order_id = :o",
                               ExpressionAttributeValues={":o": {"S": "o1"}})["Count"])
    result = table.settle()
    assert result.ledger.verdicts() == {"t1.1": "kept", "t1.2": "kept"}
    # Independent oracle: when did each part's replication message reach eu-west-1?
    arrivals = {e.get("write"): e.time for e in result.trace.of_kind("Merged")
                if e.replica == "eu-west-1"}
    first, second = sorted(arrivals.values())
    half = [60 + i for i, count in enumerate(counts) if count == 1]
    assert half == list(range(first, second))
    found = fractured_reads(result.trace)
    assert [f.time for f in found] == half
    for f in found:
        assert f.transaction == "t1" and f.region == "eu-west-1"
        assert len(f.saw) == 1 and len(f.missed) == 1
        assert "transaction t1" in f.describe()
    assert half, "latencies are Uniform(70, 80) per message: a tie on every seed is unlikely"


def _get_lines(table: GlobalTable, client, start: int, stop: int) -> list:
    """``client`` gets both lines of order o1 every ms in [start, stop), in alternating
    order; returns (op, part, time, found) per read."""
    reads = []
    for ms in range(start, stop):
        table.at(ms)
        for line in ("0", "1") if ms % 2 else ("1", "0"):
            got = client.get_item(TableName="orders", Key={"order_id": {"S": "o1"}, "line": {"N": line}})
            part = "t1.1" if line == "0" else "t1.2"
            reads.append((got["ResponseMetadata"]["RequestId"], part, ms, "Item" in got))
    return reads


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_get_items_that_read_around_a_transaction_are_fractured_reads_naming_it(seed):
    """The warehouse client in eu-west-1 gets each line of order o1 every ms while the
    checkout's two-item transaction t1 replicates from us-east-1. Once it has got one line,
    a later get that finds the other line missing read around t1: a fractured read. A miss
    before any hit is not (it read before t1)."""
    table = orders(seed)
    us, eu = table.client("us-east-1", "checkout"), table.client("eu-west-1", "warehouse")
    us.transact_write_items(TransactItems=order_lines())
    reads = _get_lines(table, eu, 60, 90)
    result = table.settle()
    # Independent oracle: the answers themselves (before t1 neither line exists).
    expected, hits = [], []
    for op, part, _ms, found in reads:
        if not found and hits:
            expected.append((op, part, tuple(sorted({p for _, p in hits})), hits[0][0]))
        if found:
            hits.append((op, part))
    arrivals = {e.get("write"): e.time for e in result.trace.of_kind("Merged") if e.replica == "eu-west-1"}
    assert all(found == (ms >= arrivals[part]) for _, part, ms, found in reads)
    fractured = fractured_reads(result.trace)
    assert [(f.read, f.missed[0], f.saw, f.earlier[0]) for f in fractured] == expected
    assert expected, "latencies are Uniform(70, 80) per message: a tie on every seed is unlikely"
    for f in fractured:
        assert f.transaction == "t1" and f.region == "eu-west-1" and len(f.missed) == 1
        assert f"of transaction t1 (in {f.earlier[0]}" in f.describe()


def test_get_items_are_fractured_only_for_one_client_in_one_region():
    """Two clients that each read one line, or a client in the transaction's own region,
    never see half of it through their own reads; the same reads by one client in
    eu-west-1 do."""
    table = orders(1)
    us = table.client("us-east-1", "checkout")
    line0, line1 = table.client("eu-west-1", "picker"), table.client("eu-west-1", "packer")
    both = table.client("eu-west-1", "auditor")
    us.transact_write_items(TransactItems=order_lines())
    mine = set()
    for ms in range(60, 90):
        table.at(ms)
        for client, line in ((line0, "0"), (line1, "1"), (us, "0"), (us, "1"), (both, "0"), (both, "1")):
            got = client.get_item(TableName="orders", Key={"order_id": {"S": "o1"}, "line": {"N": line}})
            if client is both:
                mine.add(got["ResponseMetadata"]["RequestId"])
    fractured = fractured_reads(table.settle().trace)
    assert fractured and {f.read for f in fractured} <= mine
    assert all(set(f.earlier) <= mine for f in fractured)


def test_a_transaction_is_all_or_nothing_in_its_region():
    table = orders()
    us = table.client("us-east-1")
    us.transact_write_items(TransactItems=order_lines())
    with pytest.raises(TransactionCanceledException) as caught:
        us.transact_write_items(TransactItems=[
            {"Update": {"TableName": "orders", "Key": {"order_id": {"S": "o1"}, "line": {"N": "1"}},
                        "UpdateExpression": "SET sku = :s", "ExpressionAttributeValues": {":s": {"S": "pen"}}}},
            {"ConditionCheck": {"TableName": "orders", "Key": {"order_id": {"S": "o1"}, "line": {"N": "0"}},
                                "ConditionExpression": "amount = :x",
                                "ExpressionAttributeValues": {":x": {"N": "31"}},
                                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}])
    reasons = caught.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"]["amount"] == {"N": "30"}
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    got = us.get_item(TableName="orders", Key={"order_id": {"S": "o1"}, "line": {"N": "1"}})
    assert got["Item"]["sku"] == {"S": "book"}  # the update part did not happen
    with pytest.raises(ValidationException, match="multiple operations on one item"):
        us.transact_write_items(TransactItems=order_lines()[:1] * 2)
    verdicts = table.settle().ledger.verdicts()
    assert verdicts == {"t1.1": "kept", "t1.2": "kept", "t2.1": "rejected"}


def test_a_batch_is_not_atomic_and_each_item_is_its_own_write():
    table = orders()
    us = table.client("us-east-1")
    response = us.batch_write_item(RequestItems={"orders": [
        {"PutRequest": {"Item": {"order_id": {"S": "o2"}, "line": {"N": str(n)}}}} for n in range(3)]})
    assert response["UnprocessedItems"] == {}
    result = table.settle()
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept", "w3": "kept"}
    assert sorted(result.final["eu-west-1"]) == ["o2|0", "o2|1", "o2|2"]


def test_query_orders_limits_and_pages_by_the_sort_key():
    table = orders()
    us = table.client("us-east-1")
    us.batch_write_item(RequestItems={"orders": [
        {"PutRequest": {"Item": {"order_id": {"S": "o3"}, "line": {"N": str(n)}}}} for n in (2, 10, 1)]})
    query = {"TableName": "orders", "KeyConditionExpression": "order_id = :o AND line >= :l",
             "ExpressionAttributeValues": {":o": {"S": "o3"}, ":l": {"N": "2"}}}
    page = us.query(**query, Limit=1)
    assert [i["line"]["N"] for i in page["Items"]] == ["2"]
    rest = us.query(**query, ExclusiveStartKey=page["LastEvaluatedKey"])
    assert [i["line"]["N"] for i in rest["Items"]] == ["10"]  # numbers order by value, not text
    down = us.query(**{**query, "KeyConditionExpression": "order_id = :o AND line BETWEEN :l AND :h",
                       "ExpressionAttributeValues": {":o": {"S": "o3"}, ":l": {"N": "1"},
                                                     ":h": {"N": "10"}}}, ScanIndexForward=False)
    assert [i["line"]["N"] for i in down["Items"]] == ["10", "2", "1"]


# ---------------------------------------------------------------------------
# Options, time, bad input, determinism


def test_key_home_routing_sends_the_retention_job_home_and_nothing_is_lost():
    table = london_table(routing="key-home", homes={"sub_42": "eu-west-1"})
    eu, us = table.client("eu-west-1", "portal"), table.client("us-east-1", "retention-job")
    table.at("14:07:12.140")
    eu.update_item(TableName="subscribers", Key=KEY, UpdateExpression="SET delivery_address = :a",
                   ExpressionAttributeValues={":a": {"S": "12 High Street, London"}})
    table.at("14:07:12.189")
    retention_job(us, versioned=False)
    assert table.now > 189 + 2 * 70  # the call waited for a round trip to eu-west-1
    result = table.settle()
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


@pytest.mark.parametrize(("call", "error"), [
    (lambda: london_table(merge="nope"), ConfigError),
    (lambda: london_table(mode="mrsc", merge="causal"), ConfigError),
    (lambda: GlobalTable("ttt", regions=["a", "b"], mode="mrsc"), ConfigError),
    (lambda: london_table(writes="versioned"), ConfigError),
    (lambda: london_table(routing="sideways"), ConfigError),
    (lambda: london_table(skew={"mars-1": 5}), ReplicaIdError),
    (lambda: GlobalTable("ttt", regions=["a", "a"]), ConfigError),
    (lambda: GlobalTable("ttt", items=[{"pk": {"N": "1"}}]), ValidationException),
    (lambda: london_table().client("mars-1"), ConfigError),
    (lambda: london_table().at("25:00:00"), ConfigError),
    (lambda: london_table().at("14:00:00.000"), ConfigError),
    (lambda: london_table().at(-1), ConfigError),
])
def test_bad_options_and_times_are_refused_with_a_clear_error(call, error):
    with pytest.raises(error):
        call()


def test_time_never_goes_back_and_a_refused_call_changes_nothing():
    table = london_table()
    table.at(300)
    with pytest.raises(ConfigError, match="cannot go back"):
        table.at(299)
    eu = table.client("eu-west-1")
    with pytest.raises(ValidationException):  # refused by the client: no region sees it
        eu.update_item(TableName="subscribers", Key=KEY, UpdateExpression="SET version = version + :s",
                       ExpressionAttributeValues={":s": {"S": "x"}})
    with pytest.raises(ValidationException, match="incorrect data type"):  # refused by the region
        eu.update_item(TableName="subscribers", Key=KEY,
                       UpdateExpression="SET version = delivery_address + :one",
                       ExpressionAttributeValues={":one": {"N": "1"}})
    assert table.now == 300
    result = table.settle()
    assert result.ledger.verdicts() == {"w1": "rejected"}  # op ids go to requests sent
    assert "ValidationError" in result.ledger["w1"].why
    assert result.final["eu-west-1"]["sub_42"]["version"] == 17


# By path, not as ``tests.…``: a dependency may install a top-level ``tests`` package
# (vectorclock, in the bench extra, does) that shadows this folder.
SCRIPT = """
import sys
sys.path.insert(0, "tests")
from test_dynamodb_global_table import run_london
print(run_london("item-lww", versioned=True, seed=3).to_json())
"""


def test_same_seed_same_bytes_in_any_process():
    here = run_london("item-lww", versioned=True, seed=3).to_json()
    outputs = set()
    for hashseed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                              env=env, check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
        outputs.add(done.stdout.strip())
    assert outputs == {here}


# ---------------------------------------------------------------------------
# TTL: a system delete that races a write


def ttl_table(expires_at: int) -> GlobalTable:
    return GlobalTable("subscribers", key=("subscriber_id",), epoch="14:07:12.000",
                       ttl_attribute="expires_at", date="2026-12-22",
                       items=[{**SUB_42, "expires_at": {"N": str(expires_at)}}])


def unix(hh: int, mm: int, ss: int) -> int:
    """Independent oracle for the table's day arithmetic: the standard library's calendar."""
    import datetime

    return int(datetime.datetime(2026, 12, 22, hh, mm, ss, tzinfo=datetime.timezone.utc).timestamp())


def test_a_ttl_delete_races_an_extension_made_in_another_region():
    table = ttl_table(unix(14, 7, 12))
    eu = table.client("eu-west-1", "portal")
    table.at("14:07:12.140")  # the portal extends the subscription in eu-west-1...
    eu.update_item(TableName="subscribers", Key=KEY, UpdateExpression="SET expires_at = :later",
                   ExpressionAttributeValues={":later": {"N": str(unix(14, 7, 12) + 30 * 86400)}})
    assert table.expire("eu-west-1") == ()      # ...so eu-west-1's TTL process leaves it alone
    table.at("14:07:12.150")                     # ...but us-east-1 has not heard of it yet
    assert table.expire("us-east-1") == ("w2",)
    result = table.settle()
    assert result.ledger.verdicts() == {"w1": "silently-lost", "w2": "kept"}
    assert result.ledger["w2"].client == "dynamodb-ttl@us-east-1"
    assert "w2 had not seen w1" in result.ledger["w1"].why
    assert all(final["sub_42"] == {} for final in result.final.values())


def test_ttl_deletes_only_what_has_expired_by_the_regions_own_clock():
    table = ttl_table(unix(14, 7, 13))           # expires one second after the epoch
    table.at("14:07:12.500")
    assert table.expire("us-east-1") == ()
    skewed = GlobalTable("subscribers", key=("subscriber_id",), epoch="14:07:12.000",
                         ttl_attribute="expires_at", skew={"us-east-1": 600},
                         items=[{**SUB_42, "expires_at": {"N": str(unix(14, 7, 13))}}])
    skewed.at("14:07:12.500")                    # us-east-1's clock reads 14:07:13.100
    assert skewed.expire("us-east-1") == ("w1",)
    assert skewed.expire("eu-west-1") == ()      # eu-west-1's reads 14:07:12.500 (the delete
    assert skewed.settle().ledger.verdicts() == {"w1": "kept"}  # has not arrived yet either)
    with pytest.raises(ConfigError, match="no TTL"):
        london_table().expire("us-east-1")
    with pytest.raises(ConfigError, match="date"):
        GlobalTable("subscribers", date="2026-02-30")


# ---------------------------------------------------------------------------
# Capacity: provisioned throttles, on-demand does not


def tiny(n: int) -> dict:
    return {"TableName": "orders", "Item": {"order_id": {"S": f"o{n}"}, "line": {"N": "0"}}}


def expected_successes(times: list[int], costs: list[int], wcu: int, burst: int) -> list[bool]:
    """Independent oracle: a token bucket in exact fractions (starts full, refills continuously)."""
    from fractions import Fraction

    size, tokens, last, out = Fraction(wcu * burst), Fraction(wcu * burst), 0, []
    for t, cost in zip(times, costs, strict=True):
        tokens = min(size, tokens + Fraction(wcu * (t - last), 1000))
        last = t
        out.append(tokens >= cost)
        tokens -= cost if tokens >= cost else 0
    return out


@pytest.mark.parametrize(("wcu", "burst", "every"), [(5, 1, 50), (5, 3, 100), (2, 1, 300), (10, 1, 20)])
def test_provisioned_writes_are_throttled_as_a_token_bucket_says(wcu, burst, every):
    table = GlobalTable("orders", key=("order_id", "line"), key_types={"line": "N"},
                        capacity={"write": wcu, "burst_seconds": burst})
    us = table.client("us-east-1")
    times, costs, got = [], [], []
    for n in range(40):
        table.at(n * every)
        big = n % 7 == 3  # now and then a 2.5 KB item: 3 units
        item = tiny(n)
        if big:
            item["Item"]["blob"] = {"S": "x" * 2500}
        times.append(n * every)
        costs.append(3 if big else 1)
        try:
            us.put_item(**item)
            got.append(True)
        except us.exceptions.ProvisionedThroughputExceededException as error:
            assert error.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
            got.append(False)
    assert got == expected_successes(times, costs, wcu, burst)
    assert False in got and True in got
    verdicts = table.settle().ledger.verdicts()
    assert len(verdicts) == got.count(True)  # a throttled write never reached a region
    assert set(verdicts.values()) == {"kept"}


def test_on_demand_never_throttles_and_a_batch_returns_what_was_throttled():
    on_demand = GlobalTable("orders", key=("order_id", "line"), key_types={"line": "N"})
    client = on_demand.client("us-east-1")
    for n in range(200):
        client.put_item(**tiny(n))
    provisioned = GlobalTable("orders", key=("order_id", "line"), key_types={"line": "N"},
                              capacity={"write": 5})
    client = provisioned.client("us-east-1")
    batch = [{"PutRequest": {"Item": tiny(n)["Item"]}} for n in range(8)]
    response = client.batch_write_item(RequestItems={"orders": batch})
    assert response["UnprocessedItems"] == {"orders": batch[5:]}
    with pytest.raises(client.exceptions.ProvisionedThroughputExceededException):
        client.batch_write_item(RequestItems={"orders": batch[5:]})  # nothing left this second
    provisioned.at(1000)
    assert client.batch_write_item(RequestItems={"orders": batch[5:]})["UnprocessedItems"] == {}
    # a transaction costs twice: two 1-unit items need 4 units, and 2 are left
    with pytest.raises(client.exceptions.ProvisionedThroughputExceededException):
        client.transact_write_items(TransactItems=[{"Put": tiny(20)}, {"Put": tiny(21)}])
    provisioned.at(1400)  # 2 more units: 4
    client.transact_write_items(TransactItems=[{"Put": tiny(20)}, {"Put": tiny(21)}])
    assert set(provisioned.settle().ledger.verdicts().values()) == {"kept"}
    with pytest.raises(ConfigError, match="capacity"):
        GlobalTable("orders", capacity={"read": 5})
