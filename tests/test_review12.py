"""Adversarial review of the fix for issue #12: counterexamples, one test each.

Every test states what DESIGN §4 (the write ledger, MRSC) promises and is marked
``xfail(strict=True)`` against the code as reviewed (1369128): it fails today, and once
the defect is fixed it XPASSes, which fails the run so the marker gets removed.
"""

from __future__ import annotations

import itertools

import attrs

from replicalab.clocks import VectorClock
from replicalab.replica.table import AntiEntropy
from replicalab.scenarios.crash import SCENARIO as CRASH
from replicalab.scenarios.london import EPOCH
from replicalab.scenarios.london import SCENARIO as LONDON
from replicalab.scenarios.world import ClientWrite, TableScenario
from replicalab.sim.faults import Crash, Heal, LinkChange, OneWayCut, Partition, Restart

REGIONS = LONDON.regions
SYNC = AntiEntropy(period=200, fanout=4, depth=1, timeout=1000)


def _held(result):
    return {w for items in result.items.values() for item in items.values() for w, _ in item.writes()}


def _mrsc_timed_out_prepare(with_later_write: bool) -> TableScenario:
    """w1 (us-east-1) and w0 (ap-southeast-2) race; eu-west-1 accepts and *installs* w1 as
    commit 1, then is cut off before its acceptance gets back; both time out. us-east-1 then
    commits w2 as commit 1 with ap-southeast-2. Catch-up compares commit numbers only."""
    workload = [
        ClientWrite(100, "us-east-1", "w1", "billing", "k", {"plan": "monthly"}),
        ClientWrite(100, "ap-southeast-2", "w0", "portal", "k", {"plan": "annual"}),
        ClientWrite(1500, "us-east-1", "w2", "billing", "k", {"plan": "yearly"}),
    ]
    if with_later_write:
        workload.append(ClientWrite(4000, "eu-west-1", "w3", "support", "k", {"note": "called"}))
    return TableScenario(
        name="mrsc-timed-out-prepare", description="", regions=REGIONS, latency=LONDON.latency,
        initial={"k": {"plan": "trial"}}, epoch=EPOCH, workload=tuple(workload),
        faults=(Partition.isolate(185, "eu-west-1", REGIONS), Heal(2500)),
        anti_entropy=SYNC, horizon=8000)


def test_mrsc_converges_after_the_heal_when_a_prepare_timed_out():
    r = _mrsc_timed_out_prepare(with_later_write=False).run(seed=0, mode="mrsc")
    assert r.converged, r.final  # every fault healed at t=2500, catch-up every 200 ms until 8000


def test_mrsc_never_loses_an_acknowledged_write_after_a_timed_out_prepare():
    r = _mrsc_timed_out_prepare(with_later_write=True).run(seed=0, mode="mrsc")
    assert r.ledger["w2"].verdict != "silently-lost", r.ledger["w2"].why


def test_mrsc_a_write_refused_as_a_conflict_is_not_the_committed_value():
    s = TableScenario(
        name="mrsc-dup", description="", regions=REGIONS, latency=LONDON.latency,
        initial={"k": {"plan": "trial"}}, epoch=EPOCH,
        workload=(ClientWrite(100, "us-east-1", "w1", "billing", "k", {"plan": "monthly"}),
                  ClientWrite(100, "eu-west-1", "w2", "portal", "k", {"plan": "annual"})),
        faults=(LinkChange(0, "us-east-1", "eu-west-1", duplicate=1.0),
                LinkChange(2000, "us-east-1", "eu-west-1", duplicate=0.0)),
        anti_entropy=SYNC, horizon=5000)
    r = s.run(seed=0, mode="mrsc")
    conflicted = {e.write for e in r.ledger if "ReplicatedWriteConflict" in e.why}
    assert not conflicted & _held(r), (r.ledger.verdicts(), r.final)


def test_mrsc_a_region_restarted_without_state_gets_back_items_nobody_wrote():
    s = attrs.evolve(CRASH, initial={**CRASH.initial, "sub_44": {"delivery_address": "x"}})
    r = s.run(seed=0, mode="mrsc", durable=False)
    assert r.converged, {region: sorted(items) for region, items in r.final.items()}


def test_mrsc_a_durable_crash_mid_proposal_does_not_wedge_the_key():
    s = TableScenario(
        name="mrsc-wedged", description="", regions=REGIONS, latency=LONDON.latency,
        initial={"k": {"plan": "trial"}}, epoch=EPOCH,
        workload=(ClientWrite(100, "eu-west-1", "w1", "a", "k", {"plan": "A"}),
                  ClientWrite(4000, "eu-west-1", "w2", "b", "k", {"plan": "B"})),
        faults=(Crash(150, "eu-west-1", durable=True), Restart(1500, "eu-west-1")),
        anti_entropy=SYNC, horizon=8000)
    r = s.run(seed=0, mode="mrsc")
    assert r.ledger["w2"].verdict == "kept", r.ledger["w2"].why


def _sync_snapshot() -> TableScenario:
    return TableScenario(
        name="sync-knowledge", description="", regions=REGIONS, latency=LONDON.latency,
        initial={"k": {"plan": "trial"}}, epoch=EPOCH, replication_delay=400,
        workload=(ClientWrite(100, "eu-west-1", "w0", "a", "k", {"plan": "X"}),
                  ClientWrite(120, "eu-west-1", "w1", "b", "k", {"plan": "Y"}),
                  ClientWrite(340, "us-east-1", "w2", "c", "k", {"plan": "Z"})),
        anti_entropy=AntiEntropy(period=100, fanout=4, depth=1, timeout=1000), horizon=3000)


def test_ground_truth_agrees_with_the_causal_policys_own_clocks_after_a_repair():
    """At t=337 us-east-1 is repaired by a session whose snapshot predates w1, yet the message
    carried us-east-1's causal past *now*, which includes w1. A message now carries what its
    sender holds now (each snapshot item merged with the current one), so whenever ground
    truth says a write saw another, the causal policy's version vectors say so too."""
    s = _sync_snapshot()
    causal = s.run("causal", seed=0)
    facts = {f.op: f for f in causal.facts}
    clocks = {e.get("write"): VectorClock(e.get("clock")) for e in causal.trace.of_kind("Wrote")}
    for a, b in itertools.permutations(clocks, 2):
        if facts[b].saw(facts[a]):
            assert clocks[a] < clocks[b], (a, b, clocks[a], clocks[b])
    lww = s.run("item-lww", seed=0)
    entry = lww.ledger["w1"]
    by = [w for w in entry.by if w in facts]
    if entry.verdict == "superseded":
        assert all(facts[w].saw(facts["w1"]) for w in by)


def test_a_crdt_increment_reset_by_a_set_is_not_kept():
    s = TableScenario(
        name="counter-reset", description="", regions=REGIONS, latency=LONDON.latency,
        initial={"k": {"n": 0}}, epoch=EPOCH,
        workload=(ClientWrite(100, "eu-west-1", "w1", "a", "k", {}, add={"n": 5}),
                  ClientWrite(1000, "us-east-1", "w2", "b", "k", {"n": 100}),
                  ClientWrite(2000, "eu-west-1", "w3", "c", "k", {}, add={"n": 1})))
    r = s.run("crdt", seed=0)
    assert r.final["us-east-1"]["k"]["n"] == 101  # 100 + w3's 1: w1's 5 is gone
    assert r.ledger["w1"].verdict == "superseded", r.ledger["w1"]


def test_a_write_safe_in_a_down_regions_log_is_not_silently_lost():
    r = attrs.evolve(CRASH, faults=(Crash(120, "eu-west-1", durable=True),)).run(seed=0)
    entry = r.ledger["w1"]
    assert entry.verdict != "silently-lost" or entry.by, entry


def test_a_write_whose_only_reply_was_cut_is_not_called_rejected_while_kept():
    s = attrs.evolve(LONDON, faults=(OneWayCut(0, "eu-west-1", "us-east-1"), Heal(1000)),
                     anti_entropy=SYNC, horizon=3000)
    r = s.run(seed=0, routing="key-home")
    assert r.converged and "w2" in _held(r)
    assert r.ledger["w2"].verdict != "rejected", r.ledger["w2"].why


def test_a_reply_in_flight_when_a_partition_starts_is_dropped_like_any_message():
    """The region answered w2 at t=265 before the cut at t=300; the answer would reach the
    client at t=335, across the cut: it is dropped there, and the client gets an error —
    while the write, which the region applied, is judged by its effect (here: unreplicated,
    since nothing repairs the partitioned region before the run ends)."""
    s = attrs.evolve(LONDON, faults=(Partition.isolate(300, "eu-west-1", REGIONS), Heal(5000)))
    r = s.run(seed=0, routing="key-home")
    dropped = [e for e in r.trace.of_kind("ReplyDropped") if e.get("op") == "w2"]
    assert dropped and dropped[0].time == 335
    entry = r.ledger["w2"]
    assert entry.verdict != "rejected" and "the client was told RegionUnreachable" in entry.why
