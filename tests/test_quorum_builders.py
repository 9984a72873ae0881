"""The hot path's builders (:mod:`replicalab._built`) make exactly what the constructors make.

A leaderless node builds its messages and answers, and the simulator a client's reply, with
``made_*`` functions that skip attrs' ``__init__``. The contract: each result equals the
constructor's value for the same parts, hashes alike, prints alike, describes alike in a
trace, and is as frozen; a name that is no slot is refused. ``join_pair(a, b)`` is
``join((a, b))``, down to which object it returns.
"""

from __future__ import annotations

import random

import attrs
import pytest

from replicalab._built import new, slot_setter
from replicalab.dots import CausalContext, Dot
from replicalab.quorum import messages as m
from replicalab.quorum.versions import DottedVersion, join, join_pair, reconcile, same_dots
from replicalab.sim.describe import describe
from replicalab.sim.records import Reply, made_reply

V = (DottedVersion("v", Dot("n1", 1)), DottedVersion(2, Dot("n2", 3), CausalContext().add(Dot("n1", 1))))

PAIRS = [
    (m.made_store("w1", "k", V, None), m.Store("w1", "k", V)),
    (m.made_store("w1", "k", V[:1], "n4"), m.Store("w1", "k", V[:1], "n4")),
    (m.made_stored("w1"), m.Stored("w1")),
    (m.made_fetch("r1", "k"), m.Fetch("r1", "k")),
    (m.made_fetched("r1", V), m.Fetched("r1", V)),
    (m.made_fetched("r1", ()), m.Fetched("r1", ())),
    (m.made_put_done("w1", "n1:1", ("n1", "n2")), m.PutDone("w1", dot="n1:1", acks=("n1", "n2"))),
    (m.made_get_done("r1", ("v", 2), CausalContext().add(Dot("n2", 3)), V, ("n2", "n3")),
     m.GetDone("r1", values=("v", 2), context=CausalContext().add(Dot("n2", 3)), versions=V,
               replied=("n2", "n3"))),
    (made_reply(7, "n1", "c1", m.PutDone("w1", dot="n1:1"), 3),
     Reply(7, "n1", "c1", m.PutDone("w1", dot="n1:1"), 3)),
]


@pytest.mark.parametrize(("made", "built"), PAIRS, ids=lambda v: type(v).__name__)
def test_a_built_value_is_the_constructors_value(made: object, built: object) -> None:
    assert type(made) is type(built)
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    assert attrs.asdict(made, recurse=False) == attrs.asdict(built, recurse=False)  # type: ignore[arg-type]
    assert describe(made) == describe(built)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.op = "other"  # type: ignore[attr-defined]


def test_slot_setter_refuses_a_name_that_is_no_slot() -> None:
    with pytest.raises(TypeError, match="not a slot"):
        slot_setter(m.Stored, "nothing")
    with pytest.raises(TypeError, match="not a slot"):
        slot_setter(m.Put, "mutates")  # a class attribute, not a field


def test_a_field_left_unset_is_noticed_not_silently_defaulted() -> None:
    half = new(m.Fetch)
    slot_setter(m.Fetch, "op")(half, "r1")
    with pytest.raises(AttributeError):
        _ = half.key


def _random_joins(rng: random.Random, n: int) -> list[tuple[DottedVersion, ...]]:
    """Joins of random histories: versions whose writers had read some earlier versions."""
    made: list[DottedVersion] = []
    for i in range(n):
        seen = [v for v in made if rng.random() < 0.4]
        context = CausalContext()
        for v in seen:
            context = context.merge(v.context).add(v.dot)
        made.append(DottedVersion(i, Dot(rng.choice("ab"), i + 1), context))
    sides = [(), *[(v,) for v in made]]
    for _ in range(n):
        sides.append(reconcile(*(s for s in sides if rng.random() < 0.3)))
    return sides


@pytest.mark.parametrize("seed", range(6))
def test_join_pair_is_join_of_the_pair_even_to_the_object_returned(seed: int) -> None:
    rng = random.Random(seed)
    sides = _random_joins(rng, 12)
    for _ in range(300):
        a, b = rng.choice(sides), rng.choice(sides)
        if rng.random() < 0.1:
            b = a
        expected = join((a, b))
        got = join_pair(a, b)
        assert got == expected and (got is a) == (expected is a) and (got is b) == (expected is b)


@pytest.mark.parametrize("seed", range(4))
def test_same_dots_says_whether_two_joins_hold_the_same_writes_copies_included(seed: int) -> None:
    rng = random.Random(seed)
    sides = _random_joins(rng, 10)
    for _ in range(300):
        a, b = rng.choice(sides), rng.choice(sides)
        if rng.random() < 0.3:  # the same writes as other (equal) objects: a decoded copy
            b = tuple(DottedVersion(v.value, v.dot, v.context, v.op) for v in a)
        assert same_dots(a, b) == ([v.dot for v in a] == [v.dot for v in b])


@pytest.mark.parametrize("context", [CausalContext(), CausalContext().add(Dot("n1", 1)),
                                     CausalContext().add(Dot("n1", 1)).add(Dot("n2", 5))])
def test_a_coordinators_version_is_the_validated_constructors_version(context: CausalContext) -> None:
    made = DottedVersion._made(7, Dot("n3", 2), context, "w1")
    built = DottedVersion(7, Dot("n3", 2), context, "w1")
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    # the bare forms every join reads
    assert (made._key, dict(made._vv), made._cloud) == (built._key, dict(built._vv), built._cloud)
