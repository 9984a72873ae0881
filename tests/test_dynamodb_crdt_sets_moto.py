"""Cross-check: in one region, a crdt GlobalTable's set ADD/DELETE answer as moto's DynamoDB does.

Where the semantics coincide — one region, one request at a time — the OR-Set must be
invisible: every set ``ADD``/``DELETE`` (and ``SET``/``REMOVE`` of the whole attribute, typed
sets SS/NS/BS with DynamoDB's number normalisation, and values of other types that make the
set actions fail) gives moto's outcome, error code and ``ALL_NEW`` attributes, and the item
reads the same afterwards. moto is the independent implementation (tests/test_dynamodb_moto.py
compares the item-lww table with it the same way, and names moto's deviations there).

One moto deviation is kept out of the drawn values: moto does not normalise the numbers of
a number set, so ``ADD :v`` of ``{"NS": ["1.0"]}`` to ``{"NS": ["1"]}`` holds both ``1`` and
``1.0`` there; DynamoDB ("Data types": numbers, sets) holds one member, and so do we
(tests/test_dynamodb_crdt_sets.py checks that without moto).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replicalab.dynamodb import GlobalTable
from replicalab.dynamodb.exceptions import DynamoDBError
from replicalab.dynamodb.values import to_item

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")
from botocore.exceptions import ClientError  # noqa: E402

TABLE = "sets"
KEY = {"pk": {"S": "k"}}
VALUES: list[dict[str, Any]] = [
    {"SS": ["a"]}, {"SS": ["a", "b"]}, {"SS": ["1"]}, {"NS": ["1"]}, {"NS": ["2.50", "7"]},
    {"NS": ["-3", "100"]}, {"BS": [b"\x01"]}, {"BS": [b"\x01", b"hi"]}, {"N": "2"}, {"S": "a"},
]
ACTIONS = st.sampled_from(["ADD tags :v", "DELETE tags :v", "SET tags = :v", "REMOVE tags"])
STEPS = st.lists(st.tuples(ACTIONS, st.sampled_from(VALUES)), min_size=1, max_size=8)


@pytest.fixture(scope="module")
def dynamodb() -> Any:
    with moto.mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")


def _fresh(client: Any) -> None:
    if TABLE in client.list_tables()["TableNames"]:
        client.delete_table(TableName=TABLE)
    client.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")


def _plain(response: dict[str, Any]) -> dict[str, Any]:
    return {f: to_item(response[f]) for f in ("Attributes", "Item") if f in response}


def _call(client: Any, operation: str, request: dict[str, Any], errors: tuple[type, ...]) -> tuple[str, Any]:
    try:
        return "ok", _plain(getattr(client, operation)(**request))
    except errors as error:
        code = error.code if isinstance(error, DynamoDBError) else error.response["Error"]["Code"]
        return code, None


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_one_region_set_actions_under_crdt_answer_as_moto(dynamodb: Any, steps) -> None:
    _fresh(dynamodb)
    start = {**KEY, "tags": {"SS": ["x"]}}
    dynamodb.put_item(TableName=TABLE, Item=start)
    ours = GlobalTable(TABLE, merge="crdt", regions=("us-east-1",), items=[start]).client("us-east-1")
    for step, (expression, value) in enumerate(steps):
        request: dict[str, Any] = {"TableName": TABLE, "Key": KEY, "UpdateExpression": expression,
                                   "ReturnValues": "ALL_NEW"}
        if ":v" in expression:
            request["ExpressionAttributeValues"] = {":v": value}
        mine = _call(ours, "update_item", request, (DynamoDBError,))
        theirs = _call(dynamodb, "update_item", request, (ClientError,))
        assert mine == theirs, f"step {step}: {request}\nours: {mine}\nmoto: {theirs}"
        get = {"TableName": TABLE, "Key": KEY}
        assert _call(ours, "get_item", get, (DynamoDBError,)) == _call(dynamodb, "get_item", get, (ClientError,))
