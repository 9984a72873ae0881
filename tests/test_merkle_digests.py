"""Cached digests (issue #20, item 1): an item hashes its bytes once, a key is placed once.

The contracts: ``Item.digest()`` is always SHA-256 of the item's bytes, whatever was asked
before and whatever was copied or evolved; a tree kept with cached digests
(``from_digests``, ``set_digest``, ``update_digests``) and cached key places is the tree
built cold from the values, node for node; and a sync session over a region's snapshot,
which rebuilds from cached digests, sends and repairs exactly what a session over plain
bytes does. Caches change speed, never a hash, a bucket or an answer.
"""

from __future__ import annotations

import copy
import hashlib
import pickle
import random
import tracemalloc

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import replicalab.merkle as merkle
from replicalab.antientropy import SyncSession
from replicalab.clocks import VectorClock
from replicalab.errors import ConfigError
from replicalab.items import Cell, Item, Stamp, Version
from replicalab.merkle import MerkleTree
from replicalab.policies import get_policy
from replicalab.replica._keyspace import ItemStore, KeyspaceIndex
from replicalab.replica.sync_driver import AntiEntropy

REPLICAS = ("eu", "us", "ap")


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


stamps = st.builds(Stamp, st.integers(-1, 10**6), st.sampled_from(REPLICAS), st.integers(0, 50), st.integers(0, 3))
values = st.one_of(st.integers(-(2**40), 2**40), st.text(max_size=6), st.lists(st.integers(0, 9), max_size=3),
                   st.none(), st.booleans())
cells = st.builds(Cell, values, st.sampled_from(["w1", "w2", "initial"]), stamps, st.booleans(), st.booleans(),
                  st.booleans())
clocks = st.dictionaries(st.sampled_from(REPLICAS), st.integers(0, 5)).map(VectorClock)
versions = st.builds(
    lambda cs, write, stamp, clock: Version.of(cs, write=write, stamp=stamp, clock=clock),
    st.dictionaries(st.sampled_from(["a", "b", "cart", "n"]), cells, max_size=3),
    st.sampled_from(["w1", "w2", "w3"]), stamps, clocks)
items = st.lists(versions, min_size=1, max_size=3).map(lambda vs: Item(tuple(vs)))


@given(items)
def test_an_items_cached_digest_is_always_the_sha256_of_its_bytes(item):
    fresh = Item.from_bytes(item.to_bytes())  # an equal item, another object
    assert item.digest() == sha(item.to_bytes()) == item.digest()  # computed, then reused
    assert fresh == item and fresh.digest() == item.digest()
    # The memo is not a field: equality, hashing, repr and asdict do not see it.
    assert hash(fresh) == hash(item) and repr(fresh) == repr(item)
    assert attrs.asdict(fresh) == attrs.asdict(item) and [f.name for f in attrs.fields(Item)] == ["versions"]


@given(items, items)
def test_an_evolved_or_copied_item_never_carries_a_stale_digest(item, other):
    old = item.digest()
    evolved = attrs.evolve(item, versions=other.versions)
    assert evolved.digest() == sha(evolved.to_bytes()) == other.digest()
    if evolved.to_bytes() != item.to_bytes():
        assert evolved.digest() != old
    for twin in (copy.copy(item), copy.deepcopy(item), pickle.loads(pickle.dumps(item))):
        assert twin == item and twin.digest() == old == sha(twin.to_bytes())


def test_the_digest_is_computed_once_per_item_object(monkeypatch):
    import replicalab.items as items_module

    item = get_policy("item-lww").initial({"x": 1})
    calls = []
    real = hashlib.sha256

    def counting(data=b""):
        calls.append(data)
        return real(data)

    monkeypatch.setattr(items_module.hashlib, "sha256", counting)
    for _ in range(3):
        item.digest()
    assert len(calls) == 1


def cold_build(store: dict[str, bytes], fanout: int, depth: int) -> MerkleTree:
    """The tree built with no key place cached: every key and value hashed."""
    merkle._KEY_PLACES.clear()
    return MerkleTree.build(store, fanout=fanout, depth=depth)


SHAPES = [(2, 0), (2, 6), (4, 3), (16, 2), (256, 1)]


@given(st.sampled_from(SHAPES), st.dictionaries(st.text(max_size=4), items, max_size=25),
       st.randoms(use_true_random=False))
def test_trees_kept_with_cached_digests_equal_trees_built_cold_node_for_node(shape, store, rng):
    """Every way of making a tree from cached digests (a build, single writes, batches,
    deletes), with the key places cached or not, gives the cold tree's nodes exactly."""
    fanout, depth = shape
    values = {k: item.to_bytes() for k, item in store.items()}
    cold = cold_build(values, fanout, depth)
    warm = MerkleTree.from_digests({k: item.digest() for k, item in store.items()}, fanout=fanout, depth=depth)
    assert warm._top == cold._top and warm.root == cold.root and warm.keys() == cold.keys()
    # Replay random writes on both, one by one and in batches; empty the place cache at random.
    cold_t, warm_t = cold, warm
    keys = sorted(store) + ["new", "fresh", "x"]
    for step in range(8):
        if rng.random() < 0.3:
            merkle._KEY_PLACES.clear()
        batch = {rng.choice(keys): (None if rng.random() < 0.2 else rng.choice(list(store.values()) or [None]))
                 for _ in range(rng.randint(1, 4))}
        if step % 2:
            cold_t = cold_t.update({k: None if i is None else i.to_bytes() for k, i in batch.items()})
            warm_t = warm_t.update_digests({k: None if i is None else i.digest() for k, i in batch.items()})
        else:
            for k, i in batch.items():
                cold_t = cold_t.delete(k) if i is None else cold_t.set(k, i.to_bytes())
                warm_t = warm_t.delete(k) if i is None else warm_t.set_digest(k, i.digest())
            values.update({k: i.to_bytes() for k, i in batch.items() if i is not None})
            for k in [k for k, i in batch.items() if i is None]:
                values.pop(k, None)
            assert warm_t._top == cold_t._top == cold_build(values, fanout, depth)._top
            continue
        values.update({k: i.to_bytes() for k, i in batch.items() if i is not None})
        for k in [k for k, i in batch.items() if i is None]:
            values.pop(k, None)
        assert warm_t._top == cold_t._top == cold_build(values, fanout, depth)._top
        assert len(warm_t) == len(values)


def test_the_place_cache_never_changes_a_bucket_and_stays_bounded(monkeypatch):
    monkeypatch.setattr(merkle, "_KEY_PLACES", {})
    monkeypatch.setattr(merkle, "_KEY_PLACES_MAX", 64)
    keys = [f"key{i}" for i in range(300)]
    tree = MerkleTree.empty(fanout=16, depth=3)
    want = [int.from_bytes(sha(k.encode()), "big") >> (256 - 12) for k in keys]
    assert [tree.bucket_of(k) for k in keys] == want  # cold: cached as they go, cleared when full
    assert len(merkle._KEY_PLACES) <= 64
    assert [tree.bucket_of(k) for k in reversed(keys)] == want[::-1]  # warm or evicted: the same
    # A build neither reads nor fills the cache (it places every key itself).
    merkle._KEY_PLACES.clear()
    MerkleTree.build({k: b"v" for k in keys}, fanout=16, depth=3)
    assert merkle._KEY_PLACES == {}

    class Odd(str):
        """A str subclass may redefine equality: it is placed, never cached."""

        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    merkle._KEY_PLACES.clear()
    assert tree.bucket_of(Odd("abc")) == tree.bucket_of("abc") and list(merkle._KEY_PLACES) == ["abc"]


def test_a_cached_place_costs_under_100_bytes_a_key():
    """The memory the merkle module's docstring promises: about 75 bytes a key (the keys
    themselves belong to their stores), so the cache's bound of 2**17 keys is about 10 MB."""
    keys = [f"key{i:07d}" for i in range(50_000)]
    saved = dict(merkle._KEY_PLACES)
    merkle._KEY_PLACES.clear()
    try:
        tracemalloc.start()
        for key in keys:
            merkle._place(key)
        used, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        merkle._KEY_PLACES.clear()
        merkle._KEY_PLACES.update(saved)
    assert used / len(keys) < 100


@pytest.mark.parametrize("bad", [b"short", "x" * 32, None, 32, bytes(33), [0] * 32])
def test_a_bad_digest_is_refused_and_changes_nothing(bad):
    tree = MerkleTree.build({"a": b"1", "b": b"2"}, fanout=4, depth=2)
    root = tree.root
    if bad is not None:
        with pytest.raises(ConfigError, match="must be 32 bytes"):
            tree.set_digest("a", bad)
        with pytest.raises(ConfigError, match="must be 32 bytes"):
            MerkleTree.from_digests({"a": sha(b"1"), "b": bad}, fanout=4, depth=2)
    with pytest.raises(ConfigError, match="must be 32 bytes"):
        tree.update_digests({"a": sha(b"9"), "b": bad if bad is not None else b"", "c": sha(b"3")})
    assert tree.root == root and tree.keys() == ["a", "b"]
    # Any bytes-like digest of 32 bytes is accepted as its bytes.
    assert tree.set_digest("a", bytearray(sha(b"9"))) == tree.set("a", b"9")
    assert MerkleTree.from_digests({"a": memoryview(sha(b"1"))}, fanout=4, depth=2) == \
        MerkleTree.build({"a": b"1"}, fanout=4, depth=2)


def run_session(a_values, a_tree, b_values, b_tree, merge) -> tuple:
    """Both sides of one adaptive session: every message in order, both sides' updates,
    their stats and their session trees' nodes."""
    sa = SyncSession(a_tree, a_values, merge, session="s", adaptive=True)
    sb = SyncSession(b_tree, b_values, merge, session="s", adaptive=True)
    sent: list = []
    flight, turn = sa.start(), 0
    while flight:
        sent += flight
        flight = (sb if turn % 2 == 0 else sa).receive(flight[0])
        turn += 1
    return sent, sa.updates, sb.updates, sa.stats, sb.stats, sa.tree._top, sb.tree._top


def written(n: int, side: str) -> Item:
    stamp = Stamp(n, side, 1)
    return Item((Version.of({"v": Cell(n, f"w-{side}-{n}", stamp)}, write=f"w-{side}-{n}", stamp=stamp),))


@pytest.mark.parametrize(("na", "nb"), [(20, 300), (300, 20), (150, 150)])
def test_sessions_over_cached_digests_repair_exactly_as_sessions_over_bytes(na, nb):
    """A region's snapshot offers its items' cached digests, and a session that must rebuild
    its tree at the agreed depth (the smaller store's side) uses them: every message, every
    update, every count and both session trees are those of a session over plain bytes
    with trees built cold."""
    rng = random.Random(na * 1000 + nb)
    policy = get_policy("item-lww")

    def merge(key, local, remote):  # the region's merge of item bytes (sync_driver._merge_bytes)
        if local is None or remote is None:
            return local if remote is None else remote
        return policy.merge(Item.from_bytes(local), Item.from_bytes(remote)).item.to_bytes()

    shared = {f"k{i:04d}": written(i, "base") for i in range(min(na, nb))}
    a_items = {**shared, **{f"k{i:04d}": written(rng.randint(1, 9), "a") for i in rng.sample(range(400), na - len(shared))}}
    b_items = {**shared, **{f"k{i:04d}": written(rng.randint(1, 9), "b") for i in rng.sample(range(400), nb - len(shared))}}
    for key in rng.sample(sorted(shared), 5):  # and a few shared keys rewritten on one side
        a_items[key] = written(rng.randint(10, 20), "a")
    config = AntiEntropy(fanout=4)
    depth_a, depth_b = config.depth_for(len(a_items)), config.depth_for(len(b_items))
    stores = (ItemStore(a_items), ItemStore(b_items))
    snaps = [KeyspaceIndex().snapshot(store, fanout=4, depth=d) for store, d in zip(stores, (depth_a, depth_b), strict=True)]
    for snap, store in zip(snaps, stores, strict=True):
        assert snap.digests() == {k: sha(item.to_bytes()) for k, item in store.items()}
    real_build = MerkleTree.build.__func__  # type: ignore[attr-defined]

    def no_build(cls, mapping, **shape):  # the warm side must rebuild from digests, not values
        assert type(mapping) is dict, "a session over a snapshot hashed its values again"
        return real_build(cls, mapping, **shape)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MerkleTree, "build", classmethod(no_build))
        warm = run_session(snaps[0], snaps[0].tree, snaps[1], snaps[1].tree, merge)
    cold_a = {k: item.to_bytes() for k, item in a_items.items()}
    cold_b = {k: item.to_bytes() for k, item in b_items.items()}
    cold = run_session(cold_a, cold_build(cold_a, 4, depth_a), cold_b, cold_build(cold_b, 4, depth_b), merge)
    assert warm == cold
    assert warm[1] or warm[2]  # something was repaired
    assert (warm[3].reshaped + warm[4].reshaped) == (depth_a != depth_b)
    for snap in snaps:
        snap.close()
