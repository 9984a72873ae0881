"""Atomic counters across regions: the seed's "atomic counters" under each policy."""

import pytest

from replicalab import scenarios
from replicalab.errors import ConfigError
from replicalab.replica.table import UpdateItem


@pytest.mark.parametrize("seed", range(10))
def test_lww_keeps_one_of_three_concurrent_increments_and_the_ledger_counts_the_rest(seed):
    """Each region's ADD is atomic only locally: three items say used=1, one wins."""
    r = scenarios.run("counter", merge="item-lww", seed=seed)
    assert r.summary["silently_lost"] == 2 and r.summary["kept"] == 1
    assert r.final["eu-west-1"]["quota_acme"]["used"] == 1 and r.converged


@pytest.mark.parametrize("seed", range(10))
def test_a_crdt_counter_keeps_every_increment(seed):
    r = scenarios.run("counter", merge="crdt", seed=seed)
    assert r.ledger.verdicts() == {"w1": "kept", "w2": "kept", "w3": "kept"}
    assert all(items["quota_acme"]["used"] == 3 for items in r.final.values()) and r.converged


def test_causal_hands_the_reader_three_siblings_to_add_up():
    r = scenarios.run("counter", merge="causal")
    assert [v["used"] for v in r.final["us-east-1"]["quota_acme"]] == [1, 1, 1]


def test_key_home_serializes_the_increments_in_the_home_region():
    r = scenarios.run("counter", routing="key-home")
    assert r.final["ap-southeast-2"]["quota_acme"]["used"] == 3
    assert r.summary["silently_lost"] == 0


@pytest.mark.parametrize("bad", [{"used": 1.5}, {"used": True}, {"": 1}, ["used"]])
def test_add_takes_integer_increments(bad):
    with pytest.raises(ConfigError, match="add"):
        UpdateItem("w1", "k", {}, add=bad)


def test_versioned_increments_on_an_unversioned_item_fork_and_are_detected():
    """The item has no version attribute yet: each region's conditional write starts it at 1,
    all three pass locally, and the scan finds a fork on version 1."""
    r = scenarios.run("counter", writes="versioned")
    assert r.summary["detected"] == 2 and r.summary["rejected"] == 0
    assert [f.version for f in r.forks] == [1]


def test_mrsc_regions_apply_increments_too():
    """Sequential ADDs through MRSC regions (no conflict) all count; a region must not drop `add`."""
    from replicalab.replica.mrsc import MrscRegion
    from replicalab.sim import Simulation

    sim = Simulation([MrscRegion(r) for r in ("a", "b", "c")])
    sim.client_request(0, "a", UpdateItem("w1", "k", {}, add={"n": 2}))
    sim.client_request(500, "b", UpdateItem("w2", "k", {}, add={"n": 3}))
    sim.run_until_quiescent()
    assert {r: x.items["k"].to_plain() for r, x in sim.replicas.items()} == {
        "a": {"n": 5}, "b": {"n": 5}, "c": {"n": 5}}
