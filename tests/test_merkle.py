"""Merkle trees: RFC 6962 roots and audit paths against published vectors and an independent
reference, the keyspace tree against brute force, and planted bugs the checks must catch."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replicalab.errors import ConfigError
from replicalab.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    inclusion_proof,
    rfc6962_root,
    suggested_depth,
    verify_inclusion,
)


def H(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# ---------------------------------------------------------------------------
# An independent reference, written straight from the text of RFC 6962 §2.1 and §2.1.1


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]): SHA-256() for n = 0, SHA-256(0x00 || d0) for n = 1, else split at k."""
    n = len(leaves)
    if n == 0:
        return H(b"")
    if n == 1:
        return H(b"\x00" + leaves[0])
    k = largest_power_of_two_below(n)
    return H(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:]))


def ref_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): for m < k, PATH(m, D[0:k]) : MTH(D[k:n]); else PATH(m - k, D[k:n]) : MTH(D[0:k])."""
    n = len(leaves)
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return ref_path(m, leaves[:k]) + [ref_mth(leaves[k:])]
    return ref_path(m - k, leaves[k:]) + [ref_mth(leaves[:k])]


# ---------------------------------------------------------------------------
# Published vectors: the Certificate Transparency reference leaves (transparency-dev/merkle,
# testonly/constants.go), the roots of their first n leaves, and two audit paths.

CT_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PROOFS = [  # (index, size, path)
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]


def test_the_reference_reproduces_the_published_vectors():
    """Trust the reference only because it agrees with the published numbers."""
    for n in range(9):
        assert ref_mth(CT_LEAVES[:n]).hex() == CT_ROOTS[n]
    for index, size, path in CT_PROOFS:
        assert [p.hex() for p in ref_path(index, CT_LEAVES[:size])] == path


@pytest.mark.parametrize("n", range(9))
def test_golden_roots_of_0_to_8_leaves(n):
    assert rfc6962_root(CT_LEAVES[:n]).hex() == CT_ROOTS[n]


def test_empty_tree_and_one_empty_leaf():
    assert rfc6962_root([]) == EMPTY_ROOT == H(b"")
    assert rfc6962_root([]).hex().startswith("e3b0c442")
    assert rfc6962_root([b""]).hex().startswith("6e340b9c")


@pytest.mark.parametrize(("index", "size", "path"), CT_PROOFS)
def test_golden_inclusion_proofs(index, size, path):
    proof = inclusion_proof(CT_LEAVES[:size], index)
    assert [p.hex() for p in proof] == path
    assert verify_inclusion(CT_LEAVES[index], index, size, proof, bytes.fromhex(CT_ROOTS[size]))


def tampered_claims(leaves, index, proof, root):
    """Claims that must all fail: another leaf, index or root; an altered, missing or extra path entry."""
    n = len(leaves)
    other_leaf = leaves[index] + b"!"
    yield "leaf", (other_leaf, index, n, proof, root)
    for j in range(n):
        if j != index and leaves[j] != leaves[index]:
            yield f"index {j}", (leaves[index], j, n, proof, root)
    yield "root", (leaves[index], index, n, proof, H(root))
    yield "index out of range", (leaves[index], n, n, proof, root)
    for i in range(len(proof)):
        flipped = bytes([proof[i][0] ^ 1]) + proof[i][1:]
        yield f"path[{i}] flipped", (leaves[index], index, n, [*proof[:i], flipped, *proof[i + 1:]], root)
        yield f"path[{i}] dropped", (leaves[index], index, n, proof[:i] + proof[i + 1:], root)
        yield f"path[{i}] truncated", (leaves[index], index, n, [*proof[:i], proof[i][:31], *proof[i + 1:]], root)
    yield "extra entry", (leaves[index], index, n, [*proof, H(b"x")], root)
    if len(proof) > 1 and proof[0] != proof[1]:
        yield "swapped entries", (leaves[index], index, n, [proof[1], proof[0], *proof[2:]], root)


@pytest.mark.parametrize("n", range(1, 9))
def test_every_proof_of_0_to_8_leaves_matches_the_reference_verifies_and_resists_tampering(n):
    leaves = CT_LEAVES[:n]
    root = rfc6962_root(leaves)
    assert root == ref_mth(leaves)
    for index in range(n):
        proof = inclusion_proof(leaves, index)
        assert proof == ref_path(index, leaves)
        assert verify_inclusion(leaves[index], index, n, proof, root)
        for what, claim in tampered_claims(leaves, index, proof, root):
            assert not verify_inclusion(*claim), f"n={n}, index={index}: tampered {what} verified"


leaf_lists = st.lists(st.binary(max_size=6), max_size=40)


@given(leaf_lists, st.data())
def test_random_trees_agree_with_the_reference_and_proofs_verify(leaves, data):
    root = rfc6962_root(leaves)
    assert root == ref_mth(leaves)
    if not leaves:
        return
    index = data.draw(st.integers(0, len(leaves) - 1))
    proof = inclusion_proof(leaves, index)
    assert proof == ref_path(index, leaves)
    assert verify_inclusion(leaves[index], index, len(leaves), proof, root)
    for what, claim in tampered_claims(leaves, index, proof, root):
        assert not verify_inclusion(*claim), f"tampered {what} verified"


def test_proof_sizes_follow_the_tree_shape():
    leaves = [i.to_bytes(2, "big") for i in range(257)]
    assert len(inclusion_proof(leaves, 0)) == 9
    assert len(inclusion_proof(leaves, 255)) == 9
    assert len(inclusion_proof(leaves, 256)) == 1  # the promoted odd leaf: one sibling, no duplicate


def test_bytes_like_leaves_hash_like_bytes():
    assert rfc6962_root([bytearray(b"a"), memoryview(b"b")]) == rfc6962_root([b"a", b"b"])


@pytest.mark.parametrize(("call", "message"), [
    (lambda: rfc6962_root(b"ab"), "list or tuple of bytes"),
    (lambda: rfc6962_root("ab"), "list or tuple of bytes"),
    (lambda: rfc6962_root({b"a": 1}), "list or tuple of bytes"),
    (lambda: rfc6962_root([b"a", "b"]), r"leaves\[1\] must be bytes"),
    (lambda: rfc6962_root([b"a", 5]), r"leaves\[1\] must be bytes"),
    (lambda: inclusion_proof([b"a", b"b"], 2), "from 0 to 1"),
    (lambda: inclusion_proof([b"a", b"b"], -1), "from 0 to 1"),
    (lambda: inclusion_proof([b"a", b"b"], True), "from 0 to 1"),
    (lambda: inclusion_proof([], 0), "the tree is empty"),
    (lambda: verify_inclusion("a", 0, 1, [], EMPTY_ROOT), "leaf must be"),
    (lambda: verify_inclusion(b"a", -1, 1, [], EMPTY_ROOT), "index must be"),
    (lambda: verify_inclusion(b"a", 0, 1.0, [], EMPTY_ROOT), "size must be"),
    (lambda: verify_inclusion(b"a", 0, 1, b"x" * 32, EMPTY_ROOT), "proof must be"),
    (lambda: verify_inclusion(b"a", 0, 1, ["x" * 32], EMPTY_ROOT), r"proof\[0\] must be"),
    (lambda: verify_inclusion(b"a", 0, 1, [], EMPTY_ROOT.hex()), "root must be"),
])
def test_bad_input_raises_config_error_saying_what_is_valid(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_claims_outside_the_tree_are_false_not_errors():
    assert not verify_inclusion(b"a", 0, 0, [], EMPTY_ROOT)
    assert not verify_inclusion(b"a", 3, 2, [H(b"x")], EMPTY_ROOT)


# ---------------------------------------------------------------------------
# Planted bugs in RFC 6962 hashing: each broken variant must fail the same checks


def make_root(leaf: Callable[[bytes], bytes], node: Callable[[bytes, bytes], bytes],
              odd: str = "promote") -> Callable[[Sequence[bytes]], bytes]:
    """A level-by-level Merkle root with pluggable ingredients (for planting bugs)."""
    def root(leaves: Sequence[bytes]) -> bytes:
        if not leaves:
            return H(b"")
        level = [leaf(x) for x in leaves]
        while len(level) > 1:
            if len(level) % 2 and odd == "duplicate":
                level = [*level, level[-1]]
            up = [node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            level = up + ([level[-1]] if len(level) % 2 else [])
        return level[0]
    return root


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


RFC_VARIANTS: dict[str, Callable[[Sequence[bytes]], bytes]] = {
    "replicalab": rfc6962_root,
    "XOR combining": make_root(lambda d: H(b"\x00" + d), _xor),
    "no leaf/node domain separation": make_root(H, lambda a, b: H(a + b)),
    "odd-node duplication": make_root(lambda d: H(b"\x00" + d), lambda a, b: H(b"\x01" + a + b),
                                      odd="duplicate"),
}

A, B, C = b"alpha", b"beta", b"gamma"
RFC_CHECKS: dict[str, Callable[[Callable[[Sequence[bytes]], bytes]], bool]] = {
    "golden roots": lambda root: all(root(CT_LEAVES[:n]).hex() == CT_ROOTS[n] for n in range(9)),
    "agrees with the reference": lambda root: all(
        root(leaves) == ref_mth(leaves) for leaves in ([A], [A, B], [A, B, C], [A, B, C, A, B])),
    "order matters": lambda root: root([A, B]) != root([B, A]),
    "equal pairs do not cancel": lambda root: root([A, A]) != root([B, B]),
    "a leaf cannot pose as a node": lambda root: root([A, B]) != root([H(b"\x00" + A) + H(b"\x00" + B)])
    and root([A, B]) != root([H(A) + H(B)]),
    "no duplicate-leaf collision (CVE-2012-2459)": lambda root: root([A, B, C]) != root([A, B, C, C]),
}
RFC_MUST_CATCH = {  # the behavioural check that explains each bug
    "XOR combining": {"order matters", "equal pairs do not cancel"},
    "no leaf/node domain separation": {"a leaf cannot pose as a node"},
    "odd-node duplication": {"no duplicate-leaf collision (CVE-2012-2459)"},
}


def failed_checks(checks, impl) -> set[str]:
    return {name for name, check in checks.items() if not check(impl)}


def test_replicalab_passes_every_rfc_check():
    assert failed_checks(RFC_CHECKS, rfc6962_root) == set()


@pytest.mark.parametrize("variant", sorted(RFC_MUST_CATCH))
def test_planted_rfc_bug_is_caught(variant):
    failed = failed_checks(RFC_CHECKS, RFC_VARIANTS[variant])
    assert "golden roots" in failed
    assert RFC_MUST_CATCH[variant] <= failed, f"{variant} slipped past {RFC_MUST_CATCH[variant] - failed}"


# ---------------------------------------------------------------------------
# Keyspace trees: an independent reference (dense, recursive, straight from the docstring)


def ref_bucket(key: str, fanout: int, depth: int) -> int:
    bits = fanout.bit_length() - 1
    return int.from_bytes(H(key.encode("utf-8"))[:8], "big") >> (64 - depth * bits)


def ref_bucket_encoding(mapping: Mapping[str, bytes], fanout: int, depth: int, bucket: int) -> bytes:
    entries = sorted((k.encode("utf-8"), H(v)) for k, v in mapping.items()
                     if ref_bucket(k, fanout, depth) == bucket)
    return b"".join(len(k).to_bytes(4, "big") + k + d for k, d in entries)


def ref_keyspace_root(mapping: Mapping[str, bytes], fanout: int, depth: int) -> bytes:
    level = [H(b"\x00" + ref_bucket_encoding(mapping, fanout, depth, b)) for b in range(fanout**depth)]
    while len(level) > 1:
        level = [H(b"\x01" + b"".join(level[i:i + fanout])) for i in range(0, len(level), fanout)]
    return level[0]


def brute_diff(a: Mapping[str, bytes], b: Mapping[str, bytes]) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


FRUIT = {"apple": b"1", "pear": b"2", "plum": b"3", "fig": b"", "caf\u00e9": b"\x00\xff"}
HUNDRED = {f"key{i:03d}": f"value{i}".encode() for i in range(100)}
GOLDEN_KEYSPACE = [  # (mapping, fanout, depth, root): pinned once from ref_keyspace_root
    ({}, 16, 4, "159f6b9faa49a480ff694c40ec8df7e85b52f325fb790aa06544390990d349b0"),
    ({}, 2, 0, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),  # SHA-256(0x00)
    (FRUIT, 4, 2, "95225b3b7a6a35fd297dae0af27e48f30c6444a75d8b99edc8355e76c92bcc56"),
    (FRUIT, 2, 3, "379093be0cb9659343a818f7bce91ae6b5f0286e81dec6f38e36ecce97e8ccc2"),
    (HUNDRED, 16, 2, "dcb1ebc74e9381d20fad0ba0faf91d32b7caab88f322911078f449d4ab33ef4b"),
    (HUNDRED, 256, 1, "6fb691307788a1efc01fed328ab4e2c17e31b7384d90449679df96de2dd54fcf"),
]


@pytest.mark.parametrize(("mapping", "fanout", "depth", "root"), GOLDEN_KEYSPACE)
def test_golden_keyspace_roots(mapping, fanout, depth, root):
    assert ref_keyspace_root(mapping, fanout, depth).hex() == root
    assert MerkleTree.build(mapping, fanout=fanout, depth=depth).root.hex() == root


KEY_ALPHABET = "abcé中😀"
keys = st.text(alphabet=KEY_ALPHABET, max_size=3)
values = st.binary(max_size=3)
mappings = st.dictionaries(keys, values, max_size=12)
SHAPES = [(2, 0), (2, 1), (2, 3), (4, 2), (16, 1), (16, 2), (256, 1)]
shapes = st.sampled_from(SHAPES)


@st.composite
def replica_pairs(draw):
    """Two mappings that share most keys: some missing on one side, some extra, some changed."""
    base = draw(mappings)
    other = dict(base)
    for key in draw(st.lists(st.sampled_from(sorted(base)), unique=True)) if base else []:
        action = draw(st.sampled_from(["drop", "change", "keep"]))
        if action == "drop":
            del other[key]
        elif action == "change":
            other[key] = base[key] + draw(st.binary(min_size=1, max_size=2))
    other.update(draw(st.dictionaries(keys, values, max_size=4)))
    return base, other


@given(mappings, shapes)
def test_keyspace_root_matches_the_reference(mapping, shape):
    fanout, depth = shape
    assert MerkleTree.build(mapping, fanout=fanout, depth=depth).root == ref_keyspace_root(mapping, fanout, depth)


@given(mappings, st.sampled_from([0, 1, 3]))
def test_a_binary_keyspace_tree_is_an_rfc6962_tree_of_its_bucket_encodings(mapping, depth):
    encodings = [ref_bucket_encoding(mapping, 2, depth, b) for b in range(2**depth)]
    assert MerkleTree.build(mapping, fanout=2, depth=depth).root == rfc6962_root(encodings)


@given(replica_pairs(), shapes)
def test_diff_has_no_false_negatives_against_brute_force(pair, shape):
    a, b = pair
    fanout, depth = shape
    ta = MerkleTree.build(a, fanout=fanout, depth=depth)
    tb = MerkleTree.build(b, fanout=fanout, depth=depth)
    assert ta.diff(tb) == brute_diff(a, b)
    assert tb.diff(ta) == brute_diff(a, b)
    assert (ta == tb) == (a == b)


@given(mappings.filter(bool), shapes, st.data())
def test_changed_values_with_the_same_keys_are_found(mapping, shape, data):
    fanout, depth = shape
    changed = data.draw(st.lists(st.sampled_from(sorted(mapping)), min_size=1, unique=True))
    other = {k: (v + b"*" if k in changed else v) for k, v in mapping.items()}
    ta = MerkleTree.build(mapping, fanout=fanout, depth=depth)
    tb = MerkleTree.build(other, fanout=fanout, depth=depth)
    assert ta.root != tb.root
    assert ta.diff(tb) == sorted(changed)


@given(mappings, shapes, st.randoms(use_true_random=False))
def test_root_is_independent_of_insertion_order(mapping, shape, rng):
    fanout, depth = shape
    items = list(mapping.items())
    rng.shuffle(items)
    built = MerkleTree.build(dict(items), fanout=fanout, depth=depth)
    incremental = MerkleTree.empty(fanout=fanout, depth=depth)
    for key, value in items:
        incremental = incremental.set(key, value)
    assert built == incremental == MerkleTree.build(mapping, fanout=fanout, depth=depth)


ops = st.lists(st.tuples(st.sampled_from(["set", "delete"]), keys, values), max_size=20)


@given(mappings, ops, shapes)
def test_incremental_updates_equal_a_rebuild(mapping, operations, shape):
    fanout, depth = shape
    tree = MerkleTree.build(mapping, fanout=fanout, depth=depth)
    model = dict(mapping)
    for op, key, value in operations:
        before = tree
        if op == "set":
            tree = tree.set(key, value)
            model[key] = value
        else:
            tree = tree.delete(key)
            model.pop(key, None)
        assert before.diff(tree) == [] or before != tree  # old trees are values: never mutated
    rebuilt = MerkleTree.build(model, fanout=fanout, depth=depth)
    assert tree == rebuilt
    assert len(tree) == len(model) and tree.keys() == sorted(model)
    assert tree.diff(rebuilt) == []
    assert all(tree.digest_of(k) == H(v) for k, v in model.items())
    assert MerkleTree.build(mapping, fanout=fanout, depth=depth) == MerkleTree.build(
        mapping, fanout=fanout, depth=depth)


changes = st.dictionaries(keys, st.one_of(st.none(), values), max_size=20)


@given(mappings, changes, shapes)
def test_a_batch_update_equals_a_rebuild_node_for_node(mapping, batch, shape):
    """update() rehashes each ancestor once for the whole batch; the tree it returns is the
    rebuilt tree, down to where empty subtrees are left out (None)."""
    fanout, depth = shape
    tree = MerkleTree.build(mapping, fanout=fanout, depth=depth)
    model = dict(mapping)
    for key, value in batch.items():
        if value is None:
            model.pop(key, None)
        else:
            model[key] = value
    updated = tree.update(batch)
    rebuilt = MerkleTree.build(model, fanout=fanout, depth=depth)
    assert updated == rebuilt and updated._top == rebuilt._top
    assert len(updated) == len(model) and updated.keys() == sorted(model)
    assert tree == MerkleTree.build(mapping, fanout=fanout, depth=depth)  # the old tree is untouched
    if model == mapping:
        assert updated is tree  # no change, no new tree


def test_a_batch_update_rejects_bad_keys_and_values_with_config_error():
    tree = MerkleTree.build({"a": b"1"}, fanout=4, depth=2)
    for bad in ({1: b"x"}, {"a": "text"}, {"\ud800": b"x"}, [("a", b"1")]):
        with pytest.raises(ConfigError):
            tree.update(bad)  # type: ignore[arg-type]
    assert tree == MerkleTree.build({"a": b"1"}, fanout=4, depth=2)


def test_verbs_return_new_trees_and_leave_the_old_one_alone():
    tree = MerkleTree.build({"a": b"1"}, fanout=4, depth=2)
    root = tree.root
    grown = tree.set("b", b"2")
    assert tree.root == root and len(tree) == 1 and "b" not in tree
    assert len(grown) == 2 and "b" in grown
    assert grown.delete("b") == tree and grown.delete("b").delete("b") == tree
    assert tree.set("a", b"1") is tree  # no change, no new tree
    assert tree.delete("zzz") is tree


def test_emptying_a_tree_gives_the_empty_tree():
    tree = MerkleTree.build({"a": b"1", "b": b"2"}, fanout=2, depth=3)
    assert tree.delete("a").delete("b") == MerkleTree.empty(fanout=2, depth=3)
    assert tree.delete("a").delete("b").root == MerkleTree.build({}, fanout=2, depth=3).root


def test_node_and_bucket_accessors_describe_the_tree():
    mapping = {f"k{i}": bytes([i]) for i in range(20)}
    tree = MerkleTree.build(mapping, fanout=4, depth=2)
    assert tree.buckets == 16 and tree.node_hash(0, 0) == tree.root
    for parent in range(4):
        children = tree.child_hashes(1, parent)
        assert children == tuple(tree.node_hash(2, parent * 4 + j) for j in range(4))
        assert tree.node_hash(1, parent) == H(b"\x01" + b"".join(children))
    seen = []
    for bucket in range(16):
        entries = tree.bucket(bucket)
        assert [k for k, _ in entries] == sorted(k for k in mapping if tree.bucket_of(k) == bucket)
        assert all(d == H(mapping[k]) for k, d in entries)
        seen += [k for k, _ in entries]
    assert sorted(seen) == sorted(mapping)


def test_mismatched_shapes_cannot_be_diffed():
    a = MerkleTree.build({"a": b"1"}, fanout=16, depth=2)
    with pytest.raises(ConfigError, match="same fanout and depth"):
        a.diff(MerkleTree.build({"a": b"1"}, fanout=4, depth=2))
    with pytest.raises(ConfigError, match="same fanout and depth"):
        a.diff(MerkleTree.build({"a": b"1"}, fanout=16, depth=3))
    with pytest.raises(ConfigError, match="another MerkleTree"):
        a.diff({"a": b"1"})


@pytest.mark.parametrize(("call", "message"), [
    (lambda: MerkleTree.build({"a": b"1"}, fanout=3), "power of two from 2 to 256"),
    (lambda: MerkleTree.build({"a": b"1"}, fanout=512), "power of two from 2 to 256"),
    (lambda: MerkleTree.build({"a": b"1"}, fanout=True), "power of two from 2 to 256"),
    (lambda: MerkleTree.build({"a": b"1"}, depth=-1), "from 0 to 16 for fanout 16"),
    (lambda: MerkleTree.build({"a": b"1"}, fanout=2, depth=65), "from 0 to 64 for fanout 2"),
    (lambda: MerkleTree.build([("a", b"1")]), "mapping of key -> value bytes"),
    (lambda: MerkleTree.build({1: b"1"}), "keys must be strings"),
    (lambda: MerkleTree.build({b"a": b"1"}), "keys must be strings"),
    (lambda: MerkleTree.build({"a": "text"}), "value of key 'a' must be bytes"),
    (lambda: MerkleTree.build({"a": None}), "value of key 'a' must be bytes"),
    (lambda: MerkleTree.build({"\ud800": b"1"}), "cannot be encoded as UTF-8"),
    (lambda: MerkleTree.empty().set("a", 1), "value of key 'a' must be bytes"),
    (lambda: MerkleTree.empty().set(1, b"1"), "keys must be strings"),
    (lambda: MerkleTree.empty().delete(None), "keys must be strings"),
    (lambda: MerkleTree.empty(depth=2).node_hash(3, 0), "level must be an integer from 0"),
    (lambda: MerkleTree.empty(depth=2).node_hash(1, 16), "from 0 to 15"),
    (lambda: MerkleTree.empty(depth=2).child_hashes(2, 0), "have no children"),
    (lambda: MerkleTree.empty(depth=2).bucket(256), "from 0 to 255"),
    (lambda: suggested_depth(-1), "n .* must be an integer >= 0"),
])
def test_keyspace_bad_input_raises_config_error(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_a_failed_set_leaves_the_tree_unchanged():
    tree = MerkleTree.build({"a": b"1"}, fanout=4, depth=1)
    root = tree.root
    with pytest.raises(ConfigError):
        tree.set("b", "not bytes")
    assert tree.root == root and len(tree) == 1


def test_the_constructor_builds_and_equality_ignores_structure_sharing():
    mapping = {"a": b"1", "b": b"2"}
    assert MerkleTree(mapping, fanout=4, depth=2) == MerkleTree.build(mapping, fanout=4, depth=2)
    assert MerkleTree() == MerkleTree.empty()
    assert hash(MerkleTree(mapping)) == hash(MerkleTree.empty().set("b", b"2").set("a", b"1"))
    assert MerkleTree(mapping, fanout=4, depth=2) != MerkleTree(mapping, fanout=4, depth=3)
    assert repr(MerkleTree(mapping, fanout=4, depth=2)).startswith("<MerkleTree fanout=4 depth=2 keys=2 root=")


def test_suggested_depth_is_about_one_key_per_bucket():
    assert [suggested_depth(n) for n in (0, 1, 2, 16, 17, 65_536, 65_537)] == [0, 0, 1, 1, 2, 4, 5]
    assert suggested_depth(10**6, 256) == 3
    assert suggested_depth(2**70, 2) == 64  # capped by the 64 bucket bits


# ---------------------------------------------------------------------------
# Planted bugs in the keyspace tree: broken hashing ingredients, through the real code paths


def _leaf_keys_only(keys, digests):
    return MerkleTree._leaf_digest(keys, b"\x00" * len(digests))


def _node_xor(children: bytes) -> bytes:
    out = bytes(32)
    for i in range(0, len(children), 32):
        out = _xor(out, children[i:i + 32])
    return out


def _leaf_unseparated(keys, digests):
    return H(b"".join(len(k).to_bytes(4, "big") + k + digests[32 * i:32 * i + 32] for i, k in enumerate(keys)))


class KeysOnlyTree(MerkleTree):
    _leaf_digest = staticmethod(_leaf_keys_only)


class XorTree(MerkleTree):
    _node_digest = staticmethod(_node_xor)


class UnseparatedTree(MerkleTree):
    _leaf_digest = staticmethod(_leaf_unseparated)
    _node_digest = staticmethod(H)


def _diffs_match_brute_force(cls) -> bool:
    base = {f"k{i}": bytes([i]) for i in range(12)}
    pairs = [
        (base, {**base, "k3": b"changed"}),                        # same keys, one value changed
        (base, {k: v + b"!" for k, v in base.items()}),           # same keys, every value changed
        (base, {k: v for k, v in base.items() if k != "k5"}),     # missing
        (base, {**base, "extra": b"x"}),                          # extra
    ]
    for a, b in pairs:
        for fanout, depth in ((2, 3), (16, 1)):
            ta, tb = cls.build(a, fanout=fanout, depth=depth), cls.build(b, fanout=fanout, depth=depth)
            if ta.diff(tb) != brute_diff(a, b):
                return False
    return True


def _incremental_equals_rebuild(cls) -> bool:
    tree = cls.build(FRUIT, fanout=4, depth=2).set("kiwi", b"9").delete("apple").set("pear", b"7")
    model = {**{k: v for k, v in FRUIT.items() if k != "apple"}, "kiwi": b"9", "pear": b"7"}
    return tree == cls.build(model, fanout=4, depth=2)


KEYSPACE_VARIANTS = {
    "replicalab": MerkleTree,
    "hashing keys only": KeysOnlyTree,
    "XOR combining": XorTree,
    "no leaf/node domain separation": UnseparatedTree,
}
KEYSPACE_CHECKS = {
    "golden roots": lambda cls: all(
        cls.build(m, fanout=f, depth=d).root.hex() == root for m, f, d, root in GOLDEN_KEYSPACE),
    "agrees with the reference": lambda cls: all(
        cls.build(m, fanout=f, depth=d).root == ref_keyspace_root(m, f, d)
        for m, f, d in ((FRUIT, 4, 2), (HUNDRED, 2, 4), ({}, 16, 1))),
    "fanout 2 is RFC 6962": lambda cls: cls.build(FRUIT, fanout=2, depth=3).root == rfc6962_root(
        [ref_bucket_encoding(FRUIT, 2, 3, b) for b in range(8)]),
    "diff matches brute force": _diffs_match_brute_force,
    "incremental equals rebuild": _incremental_equals_rebuild,
}
KEYSPACE_MUST_CATCH = {
    "hashing keys only": {"diff matches brute force"},
    "XOR combining": {"fanout 2 is RFC 6962"},
    "no leaf/node domain separation": {"fanout 2 is RFC 6962"},
}


def test_replicalab_passes_every_keyspace_check():
    assert failed_checks(KEYSPACE_CHECKS, MerkleTree) == set()


@pytest.mark.parametrize("variant", sorted(KEYSPACE_MUST_CATCH))
def test_planted_keyspace_bug_is_caught(variant):
    failed = failed_checks(KEYSPACE_CHECKS, KEYSPACE_VARIANTS[variant])
    assert {"golden roots", "agrees with the reference"} <= failed
    assert KEYSPACE_MUST_CATCH[variant] <= failed, f"{variant} slipped past {KEYSPACE_MUST_CATCH[variant] - failed}"
