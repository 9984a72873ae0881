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


def random_scenario(rng, n: int) -> tuple[TableScenario, bool]:
    """A small random story on the London regions: 2-6 writes (sets, notes, counter ADDs, set
    ADD/DELETEs) on one or two items, one fault that heals (a partition, a one-way cut, a lossy
    or duplicating link, a clock bump), sometimes a crash and restart, sometimes skew.
    Returns the scenario and whether it has a crash (so ``durable`` applies)."""
    from replicalab.sim.faults import ClockBump, LinkChange, OneWayCut

    keys = ["k"] if rng.random() < 0.7 else ["k", "j"]
    writes = []
    for i in range(rng.randint(2, 6)):
        at, region, key = rng.randint(0, 1500), rng.choice(REGIONS), rng.choice(keys)
        kind = rng.choice(["set", "set", "note", "add", "sadd", "sdel"])
        attributes, actions = {}, {}
        if kind == "set":
            attributes = {"plan": f"p{i}"}
        elif kind == "note":
            attributes = {"note": f"n{i}"}
        elif kind == "add":
            actions = {"add": {"n": rng.randint(1, 5)}}
        elif kind == "sadd":
            actions = {"add": {"items": {rng.choice("abcd")}}}
        else:
            actions = {"delete": {"items": {rng.choice("abcd")}}}
        writes.append(ClientWrite(at, region, f"w{i + 1}", f"c{i}", key, attributes, **actions))
    faults: list = []
    shape = rng.choice(["none", "isolate", "one-way", "loss", "duplicate", "bump"])
    t1 = rng.randint(0, 1200)
    t2 = t1 + rng.randint(50, 1500)
    if shape == "isolate":
        faults += [Partition.isolate(t1, rng.choice(REGIONS), REGIONS), Heal(t2)]
    elif shape == "one-way":
        a, b = rng.sample(list(REGIONS), 2)
        faults += [OneWayCut(t1, a, b), Heal(t2)]
    elif shape in ("loss", "duplicate"):
        a, b = rng.sample(list(REGIONS), 2)
        faults += [LinkChange(t1, a, b, **{shape: 0.5}), LinkChange(t2, a, b, **{shape: 0.0})]
    elif shape == "bump":
        faults += [ClockBump(t1, rng.choice(REGIONS), rng.choice([-3000, -500, 800]))]
    crash = rng.random() < 0.3
    if crash:
        at, region = rng.randint(0, 1500), rng.choice(REGIONS)
        faults += [Crash(at, region), Restart(at + rng.randint(100, 1500), region)]
    skew = {rng.choice(REGIONS): rng.choice([-2000, -60, 0, 500])} if rng.random() < 0.5 else {}
    return TableScenario(
        name=f"random-{n}", description="a random small story", regions=REGIONS,
        latency=LONDON.latency, epoch=EPOCH, skew=skew, faults=tuple(faults), workload=tuple(writes),
        initial={k: {"plan": "trial", "n": 0, "items": frozenset({"a", "b"})} for k in keys},
        primary="us-east-1", anti_entropy=AntiEntropy(period=200, fanout=4, depth=1, timeout=1000),
        horizon=7000), crash
