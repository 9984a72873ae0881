"""Review reproducers for regions with AZ nodes (#16) and GlobalTable (#15), session 26.

Each test FAILED on main before the commit that follows it, and states what is true."""

from __future__ import annotations

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
