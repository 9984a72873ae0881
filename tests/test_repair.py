"""Partitions, crashes and repair: anti-entropy at work inside the simulator."""

import random

import pytest

from replicalab import scenarios
from replicalab.items import Item
from replicalab.replica.table import AntiEntropy, TableReplica, UpdateItem
from replicalab.sim import Link, Simulation, Uniform, watts_strogatz


@pytest.mark.parametrize("merge", ["item-lww", "attribute-lww", "causal"])
def test_the_partition_scenario_converges_after_the_heal(merge):
    r = scenarios.run("partition", merge=merge)
    assert r.converged and r.components == ()
    assert r.sync["repaired"] > 0
    assert r.sync["bytes"] < r.sync["full_state_bytes"] / 5  # Merkle sync is cheap when little differs


def test_item_lww_loses_one_write_of_each_conflict_across_the_cut():
    r = scenarios.run("partition", merge="item-lww")
    assert r.ledger.verdicts() == {"w1": "kept", "w2": "kept", "w3": "kept", "w4": "silently-lost",
                                   "w5": "kept", "w6": "silently-lost", "w7": "kept", "w8": "kept"}


def test_causal_keeps_both_sides_of_the_cut_as_siblings():
    r = scenarios.run("partition", merge="causal")
    assert r.summary["silently_lost"] == 0
    assert isinstance(r.final["us-east-1"]["sub_08"], list)


def test_a_run_held_partitioned_reports_the_components_instead_of_converging():
    import attrs

    held = attrs.evolve(scenarios.get("partition"), faults=scenarios.get("partition").faults[:1])
    r = held.run()
    assert not r.converged
    assert r.components == (("ap-southeast-2", "us-east-1"), ("eu-west-1",))
    assert "NOT converged: still partitioned" in r.report()


def test_crash_without_durable_state_loses_the_acknowledged_write_and_says_why():
    r = scenarios.run("crash")
    assert r.ledger.verdicts() == {"w1": "silently-lost", "w2": "kept"}
    assert "crashed at t=120 (durable=False)" in r.ledger["w1"].why
    assert r.converged  # anti-entropy refilled the empty region
    restarted = [e for e in r.trace.of_kind("Restarted")]
    assert restarted[0].get("identity") == "eu-west-1~2"


def test_crash_with_durable_state_keeps_the_write():
    r = scenarios.run("crash", durable=True)
    assert r.ledger.verdicts() == {"w1": "kept", "w2": "kept"} and r.converged
    assert r.options == {"durable": True}


def region(rid, items, period=300):
    return TableReplica(rid, "causal", items, anti_entropy=AntiEntropy(period=period, fanout=4,
                                                                       depth=2, timeout=1000))


@pytest.mark.parametrize("seed", range(8))
def test_anti_entropy_converges_on_random_connected_topologies_without_new_writes(seed):
    """Replicas that start divergent (and never hear of each other's writes by replication)
    converge by anti-entropy alone, within a bound of rounds, on a random connected graph."""
    graph = watts_strogatz(8, 4, 0.3, seed=seed)
    rng = random.Random(seed)
    replicas = []
    for node in sorted(graph.nodes):
        replica = region(node, {})
        replicas.append(replica)
    sim = Simulation(replicas, topology=graph, link=Link(Uniform(5, 30)), seed=seed)
    for n in range(12):  # writes everywhere; replication ships only along edges, AE does the rest
        node = sorted(graph.nodes)[int(rng.random() * 8)]
        sim.client_request(0, node, UpdateItem(f"w{n}", f"k{int(rng.random() * 6)}", {"x": n}))
    sim.run(until=300 * 12)  # 12 periods: log2(8) rounds of gossip, with slack
    states = [dict(sorted(r.items.items())) for r in sim.replicas.values()]
    assert all(s == states[0] for s in states)
    # No repair loop: once converged, a further period repairs nothing.
    synced = len(sim.trace.of_kind("Synced"))
    sim.run(until=300 * 14)
    later = sim.trace.of_kind("Synced")[synced:]
    assert later and all(e.get("repaired") == [] for e in later)


def test_items_round_trip_through_their_canonical_bytes():
    r = scenarios.run("partition", merge="causal")
    for items in r.items.values():
        for item in items.values():
            assert Item.from_bytes(item.to_bytes()) == item
