"""Small test-only scenarios that probe paths the built-in stories never take.

The composition matrix runs them beside the built-in scenarios, so every
combination of options is also checked on these paths.
"""

from __future__ import annotations

from replicalab.replica.table import AntiEntropy
from replicalab.scenarios.london import EPOCH
from replicalab.scenarios.london import SCENARIO as LONDON
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.faults import Crash, Heal, Partition, Restart

REGIONS = LONDON.regions


def repair_then_write(durable: bool | None = None) -> TableScenario:
    """eu-west-1 (wall clock 3.5 s slow) is cut off — by a partition, or by a crash that loses
    its state when ``durable`` is False — while us-east-1 writes; after the heal or restart,
    anti-entropy repairs eu-west-1, which then writes the same attribute again."""
    faults: tuple = (Partition.isolate(50, "eu-west-1", REGIONS), Heal(600))
    name = "repair-then-write"
    if durable is not None:
        faults = (Crash(50, "eu-west-1", durable=durable), Restart(600, "eu-west-1"))
        name = "restart-then-write"
    return TableScenario(
        name=name, description="a repaired region writes again",
        regions=REGIONS, latency=LONDON.latency,
        initial={"k": {"plan": "trial"}},
        workload=(ClientWrite(100, "us-east-1", "w1", "billing", "k", {"plan": "monthly"}),
                  ClientWrite(3000, "eu-west-1", "w2", "support", "k", {"plan": "annual"})),
        epoch=EPOCH, skew={"eu-west-1": -3500}, faults=faults,
        anti_entropy=AntiEntropy(period=200, fanout=4, depth=1, timeout=1000), horizon=5000)


def resolve_by_stamp() -> TableScenario:
    """w1 (plan A at eu-west-1) ∥ w2 (plan B at ap-southeast-2); later w3 at us-east-1, holding
    whatever its policy kept of both, writes only `note`."""
    return TableScenario(
        name="resolve", description="siblings resolved by stamp", regions=REGIONS,
        latency=LONDON.latency, initial={"k": {"plan": "trial"}}, epoch=EPOCH,
        workload=(ClientWrite(100, "eu-west-1", "w1", "portal", "k", {"plan": "A"}),
                  ClientWrite(110, "ap-southeast-2", "w2", "portal", "k", {"plan": "B"}),
                  ClientWrite(1000, "us-east-1", "w3", "agent", "k", {"note": "called"})))


#: Probes by name, for the matrix.
PROBES = {s.name: s for s in (repair_then_write(), repair_then_write(False), resolve_by_stamp())}
