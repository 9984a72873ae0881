"""Dots and causal contexts: a set of events, stored compactly, that only grows."""

from hypothesis import given
from hypothesis import strategies as st

from replicalab.clocks import VectorClock
from replicalab.dots import CausalContext, Dot

dots = st.builds(Dot, st.sampled_from(["a", "b"]), st.integers(1, 6))
contexts = st.lists(dots, max_size=8).map(
    lambda ds: CausalContext(VectorClock(), frozenset(ds))
)


def test_out_of_order_dots_stay_in_the_cloud_until_the_gap_fills():
    ctx = CausalContext().add(Dot("a", 1)).add(Dot("a", 3))
    assert ctx.vv == VectorClock({"a": 1}) and ctx.cloud == {Dot("a", 3)}
    ctx = ctx.add(Dot("a", 2))
    assert ctx.vv == VectorClock({"a": 3}) and ctx.cloud == frozenset()


def test_next_dot_is_one_past_the_highest_known():
    assert CausalContext().next_dot("a") == Dot("a", 1)
    assert CausalContext().add(Dot("a", 1)).add(Dot("a", 5)).next_dot("a") == Dot("a", 6)


@given(st.lists(dots, max_size=10))
def test_context_holds_exactly_the_dots_added(ds):
    ctx = CausalContext()
    for d in ds:
        ctx = ctx.add(d)
    assert ctx.dots() == sorted(set(ds))
    assert all(d in ctx for d in ds)


@given(contexts, contexts)
def test_merge_is_union_and_commutative(a, b):
    assert a.merge(b) == b.merge(a)
    assert set(a.merge(b).dots()) == set(a.dots()) | set(b.dots())


@given(contexts, contexts, contexts)
def test_merge_is_associative(a, b, c):
    assert a.merge(b).merge(c) == a.merge(b.merge(c))


@given(contexts)
def test_merge_is_idempotent(a):
    assert a.merge(a) == a


def test_a_dot_made_without_validators_is_the_validated_dot() -> None:
    """Dot._made (the coordinator's and the ground truth's per-write path) skips the checks,
    never the value: equal, same hash, same order, same repr and str."""
    from replicalab.dots import Dot

    for replica, counter in [("n1", 1), ("n1~2", 57), ("eu-west-1", 3)]:
        made, checked = Dot._made(replica, counter), Dot(replica, counter)
        assert made == checked and hash(made) == hash(checked)
        assert (repr(made), str(made)) == (repr(checked), str(checked))
        assert not made < checked and not checked < made
