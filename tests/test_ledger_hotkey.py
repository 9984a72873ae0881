"""The ledger on one hot key: linear in writes, with the answers of the scan it replaced.

The removal rules ask, per write and attribute, which writes on the item removed it. They
used to scan every write of the run for that (a quadratic on one key written W times: 14 s
at W = 2,000 with leader regions). :class:`~replicalab.ledger.rules._Removals` indexes the
removing writes by key and attribute once. These tests hold it to the scan it replaced, on
seeded random records with every kind of removal, and count the work on a hot key (an
operation count, not a timing: ``benchmarks/b13_scaling.py`` times it).
"""

from __future__ import annotations

import random

import pytest
from test_ledger import History

from replicalab.clocks import VectorClock
from replicalab.dots import Dot
from replicalab.ledger import WriteRecord, rules

KEYS = ("k", "j")
ATTRIBUTES = ("x", "y", "z")


def _records(rng: random.Random, count: int) -> dict[str, WriteRecord]:
    """Writes on two keys from three replicas: plain sets, REMOVEs, PutItems, set DELETEs,
    each having seen a random prefix of every replica's earlier writes."""
    counters = {"a": 0, "b": 0, "c": 0}
    out: dict[str, WriteRecord] = {}
    for n in range(count):
        replica = rng.choice(sorted(counters))
        counters[replica] += 1
        seen = VectorClock({r: (c if r == replica else rng.randint(0, c))
                            for r, c in counters.items()})
        kind = rng.choice(["set", "remove", "put", "sdel"])
        attributes = {a: n for a in ATTRIBUTES if rng.random() < 0.5}
        removed = tuple(rng.sample(ATTRIBUTES, rng.randint(1, 2))) if kind == "remove" else ()
        elements = ({"items": (("p",), tuple(rng.sample("abc", rng.randint(1, 2))))}
                    if kind == "sdel" else {})
        out[f"w{n}"] = WriteRecord(
            id=f"w{n}", replica=replica, key=rng.choice(KEYS), time=n, client="c",
            attributes=attributes, dot=Dot(replica, counters[replica]), seen=seen,
            removed=removed, replaces=kind == "put", elements=elements)
    return out


# The scans the index replaced, word for word: the oracle.
def _scan_removers(w, attribute, records):
    return {r.id for r in records.values()
            if r.id != w.id and r.key == w.key and not w.saw(r)
            and (attribute in r.removed or r.replaces and attribute not in r.attributes)}


def _scan_removed_after(w, records):
    return any(r.id != w.id and r.key == w.key and r.saw(w) and set(r.removed) & set(w.effect)
               for r in records.values())


def _scan_absent_removers(w, records):
    return {r.id for r in records.values() if r.id != w.id and r.key == w.key
            and set(r.removed) & set(w.effect)}


def _scan_deleters(w, attribute, element, records):
    return [r.id for r in records.values() if r.key == w.key and r.id != w.id
            and element in r.elements.get(attribute, ((), ()))[1]]


@pytest.mark.parametrize("seed", range(8))
def test_the_removal_index_answers_as_the_scan_over_every_write_did(seed):
    records = _records(random.Random(seed), 60)
    index = rules._Removals(records)
    for w in records.values():
        assert rules._removed_after(w, index) == _scan_removed_after(w, records)
        assert ({r.id for a in w.effect for r in index.of(w.key, a) if r.id != w.id}
                == _scan_absent_removers(w, records))
        for attribute in (*ATTRIBUTES, "items"):
            assert rules._removers(w, attribute, index) == _scan_removers(w, attribute, records)
            for element in "abcd":
                # a list, in write order: the why names the deleters in this order
                assert ([r.id for r in index.deleting(w.key, attribute, element) if r.id != w.id]
                        == _scan_deleters(w, attribute, element, records))


def _hot_history(writes: int) -> History:
    """``writes`` plain updates of one attribute of one item, round-robin over three replicas
    that exchange their items after every third write (so most writes are overwritten, some
    by writes that had not seen them)."""
    h = History("item-lww", replicas=("a", "b", "c"))
    for n in range(writes):
        h.write(f"w{n}", "abc"[n % 3], x=str(n))
        if n % 3 == 2:
            h.everyone_syncs()
    h.everyone_syncs()
    return h


def test_judging_a_hot_key_asks_who_saw_whom_a_number_of_times_linear_in_its_writes(monkeypatch):
    """The quadratic asked ``saw`` once per write *pair*; now the count grows with W."""
    calls = [0]
    saw = WriteRecord.saw

    def counted(self, other):
        calls[0] += 1
        return saw(self, other)

    monkeypatch.setattr(WriteRecord, "saw", counted)
    counts = {}
    for writes in (150, 600):
        h = _hot_history(writes)
        calls[0] = 0
        ledger = h.ledger()
        counts[writes] = calls[0]
        assert len(ledger) == writes and ledger[f"w{writes - 1}"].verdict == "kept"
    # Four times the writes: about four times the questions (a pairwise scan asks 16 times as many).
    assert counts[600] <= 4.5 * counts[150], counts
