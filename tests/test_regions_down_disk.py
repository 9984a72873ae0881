"""A node down at the end *with its disk*: ``converged``, the verdict and the report agree (issue 16).

Lesson: a replica that went down keeping its disk will come back with what the disk holds. The
rule (``replicalab.ledger`` "Replicas down with their disk", ``Result``): ``converged`` compares
every replica that has state, live or on a kept disk; the ledger judges a write where its key is
served — at the live replicas — and at the kept disks only when no replica of the key is up.
Invariant: an ``unreplicated`` write means the run did not converge.

What was wrong: a leaderless region with ``n=1`` whose key's only home node went down (disk
kept) after the write reported ``converged`` True (that disk is the only copy of the key) and the
write ``unreplicated`` ("no home replica is up") — a verdict whose definition says the run did
not converge. What is true: every replica that has the key holds the write; nothing is lost;
nobody can read it until the node is back. Now: ``kept``, with a why saying so, and the report
marks the node "down, state kept" (it did not say so before).

The matrix (protocol and ``n`` × one or two regions × disk kept/lost × down at the end/back ×
outage before/after the write × which AZ) checks verdict and ``converged`` against an oracle
computed from the final tables and the home nodes, not from the ledger.
"""

from __future__ import annotations

import itertools

import pytest

from replicalab.scenarios.regions import AzOutage
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.network import Uniform

PROTOCOLS = {
    "leader": {"replicas_per_region": 3, "region_protocol": "leader"},
    "leaderless-n1": {"replicas_per_region": 3, "region_protocol": "leaderless", "n": 1, "r": 1, "w": 1},
    "leaderless-n3": {"replicas_per_region": 3, "region_protocol": "leaderless", "n": 3, "r": 2, "w": 2},
}


def _story(regions: tuple[str, ...]) -> TableScenario:
    """One write, w1, at eu-west-1 at t=100 (``a`` from a0 to v1)."""
    latency = {(regions[0], regions[1]): Uniform(70, 80)} if len(regions) > 1 else {}
    return TableScenario(
        name="down-disk", description="a node down at the end with its disk", regions=regions,
        latency=latency, initial={"k": {"pk": "k", "a": "a0"}},
        workload=(ClientWrite(100, "eu-west-1", "w1", "c1", "k", {"a": "v1"}),))


def _run(regions, protocol, outage):
    prepared = _story(regions).prepare("item-lww", 0, **PROTOCOLS[protocol], az_outages=[outage])
    prepared.sim.run_until_quiescent()
    homes = sorted(rid for rid, node in prepared.sim.replicas.items()
                   if not hasattr(node, "owns") or node.owns("k"))
    return prepared.result(), homes


CASES = [pytest.param(regions, protocol, AzOutage(at, "eu-west-1", az, until=until, durable=durable),
                      id=f"{len(regions)}r-{protocol}-{az}-at{at}-{'disk' if durable else 'nodisk'}-"
                         f"{'back' if until else 'down'}")
         for regions, protocol, az, at, durable, until in itertools.product(
             [("eu-west-1",), ("eu-west-1", "us-east-1")], sorted(PROTOCOLS), "abc", (50, 150),
             (True, False), (None, 2000))]


@pytest.mark.parametrize(("regions", "protocol", "outage"), CASES)
def test_converged_the_verdict_and_the_report_agree_on_a_down_node(regions, protocol, outage) -> None:
    result, homes = _run(regions, protocol, outage)
    with_state = [h for h in homes if h not in result.state_lost]
    down_with_disk = outage.durable and outage.until is None
    # The oracle: the final tables of every home node that has state, and of the live ones.
    held = [result.final[h].get("k") for h in with_state]
    assert result.converged == all(x == held[0] for x in held)
    served = [h for h in with_state if h != outage.node or not down_with_disk]
    judged = served or with_state  # no live home: the kept disks are the key's whole state
    holders = [h for h in with_state if (result.final[h].get("k") or {}).get("a") == "v1"]
    entry = result.ledger["w1"]
    if entry.verdict == "rejected":
        assert not holders
        return
    if judged and set(judged) <= set(holders):
        assert entry.verdict == "kept", entry
    elif holders:
        assert entry.verdict == "unreplicated", entry
    else:
        assert entry.verdict == "silently-lost", entry
        assert not outage.durable  # only a lost disk loses the write here
    if entry.verdict == "unreplicated":
        assert not result.converged
    if not served and with_state:
        assert result.converged == (entry.verdict == "kept")
    report = result.report()
    assert ("NOT converged" in report) == (not result.converged)
    if down_with_disk:
        assert f"{outage.node} (down, state kept)" in report
        assert f"{outage.node} is down, its state kept (crashed at t={outage.at}, durable=True)" in report
    else:
        assert "state kept" not in report
    if entry.verdict == "kept" and not served:
        assert entry.why == (f"kept only by {outage.node} (down, its state kept): no home replica of k "
                             "is up at the end to serve it")
        assert f"why: {entry.why}" in report


def test_the_only_home_node_down_with_its_disk_keeps_the_write_and_the_run_converged() -> None:
    """The reproducer of the suspicion: one region, ``n=1``, k's home node eu-west-1c down at
    t=150 (disk kept), never back. Before: ``converged`` True and w1 ``unreplicated``."""
    result, homes = _run(("eu-west-1",), "leaderless-n1", AzOutage(150, "eu-west-1", "c"))
    assert homes == ["eu-west-1c"] and result.final["eu-west-1c"]["k"]["a"] == "v1"
    assert result.converged and result.ledger.verdicts() == {"w1": "kept"}
    assert "no home replica of k is up at the end" in result.ledger["w1"].why


def test_a_node_down_with_its_disk_before_the_write_leaves_it_kept_and_the_run_not_converged() -> None:
    """The other side of the rule: eu-west-1a's disk is behind (a0), the live nodes serve v1."""
    result, _ = _run(("eu-west-1", "us-east-1"), "leader", AzOutage(50, "eu-west-1", "a"))
    assert not result.converged and result.final["eu-west-1a"]["k"]["a"] == "a0"
    assert result.ledger.verdicts() == {"w1": "kept"}
    assert "eu-west-1a (down, state kept)" in result.report()


def test_judge_refuses_a_malformed_forgot_and_changes_nothing() -> None:
    from replicalab.errors import ConfigError
    from replicalab.ledger import judge

    with pytest.raises(ConfigError, match="forgot must map replica"):
        judge([], {}, forgot={"eu-west-1a": {"w1": "t=3"}})
    assert judge([], {}, forgot={"eu-west-1a": {"w1": 3}}).verdicts() == {}


def test_a_global_table_tells_the_same_story() -> None:
    """The same rule through the boto3-shaped API (its ``settle()`` is the scenarios' Result)."""
    from replicalab.dynamodb import GlobalTable

    key = {"pk": {"S": "k"}}
    table = GlobalTable("tab", regions=["eu-west-1"], items=[{**key, "a": {"S": "a0"}}], n=1, r=1, w=1,
                        replicas_per_region=3, region_protocol="leaderless",
                        az_outages=[AzOutage(150, "eu-west-1", "c")])
    table.at(100)
    table.client("eu-west-1", "c").update_item(TableName="tab", Key=key, UpdateExpression="SET a = :v",
                                               ExpressionAttributeValues={":v": {"S": "v1"}})
    result = table.settle()
    assert result.converged and result.ledger.verdicts() == {"w1": "kept"}
    assert result.ledger["w1"].why.startswith("kept only by eu-west-1c (down, its state kept)")
    assert "eu-west-1c (down, state kept)" in result.report()
