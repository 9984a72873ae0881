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
