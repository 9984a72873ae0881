"""A disk lost twice around a rejoin, in leader and leaderless regions: the verdicts stay true (issue 16).

Lesson: a node that restarts without its disk catches up from its peers; if it loses its disk
again while that catch-up is in flight (answers from its own region in 2-4 ms, from the other
region in ~140 ms), what it had caught up vanishes a second time, and what was sent to its first
new incarnation lands on a dead one. The ledger must still tell the truth about every write.

A seeded fuzz over such schedules (two regions; one AZ node losing its disk at ``t1``, back at
``t2``, losing it again at ``t3`` shortly after — often within 5 ms — and back or not; sometimes
another AZ outage, with or without its disk; writes around those moments; every policy; leader,
leaderless ``n=3`` and leaderless ``n=2, w=1``), checked against oracles computed from the final
tables and the home nodes, not from the ledger:

* no exception;
* ``converged`` is exactly "every home node with state holds the same item for each key";
* an ``unreplicated`` write means the run did not converge;
* in a converged run, a write that a live home node holds is ``kept`` or ``detected`` — never
  ``silently-lost``, ``superseded`` or ``unreplicated``; in any run, a ``silently-lost`` write
  that a live node still holds names the merge that discarded it elsewhere ("at <node> t=...").

Found while building it (and not a bug): a write a live node still holds in a run that did
not converge can be rightly ``silently-lost`` — a merge elsewhere discarded it for a write that
had not seen it, and the holder is a region that lost its quorum before that write could reach
it (it would lose the same merge once the region recovers).
"""

from __future__ import annotations

import random
import re

import pytest

from replicalab.scenarios.regions import AzOutage
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.network import Uniform

REGIONS = ("eu-west-1", "us-east-1")
PROTOCOLS = {
    "leader": {"replicas_per_region": 3, "region_protocol": "leader"},
    "leaderless": {"replicas_per_region": 3, "region_protocol": "leaderless", "n": 3, "r": 2, "w": 2},
    "leaderless-n2": {"replicas_per_region": 3, "region_protocol": "leaderless", "n": 2, "r": 1, "w": 1},
}
MERGES = ("attribute-lww", "causal", "crdt", "item-lww")


def _case(seed: int):
    """One schedule, drawn from ``random.Random(seed)`` (a test's own stream, not the sim's)."""
    rng = random.Random(seed)
    protocol, merge = rng.choice(sorted(PROTOCOLS)), rng.choice(MERGES)
    region, az = rng.choice(REGIONS), rng.choice("abc")
    t1 = rng.randrange(50, 300)
    t2 = t1 + rng.randrange(1, 60)
    t3 = t2 + (rng.randrange(1, 6) if rng.random() < 0.5 else rng.randrange(1, 160))
    t4 = None if rng.random() < 0.4 else t3 + rng.randrange(1, 100)
    outages = [AzOutage(t1, region, az, until=t2, durable=False),
               AzOutage(t3, region, az, until=t4, durable=False)]
    if rng.random() < 0.3:
        other, at = rng.choice([x for x in "abc" if x != az]), rng.randrange(50, 400)
        outages.append(AzOutage(at, rng.choice(REGIONS), other, durable=rng.random() < 0.5,
                                until=at + rng.randrange(1, 200) if rng.random() < 0.7 else None))
    writes = sorted((ClientWrite(rng.randrange(max(0, t1 - 60), t3 + 120), rng.choice(REGIONS), f"w{i}",
                                 f"c{i}", rng.choice(["j", "k"]), {rng.choice("ab"): f"v{i}"})
                     for i in range(1, rng.randrange(2, 7))), key=lambda w: (w.at, w.op))
    story = TableScenario(name="disk-twice", description="a disk lost twice around a rejoin",
                          regions=REGIONS, latency={REGIONS: Uniform(60, 80)},
                          initial={"j": {"a": "a0"}, "k": {"a": "a0"}}, workload=tuple(writes))
    return story, merge, protocol, outages


@pytest.mark.parametrize("seed", range(0, 1200, 4))
def test_a_disk_lost_twice_around_a_rejoin_keeps_every_verdict_true(seed) -> None:
    story, merge, protocol, outages = _case(seed)
    prepared = story.prepare(merge, seed % 3, **PROTOCOLS[protocol], az_outages=outages)
    prepared.sim.run_until_quiescent()
    result = prepared.result()
    sim = prepared.sim
    homes = {key: [rid for rid, node in sorted(sim.replicas.items())
                   if (not hasattr(node, "owns") or node.owns(key)) and rid not in result.state_lost]
             for key in ("j", "k")}
    equal = all(len({repr(result.items[h].get(key)) for h in nodes}) <= 1 for key, nodes in homes.items())
    assert result.converged == equal, (outages, result.state_lost)
    for entry in result.ledger:
        live_holders = [h for h in homes[entry.key] if h not in sim.down
                        and result.items[h].get(entry.key) is not None
                        and entry.write in {w for w, _ in result.items[h][entry.key].writes()}]
        if entry.verdict == "unreplicated":
            assert not result.converged, entry
        if live_holders and result.converged:
            assert entry.verdict in ("kept", "detected"), (entry, outages)
        if live_holders and entry.verdict == "silently-lost":
            assert re.search(r"at \S+ t=\d+", entry.why), entry
        # Issue 16, point 3: "before it reached X" only for an X that never held the write; an X
        # whose earlier incarnation held it (and lost it with its disk) is said to be reached again.
        held = _ever_held(result.trace, entry.write)
        for part in re.finditer(r"it reached (.+?)(?= and it reached | and \S+ applied it|$)", entry.why or ""):
            if " again (" in part.group(1):
                assert part.group(1).split(" again (")[0] in held, entry
                continue
            for name in part.group(1).split(", "):
                assert name.split(" (down")[0] not in held, (entry, held)


def _ever_held(trace, write: str) -> set[str]:
    """The nodes whose table ever held ``write`` (wrote it, or merged an item carrying it)."""
    out = {e.replica for e in trace.of_kind("Wrote") if e.get("write") == write}
    for e in trace.of_kind("Merged"):
        for version in e.get("item") or ():
            cells = (version.get("cells") or {}).values()
            if version.get("write") == write or any(
                    isinstance(c, (list, tuple)) and len(c) > 1 and c[1] == write for c in cells):
                out.add(e.replica)
    return out
