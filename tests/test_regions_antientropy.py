"""Merkle anti-entropy inside leaderless regions (issue #16): the home nodes of a key compare trees.

Each test states a contract of :mod:`replicalab.quorum.zone`'s anti-entropy and checks it
against an oracle of its own: the same run stopped before the first repair, the one-replica
run's verdicts, the ring's preference lists, a second process.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

import attrs
import pytest
from test_matrix import check_invariants
from test_regions import REGIONS as LAB_REGIONS
from test_regions import lab

from replicalab import scenarios
from replicalab.antientropy import RootHash
from replicalab.errors import ConfigError
from replicalab.policies import get_policy
from replicalab.replica.requests import UpdateItem
from replicalab.replica.table import AntiEntropy
from replicalab.scenarios import regions
from replicalab.scenarios.regions import AzOutage, AzPartition
from replicalab.scenarios.world import ClientRead, ClientWrite, TableScenario
from replicalab.sim.network import Uniform

POLICIES = ("item-lww", "attribute-lww", "causal", "crdt")
LEADERLESS = {"replicas_per_region": 3, "region_protocol": "leaderless"}
SYNC = AntiEntropy(period=200, fanout=4, depth=1, timeout=1000)


def synced(scenario: TableScenario, horizon: int = 2500) -> TableScenario:
    return attrs.evolve(scenario, anti_entropy=SYNC, horizon=horizon)


def repairs(result) -> list:
    """The merges anti-entropy made that changed an item."""
    return [e for e in result.trace.of_kind("Merged") if e.get("write") == "anti-entropy"]


# -- what anti-entropy repairs: a node cut off from its region ---------------------------------------

def test_a_write_only_the_cut_off_node_took_reaches_its_region_by_anti_entropy() -> None:
    """eu-west-1b, the first home node of sub_42, is cut off from eu-west-1a and c from t=100 to
    600. With w=1 it acknowledges the portal's write alone and ships it to the other regions;
    the cut dropped its Holds, and no node restarts, so no catch-up asks for them. Stopped just
    before anti-entropy's first repair, the run has not converged and the ledger calls the write
    unreplicated; run on, the region's other nodes take it from a session and it is kept."""
    london = synced(scenarios.get("london"))
    options = {"merge": "attribute-lww", "w": 1, "r": 1, **LEADERLESS,
               "az_partitions": [AzPartition(100, "eu-west-1", "b", until=600)]}
    full = london.run(**options)
    assert [(e.replica, e.get("write")) for e in full.trace.of_kind("Wrote")][0] == ("eu-west-1b", "w1")
    assert full.converged and full.ledger.verdicts() == {"w1": "kept", "w2": "kept"}
    first = repairs(full)[0]
    assert first.time > 600 and first.get("source") in ("eu-west-1a", "eu-west-1b", "eu-west-1c")
    assert sorted({e.replica for e in repairs(full)}) == ["eu-west-1a", "eu-west-1c"]
    before = attrs.evolve(london, horizon=first.time - 1).run(**options)
    assert not before.converged and repairs(before) == []
    assert before.ledger.verdicts()["w1"] == "unreplicated"
    assert before.final["eu-west-1a"]["sub_42"] != full.final["eu-west-1a"]["sub_42"]


@pytest.mark.parametrize("merge", POLICIES)
@pytest.mark.parametrize("az", ["a", "b", "c"])
@pytest.mark.parametrize("w", [1, 2])
def test_london_with_a_healed_cut_and_anti_entropy_gives_the_single_replica_verdicts(merge, az, w) -> None:
    """A cut inside eu-west-1, healed, then repaired by anti-entropy, changes where a write lives
    and what its client was told (w=2 on the cut node: QuorumNotReached), never its verdict."""
    single = scenarios.run("london", merge=merge, seed=0)
    result = synced(scenarios.get("london")).run(
        merge=merge, w=w, r=1, az_partitions=[AzPartition(100, "eu-west-1", az, until=600)], **LEADERLESS)
    assert result.ledger.verdicts() == single.ledger.verdicts()
    assert result.converged


# -- whom a node syncs with, and which keys ----------------------------------------------------------

def _many_keys(keys: int = 12) -> TableScenario:
    """Two regions, ``keys`` keys, one write to each key from eu-west-1 while a node is cut off."""
    names = [f"k{i:02d}" for i in range(keys)]
    writes = tuple(ClientWrite(150 + 10 * i, "eu-west-1", f"w{i}", "app", key, {"n": i + 1})
                   for i, key in enumerate(names))
    london = scenarios.get("london")
    return TableScenario(name="many-keys", description="a write per key", regions=("eu-west-1", "us-east-1"),
                         latency={("eu-west-1", "us-east-1"): london.latency[("eu-west-1", "us-east-1")]},
                         initial={key: {"n": 0} for key in names}, workload=writes, epoch=0,
                         anti_entropy=SYNC, horizon=2500)


def test_sessions_stay_in_the_region_and_take_its_other_nodes_in_turn() -> None:
    """Session ``X->Y#k`` (finished or abandoned) is X's k-th: Y is the ((k-1) mod 2)-th of the
    region's other nodes in id order — so after the last fault every pair compares within two
    periods, whatever the seed."""
    result = _many_keys().run(merge="causal", **LEADERLESS,
                              az_partitions=[AzPartition(100, "eu-west-1", "a", until=600)])
    assert result.converged
    sessions = {e.get("session") for e in result.trace if e.kind in ("Synced", "SyncAbandoned")}
    assert any(e.kind == "SyncAbandoned" for e in result.trace)  # the cut stalled some
    started: dict[str, int] = {}
    for name in sorted(sessions):
        node, rest = name.split("->")
        peer, k = rest.split("#")
        others = [f"{node[:-1]}{az}" for az in "abc" if f"{node[:-1]}{az}" != node]
        assert peer == others[(int(k) - 1) % 2], name  # same region, in turn
        started[node] = started.get(node, 0) + 1
    assert sorted(started) == [f"{r}{az}" for r in ("eu-west-1", "us-east-1") for az in "abc"]
    assert min(started.values()) >= 10  # every 200 ms for 2.5 s, the first after a random offset


def test_a_node_compares_and_takes_only_the_keys_it_shares_with_its_peer() -> None:
    """n=2 of 3 nodes: a session between two nodes covers the keys both are home for, so no
    node ends up holding a key it is no home of, and every repair is of a shared key."""
    prepared = _many_keys().prepare("item-lww", 0, n=2, r=1, w=1, **LEADERLESS,
                                    az_partitions=[AzPartition(100, "eu-west-1", "b", until=600)])
    prepared.sim.run(until=2500)
    result = prepared.result()
    nodes = prepared.sim.replicas
    for node, items in result.items.items():
        assert all(nodes[node].owns(key) for key in items), node  # type: ignore[attr-defined]
    assert repairs(result), "the cut left something for anti-entropy to repair"
    for event in repairs(result):
        assert nodes[event.replica].shares(event.get("key"), event.get("source"))  # type: ignore[attr-defined]
    assert result.converged and set(result.ledger.verdicts().values()) == {"kept"}


# -- the ledger judges what anti-entropy carries -----------------------------------------------------

def _two_coordinators(merge: str):
    """One region, key k. eu-west-1c is cut off from a and b (t=100..600); a client of c's
    side writes n (w1, t=140), a client of a's side writes m (w3, t=200): two coordinators,
    neither seeing the other's write, each acknowledged at once (w=1). Only anti-entropy ever
    brings the two writes together."""
    story = TableScenario(name="two-coordinators", description="a cut between two coordinators",
                          regions=("eu-west-1",), latency={}, initial={"k": {"n": 0, "m": 0}},
                          workload=(), epoch=0, anti_entropy=SYNC, horizon=2500)
    prepared = story.prepare(merge, 0, w=1, r=1, **LEADERLESS,
                             az_partitions=[AzPartition(100, "eu-west-1", "c", until=600)])
    sim = prepared.sim
    for at, node, op, attributes in ((140, "eu-west-1c", "w1", {"n": 1}), (200, "eu-west-1a", "w3", {"n": 3})):
        sim.client_request(at, node, UpdateItem(op, "k", attributes), client=f"app-{op}", via=node)
    sim.run(until=2500)
    return prepared.result()


def test_an_anti_entropy_merge_that_drops_a_write_is_where_the_ledger_says_it_was_lost() -> None:
    """item-lww: w3 (later stamp) beats w1 in the first session after the heal; w3 had not
    seen w1, so w1 is silently lost, at that merge, and the ledger names it and w3."""
    result = _two_coordinators("item-lww")
    assert [e.get("ok") for e in result.trace.of_kind("Replied")] == [True, True]
    entry = result.ledger["w1"]
    assert entry.verdict == "silently-lost" and entry.by == ("w3",)
    lossy = [e for e in repairs(result) if any(loss["write"] == "w1" for loss in e.get("losses"))]
    assert lossy and (entry.where, entry.time) == (lossy[0].replica, lossy[0].time)
    assert result.ledger["w3"].verdict == "kept" and result.converged


@pytest.mark.parametrize(("merge", "verdicts"), [
    ("causal", {"w1": "kept", "w3": "kept"}),  # siblings: each kept as one of them
    ("crdt", {"w1": "kept", "w3": "kept"}),
])
def test_merges_that_keep_concurrent_writes_keep_both_through_anti_entropy(merge, verdicts) -> None:
    result = _two_coordinators(merge)
    assert result.converged and repairs(result)
    assert {e.write: e.verdict for e in result.ledger if e.write in verdicts} == verdicts
    if merge == "causal":
        assert all(len(items["k"].versions) == 2 for items in result.items.values())


# -- a node back while cut off --------------------------------------------------------------------------

def test_a_node_that_restarted_while_cut_off_finishes_its_catch_up_when_the_cut_heals() -> None:
    """Lesson: a restarted node asks its region for what it missed and serves nobody until
    enough answered; a cut swallowed the asks, and nothing would ask again, so it stayed
    'catching up' for ever (every strong read with r=3 then failed). At the heal it asks again."""
    story = TableScenario(name="restart-in-a-cut", description="restart while cut off",
                          regions=("eu-west-1",), latency={}, initial={"k": {"n": 0}},
                          workload=(ClientWrite(140, "eu-west-1", "w1", "portal", "k", {"n": 1}),),
                          reads=(ClientRead(900, "eu-west-1", "r1", "app", "k", consistent=True),),
                          epoch=0, anti_entropy=SYNC, horizon=2500)
    first = [e.replica for e in story.run(w=1, r=3, **LEADERLESS).trace.of_kind("Wrote")][0]
    az = first[-1]
    result = story.run(w=1, r=3, **LEADERLESS, az_partitions=[AzPartition(100, "eu-west-1", az, until=600)],
                       az_outages=[AzOutage(150, "eu-west-1", az, until=300)])
    caught = [e for e in result.trace.of_kind("CaughtUp") if e.replica == first]
    assert caught and caught[0].time > 600
    (read,) = [e for e in result.trace.of_kind("Replied") if e.get("op") == "r1"]
    assert read.get("ok") is True
    assert result.converged and result.ledger.verdicts() == {"w1": "kept"}


# -- determinism, refusals ----------------------------------------------------------------------------

_CUT_RUN = ("import attrs\n"
            "from replicalab import scenarios\n"
            "from replicalab.replica.table import AntiEntropy\n"
            "from replicalab.scenarios.regions import AzPartition\n"
            "s = attrs.evolve(scenarios.get('london'), anti_entropy=AntiEntropy(period=200, timeout=1000), "
            "horizon=2000)\n"
            "print(s.run(merge='causal', seed=5, w=1, replicas_per_region=3, region_protocol='leaderless', "
            "az_partitions=[AzPartition(100, 'eu-west-1', 'b', until=600)]).to_json(), end='')")


def test_a_run_with_anti_entropy_is_byte_identical_in_another_process() -> None:
    here = {}
    exec(compile(_CUT_RUN.replace("print(", "out = (").replace(", end='')", ")"), "<run>", "exec"), here)
    assert "anti-entropy" in here["out"]
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    there = subprocess.run([sys.executable, "-c", _CUT_RUN], capture_output=True, text=True, env=env,
                           check=True).stdout
    assert there == here["out"]


@pytest.mark.parametrize(("options", "horizon", "says"), [
    ({"replicas_per_region": 3}, 2000, "give region_protocol='leaderless'"),
    ({"replicas_per_region": 3, "region_protocol": "leader"}, 2000, "give region_protocol='leaderless'"),
    (LEADERLESS, None, "give the scenario a horizon"),
])
def test_anti_entropy_with_azs_is_refused_where_it_cannot_run(options, horizon, says) -> None:
    story = attrs.evolve(scenarios.get("london"), anti_entropy=SYNC, horizon=horizon)
    with pytest.raises(ConfigError, match=says):
        story.run(**options)


def test_regions_build_refuses_anti_entropy_for_leader_regions() -> None:
    with pytest.raises(ConfigError, match="protocol='leaderless'"):
        regions.build(("eu-west-1",), {}, 3, get_policy("item-lww"), {}, stamps="wall", skew={},
                      protocol="leader", anti_entropy=SYNC)


def test_a_session_from_outside_the_region_is_refused_and_changes_nothing() -> None:
    prepared = synced(scenarios.get("london")).prepare("item-lww", 0, **LEADERLESS)
    sim = prepared.sim
    sim.run(until=50)
    node = sim.replicas["eu-west-1a"]
    ctx = sim._contexts["eu-west-1a"]
    before = (dict(node.items), dict(node.sessions), node.syncs_started)  # type: ignore[attr-defined]
    root = RootHash(session="us-east-1a->eu-west-1a#1", fanout=4, depth=1, root=b"\x00" * 32)
    with pytest.raises(ConfigError, match="between the nodes of one region"):
        node.on_message(ctx, "us-east-1a", root)
    assert (dict(node.items), dict(node.sessions), node.syncs_started) == before  # type: ignore[attr-defined]
    plain = scenarios.get("london").prepare("item-lww", 0, **LEADERLESS).sim
    with pytest.raises(ConfigError, match="runs none"):
        plain.replicas["eu-west-1a"].on_message(plain._contexts["eu-west-1a"], "eu-west-1b", root)


# -- what a shipped write carries ----------------------------------------------------------------------

def test_a_write_shipped_after_its_quorum_timed_out_carries_the_later_writes_its_node_holds() -> None:
    """Lesson: a message carries all its sender knows of the key. us-east-1c is down, so with
    w=3 the quorums of w5 (t=100) and w6 (t=120) time out, and each write ships to eu-west-1
    only then (t=150, t=170) — w5 after w6 was in its coordinator's table. Shipped as it was
    at t=100, w5's item lacked w6, yet ground truth credited eu-west-1 with w6 on its arrival:
    w1, written there in between, 'had seen' w6 with a version vector that had not. Shipped as
    the node holds the key now (as a one-replica region ships), every write that saw another
    has a version vector after it."""
    from replicalab.clocks import VectorClock

    writes = (ClientWrite(100, "us-east-1", "w5", "a", "k", {"x": 5}),
              ClientWrite(120, "us-east-1", "w6", "b", "k", {"y": 6}),
              ClientWrite(240, "eu-west-1", "w1", "c", "k", {"z": 1}))
    story = TableScenario(name="late-ship", description="a write shipped late", regions=("eu-west-1", "us-east-1"),
                          latency={("eu-west-1", "us-east-1"): Uniform(74, 76)},
                          initial={"k": {"x": 0}}, workload=writes, epoch=0)
    result = story.run("causal", 0, w=3, r=1, **LEADERLESS, az_outages=[AzOutage(0, "us-east-1", "c", until=1000)])
    facts = {f.op: f for f in result.facts}
    clocks = {e.get("write"): VectorClock(e.get("clock")) for e in result.trace.of_kind("Wrote")}
    assert facts["w1"].saw(facts["w5"])  # the story reaches its point: w1 came after w5 arrived
    for a in facts:
        for b in facts:
            if a != b and facts[b].saw(facts[a]):
                assert clocks[a] < clocks[b], f"{b} saw {a}; clocks {clocks[a]} vs {clocks[b]}"
    assert result.converged


# -- seeded random stories ------------------------------------------------------------------------------

def _random_case(seed: int):
    """A seeded two-region story (tests/test_regions.py's ``lab``) with anti-entropy, random
    quorums (3 or 4 AZs, n from 1, maybe sloppy), one or two AZ cuts and maybe an outage."""
    rng = random.Random(f"regions-antientropy/{seed}")
    story = attrs.evolve(lab(seed, writes=10, reads=10), anti_entropy=AntiEntropy(period=250, fanout=4, timeout=800),
                         horizon=3000)
    per = rng.choice([3, 4])
    n = rng.choice([k for k in (1, 2, 3) if k <= per])
    azs = "abcd"[:per]
    cuts = []
    for _ in range(rng.choice([1, 1, 2])):
        at = rng.randrange(0, 500)
        cuts.append(AzPartition(at, rng.choice(LAB_REGIONS), rng.choice(azs), until=at + rng.randrange(30, 900)))
    outages = []
    if rng.random() < 0.6:
        at = rng.randrange(0, 500)
        outages.append(AzOutage(at, rng.choice(LAB_REGIONS), rng.choice(azs), until=at + rng.randrange(20, 700),
                                durable=rng.random() < 0.5))
    options = {"merge": rng.choice(POLICIES), "replicas_per_region": per, "region_protocol": "leaderless",
               "n": n, "r": rng.randint(1, n), "w": rng.randint(1, n), "sloppy": per > n and rng.random() < 0.5,
               "stamps": rng.choice(["wall", "hlc"]), "az_partitions": cuts, "az_outages": outages}
    return story, options


@pytest.mark.parametrize("seed", range(24))
def test_random_stories_with_cuts_and_anti_entropy_keep_the_matrix_invariants(seed) -> None:
    """The run ends at its horizon; one verdict per write, each agreeing with ground truth;
    the table converges (every fault heals by t=1400, long before the horizon); clocks order
    what was seen; and with r + w > n and no sloppy quorum a strongly consistent read never
    misses a write its own region acknowledged."""
    story, options = _random_case(seed)
    result = story.run(**options)
    check_invariants(result, story, {"mode": "mrec", **options})
    strict = options["r"] + options["w"] > options["n"] and not options["sloppy"]
    facts = {f.op: f for f in result.facts}
    for read in story.reads:
        why = result.stale_why.get(read.op)
        if why is not None and read.consistent and strict:
            missed = why.split(" missed ")[1].split(",")[0]
            assert facts[missed].replica[:-1] != read.region, f"{options}: {why}"
