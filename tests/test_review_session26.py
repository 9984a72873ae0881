"""Review reproducers for regions with AZ nodes (#16) and GlobalTable (#15), session 26.

Each test FAILED on main before the commit that follows it, and states what is true."""

from __future__ import annotations

import pytest

from replicalab import scenarios
from replicalab.scenarios.regions import AzOutage

LEADER = {"replicas_per_region": 3, "region_protocol": "leader"}


def test_a_region_with_one_voter_and_a_diskless_node_stops_campaigning_and_the_run_ends():
    """eu-west-1a is down for good from t=50; eu-west-1b goes down at t=100 and comes back at
    t=200 without its disk, so it may not vote until a leader speaks — and no leader can be
    elected: eu-west-1c is the only voter left. The london write w1 waits at eu-west-1c, which
    campaigns; 1b refuses every vote. A refused Vote counted as "a node answers: a quorum may be
    up", so 1c's three-silent-timeouts rule never fired and it campaigned forever: the run never
    ended (a random fuzz run hit the 2,000,000 trace-record cap). A refusal is no sign of a
    quorum: 1c gives up after three tries, the run ends, and w1's client got no reply."""
    prepared = scenarios.get("london").prepare(
        "item-lww", 0, **LEADER, az_outages=[AzOutage(50, "eu-west-1", "a"),
                                             AzOutage(100, "eu-west-1", "b", until=200, durable=False)])
    prepared.sim.run(until=30_000)
    assert not prepared.sim._heap, "the region still campaigns at t=30000: the run never ends"
    result = prepared.result()
    assert result.ledger.verdicts()["w1"] == "rejected"
    assert "no reply reached the client" in next(e.why for e in result.ledger if e.write == "w1")


def _two_then_one(merge: str, **options):
    from replicalab.scenarios.world import ClientWrite, TableScenario
    from replicalab.sim.network import Uniform

    regions = ("eu-west-1", "us-east-1")
    scenario = TableScenario(
        name="q", description="two writes in one region, one concurrent in another", regions=regions,
        latency={regions: Uniform(70, 80)}, initial={"k": {"a": "a0"}},
        workload=(ClientWrite(100, "us-east-1", "w1", "c1", "k", {"a": "v1"}),
                  ClientWrite(110, "us-east-1", "w2", "c2", "k", {"a": "v2"}),
                  ClientWrite(120, "eu-west-1", "w3", "c3", "k", {"a": "v3"})))
    return scenario.run(merge, 0, **options)


@pytest.mark.parametrize("merge", ["causal", "crdt"])
@pytest.mark.parametrize("azs", [{}, LEADER])
def test_a_write_overwritten_by_one_that_saw_it_beside_a_concurrent_value_is_superseded(merge, azs):
    """w1 then w2 set `a` in us-east-1 (w2 saw w1); w3 sets `a` in eu-west-1, concurrent with
    both. causal keeps w2's and w3's versions as siblings, crdt keeps both values in a
    multi-value register: nothing ever discarded w1 in favour of a write that had not seen it
    (at eu-west-1, w1 sat beside w3 until w2 replaced it). So w1 is superseded by w2. The
    ledger said silently-lost by w3, "it never arrived or was dropped without a recorded
    merge" — both false: w3 never removed it, and w1 arrived everywhere."""
    result = _two_then_one(merge, **azs)
    entry = next(e for e in result.ledger if e.write == "w1")
    assert (entry.verdict, entry.by) == ("superseded", ("w2",)), entry
    assert "never arrived" not in entry.why
    assert result.ledger.verdicts() == {"w1": "superseded", "w2": "kept", "w3": "kept"}


def test_the_same_race_under_attribute_lww_still_loses_w1_silently():
    """The contrast: attribute-lww lets w3 win `a` at eu-west-1 over w1, which w3 had not
    seen — a merge discarded w1 for an unseen write: silently-lost by w3, as before."""
    entry = next(e for e in _two_then_one("attribute-lww").ledger if e.write == "w1")
    assert (entry.verdict, entry.by) == ("silently-lost", ("w3",))


@pytest.mark.parametrize("merge", ["crdt", "causal", "item-lww"])
@pytest.mark.parametrize("stamps", ["wall", "hlc"])
def test_the_azs_of_a_region_apply_two_partitions_logs_to_the_same_table(merge, stamps):
    """w1 (k4, partition 1, led by us-east-1b) and w2 (k0, partition 0, led by us-east-1a) are
    written in us-east-1 in the same millisecond; each leader applies its own entry first, so
    the AZs apply the two partitions' logs interleaved in different orders. The table's write
    count and clocks were shared across partitions: w2 got seq 1 / {us-east-1: 1} at 1a and
    seq 2 / {us-east-1: 2} at 1b, so when eu-west-1's w3 (which had seen w2, as
    {us-east-1: 1}) arrived, 1a replaced w2 and 1b kept both as concurrent (crdt: a = [v2, v3]).
    The AZs of one region ended with different tables (the run never converged) and the
    ledger's 'superseded' for w2 contradicted 1b's table. Each partition's log now runs under
    its own clocks: every AZ computes the same stamps and the same table."""
    from replicalab.scenarios.world import ClientWrite, TableScenario
    from replicalab.sim.network import Uniform

    regions = ("eu-west-1", "us-east-1")
    scenario = TableScenario(
        name="q", description="two partitions in one region", regions=regions,
        latency={regions: Uniform(70, 80)}, initial={"k0": {"a": "a0"}, "k4": {"a": "a0"}},
        workload=(ClientWrite(100, "us-east-1", "w1", "c1", "k4", {"a": "v1"}),
                  ClientWrite(100, "us-east-1", "w2", "c2", "k0", {"a": "v2"}),
                  ClientWrite(300, "eu-west-1", "w3", "c3", "k0", {"a": "v3"})))
    result = scenario.run(merge, 0, **LEADER, stamps=stamps)
    tables = {node: result.items[node] for node in ("us-east-1a", "us-east-1b", "us-east-1c")}
    assert tables["us-east-1a"] == tables["us-east-1b"] == tables["us-east-1c"]
    assert result.converged
    assert result.final["us-east-1b"]["k0"] == {"a": "v3"}
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "superseded", "w3": "kept"}


def test_a_node_back_from_a_durable_outage_whose_leader_died_meanwhile_catches_up():
    """eu-west-1b is down (disk kept) from t=50 to t=400. us-east-1's w1 on k0 reaches
    eu-west-1 at ~t=175 and commits on 1a (k0's leader) and 1c. 1a goes down for good at
    t=200. When 1b comes back it still called 1a its leader, and so did 1c: nobody waited for
    anything, nobody campaigned, and 1b — with a quorum (1b, 1c) up — never got w1: the run
    ended with eu-west-1's live AZs disagreeing and w1 'unreplicated'. A restarted node now
    knows no leader until one answers its Rejoin, so it waits, an election follows, and the
    new leader sends it what its log lacks."""
    from replicalab.scenarios.world import ClientWrite, TableScenario
    from replicalab.sim.network import Uniform

    regions = ("eu-west-1", "us-east-1")
    scenario = TableScenario(
        name="q", description="a follower back after its leader died", regions=regions,
        latency={regions: Uniform(70, 80)}, initial={"k0": {"a": "a0"}},
        workload=(ClientWrite(100, "us-east-1", "w1", "c1", "k0", {"a": "v1"}),))
    result = scenario.run("item-lww", 0, **LEADER, az_outages=[
        AzOutage(50, "eu-west-1", "b", until=400), AzOutage(200, "eu-west-1", "a")])
    assert result.final["eu-west-1b"]["k0"] == result.final["eu-west-1c"]["k0"] == {"a": "v1"}
    assert result.ledger.verdicts() == {"w1": "kept"}


def test_an_entry_a_quorum_holds_commits_after_its_leader_dies_before_committing_it():
    """eu-west-1a (k0's leader) appends w1 at t=100 and sends it to 1b and 1c, which log it;
    1a goes down for good at t=101, before their acknowledgements arrive. 1b and 1c stopped
    waiting as soon as w1 was in their logs, and their leader was 'known': no election, so w1
    sat uncommitted in a quorum's logs forever, applied nowhere. A node now also waits while
    its log holds entries not yet committed: 1b or 1c is elected and commits w1 (its client,
    whose leader died, got no reply — the ledger says it took effect anyway)."""
    from replicalab.scenarios.world import ClientWrite, TableScenario
    from replicalab.sim.network import Uniform

    regions = ("eu-west-1", "us-east-1")
    scenario = TableScenario(
        name="q", description="a leader dies between append and commit", regions=regions,
        latency={regions: Uniform(70, 80)}, initial={"k0": {"a": "a0"}},
        workload=(ClientWrite(100, "eu-west-1", "w1", "c1", "k0", {"a": "v1"}),))
    prepared = scenario.prepare("item-lww", 0, **LEADER, az_outages=[AzOutage(101, "eu-west-1", "a")])
    prepared.sim.run_until_quiescent()
    assert all(prepared.sim.replicas[n].parts[0].commit == len(prepared.sim.replicas[n].parts[0].log)
               for n in ("eu-west-1b", "eu-west-1c"))
    result = prepared.result()
    for node in ("eu-west-1b", "eu-west-1c", "us-east-1a", "us-east-1b", "us-east-1c"):
        assert result.final[node]["k0"] == {"a": "v1"}, node
    entry = next(iter(result.ledger))
    assert entry.verdict == "kept" and "yet it took effect" in entry.why


def test_two_voters_of_five_grant_each_other_votes_without_campaigning_forever():
    """Five AZs: eu-west-1a and 1e are down for good, 1d comes back without its disk (it may
    not vote until a leader speaks). 1b and 1c are the only voters; a leader needs three
    votes. They campaign in turn and grant each other's votes, and a granted vote counted as
    "a quorum may be up": they campaigned forever (a fuzz run hit the trace cap). Only a leader
    speaking or a node coming back now resets the three-timeouts rule: the run ends."""
    prepared = scenarios.get("london").prepare(
        "item-lww", 0, replicas_per_region=5, region_protocol="leader",
        az_outages=[AzOutage(50, "eu-west-1", "a"), AzOutage(50, "eu-west-1", "e"),
                    AzOutage(60, "eu-west-1", "d", until=150, durable=False)])
    prepared.sim.run(until=30_000)
    assert not prepared.sim._heap, "eu-west-1 still campaigns at t=30000: the run never ends"
    assert prepared.result().ledger.verdicts()["w1"] == "rejected"


def test_a_node_back_without_its_disk_catches_up_although_its_old_leader_died_meanwhile():
    """Five AZs. eu-west-1c is down from t=50 and comes back without its disk at t=600; w1
    (us-east-1, k0) commits in eu-west-1 under k0's leader 1a, which goes down for good at
    t=300. 1c may not vote or campaign until a leader speaks, and 1b, 1d, 1e still called the
    dead 1a their leader: nobody campaigned, and 1c never got w1 although four of five AZs
    were up. A Rejoin now makes the other nodes doubt their leader until it answers (a live
    leader answers a Rejoin with appends to every node): they elect a new one, which sends
    1c the log."""
    from replicalab.scenarios.world import ClientWrite, TableScenario
    from replicalab.sim.network import Uniform

    regions = ("eu-west-1", "us-east-1")
    scenario = TableScenario(
        name="q", description="a diskless node back after its leader died", regions=regions,
        latency={regions: Uniform(70, 80)}, initial={"k0": {"a": "a0"}},
        workload=(ClientWrite(100, "us-east-1", "w1", "c1", "k0", {"a": "v1"}),))
    result = scenario.run("item-lww", 0, replicas_per_region=5, region_protocol="leader", az_outages=[
        AzOutage(50, "eu-west-1", "c", until=600, durable=False), AzOutage(300, "eu-west-1", "a")])
    assert result.final["eu-west-1c"]["k0"] == {"a": "v1"}
    assert result.ledger.verdicts() == {"w1": "kept"}


def test_the_wait_for_an_uncommitted_entry_ends_with_its_commit():
    """Chapter 14's outage: eu-west-1a goes down at t=144. eu-west-1b logged w1 at t=142 and
    learnt its commit at t=145; the support agent's strong read reaches 1b at t=194 and waits for
    a leader. That wait is measured from t=194 (1b's timeout is 100 ms: it campaigns at t=294),
    not from the finished wait for w1's commit (which would have moved the election to t=345)."""
    down = scenarios.run("london", merge="attribute-lww", **LEADER,
                         az_outages=[AzOutage(144, "eu-west-1", "a", until=600, durable=False)])
    assert [(e.replica, e.time) for e in down.trace.of_kind("Elected")] == [("eu-west-1b", 297)]
