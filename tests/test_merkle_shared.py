"""Batched updates share equal inner nodes across trees (``replicalab.merkle._SHARED``):
every result still equals a full rebuild, whatever the cache holds or forgets, trees
built apart really share nodes, and variants with other hash functions never do."""

from __future__ import annotations

import random

import pytest

import replicalab.merkle as merkle
from replicalab.merkle import MerkleTree


def rebuilt(mapping: dict[str, bytes], fanout: int, depth: int) -> MerkleTree:
    return MerkleTree.build(mapping, fanout=fanout, depth=depth)


def walk(node, level: int, depth: int):
    """Every inner node object of a tree (by identity), top down."""
    if node is None or level == depth:
        return
    yield node
    for child in node[1]:
        yield from walk(child, level + 1, depth)


@pytest.mark.parametrize(("fanout", "depth"), [(2, 6), (4, 3), (16, 2)])
@pytest.mark.parametrize("cap", [1, 7, 1 << 15])
def test_shared_updates_equal_a_rebuild_whatever_the_cache_holds(fanout, depth, cap, monkeypatch):
    """Replicas apply the same writes in different batches (and some of their own, and
    deletions that empty subtrees); the cache, small or large, only ever changes which
    equal nodes are shared, never a hash, a key or a diff."""
    monkeypatch.setattr(merkle, "_SHARED", {})
    monkeypatch.setattr(merkle, "_SHARED_MAX", cap)
    rng = random.Random(fanout * 100 + depth + cap)
    keys = [f"k{i}" for i in range(120)]
    start = {k: b"v0" for k in keys[:80]}
    stores = [dict(start), dict(start), dict(start)]
    trees = [rebuilt(start, fanout, depth) for _ in stores]  # built apart: no node in common
    for _ in range(25):
        writes = {k: rng.choice([b"a", b"b", None]) for k in rng.sample(keys, rng.randint(1, 12))}
        for i, (store, tree) in enumerate(zip(stores, trees, strict=True)):
            batch = dict(writes)
            if i == 2:  # this replica also writes on its own
                batch.update({k: b"own" for k in rng.sample(keys, 3)})
            for k, v in batch.items():
                if v is None:
                    store.pop(k, None)
                else:
                    store[k] = v
            trees[i] = tree.update(batch)
        if rng.random() < 0.2:
            merkle._SHARED.clear()  # forgetting changes nothing
        for store, tree in zip(stores, trees, strict=True):
            want = rebuilt(store, fanout, depth)
            assert tree == want and tree._top == want._top and len(tree) == len(store)
            assert tree.diff(want) == [] and tree.keys() == sorted(store)
    assert trees[0].diff(trees[2]) == sorted(k for k in set(stores[0]) | set(stores[2])
                                             if stores[0].get(k) != stores[2].get(k))


def test_trees_built_apart_share_equal_subtrees_after_equal_updates(monkeypatch):
    monkeypatch.setattr(merkle, "_SHARED", {})
    start = {f"k{i:03d}": b"v" for i in range(300)}
    a, b = rebuilt(start, 4, 3), rebuilt(start, 4, 3)
    assert not {id(n) for n in walk(a._top, 0, 3)} & {id(n) for n in walk(b._top, 0, 3)}
    change = {"k001": b"new", "k150": b"new", "k299": None}
    a, b = a.update(change), b.update(change)
    assert a._top is b._top  # the second update found every node it needed already made


def test_variants_with_other_hash_functions_never_share(monkeypatch):
    """The test suite's planted-bug trees (other node hashes) must not pick up real nodes."""

    class OtherNodes(MerkleTree):
        _node_digest = staticmethod(lambda children: merkle._sha256(b"\x02" + children).digest())

    monkeypatch.setattr(merkle, "_SHARED", {})
    start = {f"k{i:03d}": b"v" for i in range(50)}
    change = {"k001": b"x", "k002": b"y"}  # a batch: one change alone goes through set, uncached
    real = rebuilt(start, 4, 2).update(change)
    other = OtherNodes.build(start, fanout=4, depth=2).update(change)
    assert merkle._SHARED and real.root != other.root
    assert other._top == OtherNodes.build({**start, **change}, fanout=4, depth=2)._top


def test_variants_with_another_leaf_encoding_never_share(monkeypatch):
    """The cache's soundness rests on *both* hashes being the real ones: equal children
    hashes mean equal subtrees only if no two contents hash alike. The planted keys-only
    leaf (the real node hash, a leaf that ignores values) hashes unequal buckets alike, so
    two such trees must not pick up each other's nodes: each must equal its own rebuild,
    value digests included."""

    class KeysOnly(MerkleTree):
        _leaf_digest = staticmethod(lambda keys, digests: MerkleTree._leaf_digest(keys, bytes(len(digests))))

    monkeypatch.setattr(merkle, "_SHARED", {})
    a_start = {f"k{i:03d}": b"a" for i in range(50)}
    b_start = {f"k{i:03d}": b"b" for i in range(50)}
    change = {"k001": b"x", "k040": b"y"}
    KeysOnly.build(a_start, fanout=4, depth=2).update(change)
    b = KeysOnly.build(b_start, fanout=4, depth=2).update(change)
    want = KeysOnly.build({**b_start, **change}, fanout=4, depth=2)
    assert b._top == want._top
    assert b.digest_of("k002") == merkle._sha256(b"b").digest()


@pytest.mark.parametrize("fanout", [2, 4, 16])
def test_trees_of_other_shapes_never_pick_up_each_others_nodes(fanout, monkeypatch):
    """One cache serves every shape. A node's key is its children's hashes concatenated:
    ``32 * fanout`` bytes, so fan-outs never meet; a subtree's hash fixes its height (leaves
    and inner nodes are domain-separated, and an empty subtree's hash differs per height),
    so trees of other depths only ever share a node they would have built equal. (The
    session's salt and short child hashes are computed from these full hashes per message
    and never enter the tree.) Trees of several depths over the same data, updated with the
    same writes through one cache, each equal their rebuild."""
    monkeypatch.setattr(merkle, "_SHARED", {})
    rng = random.Random(fanout)
    keys = [f"k{i}" for i in range(60)]
    store = {k: b"v0" for k in keys[:40]}
    trees = {depth: rebuilt(store, fanout, depth) for depth in (1, 2, 3, 4)}
    for _ in range(15):
        writes = {k: rng.choice([b"a", b"b", None]) for k in rng.sample(keys, rng.randint(1, 8))}
        for k, v in writes.items():
            if v is None:
                store.pop(k, None)
            else:
                store[k] = v
        for depth, tree in trees.items():
            trees[depth] = tree.update(writes)
            want = rebuilt(store, fanout, depth)
            assert trees[depth]._top == want._top and trees[depth].keys() == sorted(store)


@pytest.mark.parametrize(("fanout", "depth"), [(2, 7), (4, 4), (16, 3)])
def test_updates_make_exactly_the_hashes_their_contract_states(fanout, depth, monkeypatch):
    """B5's accounting, as a contract. Cold (the key's place not cached): ``set`` makes
    ``depth + 3`` SHA-256 calls (key, value, leaf, one per level). Warm (the place cached
    by an earlier write): ``set`` makes ``depth + 2`` and ``set_digest``, given the value's
    digest, ``depth + 1`` -- the bucket and its path, all the update needs. A batch makes,
    per key, one call for its place (cold only) and one for its value (``update`` only), then
    one per changed bucket and exactly one per distinct inner node above them (counted here
    by brute force over the buckets' ancestors), never one per change below a shared ancestor."""
    calls: list[bytes] = []
    real = merkle._sha256

    def counting(data=b""):
        calls.append(bytes(data[:1]))
        return real(data)

    monkeypatch.setattr(merkle, "_SHARED", {})
    start = {f"k{i:03d}": b"v" for i in range(200)}
    tree = rebuilt(start, fanout, depth)
    bits = fanout.bit_length() - 1
    monkeypatch.setattr(merkle, "_sha256", counting)
    for key in ("k007", "new-key"):
        want = rebuilt({**start, key: b"fresh"}, fanout, depth)
        digest = real(b"fresh").digest()
        for how, cold, expected in (("set", True, depth + 3), ("set", False, depth + 2),
                                    ("set_digest", True, depth + 2), ("set_digest", False, depth + 1)):
            if cold:
                merkle._KEY_PLACES.pop(key, None)
            else:
                tree.bucket_of(key)  # an earlier write placed the key
            calls.clear()
            got = tree.set(key, b"fresh") if how == "set" else tree.set_digest(key, digest)
            assert got == want and got._top == want._top
            assert (len(calls), calls.count(b"\x01")) == (expected, depth), (how, cold)
    rng = random.Random(depth)
    for size in (2, 9, 60):
        batch = {k: b"w%d" % size for k in rng.sample(sorted(start), size)}
        digests = {k: real(v).digest() for k, v in batch.items()}
        buckets = {tree.bucket_of(k) for k in batch}
        inner = sum(len({b >> bits * (depth - lvl) for b in buckets}) for lvl in range(depth))
        want = rebuilt({**start, **batch}, fanout, depth)
        for how, cold in (("update", True), ("update", False), ("update_digests", True), ("update_digests", False)):
            for key in batch:
                if cold:
                    merkle._KEY_PLACES.pop(key, None)
                else:
                    tree.bucket_of(key)
            merkle._SHARED.clear()  # else the nodes the last batch made are found, not hashed
            calls.clear()
            got = tree.update(batch) if how == "update" else tree.update_digests(digests)
            assert got == want and got._top == want._top
            per_key = (how == "update") + cold
            assert calls.count(b"\x01") == inner
            assert len(calls) == per_key * size + len(buckets) + inner, (how, cold)
