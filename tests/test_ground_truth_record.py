"""``GroundTruth.record``: the simulator's write record, kept plain until someone asks.

The contract: a write recorded with ``record`` is, once asked for (``writes``, ``sequenced``),
exactly the fact ``wrote`` would have made — the same dot, past, replica, time, scope and
client, in execution order — and knowledge moves the same way at once. Asking twice gives the
same objects; a leader's ``sequenced`` works on plain records as on made ones.
"""

from __future__ import annotations

import random

import pytest

from replicalab.errors import ReplicaIdError
from replicalab.sim.ground_truth import GroundTruth


def _history(seed: int) -> list[tuple[str, str, str, str, int, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(60):
        replica = rng.choice(["a", "b", "c"])
        actor = replica if rng.random() < 0.8 else f"{replica}~2"
        out.append((f"w{i % 50}", replica, actor, rng.choice(["k1", "k2"]), i, f"c{i % 3}"))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_recorded_writes_become_the_facts_wrote_makes_in_execution_order(seed: int) -> None:
    made, plain = GroundTruth(), GroundTruth()
    for n, (op, replica, actor, scope, time, client) in enumerate(_history(seed)):
        made.wrote(op, replica, actor, scope, time, client)
        plain.record(op, replica, actor, scope, time, client)
        if n % 7 == 0:  # knowledge moves at once, whether the facts were asked for or not
            assert plain.knowledge == made.knowledge
        if n == 30:
            assert plain.writes == made.writes  # asked part-way: later records stay plain
        if n % 11 == 0:
            node = ["a", "b", "c"][n % 3]
            payload = made.payload(node, scope, None)
            if payload is not None:
                made.receive("b", payload)
                plain.receive("b", payload)
    assert list(plain.writes.items()) == list(made.writes.items())
    first = dict(plain.writes)
    assert all(plain.writes[op] is fact for op, fact in first.items())  # made once


def test_sequenced_takes_plain_records_as_it_takes_made_ones() -> None:
    made, plain = GroundTruth(), GroundTruth()
    for truth, verb in ((made, made.wrote), (plain, plain.record)):
        verb("w1", "a", "a", "k", 1, "c1")
        verb("w2", "a", "a", "k", 2, "c2")
        verb("w3", "b", "b", "k", 3, "c3")
        truth.sequenced("w2", "b", ("w3",))  # w2 taken ahead of w1: w1 is named afresh
        truth.sequenced("w1", "b", ("w3", "w2"))
    assert made.writes == plain.writes and made.knowledge == plain.knowledge


def test_wrote_still_refuses_an_actor_that_is_no_replica_id() -> None:
    truth = GroundTruth()
    with pytest.raises(ReplicaIdError):
        truth.wrote("w1", "a", "", "k", 1, "c1")
    assert truth.writes == {} and truth.knowledge == {}
