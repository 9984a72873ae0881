"""The composition matrix for the in-region options: every N/R/W × sloppy × fault × heal × read
repair of the ``dynamo`` cluster, and every partitions × write quorum × fault × heal of the
``leader`` cluster, each checked against invariants computed from the final node states (an
oracle that does not use the ledger's code path).

A case is a small run (30 operations), so the whole matrix stays within about ten seconds.
"""

from __future__ import annotations

import itertools

import pytest

from replicalab.ledger.quorum import QUORUM_VERDICTS
from replicalab.scenarios import dynamo, leader

RW = [(r, w) for r in (1, 2, 3) for w in (1, 2, 3)]
KEEPS_STATE = {"none", "crash", "az-outage", "az-partition"}
# Read repair alternates across the cases (both values meet every other knob's values) rather
# than doubling the matrix: the invariants do not depend on it, and the matrix stays fast.
CASES = [(rw, sloppy, fault, heal, (i % 2 == 0))
         for i, (rw, sloppy, fault, heal) in enumerate(
             itertools.product(RW, (False, True), dynamo.FAULTS, (True, False)))]


def _values_at(result: dynamo.QuorumResult) -> tuple[set[str], set[str]]:
    """Ops held by an intact home node, and ops held in some hint, from the final states."""
    home, hinted = set(), set()
    lossy_down = set()
    if result.trace is not None:
        lossy = {e.replica for e in result.trace.of_kind("Crashed") if not e.get("durable")}
        back = {e.replica for e in result.trace.of_kind("Restarted")}
        lossy_down = lossy - back
    for node, keys in result.final.items():
        if node in lossy_down:
            continue
        for key, values in keys.items():
            if node in result.homes[key]:
                home |= {v.split(".")[1] for v in values}
    for node, homes in result.hints.items():
        if node in lossy_down:
            continue
        for keys in homes.values():
            for values in keys.values():
                hinted |= {v.split(".")[1] for v in values}
    return home, hinted


@pytest.mark.parametrize("rw, sloppy, fault, heal, repair", CASES,
                         ids=[f"r{r}w{w}-{'sloppy' if s else 'strict'}-{f}-{'heal' if h else 'noheal'}-"
                              f"{'rr' if rr else 'norr'}" for (r, w), s, f, h, rr in CASES])
def test_dynamo_invariants_hold_for_every_combination(rw, sloppy, fault, heal, repair) -> None:
    r, w = rw
    result = dynamo.run(seed=7, n=3, r=r, w=w, sloppy=sloppy, fault=fault, heal=heal,
                        read_repair=repair, ops=30, keys=6)
    assert result.trace is not None
    puts = sorted(e.get("op") for e in result.trace.of_kind("ClientRequested", "RequestFailed")
                  if e.get("request")["type"] == "Put")
    entries = result.ledger.entries
    # One verdict per write, from the documented set.
    assert sorted(e.op for e in entries) == puts
    assert all(e.verdict in QUORUM_VERDICTS for e in entries)
    # Verdicts agree with the final states.
    home, hinted = _values_at(result)
    for e in entries:
        if e.verdict in ("kept", "sibling"):
            assert e.op in home, e
        elif e.verdict == "hint-only":
            assert e.op in hinted and e.op not in home, e
        elif e.verdict in ("lost", "rejected"):
            assert e.op not in home and e.op not in hinted, e
    # No sloppy quorum, no hints.
    if not sloppy:
        assert not result.trace.of_kind("HintStored")
        assert result.summary["hint-only"] == 0
    # Healed runs hand every hint home.
    if heal:
        assert all(not homes for homes in result.hints.values())
    # R + W > N without a sloppy quorum, no state lost: no stale read, nothing lost.
    if r + w > 3 and not sloppy and fault in KEEPS_STATE:
        assert result.stale_reads == ()
    # W >= 2: no single node failure loses an acknowledged write.
    if w >= 2:
        assert result.summary["lost"] == 0


LEADER_CASES = list(itertools.product((1, 2, 3), (2, 3), leader.FAULTS, (True, False)))


@pytest.mark.parametrize("parts, quorum, fault, heal", LEADER_CASES)
def test_leader_invariants_hold_for_every_combination(parts, quorum, fault, heal) -> None:
    result = leader.run(seed=11, partitions=parts, write_quorum=quorum, fault=fault, heal=heal, ops=60)
    assert result.stale_strong == ()
    assert result.lost == ()
    s = result.summary
    assert s["acknowledged"] + s["failed"] + s["strong_reads"] + s["eventual_reads"] <= 60
