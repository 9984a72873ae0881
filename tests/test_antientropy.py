"""Anti-entropy sessions: convergence, the round and byte account, no repair loop, tombstones,
and a planted deletion bug the checks must catch."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replicalab.antientropy import (
    HASH_BYTES,
    HEADER_BYTES,
    SHORT_HASH_BYTES,
    BucketItems,
    ChildHashes,
    InSync,
    MergedItems,
    RootHash,
    Stamped,
    SyncSession,
    digest_list_bytes,
    full_state_bytes,
    item_bytes,
    live,
    lww_merge,
    node_id_bytes,
    sync,
)
from replicalab.errors import ClockError, ConfigError, MergeValidationError, SerializationError
from replicalab.merkle import MerkleTree

# ---------------------------------------------------------------------------
# Generated replica pairs: stamped values and tombstones over a tiny keyspace


KEYS = [f"k{i}" for i in range(12)]
stamped = st.builds(Stamped, st.integers(0, 5), st.sampled_from(["a", "b"]),
                    st.one_of(st.none(), st.binary(max_size=3)))


@st.composite
def stamped_pairs(draw):
    """Two stores of the same history, each with its own later writes and deletes.

    Values are drawn per (key, stamp) once, so two replicas never hold different values
    under one stamp (an unreachable state).
    """
    written: dict[tuple[str, int, str], bytes | None] = {}

    def store() -> dict[str, bytes]:
        out = {}
        for key in draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=len(KEYS))):
            value = draw(stamped)
            payload = written.setdefault((key, value.timestamp, value.replica), value.payload)
            out[key] = Stamped(value.timestamp, value.replica, payload).encode()
        return out

    common = store()
    a, b = dict(common), dict(common)
    a.update(store())
    b.update(store())
    return a, b


SHAPES = [(2, 0), (2, 1), (2, 3), (4, 2), (16, 1), (16, 2)]
shapes = st.sampled_from(SHAPES)


def expected_merge(a: Mapping[str, bytes], b: Mapping[str, bytes], merge=lww_merge) -> dict[str, bytes]:
    return {k: merge(k, a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys())}


def brute_divergent(a: Mapping[str, bytes], b: Mapping[str, bytes]) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


@given(stamped_pairs(), shapes)
def test_a_session_converges_both_sides_to_the_merge(pair, shape):
    a, b = pair
    fanout, depth = shape
    report = sync(a, b, merge=lww_merge, fanout=fanout, depth=depth)
    want = expected_merge(a, b)
    assert report.a == want and report.b == want
    assert report.converged
    assert report.divergent == len(brute_divergent(a, b))
    assert report.rounds == report.messages == (2 if a == b else depth + 3)


@given(stamped_pairs(), shapes)
def test_no_repair_loop_a_second_sync_transfers_nothing(pair, shape):
    fanout, depth = shape
    first = sync(*pair, merge=lww_merge, fanout=fanout, depth=depth)
    second = sync(first.a, first.b, merge=lww_merge, fanout=fanout, depth=depth)
    assert (second.keys_sent, second.divergent, second.rounds, second.hashes) == (0, 0, 2, 1)
    assert second.bytes_sent == 2 * HEADER_BYTES + HASH_BYTES
    assert second.a == first.a and second.b == first.b
    assert second.over_streaming is None


def differing_nodes(ta: MerkleTree, tb: MerkleTree) -> list[int]:
    """Brute force: at every level, how many nodes have different hashes."""
    return [sum(ta.node_hash(level, i) != tb.node_hash(level, i) for i in range(ta.fanout**level))
            for level in range(ta.depth + 1)]


@given(stamped_pairs(), shapes)
def test_bytes_hashes_and_keys_follow_the_byte_model_exactly(pair, shape):
    a, b = pair
    fanout, depth = shape
    ta = MerkleTree.build(a, fanout=fanout, depth=depth)
    tb = MerkleTree.build(b, fanout=fanout, depth=depth)
    report = sync(a, b, merge=lww_merge, fanout=fanout, depth=depth)
    m = differing_nodes(ta, tb)
    if a == b:
        assert report.differing == (0,)
        assert report.bytes_sent == 2 * HEADER_BYTES + HASH_BYTES
        return
    assert list(report.differing) == m  # the descent found exactly the differing nodes
    assert report.hashes == 1 + fanout * sum(m[:depth])
    # Flight depth (the last hash flight) is sent by A when depth is even; its receiver
    # streams every item it holds in the differing buckets, the other side answers with
    # the merged values the streamer lacks.
    streamer, answerer = (b, a) if depth % 2 == 0 else (a, b)
    buckets = {ta.bucket_of(k) for k in brute_divergent(a, b)}
    streamed = {k: v for k, v in streamer.items() if ta.bucket_of(k) in buckets}
    answered = {k: v for k, v in expected_merge(a, b).items()
                if ta.bucket_of(k) in buckets and streamer.get(k) != v}
    ids = node_id_bytes(fanout, depth)
    # The default wire: the root a full 32-byte SHA-256, child hashes short (8 bytes).
    expected = ((depth + 3) * HEADER_BYTES + HASH_BYTES
                + (SHORT_HASH_BYTES * fanout + ids) * sum(m[:depth]) + ids * m[depth]
                + sum(item_bytes(k, v) for k, v in {**streamed}.items())
                + sum(item_bytes(k, v) for k, v in answered.items()))
    assert report.bytes_sent == expected
    assert report.keys_sent == len(streamed) + len(answered)
    assert report.over_streaming == report.keys_sent / report.divergent


def test_bytes_of_a_small_case_by_hand():
    """fanout 4, depth 1: 2 bits name a bucket, so a node id costs 1 byte.

    flight 0  A->B RootHash                      16 + 32           =  48
    flight 1  B->A ChildHashes(1 parent, 4 hashes) 16 + 1 + 4*8    =  49
    flight 2  A->B BucketItems(1 bucket, k=v1)     16 + 1 + (8+1+2) =  28
    flight 3  B->A MergedItems(k=v2)               16 + (8+1+2)     =  27

    (Child hashes are 8 bytes by default; with ``child_hash_bytes=32`` flight 1 is 16 + 1 + 4*32 = 145.)
    """
    pick_max = lambda key, local, remote: max(v for v in (local, remote) if v is not None)  # noqa: E731
    report = sync({"k": b"v1"}, {"k": b"v2"}, merge=pick_max, fanout=4, depth=1)
    assert node_id_bytes(4, 1) == 1
    assert report.bytes_sent == 48 + 49 + 28 + 27 == 152
    full = sync({"k": b"v1"}, {"k": b"v2"}, merge=pick_max, fanout=4, depth=1, child_hash_bytes=HASH_BYTES)
    assert full.bytes_sent == 48 + 145 + 28 + 27 == 248
    assert (report.rounds, report.messages, report.hashes, report.keys_sent) == (4, 4, 5, 2)
    assert report.differing == (1, 1) and report.divergent == 1
    assert report.over_streaming == 2.0  # v1 had to cross for B to merge, v2 to come back
    assert report.a == report.b == {"k": b"v2"}


def test_node_ids_are_as_wide_as_a_bucket_number():
    assert [node_id_bytes(16, d) for d in (0, 1, 2, 4, 5)] == [1, 1, 1, 2, 3]
    assert node_id_bytes(2, 20) == 3 and node_id_bytes(256, 8) == 8


def test_over_streaming_grows_as_buckets_get_crowded():
    same = {f"k{i}": Stamped(1, "a", b"v").encode() for i in range(64)}
    changed = {**same, "k7": Stamped(2, "b", b"new").encode()}
    shallow = sync(same, changed, merge=lww_merge, fanout=16, depth=0)   # one bucket: stream it all
    deep = sync(same, changed, merge=lww_merge, fanout=16, depth=3)      # ~1 key per bucket
    assert shallow.divergent == deep.divergent == 1
    # depth 0: B compares the roots and streams all 64 keys; A adopts k7 and has nothing to return
    assert shallow.keys_sent == 64 and shallow.over_streaming == 64.0
    # depth 3: A compares the buckets and streams its stale k7 alone; B returns the new one
    assert deep.keys_sent == 2 and deep.over_streaming == 2.0
    assert deep.bytes_sent < shallow.bytes_sent < full_state_bytes(same) + full_state_bytes(changed)
    assert shallow.full_state_bytes == full_state_bytes(same) + full_state_bytes(changed)


def test_one_side_empty_sends_everything_once_per_direction_needed():
    a = {f"k{i}": Stamped(1, "a", b"v").encode() for i in range(5)}
    report = sync(a, {}, merge=lww_merge, fanout=4, depth=2)
    assert report.b == a and report.divergent == 5 and report.keys_sent == 5
    report = sync({}, a, merge=lww_merge, fanout=4, depth=2)
    assert report.a == a and report.divergent == 5 and report.keys_sent == 5


def test_sync_leaves_its_inputs_alone_and_reports_plain_data():
    a, b = {"x": Stamped(1, "a", b"1").encode()}, {"x": Stamped(2, "b", b"2").encode()}
    before = (dict(a), dict(b))
    report = sync(a, b, merge=lww_merge, fanout=2, depth=2)
    assert (a, b) == before
    plain = report.to_plain()
    assert "a" not in plain and "b" not in plain
    assert plain["over_streaming"] == report.over_streaming and plain["differing"] == [1, 1, 1]
    assert "a=" not in repr(report)


def union(key, local, remote):
    """A state-based CRDT in miniature: a value is a set of bytes, merge is the union."""
    return bytes(sorted(set(local or b"") | set(remote or b"")))


@given(st.dictionaries(st.sampled_from(KEYS), st.binary(max_size=3).map(lambda v: union("", v, None))),
       st.dictionaries(st.sampled_from(KEYS), st.binary(max_size=3).map(lambda v: union("", v, None))),
       shapes)
def test_a_crdt_join_converges_to_values_neither_side_had(a, b, shape):
    fanout, depth = shape
    report = sync(a, b, merge=union, fanout=fanout, depth=depth)
    assert report.a == report.b == expected_merge(a, b, union) and report.converged
    again = sync(report.a, report.b, merge=union, fanout=fanout, depth=depth)
    assert again.keys_sent == 0 and again.rounds == 2


def test_a_merge_that_is_not_a_join_is_reported_as_not_converged():
    keep_mine = lambda key, local, remote: local if local is not None else remote  # noqa: E731
    report = sync({"k": b"1"}, {"k": b"2"}, merge=keep_mine, fanout=2, depth=1)
    assert not report.converged and report.a == {"k": b"1"} and report.b == {"k": b"2"}


# ---------------------------------------------------------------------------
# Driving sessions by hand: the sans-I/O contract


def sessions(a, b, merge=lww_merge, fanout=4, depth=2, session="s1"):
    sa = SyncSession(MerkleTree.build(a, fanout=fanout, depth=depth), a, merge, session=session)
    sb = SyncSession(MerkleTree.build(b, fanout=fanout, depth=depth), b, merge, session=session)
    return sa, sb


def test_messages_alternate_one_per_flight_and_reprs_are_python():
    a = {"x": Stamped(1, "a", b"1").encode()}
    b = {"x": Stamped(2, "b", b"2").encode(), "y": Stamped(1, "b", b"3").encode()}
    sa, sb = sessions(a, b, fanout=4, depth=2)
    kinds = []
    flight, side = sa.start(), sb
    while flight:
        (msg,) = flight
        kinds.append(type(msg).__name__)
        assert eval(repr(msg)) == msg  # noqa: S307 - reprs are Python by contract
        assert isinstance(msg.trace_fields(), dict)
        flight, side = side.receive(msg), (sa if side is sb else sb)
    assert kinds == ["RootHash", "ChildHashes", "ChildHashes", "BucketItems", "MergedItems"]
    assert sa.done and sb.done and sa.expecting == "nothing (done)"
    assert sa.divergent == sb.divergent == 2
    assert {**a, **sa.updates} == {**b, **sb.updates}


def test_duplicates_and_stale_messages_are_ignored_and_counted():
    sa, sb = sessions({"x": b"\x00"}, {}, merge=lambda key, local, remote: local or remote)
    (root,) = sa.start()
    (hashes,) = sb.receive(root)
    assert sb.receive(root) == [] and sb.stats.ignored == 1  # duplicate RootHash
    (reply,) = sa.receive(hashes)
    assert sa.receive(hashes) == [] and sa.stats.ignored == 1  # duplicate level-1 hashes
    assert isinstance(reply, ChildHashes) and reply.level == 2
    assert sa.expecting == "BucketItems or InSync"
    stale = ChildHashes("s1", 1, hashes.parents, hashes.hashes)
    assert sb.receive(stale) == [] and sb.stats.ignored == 2  # a level already compared


def test_a_fresh_responder_ignores_anything_but_a_root():
    _, sb = sessions({}, {})
    assert sb.receive(InSync("s1")) == [] and sb.stats.ignored == 1 and not sb.done
    assert sb.expecting == "RootHash"


def test_in_sync_stores_finish_in_two_flights():
    sa, sb = sessions({"x": b"1"}, {"x": b"1"}, merge=lambda key, local, remote: local or remote)
    (root,) = sa.start()
    (answer,) = sb.receive(root)
    assert isinstance(answer, InSync) and sb.done
    assert sa.receive(answer) == [] and sa.done
    assert sa.updates == sb.updates == {}
    assert sa.stats.bytes_sent == HEADER_BYTES + HASH_BYTES and sb.stats.bytes_sent == HEADER_BYTES


def test_depth_zero_streams_the_single_bucket():
    sa, sb = sessions({"x": b"1"}, {"y": b"2"}, merge=lambda key, local, remote: local or remote, fanout=2, depth=0)
    (root,) = sa.start()
    (items,) = sb.receive(root)
    assert isinstance(items, BucketItems) and items.buckets == (0,) and items.items == (("y", b"2"),)
    (merged,) = sa.receive(items)
    assert isinstance(merged, MergedItems) and merged.items == (("x", b"1"),) and merged.divergent == 2
    assert sb.receive(merged) == []
    assert sa.updates == {"y": b"2"} and sb.updates == {"x": b"1"}


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda sa, sb: sb.receive(RootHash("other", 4, 2, b"\x00" * 32)), ConfigError, "route messages"),
    (lambda sa, sb: sb.receive(RootHash("s1", 16, 2, b"\x00" * 32)), ConfigError, "same shape"),
    (lambda sa, sb: sb.receive({"root": b""}), ConfigError, "anti-entropy message"),
    (lambda sa, sb: (sa.start(), sa.start()), ConfigError, "already started"),
    (lambda sa, sb: sa.receive(ChildHashes("s1", 1, (0,), (b"\x00" * 32,) * 3))
     if sa.start() else None, ConfigError, "exactly 4 per parent"),
    (lambda sa, sb: sa.receive(ChildHashes("s1", 1, (1,), (b"\x00" * SHORT_HASH_BYTES,) * 4))
     if sa.start() else None, ConfigError, "never sent"),
])
def test_malformed_or_misrouted_messages_raise(call, error, message):
    sa, sb = sessions({"x": Stamped(1, "a", b"1").encode()}, {})
    with pytest.raises(error, match=message):
        call(sa, sb)


@pytest.mark.parametrize(("make", "message"), [
    (lambda t, v: SyncSession("tree", v, lww_merge), "must be a MerkleTree"),
    (lambda t, v: SyncSession(t, [("k", b"1")], lww_merge), "mapping the tree was built from"),
    (lambda t, v: SyncSession(t, {}, lww_merge), "tree has 1 keys but values has 0"),
    (lambda t, v: SyncSession(t, v, "lww"), "merge must be callable"),
    (lambda t, v: SyncSession(t, v, lww_merge, session=""), "session must be a non-empty string"),
    (lambda t, v: sync({"k": b"1"}, [], merge=lww_merge), "two mappings"),
    (lambda t, v: sync({}, {}, merge=lww_merge, trees=(t, t)), "trees must be two MerkleTrees of fanout 16"),
])
def test_bad_session_setup_raises(make, message):
    values = {"k": b"1"}
    tree = MerkleTree.build(values, fanout=4, depth=1)
    with pytest.raises(ConfigError, match=message):
        make(tree, values)


def test_a_merge_returning_none_is_told_to_use_tombstones():
    with pytest.raises(ConfigError, match="tombstone"):
        sync({"k": b"1"}, {"k": b"2"}, merge=lambda key, local, remote: None, fanout=2, depth=1)


# ---------------------------------------------------------------------------
# Stamped values and LWW


def test_stamped_round_trips_and_orders_by_stamp():
    for value in (Stamped(0, "a", b""), Stamped(2**64 - 1, "eu-west-1", b"\x00\x01"),
                  Stamped.tombstone(7, "caf\u00e9")):
        assert Stamped.decode(value.encode()) == value
        assert eval(repr(value)) == value  # noqa: S307
    assert Stamped(1, "b", b"x").stamp < Stamped(2, "a", b"y").stamp
    assert live({"a": Stamped(1, "r", b"x").encode(), "b": Stamped.tombstone(2, "r").encode()}) == {"a": b"x"}


@pytest.mark.parametrize(("data", "message"), [
    ("text", "is bytes"),
    (b"RLS1", "must start with"),
    (b"XXXX" + bytes(11), "must start with"),
    (b"RLS1" + bytes(8) + (5).to_bytes(2, "big") + b"ab", "truncated"),
    (b"RLS1" + bytes(8) + (1).to_bytes(2, "big") + b"\xff\x01", "not UTF-8"),
    (b"RLS1" + bytes(8) + (1).to_bytes(2, "big") + b"a\x02", "flag must be"),
    (b"RLS1" + bytes(8) + (1).to_bytes(2, "big") + b"a\x00junk", "flag must be"),
    (b"RLS1" + bytes(8) + (0).to_bytes(2, "big") + b"\x01x", "malformed stamped value"),
])
def test_malformed_stamped_values_raise_serialization_error(data, message):
    with pytest.raises(SerializationError, match=message):
        Stamped.decode(data)


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: Stamped(-1, "a", b""), ClockError, "timestamp must be an integer >= 0"),
    (lambda: Stamped(1.5, "a", b""), ClockError, "timestamp must be an integer >= 0"),
    (lambda: Stamped(2**64, "a", b""), ClockError, "below 2\\*\\*64"),
    (lambda: Stamped(1, "", b""), ConfigError, "non-empty string"),
    (lambda: Stamped(1, "a", "text"), ConfigError, "payload must be bytes or None"),
])
def test_bad_stamped_values_raise(make, error, message):
    with pytest.raises(error, match=message):
        make()


@given(stamped_pairs())
def test_lww_merge_is_a_join(pair):
    a, b = pair
    for key in a.keys() & b.keys():
        x, y = a[key], b[key]
        assert lww_merge(key, x, y) == lww_merge(key, y, x)
        assert lww_merge(key, x, x) == x
        assert lww_merge(key, x, lww_merge(key, x, y)) == lww_merge(key, x, y)


def test_lww_merge_refuses_two_values_under_one_stamp():
    with pytest.raises(MergeValidationError, match="same stamp"):
        lww_merge("k", Stamped(1, "a", b"x").encode(), Stamped(1, "a", b"y").encode())
    with pytest.raises(ConfigError, match="at least one side"):
        lww_merge("k", None, None)


# ---------------------------------------------------------------------------
# Deletions: tombstones must survive repair. A registry of deletion strategies, each run
# through the same checks; the broken ones must be caught.

Delete = Callable[[dict[str, bytes], str, int, str], None]


def delete_with_tombstone(store: dict[str, bytes], key: str, t: int, replica: str) -> None:
    store[key] = Stamped.tombstone(t, replica).encode()


def delete_by_removal(store: dict[str, bytes], key: str, t: int, replica: str) -> None:
    store.pop(key, None)  # the bug: an absent key looks like one never written


def merge_preferring_live(key, local, remote):
    """The bug: a merge that lets any live value beat a tombstone ("data is precious")."""
    values = [Stamped.decode(v) for v in (local, remote) if v is not None]
    alive = [v for v in values if not v.deleted]
    return max(alive or values, key=lambda v: v.stamp).encode()


def merge_tombstones_always_win(key, local, remote):
    """The opposite bug: a deleted key can never be written again."""
    values = [Stamped.decode(v) for v in (local, remote) if v is not None]
    dead = [v for v in values if v.deleted]
    return max(dead or values, key=lambda v: v.stamp).encode()


DELETION_VARIANTS: dict[str, tuple[Delete, Callable]] = {
    "tombstone + lww_merge": (delete_with_tombstone, lww_merge),
    "delete by removing the key": (delete_by_removal, lww_merge),
    "merge prefers live values": (delete_with_tombstone, merge_preferring_live),
    "tombstones always win": (delete_with_tombstone, merge_tombstones_always_win),
}


def _deleted_key_stays_deleted(delete: Delete, merge) -> bool:
    """A and B hold k; B also wrote it again before A deleted it; A's later delete must win everywhere."""
    a = {"k": Stamped(1, "a", b"v1").encode(), "other": Stamped(1, "a", b"o").encode()}
    b = {"k": Stamped(2, "b", b"v2").encode(), "other": Stamped(1, "a", b"o").encode()}
    delete(a, "k", 3, "a")
    for fanout, depth in ((2, 2), (16, 1)):
        report = sync(a, b, merge=merge, fanout=fanout, depth=depth)
        if "k" in live(report.a) or "k" in live(report.b):
            return False
        again = sync(report.a, report.b, merge=merge, fanout=fanout, depth=depth)
        if "k" in live(again.a) or "k" in live(again.b):
            return False
    return True


def _write_after_delete_wins(delete: Delete, merge) -> bool:
    a = {"k": Stamped(1, "a", b"v1").encode()}
    b = dict(a)
    delete(a, "k", 2, "a")
    b["k"] = Stamped(3, "b", b"v3").encode()
    report = sync(a, b, merge=merge, fanout=4, depth=1)
    return live(report.a).get("k") == live(report.b).get("k") == b"v3"


DELETION_CHECKS = {
    "a deleted key is not resurrected by repair": _deleted_key_stays_deleted,
    "a write after the delete is kept": _write_after_delete_wins,
}


def test_tombstones_pass_every_deletion_check():
    delete, merge = DELETION_VARIANTS["tombstone + lww_merge"]
    assert [name for name, check in DELETION_CHECKS.items() if not check(delete, merge)] == []


@pytest.mark.parametrize(("variant", "caught_by"), [
    ("delete by removing the key", "a deleted key is not resurrected by repair"),
    ("merge prefers live values", "a deleted key is not resurrected by repair"),
    ("tombstones always win", "a write after the delete is kept"),
])
def test_planted_deletion_bug_is_caught(variant, caught_by):
    delete, merge = DELETION_VARIANTS[variant]
    assert not DELETION_CHECKS[caught_by](delete, merge)


def test_full_digest_list_and_state_sizes():
    store = {"ab": b"123", "c": b""}
    assert full_state_bytes(store) == HEADER_BYTES + (8 + 2 + 3) + (8 + 1 + 0)
    assert digest_list_bytes(store) == HEADER_BYTES + (4 + 2 + 32) + (4 + 1 + 32)
    assert math.isclose(item_bytes("\u00e9", b"x"), 8 + 2 + 1)
