"""The depth follows the key count (``depth=None``): peers of different sizes agree on the
depth of the larger store in the first flights, and every session still repairs exactly
the merge, checked by brute force over random stores (empty and one-sided included)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_antientropy import expected_merge

from replicalab.antientropy import (
    HASH_BYTES,
    HEADER_BYTES,
    RootHash,
    Stamped,
    SyncSession,
    lww_merge,
    sync,
)
from replicalab.errors import ConfigError
from replicalab.merkle import MerkleTree, suggested_depth
from replicalab.policies import get_policy
from replicalab.replica.table import AntiEntropy, TableReplica, UpdateItem
from replicalab.sim import Link, Simulation, Uniform, full_mesh


def store(rng: random.Random, n: int, shared: dict[str, bytes], tag: str) -> dict[str, bytes]:
    """``n`` keys: some shared with the other side (as written once), the rest this side's own."""
    out = {k: v for k, v in shared.items() if rng.random() < 0.5}
    while len(out) < n:
        key = f"k{rng.randrange(4 * n + 8)}"
        out.setdefault(key, Stamped(rng.randrange(4), tag, None if rng.random() < 0.1 else b"v").encode())
    return out


SIZES = (0, 1, 2, 3, 15, 17, 40, 300)


@given(st.sampled_from(SIZES), st.sampled_from(SIZES), st.sampled_from([2, 4, 16]),
       st.integers(0, 2**32), st.sampled_from([8, HASH_BYTES]))
def test_stores_of_any_two_sizes_end_holding_the_merge(na, nb, fanout, seed, width):
    """Brute force: after one adaptive session both sides hold exactly the key-wise merge,
    at the depth of the larger store, in D + 3 flights (D + 4 when the responder is the
    larger and answers with its own root), and a second session finds them in sync."""
    rng = random.Random(seed)
    shared = {f"s{i}": Stamped(1, "z", b"s").encode() for i in range(min(na, nb))}
    a, b = store(rng, na, shared, "a"), store(rng, nb, shared, "b")
    report = sync(a, b, merge=lww_merge, fanout=fanout, depth=None, child_hash_bytes=width)
    want = expected_merge(a, b)
    assert report.a == report.b == want and report.converged
    agreed = suggested_depth(max(len(a), len(b)), fanout)
    assert report.depth == agreed
    counter = suggested_depth(len(b), fanout) > suggested_depth(len(a), fanout)
    if a == b:
        assert report.rounds == 2
    else:
        assert report.rounds == agreed + 3 + counter
    # Against a fixed-depth session at the agreed depth: the same repair, and exactly one
    # more root message (16 + 32 bytes) when the responder had to answer with its own
    # (after which it leads the descent, as the initiator of a fixed session would).
    first, second = (b, a) if counter else (a, b)
    fixed = sync(first, second, merge=lww_merge, fanout=fanout, depth=agreed, child_hash_bytes=width)
    assert (fixed.a, fixed.keys_sent, fixed.divergent) == (want, report.keys_sent, report.divergent)
    assert report.bytes_sent == fixed.bytes_sent + counter * (HEADER_BYTES + HASH_BYTES)
    again = sync(report.a, report.b, merge=lww_merge, fanout=fanout, depth=None)
    assert again.rounds == 2 and again.keys_sent == 0


def run(a, b, *, adaptive=(True, True), depths=None):
    fanout = 4
    ta = MerkleTree.build(a, fanout=fanout, depth=depths[0] if depths else suggested_depth(len(a), fanout))
    tb = MerkleTree.build(b, fanout=fanout, depth=depths[1] if depths else suggested_depth(len(b), fanout))
    sa = SyncSession(ta, a, lww_merge, session="s", adaptive=adaptive[0])
    sb = SyncSession(tb, b, lww_merge, session="s", adaptive=adaptive[1])
    return sa, sb


def drive(sa, sb):
    flight, side, flights = sa.start(), sb, 1
    while flight:
        flight, side = side.receive(flight[0]), (sa if side is sb else sb)
        flights += bool(flight)
    return flights


def test_the_smaller_side_rebuilds_its_tree_and_the_given_trees_are_untouched():
    rng = random.Random(5)
    small, big = store(rng, 3, {}, "a"), store(rng, 300, {}, "b")
    for a, b in ((small, big), (big, small)):
        sa, sb = run(a, b)
        given_trees = (sa.tree, sb.tree)
        drive(sa, sb)
        small_side, big_side = (sa, sb) if a is small else (sb, sa)
        assert small_side.stats.reshaped == 1 and big_side.stats.reshaped == 0
        assert sa.tree.depth == sb.tree.depth == suggested_depth(300, 4)
        assert given_trees[0].depth == suggested_depth(len(a), 4)  # values, never changed
        assert {**a, **sa.updates} == {**b, **sb.updates} == expected_merge(a, b)
    # A tree given at another depth than its own count calls for is rebuilt: the
    # initiator's at start (to its own count's depth) and again at the agreed depth.
    sa, sb = run(small, big, depths=(0, 0))
    drive(sa, sb)
    assert sa.stats.reshaped == 2 and sb.stats.reshaped == 1


def test_adaptive_and_fixed_peers_and_forged_depths_are_refused_without_changing_anything():
    rng = random.Random(6)
    a, b = store(rng, 20, {}, "a"), store(rng, 20, {}, "b")
    for modes in ((True, False), (False, True)):
        sa, sb = run(a, b, adaptive=modes, depths=(2, 2))
        with pytest.raises(ConfigError, match="adaptive"):
            sb.receive(sa.start()[0])
        assert sb.stats.messages_received == sb.stats.messages_sent == 0 and not sb.done
    sa, sb = run(a, b)
    root = sa.start()[0]
    for forged, match in ((RootHash("s", 4, root.depth + 1, root.root, 8, root.keys), "depth that follows"),
                          (RootHash("s", 4, root.depth, root.root, 8, -1), "key count"),
                          (RootHash("s", 2, root.depth, root.root, 8, root.keys), "fanout")):
        with pytest.raises(ConfigError, match=match):
            sb.receive(forged)
        assert sb.stats.messages_received == 0 and sb.tree.depth == suggested_depth(20, 4)
    with pytest.raises(ConfigError, match="adaptive must be"):
        SyncSession(sa.tree, a, lww_merge, adaptive=1)


def test_regions_of_different_sizes_converge_with_the_default_config():
    """Table regions with AntiEntropy() (depth=None): one holds 300 items, one 2, one none;
    anti-entropy brings all three to the same items, and the sessions ran at the depth
    of the larger store (seen in the RootHash trace fields)."""
    policy = get_policy("item-lww")
    config = AntiEntropy(period=300, fanout=4, timeout=1000)
    assert config.depth is None and config.depth_for(300) == suggested_depth(300, 4) == 5
    big = {f"k{i:03d}": policy.initial({"n": i}) for i in range(300)}
    regions = [TableReplica("big", policy, big, anti_entropy=config),
               TableReplica("small", policy, {"x": policy.initial({"n": -1}), "y": policy.initial({"n": 7})},
                            anti_entropy=config),
               TableReplica("empty", policy, {}, anti_entropy=config)]
    assert [r.keyspace.tree.depth for r in regions] == [5, 1, 0]
    names = [r.id for r in regions]
    sim = Simulation(regions, topology=full_mesh(names), link=Link(Uniform(5, 20)), seed=4)
    sim.client_request(50, "small", UpdateItem("w0", "k001", {"n": 100}))
    sim.run(until=4000)
    finals = [dict(r.items) for r in sim.replicas.values()]
    assert finals[0] == finals[1] == finals[2] and len(finals[0]) == 302
    roots = [e.msg for e in sim.trace.of_kind("Sent") if e.msg["type"] == "RootHash"]
    assert {r["depth"] for r in roots} == {0, 1, 5}  # each side's own depth first ...
    deep = [r for r in roots if r["depth"] == 5]  # ... and the larger store's once they differ
    assert deep and all(r["keys"] >= 300 for r in deep)
    assert all(r.keyspace.tree.depth == 5 for r in sim.replicas.values())
