"""A request file that cannot run is refused before anything runs, and the message says where.

The contract (replicalab/dynamodb/requestfile.py, module docs): a file that is not
well-formed raises :class:`~replicalab.errors.SerializationError` *naming the entry (its
index) and the field*, and saying what would be valid — whether the fault is in an entry
(a missing required parameter), in the table (a name DynamoDB refuses), in the regions or in
the initial items. ``replicalab run FILE.json`` prints that message, with the file's path,
and exits with an error; no entry has run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from replicalab.dynamodb.requestfile import load_requests, read_requests
from replicalab.errors import ConfigError, SerializationError

TABLE = {"TableName": "subscribers", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
         "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}
PUT = {"at": 1, "region": "eu-west-1", "PutItem": {"TableName": "subscribers", "Item": {"id": {"S": "k"}}}}


def doc(**fields: object) -> dict:
    return {"table": TABLE, "requests": [PUT], **fields}


BAD = {
    "missing-required-parameter": (
        doc(requests=[PUT, {"at": 2, "region": "eu-west-1", "UpdateTimeToLive": {"TableName": "subscribers"}}]),
        ["requests[1].UpdateTimeToLive.TimeToLiveSpecification: missing",
         "UpdateTimeToLive needs TableName, TimeToLiveSpecification"]),
    "put-without-item": (
        doc(requests=[PUT, {"at": 2, "region": "eu-west-1", "PutItem": {"TableName": "subscribers"}}]),
        ["requests[1].PutItem.Item: missing", "PutItem needs Item, TableName"]),
    "table-name-too-short": (
        {"table": {**TABLE, "TableName": "t"}, "requests": [PUT]},
        ["table.TableName:", "3 to 255 characters"]),
    "bare-list-table-name-too-short": (
        [{"at": 1, "region": "eu-west-1", "GetItem": {"TableName": "t", "Key": {"id": {"S": "k"}}}}],
        ["requests[0].GetItem.TableName:", "3 to 255 characters"]),
    "item-key-of-the-wrong-type": (
        doc(items=[{"id": {"S": "a"}}, {"id": {"N": "1"}}]),
        ["items[1]:", "Type mismatch for key id expected: S actual: N"]),
    "item-without-its-key": (
        doc(items=[{"name": {"S": "a"}}]), ["items[0]:", "Missing the key id"]),
    "item-not-a-map": (doc(items=[5]), ["items[0] must be a map of attribute names to values"]),
    "items-with-one-key-twice": (
        doc(items=[{"id": {"S": "a"}}, {"id": {"S": "a"}}]), ["items[1]: has the same key as items[0]"]),
    "regions-twice": (
        doc(regions=["eu-west-1", "eu-west-1"]), ["regions[1]: 'eu-west-1' is listed twice"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_refused_file_names_the_entry_and_what_would_be_valid(case: str, tmp_path: Path) -> None:
    document, words = BAD[case]
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(SerializationError) as caught:
        read_requests(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    for word in words:
        assert word in message, (word, message)
    assert "keyword-only argument" not in message and "()" not in message


def test_the_cli_prints_where_the_file_is_wrong_and_runs_nothing(tmp_path: Path) -> None:
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(BAD["missing-required-parameter"][0]), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "replicalab", "run", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and done.stdout == ""
    assert f"{path}: requests[1].UpdateTimeToLive.TimeToLiveSpecification: missing" in done.stderr


def test_a_good_file_still_loads_and_runs() -> None:
    replay = load_requests(json.dumps(doc(items=[{"id": {"S": "a"}}], regions=["eu-west-1", "us-east-1"]))).replay()
    assert [o.outcome for o in replay.outcomes] == ["ok"]


def test_an_entry_the_options_cannot_run_is_named_by_its_index() -> None:
    """A strongly consistent Query under mode='mrsc' is refused (not modelled); the refusal
    must say which entry, and what to write instead."""
    query = {"at": 2, "region": "us-east-1", "Query": {
        "TableName": "subscribers", "KeyConditionExpression": "id = :k",
        "ExpressionAttributeValues": {":k": {"S": "k"}}, "ConsistentRead": True}}
    requests = load_requests(json.dumps(doc(requests=[PUT, query])))
    with pytest.raises(ConfigError, match=r"^requests\[1\]\.Query: a strongly consistent Query .* "
                                          r"use ConsistentRead=False"):
        requests.replay(mode="mrsc")
