"""The Merkle diff picture: valid standalone SVG that shows exactly the differing nodes and keys."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from replicalab.errors import ConfigError
from replicalab.merkle import MerkleTree
from replicalab.viz import merkle_diff_svg

SVG = "{http://www.w3.org/2000/svg}"
FANOUT, DEPTH = 4, 3

A = {f"user:{i}": str(i).encode() for i in range(40)}
B = {**A, "user:3": b"changed", "user:17": b"changed too", "new": b"n"}
del B["user:20"]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(root: ET.Element) -> str:
    return "\n".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def highlighted(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "differ" in g.get("class", "").split()]


def trees(a: dict[str, bytes], b: dict[str, bytes], fanout: int = FANOUT, depth: int = DEPTH):
    return (MerkleTree.build(a, fanout=fanout, depth=depth),
            MerkleTree.build(b, fanout=fanout, depth=depth))


def differing_nodes(a: dict[str, bytes], b: dict[str, bytes], fanout: int, depth: int) -> set:
    """(level, index) of every node whose subtree holds a differing key, from the dicts alone.

    A key's bucket is the first depth*log2(fanout) bits of SHA-256(key); the node at level l
    above it is that bucket's first l*log2(fanout) bits.
    """
    bits = fanout.bit_length() - 1
    changed = [k for k in a.keys() | b.keys() if a.get(k) != b.get(k)]
    out = set()
    for key in changed:
        bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") >> (64 - depth * bits)
        out |= {(lvl, bucket >> (bits * (depth - lvl))) for lvl in range(depth + 1)}
    return out


def test_the_picture_is_xml_with_a_title_a_legend_and_a_caption():
    root = parse(merkle_diff_svg(*trees(A, B), title="Two replicas"))
    assert root.tag == f"{SVG}svg"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text.startswith("Two replicas")
    shown = texts(root)
    assert "Legend" in shown
    assert "4 keys differ; compared" in shown
    assert "http" not in shown and "href" not in merkle_diff_svg(*trees(A, B))


def test_the_differing_keys_appear_under_their_buckets():
    a, b = trees(A, B)
    shown = texts(parse(merkle_diff_svg(a, b)))
    assert a.diff(b) == ["new", "user:17", "user:20", "user:3"]
    for key, status in [("new", "only in B"), ("user:20", "only in A"), ("user:3", "values differ"),
                        ("user:17", "values differ")]:
        assert f"bucket {a.bucket_of(key)}: " in shown
        assert f"{key} ({status})" in shown


def test_equal_trees_say_nothing_differs_and_highlight_nothing():
    a, b = trees(A, dict(reversed(list(A.items()))))
    root = parse(merkle_diff_svg(a, b))
    shown = texts(root)
    assert "0 keys differ; compared 1 of 85 node hashes" in shown
    assert highlighted(root) == []
    assert "none: the trees are equal" in shown


@pytest.mark.parametrize("fanout, depth", [(4, 3), (2, 4), (8, 2), (16, 2)])
def test_highlighted_nodes_are_exactly_the_differing_ones(fanout, depth):
    a, b = trees(A, B, fanout, depth)
    root = parse(merkle_diff_svg(a, b))
    expected = differing_nodes(A, B, fanout, depth)
    boxes = highlighted(root)
    assert len(boxes) == len(expected)
    assert {(int(g.get("data-level")), int(g.get("data-index"))) for g in boxes} == expected


def test_equal_subtrees_are_collapsed():
    a, b = trees(A, B)
    root = parse(merkle_diff_svg(a, b))
    differ = differing_nodes(A, B, FANOUT, DEPTH)
    for g in root.iter(f"{SVG}g"):
        if g.get("class", "").startswith("node"):
            level, index = int(g.get("data-level")), int(g.get("data-index"))
            # every drawn node was compared: its parent differs
            assert level == 0 or (level - 1, index // FANOUT) in differ


def test_same_bytes_twice_and_under_another_hash_seed():
    svg = merkle_diff_svg(*trees(A, B))
    assert merkle_diff_svg(*trees(A, B)) == svg
    code = (
        "import sys\n"
        "from replicalab.merkle import MerkleTree\n"
        "from replicalab.viz import merkle_diff_svg\n"
        "A = {f'user:{i}': str(i).encode() for i in range(40)}\n"
        "B = {**A, 'user:3': b'changed', 'user:17': b'changed too', 'new': b'n'}\n"
        "del B['user:20']\n"
        "t = [MerkleTree.build(d, fanout=4, depth=3) for d in (A, B)]\n"
        "sys.stdout.write(merkle_diff_svg(*t))\n"
    )
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                             capture_output=True, text=True).stdout
        assert out == svg, f"output differs under PYTHONHASHSEED={seed}"


def test_a_big_tree_draws_only_differing_nodes_below_the_top_and_stays_small():
    a = {f"k{i}": b"v" for i in range(2000)}
    b = {**a, **{f"k{i}": b"w" for i in (3, 250, 777, 1500, 1999)}}
    ta, tb = trees(a, b, 16, 3)
    svg = merkle_diff_svg(ta, tb)
    assert len(svg.encode()) < 200_000
    root = parse(svg)
    assert len(highlighted(root)) == len(differing_nodes(a, b, 16, 3))
    shown = texts(root)
    assert "5 keys differ" in shown and "equal not drawn" in shown
    for key in ("k3", "k250", "k777", "k1500", "k1999"):
        assert f"{key} (values differ)" in shown


def test_trees_of_different_shapes_are_refused():
    a = MerkleTree.build(A, fanout=4, depth=3)
    with pytest.raises(ConfigError):
        merkle_diff_svg(a, MerkleTree.build(A, fanout=4, depth=2))
    with pytest.raises(ConfigError):
        merkle_diff_svg(A, a)  # type: ignore[arg-type]
