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
