"""The single-region Table: boto3-shaped verbs, conditions, ReturnValues, key schema, errors,
and the log of which top-level attributes each applied write touched."""

from __future__ import annotations

import pytest

from replicalab.dynamodb.exceptions import (
    ConditionalCheckFailedException,
    ResourceNotFoundException,
    ValidationException,
)
from replicalab.dynamodb.table import AppliedWrite, Table
from replicalab.errors import ConditionalCheckFailed, InvalidRequest

T = "subscribers"
KEY = {"subscriber_id": {"S": "sub_42"}}
SEED_UPDATE = {
    "TableName": T, "Key": KEY,
    "UpdateExpression": "SET delivery_address = :addr, #v = :new_v",
    "ConditionExpression": "#v = :expected_v",
    "ExpressionAttributeNames": {"#v": "version"},
    "ExpressionAttributeValues": {":addr": {"S": "12 High Street, London"},
                                  ":expected_v": {"N": "17"}, ":new_v": {"N": "18"}},
}


def london() -> Table:
    table = Table(T, key=("subscriber_id",))
    table.put_item(TableName=T, Item={**KEY, "version": {"N": "17"},
                                      "delivery_address": {"S": "1 Old Road"}})
    return table


def test_the_seeds_update_applies_once_and_its_retry_without_rereading_fails() -> None:
    """The version check turns a second writer's stale update into a visible refusal."""
    table = london()
    assert table.update_item(**SEED_UPDATE) == {}
    item = table.get_item(TableName=T, Key=KEY)["Item"]
    assert item["version"] == {"N": "18"}
    assert item["delivery_address"] == {"S": "12 High Street, London"}
    with pytest.raises(ConditionalCheckFailedException) as failed:
        table.update_item(**SEED_UPDATE, ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert failed.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert failed.value.response["Item"]["version"] == {"N": "18"}
    assert isinstance(failed.value, ConditionalCheckFailed)


def test_put_if_absent_with_attribute_not_exists() -> None:
    table = london()
    with pytest.raises(ConditionalCheckFailedException):
        table.put_item(TableName=T, Item={**KEY, "version": {"N": "1"}},
                       ConditionExpression="attribute_not_exists(subscriber_id)")
    other = {"subscriber_id": {"S": "sub_43"}}
    table.put_item(TableName=T, Item={**other, "version": {"N": "1"}},
                   ConditionExpression="attribute_not_exists(subscriber_id)")
    assert table.get_item(TableName=T, Key=other)["Item"]["version"] == {"N": "1"}


def test_return_values() -> None:
    table = london()
    assert table.put_item(TableName=T, Item={**KEY, "version": {"N": "17"}},
                          ReturnValues="ALL_OLD")["Attributes"]["delivery_address"] == \
        {"S": "1 Old Road"}
    update = {"TableName": T, "Key": KEY, "UpdateExpression": "SET version = version + :one",
              "ExpressionAttributeValues": {":one": {"N": "1"}}}
    assert table.update_item(**update, ReturnValues="UPDATED_OLD") == \
        {"Attributes": {"version": {"N": "17"}}}
    assert table.update_item(**update, ReturnValues="UPDATED_NEW") == \
        {"Attributes": {"version": {"N": "19"}}}
    assert table.update_item(**update, ReturnValues="ALL_NEW")["Attributes"] == \
        {**KEY, "version": {"N": "20"}}
    assert table.delete_item(TableName=T, Key=KEY, ReturnValues="ALL_OLD")["Attributes"] == \
        {**KEY, "version": {"N": "20"}}
    assert table.get_item(TableName=T, Key=KEY) == {}
    with pytest.raises(ValidationException, match="ReturnValues"):
        table.put_item(TableName=T, Item=KEY, ReturnValues="ALL_NEW")


def test_update_creates_a_missing_item_and_delete_of_a_missing_item_is_no_error() -> None:
    table = Table(T, key=("subscriber_id",))
    table.update_item(TableName=T, Key=KEY, UpdateExpression="ADD visits :one",
                      ExpressionAttributeValues={":one": {"N": "1"}})
    assert table.get_item(TableName=T, Key=KEY)["Item"] == {**KEY, "visits": {"N": "1"}}
    assert table.delete_item(TableName=T, Key={"subscriber_id": {"S": "nobody"}}) == {}


def test_the_key_schema_is_enforced() -> None:
    table = Table("orders", key=("customer", "order"), key_types={"order": "N"})
    table.put_item(TableName="orders", Item={"customer": {"S": "c"}, "order": {"N": "1"}})
    for bad in ({"customer": {"S": "c"}}, {"customer": {"S": "c"}, "order": {"S": "1"}},
                {"customer": {"S": "c"}, "order": {"N": "1"}, "extra": {"S": "x"}}):
        with pytest.raises(ValidationException, match="does not match the schema"):
            table.get_item(TableName="orders", Key=bad)
    with pytest.raises(ValidationException, match="Missing the key order"):
        table.put_item(TableName="orders", Item={"customer": {"S": "c"}})
    with pytest.raises(ValidationException, match="empty string"):
        table.put_item(TableName="orders", Item={"customer": {"S": ""}, "order": {"N": "1"}})
    with pytest.raises(ValidationException, match="part of the key"):
        table.update_item(TableName="orders", Key={"customer": {"S": "c"}, "order": {"N": "1"}},
                          UpdateExpression="SET #o = :o", ExpressionAttributeNames={"#o": "order"},
                          ExpressionAttributeValues={":o": {"N": "2"}})


def test_errors_are_boto3_named_and_replicalab_classed() -> None:
    table = london()
    with pytest.raises(ResourceNotFoundException) as missing:
        table.get_item(TableName="nope", Key=KEY)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(InvalidRequest):
        table.put_item(TableName=T, Item=KEY, ExpressionAttributeValues={":v": {"N": "1"}})


def test_a_refused_request_changes_nothing_and_is_not_logged() -> None:
    table = london()
    before = (dict(table.items), list(table.log))
    with pytest.raises(ValidationException, match="incorrect data type"):
        table.update_item(TableName=T, Key=KEY, UpdateExpression="SET a = :a ADD delivery_address :n",
                          ExpressionAttributeValues={":a": {"S": "x"}, ":n": {"N": "1"}})
    with pytest.raises(ConditionalCheckFailedException):
        table.update_item(**{**SEED_UPDATE, "ExpressionAttributeValues": {
            **SEED_UPDATE["ExpressionAttributeValues"], ":expected_v": {"N": "3"}}})
    assert (dict(table.items), list(table.log)) == before


def test_the_log_names_the_top_level_attributes_each_write_touched() -> None:
    """What a per-attribute replication policy needs: written (even if equal) and removed."""
    table = london()
    table.update_item(TableName=T, Key=KEY, UpdateExpression="SET prefs = :empty",
                      ExpressionAttributeValues={":empty": {"M": {}}})
    table.update_item(TableName=T, Key=KEY,
                      UpdateExpression="SET version = version, prefs.lang = :en "
                                       "REMOVE delivery_address, gone",
                      ExpressionAttributeValues={":en": {"S": "en"}})
    assert table.log[-1].written == {"version", "prefs"}  # a nested write writes its top attribute
    assert table.log[-1].removed == {"delivery_address", "gone"}


def test_put_logs_the_attributes_it_dropped_and_delete_logs_a_deletion() -> None:
    table = london()
    table.put_item(TableName=T, Item={**KEY, "version": {"N": "1"}})
    assert table.log[-1] == AppliedWrite("PutItem", ("sub_42",), frozenset({"subscriber_id", "version"}),
                                         frozenset({"delivery_address"}))
    table.delete_item(TableName=T, Key=KEY)
    assert table.log[-1].deleted and table.log[-1].removed == {"subscriber_id", "version"}


def test_items_over_400_kb_and_oversized_keys_are_refused() -> None:
    table = london()
    big = {"S": "x" * (400 * 1024)}
    with pytest.raises(ValidationException, match="Item size has exceeded"):
        table.put_item(TableName=T, Item={**KEY, "blob": big})
    half = {":half": {"S": "x" * (210 * 1024)}}
    table.update_item(TableName=T, Key=KEY, UpdateExpression="SET a = :half",
                      ExpressionAttributeValues=half)
    with pytest.raises(ValidationException, match="Item size to update has exceeded"):
        table.update_item(TableName=T, Key=KEY, UpdateExpression="SET b = :half",
                          ExpressionAttributeValues=half)
    with pytest.raises(ValidationException, match="hashkey has exceeded"):
        table.get_item(TableName=T, Key={"subscriber_id": {"S": "k" * 2049}})
    assert "b" not in table.get_item(TableName=T, Key=KEY)["Item"]


def test_get_item_projects_the_listed_paths() -> None:
    table = Table(T, key=("subscriber_id",))
    table.put_item(TableName=T, Item={**KEY, "version": {"N": "1"},
                                      "address": {"M": {"city": {"S": "London"}, "zip": {"S": "N1"}}},
                                      "tags": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}]}})
    got = table.get_item(TableName=T, Key=KEY, ProjectionExpression="#v, address.city, tags[2], tags[0]",
                         ExpressionAttributeNames={"#v": "version"})
    assert got == {"Item": {"version": {"N": "1"}, "address": {"M": {"city": {"S": "London"}}},
                            "tags": {"L": [{"S": "a"}, {"S": "c"}]}}}
    assert table.get_item(TableName=T, Key=KEY, ProjectionExpression="nothing") == {"Item": {}}
    with pytest.raises(ValidationException, match="overlap"):
        table.get_item(TableName=T, Key=KEY, ProjectionExpression="address, address.city")
    with pytest.raises(ValidationException, match="unused"):
        table.get_item(TableName=T, Key=KEY, ProjectionExpression="version",
                       ExpressionAttributeNames={"#v": "version"})
