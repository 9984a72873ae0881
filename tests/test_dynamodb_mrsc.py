"""GlobalTable with mode="mrsc": your own DynamoDB requests on multi-Region strong consistency.

Oracles: ``scenarios.run("london", mode="mrsc")`` for the seed's story; the same spaced-out
request list under ``mode="mrec"`` (once every write has replicated, both modes must give the
same responses and items); hand-built latencies where a region's copy is provably behind.
"""

from __future__ import annotations

import pytest

from replicalab import scenarios
from replicalab.dynamodb import (
    ConditionalCheckFailedException,
    GlobalTable,
    ValidationException,
)
from replicalab.dynamodb.exceptions import ReplicatedWriteConflictException
from replicalab.dynamodb.requestfile import example
from replicalab.errors import ConfigError, ReplicatedWriteConflict
from replicalab.sim.network import Constant

KEY = {"pk": {"S": "k1"}}
T = "things"
#: eu-west-1 and us-east-1 are 10 ms apart; ap-southeast-2 is 300 ms from both, so a write
#: between the first two commits long before ap-southeast-2's copy hears of it.
FAR_AP = {("eu-west-1", "us-east-1"): Constant(10), ("ap-southeast-2", "eu-west-1"): Constant(300),
          ("ap-southeast-2", "us-east-1"): Constant(300)}


def far_table(mode: str = "mrsc") -> GlobalTable:
    return GlobalTable(T, key=("pk",), mode=mode, latency=FAR_AP,
                       items=[{"pk": {"S": "k1"}, "version": {"N": "17"}}])


def set_version(client, new: str, expected: str | None = None) -> dict:
    extra = {"ConditionExpression": "version = :e"} if expected is not None else {}
    values = {":n": {"N": new}, **({":e": {"N": expected}} if expected is not None else {})}
    return client.update_item(TableName=T, Key=KEY, UpdateExpression="SET version = :n",
                              ExpressionAttributeValues=values, **extra)


def test_the_seed_requests_under_mrsc_get_the_scenarios_verdict_for_every_write():
    """London's two UpdateItems under MRSC, replayed from the request file: the portal's
    and the retention job's calls overlap (different clients), so MRSC sees both in flight
    and refuses the job's with ReplicatedWriteConflict — the verdicts of
    ``scenarios.run("london", mode="mrsc")``, write by write. Nothing is silently lost, and
    the support agent's strong read is global."""
    replay = example("london").replay(mode="mrsc")
    scenario = scenarios.run("london", mode="mrsc")
    assert replay.result.ledger.verdicts() == scenario.ledger.verdicts() == {
        "w1": "kept", "w2": "rejected"}
    assert replay.result.summary == scenario.summary
    assert replay.result.summary["silently_lost"] == 0
    portal, job, read = replay.outcomes
    assert (portal.outcome, portal.late, portal.time) == ("ok", False, 140)
    assert (job.outcome, job.late, job.time) == ("ReplicatedWriteConflictException", False, 189)
    assert job.response["Error"]["Code"] == "ReplicatedWriteConflictException"
    assert (read.outcome, read.late, read.time) == ("ok", False, 194)
    assert read.response["Item"]["delivery_address"] == {"S": "12 High Street, London"}
    assert replay.result.stale_reads == scenario.stale_reads == ()
    assert replay.result.converged


def test_one_client_at_a_time_the_retention_job_builds_on_the_portals_commit():
    """The same two requests as blocking calls: the job's call is made when the portal's
    returns (.288), after w1 committed, so it builds on it and both are kept."""
    table = GlobalTable("subscribers", key=("subscriber_id",), mode="mrsc", epoch="14:07:12.000",
                        items=[{"subscriber_id": {"S": "sub_42"}, "version": {"N": "17"}}])
    eu, us = table.client("eu-west-1", "portal"), table.client("us-east-1", "retention-job")
    key = {"subscriber_id": {"S": "sub_42"}}
    table.at("14:07:12.140")
    eu.update_item(TableName="subscribers", Key=key, UpdateExpression="SET a = :a",
                   ExpressionAttributeValues={":a": {"S": "London"}})
    assert table.clock == "14:07:12.288"
    us.update_item(TableName="subscribers", Key=key, UpdateExpression="SET b = :b",
                   ExpressionAttributeValues={":b": {"S": "x"}})
    assert table.settle().ledger.verdicts() == {"w1": "kept", "w2": "kept"}


def test_started_calls_overlap_and_race_as_in_the_scenario():
    table = GlobalTable("subscribers", key=("subscriber_id",), mode="mrsc", epoch="14:07:12.000",
                        items=[{"subscriber_id": {"S": "sub_42"}, "version": {"N": "17"}}])
    eu, us = table.client("eu-west-1", "portal"), table.client("us-east-1", "retention-job")
    key = {"subscriber_id": {"S": "sub_42"}}
    done = []
    table.at("14:07:12.140")
    portal = table.start(eu, "update_item", dict(
        TableName="subscribers", Key=key, UpdateExpression="SET a = :a",
        ExpressionAttributeValues={":a": {"S": "London"}}), on_done=done.append)
    table.at("14:07:12.189")
    job = table.start(us, "update_item", dict(
        TableName="subscribers", Key=key, UpdateExpression="SET b = :b",
        ExpressionAttributeValues={":b": {"S": "x"}}), on_done=done.append)
    assert not portal.done and not job.done
    table.settle()
    assert done == [job, portal]  # the refusal comes back first (t=389 vs 412)
    assert portal.error is None and portal.ops == ["w1"]
    assert isinstance(job.error, ReplicatedWriteConflictException) and job.ops == ["w2"]
    with pytest.raises(ConfigError, match="unknown operation"):
        table.start(eu, "scan", {})
    bad = table.start(eu, "update_item", dict(TableName="subscribers", Key=key,
                                              UpdateExpression="SET"))
    assert bad.done and isinstance(bad.error, ValidationException) and bad.ops == []


def test_a_write_from_a_region_behind_the_latest_commit_raises_replicated_write_conflict():
    """ap-southeast-2 has not heard of eu-west-1's commit yet: its write would build on a
    stale item, so both peers refuse it and boto3 code catches ReplicatedWriteConflictException
    (also the library's ReplicatedWriteConflict). Nothing was written; a retry after the
    commit arrived succeeds on top of it. Under MREC the same write is silently lost."""
    outcomes = {}
    for mode in ("mrsc", "mrec"):
        table = far_table(mode)
        eu, ap = table.client("eu-west-1"), table.client("ap-southeast-2")
        set_version(eu, "18")
        table.at(50)
        try:
            set_version(ap, "99")
            outcomes[mode] = "ok"
        except ap.exceptions.ReplicatedWriteConflictException as error:
            assert isinstance(error, ReplicatedWriteConflict)
            assert error.response["Error"]["Code"] == "ReplicatedWriteConflictException"
            outcomes[mode] = "conflict"
            table.at(1000)  # eu-west-1's prepare has reached ap-southeast-2 by now
            set_version(ap, "99")
        result = table.settle()
        outcomes[mode + " verdicts"] = result.ledger.verdicts()
        outcomes[mode + " final"] = {r: items["k1"]["version"] for r, items in result.final.items()}
    assert outcomes["mrsc"] == "conflict" and outcomes["mrec"] == "ok"
    assert outcomes["mrsc verdicts"] == {"w1": "superseded", "w2": "rejected", "w3": "kept"}
    assert set(outcomes["mrsc final"].values()) == {99}
    assert outcomes["mrec verdicts"]["w1"] == "silently-lost"


def test_a_condition_is_never_judged_on_a_stale_copy():
    """ap-southeast-2 still holds version 17. Its conditional write expecting 18 is false
    locally — but 18 is the latest commit, so ConditionalCheckFailed would be a lie: MRSC
    answers ReplicatedWriteConflict instead. Once ap-southeast-2 has the commit the same
    request succeeds; a request that is false on the latest commit fails with
    ConditionalCheckFailedException, with the committed item when asked for."""
    table = far_table()
    eu, ap = table.client("eu-west-1"), table.client("ap-southeast-2")
    set_version(eu, "18", expected="17")
    table.at(50)
    with pytest.raises(ReplicatedWriteConflictException):
        set_version(ap, "19", expected="18")
    table.at(1000)
    set_version(ap, "19", expected="18")
    with pytest.raises(ConditionalCheckFailedException) as failed:
        eu.update_item(TableName=T, Key=KEY, UpdateExpression="SET version = :n",
                       ConditionExpression="version = :e", ReturnValuesOnConditionCheckFailure="ALL_OLD",
                       ExpressionAttributeValues={":n": {"N": "20"}, ":e": {"N": "18"}})
    assert failed.value.response["Item"] == {"pk": {"S": "k1"}, "version": {"N": "19"}}
    result = table.settle()
    # A conditional write's version attribute is bookkeeping (not an effect): w1 stays kept.
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "rejected", "w3": "kept",
                                        "w4": "rejected"}
    assert all(items["k1"]["version"] == 19 for items in result.final.values())


def test_a_strongly_consistent_get_item_is_global_under_mrsc_and_regional_under_mrec():
    seen = {}
    for mode in ("mrsc", "mrec"):
        table = far_table(mode)
        set_version(table.client("eu-west-1"), "18")
        table.at(50)
        ap = table.client("ap-southeast-2")
        strong = ap.get_item(TableName=T, Key=KEY, ConsistentRead=True)["Item"]["version"]
        seen[mode] = strong
        result = table.settle()
        seen[mode + " stale"] = result.stale_reads
    assert seen["mrsc"] == {"N": "18"} and seen["mrsc stale"] == ()
    assert seen["mrec"] == {"N": "17"} and seen["mrec stale"] == ("r1",)


def test_spaced_out_requests_get_the_same_responses_and_items_in_mrsc_as_in_mrec():
    """With every write replicated before the next request, MRSC and MREC must agree on
    every response (ReturnValues, conditions, deletes, batches) and the final items."""
    def run(mode: str) -> tuple[list, dict]:
        table = GlobalTable(T, key=("pk",), mode=mode)
        eu, us = table.client("eu-west-1"), table.client("us-east-1")
        calls = [
            lambda: eu.put_item(TableName=T, Item={"pk": {"S": "a"}, "n": {"N": "1"}}),
            lambda: us.update_item(TableName=T, Key={"pk": {"S": "a"}}, ReturnValues="ALL_NEW",
                                   UpdateExpression="ADD n :one SET tags = :t",
                                   ExpressionAttributeValues={":one": {"N": "1"}, ":t": {"SS": ["x"]}}),
            lambda: eu.put_item(TableName=T, Item={"pk": {"S": "a"}}, ReturnValues="ALL_OLD",
                                ConditionExpression="attribute_exists(tags)"),
            lambda: us.delete_item(TableName=T, Key={"pk": {"S": "zz"}}, ReturnValues="ALL_OLD"),
            lambda: eu.update_item(TableName=T, Key={"pk": {"S": "a"}}, UpdateExpression="REMOVE n",
                                   ConditionExpression="attribute_exists(n)"),
            lambda: us.batch_write_item(RequestItems={T: [
                {"PutRequest": {"Item": {"pk": {"S": "b"}, "s": {"S": "x"}}}},
                {"DeleteRequest": {"Key": {"pk": {"S": "a"}}}}]}),
            lambda: eu.get_item(TableName=T, Key={"pk": {"S": "b"}}, ConsistentRead=True),
            lambda: us.get_item(TableName=T, Key={"pk": {"S": "a"}}),
            lambda: eu.query(TableName=T, KeyConditionExpression="pk = :p",
                             ExpressionAttributeValues={":p": {"S": "b"}}),
        ]
        responses = []
        for index, call in enumerate(calls):
            table.at(2000 * (index + 1))
            try:
                response = dict(call())
                response.pop("ResponseMetadata")
            except Exception as error:  # noqa: BLE001 - the error code is the response here
                response = {"error": type(error).__name__}
            responses.append(response)
        result = table.settle()
        return responses, result.final
    mrsc, mrec = run("mrsc"), run("mrec")
    assert mrsc == mrec
    assert mrsc[0][4] == {"error": "ConditionalCheckFailedException"}


def test_transactions_are_refused_under_mrsc_before_anything_is_sent():
    table = far_table()
    eu = table.client("eu-west-1")
    with pytest.raises(ValidationException, match="MRSC"):
        eu.transact_write_items(TransactItems=[{"Put": {"TableName": T, "Item": {"pk": {"S": "x"}}}}])
    assert table.sent == []
    with pytest.raises(ConfigError, match="strongly consistent Query"):
        eu.query(TableName=T, KeyConditionExpression="pk = :p", ConsistentRead=True,
                 ExpressionAttributeValues={":p": {"S": "k1"}})
    ttl = GlobalTable(T, key=("pk",), mode="mrsc", ttl_attribute="expires")
    with pytest.raises(ConfigError, match="TTL"):
        ttl.expire("eu-west-1")
    assert table.settle().ledger.verdicts() == {}


def test_writes_versioned_is_refused_with_what_to_write_instead():
    with pytest.raises(ConfigError, match="ConditionExpression="):
        GlobalTable(T, key=("pk",), writes="versioned")


def test_compare_on_a_request_file_now_has_an_mrsc_row():
    from replicalab.dynamodb.requestfile import compare_requests

    rows, skipped = compare_requests(example("london"))
    mrsc = {row.pattern: row for row in rows}["MRSC (3 regions)"]
    assert (mrsc.silently_lost, mrsc.stale_reads, mrsc.converged) == (0, 0, 1)
    assert mrsc.p50 > 100  # a write waits for another region
    assert skipped == ["MREC + version + conditional"]
