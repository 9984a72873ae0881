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


@given(contexts, contexts)
def test_merging_a_context_into_one_that_holds_it_returns_the_holder_itself(a, c):
    """CausalContext.merge returns a side that already holds every dot of the other (as
    VectorClock.merge returns a clock that already is the maximum): a client merging a read's
    context into its session keeps the read's context, not an equal copy. Whichever side
    holds the other, in either order; a dot of the smaller side's cloud may sit in the larger
    side's vector."""
    big = a.merge(c)
    union = CausalContext(big.vv, big.cloud)  # the same dots, built by the checked constructor
    for x, y in ((a, big), (big, a), (c, big), (big, c)):
        merged = x.merge(y)
        # the holder itself; when both hold each other (equal contexts), either one
        assert (merged is big or merged == x == big) and merged == union
        assert set(merged.dots()) == set(x.dots()) | set(y.dots())


def test_a_cloud_dot_inside_the_other_vector_still_returns_the_holder() -> None:
    small = CausalContext().add(Dot("a", 3))  # a:3 out of order: in the cloud
    big = CausalContext(VectorClock({"a": 4}))  # a:1..4 in the vector
    assert small.merge(big) is big and big.merge(small) is big
    other = CausalContext().add(Dot("b", 2))  # neither holds the other: a new context
    merged = small.merge(other)
    assert merged is not small and merged is not other
    assert set(merged.dots()) == {Dot("a", 3), Dot("b", 2)}


def test_a_dot_made_without_validators_is_the_validated_dot() -> None:
    """Dot._made (the coordinator's and the ground truth's per-write path) skips the checks,
    never the value: equal, same hash, same order, same repr and str."""
    from replicalab.dots import Dot

    for replica, counter in [("n1", 1), ("n1~2", 57), ("eu-west-1", 3)]:
        made, checked = Dot._made(replica, counter), Dot(replica, counter)
        assert made == checked and hash(made) == hash(checked)
        assert (repr(made), str(made)) == (repr(checked), str(checked))
        assert not made < checked and not checked < made
