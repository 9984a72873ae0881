"""The leaderless cluster (replicalab.quorum, scenarios.dynamo, ledger.quorum): contracts and properties.

The ring against a brute-force walk; reconcile as a join; the quorum properties of the issue
(R + W > N: no read misses an acknowledged write, no acknowledged write lost to one node
failure; sloppy quorum + partition: the ledger reports writes that live only in hints),
each checked against an oracle computed from the final node states, not from the ledger.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replicalab.dots import CausalContext, Dot
from replicalab.errors import ConfigError
from replicalab.quorum import DynamoNode, Get, HashRing, Put, QuorumConfig
from replicalab.quorum.ring import position
from replicalab.quorum.versions import DottedVersion, context_of, reconcile
from replicalab.replica.base import RecordingContext, Reply
from replicalab.scenarios import dynamo

NODES = ("n1", "n2", "n3", "n4", "n5")


# -- the ring -----------------------------------------------------------------------


def brute_walk(nodes: tuple[str, ...], vnodes: int, key: str) -> tuple[str, ...]:
    """The walk by its definition: sort every token, start at the first >= the key, wrap."""
    tokens = sorted((position(f"{n}#{i}"), n) for n in nodes for i in range(vnodes))
    p = position(key)
    start = next((i for i, (t, _) in enumerate(tokens) if t >= p), 0)
    out: list[str] = []
    for _, n in tokens[start:] + tokens[:start]:
        if n not in out:
            out.append(n)
    return tuple(out)


@pytest.mark.parametrize("vnodes", [1, 3, 8, 64])
def test_walk_matches_the_brute_force_definition(vnodes: int) -> None:
    ring = HashRing(NODES, vnodes=vnodes)
    for i in range(200):
        key = f"k{i}"
        assert ring.walk(key) == brute_walk(tuple(sorted(NODES)), vnodes, key)
        for n in range(1, 6):
            assert ring.preference_list(key, n) == ring.walk(key)[:n]


def test_ring_shares_sum_to_one_and_more_vnodes_balance_better() -> None:
    spread = {}
    for vnodes in (1, 256):
        share = HashRing(NODES, vnodes=vnodes).share()
        assert sum(share.values()) == pytest.approx(1.0)
        spread[vnodes] = max(share.values()) - min(share.values())
    assert spread[256] < spread[1]


def test_ring_is_the_same_under_any_hash_seed() -> None:
    code = ("from replicalab.quorum import HashRing;"
            "print([HashRing(['n1','n2','n3','n4','n5']).walk(f'k{i}') for i in range(50)])")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("0", "4242")}
    assert len(outs) == 1


@pytest.mark.parametrize("make, says", [
    (lambda: HashRing([]), "at least one node"),
    (lambda: HashRing(["a", "a"]), "unique"),
    (lambda: HashRing("abc"), "iterable of node ids"),
    (lambda: HashRing(["a"], vnodes=0), "vnodes"),
    (lambda: HashRing(["a", "b"]).preference_list("k", 3), "from 1 to the number of nodes (2)"),
    (lambda: HashRing(["a", "b"]).walk(7), "a key on the ring is a string"),
    (lambda: QuorumConfig(n=3, r=4, w=1), "at most n=3"),
    (lambda: QuorumConfig(n=0), "n must be an integer from 1"),
    (lambda: QuorumConfig(sloppy="yes"), "sloppy must be True or False"),
    (lambda: QuorumConfig(anti_entropy=0), "anti_entropy"),
    (lambda: DynamoNode("n1", HashRing(["n1", "n2"]), QuorumConfig(n=3)), "at least 3 nodes"),
    (lambda: dynamo.run(colour="red"), "unknown option"),
    (lambda: dynamo.run(fault="meteor"), "fault must be one of"),
    (lambda: dynamo.run(ops=10**9), "ops must be an integer from 1 to 100000"),
    (lambda: dynamo.run(reads=1.5), "reads must be a fraction"),
    (lambda: dynamo.run(nodes=2, n=3), "nodes >= 3"),
])
def test_bad_input_says_what_would_be_valid(make, says: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        make()
    assert says in str(info.value)


# -- versions: reconcile is a join ----------------------------------------------------


DOTS = [Dot(r, c) for r in ("a", "b") for c in (1, 2, 3)]


@st.composite
def _worlds(draw: st.DrawFn, sides: int) -> tuple[tuple[DottedVersion, ...], ...]:
    """``sides`` sets of versions drawn from one causal history in which each dot is one write
    with one context (as in a real run)."""
    universe: dict[Dot, DottedVersion] = {}
    for dot in draw(st.permutations(DOTS)):
        # It saw some earlier writes, and (transitively) everything they had seen: a client's
        # context is the join of the versions it read, each with its own context.
        read = draw(st.sets(st.sampled_from(sorted(universe)), max_size=2)) if universe else set()
        context = CausalContext()
        for d in sorted(read):
            context = context.merge(universe[d].context).add(d)
        universe[dot] = DottedVersion(f"v{dot}", dot, context)
    return tuple(tuple(universe[d] for d in draw(st.sets(st.sampled_from(DOTS), max_size=4)))
                 for _ in range(sides))


@settings(max_examples=150)
@given(_worlds(3))
def test_reconcile_is_commutative_associative_idempotent(world) -> None:
    a, b, c = world
    assert reconcile(a, b) == reconcile(b, a)
    assert reconcile(reconcile(a, b), c) == reconcile(a, reconcile(b, c))
    ab = reconcile(a, b)
    assert reconcile(ab, ab) == ab


@settings(max_examples=150)
@given(_worlds(2))
def test_reconcile_drops_exactly_what_another_version_had_seen(world) -> None:
    a, b = world
    every = {v.dot: v for v in (*a, *b)}
    kept = {v.dot for v in reconcile(a, b)}
    for dot in every:
        seen = any(o.dot != dot and dot in o.context for o in every.values())
        assert (dot in kept) == (not seen)


def test_concurrent_blind_writes_become_siblings_and_a_read_modify_write_resolves_them() -> None:
    """Lesson: a blind write cannot supersede what it never read; reading first can."""
    x, y = DottedVersion("x", Dot("n1", 1)), DottedVersion("y", Dot("n2", 1))
    both = reconcile((x,), (y,))
    assert [v.value for v in both] == ["x", "y"]
    z = DottedVersion("z", Dot("n1", 2), context_of(both))
    assert [v.value for v in reconcile(both, (z,))] == ["z"]


def test_a_vector_clock_entry_would_claim_a_write_the_client_never_saw() -> None:
    """Lesson (the bug our property test found): context {n1: 2} as a *vector* claims n1:1
    too. As a set of dots, a client that saw only n1:2 has not seen n1:1."""
    seen_only_second = CausalContext(cloud=frozenset({Dot("n1", 2)}))
    first = DottedVersion("a", Dot("n1", 1))
    later = DottedVersion("c", Dot("n3", 1), seen_only_second)
    assert [v.value for v in reconcile((first,), (later,))] == ["a", "c"]


# -- one node by hand --------------------------------------------------------------------


def test_a_coordinator_asks_the_preference_list_and_answers_after_w_acks() -> None:
    ring = HashRing(NODES)
    home = ring.preference_list("k", 3)
    coordinator = home[0]
    node = DynamoNode(coordinator, ring, QuorumConfig(n=3, r=2, w=2))
    ctx = RecordingContext(coordinator, peers=tuple(n for n in NODES if n != coordinator))
    node.on_message(ctx, "client", Put("w1", key="k", value="v"))
    sent = sorted(c.dst for c in ctx.commands if type(c).__name__ == "Send")
    assert sent == sorted(home[1:])  # it stores locally and asks the other two
    assert not [c for c in ctx.commands if isinstance(c, Reply)]  # one ack is not W=2
    from replicalab.quorum.messages import Stored
    node.on_message(ctx, home[1], Stored("w1"))
    replies = [c for c in ctx.commands if isinstance(c, Reply)]
    assert len(replies) == 1 and replies[0].response.ok and replies[0].response.dot == f"{coordinator}:1"
    node.on_message(ctx, "client", Get("r1", key="k"))
    # R=2: its own copy plus one more; no reply yet.
    assert len([c for c in ctx.commands if isinstance(c, Reply)]) == 1


# -- the cluster: properties of the issue -----------------------------------------------

STRICT = [(n, r, w) for n in (3, 5) for r in range(1, n + 1) for w in range(1, n + 1) if r + w > n]
KEEPS_STATE = ["none", "crash", "az-outage", "az-partition"]


@settings(max_examples=25)
@given(st.sampled_from(STRICT), st.sampled_from(KEEPS_STATE), st.integers(0, 10**6), st.booleans())
def test_strict_quorums_never_miss_an_acknowledged_write(nrw, fault, seed, repair) -> None:
    """R + W > N without a sloppy quorum: every read quorum meets every write quorum, so no
    read misses a write acknowledged before it was issued, whatever node crashes (keeping
    its disk), AZ outage or AZ partition happens. (A crash that *loses* state can break
    this until repair: the lost copy was part of the write quorum.)"""
    n, r, w = nrw
    result = dynamo.run(seed=seed, n=n, r=r, w=w, fault=fault, ops=80, keys=6, read_repair=repair)
    assert result.stale_reads == ()
    assert result.summary["lost"] == 0 and result.summary["hint-only"] == 0


@settings(max_examples=20)
@given(st.sampled_from(["crash-lossy", "isolated-crash"]), st.integers(0, 10**6),
       st.sampled_from([(3, 2, 2), (3, 1, 3), (5, 3, 3), (3, 2, 3)]))
def test_w_of_at_least_two_survives_any_single_node_losing_its_state(fault, seed, nrw) -> None:
    n, r, w = nrw
    result = dynamo.run(seed=seed, n=n, r=r, w=w, fault=fault, ops=80, keys=20)
    assert result.summary["lost"] == 0
    # Oracle, from the final states alone: every acknowledged write is held (or seen) by an
    # intact node.
    acked = [e for e in result.ledger.entries if e.verdict != "rejected"]
    assert all(e.verdict in ("kept", "sibling", "superseded") for e in acked)


def test_w1_and_a_crash_before_replication_loses_an_acknowledged_write() -> None:
    """Lesson: W=1 acknowledges a write one node holds; cut that node off, crash it losing
    its disk, and the acknowledged write is gone — the ledger says where and why."""
    lost = []
    for seed in range(6):
        lost += dynamo.run(seed=seed, n=3, r=1, w=1, fault="isolated-crash", keys=40).ledger.of("lost")
    assert lost
    assert all("acknowledged, then lost" in e.why and "n1 (crashed at" in e.why for e in lost)


def _hint_only_oracle(result: dynamo.QuorumResult) -> set[str]:
    """Acknowledged writes no home node holds (or saw) but some hint does, from final values.

    Values are "<client>.<op>", unique per write, so the final states name the writes."""
    at_home: set[str] = set()
    in_hints: set[str] = set()
    for node, keys in result.final.items():
        for key, values in keys.items():
            if node in result.homes[key]:
                at_home |= {v.split(".")[1] for v in values}
    for homes in result.hints.values():
        for keys in homes.values():
            for values in keys.values():
                in_hints |= {v.split(".")[1] for v in values}
    superseded = {e.op for e in result.ledger.of("superseded")}
    return in_hints - at_home - superseded


@settings(max_examples=15)
@given(st.integers(0, 10**6), st.sampled_from([(3, 2, 2), (3, 1, 1), (3, 1, 2)]))
def test_sloppy_quorum_with_a_partition_reports_the_writes_that_live_only_in_hints(seed, nrw) -> None:
    n, r, w = nrw
    result = dynamo.run(seed=seed, n=n, r=r, w=w, sloppy=True, fault="az-partition", heal=False,
                        ops=120, keys=30)
    assert {e.op for e in result.ledger.of("hint-only")} == _hint_only_oracle(result)


def test_hint_only_writes_are_found_and_come_home_when_the_partition_heals() -> None:
    cut = dynamo.run(seed=0, n=3, r=2, w=2, sloppy=True, fault="az-partition", heal=False, keys=40)
    assert cut.summary["hint-only"] >= 1
    healed = dynamo.run(seed=0, n=3, r=2, w=2, sloppy=True, fault="az-partition", heal=True, keys=40)
    assert healed.summary["hint-only"] == 0
    assert all(not homes for homes in healed.hints.values())  # every hint handed home
    assert healed.trace is not None and healed.trace.of_kind("HandedOff")


def test_a_sloppy_quorum_accepts_writes_a_strict_one_refuses_during_an_az_outage() -> None:
    """Lesson: with W=3, a strict quorum refuses every write whose key has a home in the
    downed AZ; a sloppy quorum takes them at stand-ins, with hints."""
    def refused(sloppy: bool) -> int:
        return sum("QuorumNotReached" in e.why for s in range(3) for e in dynamo.run(
            seed=s, fault="az-outage", keys=20, r=1, w=3, sloppy=sloppy).ledger.entries)
    assert refused(sloppy=False) > 0 and refused(sloppy=True) == 0


def test_weak_quorums_produce_stale_reads_with_a_why() -> None:
    stale = [s for seed in range(3) for s in dynamo.run(seed=seed, n=3, r=1, w=1).stale_reads]
    assert stale
    assert all("acknowledged at t=" in s.why and "did not have it" in s.why for s in stale)


def test_anti_entropy_repairs_a_replica_that_lost_its_state() -> None:
    off = dynamo.run(seed=1, fault="crash-lossy", keys=20, read_repair=False)
    on = dynamo.run(seed=1, fault="crash-lossy", keys=20, read_repair=False, anti_entropy=100)
    victim = HashRing(NODES).preference_list("k0", 3)[0]
    homes = on.homes
    mine = [k for k in homes if victim in homes[k]]

    def missing(result: dynamo.QuorumResult) -> int:
        others = [n for n in NODES if n != victim]
        return sum(1 for k in mine if not result.final[victim].get(k)
                   and any(result.final[o].get(k) for o in others if o in homes[k]))
    assert missing(off) > 0 and missing(on) == 0
    assert on.trace is not None and on.trace.of_kind("QuorumSynced")


def test_same_seed_same_bytes_and_tracing_off_same_outcome() -> None:
    a = dynamo.run(seed=3, sloppy=True, fault="az-partition", ops=60)
    b = dynamo.run(seed=3, sloppy=True, fault="az-partition", ops=60)
    assert a.to_json() == b.to_json()
    quiet = dynamo.run(seed=3, sloppy=True, fault="az-partition", ops=60, trace=False)
    assert quiet.final == a.final and quiet.hints == a.hints


def test_dynamo_run_is_byte_identical_across_processes() -> None:
    code = ("import hashlib;from replicalab.scenarios import dynamo;"
            "print(hashlib.sha256(dynamo.run(seed=5, sloppy=True, fault='az-outage', ops=40)"
            ".to_json().encode()).hexdigest())")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "99")}
    assert len(outs) == 1


def test_every_write_gets_exactly_one_verdict() -> None:
    for fault, sloppy in itertools.product(dynamo.FAULTS, (False, True)):
        result = dynamo.run(seed=2, fault=fault, sloppy=sloppy, ops=50)
        assert result.trace is not None
        puts = {e.get("op") for e in result.trace.of_kind("ClientRequested", "RequestFailed")
                if e.get("request")["type"] == "Put"}
        assert sorted(e.op for e in result.ledger.entries) == sorted(puts)


# -- the front doors: scenarios.run, the CLI, compare ---------------------------------


def test_scenarios_run_dynamo_is_the_cluster_and_refuses_a_merge_policy() -> None:
    from replicalab import scenarios
    result = scenarios.run("dynamo", seed=1, n=3, r=2, w=2, sloppy=True, ops=30)
    assert isinstance(result, dynamo.QuorumResult) and result.config.sloppy
    with pytest.raises(ConfigError, match="takes no merge policy"):
        scenarios.run("dynamo", merge="causal")
    with pytest.raises(ConfigError, match="cluster scenario"):
        scenarios.get("dynamo")
    assert "dynamo" in scenarios.describe() and "dynamo" not in scenarios.names()


def test_cli_runs_dynamo_and_compares_nrw_settings(capsys) -> None:
    from replicalab.cli import main
    assert main(["run", "dynamo", "--r", "1", "--w", "1", "--ops", "40", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "N=3 R=1 W=1" in out and "stale_reads=" in out
    assert main(["compare", "dynamo"]) == 0
    out = capsys.readouterr().out
    assert "3/2/2" in out and "R+W>N" in out
    assert main(["run", "london", "--w", "2"]) != 0
    assert "global-table story" in capsys.readouterr().err
    assert main(["run", "dynamo", "--merge", "causal"]) != 0
    assert "--merge" in capsys.readouterr().err


def test_compare_rows_show_strict_settings_without_stale_reads() -> None:
    rows = dynamo.compare_rows(range(2), keys=8)
    assert all(row["stale_reads"] == 0 for row in rows if row["strict"] and not row["sloppy"])
    assert any(row["stale_reads"] > 0 for row in rows if not row["strict"])


def test_a_write_kept_only_on_a_node_that_stays_down_says_so():
    """az-outage without heal: the zone's nodes stay down with their disks intact. A write
    held only there is kept (the state survived), but no read sees it until they are back,
    so the why must name those nodes as down rather than read like a live copy (review)."""
    result = dynamo.run(0, fault="az-outage", heal=False, n=3, r=1, w=1)
    entry = result.ledger["w36"]
    assert (entry.verdict, entry.held_by) == ("kept", ("n1",))
    assert entry.why == "held by home node(s) n1 (down, its state intact)"
    healed = dynamo.run(0, fault="az-outage", heal=True, n=3, r=1, w=1)
    assert all("down" not in e.why for e in healed.ledger.entries if e.verdict in ("kept", "sibling"))
