"""Seeded random stories over single AZ outages with ``replicas_per_region=3, region_protocol='leader'``.

Any node of either region goes down at an awkward time (on a write's or a read's millisecond,
or one either side), keeps or loses its disk, and comes back or not. One AZ down leaves its
region a quorum, so in every story: the run quiesces (no leaderless partition, no timer that
re-arms forever), every read gets a reply (ok or an error the client sees), every acknowledged
write is kept or superseded (never lost), and a healed run converges.
"""

from __future__ import annotations

import random

import pytest
from test_regions import LEADER, REGIONS, _oracle_stale, lab, run

from replicalab.scenarios.regions import AzOutage

STORIES = 60


def _story(seed: int) -> tuple[object, AzOutage]:
    rng = random.Random(f"regions-story/{seed}")
    scenario = lab(seed, writes=14, reads=14)
    moments = sorted({e.at for e in (*scenario.workload, *scenario.reads)})
    at = max(1, rng.choice(moments) + rng.choice((-1, 0, 1))) if rng.random() < 0.7 else rng.randrange(1, 600)
    back = rng.random() < 0.6
    outage = AzOutage(at, rng.choice(REGIONS), rng.choice("abc"),
                      until=at + rng.randrange(1, 400) if back else None, durable=rng.random() < 0.5)
    return scenario, outage


@pytest.mark.parametrize("seed", range(STORIES))
def test_a_single_az_outage_story_ends_answers_every_read_and_keeps_every_acknowledged_write(seed) -> None:
    scenario, outage = _story(seed)
    result = run(scenario, seed, **LEADER, az_outages=[outage])  # raises if it never quiesces
    unanswered = [r.op for r in scenario.reads if r.op not in result.replies]
    assert not unanswered, (outage, unanswered)
    _oracle_stale(result, scenario)  # refuses a read without a reply
    verdicts = result.ledger.verdicts()
    acked = [w.op for w in scenario.workload
             if w.op in result.replies and result.replies[w.op].response.ok]
    assert all(verdicts[op] in ("kept", "superseded") for op in acked), (outage, verdicts)
    if outage.until is not None:
        assert result.converged, outage


@pytest.mark.parametrize("seed", range(10))
def test_a_region_that_lost_its_quorum_still_ends_and_answers_every_read(seed) -> None:
    """Two AZs of one region down for good: nothing can commit there, but the run still ends
    (no timer re-arms forever) and every read gets a reply, ok or an error."""
    rng = random.Random(f"regions-two-down/{seed}")
    region = rng.choice(REGIONS)
    outages = [AzOutage(rng.randrange(1, 500), region, az, durable=rng.random() < 0.5)
               for az in rng.sample("abc", 2)]
    scenario = lab(seed, writes=14, reads=14)
    result = run(scenario, seed, **LEADER, az_outages=outages)
    assert [r.op for r in scenario.reads if r.op not in result.replies] == [], outages
