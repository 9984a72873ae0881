"""The London incident, replayed under each policy on the same seeded schedule."""

import pytest

from replicalab import scenarios

SEEDS = range(25)


@pytest.mark.parametrize("seed", SEEDS)
def test_item_lww_silently_loses_exactly_the_london_address(seed):
    """The seed's incident: the address reverts, the batch job's write survives, nobody is told."""
    r = scenarios.run("london", merge="item-lww", seed=seed)
    assert r.summary == {"acknowledged": 2, "kept": 1, "superseded": 0, "silently_lost": 1,
                         "detected": 0, "rejected": 0, "unreplicated": 0}
    assert r.ledger.verdicts() == {"w1": "silently-lost", "w2": "kept"}
    assert r.converged
    for region in ("ap-southeast-2", "eu-west-1", "us-east-1"):
        item = r.final[region]["sub_42"]
        assert item["delivery_address"] == "7 Canal Street, Manchester"
        assert item["last_contacted"] == "2026-12-22T14:07:12.189Z" and item["version"] == 17
    # no error reached any client
    assert all(e.get("ok") for e in r.trace.of_kind("Replied"))


def test_the_ledger_says_where_and_why_the_address_vanished():
    entry = scenarios.run("london", merge="item-lww", seed=0).ledger["w1"]
    assert entry.where == "us-east-1"
    assert entry.by == ("w2",)
    assert entry.why == (
        "at us-east-1 t=211: item-lww kept w2 (14:07:12.189 us-east-1) over "
        "w1 (14:07:12.140 eu-west-1); w2 had not seen w1"
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_attribute_lww_keeps_both_writes(seed):
    r = scenarios.run("london", merge="attribute-lww", seed=seed)
    assert r.ledger.verdicts() == {"w1": "kept", "w2": "kept"} and r.converged
    assert r.final["eu-west-1"]["sub_42"] == {
        "delivery_address": "12 High Street, London",
        "last_contacted": "2026-12-22T14:07:12.189Z",
        "version": 17,
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_crdt_merges_the_two_attributes_and_loses_nothing(seed):
    r = scenarios.run("london", merge="crdt", seed=seed)
    assert r.ledger.verdicts() == {"w1": "kept", "w2": "kept"} and r.converged
    assert r.final["ap-southeast-2"]["sub_42"]["delivery_address"] == "12 High Street, London"


@pytest.mark.parametrize("seed", SEEDS)
def test_causal_keeps_both_versions_as_siblings(seed):
    r = scenarios.run("london", merge="causal", seed=seed)
    assert r.ledger.verdicts() == {"w1": "kept", "w2": "kept"} and r.converged
    siblings = r.final["us-east-1"]["sub_42"]
    assert isinstance(siblings, list) and len(siblings) == 2
    assert {s["delivery_address"] for s in siblings} == {"12 High Street, London",
                                                         "7 Canal Street, Manchester"}
    assert r.siblings_visible == 3


def test_same_schedule_under_every_policy():
    """Only the policy changes: the writes, their times and their stamps are identical."""
    def writes(merge):
        r = scenarios.run("london", merge=merge, seed=3)
        return [(e.time, e.replica, e.get("write"), e.get("stamp")) for e in r.trace.of_kind("Wrote")]

    assert writes("item-lww") == writes("attribute-lww") == writes("causal")


def test_seeds_change_the_delivery_schedule():
    times = {tuple(e.time for e in scenarios.run("london", seed=s).trace.of_kind("Merged"))
             for s in range(6)}
    assert len(times) > 1


def test_skew_can_make_the_london_write_win_under_item_lww():
    """Put us-east-1's clock 100 ms behind: its later write now carries the smaller stamp."""
    r = scenarios.run("london", merge="item-lww", seed=0, skew={"us-east-1": -100})
    assert r.ledger.verdicts() == {"w1": "kept", "w2": "silently-lost"}
    assert r.options == {"skew": {"us-east-1": -100}}


def test_report_shows_timeline_final_items_and_ledger():
    text = scenarios.run("london", merge="item-lww", seed=0).report()
    assert "1. t=140  eu-west-1 portal writes sub_42 (w1)" in text
    assert "w1     silently-lost  portal@eu-west-1 sets delivery_address" in text
    assert "why: at us-east-1 t=211: item-lww kept w2" in text
    assert "Summary: 2 acknowledged · 1 kept · 0 superseded · 1 silently lost" in text
    # A regional read says so (a typed event's unset scope once printed as "[None]").
    assert "strong read of sub_42 (r1) [regional]: sees w1" in text and "None" not in text


def test_scenarios_are_listed_with_descriptions():
    assert "london" in scenarios.names()
    assert "49 ms" in scenarios.describe()["london"]
