"""A region's kept keyspace tree: always the tree a rebuild would give, and sessions see snapshots."""

from __future__ import annotations

import copy
import random

from replicalab.merkle import MerkleTree
from replicalab.policies import get_policy
from replicalab.replica._keyspace import ItemStore, KeyspaceIndex
from replicalab.replica.table import AntiEntropy, TableReplica, UpdateItem
from replicalab.sim import Link, Simulation, Uniform, full_mesh

ITEM = get_policy("item-lww").initial({"x": 1})
OTHER = get_policy("item-lww").initial({"x": 2})


def rebuilt(items, config: AntiEntropy) -> MerkleTree:
    return MerkleTree.build({k: item.to_bytes() for k, item in items.items()},
                            fanout=config.fanout, depth=config.depth)


def test_the_kept_tree_equals_a_rebuild_after_writes_merges_and_repairs():
    """The tree is updated from changed keys only, yet ends exactly where a rebuild does,
    in every region, with loss (so repairs happen) and concurrent writes to few keys."""
    config = AntiEntropy(period=200, fanout=4, depth=2, timeout=600)
    names = ["a", "b", "c", "d"]
    regions = [TableReplica(r, "causal", {"k0": ITEM}, anti_entropy=config) for r in names]
    sim = Simulation(regions, topology=full_mesh(names), link=Link(Uniform(5, 40), loss=0.3), seed=3)
    rng = random.Random(3)
    for n in range(60):
        sim.client_request(int(rng.random() * 3000), names[int(rng.random() * 4)],
                           UpdateItem(f"w{n}", f"k{int(rng.random() * 9)}", {"x": n}))
    sim.run(until=5000)
    assert sim.trace.of_kind("Synced")
    for region in sim.replicas.values():
        tree = region.keyspace.update(region.items, fanout=config.fanout, depth=config.depth)
        assert tree._top == rebuilt(region.items, config)._top


def test_a_snapshot_is_the_store_as_it_was_when_the_session_started():
    store = ItemStore({"a": ITEM, "b": ITEM})
    index = KeyspaceIndex()
    snap = index.snapshot(store, fanout=4, depth=1)
    store["a"] = OTHER
    store["c"] = OTHER
    del store["b"]
    store["b"] = OTHER
    assert dict(snap) == {"a": ITEM.to_bytes(), "b": ITEM.to_bytes()} and len(snap) == 2
    assert "c" not in snap and snap.item("a") is ITEM
    assert snap.tree == MerkleTree.build({"a": ITEM.to_bytes(), "b": ITEM.to_bytes()}, fanout=4, depth=1)
    later = index.snapshot(store, fanout=4, depth=1)
    assert dict(later) == {"a": OTHER.to_bytes(), "b": OTHER.to_bytes(), "c": OTHER.to_bytes()}
    assert later.full_state_bytes == 16 + sum(8 + 1 + len(OTHER.to_bytes()) for _ in range(3))
    snap.close()
    later.close()
    assert store.snapshots == 0


def test_every_way_of_changing_the_store_marks_the_key():
    store = ItemStore({"a": ITEM, "b": ITEM, "c": ITEM, "d": ITEM})
    store.changed.clear()
    store["a"] = OTHER
    del store["b"]
    store.pop("c")
    store.setdefault("e", ITEM)
    store.update({"f": ITEM})
    store |= {"g": ITEM}
    assert store.changed == {"a", "b", "c", "e", "f", "g"}
    store.popitem()
    store.clear()
    assert store.changed == {"a", "b", "c", "d", "e", "f", "g"} and store == {}


def test_a_copied_region_has_an_equal_index_and_a_tracking_store():
    region = TableReplica("a", items={"k": ITEM}, anti_entropy=AntiEntropy(fanout=4, depth=1))
    clone = copy.deepcopy(region)
    assert type(clone.items) is ItemStore and clone.items == region.items
    assert clone.keyspace == region.keyspace


def test_finished_sessions_release_their_snapshots():
    config = AntiEntropy(period=100, fanout=4, depth=1)
    names = ["a", "b", "c"]
    regions = [TableReplica(r, "item-lww", {}, anti_entropy=config) for r in names]
    sim = Simulation(regions, topology=full_mesh(names), link=Link(Uniform(5, 10)), seed=1)
    for n in range(10):
        sim.client_request(n * 50, names[n % 3], UpdateItem(f"w{n}", f"k{n % 4}", {"x": n}))
    sim.run(until=2000)
    for region in sim.replicas.values():
        assert region.items.snapshots == len(region.sessions)
