"""Short child hashes (``child_hash_bytes < 32``): same answers as full hashes, fewer bytes,
the byte model with ``c`` bytes per child hash, collisions seen and repaired next session,
and scenario verdicts and final states unchanged."""

from __future__ import annotations

import random

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_antientropy import SHAPES, differing_nodes, expected_merge, stamped_pairs

from replicalab import scenarios
from replicalab.antientropy import (
    HASH_BYTES,
    HEADER_BYTES,
    SHORT_HASH_BYTES,
    ChildHashes,
    Stamped,
    SyncSession,
    lww_merge,
    node_id_bytes,
    session_hash,
    sync,
)
from replicalab.antientropy import session as session_module
from replicalab.errors import ConfigError
from replicalab.merkle import MerkleTree
from replicalab.policies import policy_names
from replicalab.replica.table import AntiEntropy

WIDTHS = (4, SHORT_HASH_BYTES, 16)


@given(stamped_pairs(), st.sampled_from(SHAPES), st.sampled_from(WIDTHS))
def test_short_hashes_find_the_same_nodes_and_cost_exactly_c_bytes_per_child_hash(pair, shape, width):
    """Everything but the child-hash bytes is identical to a full-hash session, and the
    bytes follow the model with ``c`` bytes per child hash (the root stays 32)."""
    a, b = pair
    fanout, depth = shape
    full = sync(a, b, merge=lww_merge, fanout=fanout, depth=depth, child_hash_bytes=HASH_BYTES)
    short = sync(a, b, merge=lww_merge, fanout=fanout, depth=depth, child_hash_bytes=width)
    assert (short.a, short.b) == (full.a, full.b) == (expected_merge(a, b),) * 2
    same = ("rounds", "messages", "hashes", "keys_sent", "item_bytes_sent", "divergent", "differing",
            "full_state_bytes", "converged")
    assert {f: getattr(short, f) for f in same} == {f: getattr(full, f) for f in same}
    child_hashes = full.hashes - 1
    assert short.bytes_sent == full.bytes_sent - (HASH_BYTES - width) * child_hashes
    if a != b:
        ta = MerkleTree.build(a, fanout=fanout, depth=depth)
        m = differing_nodes(ta, MerkleTree.build(b, fanout=fanout, depth=depth))
        ids = node_id_bytes(fanout, depth)
        assert short.bytes_sent - short.item_bytes_sent == (
            (depth + 3) * HEADER_BYTES + HASH_BYTES + (width * fanout + ids) * sum(m[:depth]) + ids * m[depth])


def test_the_wire_hash_is_salted_per_session_and_full_width_is_the_sha256_itself():
    h = MerkleTree.build({"k": b"v"}, depth=0).root
    assert session_hash(h, "s1", 32) == h
    short = {session_hash(h, s, 8) for s in ("s1", "s2", "eu->us#7")}
    assert len(short) == 3 and all(len(x) == 8 for x in short)
    with pytest.raises(ConfigError, match="from 4 to 32"):
        session_hash(h, "s1", 3)
    with pytest.raises(ConfigError, match="session"):
        session_hash(h, "", 8)


def stores(n: int = 200, changed: int = 40) -> tuple[dict[str, bytes], dict[str, bytes]]:
    rng = random.Random(20)
    a = {f"k{i:03d}": Stamped(1, "a", b"old").encode() for i in range(n)}
    b = dict(a)
    for i in rng.sample(range(n), changed):
        b[f"k{i:03d}"] = Stamped(2, "b", b"new").encode()
    return a, b


def run(a, b, width, session, fanout=4, depth=3):
    ta, tb = MerkleTree.build(a, fanout=fanout, depth=depth), MerkleTree.build(b, fanout=fanout, depth=depth)
    sa = SyncSession(ta, a, lww_merge, session=session, child_hash_bytes=width)
    sb = SyncSession(tb, b, lww_merge, session=session, child_hash_bytes=width)
    flight, side = sa.start(), sb
    while flight:
        flight, side = side.receive(flight[0]), (sa if side is sb else sb)
    return sa, sb


def test_a_collision_delays_repair_to_the_next_session_and_is_counted(monkeypatch):
    """Force every short hash to collide: the session repairs nothing (never anything
    wrong), counts the collision it saw, and the full roots still differ; the next
    session (a new salt, here real hashes again) repairs everything."""
    a, b = stores()
    real = session_module._session_hash
    monkeypatch.setattr(session_module, "_session_hash", lambda h, salt, n: bytes(n))
    sa, sb = run(a, b, 8, "s1")
    assert sa.done and sb.done and sa.updates == sb.updates == {}
    assert sa.stats.collisions + sb.stats.collisions == 1
    assert MerkleTree.build(a, fanout=4, depth=3).root != MerkleTree.build(b, fanout=4, depth=3).root
    monkeypatch.setattr(session_module, "_session_hash", real)
    sa, sb = run(a, b, 8, "s2")
    assert {**a, **sa.updates} == {**b, **sb.updates} == expected_merge(a, b)
    assert sa.stats.collisions == sb.stats.collisions == 0


def test_a_partial_collision_repairs_the_rest_and_never_writes_a_wrong_value(monkeypatch):
    """Collide only the hashes of one level-1 subtree's children: keys elsewhere are
    repaired, the subtree's keys wait; what was written is exactly the merge."""
    a, b = stores()
    real = session_module._session_hash
    tb = MerkleTree.build(b, fanout=4, depth=3)
    victims = set(tb.child_hashes(1, 0)) | set(MerkleTree.build(a, fanout=4, depth=3).child_hashes(1, 0))
    monkeypatch.setattr(session_module, "_session_hash",
                        lambda h, salt, n: bytes(n) if h in victims else real(h, salt, n))
    sa, sb = run(a, b, 8, "s1")
    want = expected_merge(a, b)
    for updates in (sa.updates, sb.updates):
        assert all(want[k] == v for k, v in updates.items())
    after_a, after_b = {**a, **sa.updates}, {**b, **sb.updates}
    missed = {k for k in want if after_a.get(k) != after_b.get(k)}
    assert missed and all(tb.bucket_of(k) >> 4 == 0 for k in missed)  # only below node 0 of level 1
    assert sa.stats.collisions + sb.stats.collisions >= 1
    monkeypatch.setattr(session_module, "_session_hash", real)
    sa, sb = run(after_a, after_b, 8, "s2")
    assert {**after_a, **sa.updates} == {**after_b, **sb.updates} == want


def test_bad_widths_and_mismatched_peers_are_rejected_without_changing_anything():
    a, b = stores(20, 5)
    tree = MerkleTree.build(a, fanout=4, depth=2)
    for bad in (0, 3, 33, 8.0, "8", None, True):
        with pytest.raises(ConfigError, match="child_hash_bytes"):
            SyncSession(tree, a, lww_merge, child_hash_bytes=bad)
        with pytest.raises(ConfigError, match="child_hash_bytes"):
            AntiEntropy(child_hash_bytes=bad)
    sa = SyncSession(tree, a, lww_merge, child_hash_bytes=8)
    sb = SyncSession(MerkleTree.build(b, fanout=4, depth=2), b, lww_merge, child_hash_bytes=HASH_BYTES)
    root = sa.start()[0]
    with pytest.raises(ConfigError, match="same child_hash_bytes"):
        sb.receive(root)
    assert sb.stats.messages_sent == 0 and not sb.done
    # A ChildHashes flight with hashes of the wrong width is refused, and nothing moved.
    sb8 = SyncSession(MerkleTree.build(b, fanout=4, depth=2), b, lww_merge)  # the default: 8 bytes
    sb8.receive(root)
    before = (sa.stats, dict(sa.differing), sa.expecting)
    with pytest.raises(ConfigError, match="8-byte hashes"):
        sa.receive(ChildHashes("sync", 1, (0,), (bytes(32),) * 4))
    assert (sa.stats, dict(sa.differing), sa.expecting) == before


def with_short_hashes(name: str):
    scenario = scenarios.get(name)
    config = scenario.anti_entropy or AntiEntropy(period=400, fanout=4, depth=2, timeout=1500)
    return (attrs.evolve(scenario, anti_entropy=attrs.evolve(config, child_hash_bytes=HASH_BYTES)),
            attrs.evolve(scenario, anti_entropy=attrs.evolve(config, child_hash_bytes=SHORT_HASH_BYTES)))


def without_bytes(event: dict) -> dict:
    """A trace event with its byte counts (the only thing short hashes may change) left out."""
    data = {k: v for k, v in event["data"].items() if "bytes" not in k}
    return {**event, "data": data}


@pytest.mark.parametrize("name", ["partition", "crash"])
def test_verdicts_and_final_states_do_not_change_over_policies_and_seeds(name):
    """Scenarios × policies × seeds: the ledger, the final states and every trace event
    are identical with short hashes; only the byte counts of sync events shrink."""
    full_scenario, short_scenario = with_short_hashes(name)
    saved = 0
    for policy in policy_names():
        for seed in range(4):
            full, short = full_scenario.run(policy, seed), short_scenario.run(policy, seed)
            assert short.ledger.to_plain() == full.ledger.to_plain()
            assert short.final == full.final and short.converged == full.converged
            events_full, events_short = full.trace.to_plain(), short.trace.to_plain()
            assert [without_bytes(e) for e in events_short] == [without_bytes(e) for e in events_full]
            s_full, s_short = full.sync, short.sync
            assert {k: v for k, v in s_short.items() if k != "bytes"} == \
                   {k: v for k, v in s_full.items() if k != "bytes"}
            assert s_short["bytes"] <= s_full["bytes"]
            saved += s_full["bytes"] - s_short["bytes"]
    assert saved > 0


def test_short_salted_hashes_are_the_default_everywhere():
    """The library's default wire is short child hashes: sessions, sync and AntiEntropy."""
    a, b = stores(20, 5)
    session = SyncSession(MerkleTree.build(a, fanout=4, depth=2), a, lww_merge)
    assert session.child_hash_bytes == SHORT_HASH_BYTES == AntiEntropy().child_hash_bytes
    assert AntiEntropy.for_keys(1000).child_hash_bytes == SHORT_HASH_BYTES
    assert session.start()[0].child_hash_bytes == SHORT_HASH_BYTES
    short = sync(a, b, merge=lww_merge, fanout=4, depth=2)
    full = sync(a, b, merge=lww_merge, fanout=4, depth=2, child_hash_bytes=HASH_BYTES)
    assert short.bytes_sent == full.bytes_sent - (HASH_BYTES - SHORT_HASH_BYTES) * (full.hashes - 1)
