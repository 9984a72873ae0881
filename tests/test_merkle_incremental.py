"""Incremental keyspace-tree updates (issue #20, B5) equal a from-scratch build, node for node.

Random sequences of single writes (``set_digest``, ``set``), deletes and batches
(``update_digests``, ``update``), over shapes whose buckets are crowded (shallow trees)
or hold about one key (deep trees): after every step the tree's root, its nodes and its
size equal ``MerkleTree.build`` of the same mapping. The sequences hit each case of the
one-change bucket path (a new key in an empty bucket, a value replaced, rewritten
unchanged, the only key deleted, a key deleted that is absent) and of the general one
(crowded buckets, several changes to one bucket, subtrees emptied and refilled).
"""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

import replicalab.merkle as merkle
from replicalab.merkle import MerkleTree

SHAPES = [(2, 0), (2, 3), (4, 1), (4, 4), (16, 1), (16, 3), (256, 1)]
KEYS = [f"k{i}" for i in range(40)] + ["", "é", "a" * 300]  # a key too long for the inline leaf
VALUES = [b"", b"a", b"b", b"x" * 70]

step = st.one_of(
    st.tuples(st.just("one"), st.sampled_from(KEYS), st.sampled_from([*VALUES, None])),
    st.tuples(st.just("batch"),
              st.dictionaries(st.sampled_from(KEYS), st.sampled_from([*VALUES, None]), min_size=2, max_size=12)),
)


def digest(value: bytes | None) -> bytes | None:
    return None if value is None else hashlib.sha256(value).digest()


@given(st.sampled_from(SHAPES), st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=30),
       st.lists(step, max_size=12), st.booleans(), st.booleans())
def test_random_update_sequences_equal_a_rebuild_after_every_step(shape, start, steps, digests, forget):
    fanout, depth = shape
    if forget:  # keys placed or not, shared nodes found or not: never a different tree
        merkle._KEY_PLACES.clear()
        merkle._SHARED.clear()
    store = dict(start)
    tree = MerkleTree.build(store, fanout=fanout, depth=depth)
    for kind, *args in steps:
        if kind == "one":
            key, value = args
            if value is None:
                tree = tree.delete(key)
            elif digests:
                tree = tree.set_digest(key, hashlib.sha256(value).digest())
            else:
                tree = tree.set(key, value)
            changes = {key: value}
        else:
            (changes,) = args
            tree = (tree.update_digests({k: digest(v) for k, v in changes.items()}) if digests
                    else tree.update(changes))
        for key, value in changes.items():
            if value is None:
                store.pop(key, None)
            else:
                store[key] = value
        want = MerkleTree.build(store, fanout=fanout, depth=depth)
        assert tree.root == want.root and tree._top == want._top and len(tree) == len(store)
