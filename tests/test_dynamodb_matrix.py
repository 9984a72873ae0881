"""The GlobalTable matrix: one fixed list of boto3-shaped requests under every combination.

GlobalTable × merge × mode × routing × stamps × seeds. Each run is checked against the
invariants of ``tests/test_matrix.py`` (imported by path): one verdict per write, ``by`` and
the why agree with ground truth, MRSC loses no acknowledged write, runs converge, a rejected
write is held nowhere, Lamport order follows causality. And one more, only a GlobalTable can
check: what each *caller* was told agrees with the ledger — a call that raised has all its
writes ``rejected``, a call that returned has none.

Combinations that make no sense are refused with ``ConfigError``; which ones is decided here
by an independent predicate and counted.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import types
from pathlib import Path

import pytest

from replicalab.dynamodb import GlobalTable
from replicalab.dynamodb.exceptions import DynamoDBError
from replicalab.errors import ConfigError
from replicalab.policies import policy_names
from replicalab.replica.table import STAMPS
from replicalab.scenarios.world import MODES, ROUTING

_spec = importlib.util.spec_from_file_location("_matrix_invariants", Path(__file__).with_name("test_matrix.py"))
assert _spec is not None and _spec.loader is not None
_matrix = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_matrix)
check_invariants = _matrix.check_invariants

SEEDS = (0, 1, 2, 3) if os.environ.get("CI") else (0, 1)
T = "subscribers"
ITEMS = [{"pk": {"S": "sub_42"}, "address": {"S": "Manchester"}, "version": {"N": "17"}},
         {"pk": {"S": "sub_7"}, "tags": {"SS": ["a", "b"]}, "n": {"N": "1"}}]


def _requests():
    """(time, region, client, method, request): races on one item, a condition, a delete
    racing an update, REMOVE and ADD, a batch, a transaction, reads and a query."""
    key42, key7 = {"pk": {"S": "sub_42"}}, {"pk": {"S": "sub_7"}}
    return [
        (140, "eu-west-1", "portal", "update_item", dict(
            Key=key42, UpdateExpression="SET address = :a",
            ExpressionAttributeValues={":a": {"S": "London"}})),
        (189, "us-east-1", "job", "update_item", dict(
            Key=key42, UpdateExpression="SET last_contacted = :t",
            ExpressionAttributeValues={":t": {"S": "14:07"}})),
        (200, "ap-southeast-2", "app", "update_item", dict(
            Key=key42, UpdateExpression="SET version = :n", ConditionExpression="version = :e",
            ExpressionAttributeValues={":n": {"N": "18"}, ":e": {"N": "17"}})),
        (210, "eu-west-1", "portal", "delete_item", dict(Key=key7)),
        (220, "us-east-1", "job", "update_item", dict(
            Key=key7, UpdateExpression="ADD n :one DELETE tags :b REMOVE gone",
            ExpressionAttributeValues={":one": {"N": "1"}, ":b": {"SS": ["b"]}})),
        (900, "ap-southeast-2", "app", "batch_write_item", dict(RequestItems={T: [
            {"PutRequest": {"Item": {"pk": {"S": "x1"}, "v": {"N": "1"}}}},
            {"DeleteRequest": {"Key": {"pk": {"S": "x2"}}}}]})),
        (950, "eu-west-1", "portal", "transact_write_items", dict(TransactItems=[
            {"Put": {"TableName": T, "Item": {"pk": {"S": "t1"}}}},
            {"Update": {"TableName": T, "Key": key42, "UpdateExpression": "SET paid = :y",
                        "ExpressionAttributeValues": {":y": {"BOOL": True}}}}])),
        (960, "us-east-1", "job", "get_item", dict(Key=key42, ConsistentRead=True)),
        (970, "us-east-1", "job", "query", dict(KeyConditionExpression="pk = :p",
                                                 ExpressionAttributeValues={":p": {"S": "x1"}})),
        (980, "ap-southeast-2", "app", "put_item", dict(
            Item={"pk": {"S": "sub_42"}, "address": {"S": "Sydney"}},
            ConditionExpression="attribute_exists(pk)")),
        (990, "us-east-1", "job", "put_item", dict(
            Item={"pk": {"S": "sub_42"}}, ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD")),
        (995, "eu-west-1", "portal", "update_item", dict(
            Key=key42, UpdateExpression="SET version = :n", ConditionExpression="version = :e",
            ExpressionAttributeValues={":n": {"N": "19"}, ":e": {"N": "18"}})),
    ]


def _combinations():
    for merge, mode, routing, stamps in itertools.product(policy_names(), MODES, ROUTING, STAMPS):
        yield {"merge": merge, "mode": mode, "routing": routing, "stamps": stamps}


def _nonsense(options):
    """Which combinations a GlobalTable must refuse, written without the library's rules."""
    if options["mode"] == "mrsc" and options["merge"] != "item-lww":
        return "orders writes by commit"
    if options["mode"] == "single-primary" and options["routing"] == "key-home":
        return "choose one of them"
    return None


def _table(seed, options):
    return GlobalTable(T, key=("pk",), seed=seed, items=ITEMS, homes={"sub_42": "eu-west-1"},
                       **options)


def _split():
    valid, refused = [], []
    for options in _combinations():
        try:
            _table(0, options)
        except ConfigError as error:
            refused.append((options, str(error)))
        else:
            valid.append(options)
    return valid, refused


VALID, REFUSED = _split()


def test_the_refused_combinations_are_exactly_the_nonsense_ones():
    for options, error in REFUSED:
        rule = _nonsense(options)
        assert rule is not None and rule in error, f"{options}: {error}"
    for options in VALID:
        assert _nonsense(options) is None, f"{options} should have been refused"
    total = len(policy_names()) * len(MODES) * len(ROUTING) * len(STAMPS)
    # mrsc with 3 other policies (x2 routing x2 stamps) and single-primary with key-home
    # (x4 policies x2 stamps) are refused.
    assert (total, len(REFUSED)) == (48, 12 + 8)


def run(seed, options):
    """Send the fixed requests; return the Result and, per op id, what the caller was told."""
    table = _table(seed, options)
    clients = {}
    told = {}
    for at, region, name, method, request in _requests():
        if at > table.now:
            table.at(at)
        client = clients.setdefault((region, name), table.client(region, name))
        before = len(table.sent)
        try:
            getattr(client, method)(TableName=T, **request) if method not in (
                "batch_write_item", "transact_write_items") else getattr(client, method)(**request)
            outcome = "ok"
        except DynamoDBError as error:
            outcome = error.code
        for op in table.sent[before:]:
            told[op] = outcome
    return table.settle(), told


@pytest.mark.parametrize("options", VALID, ids=["-".join(o.values()) for o in VALID])
def test_invariants_hold_for_every_combination(options):
    for seed in SEEDS:
        result, told = run(seed, options)
        # Writes are w<n> and transaction parts t<n>.<i> (t<n> itself is the request).
        writes = [op for op in told if op.startswith("w") or (op.startswith("t") and "." in op)]
        scenario = types.SimpleNamespace(name="global-table", workload=[
            types.SimpleNamespace(op=op) for op in writes])
        check_invariants(result, scenario, options)
        verdicts = result.ledger.verdicts()
        where = f"{options} seed={seed}"
        for op in writes:
            # What the caller was told agrees with the ledger, write by write.
            assert (verdicts[op] == "rejected") == (told[op] != "ok"), (
                f"{where}: {op} told {told[op]}, ledger says {verdicts[op]}")
        if options["mode"] == "mrsc":
            assert "t1" not in told  # refused before sending: MRSC has no transactions
            assert result.stale_reads == ()


_OPERATION_OF = {"put_item": "PutItem", "update_item": "UpdateItem", "delete_item": "DeleteItem",
                 "get_item": "GetItem", "query": "Query",
                 "transact_write_items": "TransactWriteItems", "batch_write_item": "BatchWriteItem"}


def _request_file():
    """The same requests as a request file, so that different clients' calls overlap."""
    from replicalab.dynamodb.requestfile import load_requests

    entries = []
    for at, region, name, method, request in _requests():
        body = dict(request) if method in ("batch_write_item", "transact_write_items") else {
            "TableName": T, **request}
        entries.append({"at": at, "region": region, "client": name, _OPERATION_OF[method]: body})
    document = {"table": {"TableName": T, "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                          "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]},
                "regions": ["us-east-1", "eu-west-1", "ap-southeast-2"], "epoch": 0,
                "items": ITEMS, "requests": entries}
    import json

    return load_requests(json.dumps(document))


REQUEST_FILE = _request_file()


@pytest.mark.parametrize("options", VALID, ids=["-".join(o.values()) for o in VALID])
def test_invariants_hold_when_clients_overlap(options):
    """The request file's replay: each client one call at a time, clients overlapping — so
    under MRSC and remote routing writes are in flight together and may race."""
    merge = options["merge"]
    rest = {k: v for k, v in options.items() if k != "merge"}
    for seed in SEEDS:
        replay = REQUEST_FILE.replay(merge, seed, homes={"sub_42": "eu-west-1"}, **rest)
        result = replay.result
        told = {op: o.outcome for o in replay.outcomes for op in o.ops}
        writes = [op for op in told if op.startswith("w") or (op.startswith("t") and "." in op)]
        scenario = types.SimpleNamespace(name="global-table", workload=[
            types.SimpleNamespace(op=op) for op in writes])
        check_invariants(result, scenario, options)
        verdicts = result.ledger.verdicts()
        for op in writes:
            assert (verdicts[op] == "rejected") == (told[op] != "ok"), (
                f"{options} seed={seed}: {op} told {told[op]}, ledger says {verdicts[op]}")
        # An entry starts late only if its own client was still waiting.
        for outcome in replay.outcomes:
            entry = REQUEST_FILE.entries[outcome.entry]
            assert outcome.late == (outcome.time > entry.at)
