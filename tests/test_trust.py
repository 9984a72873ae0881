"""Verdicts you can trust where the knobs combine: one regression test per anomaly found.

Each test is named after the anomaly it pins down; its docstring is the lesson.
The composition matrix (``test_matrix.py``) checks the invariants over every
combination; these tests pin the specific stories a learner meets.
"""

from __future__ import annotations

import attrs
import pytest

from replicalab import scenarios
from replicalab.errors import ConfigError
from replicalab.policies import get_policy
from replicalab.replica.base import RecordingContext
from replicalab.replica.table import PutItem, TableReplica, UpdateItem
from replicalab.scenarios.compare import compare
from replicalab.scenarios.london import SCENARIO as LONDON
from replicalab.scenarios.workloads import workload
from replicalab.scenarios.world import TableScenario
from replicalab.sim.faults import Partition

from probes import repair_then_write, resolve_by_stamp

REGIONS = LONDON.regions


# -- MRSC ------------------------------------------------------------------------------------


def test_mrsc_regions_catch_up_after_a_partition_and_lose_nothing_acknowledged():
    """MRSC's premise is that nothing acknowledged is lost. A region cut off by a partition
    misses the majority's commits; after the heal it catches up by log shipping, so every
    region ends with the same items and the majority's writes are kept, not 'lost'."""
    r = scenarios.run("partition", mode="mrsc")
    assert r.converged
    assert r.summary["silently_lost"] == 0 and r.summary["unreplicated"] == 0
    assert {w for w, v in r.ledger.verdicts().items() if v == "kept"} == {"w2", "w3", "w5", "w6"}
    # eu-west-1's own writes could not reach a majority: the client was told.
    for write in ("w1", "w4", "w7", "w8"):
        assert r.ledger[write].verdict == "rejected"
        assert "ReplicationTimedOut" in r.ledger[write].why


def test_mrsc_catches_up_a_region_that_restarted_without_its_state():
    """A region that lost its state asks its peers at once when it restarts."""
    r = scenarios.run("crash", mode="mrsc", durable=False)
    assert r.converged and r.summary["silently_lost"] == 0
    assert r.ledger["w2"].verdict == "kept"


@pytest.mark.parametrize("stamps", ["wall", "hlc"])
def test_mrsc_orders_by_commit_so_a_slow_clock_cannot_undo_an_acknowledged_write(stamps):
    """us-east-1's clock runs 500 ms slow. Under MRSC its later write was committed on top of
    the earlier one, so it wins whatever its stamp says: order by commit, never by stamp."""
    r = scenarios.run("skew", mode="mrsc", stamps=stamps)
    assert r.ledger.verdicts() == {"w1": "superseded", "w2": "kept"}
    assert all(items["sub_7"]["plan"] == "annual" for items in r.final.values())


# -- clocks on every path --------------------------------------------------------------------


@pytest.mark.parametrize("durable", [None, False], ids=["partition", "non-durable-restart"])
def test_an_anti_entropy_repair_advances_the_hybrid_clock_so_the_next_write_wins(durable):
    """Before, Merkle repair brought w1 into eu-west-1 without advancing its clocks: with a
    slow wall clock, eu-west-1's next write was stamped *before* the w1 it had just received
    and lost to it, even with stamps='hlc' — while the ledger said it had seen w1. Every path
    that brings a remote write in now advances the Lamport clock and the HLC."""
    scenario = repair_then_write(durable)
    hlc = scenario.run(merge="item-lww", stamps="hlc")
    assert hlc.ledger.verdicts() == {"w1": "superseded", "w2": "kept"}
    wrote = {e.get("write"): e for e in hlc.trace.of_kind("Wrote")}
    assert wrote["w2"].get("lamport") > wrote["w1"].get("lamport")
    # With plain wall-clock stamps the slow clock still wins: that is the skew lesson.
    wall = scenario.run(merge="item-lww", stamps="wall")
    assert wall.ledger["w2"].verdict == "silently-lost"
    assert "yet w2 had seen w1" in wall.ledger["w2"].why


# -- partitions cut client requests ----------------------------------------------------------


def test_a_partition_cuts_a_client_request_forwarded_to_another_region():
    """Before, in partition --mode single-primary, eu-west-1 was isolated from t=200 yet its
    write reached us-east-1 at t=470 and was kept. A forwarded request crosses the same links
    as replication, so the partition cuts it and the client gets an error."""
    r = scenarios.run("partition", mode="single-primary")
    for write in ("w1", "w4", "w7", "w8"):  # written in eu-west-1 during the partition
        entry = r.ledger[write]
        assert entry.verdict == "rejected" and "RegionUnreachable" in entry.why
    failed = r.trace.of_kind("RequestFailed")
    assert {e.get("op") for e in failed} == {"w1", "w4", "w7", "w8"}
    assert not any(e.get("op") == "w1" for e in r.trace.of_kind("ClientRequested"))


def test_key_home_routing_across_a_partition_is_refused_not_silently_kept():
    r = scenarios.run("partition", routing="key-home")
    rejected = {w for w, v in r.ledger.verdicts().items() if v == "rejected"}
    assert rejected and all("RegionUnreachable" in r.ledger[w].why for w in rejected)
    assert r.summary["silently_lost"] == 0


def test_a_versioned_client_whose_read_is_cut_off_does_not_write_and_is_told():
    r = scenarios.run("partition", mode="single-primary", writes="versioned")
    entry = r.ledger["w1"]
    assert entry.verdict == "rejected" and "versioned read w1.read failed" in entry.why


# -- the ledger's rules ----------------------------------------------------------------------


def test_a_later_overwrite_does_not_hide_an_earlier_silent_loss():
    """Contested items under item-lww: a write that lost a merge to a write that had not seen
    it was silently lost, even if a later write from the same region overwrote the attribute
    afterwards. Judging only the final state called every such loss 'superseded'."""
    def contested(seed: int) -> TableScenario:
        return workload("contested", seed=seed, minutes=1)

    rows = {row.pattern: row for row in compare(contested, seeds=[0])}
    lww = rows["MREC item-lww (as deployed)"]
    assert lww.silently_lost > 0
    # roughly one loss per concurrent pair on an item
    assert lww.conflicts / 2 * 0.5 <= lww.silently_lost <= lww.conflicts
    for pattern in ("key-home routing", "MRSC (3 regions)", "single primary", "causal siblings",
                    "crdt"):
        assert rows[pattern].silently_lost == 0, pattern


def test_the_why_of_a_history_loss_mentions_the_later_overwrite():
    r = workload("contested", seed=0, minutes=1).run(merge="item-lww")
    lost = [e for e in r.ledger if e.verdict == "silently-lost"]
    assert lost
    assert any("later," in e.why and "having seen it" in e.why for e in lost)
    for entry in lost:
        assert entry.where is not None and entry.time is not None and entry.by


def test_a_partition_that_never_heals_leaves_writes_unreplicated_not_lost():
    """Chapter 10's exercise, removing the heal: every value is still held by one side, so the
    writes are not lost — the run ended before they reached everyone."""
    scenario = attrs.evolve(scenarios.get("partition"),
                            faults=(Partition.isolate(200, "eu-west-1", REGIONS),))
    r = scenario.run(merge="item-lww")
    assert not r.converged
    assert r.summary["silently_lost"] == 0
    assert r.summary["unreplicated"] == 8
    assert "before it reached" in r.ledger["w1"].why


def test_the_why_names_the_sibling_that_won_by_stamp_not_the_write_that_saw_both():
    """Under causal, w1 (plan A at eu) ∥ w2 (plan B at ap); w3 at us holds both siblings and
    writes only `note`. Resolving the siblings carried w2's plan (the greater stamp): w1 was
    lost to w2, which had not seen it — not to w3, which had."""
    scenario = resolve_by_stamp()
    entry = scenario.run(merge="causal").ledger["w1"]
    assert entry.verdict == "silently-lost"
    assert entry.by == ("w2",)
    assert "w2 had not seen w1" in entry.why and "w3 had seen w1" not in entry.why


def test_the_version_attribute_is_bookkeeping_not_part_of_an_effect():
    """key-home + versioned London: w1's address survives; w2 only bumped `version` over it.
    That is the pattern's bookkeeping, so w1 is kept, not 'superseded'."""
    r = scenarios.run("london", routing="key-home", writes="versioned")
    assert r.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


# -- crashes found by driving one region like DynamoDB ---------------------------------------


@pytest.mark.parametrize("policy", ["item-lww", "attribute-lww", "causal", "crdt"])
@pytest.mark.parametrize("request_", [PutItem("w1", "k", {}), UpdateItem("w1", "k", {})],
                         ids=["put-nothing", "update-nothing"])
def test_a_write_that_leaves_an_item_with_no_attributes_keeps_the_item_with_only_its_key(
        policy, request_):
    """attribute-lww used to raise ValueError from max() here. DynamoDB keeps the item."""
    region = TableReplica("eu-west-1", policy)
    region.on_message(RecordingContext("eu-west-1", wall=5), "app", request_)
    assert region.items["k"].to_plain() == {}
    other = TableReplica("us-east-1", policy)
    other.on_message(RecordingContext("us-east-1", wall=6), "app", attrs.evolve(request_, op="w2"))
    merged = get_policy(policy).merge(region.items["k"], other.items["k"]).item
    assert merged == get_policy(policy).merge(other.items["k"], region.items["k"]).item


@pytest.mark.parametrize("policy", ["item-lww", "attribute-lww", "causal", "crdt"])
def test_a_number_add_on_a_number_set_is_a_validation_error_and_changes_nothing(policy):
    """The crdt policy used to turn `ADD 5` on the number set {1} into {1, 5}."""
    region = TableReplica("eu-west-1", policy, {"k": get_policy(policy).initial({"s": {1}})})
    before = dict(region.items)
    ctx = RecordingContext("eu-west-1", wall=5)
    region.on_message(ctx, "app", UpdateItem("w1", "k", {}, add={"s": 5}))
    assert region.items == before
    replies = [e for e in ctx.effects if e.kind == "reply"]
    assert replies[0].args[1].error == "ValidationError"


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("options, fragment", [
    ({"mode": "mrsc", "merge": "causal"}, "orders writes by commit"),
    ({"mode": "single-primary", "routing": "key-home"}, "choose one of them"),
    ({"durable": False}, "has no crash"),
])
def test_combinations_that_make_no_sense_are_refused_naming_the_conflict(options, fragment):
    with pytest.raises(ConfigError, match=fragment):
        scenarios.run("london", **options)
