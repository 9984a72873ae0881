"""Review reproducers for regions with AZ nodes (#16) after AZ partitions, leaderless regions
and the session-26 fixes landed together (review 2).

Each test states what is true; a test marked ``xfail(strict=True)`` FAILS on main today and
says why the fix was left for a later change."""

from __future__ import annotations

import pytest

from replicalab import scenarios
from replicalab.scenarios.regions import AzOutage

LEADERLESS = {"replicas_per_region": 3, "region_protocol": "leaderless"}


def _coordinator_loses_its_disk(merge: str):
    """London with leaderless regions: the retention job's w2 reaches us-east-1b at t=189,
    which coordinates it (Wrote, Hold to 1a and 1c) and loses its disk at t=190, before the
    Held answers reach it; it is back at t=494. Every node is up at the end."""
    return scenarios.run("london", merge=merge, seed=0, **LEADERLESS,
                         az_outages=[AzOutage(190, "us-east-1", "b", until=494, durable=False)])


@pytest.mark.xfail(strict=True, reason=(
    "leaderless regions ship a write to the other regions from its coordinator only "
    "(zone.py: 'Cross-region replication starts once the write is acknowledged'); a "
    "coordinator that loses its disk before shipping takes the only duty to ship with it, and "
    "no other holder ever ships. The fix gives holders a duty to ship when the coordinator "
    "is lost (or a restarted node's catch-up re-ships its region's writes): a new protocol "
    "step with its own races (duplicates, catch-up), larger than a review fix"))
@pytest.mark.parametrize("merge", ["causal", "attribute-lww"])
def test_a_write_held_by_a_quorum_of_its_region_reaches_every_region_after_its_coordinator_loses_its_disk(
        merge: str) -> None:
    """w2 is in the tables of us-east-1a and us-east-1c (a quorum of its home nodes: its effect
    survived the crash) and, through catch-up, of eu-west-1a. Yet nothing ever sends it to
    eu-west-1b, eu-west-1c, ap-southeast-2a or ap-southeast-2b: the run ends with every node up
    and the table not converged (the ledger says so honestly: w2 'unreplicated'). With the same
    outage durable the run converges and w2 is kept. What is true: a write that a quorum of its
    region holds reaches every region, whichever node coordinated it."""
    result = _coordinator_loses_its_disk(merge)
    assert result.converged
    assert result.ledger.verdicts()["w2"] == "kept"


def test_the_same_outage_with_its_disk_converges_and_keeps_w2() -> None:
    """The contrast, and what the xfail above must stay true to: the coordinator back with its
    disk ships what it had not shipped."""
    result = scenarios.run("london", merge="causal", seed=0, **LEADERLESS,
                           az_outages=[AzOutage(190, "us-east-1", "b", until=494, durable=True)])
    assert result.converged
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


def test_the_unconverged_end_is_reported_not_hidden() -> None:
    """Today's honest report of the defect above: w2 is 'unreplicated' (never 'kept') and
    names the nodes it never reached."""
    entry = next(e for e in _coordinator_loses_its_disk("causal").ledger if e.write == "w2")
    assert entry.verdict == "unreplicated"
    assert "eu-west-1b" in entry.why and "ap-southeast-2a" in entry.why
