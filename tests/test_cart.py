"""The Dynamo shopping cart: concurrent set ADD and DELETE across regions, under each policy."""

import attrs
import pytest

from replicalab import scenarios
from replicalab.errors import ConfigError
from replicalab.replica.base import RecordingContext
from replicalab.replica.table import TableReplica, UpdateItem
from replicalab.scenarios.cart import SCENARIO
from replicalab.scenarios.world import ClientWrite


def cart(result, region="eu-west-1"):
    return result.final[region]["cart_7"]


def with_writes(*writes):
    return attrs.evolve(SCENARIO, workload=SCENARIO.workload + writes)


@pytest.mark.parametrize("merge", ["item-lww", "attribute-lww"])
@pytest.mark.parametrize("seed", range(10))
def test_lww_loses_the_add_to_the_later_delete(merge, seed):
    """Both regions rewrite the whole set: the phone's later item (no book, no headphones)
    wins, and the laptop's add vanishes without an error."""
    r = scenarios.run("cart", merge=merge, seed=seed)
    assert r.ledger.verdicts() == {"w1": "silently-lost", "w2": "kept"}
    assert cart(r) == {"customer": "ana"} and r.converged
    assert r.ledger["w1"].by == ("w2",)


def test_causal_siblings_make_the_reader_union_them_and_the_deleted_book_resurfaces():
    """The Dynamo paper's admitted anomaly: nothing is lost, but merging siblings by union
    brings back the book the phone deleted."""
    r = scenarios.run("cart", merge="causal")
    assert r.ledger.verdicts() == {"w1": "kept", "w2": "kept"}
    siblings = cart(r)
    assert siblings == [{"customer": "ana", "items": ["book", "headphones"]}, {"customer": "ana"}]
    union = sorted({e for s in siblings for e in s.get("items", [])})
    assert union == ["book", "headphones"]


@pytest.mark.parametrize("seed", range(10))
def test_an_or_set_keeps_the_add_and_the_delete(seed):
    """The crdt policy's OR-Set: the delete removes the book it observed, the add brings only
    headphones, in every region, whatever the delivery order."""
    r = scenarios.run("cart", merge="crdt", seed=seed)
    assert r.ledger.verdicts() == {"w1": "kept", "w2": "kept"}
    assert all(items["cart_7"]["items"] == ["headphones"] for items in r.final.values())
    assert r.converged


def test_add_wins_a_concurrent_add_of_the_deleted_element_survives_the_delete():
    """An OR-Set delete promises to remove the adds it *observed*; a tablet's concurrent add of
    the book was not among them, so the book stays — and the ledger names that as the delete's
    loss, with the add that beat it."""
    tablet = ClientWrite(125, "ap-southeast-2", "w3", "tablet", "cart_7", {},
                         add={"items": {"book"}})
    r = with_writes(tablet).run("crdt")
    assert cart(r)["items"] == ["book", "headphones"]
    entry = r.ledger["w2"]
    assert entry.verdict == "silently-lost" and entry.by == ("w3",)
    assert "'book' is in items again, added by w3" in entry.why and "w3 had not seen w2" in entry.why


@pytest.mark.parametrize("merge", ["crdt", "causal"])
def test_a_delete_that_had_seen_the_add_supersedes_it(merge):
    """Changing your mind is not a conflict: a delete issued after the add had replicated."""
    later = ClientWrite(900, "eu-west-1", "w3", "phone", "cart_7", {},
                        delete={"items": {"headphones"}})
    r = with_writes(later).run(merge)
    assert r.ledger["w1"].verdict == "superseded" and r.ledger["w1"].by == ("w3",)
    assert r.ledger["w3"].verdict == "kept"
    assert cart(r) == {"customer": "ana"}


@pytest.mark.parametrize("merge", ["item-lww", "attribute-lww"])
def test_a_later_delete_does_not_hide_that_lww_had_already_lost_the_add(merge):
    """Under LWW the add had already lost to the phone's concurrent delete before the later
    delete ran: the merge history counts, so w1 stays silently lost, and the why says that a
    later write overwrote it having seen it."""
    later = ClientWrite(900, "eu-west-1", "w3", "phone", "cart_7", {},
                        delete={"items": {"headphones"}})
    r = with_writes(later).run(merge)
    entry = r.ledger["w1"]
    assert entry.verdict == "silently-lost" and entry.by == ("w2",)
    assert "w2 had not seen w1" in entry.why and "later, w3 overwrote it" in entry.why


@pytest.mark.parametrize("options", [{"routing": "key-home"}, {"mode": "single-primary"}])
def test_one_writer_region_applies_add_and_delete_in_turn(options):
    r = scenarios.run("cart", **options)
    assert r.summary["silently_lost"] == 0 and cart(r)["items"] == ["headphones"]


def test_versioned_writes_detect_the_fork_and_mrsc_rejects_one_write():
    assert scenarios.run("cart", writes="versioned").summary["detected"] == 1
    r = scenarios.run("cart", mode="mrsc")
    assert r.summary["rejected"] == 1 and r.summary["silently_lost"] == 0


def test_the_ledger_says_what_each_write_did_to_the_set():
    text = scenarios.run("cart").report()
    assert "laptop@us-east-1 adds headphones to items" in text
    assert "phone@eu-west-1 deletes book from items" in text


@pytest.mark.parametrize("kwargs, says", [
    ({"add": {"items": set()}}, "non-empty set"),
    ({"add": {"items": {"a", 1}}}, "all strings or all integers"),
    ({"add": {"items": {True}}}, "all strings or all integers"),
    ({"delete": {"items": "book"}}, "non-empty set"),
    ({"delete": ["items"]}, "delete must be a mapping"),
    ({"add": {"items": {"a"}}, "delete": {"items": {"b"}}}, "both add and delete"),
])
def test_set_actions_are_validated_when_the_request_is_built(kwargs, says):
    with pytest.raises(ConfigError, match=says):
        UpdateItem("w1", "cart_7", {}, **kwargs)


def test_an_attribute_may_not_be_both_set_and_added_to():
    with pytest.raises(ConfigError, match="both set and add"):
        UpdateItem("w1", "cart_7", {"items": "x"}, add={"items": {"book"}})


@pytest.mark.parametrize("policy", ["item-lww", "crdt"])
def test_set_actions_on_a_non_set_attribute_are_rejected_and_leave_the_item_unchanged(policy):
    """DynamoDB answers a ValidationException; treating 'ana' as an empty set would corrupt it."""
    region = TableReplica("eu-west-1", policy)
    ctx = RecordingContext("eu-west-1", wall=5, peers=["us-east-1"])
    region.on_message(ctx, "shop", UpdateItem("w1", "cart_7", {"customer": "ana"}))
    before = dict(region.items)
    ctx = RecordingContext("eu-west-1", wall=6, peers=["us-east-1"])
    region.on_message(ctx, "shop", UpdateItem("w2", "cart_7", {}, add={"customer": {"x"}}))
    region.on_message(ctx, "shop", UpdateItem("w3", "cart_7", {}, add={"customer": 1}))
    replies = [e.args[1] for e in ctx.of_kind("reply")]
    assert [r.error for r in replies] == ["ValidationError", "ValidationError"]
    assert "not a set" in replies[0].message and "not a number" in replies[1].message
    assert region.items == before


def test_set_items_survive_the_anti_entropy_byte_encoding():
    """Anti-entropy ships items as bytes; an OR-Set's element cells must come back as elements."""
    from replicalab.items import Item
    from replicalab.policies import get_policy

    for name in ("crdt", "item-lww"):
        item = get_policy(name).initial({"items": {"book", "pen"}, "customer": "ana"})
        assert Item.from_bytes(item.to_bytes()) == item
