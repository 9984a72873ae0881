"""Registers: LWW loses concurrent assignments by design; MV keeps them as siblings."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replicalab.crdts import LWWRegister, MVRegister
from replicalab.errors import MergeValidationError

# -- LWW: states reachable by assignments with distinct markers ---------------------------

lww_ops = st.lists(st.tuples(st.integers(0, 4), st.sampled_from("ab")), max_size=4)


def lww_state(ops):
    """A register after assigning the value implied by each (timestamp, replica) marker.

    One marker names one assignment, so the value is a function of the marker.
    """
    reg = LWWRegister()
    for ts, r in ops:
        reg = reg.assign(f"{r}{ts}", timestamp=ts, replica=r)
    return reg


lww_states = lww_ops.map(lww_state)


@given(lww_states, lww_states)
def test_lww_merge_commutes(a, b):
    assert a.merge(b) == b.merge(a)


@given(lww_states, lww_states, lww_states)
def test_lww_merge_associates(a, b, c):
    assert a.merge(b).merge(c) == a.merge(b.merge(c))


@given(lww_states)
def test_lww_merge_is_idempotent(a):
    assert a.merge(a) == a


@given(lww_ops, st.permutations(range(4)))
def test_lww_converges_under_any_delivery_order(ops, order):
    singles = [lww_state([op]) for op in ops]
    forward = LWWRegister()
    for s in singles:
        forward = forward.merge(s)
    shuffled = LWWRegister()
    for i in order:
        if i < len(singles):
            shuffled = shuffled.merge(singles[i]).merge(singles[i])  # duplicates too
    assert forward == shuffled


def test_lww_tie_on_timestamp_is_broken_by_replica_id():
    a = LWWRegister().assign("from a", timestamp=10, replica="a")
    b = LWWRegister().assign("from b", timestamp=10, replica="b")
    assert a.merge(b).value == b.merge(a).value == "from b"


def test_lww_older_assignment_is_lost_without_error():
    """The lesson of LWW: the later marker wins, the earlier value is simply gone."""
    reg = LWWRegister().assign("new", timestamp=20, replica="a").assign("old", timestamp=10, replica="b")
    assert reg.value == "new"


def test_lww_same_marker_two_values_is_unreachable():
    a = LWWRegister("x", 5, "a")
    with pytest.raises(MergeValidationError, match="two different values"):
        a.merge(LWWRegister("y", 5, "a"))


# -- MV register --------------------------------------------------------------------------

mv_ops = st.lists(
    st.tuples(st.sampled_from("abc"), st.sampled_from(["red", "blue"]), st.booleans()), max_size=6
)


def mv_replicas(ops):
    """Run ops over three replicas; each op assigns, and optionally first syncs from the next replica."""
    regs = {r: MVRegister() for r in "abc"}
    for r, value, sync in ops:
        if sync:
            other = "abc"["abc".index(r) - 1]
            regs[r] = regs[r].merge(regs[other])
        regs[r] = regs[r].assign(value, replica=r)
    return regs


mv_states = mv_ops.map(lambda ops: list(mv_replicas(ops).values()))


@given(mv_states)
def test_mv_merge_is_a_join(states):
    a, b, c = states
    assert a.merge(b) == b.merge(a)
    assert a.merge(b).merge(c) == a.merge(b.merge(c))
    assert a.merge(a) == a


@given(mv_ops)
def test_mv_keeps_exactly_the_assignments_no_other_assignment_saw(ops):
    """Model check: after full sync, the value is every assignment not overwritten by one that saw it."""
    regs = {r: MVRegister() for r in "abc"}
    history = []  # (dot, value, context the assigning replica had)
    for r, value, sync in ops:
        if sync:
            regs[r] = regs[r].merge(regs["abc"["abc".index(r) - 1]])
        seen = regs[r].context
        regs[r] = regs[r].assign(value, replica=r)
        (dot, _), = regs[r].entries
        history.append((dot, value, seen))
    merged = regs["a"].merge(regs["b"]).merge(regs["c"])
    expected = {
        (dot, value) for dot, value, _ in history
        if not any(dot.counter <= seen.get(dot.replica) for _, _, seen in history)
    }
    assert merged.entries == expected


def test_mv_concurrent_assignments_become_siblings_then_collapse():
    a = MVRegister().assign("red", replica="a")
    b = MVRegister().assign("blue", replica="b")
    both = a.merge(b)
    assert both.value == {"red", "blue"}
    resolved = both.assign("purple", replica="b")
    assert resolved.value == {"purple"}
    assert resolved.merge(a).value == {"purple"}  # a's red was seen: stays overwritten


def test_mv_same_dot_two_values_is_unreachable():
    a = MVRegister().assign("red", replica="a")
    forged = MVRegister().assign("green", replica="a")  # same dot a:1, different value
    with pytest.raises(MergeValidationError, match="dot a:1"):
        a.merge(forged)


def test_mv_repr_is_valid_python():
    from replicalab.clocks import VectorClock  # noqa: F401 - used by eval
    from replicalab.dots import Dot  # noqa: F401 - used by eval

    reg = MVRegister().assign("red", replica="a")
    assert eval(repr(reg)) == reg  # noqa: S307
