"""CRDTs: worked examples, anomaly-named regressions, and the three shapes of every update.

Each anomaly test's docstring states the lesson. The property tests at the end
hold for every type: the verb, its op and its delta have the same effect; ops
and states print as Python that rebuilds them; a rejected update changes nothing.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replicalab.clocks import VectorClock
from replicalab.crdts import (
    GCounter,
    GSet,
    LWWMap,
    LWWRegister,
    MVRegister,
    ORMap,
    ORSet,
    PNCounter,
    StateCRDT,
    TwoPhaseSet,
)
from replicalab.dots import CausalContext, Dot
from replicalab.errors import ConfigError, MergeValidationError, ReplicaIdError
from replicalab.testing import strategies as rs

NAMESPACE = {
    "GCounter": GCounter, "PNCounter": PNCounter, "GSet": GSet, "TwoPhaseSet": TwoPhaseSet,
    "ORSet": ORSet, "LWWRegister": LWWRegister, "MVRegister": MVRegister, "LWWMap": LWWMap,
    "ORMap": ORMap, "Dot": Dot, "VectorClock": VectorClock, "CausalContext": CausalContext,
}
KINDS = [GCounter, PNCounter, GSet, TwoPhaseSet, ORSet, LWWRegister, MVRegister, LWWMap,
         ORMap(MVRegister), ORMap(LWWRegister), ORMap(ORSet), ORMap(PNCounter)]
KIND_IDS = [k.__name__ if isinstance(k, type) else repr(k) for k in KINDS]


# -- counters -----------------------------------------------------------------------------

def test_concurrent_plus_one_plus_one_reads_two():
    """Two replicas each add 1 to a shared counter. A counter kept as one integer reads 1 after
    merging (both sent "1"); a G-Counter keeps one slot per replica, so nothing is lost."""
    a = GCounter().increment("a")
    b = GCounter().increment("b")
    assert a.merge(b).value == b.merge(a).value == 2
    assert ORMap(PNCounter).update("q", PNCounter.Increment("a")).merge(
        ORMap(PNCounter).update("q", PNCounter.Increment("b"))).value == {"q": 2}


def test_three_regions_spend_a_quota_concurrently_and_every_spend_counts():
    """The seed's atomic counters, replicated: three regions each decrement a quota of 10 once.
    A PN-counter keeps every decrement; it does not stop the quota going below a local check."""
    start = PNCounter().increment("us-east-1", 10)
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    spent = [start.decrement(r) for r in regions]
    merged = spent[0].merge(spent[1]).merge(spent[2])
    assert merged.value == 7
    assert merged.decrements == {r: 1 for r in sorted(regions)}


def test_gcounter_increments_made_for_another_replica_are_lost_to_the_max():
    """A replica may only increment its own slot: b incrementing "a" races with a's own increments,
    and the merge's max keeps only the larger slot, so one of the increments vanishes."""
    a = GCounter().increment("a", 2)
    b_on_behalf_of_a = GCounter().increment("a", 1)
    assert a.merge(b_on_behalf_of_a).value == 2  # 3 increments happened, 2 survive


@pytest.mark.parametrize("amount", [-1, True, 1.0, "1", None])
def test_a_bad_increment_raises_and_changes_nothing(amount):
    counter = GCounter().increment("a", 2)
    pn = PNCounter().increment("a", 2)
    for call in (lambda: counter.increment("a", amount), lambda: pn.increment("a", amount),
                 lambda: pn.decrement("a", amount), lambda: GCounter.Increment("a", amount),
                 lambda: counter.increment_delta("a", amount)):
        with pytest.raises(MergeValidationError, match="integer >= 0"):
            call()
    assert counter == GCounter({"a": 2}) and pn == PNCounter({"a": 2})


def test_counter_reads_and_reprs():
    c = PNCounter().increment("b", 3).increment("a", 2).decrement("c")
    assert (c.value, c.increments, c.decrements) == (4, {"a": 2, "b": 3}, {"c": 1})
    assert repr(c) == "PNCounter({'a': 2, 'b': 3}, {'c': 1})"
    assert GCounter({"a": 0}) == GCounter() and repr(GCounter()) == "GCounter()"
    with pytest.raises(ReplicaIdError):
        GCounter().increment("", 1)


def test_a_counter_op_is_not_idempotent_but_its_delta_is():
    """Ops carry "+n" and must be delivered exactly once; a delta carries the new total, so a
    duplicate is harmless. This is why op-based replication needs exactly-once delivery."""
    c = GCounter().increment("a", 2)
    op = c.increment_op("a", 3)
    delta = c.increment_delta("a", 3)
    assert op.apply(c).value == 5 and op.apply(op.apply(c)).value == 8
    assert c.merge(delta).value == 5 and c.merge(delta).merge(delta).value == 5


# -- sets ---------------------------------------------------------------------------------

def test_gset_union_and_membership():
    s = GSet().add("x").merge(GSet().add("y")).add("x")
    assert s.value == {"x", "y"} and "x" in s and list(s) == ["x", "y"]
    with pytest.raises(ConfigError, match="hashable"):
        GSet().add(["not", "hashable"])


def test_2p_set_remove_wins_over_a_concurrent_add_forever():
    """A 2P-set's tombstone beats every add of the same element, concurrent or later: once
    removed anywhere, an element can never come back (the set's only remove semantics)."""
    both = TwoPhaseSet().add("x")
    removed = both.remove("x")
    re_added = both.add("x")
    assert removed.merge(re_added).value == frozenset()
    assert removed.add("x").value == frozenset()


def test_2p_set_remove_before_the_add_arrives_still_blocks_it():
    """The remove is a tombstone even where the add has not arrived yet; when the add arrives it
    is already dead. Use an OR-Set if a later add must win."""
    early_remove = TwoPhaseSet().remove("x")
    assert early_remove.merge(TwoPhaseSet().add("x")).value == frozenset()
    assert early_remove.removed == {"x"}


def test_orset_concurrent_add_and_remove_add_wins():
    """Replica b removes x while c concurrently re-adds it: b removed only the add it had seen,
    so c's new add survives. (A 2P-set would lose the add; an LWW set would pick by clock.)"""
    base = ORSet().add("x", replica="a")
    removed = base.remove("x")
    re_added = base.add("x", replica="c")
    assert "x" in removed.merge(re_added) and "x" in re_added.merge(removed)


def test_orset_stale_replica_does_not_resurrect_a_removed_element():
    """Merging a stale copy that still holds x does not bring x back: the remover's context
    remembers x's dot, so the merge knows the dot was removed rather than never seen."""
    base = ORSet().add("x", replica="a")
    removed = base.remove("x")
    assert "x" not in removed.merge(base) and "x" not in base.merge(removed)


def test_orset_remove_does_not_touch_an_add_it_has_not_seen():
    """Observed-remove: a remove deletes the dots it saw. An add made elsewhere that has not
    arrived yet is concurrent, and it survives the remove."""
    a = ORSet().add("x", replica="a")
    b = ORSet().add("x", replica="b")
    assert a.remove("x").merge(b).dots("x") == [Dot("b", 1)]


def test_orset_add_remove_cycles_leave_no_tombstones():
    """Optimized OR-Set: 100 add/remove cycles of one element leave no per-element tombstone;
    the whole history is one version-vector entry."""
    s = ORSet()
    for _ in range(100):
        s = s.add("x", replica="a").remove("x")
    assert s.value == frozenset() and s.context == CausalContext(VectorClock({"a": 100}))
    assert s == ORSet({}, CausalContext(VectorClock({"a": 100})))


def test_orset_readd_replaces_the_observed_dots_with_one_new_dot():
    s = ORSet().add("x", replica="a").merge(ORSet().add("x", replica="b"))
    assert s.dots("x") == [Dot("a", 1), Dot("b", 1)]
    assert s.add("x", replica="a").dots("x") == [Dot("a", 2)]


def test_orset_same_dot_for_two_elements_is_unreachable():
    x = ORSet().add("x", replica="a")
    y = ORSet().add("y", replica="a")  # a forgot its own history: the same dot a:1 again
    with pytest.raises(MergeValidationError, match="a:1"):
        x.merge(y)
    with pytest.raises(MergeValidationError, match="two elements"):
        ORSet({"x": [Dot("a", 1)], "y": [Dot("a", 1)]})
    with pytest.raises(MergeValidationError, match="not in the context"):
        ORSet({"x": [Dot("a", 2)]}, CausalContext(VectorClock({"a": 1})))
    assert x.value == {"x"} and y.value == {"y"}


def test_orset_prepared_ops_are_idempotent_and_commute():
    s = ORSet().add("x", replica="a")
    add = s.add_op("y", replica="b")
    remove = s.remove_op("x")
    one = remove.apply(add.apply(ORSet()))
    other = add.apply(remove.apply(add.apply(ORSet())))
    assert one == other and one.value == {"y"}
    assert add.apply(add.apply(s)) == add.apply(s) == s.add("y", replica="b")


def test_orset_batch_of_unprepared_adds_mints_consecutive_dots():
    s = ORSet().apply_all(ORSet.Add(i, replica="a") for i in range(3))
    assert [s.dots(i) for i in range(3)] == [[Dot("a", 1)], [Dot("a", 2)], [Dot("a", 3)]]


# -- registers: ops and deltas ---------------------------------------------------------------

def test_lww_register_losing_assignment_has_an_empty_delta():
    reg = LWWRegister().assign("new", timestamp=20, replica="a")
    assert reg.assign_delta("old", timestamp=10, replica="b") == LWWRegister()
    assert reg.assign_delta("newer", timestamp=30, replica="b") == LWWRegister("newer", 30, "b")
    with pytest.raises(MergeValidationError, match="two different values"):
        LWWRegister.Assign("other", timestamp=20, replica="a").apply(reg)
    assert reg.value == "new"


def test_mv_register_prepared_op_supersedes_only_what_it_saw():
    a = MVRegister().assign("red", replica="a")
    b = MVRegister().assign("blue", replica="b")
    op = a.assign_op("green", replica="a")  # saw red, not blue
    assert op.apply(a.merge(b)).value == {"green", "blue"}
    assert op.apply(op.apply(b)) == op.apply(b)


# -- maps -----------------------------------------------------------------------------------

def test_lww_map_concurrent_writes_to_one_key_lose_one_silently():
    """The London lesson in miniature: two regions write the same attribute concurrently and the
    greater (timestamp, replica) wins; the other write is gone, with no error anywhere."""
    eu = LWWMap().set("address", "12 High Street", timestamp=140, replica="eu-west-1")
    us = LWWMap().set("address", "old address", timestamp=189, replica="us-east-1")
    assert eu.merge(us).value == us.merge(eu).value == {"address": "old address"}


def test_lww_map_writes_to_different_keys_both_survive():
    """Per-key LWW (Cassandra-style attributes) keeps concurrent writes to *different* keys."""
    eu = LWWMap().set("delivery_address", "12 High Street", timestamp=140, replica="eu-west-1")
    us = LWWMap().set("last_contacted", "14:07", timestamp=189, replica="us-east-1")
    assert eu.merge(us).value == {"delivery_address": "12 High Street", "last_contacted": "14:07"}


def test_lww_map_delayed_older_set_does_not_resurrect_a_deleted_key():
    """A delete is an LWW write of 'absent' and stays as a tombstone; without it, a delayed set
    with an older timestamp would bring the key back."""
    old = LWWMap().set("k", "v", timestamp=10, replica="a")
    deleted = old.delete("k", timestamp=11, replica="b")
    assert "k" not in deleted.merge(old) and deleted.marker("k") == (11, "b")
    assert deleted.set("k", "late", timestamp=9, replica="c").get("k") is None


def test_lww_map_same_marker_two_writes_is_unreachable():
    a = LWWMap().set("k", "v", timestamp=5, replica="a")
    with pytest.raises(MergeValidationError, match="two different writes"):
        a.merge(LWWMap().delete("k", timestamp=5, replica="a"))
    with pytest.raises(MergeValidationError, match="two different writes"):
        a.set("k", "w", timestamp=5, replica="a")
    assert a.value == {"k": "v"}


def test_ormap_remove_then_concurrent_edit_keeps_only_the_edit():
    """Reset-remove: b removes the key while c, who saw the same value, edits it concurrently.
    After merging, the key is back (the edit was not seen by the remove) but holds only c's
    edit: the removed value does not resurrect."""
    m = ORMap(ORSet).update("cart", ORSet.Add("apple", replica="a")).update(
        "cart", ORSet.Add("pear", replica="a"))
    removed = m.remove("cart")
    edited = m.update("cart", ORSet.Add("milk", replica="c"))
    assert removed.merge(edited).value == edited.merge(removed).value == {"cart": {"milk"}}


def test_ormap_remove_beats_an_update_it_has_seen():
    m = ORMap().update("name", MVRegister.Assign("Ann", replica="a"))
    assert "name" not in m.remove("name").merge(m)


def test_ormap_counter_reset_keeps_a_concurrent_incrementers_whole_contribution():
    """The counter caveat of reset-remove: a PN-Counter's payload is each replica's running total,
    so when c increments concurrently with the remove, c's earlier (removed) increments come back
    with it; a's removed increments stay removed."""
    m = ORMap(PNCounter).update("q", PNCounter.Increment("a", 5)).update("q", PNCounter.Increment("c", 2))
    removed = m.remove("q")
    bumped = m.update("q", PNCounter.Increment("c", 1))
    assert removed.merge(bumped).value == {"q": 3}  # c's 2 + 1; a's 5 is gone


def test_ormap_concurrent_assignments_to_a_register_key_are_siblings():
    a = ORMap().update("name", MVRegister.Assign("Ann", replica="a"))
    b = ORMap().update("name", MVRegister.Assign("Bob", replica="b"))
    merged = a.merge(b)
    assert merged.value == {"name": frozenset({"Ann", "Bob"})}
    assert merged.update("name", MVRegister.Assign("Ann", replica="b")).value == {"name": frozenset({"Ann"})}


def test_ormap_lww_values_keep_the_greatest_marker():
    a = ORMap(LWWRegister).update("n", LWWRegister.Assign("v", timestamp=3, replica="a"))
    b = ORMap(LWWRegister).update("n", LWWRegister.Assign("w", timestamp=3, replica="b"))
    assert a.merge(b).get("n") == "w"
    assert a.update("n", LWWRegister.Assign("old", timestamp=1, replica="c")) == a  # a losing write


def test_ormap_emptying_a_nested_set_removes_the_key():
    m = ORMap(ORSet).update("tags", ORSet.Add("x", replica="a"))
    assert m.update("tags", ORSet.Remove("x")).value == {}


def test_ormap_refuses_ops_of_another_type_and_prepared_nested_ops():
    m = ORMap(PNCounter)
    with pytest.raises(ConfigError, match="holds PNCounter values"):
        m.update("k", MVRegister.Assign("v", replica="a"))
    with pytest.raises(ConfigError, match="unprepared"):
        ORMap.Update("k", ORSet().add_op("x", replica="a"))
    with pytest.raises(ConfigError, match="MVRegister, LWWRegister, ORSet or PNCounter"):
        ORMap(GCounter)
    with pytest.raises(MergeValidationError, match="cannot merge"):
        ORMap(PNCounter).merge(ORMap(ORSet))


def test_ormap_same_dot_for_two_keys_is_unreachable():
    k = ORMap().update("k", MVRegister.Assign("v", replica="a"))
    j = ORMap().update("j", MVRegister.Assign("v", replica="a"))  # a reused dot a:1
    with pytest.raises(MergeValidationError, match="a:1"):
        k.merge(j)
    with pytest.raises(MergeValidationError, match="two different updates"):
        k.merge(ORMap().update("k", MVRegister.Assign("w", replica="a")))


@pytest.mark.parametrize(("kind", "ops"), [
    (MVRegister, [MVRegister.Assign("Ann", replica="a"), MVRegister.Assign("Bob", replica="b")]),
    (LWWRegister, [LWWRegister.Assign("v", timestamp=3, replica="a")]),
    (ORSet, [ORSet.Add("x", replica="a"), ORSet.Add("y", replica="b"), ORSet.Remove("x")]),
    (PNCounter, [PNCounter.Increment("a", 5), PNCounter.Decrement("b", 2)]),
], ids=lambda k: getattr(k, "__name__", ""))
def test_ormap_values_are_real_crdts_of_the_map_type(kind, ops):
    """An ORMap nests real values: each type says itself how it lives under dots, and the map
    hands the value at a key back as that type, reading what the map reads."""
    m = ORMap(kind)
    for op in ops:
        m = m.update("k", op)
    value = m.nested("k")
    assert type(value) is kind
    assert value.value == m.get("k")
    assert type(m.nested("absent")) is kind and m.nested("absent").value == kind().value


def test_ormap_merge_is_the_dot_store_join_per_key():
    """The map's merge rule is the one every causal CRDT shares (dots.join_stores), per key."""
    from replicalab.dots import join_stores

    a = ORMap(ORSet).update("k", ORSet.Add("x", replica="a"))
    removed, added = a.remove("k"), a.update("k", ORSet.Add("y", replica="c"))
    merged = removed.merge(added)
    kept = join_stores(removed._entries.get("k", {}), added._entries.get("k", {}),
                       removed._seen, added._seen)
    assert merged._entries["k"] == kept and merged.get("k") == frozenset({"y"})


# -- every type: ops, deltas, reprs ------------------------------------------------------------

def delta_for(state, op):
    """The delta mutator that matches ``op`` (one per verb of each type)."""
    name = type(op).__qualname__
    if name.endswith((".Increment", ".Decrement")) and not isinstance(state, ORMap):
        verb = "increment" if name.endswith("Increment") else "decrement"
        return getattr(state, f"{verb}_delta")(op.replica, op.n)
    if isinstance(state, ORMap):
        if isinstance(op, ORMap.Update):
            return state.update_delta(op.key, op.op)
        return state.remove_delta(op.key)
    if isinstance(state, (GSet, TwoPhaseSet)):
        return getattr(state, f"{name.split('.')[1].lower()}_delta")(op.element)
    if isinstance(state, ORSet):
        if isinstance(op, ORSet.Add):
            return state.add_delta(op.element, replica=op.replica)
        return state.remove_delta(op.element)
    if isinstance(state, LWWRegister):
        return state.assign_delta(op.value, timestamp=op.timestamp, replica=op.replica)
    if isinstance(state, MVRegister):
        return state.assign_delta(op.value, replica=op.replica)
    if isinstance(op, LWWMap.Set):
        return state.set_delta(op.key, op.value, timestamp=op.timestamp, replica=op.replica)
    return state.delete_delta(op.key, timestamp=op.timestamp, replica=op.replica)


@st.composite
def state_and_op(draw, kind):
    """A reachable state and an op that is valid there (ops naming a replica come from that replica's history)."""
    state = draw(rs.crdt_states(kind))
    op = draw(rs.crdt_ops(kind))
    return state, op


def _valid(state, op):
    try:
        return op.apply(state)
    except MergeValidationError:  # e.g. an LWW marker this state already holds with another value
        return None


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@given(data=st.data())
def test_verb_op_and_delta_have_the_same_effect_and_everything_prints_as_python(kind, data):
    """For a reachable state and an op: the op, the prepared op, apply_all and merging the delta
    (either way round) give one result; the state is unchanged; states and ops repr as Python."""
    state, op = data.draw(state_and_op(kind))
    before = repr(state), state.to_json()
    assert eval(repr(state), dict(NAMESPACE)) == state  # noqa: S307 - reprs are Python by contract
    assert eval(repr(op), dict(NAMESPACE)) == op  # noqa: S307
    after = _valid(state, op)
    if after is not None:
        prepared = op.prepare(state)
        assert eval(repr(prepared), dict(NAMESPACE)) == prepared  # noqa: S307
        delta = delta_for(state, op)
        assert state.apply_all([op]) == after == state.apply(op)
        assert prepared.apply(state) == after
        assert state.merge(delta) == after == delta.merge(state)
    assert (repr(state), state.to_json()) == before


ONE_OP = {
    GCounter: GCounter.Increment("a", 2), PNCounter: PNCounter.Decrement("a", 2), GSet: GSet.Add("x"),
    TwoPhaseSet: TwoPhaseSet.Add("x"), ORSet: ORSet.Add("x", replica="a"),
    LWWRegister: LWWRegister.Assign("v", timestamp=1, replica="a"),
    MVRegister: MVRegister.Assign("v", replica="a"),
    LWWMap: LWWMap.Set("k", "v", timestamp=1, replica="a"),
}


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_every_crdt_type_keeps_the_state_crdt_contract(kind):
    """Every public CRDT has StateCRDT's four members, and they behave as its docstring says:
    apply is one op of apply_all, merge is idempotent, to_json is stable; nothing is mutated."""
    state = kind() if isinstance(kind, type) else kind
    assert isinstance(state, StateCRDT)
    op = ONE_OP[kind] if isinstance(kind, type) else ORMap.Update("k", ONE_OP[kind.kind])
    after = state.apply(op)
    assert isinstance(after, type(state)) and after == state.apply_all([op])
    assert after.merge(after) == after and state.merge(after) == after
    assert state.to_json() == (kind() if isinstance(kind, type) else kind).to_json()
    assert after.value == type(after).from_json(after.to_json()).value


def test_the_public_crdt_names_are_exactly_the_state_crdts():
    """crdts.__all__ lists the protocol and nine types, each of which conforms to it."""
    import replicalab.crdts as crdts

    types = [getattr(crdts, n) for n in crdts.__all__ if n != "StateCRDT"]
    assert len(types) == 9
    for cls in types:
        assert all(callable(getattr(cls, m, None)) for m in ("merge", "apply", "to_json", "from_json"))
        assert hasattr(cls(), "value")


def _merge_or_error(merge, a, b):
    try:
        return merge(a, b)
    except MergeValidationError as exc:
        return type(exc)


@pytest.mark.parametrize("nested", [MVRegister, LWWRegister, ORSet, PNCounter])
@given(data=st.data())
def test_ormap_fast_merge_computes_the_reference_rule(nested, data):
    """ORMap.merge is a hand-written fast path; on every pair of states of one run (and on
    independently grown states, which may be unmergeable) it equals the short rule."""
    from replicalab.testing import run, schedules

    initial = ORMap(nested)
    schedule = data.draw(schedules(rs.crdt_ops(initial), max_replicas=3, max_ops=6, max_deliveries=1))
    states = run(schedule, lambda: initial, repr(initial), heal=data.draw(st.booleans())).states
    states = states + [data.draw(rs.crdt_states(initial))]
    for a in states:
        for b in states:
            fast = _merge_or_error(ORMap.merge, a, b)
            assert fast == _merge_or_error(ORMap._reference_merge, a, b)
            if isinstance(fast, ORMap):
                assert fast.value == a._reference_merge(b).value


@pytest.mark.parametrize("kind", [ORSet, LWWMap])
@given(data=st.data())
def test_orset_and_lwwmap_fast_merges_compute_their_reference_rules(kind, data):
    """The hand-written merges of ORSet and LWWMap equal their short rules on every pair of
    states of one run, and on independently grown (possibly unmergeable) states."""
    from replicalab.testing import run, schedules

    schedule = data.draw(schedules(rs.crdt_ops(kind), max_replicas=3, max_ops=6, max_deliveries=1))
    states = run(schedule, kind, kind.__name__, heal=data.draw(st.booleans())).states
    states = states + [data.draw(rs.crdt_states(kind))]
    for a in states:
        for b in states:
            assert _merge_or_error(kind.merge, a, b) == _merge_or_error(kind._reference_merge, a, b)


def test_equal_states_print_and_serialize_identically_whatever_the_insertion_order():
    one = ORSet().add("b", replica="a").add("a", replica="b").add(("t", 1), replica="c")
    two = ORSet().add(("t", 1), replica="c").add("a", replica="b").add("b", replica="a")
    assert one == two and repr(one) == repr(two) and one.to_json() == two.to_json()
    m1 = LWWMap().set("z", 1, timestamp=1, replica="a").set("y", 2, timestamp=1, replica="a")
    m2 = LWWMap().set("y", 2, timestamp=1, replica="a").set("z", 1, timestamp=1, replica="a")
    assert repr(m1) == repr(m2) and list(m1.value) == ["y", "z"] and m1.to_json() == m2.to_json()


def test_a_delta_stays_small_however_large_the_state():
    """A delta carries one update, not the state: its bytes do not grow with the set."""
    big = ORSet().apply_all(ORSet.Add(f"item{i}", replica="a") for i in range(1000))
    assert len(big.add_delta("new", replica="b").to_json()) < 150 < len(big.to_json())
    table = LWWMap().apply_all(LWWMap.Set(f"k{i}", i, timestamp=i, replica="a") for i in range(1000))
    assert len(table.set_delta("k1", "x", timestamp=5000, replica="b").to_json()) < 120


def test_ops_belong_to_their_type():
    with pytest.raises(ConfigError, match="GCounter.Increment"):
        GCounter().apply_all([PNCounter.Increment("a")])
    with pytest.raises(ConfigError, match="prepared with both"):
        ORSet.Add("x", replica="a", dot=Dot("a", 1))
    with pytest.raises(ConfigError, match="cannot carry"):
        ORSet.Add("x", replica="a", dot=Dot("b", 1), observed=())
