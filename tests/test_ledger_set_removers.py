"""A set member's first removers: the per-replica index answers as the scan it replaced.

:func:`~replicalab.ledger.rules._element_removers` names the writes that took an added member
out of a set: of the writes that had seen the add and left a set without it, those that had
seen none of the others. It used to walk every such write after the add, per missing member:
on one hot set over a fixed pool of members that is quadratic in the writes
(``benchmarks/b13_scaling.py --workload hot-set``). Where each replica's writes on the item saw
the one before them (:meth:`~replicalab.ledger.rules._Removals.chained`, as the simulator's
records are), only each replica's first candidate is looked at. These tests hold it to the
scan (``scan=True``, the code the index replaced) on seeded random histories with every kind
of removal, chained ones and ones that are not (where the scan itself is used).
"""

from __future__ import annotations

import random

import pytest

from replicalab.clocks import VectorClock
from replicalab.dots import Dot
from replicalab.ledger import WriteRecord, rules

REPLICAS = ("a", "b", "c")
MEMBERS = ("p", "q", "r")


def _history(rng: random.Random, count: int, chained: bool) -> dict[str, WriteRecord]:
    """``count`` writes on items ``k`` (mostly) and ``j`` from three replicas: set ADD/DELETE
    of members, REMOVE of the set, PutItem, whole-set SET, and now and then a write with no
    dot. ``chained``: each replica knows what it knew before plus what it received from a
    peer (a random earlier state of it), and its writes run at strictly later times; else
    every write has seen a random prefix of each replica's writes (knowledge may shrink),
    and times repeat at a replica."""
    counters = dict.fromkeys(REPLICAS, 0)
    known: dict[str, dict[str, int]] = {r: dict.fromkeys(REPLICAS, 0) for r in REPLICAS}
    states: dict[str, list[dict[str, int]]] = {r: [dict(known[r])] for r in REPLICAS}
    last: dict[str, int] = dict.fromkeys(REPLICAS, -1)
    out: dict[str, WriteRecord] = {}
    time = 0
    for n in range(count):
        time += rng.randint(0, 1)  # ties across replicas
        replica = rng.choice(REPLICAS)
        if chained and time <= last[replica]:
            time = last[replica] + 1
        last[replica] = time
        counters[replica] += 1
        if chained:
            if rng.random() < 0.5:
                peer = rng.choice(REPLICAS)
                got = rng.choice(states[peer])
                known[replica] = {r: max(c, got[r]) for r, c in known[replica].items()}
            known[replica][replica] = counters[replica]
            states[replica].append(dict(known[replica]))
            seen = VectorClock(known[replica])
        else:
            seen = VectorClock({r: (c if r == replica else rng.randint(0, c))
                                for r, c in counters.items()})
        kind = rng.choice(["add", "add", "delete", "delete", "remove", "put", "set"])
        attributes: dict[str, object] = {}
        elements: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        if kind in ("add", "delete"):
            picked = tuple(rng.sample(MEMBERS, rng.randint(1, 2)))
            elements = {"items": (picked, ()) if kind == "add" else ((), picked)}
            attributes = {"items": set(picked)}
        elif kind == "set":
            attributes = {"items": set(rng.sample(MEMBERS, rng.randint(0, 2)))}
        elif kind == "put":
            attributes = {"x": n} if rng.random() < 0.5 else {"items": {rng.choice(MEMBERS)}}
        dotless = not chained and rng.random() < 0.05
        out[f"w{n}"] = WriteRecord(
            id=f"w{n}", replica=replica, key="k" if rng.random() < 0.85 else "j", time=time,
            client="c", attributes=attributes, dot=None if dotless else Dot(replica, counters[replica]),
            seen=seen, removed=("items",) if kind == "remove" else (), replaces=kind == "put",
            elements=elements)
    return out


def _compare(records: dict[str, WriteRecord], rng: random.Random) -> tuple[int, int]:
    """Every (write, member, holders) asked both ways; returns (questions, answers naming 2+)."""
    index = rules._Removals(records)
    ids = sorted(records)
    asked = several = 0
    for w in records.values():
        for element in MEMBERS:
            for plain in ((), tuple(rng.sample(ids, 2)), (rng.choice(ids), "w-unknown")):
                fast = rules._element_removers(w, "items", element, plain, index)
                slow = rules._element_removers(w, "items", element, plain, index, scan=True)
                assert fast == slow, (w.id, element, plain)
                asked += 1
                several += len(fast) > 1
    return asked, several


@pytest.mark.parametrize("seed", range(12))
def test_first_removers_by_the_index_are_the_scans_on_chained_histories(seed):
    rng = random.Random(seed)
    records = _history(rng, 70, chained=True)
    index = rules._Removals(records)
    # The index is what these histories exercise: each item is chained.
    assert all(index.chained(records[w]) for w in ("w0", *records))
    asked, several = _compare(records, rng)
    assert asked == 70 * len(MEMBERS) * 3 and several > 0  # concurrent removers are named


@pytest.mark.parametrize("seed", range(6))
def test_histories_that_are_not_chained_are_scanned(seed):
    rng = random.Random(100 + seed)
    records = _history(rng, 70, chained=False)
    index = rules._Removals(records)
    assert not index.chained(next(r for r in records.values() if r.key == "k"))
    _compare(records, rng)


def test_a_replica_whose_knowledge_shrinks_is_not_chained():
    """What the index relies on, checked per item: a later write at a replica saw the earlier
    one there and all it had seen, and ran later."""
    def record(n: int, time: int, seen: dict[str, int]) -> WriteRecord:
        return WriteRecord(id=f"w{n}", replica="a", key="k", time=time, client="c",
                           attributes={}, dot=Dot("a", n), seen=VectorClock(seen))

    grows = {"w1": record(1, 1, {"a": 1, "b": 2}), "w2": record(2, 2, {"a": 2, "b": 2})}
    assert rules._Removals(grows).chained(grows["w1"])
    shrinks = {"w1": record(1, 1, {"a": 1, "b": 2}), "w2": record(2, 2, {"a": 2, "b": 1})}
    assert not rules._Removals(shrinks).chained(shrinks["w1"])
    same_time = {"w1": record(1, 1, {"a": 1}), "w2": record(2, 1, {"a": 2})}
    assert not rules._Removals(same_time).chained(same_time["w1"])
