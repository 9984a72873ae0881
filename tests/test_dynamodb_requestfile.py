"""Request files: replaying DynamoDB requests as data, and refusing files that are not well-formed."""

from __future__ import annotations

import json
import re

import pytest

from replicalab import scenarios
from replicalab.cli import main
from replicalab.dynamodb.requestfile import (
    MAX_FILE_BYTES,
    example,
    load_requests,
    read_requests,
)
from replicalab.errors import SerializationError

LONDON = example("london")


def entries_of(name: str) -> list:
    return [{"at": e.at, "region": e.region, "client": e.client, e.operation: e.request}
            for e in example(name).entries]


@pytest.mark.parametrize("merge", ["item-lww", "attribute-lww", "causal", "crdt"])
def test_the_shipped_london_file_gets_the_scenarios_verdicts(merge):
    replay = LONDON.replay(merge=merge)
    theirs = scenarios.run("london", merge=merge)
    assert replay.result.ledger.verdicts() == theirs.ledger.verdicts()
    assert replay.result.stale_reads == theirs.stale_reads == ("r1",)
    assert [o.outcome for o in replay.outcomes] == ["ok", "ok", "ok"]
    assert [o.ops for o in replay.outcomes] == [("w1",), ("w2",), ("r1",)]


def test_the_versioned_file_pastes_the_seeds_request_and_turns_the_loss_into_a_detected_one():
    replay = example("london-versioned").replay()
    assert replay.result.ledger.verdicts() == {"w1": "detected", "w2": "kept"}
    request = example("london-versioned").entries[0].request
    assert request["ConditionExpression"] == "#v = :expected_v"
    assert request["ExpressionAttributeValues"][":new_v"] == {"N": "18"}


def test_a_bare_list_runs_on_an_empty_table_with_the_key_read_from_the_entries():
    text = json.dumps([
        {"at": "09:00:00.000", "region": "us-east-1", "client": "a",
         "PutItem": {"TableName": "carts", "Item": {"cart": {"S": "c1"}, "n": {"N": "1"}}}},
        {"at": "09:00:00.010", "region": "eu-west-1", "client": "b",
         "UpdateItem": {"TableName": "carts", "Key": {"cart": {"S": "c1"}},
                        "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"at": "09:00:00.500", "region": "eu-west-1", "client": "b",
         "GetItem": {"TableName": "carts", "Key": {"cart": {"S": "c1"}}}},
    ])
    requests = load_requests(text)
    assert (requests.name, requests.key, requests.epoch) == ("carts", ("cart",), 9 * 3600 * 1000)
    replay = requests.replay()
    # The ADD ran in eu-west-1 before the put had arrived: it created its own item, and
    # item-lww kept it over the put (a later stamp), dropping the put's n = 1.
    assert replay.result.ledger.verdicts() == {"w1": "silently-lost", "w2": "kept"}
    assert replay.outcomes[2].response["Item"]["n"] == {"N": "1"}


def test_a_refused_request_is_an_outcome_not_a_file_error():
    entries = entries_of("london")
    entries[0]["UpdateItem"] = {**entries[0]["UpdateItem"], "ConditionExpression": "version = :v",
                                "ExpressionAttributeValues": {
                                    ":addr": {"S": "x"}, ":v": {"N": "3"}}}
    replay = load_requests(json.dumps({**json.loads(_london_text()), "requests": entries})).replay()
    assert replay.outcomes[0].outcome == "ConditionalCheckFailedException"
    assert replay.result.ledger.verdicts()["w1"] == "rejected"


def _london_text() -> str:
    from importlib import resources

    return resources.files("replicalab.dynamodb").joinpath("examples").joinpath("london.json").read_text()


BAD = [
    ("{", "not valid JSON"),
    ('{"requests": [], "requests": []}', "duplicate"),
    ('{"requests": [{"at": NaN}]}', "NaN"),
    ("[1", "not valid JSON"),
    ('[], "x": 1', "a JSON list of entries or an object"),
    ('{"requests": []}', "requests: 1 to"),
    ('{"requests": [], "extra": 1}', "unknown field(s) ['extra']"),
    ('[{"region": "eu-west-1", "GetItem": {}}]', "requests[0].at: missing"),
    ('[{"at": "14:00:00", "region": "eu-west-1"}]', "requests[0]: exactly one operation"),
    ('[{"at": "14:00:00", "region": "eu-west-1", "Scan": {}}]', "requests[0].Scan: unknown field"),
    ('[{"at": true, "region": "eu-west-1", "GetItem": {}}]', "requests[0].at"),
    ('[{"at": "14:00:00", "region": 5, "GetItem": {}}]', "requests[0].region"),
    ('[{"at": "14:00:00", "region": "mars-1", "GetItem": {"TableName": "ttt", "Key": {"k": {"S": "a"}}}}]',
     "requests[0].region: unknown region"),
    ('[{"at": "14:00:00", "region": "eu-west-1", "GetItem": {"TableName": "ttt", "Key": {"k": {"S": "a"}},'
     ' "Eval": "x"}}]', "requests[0].GetItem.Eval: unknown parameter"),
    ('[{"at": 5, "region": "eu-west-1", "GetItem": {"TableName": "ttt", "Key": {"k": {"S": "a"}}}},'
     ' {"at": 3, "region": "eu-west-1", "GetItem": {"TableName": "ttt", "Key": {"k": {"S": "a"}}}}]',
     "requests[1].at: 3 is before the entry above"),
    ('[{"at": "13:59:59", "region": "eu-west-1", "GetItem": {"TableName": "ttt", "Key": {"k": {"S": "a"}}}}]'
     .replace("[{", '{"epoch": "14:00:00", "requests": [{').replace("}]", "}]}"),
     "requests[0].at: time 13:59:59 is before the table's epoch"),
    ('[{"at": "14:00:00", "region": "eu-west-1", "GetItem": {"Key": 5}}]', "needs an entry with TableName and Key"),
    ('{"table": {"TableName": "ttt", "KeySchema": []}, "requests": [{"at": 1, "region": "eu-west-1", '
     '"GetItem": {}}]}', "table.KeySchema"),
    ("[" * 100 + "]" * 100, "nested deeper"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_malformed_file_is_refused_naming_the_entry_and_the_field(text, message):
    with pytest.raises(SerializationError, match=re.escape(message)):
        load_requests(text)


def test_a_file_over_the_size_cap_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(" " * (MAX_FILE_BYTES + 1))
    with pytest.raises(SerializationError, match="at most"):
        read_requests(path)


def test_cli_runs_and_compares_a_request_file(tmp_path, capsys):
    path = tmp_path / "my-incident.json"
    path.write_text(_london_text())
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "[0] t=140 UpdateItem -> ok (w1)" in out and "silently-lost" in out
    assert main(["run", str(path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [e["verdict"] for e in document["ledger"]] == ["silently-lost", "kept"]
    assert main(["compare", str(path)]) == 0
    out = capsys.readouterr().out
    assert "MREC item-lww (as deployed)" in out and "not applicable to a request file" in out
    assert main(["run", str(path), "--writes", "versioned"]) == 2
    assert "a request file's conditions are its own" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('[{"at": 1, "region": "eu-west-1", "GetItem": {"TableName": "ttt", "Key": {"k": {"S": "a"}}, "X": 1}}]')
    assert main(["run", str(bad)]) == 2
    assert "requests[0].GetItem.X: unknown parameter" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# Time to live in a request file: UpdateTimeToLive, and the TTL process as ExpireItems

#: 14:07:12 on 2026-12-22, in Unix epoch seconds (20809 days after 1970-01-01).
EXPIRES = 20809 * 86_400 + 14 * 3600 + 7 * 60 + 12
ENABLE_TTL = {"TableName": "subscribers",
              "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires_at"}}
SUB_42 = {"subscriber_id": {"S": "sub_42"}}


def ttl_file(*requests: dict) -> str:
    """The London table, with sub_42 due to expire at 14:07:12, and ``requests``."""
    return json.dumps({
        "table": {"TableName": "subscribers",
                  "KeySchema": [{"AttributeName": "subscriber_id", "KeyType": "HASH"}],
                  "AttributeDefinitions": [{"AttributeName": "subscriber_id", "AttributeType": "S"}]},
        "epoch": "14:07:12.000", "date": "2026-12-22",
        "items": [{**SUB_42, "version": {"N": "17"}, "expires_at": {"N": str(EXPIRES)}}],
        "requests": list(requests)})


RACE = ttl_file(
    {"at": "14:07:12.000", "region": "us-east-1", "UpdateTimeToLive": ENABLE_TTL},
    {"at": "14:07:12.140", "region": "eu-west-1", "client": "portal",
     "UpdateItem": {"TableName": "subscribers", "Key": SUB_42,
                    "UpdateExpression": "SET delivery_address = :a",
                    "ExpressionAttributeValues": {":a": {"S": "12 High Street, London"}}}},
    {"at": "14:07:12.160", "region": "us-east-1", "ExpireItems": {"TableName": "subscribers"}})


def test_a_ttl_expiry_races_a_write_in_another_region_and_the_ledger_shows_who_won():
    """us-east-1's TTL process deletes sub_42 20 ms after eu-west-1's portal wrote it, before
    the write arrived: under item-lww the system delete (the later stamp) wins everywhere and
    the London address is lost without a word; per-attribute resolution keeps both."""
    replay = load_requests(RACE).replay(merge="item-lww")
    assert [(o.operation, o.outcome, o.ops) for o in replay.outcomes] == [
        ("UpdateTimeToLive", "ok", ()), ("UpdateItem", "ok", ("w1",)), ("ExpireItems", "ok", ("w2",))]
    assert replay.outcomes[2].response == {"ExpiredItems": 1}
    ledger = replay.result.ledger
    assert ledger.verdicts() == {"w1": "silently-lost", "w2": "kept"}
    assert ledger["w2"].client == "dynamodb-ttl@us-east-1"
    assert "w2" in ledger["w1"].why and "had not seen w1" in ledger["w1"].why
    assert "ExpireItems -> ok (w2)" in replay.report()
    kept = load_requests(RACE).replay(merge="attribute-lww").result
    assert kept.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


def test_a_ttl_process_with_ttl_off_deletes_nothing_and_says_so():
    text = ttl_file({"at": "14:07:12.160", "region": "us-east-1",
                     "ExpireItems": {"TableName": "subscribers"}})
    replay = load_requests(text).replay()
    assert replay.outcomes[0].ops == () and "not enabled" in replay.outcomes[0].response["Message"]
    assert replay.result.ledger.verdicts() == {}


@pytest.mark.parametrize(("specification", "message"), [
    ({"Enabled": True, "AttributeName": "expires_at"}, "already enabled"),
    ({"Enabled": True, "AttributeName": "other"}, "different AttributeName"),
    ({"Enabled": "yes", "AttributeName": "expires_at"}, "TimeToLiveSpecification must be"),
    ({"AttributeName": "expires_at"}, "TimeToLiveSpecification must be"),
])
def test_update_time_to_live_refuses_as_dynamodb_does_and_changes_nothing(specification, message):
    replay = load_requests(ttl_file(
        {"at": 0, "region": "us-east-1", "UpdateTimeToLive": ENABLE_TTL},
        {"at": 1, "region": "eu-west-1",
         "UpdateTimeToLive": {"TableName": "subscribers", "TimeToLiveSpecification": specification}},
        {"at": 2, "region": "eu-west-1", "ExpireItems": {"TableName": "subscribers"}})).replay()
    assert replay.outcomes[1].outcome == "ValidationException"
    assert message in replay.outcomes[1].response["Error"]["Message"]
    assert replay.outcomes[2].ops == ("w1",)  # TTL still on, on the same attribute


def test_disabling_ttl_stops_the_process():
    replay = load_requests(ttl_file(
        {"at": 0, "region": "us-east-1", "UpdateTimeToLive": ENABLE_TTL},
        {"at": 1, "region": "us-east-1", "UpdateTimeToLive": {
            "TableName": "subscribers",
            "TimeToLiveSpecification": {"Enabled": False, "AttributeName": "expires_at"}}},
        {"at": 2, "region": "us-east-1", "ExpireItems": {"TableName": "subscribers"}})).replay()
    assert [o.outcome for o in replay.outcomes] == ["ok", "ok", "ok"]
    assert replay.outcomes[2].ops == ()


@pytest.mark.parametrize(("entry", "message"), [
    ({"at": 0, "region": "us-east-1", "client": "me", "ExpireItems": {"TableName": "subscribers"}},
     r"requests\[0\]\.client: ExpireItems is the system's TTL process"),
    ({"at": 0, "region": "us-east-1", "ExpireItems": {"TableName": "subscribers", "Limit": 1}},
     r"requests\[0\]\.ExpireItems\.Limit: unknown parameter"),
    ({"at": 0, "region": "us-east-1", "ExpireItems": {}},
     r"requests\[0\]\.ExpireItems\.TableName: missing"),
    ({"at": 0, "region": "us-east-1", "UpdateTimeToLive": {**ENABLE_TTL, "Bogus": 1}},
     r"requests\[0\]\.UpdateTimeToLive\.Bogus: unknown parameter"),
])
def test_a_malformed_ttl_entry_is_refused_naming_the_entry_and_the_field(entry, message):
    with pytest.raises(SerializationError, match=message):
        load_requests(ttl_file(entry))


def test_the_date_is_checked_when_the_file_is_loaded():
    doc = json.loads(ttl_file({"at": 0, "region": "us-east-1", "UpdateTimeToLive": ENABLE_TTL}))
    doc["date"] = "2026-02-30"
    with pytest.raises(SerializationError, match="date: .*real day"):
        load_requests(json.dumps(doc))
    doc["date"] = "2026-12-23"  # a day later, sub_42 expired long ago: the sweep deletes it
    assert load_requests(json.dumps(doc)).date == "2026-12-23"


def test_an_expire_entry_for_another_table_names_the_entry():
    text = ttl_file({"at": 0, "region": "us-east-1", "ExpireItems": {"TableName": "orders"}})
    with pytest.raises(SerializationError, match=r"requests\[0\]\.ExpireItems\.TableName"):
        load_requests(text)
