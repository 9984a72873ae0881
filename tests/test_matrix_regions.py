"""The composition matrix with AZ nodes in every region: ``replicas_per_region=3``, ``region_protocol``
``"leader"`` and ``"leaderless"`` (strict quorums n/r/w alternating: 3/2/2, 3/1/3, 3/3/1).

Every built-in table scenario × merge policy × writes × routing × mode, each run with
three AZ nodes per region, checked against the same invariants as the one-replica matrix
(:func:`test_matrix.check_invariants`: one verdict per write, why and ``by`` agree with ground
truth, convergence, nothing crosses a cut, clocks order what was seen), plus the in-region
ones: every AZ node of a region ends with the same table, and no strongly consistent read
misses a write its own region acknowledged before it was sent.

The stamps (wall, hlc) and a fault inside the first writer's region (none, AZ a down without
its disk and back, AZ b down with it, AZ a cut off from the region's other AZs and healed, AZ b
cut off) alternate across the cases rather than multiplying them, so the matrix stays within a
few seconds; every fault and both stamps meet every policy. Refusals are counted as in the one-replica matrix.
"""

from __future__ import annotations

import itertools

import attrs
import pytest
from test_matrix import check_invariants

from replicalab import scenarios
from replicalab.errors import ConfigError
from replicalab.policies import policy_names
from replicalab.replica.table import STAMPS, AntiEntropy
from replicalab.scenarios.regions import AzOutage, AzPartition
from replicalab.scenarios.world import MODES, ROUTING, WRITES

#: (AZ, keeps its disk, at, until) for an outage; (AZ, "cut", at, until) for a partition.
OUTAGES = (None, ("a", False, 90, 600), ("b", True, 150, 500), ("a", "cut", 90, 600), ("b", "cut", 150, 500))


def _combinations():
    for i, (name, merge, writes, routing, mode) in enumerate(itertools.product(
            scenarios.names(), policy_names(), WRITES, ROUTING, MODES)):
        options = {"merge": merge, "writes": writes, "routing": routing, "mode": mode,
                   "stamps": STAMPS[i % len(STAMPS)], "replicas_per_region": 3, "region_protocol": "leader"}
        yield name, options, OUTAGES[i % len(OUTAGES)]


VALID, REFUSED = [], []
for _case in _combinations():
    try:
        scenarios.get(_case[0]).options(**_case[1])
    except ConfigError as _error:
        REFUSED.append((*_case, str(_error)))
    else:
        VALID.append(_case)


def test_the_matrix_refuses_exactly_what_regions_with_azs_cannot_run() -> None:
    for name, options, _, error in REFUSED:
        scenario = scenarios.get(name)
        single_replica_only = scenario.anti_entropy is not None or scenario.replication_delay or scenario.faults
        assert (options["mode"] == "mrsc" or single_replica_only
                or (options["mode"] == "single-primary" and options["routing"] == "key-home")), (name, options, error)
    per_scenario = len(policy_names()) * len(WRITES) * len(ROUTING) * len(MODES)
    assert len(VALID) + len(REFUSED) == len(scenarios.names()) * per_scenario
    # 5 scenarios run with AZ nodes; each refuses mrsc (1/3 of its cases) and single-primary
    # with key-home (half of the remaining single-primary third: 1/6).
    assert len(VALID) == 5 * (per_scenario - per_scenario // 3 - per_scenario // 6) == 120


def _id(case):
    name, options, outage = case
    return "-".join([name, options["merge"], options["writes"], options["routing"], options["mode"],
                     options["stamps"], "".join(map(str, outage[:2])) if outage else "no-outage"])


@pytest.mark.parametrize("case", VALID, ids=[_id(c) for c in VALID])
def test_invariants_hold_with_azs_in_every_region(case) -> None:
    _check(case)


# -- the same matrix with leaderless regions (issue #16) -----------------------------------------------

#: AZ partitions run only under the leader protocol (options.py refuses them here): the outages.
LEADERLESS_OUTAGES = tuple(o for o in OUTAGES if o is None or o[1] != "cut")
#: Strict quorums (r + w > n) alternate across the cases, as stamps and outages do.
QUORUMS = ((3, 2, 2), (3, 1, 3), (3, 3, 1))


def _leaderless_combinations():
    for i, (name, merge, writes, routing, mode) in enumerate(itertools.product(
            scenarios.names(), policy_names(), WRITES, ROUTING, MODES)):
        n, r, w = QUORUMS[i % len(QUORUMS)]
        options = {"merge": merge, "writes": writes, "routing": routing, "mode": mode,
                   "stamps": STAMPS[i % len(STAMPS)], "replicas_per_region": 3,
                   "region_protocol": "leaderless", "n": n, "r": r, "w": w}
        yield name, options, LEADERLESS_OUTAGES[(i // 2) % len(LEADERLESS_OUTAGES)]


LEADERLESS_VALID, LEADERLESS_REFUSED = [], []
for _case in _leaderless_combinations():
    try:
        scenarios.get(_case[0]).options(**_case[1])
    except ConfigError as _error:
        LEADERLESS_REFUSED.append((*_case, str(_error)))
    else:
        LEADERLESS_VALID.append(_case)


def test_the_leaderless_matrix_refuses_exactly_what_it_cannot_run() -> None:
    """What the leader rows refuse, and the versioned pattern (a condition on one
    coordinator's copy), each with a message naming what to use instead."""
    for name, options, _, error in LEADERLESS_REFUSED:
        scenario = scenarios.get(name)
        single_replica_only = scenario.anti_entropy is not None or scenario.replication_delay or scenario.faults
        assert (options["mode"] == "mrsc" or single_replica_only or options["writes"] == "versioned"
                or (options["mode"] == "single-primary" and options["routing"] == "key-home")), (name, options, error)
        nonsense = options["mode"] == "single-primary" and options["routing"] == "key-home"
        if options["writes"] == "versioned" and options["mode"] != "mrsc" and not single_replica_only \
                and not nonsense:
            assert "use region_protocol='leader'" in error
    assert len(LEADERLESS_VALID) == 120 // 2  # the leader rows' cases, plain writes only


@pytest.mark.parametrize("case", LEADERLESS_VALID, ids=[_id(c) + f"-n{c[1]['n']}r{c[1]['r']}w{c[1]['w']}"
                                                        for c in LEADERLESS_VALID])
def test_invariants_hold_with_leaderless_azs_in_every_region(case) -> None:
    _check(case)


def _check(case, scenario=None):
    name, options, outage = case
    scenario = scenarios.get(name) if scenario is None else scenario
    given = dict(options)
    if outage is not None:
        az, durable, at, until = outage
        region = scenario.workload[0].region
        if durable == "cut":
            given["az_partitions"] = [AzPartition(at, region, az, until=until)]
        else:
            given["az_outages"] = [AzOutage(at, region, az, until=until, durable=durable)]
    result = scenario.run(seed=0, **given)
    check_invariants(result, scenario, options)
    by_region: dict[str, list] = {}
    for node, items in result.final.items():
        by_region.setdefault(node[:-1], []).append(items)
    for region, tables in by_region.items():
        assert all(t == tables[0] for t in tables), f"{name} {options}: {region}'s AZs differ"
    facts = {f.op: f for f in result.facts}
    for op in result.stale_reads:
        why = result.stale_why[op]
        read = next(r for r in scenario.reads if r.op == op)
        missed = why.split(" missed ")[1].split(",")[0]
        if read.consistent:  # r + w > n: a strong read meets every write its region acknowledged
            assert facts[missed].replica[:-1] != read.region, f"{name} {options}: {why}"
    return result


# -- leaderless regions with Merkle anti-entropy between the home nodes of each key (issue #16) ---------

#: The anti-entropy the rows below give every scenario, and the horizon its run stops at (its
#: timers never stop): the last fault heals at t=600, and within nodes - 1 = 2 periods every
#: pair of a region's nodes has compared.
SYNC = AntiEntropy(period=250, fanout=4, timeout=800)
HORIZON = 2500


def _synced_cases():
    """The leaderless rows, each with anti-entropy on, and every fault of the leader rows: AZ
    partitions too, which a leaderless region runs only with anti-entropy (nothing else tells
    a node that was cut off what it missed)."""
    for i, (name, options, _) in enumerate(LEADERLESS_VALID):
        yield name, options, OUTAGES[(i // 2) % len(OUTAGES)]


SYNCED = list(_synced_cases())


@pytest.mark.parametrize("case", SYNCED, ids=[_id(c) + f"-n{c[1]['n']}r{c[1]['r']}w{c[1]['w']}-sync"
                                              for c in SYNCED])
def test_invariants_hold_with_leaderless_azs_and_anti_entropy(case) -> None:
    """The matrix's invariants, with anti-entropy repairing inside each region; and an
    acknowledged write that two home nodes held (w >= 2; an outage takes one node) under a
    merge that keeps concurrent writes (causal, crdt) is kept or superseded, never lost."""
    name, options, outage = case
    result = _check(case, attrs.evolve(scenarios.get(name), anti_entropy=SYNC, horizon=HORIZON))
    assert any(e.kind == "Synced" for e in result.trace), f"{name} {options}: no session ran"
    if options["merge"] in ("causal", "crdt") and options["w"] >= 2:
        acknowledged = {e.get("op") for e in result.trace.of_kind("Replied") if e.get("ok")}
        for entry in result.ledger:
            if entry.write in acknowledged:
                assert entry.verdict in ("kept", "superseded"), f"{name} {options} {outage}: {entry}"


def test_without_anti_entropy_a_leaderless_cut_is_refused_and_with_it_runs() -> None:
    london = scenarios.get("london")
    cut = {"az_partitions": [AzPartition(100, "eu-west-1", "a", until=600)], "replicas_per_region": 3,
           "region_protocol": "leaderless"}
    with pytest.raises(ConfigError, match=r"anti_entropy=AntiEntropy\(\)"):
        london.options(**cut)
    attrs.evolve(london, anti_entropy=SYNC, horizon=HORIZON).options(**cut)
