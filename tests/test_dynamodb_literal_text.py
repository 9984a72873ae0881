"""A DynamoDB number reads as a number in every text a learner sees: ``17``, never ``Decimal('17')``.

A request's update and condition are recorded in the trace as text (``SET version = 18``,
``version = 17``), and a refused condition's message quotes it; the report, the timeline,
the step-through page, Mermaid, ShiViz and the SVG all show those words. A literal prints in
Python's literal syntax with numbers as DynamoDB writes them (plain notation) and the
elements of a set sorted, so the text is the same under any ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from replicalab.dynamodb.expressions import parse_condition, parse_update
from replicalab.dynamodb.placeholders import Substitutions
from replicalab.dynamodb.requestfile import load_requests
from replicalab.viz import to_html, to_mermaid, to_shiviz, to_svg

FILE = {
    "items": [{"id": {"S": "k"}, "version": {"N": "17"}, "n": {"N": "1.5"}, "tags": {"SS": ["b", "a"]}}],
    "table": {"TableName": "subscribers", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
              "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]},
    "requests": [
        {"at": 100, "region": "eu-west-1", "client": "a", "UpdateItem": {
            "TableName": "subscribers", "Key": {"id": {"S": "k"}},
            "UpdateExpression": "SET version = :new ADD tags :more, n :half",
            "ConditionExpression": "version = :old",
            "ExpressionAttributeValues": {":new": {"N": "18"}, ":old": {"N": "17"},
                                          ":more": {"SS": ["d", "c", "e"]}, ":half": {"N": "0.50"}}}},
        {"at": 110, "region": "us-east-1", "client": "b", "UpdateItem": {
            "TableName": "subscribers", "Key": {"id": {"S": "k"}}, "UpdateExpression": "SET version = :new",
            "ConditionExpression": "version = :old",
            "ExpressionAttributeValues": {":new": {"N": "19"}, ":old": {"N": "1E+1"}}}},
    ],
}


@pytest.fixture(scope="module")
def replay():
    return load_requests(json.dumps(FILE)).replay(merge="item-lww", seed=0)


def test_no_decimal_or_frozenset_repr_reaches_any_text(replay) -> None:
    result = replay.result
    texts = {"trace": result.to_json(), "report": replay.report(), "timeline": str(result.timeline()),
             "html": to_html(result), "mermaid": to_mermaid(result), "shiviz": to_shiviz(result),
             "svg": to_svg(result)}
    for name, text in texts.items():
        assert "Decimal(" not in text and "frozenset(" not in text, name
    requested = [e.get("request") for e in result.trace.of_kind("ClientRequested")]
    assert requested[0]["update"] == "SET version = 18; ADD tags {'c', 'd', 'e'}; ADD n 0.5"
    assert requested[0]["condition"] == "version = 17"
    assert requested[1]["condition"] == "version = 10"
    assert "the condition version = 10 is false" in replay.report()


def test_a_literal_prints_as_python_literal_syntax_with_plain_numbers() -> None:
    subs = Substitutions.from_request(values={
        ":n": {"N": "1E+2"}, ":s": {"NS": ["3", "1", "2"]}, ":l": {"L": [{"N": "1"}, {"S": "x"}, {"BOOL": True}]},
        ":m": {"M": {"b": {"N": "-0.05"}, "a": {"NULL": True}}}, ":bin": {"B": "AAE="}})
    update = parse_update("SET a = :n, b = :l, c = :m, d = :bin ADD e :s", subs)
    assert [str(action) for action in update.actions] == [
        "SET a = 100", "SET b = [1, 'x', True]", "SET c = {'a': None, 'b': -0.05}",
        "SET d = b'\\x00\\x01'", "ADD e {1, 2, 3}"]
    assert str(parse_condition("a < :n", subs)) == "a < 100"
    assert Decimal("100") == update.actions[0].value.value  # the value itself is unchanged


def test_a_request_in_flight_is_named_as_aws_names_it_not_by_its_internal_type() -> None:
    """Under mode='mrsc' a write and a strong read wait for other regions; the step that
    took the request says what the client sent: UpdateItem, GetItem — not DynamoWrite."""
    replay = load_requests(json.dumps({**FILE, "requests": [
        FILE["requests"][0],
        {"at": 120, "region": "us-east-1", "client": "b", "GetItem": {
            "TableName": "subscribers", "Key": {"id": {"S": "k"}}, "ConsistentRead": True}}]})).replay(mode="mrsc")
    texts = [to_mermaid(replay.result), to_shiviz(replay.result), str(replay.result.timeline())]
    for text in texts:
        assert "DynamoWrite" not in text and "DynamoGet" not in text
    assert "a sends UpdateItem w1" in texts[0] and "b sends GetItem r1" in texts[0]
