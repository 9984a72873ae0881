"""Client requests are values: nobody can change one after it is made."""

import copy

import attrs
import pytest

from replicalab.errors import ConfigError
from replicalab.replica import GetItem, PutItem, RecordingContext, TableReplica, UpdateItem


def update() -> UpdateItem:
    return UpdateItem("w1", "k", {"a": 1}, {"v": None}, add={"n": 1, "s": {"x"}},
                      delete={"t": {"y"}})


@pytest.mark.parametrize("field", ["attributes", "condition", "add", "delete"])
def test_a_requests_mappings_cannot_be_mutated(field: str) -> None:
    request = update()
    mapping = getattr(request, field)
    with pytest.raises(TypeError):
        mapping["z"] = 1
    with pytest.raises(TypeError):
        del mapping[next(iter(mapping))]
    for verb in ("clear", "pop", "update", "setdefault", "popitem"):
        assert not hasattr(mapping, verb), verb
    assert request == update()


def test_a_request_cannot_be_reassigned() -> None:
    request = PutItem("w1", "k", {"a": 1})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        request.attributes = {"a": 2}  # type: ignore[misc]


def test_mutating_the_callers_dicts_afterwards_does_not_change_the_request() -> None:
    """The lesson: a request keeps a private copy, so a client that reuses its dict for the
    next write cannot rewrite the one already sent (or the trace that recorded it)."""
    attributes, condition, add, delete = {"a": 1}, {"v": 3}, {"n": 1}, {"t": {"y"}}
    request = UpdateItem("w1", "k", attributes, condition, add=add, delete=delete)
    put = PutItem("w2", "k", attributes, condition)
    attributes["a"] = 2
    attributes["b"] = 3
    condition.clear()
    add["n"] = 5
    delete["t"] = {"z"}
    assert request == UpdateItem("w1", "k", {"a": 1}, {"v": 3}, add={"n": 1}, delete={"t": {"y"}})
    assert put == PutItem("w2", "k", {"a": 1}, {"v": 3})


def test_requests_compare_print_hash_and_copy_like_the_dicts_they_were_given() -> None:
    request = PutItem("w1", "k", {"a": 1}, {"b": None})
    assert request.attributes == {"a": 1} and request.condition == {"b": None}
    assert repr(request) == "PutItem(op='w1', key='k', attributes={'a': 1}, condition={'b': None})"
    assert eval(repr(request)) == request  # noqa: S307 (the repr is valid Python: STYLE)
    assert hash(request) == hash(PutItem("w1", "k", {"a": 1}, {"b": None}))
    assert copy.deepcopy(request) == request and copy.copy(request) == request
    assert attrs.evolve(request, attributes={"a": 2}).attributes == {"a": 2}
    assert GetItem("r1", "k") == GetItem("r1", "k")


def test_a_condition_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ConfigError, match="condition must be a mapping"):
        UpdateItem("w1", "k", {"a": 1}, ["a"])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="condition: attribute names must be non-empty strings"):
        PutItem("w1", "k", {"a": 1}, {1: 2})  # type: ignore[dict-item]


def test_a_replica_applies_a_frozen_request_as_it_did_a_dict() -> None:
    region = TableReplica("a", policy="attribute-lww")
    ctx = RecordingContext("a", wall=10, peers=["b"])
    region.on_message(ctx, "app", UpdateItem("w1", "k", {"a": 1}, add={"n": 2}))
    region.on_message(ctx, "app", PutItem("w2", "j", {"x": [1, 2]}, {"x": None}))
    assert region.items["k"].to_plain() == {"a": 1, "n": 2}
    assert region.items["j"].to_plain() == {"x": [1, 2]}
    assert ctx.of_kind("log")[0].data["attributes"] == {"a": 1, "n": "+2"}
