"""A write that reached a replica but never entered its table, against one a merge there dropped.

Ground truth says which writes had *reached* each replica (a message carried them, or their
past). That is not the same as being offered to the replica's table: a leader region's log
entry that never commits, a request waiting for a leader, or an item in which a later write
had already overwritten the write all bring it without the table ever holding or dropping it.
A merge that drops a value records the loss (a replication or anti-entropy merge whose
incoming item loses, too), so the ledger tells the two apart by the record: a write absent
from a replica it reached, where no holder had seen it and no recorded loss there names it,
never entered that table (``unreplicated`` if it is held elsewhere; judged by its recorded
removals if held nowhere). Hand-written histories first, then the simulator.
"""

from __future__ import annotations

import random

import pytest
from test_ledger import History

from replicalab.ledger import judge
from replicalab.replica.table import AntiEntropy
from replicalab.scenarios.world import ClientRead, ClientWrite, TableScenario
from replicalab.sim.faults import Crash, Heal, Partition
from replicalab.sim.network import Uniform

from probes import random_scenario

POLICIES = ("item-lww", "attribute-lww", "causal", "crdt")


def _carry(h: History, dst: str, src: str) -> None:
    """``dst`` receives ``src``'s causal past only, not its item (a log entry that never commits)."""
    h.clock += 1
    h.seen[dst] = h.seen[dst].merge(h.seen[src])


def _judge(h: History):
    final = {r: {"k": item} for r, item in h.items.items()}
    reached = {r: {"k": seen} for r, seen in h.seen.items()}
    return judge(h.records, final, h.losses, reached=reached)


@pytest.mark.parametrize("policy", POLICIES)
def test_a_write_that_reached_a_replica_only_in_a_message_it_never_applied_is_unreplicated(policy):
    """w2 is at a and b; c knows of it (its log holds the entry) but applied only the
    concurrent w1. No merge at c dropped w2, whatever the policy would have done."""
    h = History(policy, replicas=("a", "b", "c"))
    h.write("w2", "a", y="from a")
    h.write("w1", "c", x="from c")
    h.sync("b", "a")
    _carry(h, "c", "a")
    ledger = _judge(h)
    assert ledger["w2"].verdict == "unreplicated", ledger["w2"]
    assert "before c applied it" in ledger["w2"].why
    assert ledger["w1"].verdict == "unreplicated" and "before it reached a, b" in ledger["w1"].why


def test_the_same_write_dropped_by_a_merge_there_is_silently_lost():
    """The contrast: c merges a's item, and item-lww keeps c's later-stamped w1 — the merge
    records that it dropped w2, and the ledger names it."""
    h = History("item-lww", replicas=("a", "b", "c"))
    h.write("w2", "a", y="from a")
    h.write("w1", "c", x="from c")
    h.sync("b", "a")
    h.sync("c", "a")
    entry = _judge(h)["w2"]
    assert (entry.verdict, entry.where, entry.by) == ("silently-lost", "c", ("w1",)), entry
    assert "w1 had not seen w2" in entry.why


def test_a_write_that_reached_replicas_only_inside_a_later_write_is_superseded_by_it():
    """The shape of tests/test_matrix_random.py story 11: w2 overwrote w1 at a having seen it;
    then the concurrent w3 (later stamp) beat w2 everywhere. w1 reached b only in the past of
    w2's item, which no longer held w1's value: w3 never dropped w1, w2 did (having seen it)."""
    h = History("item-lww")
    h.write("w1", "a", x="1")
    h.write("w2", "a", x="2")
    h.write("w3", "b", x="3")
    h.sync("b", "a")
    h.sync("a", "b")
    ledger = _judge(h)
    # The independent reading of the history: every recorded removal of w1's value was by a
    # write that had seen it; w3 removed w2's, and w3 had not seen w2.
    records = {r.id: r for r in h.records}
    assert {(x.loss.by, records[x.loss.by].saw(records["w1"])) for x in h.losses
            if x.loss.write == "w1"} == {("w2", True)}
    assert (ledger["w1"].verdict, ledger["w1"].by) == ("superseded", ("w2",)), ledger["w1"]
    assert (ledger["w2"].verdict, ledger["w2"].by) == ("silently-lost", ("w3",))
    assert ledger["w3"].verdict == "kept"


def test_a_write_overwritten_at_a_replica_before_a_concurrent_value_came_names_the_overwriter():
    """w1 is still at a; at b, w2 overwrote it having seen it, and the concurrent w3 then beat
    w2 there. b's holder (w3) never met w1's value: the write that removed it at b is w2."""
    h = History("item-lww", replicas=("a", "b", "c"))
    h.write("w1", "a", x="1")
    h.sync("b", "a")
    h.write("w2", "b", x="2")
    h.write("w3", "c", x="3")
    h.sync("b", "c")
    entry = _judge(h)["w1"]
    assert (entry.verdict, entry.by) == ("superseded", ("w2",)), entry


# -- the simulator ------------------------------------------------------------------------------

LEADER = {"replicas_per_region": 3, "region_protocol": "leader"}


@pytest.mark.parametrize("merge", POLICIES)
def test_a_set_add_stuck_in_a_log_entry_is_unreplicated_and_its_reader_stale(merge):
    """A region left without a quorum (eu-west-1a and 1c down for good at t=120) receives
    us-east-1's set ADD w2 (t=100): eu-west-1b holds it in a log entry, or waiting for a leader,
    never applied. Its table still holds the initial set — which never met w2's element."""
    from replicalab.scenarios.regions import AzOutage

    regions = ("eu-west-1", "us-east-1")
    scenario = TableScenario(
        name="stuck-add", description="a set ADD that can never commit in eu-west-1",
        regions=regions, latency={regions: Uniform(70, 80)},
        initial={"k": {"items": frozenset({"a"})}},
        workload=(ClientWrite(95, "eu-west-1", "w1", "c1", "k", {"note": "eu"}),
                  ClientWrite(100, "us-east-1", "w2", "c2", "k", {}, add={"items": {"d"}})),
        reads=(ClientRead(400, "eu-west-1", "r1", "reader", "k", consistent=False),))
    result = scenario.run(merge, 0, **LEADER, az_outages=[
        AzOutage(120, "eu-west-1", "a"), AzOutage(120, "eu-west-1", "c")])
    # Independent: eu-west-1b's table lacks 'd', every us-east-1 node's has it, and no merge
    # recorded dropping w2.
    assert result.final["eu-west-1b"]["k"]["items"] == ["a"]
    for node in ("us-east-1a", "us-east-1b", "us-east-1c"):
        held = result.final[node]["k"]
        assert any(v["items"] == ["a", "d"] for v in (held if isinstance(held, list) else [held]))
    assert not [x for e in result.trace.of_kind("Wrote", "Merged") for x in e.get("losses", ())
                if x["write"] == "w2"]
    entry = result.ledger["w2"]
    assert entry.verdict == "unreplicated" and "eu-west-1b applied it" in entry.why, entry
    assert result.stale_reads == ("r1",) and "missed w2" in result.stale_why["r1"]


def _outvoted_by_anti_entropy() -> TableScenario:
    """us-east-1 writes w1 (t=100) and eu-west-1 the later-stamped w2 (t=150) while a partition
    keeps them apart; it heals at t=300. In the first anti-entropy session eu-west-1 merges
    us-east-1's item (t=422) and keeps its own; us-east-1 goes down (keeping its disk) at
    t=440, before the session's answer reaches it, and never comes back."""
    regions = ("eu-west-1", "us-east-1")
    return TableScenario(
        name="outvoted", description="an anti-entropy merge whose incoming item loses",
        regions=regions, latency={regions: Uniform(40, 40)}, initial={"k": {"x": "0"}},
        workload=(ClientWrite(100, "us-east-1", "w1", "c1", "k", {"x": "us"}),
                  ClientWrite(150, "eu-west-1", "w2", "c2", "k", {"x": "eu"})),
        faults=(Partition(0, (("eu-west-1",), ("us-east-1",))), Heal(300),
                Crash(440, "us-east-1", durable=True)),
        anti_entropy=AntiEntropy(period=200, fanout=4, depth=1, timeout=1000), horizon=1500)


@pytest.mark.parametrize("merge", ["item-lww", "attribute-lww"])
def test_an_anti_entropy_merge_whose_incoming_item_loses_records_the_loss(merge):
    """Nothing changes at eu-west-1, but its merge dropped w1's value for the concurrent w2:
    the trace records it (Merged, changed=False) and the ledger names it — not 'unreplicated'
    because the down us-east-1 still holds w1."""
    result = _outvoted_by_anti_entropy().run(merge, 0)
    merged = [e for e in result.trace.of_kind("Merged") if e.replica == "eu-west-1"]
    assert [(e.time, e.get("write"), e.get("changed"), [(x["write"], x["by"]) for x in e.get("losses")])
            for e in merged] == [(422, "anti-entropy", False, [("w1", "w2")])]
    assert "eu-west-1 receives k from us-east-1 (anti-entropy)" in result.timeline()
    entry = result.ledger["w1"]
    assert (entry.verdict, entry.where, entry.time, entry.by) == ("silently-lost", "eu-west-1", 422, ("w2",))


@pytest.mark.parametrize("merge", ["causal", "crdt"])
def test_the_same_session_under_a_merging_policy_keeps_both(merge):
    result = _outvoted_by_anti_entropy().run(merge, 0)
    assert result.ledger.verdicts() == {"w1": "kept", "w2": "kept"}


def test_matrix_story_11_supersedes_what_the_concurrent_winner_never_met():
    """tests/test_matrix_random.py story 11 under item-lww: w6 (ap-southeast-2, partitioned)
    won everywhere in the end, but the only recorded removals of w1's and w3's values were by
    w2 and w1, which had seen them."""
    rng = random.Random(11)
    scenario, _ = random_scenario(rng, 11)
    result = scenario.run(seed=11, merge="item-lww", stamps=rng.choice(["wall", "hlc"]))
    facts = {f.op: f for f in result.facts}
    for write, by in (("w1", "w2"), ("w3", "w1")):
        removers = {x["by"] for e in result.trace.of_kind("Wrote", "Merged") for x in e.get("losses", ())
                    if x["write"] == write}
        assert removers == {by} and facts[by].saw(facts[write])
        entry = result.ledger[write]
        assert (entry.verdict, entry.by) == ("superseded", (by,)), entry


# -- a write that removes, stuck in a log ------------------------------------------------------

def _stuck_removal(merge: str, removal: str, rival_at: int | None):
    """eu-west-1 loses its quorum for good at t=120 (AZs a and c down, disks kept). us-east-1
    removes ``note`` at t=100 (``removal``: REMOVE, DeleteItem or a PutItem without it): the
    write reaches eu-west-1b at ~t=175 and waits in its log, never applied. With ``rival_at``,
    eu-west-1 sets ``note`` itself then (committed before the outage), concurrently."""
    from replicalab.dynamodb import GlobalTable
    from replicalab.scenarios.regions import AzOutage

    key = {"k": {"S": "a"}}
    table = GlobalTable("tbl", key=("k",), regions=["eu-west-1", "us-east-1"], merge=merge,
                        latency={("eu-west-1", "us-east-1"): Uniform(70, 80)},
                        items=[{"k": {"S": "a"}, "note": {"S": "old"}, "n": {"N": "1"}}], **LEADER,
                        az_outages=[AzOutage(120, "eu-west-1", "a"), AzOutage(120, "eu-west-1", "c")])
    eu, us = table.client("eu-west-1", "c1"), table.client("us-east-1", "c2")
    for at in sorted({100, rival_at or 100}):
        table.at(at)
        if at == rival_at:
            eu.update_item(TableName="tbl", Key=key, UpdateExpression="SET note = :v",
                           ExpressionAttributeValues={":v": {"S": "eu"}})
        if at == 100 and removal == "remove":
            us.update_item(TableName="tbl", Key=key, UpdateExpression="REMOVE note")
        elif at == 100 and removal == "delete":
            us.delete_item(TableName="tbl", Key=key)
        elif at == 100:
            us.put_item(TableName="tbl", Item={"k": {"S": "a"}, "n": {"N": "2"}})
    return table.settle()


def _remover(result) -> str:
    return next(e.write for e in result.ledger if e.client == "c2")


@pytest.mark.parametrize("merge", POLICIES)
@pytest.mark.parametrize("removal", ["remove", "delete", "put"])
def test_a_removal_stuck_in_a_log_is_unreplicated_not_lost_to_the_initial_value(merge, removal):
    """Alone: eu-west-1b's table still holds the initial item, which the removal never met
    there. The initial state wins no merge, so its value there is no loss: the write is held
    by every us-east-1 node and never applied at eu-west-1b."""
    result = _stuck_removal(merge, removal, rival_at=None)
    assert result.final["eu-west-1b"]["a"]["note"] == "old"
    entry = result.ledger[_remover(result)]
    assert (entry.verdict, entry.by) == ("unreplicated", ()), entry
    assert "before eu-west-1b applied it" in entry.why


@pytest.mark.parametrize("merge", POLICIES)
@pytest.mark.parametrize("removal", ["remove", "delete"])
def test_a_removal_stuck_in_a_log_beside_a_concurrent_holder(merge, removal):
    """eu-west-1 set ``note`` at t=95 (w1), concurrently with us-east-1's removal (w2, t=100).
    What w2's author loses, and where: under the LWW policies w2's later stamp beat w1 at
    us-east-1 (a recorded merge dropped w1 for w2), so w2 is held there and could not have
    lost to w1 at eu-west-1b either — it never entered that table: ``unreplicated``. Under
    causal us-east-1 keeps the two side by side (siblings): the same. Under crdt a concurrent
    set wins over a remove (add-wins): us-east-1's merge undid w2 for w1 — ``silently-lost``."""
    result = _stuck_removal(merge, removal, rival_at=95)
    w1, w2 = result.ledger["w1"], result.ledger["w2"]
    held = [e.get("losses") for e in result.trace.of_kind("Merged") if e.replica.startswith("us")]
    if merge in ("item-lww", "attribute-lww"):
        assert [(x["write"], x["by"]) for losses in held for x in losses
                if x["write"] != "initial"] == [("w1", "w2")]
        assert (w1.verdict, w1.by) == ("silently-lost", ("w2",))
    if merge == "crdt":
        assert (w2.verdict, w2.by) == ("silently-lost", ("w1",)), w2
        assert all(items["a"].get("note") == "eu" for items in result.final.values())
    else:
        assert (w2.verdict, w2.by) == ("unreplicated", ()), w2
        assert "before eu-west-1b applied it" in w2.why


@pytest.mark.parametrize("merge", ["item-lww", "attribute-lww"])
def test_a_removal_a_later_stamped_concurrent_write_undid_is_still_lost(merge):
    """The contrast: eu-west-1 sets ``note`` at t=105, after the removal (t=100) by the clock.
    At us-east-1 that write's later stamp wins and brings ``note`` back over w2's tombstone (a
    losing tombstone records nothing): w2 is held nowhere, and it lost to a write that had not
    seen it — silently lost, although it also sits unapplied in eu-west-1b's log."""
    result = _stuck_removal(merge, "remove", rival_at=105)
    assert all(items["a"].get("note") == "eu" for items in result.final.values())
    entry = result.ledger["w1"]  # the removal ran first: w1 here
    assert _remover(result) == "w1"
    assert (entry.verdict, entry.by) == ("silently-lost", ("w2",)), entry
