"""The table replica, driven by hand through a recording context (no simulator)."""

import pytest

from replicalab.errors import ConfigError
from replicalab.replica import (
    GetItem,
    PutItem,
    ReadResult,
    RecordingContext,
    Replicate,
    Response,
    TableReplica,
    UpdateItem,
)


def region(policy="item-lww"):
    return TableReplica("eu-west-1", policy)


def ctx(wall=100):
    return RecordingContext("eu-west-1", wall=wall, peers=["ap-southeast-2", "us-east-1"])


def test_a_write_is_applied_acknowledged_and_replicated_to_every_peer():
    r, c = region(), ctx()
    r.on_message(c, "portal", UpdateItem("w1", "k", {"a": 1}))
    assert [e.kind for e in c.effects] == ["log", "reply", "send", "send"]
    assert c.of_kind("reply")[0].args == ("portal", Response("w1"))
    sends = c.of_kind("send")
    assert [e.args[0] for e in sends] == ["ap-southeast-2", "us-east-1"]
    assert all(e.data["scope"] == "k" for e in sends)
    assert isinstance(sends[0].args[1], Replicate) and sends[0].args[1].write == "w1"


def test_the_write_is_stamped_with_the_replicas_wall_clock():
    r, c = region(), ctx(wall=12345)
    r.on_message(c, "portal", UpdateItem("w1", "k", {"a": 1}))
    assert r.items["k"].versions[0].stamp.wall == 12345
    assert c.of_kind("log")[0].data["stamp"] == {"wall": 12345, "logical": 0, "replica": "eu-west-1",
                                                "seq": 1}


def test_update_keeps_other_attributes_and_put_replaces_them():
    r, c = region(), ctx()
    r.on_message(c, "app", UpdateItem("w1", "k", {"a": 1, "b": 2}))
    r.on_message(c, "app", UpdateItem("w2", "k", {"b": 3}))
    assert r.items["k"].to_plain() == {"a": 1, "b": 3}
    r.on_message(c, "app", PutItem("w3", "k", {"c": 4}))
    assert r.items["k"].to_plain() == {"c": 4}


def test_a_failed_condition_is_rejected_and_nothing_changes():
    r, c = region(), ctx()
    r.on_message(c, "app", UpdateItem("w1", "k", {"version": 17}))
    before = r.items["k"]
    c.effects.clear()
    r.on_message(c, "app", UpdateItem("w2", "k", {"version": 18}, condition={"version": 16}))
    assert r.items["k"] == before
    (reply,) = c.of_kind("reply")
    assert reply.args[1].ok is False and reply.args[1].error == "ConditionalCheckFailed"
    assert c.of_kind("send") == []


def test_a_condition_is_checked_against_the_local_copy_only():
    r, c = region(), ctx()
    r.on_message(c, "app", UpdateItem("w1", "k", {"version": 17}, condition={"version": None}))
    r.on_message(c, "app", UpdateItem("w2", "k", {"version": 18}, condition={"version": 17}))
    assert [e.args[1].ok for e in c.of_kind("reply")] == [True, True]


def test_get_item_reads_the_local_copy():
    r, c = region(), ctx()
    r.on_message(c, "app", UpdateItem("w1", "k", {"a": 1}))
    r.on_message(c, "reader", GetItem("r1", "k", consistent=True))
    assert c.of_kind("reply")[-1].args == ("reader", ReadResult("r1", item={"a": 1}, writes=("w1",)))
    r.on_message(c, "reader", GetItem("r2", "missing"))
    assert c.of_kind("reply")[-1].args[1].item is None


def test_a_replicated_item_is_merged_with_the_policy_and_logged():
    us = TableReplica("us-east-1", "item-lww")
    uc = RecordingContext("us-east-1", wall=189, peers=["eu-west-1"])
    us.on_message(uc, "job", UpdateItem("w2", "k", {"b": 2}))
    eu, ec = region(), ctx(wall=140)
    eu.on_message(ec, "portal", UpdateItem("w1", "k", {"a": 1}))
    replicate = uc.of_kind("send")[0].args[1]
    eu.on_message(ec, "us-east-1", replicate)
    assert eu.items["k"].to_plain() == {"b": 2}
    merged = ec.of_kind("log")[-1]
    assert merged.args == ("Merged",) and merged.data["losses"][0]["write"] == "w1"


def test_unknown_messages_are_refused_clearly():
    with pytest.raises(ConfigError, match="cannot handle a str"):
        region().on_message(ctx(), "x", "hello")


def test_attribute_names_must_be_non_empty_strings():
    with pytest.raises(ConfigError, match="attribute names"):
        UpdateItem("w1", "k", {"": 1})
