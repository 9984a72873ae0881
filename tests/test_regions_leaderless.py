"""Leaderless regions (issue #16): AZ nodes under N/R/W quorums inside a global table's regions.

Each test states a contract of :mod:`replicalab.quorum.zone` and checks it against an
independent oracle: the one-replica-per-region run, the quorum intersection r + w > n, the
client's own replies, a second process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from replicalab import scenarios
from replicalab.errors import ConfigError
from replicalab.scenarios.regions import AzOutage
from replicalab.scenarios.world import ClientRead, ClientWrite, TableScenario
from replicalab.sim.network import Uniform

POLICIES = ("item-lww", "attribute-lww", "causal", "crdt")
LEADERLESS = {"replicas_per_region": 3, "region_protocol": "leaderless"}


def verdicts(result) -> dict[str, str]:
    return {e.write: e.verdict for e in result.ledger}


def story(regions=("eu-west-1", "us-east-1"), writes=(), reads=(), name="leaderless-story") -> TableScenario:
    """A small table story: ``writes`` and ``reads`` on key ``k``."""
    latency = {(a, b): Uniform(70, 80) for i, a in enumerate(regions) for b in regions[i + 1:]}
    return TableScenario(name=name, description="a leaderless test story", regions=tuple(regions),
                         latency=latency, initial={"k": {"n": 0}}, workload=tuple(writes),
                         reads=tuple(reads), epoch=0)


# -- the London story: the same verdicts as one replica per region ------------------------------

@pytest.mark.parametrize("merge", POLICIES)
@pytest.mark.parametrize(("n", "r", "w"), [(3, 2, 2), (3, 1, 3), (3, 3, 1), (2, 1, 2)])
def test_london_with_leaderless_azs_gives_the_single_replica_verdicts(merge, n, r, w) -> None:
    """Without faults, AZ nodes change where a write lives, never whether it survives."""
    single = scenarios.run("london", merge=merge, seed=0)
    azs = scenarios.run("london", merge=merge, seed=0, n=n, r=r, w=w, **LEADERLESS)
    assert verdicts(azs) == verdicts(single)
    assert azs.converged
    assert azs.options["region_protocol"] == "leaderless" and azs.options["n"] == n


def test_london_leaderless_final_items_are_on_every_home_node() -> None:
    result = scenarios.run("london", merge="attribute-lww", seed=0, **LEADERLESS)
    assert sorted(result.final) == [f"{r}{az}" for r in ("ap-southeast-2", "eu-west-1", "us-east-1")
                                    for az in "abc"]
    items = {node: state["sub_42"] for node, state in result.final.items()}
    assert len({json.dumps(i, sort_keys=True) for i in items.values()}) == 1


# -- quorum intersection: r + w > n, no sloppy quorum ---------------------------------------------

def _same_region_story() -> TableScenario:
    """eu writes every 7 ms, each followed 3 ms later by a consistent read; one us write."""
    writes = [ClientWrite(at=10 + 7 * i, region="eu-west-1", op=f"w{i}", client="portal", key="k",
                          attributes={"n": i}) for i in range(1, 41)]
    writes.append(ClientWrite(at=95, region="us-east-1", op="u1", client="batch", key="k",
                              attributes={"m": 1}))
    reads = [ClientRead(at=10 + 7 * i + 3, region="eu-west-1", op=f"r{i}", client="reader", key="k")
             for i in range(1, 41)]
    return story(writes=writes, reads=reads)


def _missed(result) -> set[str]:
    """The writes the stale reads missed (the staleness judge names each in its why)."""
    return {re.search(r"missed (\S+),", why).group(1) for why in result.stale_why.values()}


@pytest.mark.parametrize("seed", range(20))
def test_strict_quorums_never_miss_an_acknowledged_write_of_the_region(seed) -> None:
    """With r + w > n a consistent read's r nodes meet every acknowledged write's w nodes, so
    whatever one AZ outage does, no consistent read misses a write its own region acknowledged
    (a remote write still in flight may be missed: that is cross-region lag, not quorums)."""
    import random

    rng = random.Random(seed)
    at = rng.randrange(0, 200)
    # Every AZ of eu-west-1 (where the writes and reads are) in turn, us-east-1 now and then.
    outage = AzOutage(at, "us-east-1" if seed % 5 == 4 else "eu-west-1", "abc"[seed % 3],
                      until=at + rng.randrange(5, 100),
                      durable=seed % 2 == 0)
    # attribute-lww: the remote write u1 sets another attribute, so no merge may drop an eu write.
    result = _same_region_story().run("attribute-lww", seed, az_outages=[outage], **LEADERLESS)
    acked_here = {r.response.op for r in result_replies(result) if r.response.ok}
    assert not (_missed(result) & (acked_here - {"u1"}))
    assert result.stale_reads == tuple(result.stale_why)
    # A restarted AZ catches up before it coordinates again, so every eu write saw the last.
    lost = [e for e in result.ledger if e.verdict not in ("kept", "superseded") and e.write in acked_here]
    assert not lost, [e.why for e in lost]


def result_replies(result):
    """The client replies of a finished run, from its trace."""
    from types import SimpleNamespace

    out = []
    for e in result.trace.of_kind("Replied"):
        out.append(SimpleNamespace(response=SimpleNamespace(op=e.get("op"), ok=e.get("ok", True))))
    return out


# -- what w=1 and eventual reads give up ------------------------------------------------------------

def _one_region_write(w: int):
    """eu-west-1 alone; b and c down when w1 arrives at a; a loses its disk 20 ms later."""
    writes = [ClientWrite(at=100, region="eu-west-1", op="w1", client="portal", key="k",
                          attributes={"n": 1})]
    outages = [AzOutage(50, "eu-west-1", "b", until=400), AzOutage(50, "eu-west-1", "c", until=400),
               AzOutage(120, "eu-west-1", "a", until=500, durable=False)]
    return story(regions=("eu-west-1",), writes=writes).run("item-lww", 0, az_outages=outages, w=w,
                                                             r=1, **LEADERLESS)


def test_w1_acknowledges_a_write_its_only_holder_then_loses() -> None:
    """Lesson: w=1 answers the client as soon as the coordinator has the write; if that node
    loses its disk before any other node got it, an acknowledged write is gone — and the
    ledger says so, naming the crash."""
    (entry,) = _one_region_write(1).ledger
    assert entry.verdict == "silently-lost"
    assert "lost with eu-west-1a's state when it crashed at t=120 (durable=False)" in entry.why


def test_w2_in_the_same_outage_tells_the_client_its_write_is_in_doubt() -> None:
    """With w=2 the same write is never acknowledged: the client hears of a failure (its
    outcome unknown: it did take effect at the coordinator), and the ledger says so."""
    result = _one_region_write(2)
    (entry,) = result.ledger
    assert entry.verdict == "silently-lost" and entry.why.startswith("the client was told")
    assert not any(e.get("ok") for e in result.trace.of_kind("Replied"))


def test_a_quorum_that_times_out_reports_an_unknown_outcome_and_the_write_persists() -> None:
    writes = [ClientWrite(at=100, region="eu-west-1", op="w1", client="portal", key="k",
                          attributes={"n": 1})]
    outages = [AzOutage(50, "eu-west-1", "b", until=400), AzOutage(50, "eu-west-1", "c", until=400)]
    result = story(writes=writes).run("item-lww", 0, az_outages=outages, w=2, **LEADERLESS)
    (reply,) = [e for e in result.trace.of_kind("Replied") if e.get("op") == "w1"]
    assert reply.get("error") == "QuorumNotReached" and "may persist" in reply.get("message")
    (entry,) = result.ledger
    # It stayed in a's table and was replicated to us-east-1: it survives, though the client
    # was told it failed; b and c catch up when they return.
    assert entry.verdict == "kept" and "the client was told QuorumNotReached" in entry.why
    assert result.converged


def _read_after_write(consistent: bool, r: int, w: int, seed: int):
    writes = [ClientWrite(at=100, region="eu-west-1", op="w1", client="portal", key="k",
                          attributes={"n": 1})]
    reads = [ClientRead(at=100 + 5 * i, region="eu-west-1", op=f"r{i}", client="reader", key="k",
                        consistent=consistent) for i in range(1, 4)]
    return story(writes=writes, reads=reads).run("item-lww", seed, r=r, w=w, **LEADERLESS)


def test_an_eventual_read_can_miss_an_acknowledged_write_of_its_region() -> None:
    """Lesson: an eventually consistent read answers from one node, which may not hold a write
    the region acknowledged (w=1 acknowledged it at another node an instant earlier)."""
    stale = {}
    for seed in range(10):
        writes = [ClientWrite(at=100, region="eu-west-1", op="w1", client="portal", key="k",
                              attributes={"n": 1})]
        reads = [ClientRead(at=100, region="eu-west-1", op="r1", client="reader", key="k",
                            consistent=False)]
        result = story(writes=writes, reads=reads).run("item-lww", seed, r=1, w=1, **LEADERLESS)
        stale.update(result.stale_why)
    assert stale, "no seed sent the read to a node the write had not reached yet"
    assert all(why.startswith("eventually consistent read") and "missed w1" in why
               for why in stale.values())


@pytest.mark.parametrize("seed", range(5))
def test_a_consistent_read_with_r_plus_w_above_n_meets_the_write(seed) -> None:
    result = _read_after_write(True, 2, 2, seed)
    assert not result.stale_reads


# -- refusals -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("options", "says"), [
    ({"writes": "versioned", **LEADERLESS}, "use region_protocol='leader' for the versioned pattern"),
    ({"n": 4, **LEADERLESS}, "n must be an integer from 1 to replicas_per_region=3"),
    ({"n": 3, "r": 4, **LEADERLESS}, "r must be an integer from 1 to n=3"),
    ({"w": 0, **LEADERLESS}, "w must be an integer from 1 to n=3"),
    ({"sloppy": True, **LEADERLESS}, "give n smaller than replicas_per_region=3"),
    ({"sloppy": "yes", "n": 2, **LEADERLESS}, "sloppy must be True or False"),
    ({"n": 2, "replicas_per_region": 3, "region_protocol": "leader"}, "region_protocol='leaderless'"),
    ({"r": 2}, "region_protocol='leaderless'"),
    ({"mode": "mrsc", **LEADERLESS}, "choose mode 'mrec' or 'single-primary'"),
])
def test_refused_options_say_what_to_use_instead(options, says) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        scenarios.run("london", **options)


def test_anti_entropy_stories_with_whole_region_faults_are_refused_with_azs() -> None:
    """The built-in anti-entropy stories crash or cut whole regions (a single replica's ids);
    anti-entropy itself runs in leaderless regions (tests/test_regions_antientropy.py)."""
    for name in ("partition", "crash"):
        with pytest.raises(ConfigError, match="delays replication|faults naming whole regions"):
            scenarios.run(name, **LEADERLESS)


def test_a_conditional_write_is_refused_to_its_client_and_changes_nothing() -> None:
    """A condition checked on one coordinator's copy would be a lie: the client gets a
    ValidationError naming region_protocol='leader', and no node's table changes."""
    writes = [ClientWrite(at=100, region="eu-west-1", op="w1", client="portal", key="k",
                          attributes={"n": 1}, condition={"n": 0})]
    result = story(writes=writes).run("item-lww", 0, **LEADERLESS)
    (entry,) = result.ledger
    assert entry.verdict == "rejected"
    assert "ValidationError" in entry.why and "use region_protocol='leader'" in entry.why
    assert {state["k"]["n"] for state in result.final.values()} == {0}


def test_a_global_table_refuses_transactions_and_strong_queries_but_runs_the_rest() -> None:
    from replicalab.dynamodb import GlobalTable

    table = GlobalTable("subs", key=("pk",), replicas_per_region=3, region_protocol="leaderless",
                        n=3, r=2, w=2, items=[{"pk": {"S": "sub_42"}, "city": {"S": "Manchester"}}])
    eu, us = table.client("eu-west-1"), table.client("us-east-1")
    key = {"pk": {"S": "sub_42"}}
    table.at(5)
    eu.update_item(TableName="subs", Key=key, UpdateExpression="SET city = :c",
                   ExpressionAttributeValues={":c": {"S": "London"}})
    assert eu.get_item(TableName="subs", Key=key, ConsistentRead=True)["Item"]["city"] == {"S": "London"}
    assert us.get_item(TableName="subs", Key=key)["Item"]["city"] == {"S": "Manchester"}  # not there yet
    with pytest.raises(Exception, match="use region_protocol='leader'") as refused:
        eu.update_item(TableName="subs", Key=key, UpdateExpression="SET city = :c",
                       ConditionExpression="city = :old",
                       ExpressionAttributeValues={":c": {"S": "Leeds"}, ":old": {"S": "London"}})
    assert "ValidationException" in type(refused.value).__name__
    with pytest.raises(Exception, match="transactions are not supported"):
        eu.transact_write_items(TransactItems=[{"Put": {"TableName": "subs", "Item": {
            "pk": {"S": "sub_43"}, "city": {"S": "York"}}}}])
    with pytest.raises(Exception, match="strongly consistent Query"):
        eu.query(TableName="subs", KeyConditionExpression="pk = :k",
                 ExpressionAttributeValues={":k": {"S": "sub_42"}}, ConsistentRead=True)
    result = table.settle()
    assert result.ledger.verdicts()["w1"] == "kept"
    assert result.converged and "eu-west-1c" in result.final


# -- determinism, the CLI ----------------------------------------------------------------------------

def test_same_seed_gives_byte_identical_json_in_another_process() -> None:
    options = {"az_outages": [AzOutage(145, "eu-west-1", "a", until=600, durable=False)], "w": 1,
               **LEADERLESS}
    here = scenarios.run("london", merge="causal", seed=3, **options).to_json()
    code = ("from replicalab import scenarios\n"
            "from replicalab.scenarios.regions import AzOutage\n"
            "print(scenarios.run('london', merge='causal', seed=3, w=1, replicas_per_region=3, "
            "region_protocol='leaderless', az_outages=[AzOutage(145, 'eu-west-1', 'a', until=600, "
            "durable=False)]).to_json(), end='')")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                           check=True).stdout
    assert there == here


def test_the_cli_runs_and_compares_leaderless_regions(capsys) -> None:
    from replicalab.cli import main

    assert main(["run", "london", "--replicas-per-region", "3", "--region-protocol", "leaderless",
                 "--n", "3", "--r", "2", "--w", "1", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["options"] == {"n": 3, "r": 2, "w": 1, "region_protocol": "leaderless",
                                   "replicas_per_region": 3}
    assert document["summary"]["silently_lost"] == 1
    assert main(["compare", "london", "--replicas-per-region", "3", "--region-protocol", "leaderless",
                 "--w", "1"]) == 0
    out = capsys.readouterr().out
    assert "(leaderless)" in out and "version + conditional" in out.split("not applicable:")[1]


# -- sloppy quorum and hinted handoff -----------------------------------------------------------------

@pytest.mark.parametrize("until", [700, None])
def test_a_sloppy_quorum_acknowledges_through_a_stand_in_and_hands_the_hint_home(until) -> None:
    """Four AZs, n=3, w=3; home node eu-west-1b is down. Strict: the client is told
    QuorumNotReached (the write persists anyway). Sloppy: eu-west-1a stands in with a hint, the
    client gets its acknowledgement, and when b returns the hint reaches it."""
    writes = [ClientWrite(at=100, region="eu-west-1", op="w1", client="portal", key="k",
                          attributes={"n": 1})]
    outage = [AzOutage(50, "eu-west-1", "b", until=until)]
    options = {"replicas_per_region": 4, "region_protocol": "leaderless", "n": 3, "w": 3, "r": 1,
               "az_outages": outage}
    strict = story(writes=writes).run("item-lww", 0, **options)
    sloppy = story(writes=writes).run("item-lww", 0, sloppy=True, **options)
    (told,) = [e for e in strict.trace.of_kind("Replied") if e.get("op") == "w1"]
    assert told.get("error") == "QuorumNotReached"
    (acked,) = [e for e in sloppy.trace.of_kind("Replied") if e.get("op") == "w1"]
    assert acked.get("ok") is True
    assert [(e.replica, e.get("home")) for e in sloppy.trace.of_kind("HintStored")] == [
        ("eu-west-1a", "eu-west-1b")]
    assert sloppy.ledger.verdicts() == {"w1": "kept"}
    if until is not None:  # b is back: it holds the write (by its catch-up or the hint)
        assert sloppy.final["eu-west-1b"]["k"]["n"] == 1 and sloppy.converged
    else:  # b never returns: the stand-in gives up after HANDOFF_TRIES rounds; the run ends
        assert not sloppy.converged


def test_a_coordinator_back_from_a_durable_outage_ships_what_it_had_not_shipped() -> None:
    """eu-west-1a applies w1 and waits for its quorum (b and c are down), then goes down with
    its disk: the client is told the connection dropped. Back up, a still holds w1 and ships
    it to us-east-1 (a region replicates what it holds); b and c catch up when they return."""
    writes = [ClientWrite(at=100, region="eu-west-1", op="w1", client="portal", key="k",
                          attributes={"n": 1})]
    outages = [AzOutage(50, "eu-west-1", "b", until=400), AzOutage(50, "eu-west-1", "c", until=400),
               AzOutage(120, "eu-west-1", "a", until=300, durable=True)]
    result = story(writes=writes).run("item-lww", 0, az_outages=outages, **LEADERLESS)
    (entry,) = result.ledger
    assert entry.verdict == "kept" and entry.why.startswith("the client was told")
    assert result.converged and result.final["us-east-1b"]["k"]["n"] == 1


def test_the_explorer_still_refuses_leaderless_regions() -> None:
    from replicalab import explore

    with pytest.raises(ConfigError, match="are not explored"):
        explore.scenario("london", replicas_per_region=3, region_protocol="leaderless")


def test_a_leaderless_run_draws_its_picture_and_report() -> None:
    result = scenarios.run("london", seed=0, w=1, **LEADERLESS)
    svg = result.to_svg()
    assert svg.startswith("<svg") and "eu-west-1b" in svg
    assert "3 AZs (leaderless n=3 r=2 w=1)" in result.report()


def test_a_region_back_from_a_whole_outage_catches_up_from_the_other_regions() -> None:
    """Every eu-west-1 node is down when us-east-1 ships w2: each returning node asks the other
    regions too, so the region ends with w2 (without that, w2 would stay unreplicated)."""
    outages = [AzOutage(100, "eu-west-1", az, until=600) for az in "abc"]
    result = scenarios.run("london", merge="attribute-lww", az_outages=outages, **LEADERLESS)
    assert result.ledger.verdicts() == {"w1": "rejected", "w2": "kept"} and result.converged
    sources = {e.get("source") for e in result.trace.of_kind("Merged") if e.replica == "eu-west-1a"}
    assert any(s.startswith("us-east-1") for s in sources)


def test_a_node_catching_up_answers_no_peek_and_joins_once_enough_peers_answered() -> None:
    """A restarted node's copy may lack acknowledged writes (it may even have held one and
    lost its disk), so until nodes - w + 1 of its region's other nodes answered its CatchUp it
    does not count towards a read's r: it answers no Peek."""
    from replicalab.quorum import HashRing, QuorumConfig
    from replicalab.quorum.zone import CaughtUp, LeaderlessNode, Peek
    from replicalab.replica.base import RecordingContext

    rings = {"eu": HashRing(["eua", "eub", "euc"]), "us": HashRing(["usa", "usb", "usc"])}
    node = LeaderlessNode("eua", "eu", rings, QuorumConfig(n=3, r=2, w=2)).recover("eua~2")
    peers = ["eub", "euc", "usa", "usb", "usc"]
    ctx = RecordingContext("eua", peers=peers)
    node.on_start(ctx)
    assert node.syncing and sorted(c.dst for c in ctx.commands) == peers  # CatchUp to everyone
    quiet = RecordingContext("eua", peers=peers)
    node.on_message(quiet, "eub", Peek("r1", "k"))
    assert quiet.commands == []
    node.on_message(RecordingContext("eua", peers=peers), "usa", CaughtUp(()))
    node.on_message(RecordingContext("eua", peers=peers), "eub", CaughtUp(()))
    assert node.syncing  # us-east-1 does not count; one of eu's two others is not enough (w=2)
    node.on_message(RecordingContext("eua", peers=peers), "euc", CaughtUp(()))
    assert not node.syncing
    answered = RecordingContext("eua", peers=peers)
    node.on_message(answered, "eub", Peek("r1", "k"))
    assert [type(c.msg).__name__ for c in answered.commands] == ["Peeked"]
