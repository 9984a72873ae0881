"""A read that makes a round trip is asked before it is answered, in the history and every export.

A strongly consistent read under ``mode="mrsc"`` asks the other regions and answers when
their replies are in; inside a leader or leaderless region it goes through a coordinator or
the leader. Its request (``ClientRequested``) and its answer (``Read`` / ``Replied``) are then
different steps, far apart. Whatever shows a history must keep them in that order: the trace,
the steps of the story, the checker's history (call before return), Mermaid and ShiViz (the
line that says it was sent comes before the one that says what it saw, at a later ``t=``).
A reviewer suspected a read's reply could come out before its request; this pins that it does not.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from replicalab import scenarios
from replicalab.checkers.runs import history_of
from replicalab.dynamodb.requestfile import load_requests
from replicalab.viz import to_mermaid, to_shiviz
from replicalab.viz.story import build

FILE = {
    "table": {"TableName": "subscribers", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
              "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]},
    "items": [{"id": {"S": "k"}, "v": {"N": "1"}}],
    "requests": [
        {"at": 100, "region": "eu-west-1", "client": "a", "UpdateItem": {
            "TableName": "subscribers", "Key": {"id": {"S": "k"}}, "UpdateExpression": "SET v = :n",
            "ExpressionAttributeValues": {":n": {"N": "2"}}}},
        {"at": 101, "region": "ap-southeast-2", "client": "c", "GetItem": {
            "TableName": "subscribers", "Key": {"id": {"S": "k"}}, "ConsistentRead": True}},
        {"at": 102, "region": "us-east-1", "client": "b", "GetItem": {
            "TableName": "subscribers", "Key": {"id": {"S": "k"}}, "ConsistentRead": True}},
    ],
}
AZS = {"replicas_per_region": 3}


def _runs() -> dict[str, Any]:
    requests = load_requests(json.dumps(FILE))
    out: dict[str, Any] = {}
    for name, options in (("mrsc", {"mode": "mrsc"}), ("leader", {**AZS, "region_protocol": "leader"}),
                          ("leaderless", {**AZS, "region_protocol": "leaderless"})):
        out[f"file-{name}"] = requests.replay(seed=0, **options).result
        out[f"london-{name}"] = scenarios.run("london", "item-lww", seed=0, **options)
    out["dynamo"] = scenarios.run("dynamo", "item-lww", seed=0, ops=20)
    return out


@pytest.fixture(scope="module")
def runs() -> dict[str, Any]:
    return _runs()


def _reads(result: Any) -> list[str]:
    return sorted({e.get("op") for e in result.trace.of_kind("ClientRequested")
                   if isinstance(e.get("request"), dict)
                   and e.get("request").get("type") in ("GetItem", "DynamoGet", "Get")})


@pytest.mark.parametrize("case", ["file-mrsc", "file-leader", "file-leaderless", "london-mrsc",
                                  "london-leader", "london-leaderless", "dynamo"])
def test_a_reads_request_comes_before_its_answer_everywhere(runs, case) -> None:
    result = runs[case]
    reads = _reads(result)
    assert reads
    asked = {e.get("op"): e.seq for e in reversed(list(result.trace.of_kind("ClientRequested")))}
    answered = {e.get("op"): e.seq for e in reversed(list(result.trace.of_kind("Replied")))}
    story = build(result)
    step_asked: dict[str, int] = {}
    step_answered: dict[str, int] = {}
    for step in story.steps:
        for e in step.events:
            if e.kind == "ClientRequested":
                step_asked.setdefault(e.get("op"), step.index)
            elif e.kind == "Replied":
                step_answered.setdefault(e.get("op"), step.index)
    round_trips = 0
    for op in reads:
        assert op in answered and asked[op] < answered[op], (case, op)
        assert step_asked[op] <= step_answered[op], (case, op)
        round_trips += step_asked[op] < step_answered[op]
    assert round_trips, f"{case}: some read must be answered at a later step than it was asked"
    if hasattr(result, "ledger") and hasattr(result.ledger, "verdicts"):  # a table run's history
        for operation in history_of(result).operations:
            assert operation.ret is None or operation.call < operation.ret
    for text in (to_mermaid(result), to_shiviz(result)):
        lines = text.splitlines()
        for op in reads:
            times = [int(t) for line in lines if re.search(rf"\b{op}\b", line)
                     for t in re.findall(r"\bt=(\d+)", line)[:1]]
            assert times == sorted(times), (case, op, times)
