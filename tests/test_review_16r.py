"""Review reproducers for regions with AZ nodes (replicas_per_region=3, region_protocol='leader').

Each test FAILS on the code under review and states what is true."""

from __future__ import annotations

from replicalab.scenarios.regions import AzOutage
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.network import Uniform

R = ("eu-west-1", "us-east-1")
LEADER = {"replicas_per_region": 3, "region_protocol": "leader"}


def _one_write(**options):
    scenario = TableScenario(
        name="q", description="one write", regions=R, latency={R: Uniform(70, 80)},
        initial={"k": {"seed": "0"}},
        workload=(ClientWrite(at=100, region="us-east-1", op="w0", client="c", key="k",
                              attributes={"a": "w0"}),),
        reads=())
    prepared = scenario.prepare("attribute-lww", 0, **options)
    prepared.sim.run_until_quiescent()
    return prepared


def test_a_write_a_region_without_quorum_cannot_commit_is_unreplicated_not_silently_lost():
    """eu-west-1 has lost 2 of its 3 AZs (b, c down for good): us-east-1's acknowledged w0
    reaches eu-west-1a but cannot commit there. All of us-east-1 holds it, nothing merged it
    away: the run simply did not converge -> 'unreplicated' (DESIGN §4). The ledger says
    'silently-lost ... never arrived or was dropped without a recorded merge'."""
    prepared = _one_write(**LEADER, az_outages=[AzOutage(10, "eu-west-1", "b"),
                                                AzOutage(10, "eu-west-1", "c")])
    assert [(r.response.op, r.response.ok) for r in prepared.sim.replies] == [("w0", True)]
    result = prepared.result()
    assert all(result.final[n]["k"].get("a") == "w0" for n in ("us-east-1a", "us-east-1b", "us-east-1c"))
    assert not result.converged
    assert result.ledger.verdicts() == {"w0": "unreplicated"}


def test_one_az_outage_does_not_leave_a_partition_leaderless_forever():
    """tests/test_regions.py's lab(44) workload with ONE permanent AZ outage (us-east-1c at 162).
    At t=460 us-east-1b receives eu-west-1a's Replicate of w7 and puts it in `forwarded`; a
    'suspect' timer armed ~200 ms earlier for another input fires at 461, so b campaigns 1 ms
    later though leader us-east-1a is healthy (its copy of w7 arrives at 461). a refuses the
    vote (its log is longer) and steps down to term 2; b's `_campaign` set heard=461 > since=460,
    so on_timer never campaigns again, and a has nothing waiting, so it never campaigns: partition 0
    of us-east-1 has no leader forever, w7 never commits there, b re-arms its timer every 100 ms
    and run_until_quiescent only stops at max_trace_events (ConfigError)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_regions import lab

    prepared = lab(44, writes=14, reads=14).prepare(
        "attribute-lww", 44, **LEADER, az_outages=[AzOutage(at=162, region="us-east-1", az="c")])
    prepared.sim.run(until=20_000)
    leaders = [n for n in ("us-east-1a", "us-east-1b") if prepared.sim.replicas[n].leads(0)]
    assert leaders, "partition 0 of us-east-1 has no leader 19 s after one AZ went down"
    assert prepared.sim.replicas["us-east-1a"].items["k0"].to_plain().get("a_w7") == "w7"


def test_a_strong_read_is_answered_when_the_partition_leaders_az_is_down():
    """eu-west-1a (the first leader of every partition) is down from t=10; at t=100 a client
    reads with ConsistentRead=True. The router picks live eu-west-1b, which forwards the read
    to the leader it knows, eu-west-1a — dropped ('crashed'). Unlike a write, a forwarded
    strong read is never put in `forwarded` nor watched (region.py `_read`, the
    `elif part.leader is not None and not forwarded: ctx.send(...)` branch), so no election
    happens and the read is never answered: the boto3 call raises
    `ConfigError: request r1 got no reply` (and a scenario's read silently has no reply).
    One AZ down must not make strong reads unanswerable (with b or c down it works)."""
    from replicalab.dynamodb import GlobalTable

    table = GlobalTable("things", key=("pk",), replicas_per_region=3, region_protocol="leader",
                        az_outages=[AzOutage(10, "eu-west-1", "a")], items=[{"pk": {"S": "k"}, "x": {"S": "1"}}])
    table.at(100)
    got = table.client("eu-west-1").get_item(TableName="things", Key={"pk": {"S": "k"}}, ConsistentRead=True)
    assert got["Item"]["x"] == {"S": "1"}


def test_an_az_back_without_its_disk_is_brought_up_to_date():
    """London, us-east-1a (every partition's first leader) loses its disk at 220 (after w2 at
    .189 committed) and is back at 280. No us-east-1 write follows, so no election ever runs:
    b and c still call the amnesiac a their leader, a knows no leader, and `_on_rejoin` only
    answers `if self.leads(partition)` — nobody does. a never gets its log back: the run ends
    NOT converged, w2 is reported 'unreplicated ... before it reached us-east-1a' (it is held
    by 8 of 9 nodes) and eventually consistent reads routed to us-east-1a see the initial item
    forever. Module docs: 'the leader then sends it what its log lacks'. Truth: same verdicts
    as one replica per region, converged."""
    from replicalab import scenarios

    single = scenarios.run("london", merge="item-lww")
    result = scenarios.run("london", merge="item-lww", **LEADER,
                           az_outages=[AzOutage(220, "us-east-1", "a", until=280, durable=False)])
    assert result.converged
    assert result.ledger.verdicts() == single.ledger.verdicts()


def test_siblings_visible_counts_region_key_pairs_not_az_nodes():
    """Result.siblings_visible is documented as '(region, key) pairs' with siblings; with AZ
    nodes it counts every node (result.py siblings_visible sums over self.items, keyed by node),
    so `compare london --replicas-per-region 3` shows 9 siblings for causal where the same
    story with one replica per region shows 3 — the region's 3 copies of one item counted 3 times."""
    from replicalab import scenarios

    single = scenarios.run("london", merge="causal")
    grouped = scenarios.run("london", merge="causal", **LEADER)
    assert grouped.siblings_visible == single.siblings_visible
