"""The leaderless cluster's lean path decides exactly what the checked reference path decides.

B12 asks a 5-node cluster for 20,000 client operations per second, so the nodes merge versions
with :func:`replicalab.quorum.versions.join` (no re-validation, two joins compared side against
side, a side that already is the answer returned as it is), build contexts without
re-validating dots, and skip log data when no trace is kept. Each shortcut is checked here
against an independent oracle: the checked :func:`reconcile`, a brute-force set of dots, and a
whole cluster run with the reference merge swapped in, or with tracing on.
"""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replicalab.dots import CausalContext, Dot
from replicalab.quorum import (
    DynamoNode,
    Get,
    GetDone,
    HashRing,
    Put,
    PutDone,
    QuorumConfig,
    versions,
)
from replicalab.quorum import node as node_module
from replicalab.quorum.versions import EMPTY, DottedVersion, join, reconcile
from replicalab.sim import Link, Simulation, Uniform

DOTS = [Dot(r, c) for r in ("a", "b", "c") for c in (1, 2, 3)]


@st.composite
def histories(draw: st.DrawFn, sides: int) -> tuple[tuple[DottedVersion, ...], ...]:
    """``sides`` joins drawn from one causal history (each dot one write with one context)."""
    universe: dict[Dot, DottedVersion] = {}
    for dot in draw(st.permutations(DOTS)):
        read = draw(st.sets(st.sampled_from(sorted(universe)), max_size=3)) if universe else set()
        context = CausalContext()
        for d in sorted(read):
            context = context.merge(universe[d].context).add(d)
        universe[dot] = DottedVersion(f"v{dot}", dot, context)
    return tuple(reconcile(tuple(universe[d] for d in draw(st.sets(st.sampled_from(DOTS), max_size=5))))
                 for _ in range(sides))


@settings(max_examples=200)
@given(histories(3))
def test_join_of_joins_equals_the_checked_reconcile(sides) -> None:
    expected = reconcile(*sides)
    assert join(sides) == expected
    assert join(sides[::-1]) == expected
    assert join((sides[0], sides[0])) is sides[0] or not sides[0]


@settings(max_examples=200)
@given(histories(2))
def test_join_returns_a_side_itself_only_when_it_is_the_answer(sides) -> None:
    a, b = sides
    out = join((a, b))
    assert out == reconcile(a, b)
    if out is a or out is b:
        assert [v.dot for v in out] == [v.dot for v in reconcile(a, b)]


def _dot_set(context: CausalContext) -> set[tuple[str, int]]:
    return {(d.replica, d.counter) for d in context.dots()}


contexts = st.sets(st.sampled_from([(r, c) for r in ("a", "b") for c in range(1, 6)]), max_size=6).map(
    lambda dots: CausalContext(cloud=frozenset(Dot(r, c) for r, c in dots)))


@settings(max_examples=200)
@given(contexts, contexts, st.sampled_from(DOTS))
def test_context_merge_and_add_are_the_union_of_dot_sets(x, y, dot) -> None:
    merged = x.merge(y)
    assert _dot_set(merged) == _dot_set(x) | _dot_set(y)
    # Compact (the invariant == relies on): the same as the constructor builds from scratch.
    assert merged == CausalContext(cloud=frozenset(merged.dots()))
    assert merged.vv == CausalContext(cloud=frozenset(merged.dots())).vv
    added = x.add(dot)
    assert _dot_set(added) == _dot_set(x) | {(dot.replica, dot.counter)}
    assert added == CausalContext(cloud=frozenset(added.dots()))


def _cluster_run(ops: int, *, trace: bool) -> str:
    """A small B12: 5 nodes, N=3 R=W=2, clients writing with their last context. Returns a
    digest of every reply and every node's final store."""
    nodes = tuple(f"n{i}" for i in range(1, 6))
    ring = HashRing(nodes, vnodes=8)
    sim = Simulation([DynamoNode(n, ring, QuorumConfig(n=3, r=2, w=2)) for n in nodes],
                     link=Link(Uniform(1, 4)), seed=3, trace=trace)
    rng = random.Random(5)
    session: dict[tuple[str, str], CausalContext] = {}

    def remember(client: str, key: str):
        def on_reply(_sim: Simulation, reply) -> None:
            response = reply.response
            if isinstance(response, GetDone):
                session[(client, key)] = session.get((client, key), EMPTY).merge(response.context)
            elif isinstance(response, PutDone):
                replica, _, counter = response.dot.rpartition(":")
                session[(client, key)] = session.get((client, key), EMPTY).add(Dot(replica, int(counter)))
        return on_reply

    def issue(node: str, client: str, key: str, op: str, read: bool):
        def action(s: Simulation) -> None:
            request = Get(op, key=key) if read else Put(op, key=key, value=op,
                                                        context=session.get((client, key), EMPTY))
            s.client_request(s.now, node, request, client=client, on_reply=remember(client, key))
        return action

    for i in range(ops):
        key, node, read = f"k{int(rng.random() * 40)}", nodes[int(rng.random() * 5)], rng.random() < 0.5
        sim.schedule(i // 2, issue(node, f"c{i % 4}", key, f"op{i}", read))
    sim.run_until_quiescent()
    h = hashlib.sha256()
    for r in sim.replies:
        resp = r.response
        h.update(repr((r.time, r.replica, resp.op, resp.ok, getattr(resp, "values", None),
                       getattr(resp, "dot", None), getattr(resp, "acks", None))).encode())
    for name, node in sim.replicas.items():
        assert isinstance(node, DynamoNode)
        h.update(repr((name, node.counter, sorted(
            (k, [(v.value, str(v.dot), repr(v.context)) for v in vs]) for k, vs in node.store.items()))).encode())
    return h.hexdigest()


def test_a_cluster_run_decides_the_same_with_the_reference_merge(monkeypatch: pytest.MonkeyPatch) -> None:
    """The nodes' shortcut merge against the checked one, over a whole run with siblings."""
    lean = _cluster_run(600, trace=False)
    monkeypatch.setattr(node_module, "join", lambda sides: reconcile(*sides))
    assert _cluster_run(600, trace=False) == lean


def test_a_cluster_run_decides_the_same_with_tracing_on_or_off() -> None:
    """Skipping log data without a trace must change nothing the cluster does."""
    assert _cluster_run(600, trace=True) == _cluster_run(600, trace=False)


def test_a_dotted_version_refuses_a_dot_or_context_of_the_wrong_type() -> None:
    from replicalab.errors import ConfigError

    with pytest.raises(ConfigError, match="dot is a Dot"):
        DottedVersion("v", "n1:1")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="context is a CausalContext"):
        DottedVersion("v", Dot("n1", 1), {"n1": 1})  # type: ignore[arg-type]
    assert versions.join(()) == ()


@settings(max_examples=200)
@given(histories(2), st.integers(0, 4))
def test_a_join_with_one_arriving_version_equals_the_checked_reconcile(sides, pick) -> None:
    """The one-version path (every Store, every local write) against the checked merge,
    both ways round, with the same identity rule as the general path."""
    a, b = sides
    if not b:
        return
    one = (b[pick % len(b)],)
    expected = reconcile(a, one)
    for out in (join((a, one)), join((one, a))):
        assert out == expected
        assert [v.dot for v in out] == [v.dot for v in expected]
    if one[0] in a:
        assert join((a, one)) is a  # already there: the store stays the same object


def test_a_sloppy_retry_does_not_change_the_shared_home_targets() -> None:
    """A coordinator shares a key's home targets between operations; a retry with stand-ins
    must add to a copy, or every later operation on the key would ask the stand-ins too."""
    from replicalab.sim.faults import Crash

    nodes = tuple(f"n{i}" for i in range(1, 6))
    ring = HashRing(nodes, vnodes=8)
    config = QuorumConfig(n=3, r=1, w=3, sloppy=True)  # W=3: a node down forces the retry
    cluster = [DynamoNode(n, ring, config) for n in nodes]
    sim = Simulation(cluster, link=Link(Uniform(1, 4)), seed=1, trace=False)
    key = "k1"
    home = ring.preference_list(key, 3)
    coordinator = next(n for n in cluster if n.id == home[0])
    sim.add_faults([Crash(0, home[1])])
    sim.client_request(1, coordinator.id, Put("w1", key=key, value=1))
    sim.run(until=150)  # past the retry (50 ms); the stand-in's hint never goes home: n2 stays down
    assert list(coordinator._home_targets(key)[0]) == list(home)
    assert coordinator._home_targets(key)[1] == dict.fromkeys(home)
    assert [r.response.ok for r in sim.replies] == [True]  # the stand-in's ack made W
    assert any(coordinator.hints) or any(n.hints for n in cluster)


def _faulty_run(seed: int, sloppy: bool, *, trace: bool) -> tuple[str, int]:
    """A cluster under loss, duplication, slow links, a crash (with a restart that lost its
    state), a partition and its heal: time-outs fire, retries and hints happen, some ops fail.
    Returns a digest of every reply (when, where, what) and every node's store, hints and
    counter, and the number of time-outs that found their operation still open."""
    from replicalab.sim.faults import Crash, Heal, Partition, Restart

    nodes = tuple(f"n{i}" for i in range(1, 6))
    ring = HashRing(nodes, vnodes=4)
    config = QuorumConfig(n=3, r=2, w=2, sloppy=sloppy, timeout=12, handoff_period=30, suspect_for=40)
    cluster = [DynamoNode(n, ring, config) for n in nodes]
    sim = Simulation(cluster, link=Link(Uniform(1, 14), loss=0.05, duplicate=0.05), seed=seed, trace=trace)
    rng = random.Random(seed)
    sim.add_faults([Crash(40, "n2", durable=False), Restart(90, "n2"),
                    Partition(120, (("n1", "n3"),)), Heal(170)])
    timed_out = 0
    original = DynamoNode._timed_out

    def counting(self, ctx, op):  # type: ignore[no-untyped-def]
        nonlocal timed_out
        timed_out += op in self._pending
        original(self, ctx, op)

    for i in range(240):
        key, node = f"k{int(rng.random() * 12)}", nodes[int(rng.random() * 5)]
        at = i + int(rng.random() * 3)
        request = Get(f"r{i}", key=key) if rng.random() < 0.5 else Put(f"w{i}", key=key, value=i)
        sim.client_request(at, node, request, client=f"c{i % 3}")
    DynamoNode._timed_out = counting  # type: ignore[method-assign]
    try:
        sim.run_until_quiescent()
    finally:
        DynamoNode._timed_out = original  # type: ignore[method-assign]
    h = hashlib.sha256()
    for r in sim.replies:
        resp = r.response
        h.update(repr((r.time, r.replica, r.client, resp.op, resp.ok, resp.error,
                       getattr(resp, "values", None), getattr(resp, "dot", None),
                       getattr(resp, "acks", None), getattr(resp, "replied", None))).encode())
    for name, node in sim.replicas.items():
        assert isinstance(node, DynamoNode)
        h.update(repr((name, node.identity, node.counter,
                       sorted((k, [(v.value, str(v.dot), repr(v.context)) for v in vs])
                              for k, vs in node.store.items()),
                       sorted((home, sorted((k, [str(v.dot) for v in vs]) for k, vs in keys.items()))
                              for home, keys in node.hints.items()))).encode())
    h.update(repr(sorted((op, f.replica, f.time, str(f.dot), f.seen.to_dict())
                         for op, f in sim.writes.items())).encode())
    return h.hexdigest(), timed_out


@pytest.mark.parametrize("sloppy", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_a_faulty_cluster_decides_the_same_with_tracing_on_or_off(seed: int, sloppy: bool) -> None:
    """Without a trace a node cancels the time-out of an operation every asked node answered
    (it could only find the operation gone), and the simulator drops a cancelled time-out from
    its lane unseen. Under loss, slow links, a crash, a partition, retries and hints, the
    time-outs that matter must still fire exactly where they did: same replies at the same
    times, same stores, hints, counters and ground truth."""
    on, fired_on = _faulty_run(seed, sloppy, trace=True)
    off, fired_off = _faulty_run(seed, sloppy, trace=False)
    assert fired_on > 0  # the schedule makes time-outs matter
    assert (off, fired_off) == (on, fired_on)
