"""A partition between AZs of a region (``AzPartition``) with ``region_protocol='leader'``.

Seeded stories cut one AZ of either region off from its region's other two — the AZ of a
partition's leader or of a follower, at an awkward time (on a write's or a read's millisecond,
or one either side) — under several merge policies, and heal it. In every story: the run
quiesces, every read gets a reply, every acknowledged write survives (kept or superseded), a
strongly consistent read never misses a write its region acknowledged, the judge of stale
reads agrees with an attribute oracle, and the healed run converges. And the partition changes
nothing else: every write whose request reached a node other than the cut-off one gets the
verdict it gets in the same run without the partition (under item-lww, where a failover's delay
can change which write wins, every such write on a key where no write was refused or
acknowledged at another time).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

import attrs
import pytest
from test_regions import LEADER, REGIONS, _oracle_stale, lab, run

from replicalab import scenarios
from replicalab.errors import ConfigError, ReplicaIdError
from replicalab.quorum.leader import partition_of
from replicalab.replica.requests import GetItem
from replicalab.scenarios.regions import AzOutage, AzPartition, partition_faults
from replicalab.scenarios.world import ClientRead, ClientWrite, TableScenario
from replicalab.sim.network import Uniform

STORIES = 48
POLICIES = ("attribute-lww", "causal", "crdt", "item-lww")


def _story(seed: int) -> tuple[TableScenario, AzPartition, str]:
    rng = random.Random(f"regions-partition-story/{seed}")
    scenario = lab(seed, writes=14, reads=14)
    moments = sorted({e.at for e in (*scenario.workload, *scenario.reads)})
    at = max(1, rng.choice(moments) + rng.choice((-1, 0, 1))) if rng.random() < 0.7 else rng.randrange(1, 600)
    cut = AzPartition(at, rng.choice(REGIONS), rng.choice("abc"), until=at + rng.randrange(1, 400))
    return scenario, cut, POLICIES[seed % len(POLICIES)]


def _run(scenario: TableScenario, seed: int, merge: str, **options):
    prepared = scenario.prepare(merge, seed, **options)
    prepared.sim.run_until_quiescent()  # raises if it never quiesces
    from test_regions import Run

    return Run(prepared.result(), {r.response.op: r for r in prepared.sim.replies})


def _reached(result, op: str) -> str:
    """The node a client's request first reached (its ClientRequested record)."""
    return next(e.replica for e in result.trace.of_kind("ClientRequested") if e.get("op") == op)


@pytest.mark.parametrize("seed", range(STORIES))
def test_an_az_partition_story_keeps_every_acknowledged_write_and_converges_after_the_heal(seed) -> None:
    scenario, cut, merge = _story(seed)
    result = _run(scenario, seed, merge, **LEADER, az_partitions=[cut])
    assert [r.op for r in scenario.reads if r.op not in result.replies] == [], cut
    verdicts = result.ledger.verdicts()
    acked = [w.op for w in scenario.workload if w.op in result.replies and result.replies[w.op].response.ok]
    if merge != "item-lww":  # item-lww loses writes between regions, partition or not (compared below)
        assert all(verdicts[op] in ("kept", "superseded", "detected") for op in acked), (cut, verdicts)
    if merge == "attribute-lww":  # the oracle reads attributes: one per write
        stale_here = _oracle_stale(result, scenario, region_only=True)
        strong = {r.op for r in scenario.reads if r.consistent}
        assert not strong & set(stale_here), (cut, {op: stale_here[op] for op in strong & set(stale_here)})
        assert set(result.stale_reads) == set(_oracle_stale(result, scenario)), cut
    during = [w.op for w in scenario.workload if w.region == cut.region and cut.at < w.at < cut.until]
    for op in during:  # the router keeps them on the majority side, which elects if it must
        assert _reached(result, op) != cut.node and result.replies[op].response.ok, (cut, op)
    facts = {f.op: f for f in result.facts}
    for op, why in result.stale_why.items():  # every policy: the judge's view of strong reads
        read = next(r for r in scenario.reads if r.op == op)
        missed = why.split(" missed ")[1].split(",")[0]
        assert not (read.consistent and facts[missed].replica[:-1] == read.region), (cut, why)
    assert result.converged, cut
    # The same run without the partition: the same verdict for every write that reached
    # another node than the cut-off one (one that did may have been refused: NoLeader).
    # Under item-lww a failover's delay (an election timeout) can change which write wins, so
    # there only writes on keys where no write was refused or acknowledged at another time.
    base = _run(scenario, seed, merge, **LEADER)
    without = base.ledger.verdicts()
    compared = [w for w in scenario.workload if _reached(result, w.op) != cut.node]
    if merge == "item-lww":
        def acked_at(r, op):
            reply = r.replies.get(op)
            return reply.time if reply is not None and reply.response.ok else None
        moved = {w.key for w in scenario.workload
                 if _reached(result, w.op) == cut.node or acked_at(result, w.op) != acked_at(base, w.op)}
        compared = [w for w in compared if w.key not in moved]
    changed = {w.op: (without[w.op], verdicts[w.op]) for w in compared if verdicts[w.op] != without[w.op]}
    assert not changed, (cut, changed)


# -- the cut-off leader, its partition, its readers ------------------------------------------

def _eu_story(key: str = "k0", *, reads: int = 0, consistent: bool = False) -> TableScenario:
    writes = tuple(ClientWrite(at=100 * (i + 1), region="eu-west-1", op=f"w{i}", client=f"c{i}", key=key,
                               attributes={f"a_w{i}": f"w{i}"}) for i in range(4))
    readers = tuple(ClientRead(at=300 + i, region="eu-west-1", op=f"r{i}", client=f"reader{i}", key=key,
                               consistent=consistent) for i in range(reads))
    return TableScenario(name="eu-story", description="writes and reads in eu-west-1", regions=REGIONS,
                         latency={REGIONS: Uniform(70, 80)}, initial={key: {"seed": "0"}},
                         workload=writes, reads=readers)


def _leader_az(key: str) -> str:
    return "abc"[partition_of(key, 2) % 3]  # partition p starts led by node p mod 3


def test_the_cut_off_leaders_partition_gets_a_new_leader_on_the_majority_side_and_writes_go_on() -> None:
    az = _leader_az("k0")
    cut = AzPartition(50, "eu-west-1", az, until=900)
    result = _run(_eu_story(), 0, "attribute-lww", **LEADER, az_partitions=[cut])
    p = partition_of("k0", 2)
    elected = [(e.time, e.replica) for e in result.trace.of_kind("Elected")
               if e.get("partition") == p and e.replica.startswith("eu-west-1") and 50 <= e.time < 900]
    assert elected and all(node != cut.node for _, node in elected), elected
    for op in ("w0", "w1", "w2", "w3"):  # every write acknowledged during the cut, not by the cut-off AZ
        reply = result.replies[op]
        assert reply.response.ok and reply.time < 900, (op, reply)
        assert _reached(result, op) != cut.node
    assert result.ledger.verdicts() == dict.fromkeys(("w0", "w1", "w2", "w3"), "kept")
    assert result.converged


def test_an_eventually_consistent_read_on_the_cut_off_az_is_stale_and_the_judge_says_so() -> None:
    cut = AzPartition(50, "eu-west-1", _leader_az("k0"), until=900)
    result = _run(_eu_story(reads=24), 0, "attribute-lww", **LEADER, az_partitions=[cut])
    on_cut = {e.get("op") for e in result.trace.of_kind("Read") if e.replica == cut.node}
    assert on_cut, "the seeded router sent no read to the cut-off AZ"
    assert on_cut <= set(result.stale_reads)  # w0 and w1 were acknowledged before, on the other side
    assert all(f"answered by {cut.node}" in result.stale_why[op] for op in on_cut)
    assert set(result.stale_reads) == set(_oracle_stale(result, _eu_story(reads=24)))


def test_a_leader_cut_off_from_its_quorum_does_not_answer_a_strong_read() -> None:
    """The quorum check: a strong read that reaches the minority leader gets NoLeader, never
    its (stale) state — here sent to it directly, as a request already on its way would be."""
    az = _leader_az("k0")
    cut = AzPartition(50, "eu-west-1", az, until=2000)
    prepared = _eu_story().prepare("attribute-lww", 0, **LEADER, az_partitions=[cut])
    prepared.sim.client_request(350, cut.node, GetItem("strong", "k0", consistent=True), client="x")
    prepared.sim.run_until_quiescent()
    reply = next(r for r in prepared.sim.replies if r.response.op == "strong")
    assert not reply.response.ok and reply.response.error == "NoLeader"
    assert reply.time < 2000  # refused within its deadline, not at the heal
    assert prepared.result().converged


def test_a_strong_read_during_the_cut_sees_every_write_its_region_acknowledged() -> None:
    cut = AzPartition(50, "eu-west-1", _leader_az("k0"), until=900)
    scenario = _eu_story(reads=6, consistent=True)
    result = _run(scenario, 0, "attribute-lww", **LEADER, az_partitions=[cut])
    assert all(result.replies[f"r{i}"].response.ok for i in range(6))
    assert _oracle_stale(result, scenario) == {} and result.stale_reads == ()


# -- several faults at once -----------------------------------------------------------------

def test_overlapping_partitions_cut_exactly_the_union_of_their_links_at_every_moment() -> None:
    """An independent oracle: at each probed time the simulator's cut links are the union of the
    cuts in force (a simulator Heal ends every cut; the schedule must re-apply the others)."""
    cuts = [AzPartition(100, "eu-west-1", "a", 300), AzPartition(200, "eu-west-1", "b", 400),
            AzPartition(250, "us-east-1", "c", 350)]
    prepared = lab(1).prepare("attribute-lww", 1, **LEADER, az_partitions=cuts)
    sim = prepared.sim
    seen: dict[int, set[tuple[str, str]]] = {}
    for t in (99, 100, 150, 200, 249, 250, 299, 300, 349, 350, 399, 400, 401):
        sim.schedule(t, lambda s, t=t: seen.__setitem__(t, set(s._cut)))
    sim.run_until_quiescent()
    nodes = {r: [f"{r}{x}" for x in "abc"] for r in REGIONS}
    for t, cut in seen.items():
        expected = {(n, m) for c in cuts if c.active(t) for n in [c.node]
                    for m in nodes[c.region] if m != n}
        assert cut == expected | {(m, n) for n, m in expected}, t
    result = prepared.result()
    assert result.converged and [r.op for r in lab(1).reads if r.op not in {
        x.response.op for x in sim.replies}] == []


@pytest.mark.parametrize("seed", range(12))
def test_a_partition_and_an_outage_in_one_region_still_end_answer_and_keep_acknowledged_writes(seed) -> None:
    """Seed 1 once never ended: b cut off (its log behind), healed, then a down without its disk;
    b's campaigns (refused: stale log) stepped c down every 100 ms and restarted c's wait, whose
    timeout is 150 ms, so c — the one node that could win — never campaigned."""
    rng = random.Random(f"partition+outage/{seed}")
    region = rng.choice(REGIONS)
    cut_az, down_az = rng.sample("abc", 2)
    at = rng.randrange(50, 300)
    cut = AzPartition(at, region, cut_az, until=at + rng.randrange(50, 300))
    down = rng.randrange(50, 300)
    outage = AzOutage(down, region, down_az, until=down + rng.randrange(50, 400), durable=rng.random() < 0.5)
    scenario = lab(seed, writes=14, reads=14)
    result = run(scenario, seed, **LEADER, az_partitions=[cut], az_outages=[outage])
    assert [r.op for r in scenario.reads if r.op not in result.replies] == [], (cut, outage)
    verdicts = result.ledger.verdicts()
    acked = [w.op for w in scenario.workload if w.op in result.replies and result.replies[w.op].response.ok]
    assert all(verdicts[op] in ("kept", "superseded") for op in acked), (cut, outage, verdicts)
    assert result.converged, (cut, outage)


def test_partition_faults_heal_and_reapply_at_every_boundary() -> None:
    nodes = {"eu-west-1": ("eu-west-1a", "eu-west-1b", "eu-west-1c")}
    faults = partition_faults((AzPartition(10, "eu-west-1", "a", 30),), nodes)
    assert [(type(f).__name__, f.at) for f in faults] == [("Partition", 10), ("Heal", 30)]
    assert faults[0].groups == (("eu-west-1a",), ("eu-west-1b", "eu-west-1c"))


# -- options, refusals, determinism, the CLI, a GlobalTable ----------------------------------

@pytest.mark.parametrize("bad", [
    dict(at=-1, region="eu-west-1", az="a", until=5), dict(at=5, region="eu-west-1", az="ab", until=9),
    dict(at=5, region="eu-west-1", az="a", until=5), dict(at=5, region="eu-west-1", az="a", until=4),
    dict(at=5, region="eu-west-1", az="a", until=9.5),
    dict(at=5, region="eu-west-1", az="z", until=9), dict(at=True, region="eu-west-1", az="a", until=9),
])
def test_a_bad_az_partition_is_refused_when_built(bad) -> None:
    with pytest.raises(ConfigError):
        AzPartition(**bad)


def test_a_cut_that_never_heals_is_offered_and_the_refusal_of_a_bad_until_says_so() -> None:
    """``until=None`` is a cut for good (tests/test_regions_cut_for_good.py judges its removals);
    a bad ``until`` is refused naming both choices."""
    assert AzPartition(5, "eu-west-1", "a", until=None).until is None
    with pytest.raises(ConfigError, match=r"an integer time after at=5, or None for a cut that never heals"):
        AzPartition(5, "eu-west-1", "a", until=5)
    assert "never heals" in AzPartition.__doc__ and "it stays refused" not in AzPartition.__doc__


@pytest.mark.parametrize("merge", ["crdt", "causal"])
def test_a_removal_the_cut_off_node_never_applied_is_unreplicated_when_the_run_stops_mid_cut(merge) -> None:
    """The cart: w2 removes 'book'. The run stops (horizon 1000) while ap-southeast-2a is still
    cut off (until 5000); w2 reached it in the other regions' replication but never entered its
    table, exactly like w1, which the ledger rightly calls unreplicated."""
    scenario = attrs.evolve(scenarios.get("cart"), horizon=1000)
    result = scenario.run(merge, 0, **LEADER, az_partitions=[AzPartition(150, "ap-southeast-2", "a", 5000)])
    assert not result.converged
    assert result.ledger.verdicts() == {"w1": "unreplicated", "w2": "unreplicated"}


@pytest.mark.parametrize(("options", "error", "says"), [
    ({"az_partitions": [AzPartition(5, "eu-west-1", "a", 9)]}, ConfigError, "give replicas_per_region=3"),
    ({**LEADER, "az_partitions": [AzPartition(5, "mars-1", "a", 9)]}, ReplicaIdError, "unknown region"),
    ({"replicas_per_region": 2, "az_partitions": [AzPartition(5, "eu-west-1", "c", 9)]}, ConfigError,
     "AZs are ['a', 'b']"),
    ({**LEADER, "az_partitions": AzPartition(5, "eu-west-1", "a", 9)}, ConfigError, "must be a list"),
    ({**LEADER, "az_partitions": [AzOutage(5, "eu-west-1", "a", 9)]}, ConfigError, "AzPartition(...) values"),
])
def test_az_partitions_that_make_no_sense_are_refused_naming_what_would_do(options, error, says) -> None:
    with pytest.raises(error, match=__import__("re").escape(says)):
        scenarios.run("london", **options)


def test_the_options_show_the_partition_and_the_same_seed_gives_the_same_bytes_in_another_process() -> None:
    code = ("from replicalab import scenarios; from replicalab.scenarios.regions import AzPartition; "
            "print(scenarios.run('london', merge='causal', seed=3, replicas_per_region=3, "
            "az_partitions=[AzPartition(150, 'eu-west-1', 'b', until=500)]).to_json())")
    result = scenarios.run("london", merge="causal", seed=3, replicas_per_region=3,
                           az_partitions=[AzPartition(150, "eu-west-1", "b", until=500)])
    assert result.options["az_partitions"] == [{"at": 150, "region": "eu-west-1", "az": "b", "until": 500}]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "4242"}).stdout.strip()
    assert out == result.to_json()
    assert "network: cut eu-west-1b | eu-west-1a, eu-west-1c" in result.to_svg()
    assert "partitioned into eu-west-1b | eu-west-1a, eu-west-1c (6 other nodes reach both sides)" \
        in result.report()


def test_the_cli_runs_and_compares_with_an_az_partition(capsys) -> None:
    import json

    from replicalab.cli import main

    assert main(["run", "london", "--replicas-per-region", "3", "--merge", "attribute-lww",
                 "--az-partition", "eu-west-1a@100..600", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["options"]["az_partitions"] == [{"at": 100, "az": "a", "region": "eu-west-1", "until": 600}]
    assert document["summary"]["kept"] == 2
    assert main(["compare", "london", "--replicas-per-region", "3", "--az-partition", "eu-west-1a@100..600"]) == 0
    assert "AZ partitions eu-west-1a@100..600" in capsys.readouterr().out
    for argv, says in ((["run", "london", "--az-partition", "eu-west-1a"], "NODE@AT[..UNTIL]"),
                       (["run", "london", "--az-partition", "eu-west-1a@100..50"], "NODE@AT[..UNTIL]"),
                       (["run", "london", "--az-partition", "eu-west-1a@100..200"], "replicas_per_region=3"),
                       (["run", "london", "--replicas-per-region", "3", "--net", "--az-partition",
                         "eu-west-1a@1..2"], "--az-partition")):
        try:
            status = main(argv)
        except SystemExit as exit_:  # argparse's own refusals exit with status 2
            status = exit_.code
        assert status == 2 and says in capsys.readouterr().err, argv


def test_a_global_table_takes_az_partitions() -> None:
    from replicalab.dynamodb import GlobalTable

    key = {"pk": {"S": "sub_42"}}
    az = _leader_az("sub_42")
    table = GlobalTable("subs", key=("pk",), replicas_per_region=3,
                        items=[{"pk": {"S": "sub_42"}, "city": {"S": "Manchester"}}],
                        az_partitions=[AzPartition(1, "eu-west-1", az, until=3000)])
    eu = table.client("eu-west-1")
    table.at(5)
    eu.update_item(TableName="subs", Key=key, UpdateExpression="SET city = :c",
                   ExpressionAttributeValues={":c": {"S": "London"}})
    assert eu.get_item(TableName="subs", Key=key, ConsistentRead=True)["Item"]["city"] == {"S": "London"}
    assert table.items("eu-west-1")["sub_42"]["city"] == "London"
    result = table.settle()
    assert result.ledger.verdicts() == {"w1": "kept"} and result.converged
