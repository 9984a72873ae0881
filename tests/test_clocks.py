"""Clocks: golden examples from the literature and the algebraic laws of their contracts."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replicalab.clocks import Causality, HybridLogicalClock, LamportClock, VectorClock

from strategies import replica_ids, vector_clocks

BEFORE, AFTER, EQUAL, CONCURRENT = (Causality.BEFORE, Causality.AFTER, Causality.EQUAL,
                                    Causality.CONCURRENT)


def vc(alice, bob, charlie):
    return VectorClock({"alice": alice, "bob": bob, "charlie": charlie})


# -- seed 002: Alice, Bob and Charlie -----------------------------------------------------

def test_seed_alice_and_bob_are_concurrent():
    """[2,1,0] and [1,2,0]: neither saw the other."""
    assert vc(2, 1, 0).compare(vc(1, 2, 0)) is CONCURRENT
    assert vc(2, 1, 0).concurrent_with(vc(1, 2, 0))
    assert not vc(2, 1, 0) <= vc(1, 2, 0) and not vc(1, 2, 0) <= vc(2, 1, 0)


def test_seed_alice_then_bob_is_causal():
    """[2,1,0] followed by [2,2,0]: Bob's event happened after seeing Alice's state."""
    assert vc(2, 1, 0).compare(vc(2, 2, 0)) is BEFORE
    assert vc(2, 2, 0).compare(vc(2, 1, 0)) is AFTER
    assert vc(2, 1, 0) < vc(2, 2, 0)


def test_seed_progression_bob_replies_after_alice():
    alice = VectorClock().tick("alice")
    bob = VectorClock().merge(alice).tick("bob")
    assert alice == vc(1, 0, 0) and bob == vc(1, 1, 0)
    assert alice.compare(bob) is BEFORE


# -- the Dynamo paper, Figure 3 -----------------------------------------------------------

def test_dynamo_figure_3_version_evolution():
    """D1..D5 of DeCandia et al. 2007: D3 and D4 diverge; D5 reconciles them at Sx."""
    d1 = VectorClock().tick("Sx")
    d2 = d1.tick("Sx")
    d3 = d2.tick("Sy")
    d4 = d2.tick("Sz")
    d5 = d3.merge(d4).tick("Sx")
    assert d1 == VectorClock({"Sx": 1})
    assert d2 == VectorClock({"Sx": 2})
    assert d3 == VectorClock({"Sx": 2, "Sy": 1})
    assert d4 == VectorClock({"Sx": 2, "Sz": 1})
    assert d5 == VectorClock({"Sx": 3, "Sy": 1, "Sz": 1})
    assert d1.compare(d2) is BEFORE  # D2 overwrites D1: syntactic reconciliation
    assert d3.compare(d4) is CONCURRENT  # the client must reconcile
    assert d3 < d5 and d4 < d5 and d2 < d3


# -- vector clock contract ----------------------------------------------------------------

def test_missing_entries_are_zero():
    assert VectorClock({"a": 1}) == VectorClock({"a": 1, "b": 0})
    assert hash(VectorClock({"a": 1})) == hash(VectorClock({"a": 1, "b": 0}))
    assert VectorClock({"a": 1}).get("z") == 0


def test_verbs_return_new_values_and_leave_self_unchanged():
    clock = VectorClock({"a": 1})
    ticked = clock.tick("a")
    merged = clock.merge(VectorClock({"b": 2}))
    assert clock == VectorClock({"a": 1})
    assert ticked == VectorClock({"a": 2}) and merged == VectorClock({"a": 1, "b": 2})


def test_repr_is_valid_python():
    clock = VectorClock({"b": 2, "a": 1})
    assert repr(clock) == "VectorClock({'a': 1, 'b': 2})"
    assert eval(repr(clock)) == clock  # noqa: S307 - reprs are Python by contract


@given(vector_clocks, vector_clocks)
def test_merge_is_commutative(a, b):
    assert a.merge(b) == b.merge(a)


@given(vector_clocks, vector_clocks, vector_clocks)
def test_merge_is_associative(a, b, c):
    assert a.merge(b).merge(c) == a.merge(b.merge(c))


@given(vector_clocks)
def test_merge_is_idempotent(a):
    assert a.merge(a) == a


@given(vector_clocks, vector_clocks)
def test_merge_is_the_least_upper_bound(a, b):
    m = a.merge(b)
    assert a <= m and b <= m
    for r in set(a) | set(b):
        assert m.get(r) == max(a.get(r), b.get(r))


@given(vector_clocks, vector_clocks)
def test_merge_equals_the_one_version_vector_join(a, b):
    """merge inlines join_counts for speed; it must still be exactly that join, and leave
    both inputs as they were (it may return one of them when that one is the join)."""
    from replicalab.clocks import join_counts

    before = (a.to_dict(), b.to_dict())
    m = a.merge(b)
    assert m.to_dict() == dict(sorted(join_counts(a._counts, b._counts).items()))
    assert (a.to_dict(), b.to_dict()) == before


@given(vector_clocks, vector_clocks)
def test_compare_is_antisymmetric(a, b):
    assert a.compare(b) is b.compare(a).inverse()


@given(vector_clocks, vector_clocks)
def test_compare_agrees_with_the_partial_order(a, b):
    relation = a.compare(b)
    assert (relation is EQUAL) == (a == b)
    assert (relation is BEFORE) == (a < b)
    assert (relation is AFTER) == (a > b)
    assert (relation is CONCURRENT) == (not a <= b and not b <= a)


@given(vector_clocks, vector_clocks, vector_clocks)
def test_happened_before_is_transitive(a, b, c):
    if a <= b and b <= c:
        assert a <= c


@given(vector_clocks, replica_ids)
def test_tick_moves_strictly_forward(a, r):
    assert a < a.tick(r)
    assert a.tick(r).get(r) == a.get(r) + 1


# -- Lamport clocks -----------------------------------------------------------------------

def test_lamport_tick_and_receive():
    clock = LamportClock("a").tick().receive(5)
    assert clock.time == 6 and clock.replica == "a"
    assert LamportClock("a", 9).receive(LamportClock("b", 3)).time == 10


def test_lamport_stamps_order_by_time_then_replica():
    assert LamportClock("b", 1) < LamportClock("a", 2)
    assert LamportClock("a", 2) < LamportClock("b", 2)
    assert sorted([LamportClock("b", 2), LamportClock("a", 2), LamportClock("c", 1)]) == [
        LamportClock("c", 1), LamportClock("a", 2), LamportClock("b", 2)]


@given(st.lists(st.tuples(st.sampled_from(["tick", "send"]), replica_ids, replica_ids), max_size=30))
def test_lamport_respects_happened_before(steps):
    """If e happened before f then L(e) < L(f): checked along every message and local step."""
    clocks = {r: LamportClock(r) for r in "abc"}
    for action, src, dst in steps:
        before = clocks[src]
        clocks[src] = before.tick()
        assert before < clocks[src]
        if action == "send" and src != dst:
            received = clocks[dst].receive(clocks[src])
            assert clocks[src].time < received.time and clocks[dst].time < received.time
            clocks[dst] = received


# -- hybrid logical clocks ----------------------------------------------------------------

def test_hlc_follows_wall_time_when_it_advances():
    clock = HybridLogicalClock("a").tick(wall=5)
    assert (clock.wall, clock.logical) == (5, 0)
    clock = clock.tick(wall=5)
    assert (clock.wall, clock.logical) == (5, 1)
    clock = clock.tick(wall=9)
    assert (clock.wall, clock.logical) == (9, 0)


def test_hlc_receive_from_a_clock_ahead_of_ours():
    """A skewed sender's stamp pulls the receiver's HLC forward; causality is kept."""
    sender = HybridLogicalClock("a").tick(wall=100)
    receiver = HybridLogicalClock("b").receive(sender, wall=60)
    assert (receiver.wall, receiver.logical) == (100, 1)
    assert sender < receiver


def test_hlc_receive_cases_of_the_paper():
    local = HybridLogicalClock("b", 10, 3)
    assert local.receive(HybridLogicalClock("a", 10, 7), wall=4).stamp == (10, 8, "b")
    assert local.receive(HybridLogicalClock("a", 8, 7), wall=4).stamp == (10, 4, "b")
    assert local.receive(HybridLogicalClock("a", 12, 7), wall=4).stamp == (12, 8, "b")
    assert local.receive(HybridLogicalClock("a", 12, 7), wall=20).stamp == (20, 0, "b")


@given(st.lists(st.tuples(st.sampled_from(["tick", "recv"]), replica_ids, replica_ids,
                          st.integers(0, 50)), max_size=40))
def test_hlc_never_goes_backwards_and_stays_above_wall(steps):
    clocks = {r: HybridLogicalClock(r) for r in "abc"}
    walls = {r: 0 for r in "abc"}
    for action, src, dst, advance in steps:
        walls[src] += advance
        before = clocks[src]
        if action == "tick" or src == dst:
            clocks[src] = before.tick(wall=walls[src])
        else:
            clocks[src] = before.receive(clocks[dst], wall=walls[src])
            assert clocks[dst] < clocks[src]
        assert before < clocks[src]
        assert clocks[src].wall >= walls[src]


@pytest.mark.parametrize("relation,inverse", [(BEFORE, AFTER), (AFTER, BEFORE),
                                              (EQUAL, EQUAL), (CONCURRENT, CONCURRENT)])
def test_causality_inverse(relation, inverse):
    assert relation.inverse() is inverse


def test_compare_and_merge_against_the_definition_on_every_small_pair():
    """Brute force: every pair of clocks over three replicas with counts 0..2, each built in
    two key orders, against the entry-wise definitions (compare and merge have fast paths)."""
    from itertools import product

    ids = ("a", "b", "c")
    clocks = []
    for counts in product(range(3), repeat=3):
        entries = list(zip(ids, counts, strict=True))
        clocks += [(counts, VectorClock(dict(entries))), (counts, VectorClock(dict(entries[::-1])))]
    for (x, a), (y, b) in product(clocks, repeat=2):
        le, ge = all(p <= q for p, q in zip(x, y, strict=True)), all(p >= q for p, q in zip(x, y, strict=True))
        want = EQUAL if le and ge else BEFORE if le else AFTER if ge else CONCURRENT
        assert a.compare(b) is want, (x, y)
        merged = a.merge(b)
        assert [merged.get(r) for r in ids] == [max(p, q) for p, q in zip(x, y, strict=True)]
        assert [a.get(r) for r in ids] == list(x) and [b.get(r) for r in ids] == list(y)
