"""The composition matrix: every built-in scenario under every combination of options.

scenarios × merge policies × writes × routing × mode × stamps × durable, over
several seeds. Each run is checked against *invariants* — things that must be
true whatever the options — never against hand-picked outcomes:

* one verdict per client write, from the documented set;
* the why and ``by`` agree with the verdict: a lost write's ``by`` had not seen
  it, a superseded write's ``by`` had (judged from the simulator's ground truth,
  not from anything a policy said);
* MRSC never loses an acknowledged write;
* every run whose faults all healed converges, and ``unreplicated`` appears
  only in runs that did not;
* no message, client request or reply crosses a cut link;
* a write that had seen another is stamped after it on the Lamport clock, and
  on the hybrid logical clock when the table orders by it (``stamps="hlc"``).

Combinations that make no sense are refused up front with ``ConfigError`` —
and counted here, so the matrix cannot quietly shrink.
"""

from __future__ import annotations

import itertools
import os

import pytest

from replicalab import scenarios
from replicalab.clocks import VectorClock
from replicalab.errors import ConfigError
from replicalab.ledger import VERDICTS
from replicalab.policies import policy_names
from replicalab.replica.table import STAMPS
from replicalab.scenarios.world import MODES, ROUTING, WRITES

from probes import PROBES

SEEDS = (0, 1, 2, 3) if os.environ.get("CI") else (0, 1)
DURABLE = (None, True, False)
#: Every built-in scenario, and the test-only probes of paths the stories never take.
SCENARIOS = {**{name: scenarios.get(name) for name in scenarios.names()}, **PROBES}


def _combinations():
    for name, merge, writes, routing, mode, stamps, durable in itertools.product(
            SCENARIOS, policy_names(), WRITES, ROUTING, MODES, STAMPS, DURABLE):
        options = {"merge": merge, "writes": writes, "routing": routing, "mode": mode,
                   "stamps": stamps}
        if durable is not None:
            options["durable"] = durable
        yield name, options


def _split():
    valid, refused = [], []
    for name, options in _combinations():
        try:
            SCENARIOS[name].options(**options)
        except ConfigError as error:
            refused.append((name, options, str(error)))
        else:
            valid.append((name, options))
    return valid, refused


VALID, REFUSED = _split()


def _id(case):
    name, options = case
    return "-".join([name, *(f"{v}" for k, v in options.items())])


def _nonsense(name, options):
    """The rules of refusal, written independently of the library: which ones apply."""
    rules = []
    if options["mode"] == "mrsc" and options["merge"] != "item-lww":
        rules.append("mode='mrsc' orders writes by commit")
    if options["mode"] == "single-primary" and options["routing"] == "key-home":
        rules.append("routing='key-home' sends it to the key's home")
    if "durable" in options and not any(
            type(f).__name__ == "Crash" for f in SCENARIOS[name].faults):
        rules.append("has no crash")
    return rules


def test_the_matrix_refuses_exactly_the_combinations_that_make_no_sense():
    """Counted, so a new refusal (or a lost one) shows up here instead of shrinking the matrix."""
    for name, options, error in REFUSED:
        rules = _nonsense(name, options)
        assert rules, f"{name} {options} refused for no documented reason: {error}"
        assert any(rule in error for rule in rules), f"{name} {options}: {error}"
    for name, options in VALID:
        assert not _nonsense(name, options), f"{name} {options} should have been refused"
    total = len(SCENARIOS) * len(policy_names()) * len(WRITES) * len(ROUTING) * len(
        MODES) * len(STAMPS) * len(DURABLE)
    assert len(VALID) + len(REFUSED) == total == 2880
    # Per (scenario, durable) cell: 96 combinations, 24 mrsc-with-a-policy and 16
    # single-primary-with-key-home refused; 14 cells (10 scenarios, 2 of them with a crash).
    assert (len(VALID), len(REFUSED)) == (14 * 56, 2880 - 14 * 56)


def _cuts(trace):
    """Yield (event, cut links at that moment) in trace order, replaying the fault events."""
    cut: set[tuple[str, str]] = set()
    for event in trace:
        if event.kind == "Partitioned":
            groups = event.get("groups")
            if groups is not None:
                for left, right in itertools.combinations(groups, 2):
                    for a in left:
                        for b in right:
                            cut |= {(a, b), (b, a)}
            else:
                src, dst = event.get("one_way")
                cut.add((src, dst))
        elif event.kind == "Healed":
            cut = set()
        yield event, cut


def check_invariants(result, scenario, options):
    where = f"{scenario.name} {options} seed={result.seed}"
    facts = {f.op: f for f in result.facts}
    ledger = {e.write: e for e in result.ledger}

    # One verdict per client write, from the documented set.
    for write in scenario.workload:
        assert write.op in ledger, f"{where}: {write.op} has no verdict"
    for entry in result.ledger:
        assert entry.verdict in VERDICTS, where
    assert len(ledger) == len(result.ledger), f"{where}: a write has two verdicts"
    summary = result.summary
    assert summary["acknowledged"] == len(ledger) - summary["rejected"], where

    # The why and `by` agree with the verdict, judged from ground truth.
    for entry in result.ledger:
        lost = facts.get(entry.write)
        named = [b for b in entry.by if b in facts]
        if entry.verdict == "kept":
            assert entry.by == (), f"{where}: kept {entry.write} names {entry.by}"
        elif entry.verdict == "superseded":
            assert named and len(named) == len(entry.by), f"{where}: {entry}"
            assert all(facts[b].saw(lost) for b in named), f"{where}: {entry}"
        elif entry.verdict == "silently-lost":
            # Lost in a merge names the winner; lost with a crashed region's state names none.
            assert entry.by or "crashed" in entry.why, f"{where}: {entry.write} names no cause"
            for b in named:
                assert not facts[b].saw(lost), f"{where}: {entry.write} lost to {b}, which saw it"
                assert f"{b} had seen {entry.write}" not in entry.why, f"{where}: {entry.why}"
        elif entry.verdict == "unreplicated":
            assert not result.converged, f"{where}: unreplicated in a converged run"
        elif entry.verdict == "rejected":
            assert entry.why, where

    # MRSC never loses an acknowledged write.
    if options["mode"] == "mrsc":
        assert summary["silently_lost"] == 0 and summary["detected"] == 0, (
            f"{where}: {result.ledger.verdicts()}")

    # Every built-in scenario heals its faults before the end: every run converges.
    assert result.converged, f"{where}: did not converge: {result.final}"

    # No message, request or reply crosses a cut: each is checked when it arrives.
    via, cuts, replied = {}, [], []
    for event, cut in _cuts(result.trace):
        cuts.append((event.time, frozenset(cut)))
        if event.kind == "Delivered":
            assert (event.get("src"), event.replica) not in cut, f"{where}: {event.to_plain()}"
        elif event.kind == "ClientRequested":
            via[event.get("op")] = event.get("via")
            client = event.get("via")
            if client is not None:
                assert (client, event.replica) not in cut, f"{where}: {event.to_plain()}"
        elif event.kind == "Replied" and event.get("ok"):
            replied.append(event)
    dropped = {e.get("op") for e in result.trace.of_kind("ReplyDropped")}
    for event in replied:
        client, arrives = via.get(event.get("op")), event.get("received")
        cut_then = next((c for t, c in reversed(cuts) if t <= arrives), frozenset())
        if client is not None and (event.replica, client) in cut_then:
            assert event.get("op") in dropped, f"{where}: reply crossed a cut: {event.to_plain()}"

    # A rejected write took effect nowhere: its values are in no region's final items.
    held = {w for items in result.items.values() for item in items.values() for w, _ in item.writes()}
    for entry in result.ledger:
        if entry.verdict == "rejected":
            assert entry.write not in held, f"{where}: rejected {entry.write} is held: {entry.why}"

    # Ground truth agrees with the causal policy's own version vectors.
    if options["merge"] == "causal" and options["mode"] == "mrec":
        clocks = {e.get("write"): e.get("clock") for e in result.trace.of_kind("Wrote")}
        for a, b in itertools.permutations(clocks, 2):
            if a in facts and b in facts and facts[b].saw(facts[a]):
                assert VectorClock(clocks[a]) < VectorClock(clocks[b]), (
                    f"{where}: ground truth says {b} saw {a}, its version vector does not")

    # A write that had seen another is stamped after it.
    wrote = {e.get("write"): e for e in result.trace.of_kind("Wrote")}
    for a, b in itertools.permutations(wrote, 2):
        if a not in facts or b not in facts or not facts[b].saw(facts[a]):
            continue
        ea, eb = wrote[a], wrote[b]
        assert eb.get("lamport") > ea.get("lamport"), f"{where}: {b} saw {a} but Lamport-before"
        if options["stamps"] == "hlc":
            sa, sb = ea.get("stamp"), eb.get("stamp")
            assert (sb["wall"], sb["logical"]) > (sa["wall"], sa["logical"]), (
                f"{where}: {b} saw {a} but its HLC stamp is not after it")


@pytest.mark.parametrize("case", VALID, ids=[_id(c) for c in VALID])
def test_invariants_hold_for_every_combination(case):
    name, options = case
    scenario = SCENARIOS[name]
    for seed in SEEDS:
        check_invariants(scenario.run(seed=seed, **options), scenario, options)
