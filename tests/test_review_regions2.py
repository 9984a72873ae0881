"""Review reproducers for regions with AZ nodes (#16) after AZ partitions, leaderless regions
and the session-26 fixes landed together (review 2).

Each test states what is true; a test marked ``xfail(strict=True)`` FAILS on main today and
says why the fix was left for a later change."""

from __future__ import annotations

import pytest

from replicalab import scenarios
from replicalab.scenarios.regions import AzOutage, AzPartition

LEADERLESS = {"replicas_per_region": 3, "region_protocol": "leaderless"}


def _coordinator_loses_its_disk(merge: str):
    """London with leaderless regions: the retention job's w2 reaches us-east-1b at t=189,
    which coordinates it (Wrote, Hold to 1a and 1c) and loses its disk at t=190, before the
    Held answers reach it; it is back at t=494. Every node is up at the end."""
    return scenarios.run("london", merge=merge, seed=0, **LEADERLESS,
                         az_outages=[AzOutage(190, "us-east-1", "b", until=494, durable=False)])


@pytest.mark.parametrize("merge", ["causal", "attribute-lww"])
def test_a_write_held_by_a_quorum_of_its_region_reaches_every_region_after_its_coordinator_loses_its_disk(
        merge: str) -> None:
    """w2 is in the tables of us-east-1a and us-east-1c (a quorum of its home nodes: its effect
    survived the crash) and, through catch-up, of eu-west-1a. Yet nothing ever sends it to
    eu-west-1b, eu-west-1c, ap-southeast-2a or ap-southeast-2b: the run ended with every node up
    and the table not converged (w2 'unreplicated'). Fixed since: a holder that does not hear
    that its coordinator shipped, or sees it restart, ships the write itself (zone.py). What is
    true: a write that a quorum of its region holds reaches every region, whichever node
    coordinated it."""
    result = _coordinator_loses_its_disk(merge)
    assert result.converged
    assert result.ledger.verdicts()["w2"] == "kept"


def test_the_same_outage_with_its_disk_converges_and_keeps_w2() -> None:
    """The contrast: the coordinator back with its disk ships what it had not shipped."""
    result = scenarios.run("london", merge="causal", seed=0, **LEADERLESS,
                           az_outages=[AzOutage(190, "us-east-1", "b", until=494, durable=True)])
    assert result.converged
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


# -- leader regions: a client write that waits is judged by the table it was applied on ---------

LEADER = {"replicas_per_region": 3, "region_protocol": "leader"}


def _waiting_w2(merge: str):
    """The counter story (w1 +1 in us-east-1 at t=100, w2 +1 in eu-west-1 at t=102, w3 +1 in
    ap-southeast-2 at t=104) with eu-west-1a cut off from its region at t=101 (healed at 261)
    and eu-west-1b down (with its disk) from t=105 to 366. w2 reaches eu-west-1b at t=102; its
    forward to the partition's leader is dropped by the cut, 1b goes down holding it, and the
    region applies w2 only at t=469 (at eu-west-1a) — long after w1 and w3 reached eu-west-1a
    and were applied there."""
    return scenarios.run("counter", merge=merge, seed=0, **LEADER,
                         az_outages=[AzOutage(105, "eu-west-1", "b", until=366)],
                         az_partitions=[AzPartition(101, "eu-west-1", "a", until=261)])


def test_the_waiting_write_is_applied_on_a_table_that_holds_w1_and_w3() -> None:
    """The independent oracle (trace order, not the ledger's rules): at eu-west-1a, w1's and
    w3's merges come before w2's Wrote, and w2's version clock covers both regions' writes."""
    result = _waiting_w2("causal")
    at_1a = [(e.time, e.kind, e.get("write")) for e in result.trace
             if e.replica == "eu-west-1a" and e.kind in ("Merged", "Wrote")]
    wrote_w2 = next(t for t, kind, w in at_1a if kind == "Wrote" and w == "w2")
    assert any(w == "w1" and t < wrote_w2 for t, kind, w in at_1a if kind == "Merged")
    assert any(w == "w3" and t < wrote_w2 for t, kind, w in at_1a if kind == "Merged")
    w2 = next(e for e in result.trace.of_kind("Wrote") if e.get("write") == "w2")
    assert {"us-east-1", "ap-southeast-2"} <= set(w2.get("clock"))


@pytest.mark.parametrize("merge", ["causal", "attribute-lww", "item-lww"])
def test_a_write_that_waited_for_a_leader_is_judged_by_the_table_it_was_applied_on(merge: str) -> None:
    """What was wrong: the ledger said w1 and w3 were silently lost by w2 because "w2 had not
    seen w1" — while its own rule text said w2's clock had seen w1, and the trace shows w2 was
    applied at eu-west-1a on a table holding w1 and w3 (test above). w2's past was taken when
    its request reached eu-west-1b at t=102, 367 ms before the region applied it. Without the
    faults (or with either one alone, under causal) every write is kept. Fixed since: the
    partition's leader says when a write takes its place in its log and behind which writes
    (``Context.sequenced``), and ground truth re-mints the write's past from theirs. What is
    true: no write is lost *by w2* as a write that had not seen it."""
    result = _waiting_w2(merge)
    w2 = next(f for f in result.facts if f.op == "w2")
    assert all(w2.saw(f) for f in result.facts if f.op in ("w1", "w3")), w2
    for entry in result.ledger:
        if entry.write in ("w1", "w3"):
            assert not (entry.verdict == "silently-lost" and entry.by == ("w2",)), entry


# -- leader regions: a write stuck in a log that can never commit is unreplicated, not lost ----

def _no_quorum_in_eu():
    """w1 (eu-west-1, t=95, attribute a) and w2 (us-east-1, t=100, attribute b) are concurrent
    (neither region had the other's write). eu-west-1a and eu-west-1c go down for good at t=120
    (with their disks): eu-west-1b alone can commit nothing more. w2 reaches eu-west-1b (in its
    log, never committed) and is in every us-east-1 table; r1 reads eu-west-1b eventually at
    t=400, long after w2 was acknowledged."""
    from replicalab.scenarios.world import ClientRead, ClientWrite, TableScenario
    from replicalab.sim.network import Uniform

    regions = ("eu-west-1", "us-east-1")
    return TableScenario(
        name="no-quorum", description="a region left without a quorum", regions=regions,
        latency={regions: Uniform(70, 80)}, initial={"k": {"seed": "0"}},
        workload=(ClientWrite(95, "eu-west-1", "w1", "c1", "k", {"a": "eu"}),
                  ClientWrite(100, "us-east-1", "w2", "c2", "k", {"b": "us"})),
        reads=(ClientRead(400, "eu-west-1", "r1", "reader", "k", consistent=False),))


@pytest.mark.parametrize("merge", ["attribute-lww", "causal", "crdt", "item-lww"])
def test_a_write_that_reached_a_node_without_a_quorum_is_unreplicated_and_its_reader_stale(merge) -> None:
    """What was wrong: the ledger called w2 silently-lost, "its value is absent from the final
    state (it never arrived or was dropped without a recorded merge)" — but no merge dropped it:
    eu-west-1b holds it in a log entry that can never commit, and every us-east-1 node holds it.
    The 'arrived but never applied' rule accepted only holders w2 had *seen* (w1 before w2)
    as 'nothing took its place'; the concurrent w1, which never touched w2's effect (no merge
    recorded a loss), made it fall through to 'lost'. And because the ledger said lost, the
    staleness judge called r1's miss loss, not staleness. With w1 before w2 (w2 saw it) the
    same story already said unreplicated. What is true: w2 is unreplicated (the run ended
    before eu-west-1b applied it) and r1 is a stale read."""
    result = _no_quorum_in_eu().run(merge, 0, **LEADER, az_outages=[
        AzOutage(120, "eu-west-1", "a"), AzOutage(120, "eu-west-1", "c")])
    entry = next(e for e in result.ledger if e.write == "w2")
    assert entry.verdict == "unreplicated", entry
    assert "eu-west-1b applied it" in entry.why, entry.why
    assert result.stale_reads == ("r1",)
    assert "missed w2" in result.stale_why["r1"]
