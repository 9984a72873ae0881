"""Leaderless regions (issue #16): AZ nodes under N/R/W quorums inside a global table's regions.

Each test states a contract of :mod:`replicalab.quorum.zone` and checks it against an
independent oracle: the one-replica-per-region run, the quorum intersection r + w > n, the
client's own replies, a second process.
"""

from __future__ import annotations

import json
import re

import pytest

from replicalab import scenarios
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
    writes = [ClientWrite(at=10 + 40 * i, region="eu-west-1", op=f"w{i}", client="portal", key="k",
                          attributes={"n": i}) for i in range(1, 9)]
    writes.append(ClientWrite(at=95, region="us-east-1", op="u1", client="batch", key="k",
                              attributes={"m": 1}))
    reads = [ClientRead(at=10 + 40 * i + 6, region="eu-west-1", op=f"r{i}", client="reader", key="k")
             for i in range(1, 9)]
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
    at = rng.randrange(0, 300)
    outage = AzOutage(at, rng.choice(("eu-west-1", "us-east-1")), rng.choice("abc"), until=at + rng.randrange(20, 200),
                      durable=True)
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
