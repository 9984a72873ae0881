"""A cluster's anti-entropy reports rounds and bytes, checked against the closed form.

Two nodes (N = 2, so every key is shared) hold ``n`` keys of one length ``L``; ``d`` of them
differ. One session is three messages: the starter's tree, the peer's versions of the keys
that differ (and their names), the starter's versions of them once it merged the peer's. The tree's bytes are
``16 + 32 + n * (8 + L + 32)``; an item message's are ``16 + sum(8 + L + len(versions as
canonical JSON)) + sum(4 + L)`` over the keys it names.
"""

from __future__ import annotations

import pytest

from replicalab.dots import Dot
from replicalab.quorum import DynamoNode, HashRing, QuorumConfig
from replicalab.quorum.versions import DottedVersion
from replicalab.replica.base import Log, RecordingContext, Send
from replicalab.scenarios import dynamo
from replicalab.trace import canonical_json


def _pair(n: int, d: int) -> tuple[DynamoNode, DynamoNode]:
    ring = HashRing(["n1", "n2"], vnodes=4)
    config = QuorumConfig(n=2, r=1, w=1, anti_entropy=100)
    a, b = DynamoNode("n1", ring, config), DynamoNode("n2", ring, config)
    for i in range(n):
        key = f"key{i:03d}"  # L = 6
        a.store[key] = (DottedVersion(f"a{i}", Dot("n1", i + 1), op=f"w{i}"),)
        b.store[key] = (DottedVersion(f"b{i}", Dot("n2", i + 1), op=f"v{i}"),) if i < d else a.store[key]
    return a, b


def _step(node: DynamoNode, src: str | None, msg: object) -> tuple[list[Send], list[Log]]:
    ctx = RecordingContext(node.id, peers=("n1", "n2"))
    if src is None:
        node.on_timer(ctx, ("anti-entropy",))
    else:
        node.on_message(ctx, src, msg)
    return ([c for c in ctx.commands if isinstance(c, Send)],
            [c for c in ctx.commands if isinstance(c, Log) and c.kind == "QuorumSyncSent"])


def _json_bytes(versions) -> int:
    return len(canonical_json([v.trace_fields() for v in versions]).encode())


@pytest.mark.parametrize(("n", "d"), [(1, 0), (5, 0), (5, 1), (12, 4), (30, 30)])
def test_a_session_costs_the_closed_form_in_bytes_and_rounds(n: int, d: int) -> None:
    a, b = _pair(n, d)
    key_len = 6
    sends, logs = _step(a, None, None)
    assert [log.data["flight"] for log in logs] == ["tree"]
    assert logs[0].data["bytes"] == 16 + 32 + n * (8 + key_len + 32)
    assert logs[0].data["keys"] == n
    tree = sends[0].msg
    sends, logs = _step(b, "n1", tree)
    if d == 0:
        assert sends == [] and logs == []  # in sync: one round, the tree
        return
    differ = sorted(k for k in a.store if a.store[k] != b.store[k])
    assert len(differ) == d
    items = sends[0].msg
    assert logs[0].data["flight"] == "items"
    assert logs[0].data["bytes"] == (16 + sum(8 + key_len + _json_bytes(b.store[k]) for k in differ)
                                     + d * (4 + key_len))
    sends, logs = _step(a, "n2", items)
    assert logs[0].data["flight"] == "reply"  # what the starter holds once it merged theirs: the join
    assert all(len(a.store[k]) == 2 for k in differ)
    assert logs[0].data["bytes"] == 16 + sum(8 + key_len + _json_bytes(a.store[k]) for k in differ)
    # Three rounds, and afterwards both hold the join of the two versions of each key.
    _step(b, "n1", sends[0].msg)
    assert all(len(a.store[k]) == 2 and a.store[k] == b.store[k] for k in differ)


def test_a_dynamo_run_sums_what_its_nodes_logged() -> None:
    result = dynamo.run(seed=0, anti_entropy=100, ops=60, fault="az-partition", keys=6)
    sent = result.trace.of_kind("QuorumSyncSent")
    sync = result.sync
    assert sync["rounds"] == len(sent) and sync["bytes"] == sum(e.get("bytes") for e in sent)
    assert sync["sessions"] == sum(e.get("flight") == "tree" for e in sent)
    assert sync["sessions"] <= sync["rounds"] <= 3 * sync["sessions"]
    assert sync["repaired"] > 0
    assert "anti-entropy: sessions=" in result.report()
    assert dynamo.run(seed=0, ops=20).sync["sessions"] == 0
