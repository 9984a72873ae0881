"""The seed's landscape, measured: each pattern against planted conflicts and its own promise."""

import os
import random
from functools import cache

import pytest

from replicalab import scenarios
from replicalab.errors import ConfigError, ReplicaIdError
from replicalab.items import INITIAL_WRITE, Cell, Item, Stamp, Version
from replicalab.replica.mrsc import MrscRegion
from replicalab.replica.table import GetItem, UpdateItem
from replicalab.scenarios.workloads import planted, workload
from replicalab.scenarios.world import ClientWrite, home_of
from replicalab.sim import Link, Simulation, Uniform
from replicalab.ulid import CROCKFORD, ulid

SEEDS = range(100 if os.environ.get("CI") else 12)
CONFLICTS = [0, 1, 5, 20]


@cache
def planted_run(conflicts, seed, **options):
    return planted(conflicts, seed=seed).run(seed=seed, **options)


@pytest.mark.parametrize("conflicts", CONFLICTS)
def test_item_lww_silently_loses_exactly_the_planted_conflicts(conflicts):
    """One loss per planted race, and none among the writes that could not race."""
    for seed in SEEDS:
        r = planted_run(conflicts, seed)
        assert r.summary["silently_lost"] == conflicts, f"seed {seed}"
        lost = {e.write for e in r.ledger if e.verdict == "silently-lost"}
        assert all(w.startswith("c") for w in lost), f"a background write was lost (seed {seed})"
        assert r.summary["detected"] == r.summary["rejected"] == 0 and r.converged


@pytest.mark.parametrize("conflicts", CONFLICTS)
def test_versioned_writes_turn_every_planted_loss_into_a_detected_one(conflicts):
    for seed in SEEDS:
        r = planted_run(conflicts, seed, writes="versioned")
        assert r.summary["silently_lost"] == 0, f"seed {seed}"
        assert r.summary["detected"] == conflicts, f"seed {seed}"
        assert len(r.forks) == conflicts


@pytest.mark.parametrize("options", [{"routing": "key-home"}, {"mode": "mrsc"}, {"merge": "causal"},
                                     {"mode": "single-primary"}, {"merge": "crdt"}],
                         ids=lambda o: "-".join(map(str, o.values())))
@pytest.mark.parametrize("conflicts", CONFLICTS)
def test_patterns_that_prevent_or_keep_conflicts_lose_nothing(conflicts, options):
    for seed in SEEDS:
        r = planted_run(conflicts, seed, **options)
        assert r.summary["silently_lost"] == 0, f"seed {seed}"
        assert r.converged


@pytest.mark.parametrize("conflicts", [1, 5, 20])
def test_mrsc_rejects_one_write_of_each_conflict_and_tells_the_client(conflicts):
    for seed in SEEDS[:10]:
        r = planted_run(conflicts, seed, mode="mrsc")
        assert r.summary["rejected"] == conflicts
        for entry in r.ledger:
            if entry.verdict == "rejected":
                assert entry.why.startswith("ReplicatedWriteConflict")


# -- MRSC linearizability -----------------------------------------------------------------

REGIONS = ["ap-southeast-2", "eu-west-1", "us-east-1"]
START = Stamp(-1, "", 0)
INITIAL = {"k": Item((Version.of({"x": Cell("v0", INITIAL_WRITE, START)}, write=INITIAL_WRITE,
                                 stamp=START),))}


def mrsc_history(seed, ops=12, ack_early=False):
    """Run random writes and strong reads on one item; return (invoke, respond, kind, value) ops."""
    rng = random.Random(seed)
    regions = [MrscRegion(r, items=INITIAL, ack_early=ack_early) for r in REGIONS]
    sim = Simulation(regions, link=Link(Uniform(20, 120)), seed=seed)
    kinds = {}
    for n in range(ops):
        at, region = int(rng.random() * 600), REGIONS[int(rng.random() * 3)]
        if rng.random() < 0.5:
            request = UpdateItem(f"w{n}", "k", {"x": f"v{n + 1}"})
            kinds[request.op] = ("write", f"v{n + 1}")
        else:
            request = GetItem(f"r{n}", "k", consistent=True)
            kinds[request.op] = ("read", None)
        sim.client_request(at, region, request, client=f"c{n}")
    sim.run_until_quiescent()
    history = []
    for reply in sim.replies:
        kind, value = kinds[reply.response.op]
        if not reply.response.ok:
            continue  # a refused MRSC write was applied nowhere
        if kind == "read":
            value = reply.response.item["x"]
        history.append((reply.issued, reply.time, kind, value))
    return history


def linearizable(history, initial="v0"):
    """Wing & Gong search: is there a total order, consistent with real time, that a register explains?"""
    ops = tuple(sorted(history))

    @cache
    def search(remaining, state):
        if not remaining:
            return True
        earliest_response = min(ops[i][1] for i in remaining)
        for i in remaining:
            invoke, _, kind, value = ops[i]
            if invoke > earliest_response:
                continue  # some other op finished before this one began: it must go first
            if kind == "read" and value != state:
                continue
            if search(remaining - {i}, value if kind == "write" else state):
                return True
        return False

    return search(frozenset(range(len(ops))), initial)


def test_the_checker_rejects_a_stale_read_after_a_completed_write():
    assert linearizable([(0, 5, "write", "v1"), (6, 8, "read", "v1")])
    assert not linearizable([(0, 5, "write", "v1"), (6, 8, "read", "v0")])
    assert linearizable([(0, 10, "write", "v1"), (2, 3, "read", "v0"), (4, 5, "read", "v1")])
    assert not linearizable([(0, 10, "write", "v1"), (2, 3, "read", "v1"), (4, 5, "read", "v0")])


@pytest.mark.parametrize("seed", range(60))
def test_mrsc_histories_are_linearizable(seed):
    history = mrsc_history(seed)
    assert len(history) <= 12
    assert linearizable(history), history


def test_the_planted_ack_before_another_region_has_it_bug_is_caught():
    """Acknowledge first, replicate later: some strong read misses a completed write."""
    caught = [seed for seed in range(60) if not linearizable(mrsc_history(seed, ack_early=True))]
    assert caught, "the early-ack bug went unnoticed in 60 histories"


# -- strongly consistent reads -------------------------------------------------------------

def test_a_regional_strong_read_5_ms_after_a_remote_write_returns_the_pre_write_value():
    """ConsistentRead=true in MREC is a regional guarantee: eu-west-1 has not heard of w2 yet."""
    r = scenarios.run("london")
    assert r.stale_reads == ("r1",)
    read = next(e for e in r.trace.of_kind("Read") if e.get("op") == "r1")
    assert "w2" not in read.get("writes") and read.time == 194


@pytest.mark.parametrize("seed", range(20))
def test_mrsc_global_reads_are_never_stale(seed):
    assert scenarios.run("london", mode="mrsc", seed=seed).stale_reads == ()


def test_single_primary_secondaries_serve_stale_strong_reads():
    assert scenarios.run("london", mode="single-primary").stale_reads == ("r1",)


# -- routing, latency, retries --------------------------------------------------------------

def test_key_home_writes_from_elsewhere_pay_the_round_trip():
    r = scenarios.run("london", routing="key-home", seed=0)
    latency = {e.write: e for e in r.ledger}
    assert r.summary["silently_lost"] == 0
    assert r.latency["p50"] == 0 and r.latency["max"] >= 140  # us-east-1 -> eu-west-1 and back
    assert set(latency) == {"w1", "w2"}


def test_moving_the_batch_job_home_means_lww_never_fires():
    r = scenarios.run("london-batch-at-home")
    assert r.summary == {"acknowledged": 2, "kept": 2, "superseded": 0, "silently_lost": 0,
                         "detected": 0, "rejected": 0, "unreplicated": 0}
    dropped = [x for e in r.trace.of_kind("Merged") for x in e.get("losses")
               if x["write"] != INITIAL_WRITE]
    assert dropped == []  # no merge ever dropped a client write's value


def test_home_of_is_stable_and_explicit_homes_win():
    assert home_of("k", REGIONS) == home_of("k", list(reversed(REGIONS)))
    assert home_of("k", REGIONS, {"k": "eu-west-1"}) == "eu-west-1"


def test_a_stale_conditional_write_is_rejected_and_the_retry_succeeds():
    """The client read version 17 long ago; by the time it writes, us-east-1's update arrived."""
    london = scenarios.get("london")
    early = london.workload[0]
    import attrs

    late_reader = attrs.evolve(london, workload=(
        london.workload[1], attrs.evolve(early, at=400, read_at=150)))
    r = late_reader.run(writes="versioned")
    verdicts = r.ledger.verdicts()
    assert verdicts["w1"] == "rejected" and "ConditionalCheckFailed" in r.ledger["w1"].why
    # The retry bumps `version` over w2's item, but the version is bookkeeping: w2's
    # last_contacted is still there, so w2 is kept.
    assert verdicts["w1.retry1"] == "kept" and verdicts["w2"] == "kept"
    assert r.summary["silently_lost"] == 0 and r.forks == ()


# -- skew and clocks -----------------------------------------------------------------------

def test_skew_the_real_time_later_write_loses_under_wall_clock_lww():
    r = scenarios.run("skew")
    assert r.ledger.verdicts() == {"w1": "kept", "w2": "silently-lost"} and r.converged


def test_skew_hybrid_logical_clock_stamps_keep_the_later_informed_write():
    r = scenarios.run("skew", stamps="hlc")
    assert r.ledger.verdicts() == {"w1": "superseded", "w2": "kept"}
    wrote = {e.get("write"): e for e in r.trace.of_kind("Wrote")}
    assert wrote["w2"].get("lamport") > wrote["w1"].get("lamport")


# -- append-only ---------------------------------------------------------------------------

def test_ulid_layout():
    rng = random.Random(5)
    ids = [ulid(ms, rng) for ms in (0, 1, 1, 10**12)]
    assert all(len(i) == 26 and set(i) <= set(CROCKFORD) for i in ids)
    assert ids == sorted(ids[:1]) + ids[1:3] + ids[3:] and ids[0] < ids[1] and ids[2] < ids[3]
    assert ulid(1_469_918_176_385, random.Random(0)).startswith("01ARYZ6S41")  # spec's example time
    assert ulid(7, random.Random(3)) == ulid(7, random.Random(3))


def test_append_only_traffic_never_conflicts_under_any_pattern():
    scenario = workload("append-only", seed=3, minutes=1)
    for options in ({}, {"merge": "attribute-lww"}, {"writes": "versioned"}):
        r = scenario.run(seed=3, **options)
        assert r.summary["silently_lost"] == r.summary["rejected"] == 0
        assert r.summary["kept"] == len(scenario.workload)


# -- bad input --------------------------------------------------------------------------------

def test_mrsc_with_two_regions_is_refused():
    import attrs

    two = attrs.evolve(scenarios.get("london"), regions=("eu-west-1", "us-east-1"),
                       latency={("eu-west-1", "us-east-1"): Uniform(70, 80)},
                       workload=(), reads=())
    with pytest.raises(ConfigError, match="exactly three regions"):
        two.run(mode="mrsc")


@pytest.mark.parametrize("options,error,fragment", [
    ({"routing": "key-home", "homes": {"sub_42": "mars-1"}}, ReplicaIdError, "mars-1"),
    ({"mode": "single-primary", "primary": "mars-1"}, ReplicaIdError, "primary"),
    ({"skew": {"us-east-1": -10**9}}, ConfigError, "before the time origin"),
    ({"writes": "optimistic"}, ConfigError, "plain, versioned"),
    ({"mode": "quorum"}, ConfigError, "mrec, mrsc, single-primary"),
    ({"stamps": "lamport"}, ConfigError, "wall, hlc"),
    ({"retries": -1}, ConfigError, "retries"),
])
def test_bad_pattern_options_raise_before_anything_runs(options, error, fragment):
    with pytest.raises(error, match=fragment):
        scenarios.run("london", **options)


@pytest.mark.parametrize("bad", ["17", 17.0, True, -1])
def test_expect_version_must_be_a_non_negative_int(bad):
    with pytest.raises(ConfigError, match="expect_version"):
        UpdateItem("w1", "k", {"a": 1}, expect_version=bad)


def test_planted_generator_validates_its_window():
    with pytest.raises(ConfigError, match="window"):
        planted(1, window=80)
    assert [w.op for w in planted(2, background=0).workload] == ["c0a", "c0b", "c1a", "c1b"]
    assert isinstance(planted(1).workload[0], ClientWrite)


def test_the_scan_counts_a_write_read_twice_as_one_claim():
    """Reading every region's stream can show one write twice; that is not a fork with itself."""
    from replicalab.reconcile import find_version_forks
    from replicalab.trace import Event

    def wrote(write, version):
        return Event(0, 0, "Wrote", "eu", {"write": write, "key": "k", "attributes": {"version": version}})

    assert find_version_forks([wrote("w1", 18), wrote("w1", 18)]) == []
    forks = find_version_forks([wrote("w1", 18), wrote("w1", 18), wrote("w2", 18)])
    assert [f.writes for f in forks] == [("w1", "w2")]
