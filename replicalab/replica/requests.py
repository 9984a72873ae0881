"""Client requests to a table region: ``UpdateItem``, ``PutItem``, ``GetItem`` and ``ReadResult``.

Requests are values: frozen attrs classes whose mapping fields (``attributes``,
``condition``, ``add``, ``delete``) are read-only copies of what the caller
passed, so neither the caller (mutating their own dict afterwards) nor a
replica (mutating the request) can change a request once it is made.

    >>> attributes = {"city": "London"}
    >>> request = UpdateItem("w1", "sub_42", attributes)
    >>> attributes["city"] = "Paris"          # the caller's dict, not the request's
    >>> request
    UpdateItem(op='w1', key='sub_42', attributes={'city': 'London'}, condition=None, expect_version=None, create_if_absent=False, add={}, delete={}, versioned=False)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.replica.base import Request, Response

__all__ = ["GetItem", "PutItem", "ReadResult", "UpdateItem"]

V = TypeVar("V")


class FrozenMap(Mapping[str, V]):
    """A read-only mapping over a private copy: what a request holds where a caller passed a dict.

    It compares equal to any mapping with the same items (a plain dict included),
    hashes when its values do, and prints as the dict it copies, so a request's
    repr stays valid Python. Not exported: requests hand it out, nobody builds one.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, V] | None = None) -> None:
        self._data: dict[str, V] = dict(data) if data is not None else {}

    def __getitem__(self, key: str) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return repr(self._data)


def _element_set(value: Any, what: str, name: Any) -> frozenset[Any]:
    if not isinstance(value, (set, frozenset)) or not value:
        raise ConfigError(f"{what} {_validate.shown(name)} takes a non-empty set of elements, e.g. {{'book'}}; "
                          f"got {_validate.shown(value)}")
    kinds = {str if isinstance(e, str) else int if type(e) is int else None for e in value}
    if None in kinds or len(kinds) != 1:
        raise ConfigError(f"{what} {_validate.shown(name)}: set elements must be all strings or all integers "
                          f"(a DynamoDB string or number set), got {_validate.shown(value)}")
    return frozenset(value)


def _adds(value: Any) -> FrozenMap[int | frozenset[Any]]:
    if not isinstance(value, Mapping):
        raise ConfigError("add must be a mapping of attribute -> integer increment or set of "
                          f"elements, got {_validate.shown(value)}")
    out: dict[str, int | frozenset[Any]] = {}
    for name, n in value.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"add takes non-empty attribute names, got {_validate.shown(name)}")
        if isinstance(n, (set, frozenset)):
            out[name] = _element_set(n, "add", name)
        elif type(n) is int:
            out[name] = n
        else:
            raise ConfigError(
                f"add takes attribute -> integer increment (negative to decrement) or a set of "
                f"elements to add, got {_validate.shown(name)}: {_validate.shown(n)}")
    return FrozenMap(out)


def _deletes(value: Any) -> FrozenMap[frozenset[Any]]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"delete must be a mapping of attribute -> set of elements, got {_validate.shown(value)}")
    out = {}
    for name, elements in value.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"delete takes non-empty attribute names, got {_validate.shown(name)}")
        out[name] = _element_set(elements, "delete", name)
    return FrozenMap(out)


def _disjoint(request: UpdateItem) -> None:
    """DynamoDB refuses an update whose actions overlap on one attribute; so do we."""
    seen: dict[str, str] = {}
    for action, names in (("set", request.attributes), ("add", request.add),
                          ("delete", request.delete)):
        for name in names:
            if name in seen:
                raise ConfigError(f"attribute {_validate.shown(name)} appears in both {seen[name]} and {action}; "
                                  "one update may act on an attribute only once")
            seen[name] = action


def _version(value: Any) -> None:
    if value is not None and (type(value) is not int or value < 0):
        raise ConfigError(f"expect_version must be an integer >= 0 (the version you read), got {_validate.shown(value)}")


def _flag(value: Any, what: str) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{what} must be True or False, got {_validate.shown(value)}")


def _plain_dict(value: Any, what: str) -> FrozenMap[Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{what} must be a mapping of attribute name -> value, got {_validate.shown(value)}")
    for name in value:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{what}: attribute names must be non-empty strings, got {_validate.shown(name)}")
    return FrozenMap(value)


def _attributes(value: Any) -> FrozenMap[Any]:
    return _plain_dict(value, "attributes")


def _condition(value: Any) -> FrozenMap[Any] | None:
    return None if value is None else _plain_dict(value, "condition")


@attrs.frozen
class UpdateItem(Request):
    """Set ``attributes`` on item ``key`` (other attributes untouched), like DynamoDB UpdateItem.

    ``condition`` maps attribute -> expected value (None: must be absent); it is
    checked against the *local* replica, and every sibling must satisfy it.
    Optimistic concurrency: ``expect_version=v`` adds the condition
    ``version = v`` and sets ``version`` to ``v + 1`` in the same write;
    ``create_if_absent=True`` requires that the item does not exist yet and
    sets ``version`` to 1. Both are checked against the local replica only.

    ``add`` is DynamoDB's ADD action: an integer is an atomic increment
    (``{"used": 1}``), a set adds elements to a set attribute
    (``{"items": {"book"}}``). ``delete`` is DynamoDB's DELETE action: it
    removes elements from a set attribute; removing the last element removes
    the attribute (a set is never empty). Each is atomic *in its region*
    only: what survives replication is the merge policy's business.
    """

    mutates: ClassVar[bool] = True

    key: str = attrs.field(validator=lambda _i, _a, v: _validate.name(v, "item key"))
    attributes: Mapping[str, Any] = attrs.field(converter=_attributes)
    condition: Mapping[str, Any] | None = attrs.field(default=None, converter=_condition)
    expect_version: int | None = attrs.field(default=None, kw_only=True,
                                             validator=lambda _i, _a, v: _version(v))
    create_if_absent: bool = attrs.field(default=False, kw_only=True)
    add: Mapping[str, int | frozenset[Any]] = attrs.field(factory=dict, kw_only=True, converter=_adds)
    delete: Mapping[str, frozenset[Any]] = attrs.field(factory=dict, kw_only=True, converter=_deletes)
    #: The client follows the versioning pattern: the ``version`` attribute this write sets is
    #: the pattern's bookkeeping, not part of the write's effect (implied by ``expect_version``
    #: and ``create_if_absent``).
    versioned: bool = attrs.field(default=False, kw_only=True,
                                  validator=lambda _i, _a, v: _flag(v, "versioned"))

    def __attrs_post_init__(self) -> None:
        _disjoint(self)

    @property
    def bookkeeping(self) -> tuple[str, ...]:
        """Attributes this write sets only as the versioning pattern's bookkeeping."""
        if self.versioned or self.expect_version is not None or self.create_if_absent:
            return ("version",)
        return ()

    @property
    def increments(self) -> dict[str, int]:
        """The counter half of ``add``: attribute -> integer increment."""
        return {n: k for n, k in self.add.items() if type(k) is int}

    @property
    def elements(self) -> dict[str, tuple[frozenset[Any], frozenset[Any]]]:
        """The set half of ``add`` and all of ``delete``: attribute -> (added, deleted)."""
        added: dict[str, Any] = {n: k for n, k in self.add.items() if type(k) is not int}
        return {n: (added.get(n, frozenset()), self.delete.get(n, frozenset()))
                for n in sorted(set(added) | set(self.delete))}

    def effective(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The attributes to set and the condition to check, versioning included."""
        attributes = dict(self.attributes)
        condition = dict(self.condition) if self.condition else {}
        if self.expect_version is not None:
            condition["version"] = self.expect_version
            attributes["version"] = self.expect_version + 1
        elif self.create_if_absent:
            attributes.setdefault("version", 1)
        return attributes, (condition or None)

    @property
    def scope(self) -> Hashable:
        return self.key


@attrs.frozen
class PutItem(Request):
    """Replace item ``key`` with exactly ``attributes`` (like DynamoDB PutItem)."""

    mutates: ClassVar[bool] = True

    key: str = attrs.field(validator=lambda _i, _a, v: _validate.name(v, "item key"))
    attributes: Mapping[str, Any] = attrs.field(converter=_attributes)
    condition: Mapping[str, Any] | None = attrs.field(default=None, converter=_condition)

    @property
    def scope(self) -> Hashable:
        return self.key


@attrs.frozen
class GetItem(Request):
    """Read item ``key`` from the local replica. ``consistent`` is a *regional* guarantee only."""

    key: str = attrs.field(validator=lambda _i, _a, v: _validate.name(v, "item key"))
    consistent: bool = False

    @property
    def scope(self) -> Hashable:
        return self.key


@attrs.frozen
class ReadResult(Response):
    """The answer to :class:`GetItem`: the item as plain data (a list when there are siblings).

    ``writes`` lists the ids of the writes whose values the returned item holds
    (provenance), so a checker can tell which writes the read saw.
    """

    item: Any = None
    writes: tuple[str, ...] = ()


