"""MerkleIndex (issue #20, B5): in-place writes equal a rebuild, and never reach a snapshot.

Random sequences of single writes (``set_digest``, ``set``), deletes, batches
(``update_digests``, ``update``), root reads and snapshots, over crowded and sparse
shapes: after every step the index's root and size, and every snapshot's nodes, equal
``MerkleTree.build`` of the same mapping. Every snapshot taken along the way (and the tree
the index started from) is checked again at the end: its root, nodes and diff against the
final tree must be those of the mapping it was taken from, whatever was written since.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

import replicalab.merkle as merkle
import replicalab.merkle_index as merkle_index
from replicalab.errors import ConfigError
from replicalab.merkle import MerkleTree
from replicalab.merkle_index import MerkleIndex

SHAPES = [(2, 0), (2, 3), (4, 1), (4, 4), (16, 1), (16, 3), (256, 1)]
KEYS = [f"k{i}" for i in range(40)] + ["", "é", "a" * 300]  # a key too long for the inline leaf
VALUES = [b"", b"a", b"b", b"x" * 70]

step = st.one_of(
    st.tuples(st.just("one"), st.sampled_from(KEYS), st.sampled_from([*VALUES, None])),
    st.tuples(st.just("batch"),
              st.dictionaries(st.sampled_from(KEYS), st.sampled_from([*VALUES, None]), min_size=2, max_size=12)),
    st.tuples(st.just("root")),
    st.tuples(st.just("snapshot")),
)


def digest(value: bytes | None) -> bytes | None:
    return None if value is None else hashlib.sha256(value).digest()


def same_tree(tree: MerkleTree, store: dict[str, bytes], fanout: int, depth: int) -> bool:
    want = MerkleTree.build(store, fanout=fanout, depth=depth)
    return tree.root == want.root and tree._top == want._top and len(tree) == len(store)


@given(st.sampled_from(SHAPES), st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=30),
       st.lists(step, max_size=14), st.booleans(), st.booleans())
def test_random_sequences_equal_a_rebuild_and_snapshots_never_change(shape, start, steps, digests, forget):
    fanout, depth = shape
    if forget:  # keys placed or not, shared nodes found or not: never a different tree
        merkle._KEY_PLACES.clear()
        merkle._SHARED.clear()
    store = dict(start)
    first = MerkleTree.build(store, fanout=fanout, depth=depth)
    index = MerkleIndex(first)
    taken = [(first, dict(store))]
    for kind, *args in steps:
        if kind == "root":
            assert index.root == MerkleTree.build(store, fanout=fanout, depth=depth).root
            continue
        if kind == "snapshot":
            snap = index.snapshot()
            assert same_tree(snap, store, fanout, depth)
            taken.append((snap, dict(store)))
            continue
        if kind == "one":
            key, value = args
            if value is None:
                index.delete(key)
            elif digests:
                index.set_digest(key, hashlib.sha256(value).digest())
            else:
                index.set(key, value)
            changes = {key: value}
        else:
            (changes,) = args
            if digests:
                index.update_digests({k: digest(v) for k, v in changes.items()})
            else:
                index.update(changes)
        for key, value in changes.items():
            if value is None:
                store.pop(key, None)
            else:
                store[key] = value
        assert len(index) == len(store)
    final = index.snapshot()
    assert same_tree(final, store, fanout, depth)
    rebuilt = MerkleTree.build(store, fanout=fanout, depth=depth)
    for snap, then in taken:  # written to ever since: each still the tree of its own moment
        assert same_tree(snap, then, fanout, depth)
        assert snap.diff(final) == MerkleTree.build(then, fanout=fanout, depth=depth).diff(rebuilt)


def test_writes_after_a_snapshot_copy_instead_of_changing_it():
    """The lesson of copy-on-write: a snapshot someone holds is a value. The index keeps
    writing to the very nodes it froze into the snapshot only after copying them."""
    tree = MerkleTree.build({f"k{i}": b"v" for i in range(50)}, fanout=4, depth=3)
    index = MerkleIndex(tree)
    index.set("k1", b"changed")
    held = index.snapshot()
    root, diff = held.root, held.diff(tree)
    for i in range(50):
        index.set(f"k{i}", b"again")
        assert index.root  # hashes in place: must not touch the held snapshot's nodes
    index.delete("k2")
    index.snapshot()
    assert (held.root, held.diff(tree)) == (root, diff) == (root, ["k1"])
    assert tree == MerkleTree.build({f"k{i}": b"v" for i in range(50)}, fanout=4, depth=3)


def test_deleting_every_key_leaves_the_empty_tree_node_for_node():
    tree = MerkleTree.build({f"k{i}": b"v" for i in range(30)}, fanout=4, depth=2)
    index = MerkleIndex(tree)
    index.update({f"k{i}": None for i in range(30)})
    index.delete("absent")
    snap = index.snapshot()
    assert snap._top is None and snap == MerkleTree.empty(fanout=4, depth=2) and len(index) == 0


def test_snapshots_share_equal_subtrees_with_the_tree_update_makes():
    """B8's memory: replicas applying the same writes share inner nodes, whichever way they wrote."""
    merkle._SHARED.clear()
    start = MerkleTree.build({f"k{i}": b"v" for i in range(200)}, fanout=16, depth=2)
    changes = {f"k{i}": b"w" for i in range(0, 200, 7)}
    by_value = start.update(changes)
    index = MerkleIndex(start)
    index.update(changes)
    snap = index.snapshot()
    assert snap == by_value
    assert all(a is b for a, b in zip(snap._top[1], by_value._top[1], strict=True))


@pytest.mark.parametrize("node_digest", ["xor", "keys"])
def test_a_tree_class_with_other_hashes_is_indexed_with_its_own(node_digest):
    """The planted-bug variants of the test suite hash through the class: so must the index."""

    class Variant(MerkleTree):
        if node_digest == "xor":
            _node_digest = staticmethod(lambda children: bytes(32) if not children else
                                        bytes(a ^ b for a, b in zip(children[:32], children[32:64], strict=True)))
        else:
            _leaf_digest = staticmethod(lambda keys, digests: hashlib.sha256(b"".join(keys)).digest())

    store = {f"k{i}": b"v%d" % i for i in range(40)}
    index = MerkleIndex(Variant.build(store, fanout=2, depth=3))
    index.update({"k1": None, "k2": b"new", "k99": b"x"})
    store.pop("k1")
    store.update({"k2": b"new", "k99": b"x"})
    snap = index.snapshot()
    assert type(snap) is Variant
    assert snap.root == Variant.build(store, fanout=2, depth=3).root


@pytest.mark.parametrize(("call", "args"), [
    ("set", (1, b"v")), ("set", ("k", "text")), ("set_digest", ("k", b"short")), ("delete", (None,)),
    ("update", ({"a": b"1", "b": 2},)), ("update_digests", ({"a": bytes(32), 3: bytes(32)},)),
    ("update", ([("a", b"1")],)), ("set", ("\ud800", b"v")),
])
def test_a_rejected_write_raises_config_error_and_changes_nothing(call, args):
    tree = MerkleTree.build({"a": b"0", "k": b"1"}, fanout=4, depth=2)
    index = MerkleIndex(tree)
    index.set("k", b"2")
    before = index.snapshot()
    with pytest.raises(ConfigError):
        getattr(index, call)(*args)
    assert index.snapshot() == before and index.snapshot()._top == before._top and len(index) == 2


def test_only_a_merkle_tree_starts_an_index():
    with pytest.raises(ConfigError, match="MerkleTree"):
        MerkleIndex({"a": b"1"})  # type: ignore[arg-type]


# -- the direct rewrite (issue #20: a key written again goes straight to its bucket) ----------

FEW = [f"k{i}" for i in range(12)] + ["é", "a" * 300]  # few keys: rewrites, crowded buckets
rewrite_step = st.one_of(
    st.tuples(st.just("one"), st.sampled_from(FEW), st.sampled_from([*VALUES, None])),
    st.tuples(st.just("one"), st.sampled_from(FEW), st.sampled_from(VALUES)),  # rewrites more often
    st.tuples(st.just("batch"),
              st.dictionaries(st.sampled_from(FEW), st.sampled_from([*VALUES, None]), min_size=2, max_size=8)),
    st.tuples(st.just("root")),
    st.tuples(st.just("snapshot")),
)


@given(st.sampled_from([(2, 1), (4, 1), (4, 2), (16, 1), (2, 4)]),
       st.dictionaries(st.sampled_from(FEW), st.sampled_from(VALUES), max_size=6),
       st.lists(rewrite_step, max_size=40), st.integers(1, 4))
def test_rewrites_of_remembered_keys_equal_a_rebuild(shape, start, steps, cap):
    """Keys written again and again, alone or crowded in a bucket, beside keys joining and leaving
    their bucket (also earlier in the same batch), deletes that empty subtrees, and a memory of
    keys so small (``cap``) it is forgotten all the time: after every step the root equals a
    rebuild's, and every snapshot stays the tree of its moment."""
    fanout, depth = shape
    old_cap = merkle_index._SPOTS_MAX
    merkle_index._SPOTS_MAX = cap
    try:
        store = dict(start)
        index = MerkleIndex(MerkleTree.build(store, fanout=fanout, depth=depth))
        taken = []
        for kind, *args in steps:
            if kind == "snapshot":
                taken.append((index.snapshot(), dict(store)))
                continue
            if kind == "one":
                key, value = args
                if value is None:
                    index.delete(key)
                else:
                    index.set_digest(key, hashlib.sha256(value).digest())
                changes = {key: value}
            elif kind == "batch":
                (changes,) = args
                index.update_digests({k: digest(v) for k, v in changes.items()})
            else:
                changes = {}
            for key, value in changes.items():
                if value is None:
                    store.pop(key, None)
                else:
                    store[key] = value
            assert index.root == MerkleTree.build(store, fanout=fanout, depth=depth).root
            assert len(index) == len(store)
        assert same_tree(index.snapshot(), store, fanout, depth)
        for snap, then in taken:
            assert same_tree(snap, then, fanout, depth)
    finally:
        merkle_index._SPOTS_MAX = old_cap


def same_bucket_keys(tree: MerkleTree, count: int) -> list[str]:
    """``count`` keys that share one bucket of ``tree``'s shape."""
    by_bucket: dict[int, list[str]] = {}
    for i in range(10_000):
        found = by_bucket.setdefault(tree.bucket_of(f"s{i}"), [])
        found.append(f"s{i}")
        if len(found) == count:
            return found
    raise AssertionError("no crowded bucket")


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("story", ["joined", "left", "joined a crowd", "left a crowd"])
def test_a_remembered_key_sees_its_bucket_change(story, batch):
    """A key is written (and remembered), then another key joins or leaves its bucket, then the
    first is written again (alone, or in a batch right after the other change): the rewrite must
    see the bucket as it is now, not as it was remembered."""
    tree = MerkleTree.build({}, fanout=4, depth=2)
    a, b, c = same_bucket_keys(tree, 3)
    store = {"joined": {a: b"1"}, "left": {a: b"1", b: b"2"}, "joined a crowd": {a: b"1", b: b"2"},
             "left a crowd": {a: b"1", b: b"2", c: b"3"}}[story]
    index = MerkleIndex(MerkleTree.build(store, fanout=4, depth=2))
    index.set(a, b"again")  # remembered, with the bucket's keys as they are now
    store[a] = b"again"
    key, value = {"joined": (b, b"2"), "left": (b, None), "joined a crowd": (c, b"3"), "left a crowd": (b, None)}[story]
    if batch:
        index.update({key: value, a: b"third"})  # the other change first, then the rewrite
    else:
        if value is None:
            index.delete(key)
        else:
            index.set(key, value)
        index.set(a, b"third")
    if value is None:
        del store[key]
    else:
        store[key] = value
    store[a] = b"third"
    assert same_tree(index.snapshot(), store, 4, 2)


@pytest.mark.parametrize("crowd", [1, 2, 3, 4, 6])
def test_every_key_of_a_crowded_bucket_rewritten_in_place_equals_a_rebuild(crowd):
    """Buckets of one, two, three (inlined) and more keys: each key, at each position, rewritten
    twice (the second time in place) gives the rebuild's leaf, byte for byte."""
    tree = MerkleTree.build({}, fanout=4, depth=1)
    keys = same_bucket_keys(tree, crowd)
    store = dict.fromkeys(keys, b"v")
    index = MerkleIndex(MerkleTree.build(store, fanout=4, depth=1))
    for n, key in enumerate(sorted(keys) * 2):
        index.set_digest(key, hashlib.sha256(b"w%d" % n).digest())
        store[key] = b"w%d" % n
        assert index.root == MerkleTree.build(store, fanout=4, depth=1).root
    assert same_tree(index.snapshot(), store, 4, 1)


def test_a_key_written_again_walks_no_tree(monkeypatch):
    """The rewrite really is direct (so the equality tests above exercise it): with the tree walk
    removed, rewriting keys already written, alone in their bucket or not, still works."""
    store = {f"k{i}": b"v" for i in range(60)}
    tree = MerkleTree.build(store, fanout=4, depth=2)  # 16 buckets: most keys share theirs
    index = MerkleIndex(tree)
    index.update({k: b"w" for k in store})

    def no_walk(*args):
        raise AssertionError("a remembered key took the tree walk")

    monkeypatch.setattr(MerkleIndex, "_write", no_walk)
    for i, key in enumerate(store):
        index.set_digest(key, hashlib.sha256(b"x%d" % i).digest())
        store[key] = b"x%d" % i
    index.update_digests({k: hashlib.sha256(b"y").digest() for k in list(store)[:30]})
    store.update(dict.fromkeys(list(store)[:30], b"y"))
    assert same_tree(index.snapshot(), store, 4, 2)


def counted(monkeypatch) -> list[bytes]:
    """Every SHA-256 input the index hashes from now on."""
    inputs: list[bytes] = []
    real = merkle_index._sha256

    def counting(data=b""):
        inputs.append(bytes(data))
        return real(data)

    monkeypatch.setattr(merkle_index, "_sha256", counting)
    return inputs


@pytest.mark.parametrize("d", [1, 2, 7, 40])  # 40: two of the keys share a bucket
def test_a_rewrite_hashes_each_bucket_and_each_node_above_once(d, monkeypatch):
    """Issue #20's count: rewriting ``d`` keys and reading the root hashes each key's bucket once
    per write (two keys of one bucket: twice) and each inner node above a changed bucket once
    (counted against the distinct bucket-path prefixes), and nothing else: no key, no value, no
    node twice."""
    fanout, depth = 16, 3
    store = {f"key{i:05d}": b"v" for i in range(3000)}
    index = MerkleIndex(MerkleTree.build(store, fanout=fanout, depth=depth))
    keys = list(store)[:: 3000 // d][:d]
    index.update({k: b"first" for k in keys})  # written once: remembered
    _ = index.root
    tree = MerkleTree.build(store, fanout=fanout, depth=depth)
    buckets = {tree.bucket_of(k) for k in keys}
    inner = {(lvl, b // fanout ** (depth - lvl)) for b in buckets for lvl in range(depth)}
    inputs = counted(monkeypatch)
    if d == 1:
        index.set_digest(keys[0], hashlib.sha256(b"again").digest())
    else:
        index.update_digests({k: hashlib.sha256(b"again").digest() for k in keys})
    root = index.root
    assert sum(x[:1] == b"\x01" for x in inputs) == len(inner)
    assert sum(x[:1] == b"\x00" for x in inputs) == d and len(inputs) == len(inner) + d
    assert root == MerkleTree.build({**store, **dict.fromkeys(keys, b"again")}, fanout=fanout, depth=depth).root
