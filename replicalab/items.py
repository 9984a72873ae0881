"""What a table replica stores: items made of versions made of attribute cells.

Every attribute value carries its *provenance*: the id of the client write
that set it and that write's :class:`Stamp`. Provenance travels with the value
through every merge, which is how the ledger can later tell whose effect
survived without trusting any merge policy's own account.

* :class:`Cell` — one attribute value plus the write that set it.
* :class:`Version` — one whole item state: cells, the write that produced it,
  its stamp, and (for the causal policy) its version vector.
* :class:`Item` — the versions a replica holds for one key: exactly one under
  the LWW policies, one or more concurrent *siblings* under ``causal``.

All three are immutable; policies build new ones.
"""

from __future__ import annotations

import base64
import binascii
import decimal
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from replicalab import _validate
from replicalab.clocks import VectorClock
from replicalab.errors import ConfigError, ReplicaLabError, SerializationError

__all__ = ["INITIAL_STAMP", "INITIAL_WRITE", "Cell", "Item", "Stamp", "Version", "format_wall", "member_form",
           "member_kind", "members_of", "sorted_elements", "typed_view", "value_groups"]

#: Provenance of data loaded before the run starts; it happened before every client write.
INITIAL_WRITE = "initial"


def format_wall(ms: int) -> str:
    """Format wall-clock milliseconds as ``HH:MM:SS.mmm`` (time of day).

        >>> format_wall(50_832_140)
        '14:07:12.140'
    """
    if type(ms) is not int:
        raise ConfigError(f"format_wall takes integer milliseconds, got {_validate.shown(ms)}")
    seconds, millis = divmod(ms, 1000)
    minutes, secs = divmod(seconds, 60)
    hours, mins = divmod(minutes, 60)
    return f"{hours % 24:02d}:{mins:02d}:{secs:02d}.{millis:03d}"


def sorted_elements(values: Any) -> list[Any]:
    """Distinct set elements (strings or integers) in a canonical order: numbers, then strings.

        >>> sorted_elements(["pen", 3, "book", "pen"])
        [3, 'book', 'pen']
    """
    if isinstance(values, (str, bytes, bytearray, Mapping)) or not hasattr(values, "__iter__"):
        raise ConfigError(f"sorted_elements takes a collection of set elements, got {_validate.shown(values)}")
    values = list(values)
    for value in values:
        if type(value) not in (str, int):
            raise ConfigError(f"set elements are strings or integers, got {_validate.shown(value)}")
    return sorted(set(values), key=lambda v: (isinstance(v, str), v))


#: DynamoDB set types by the prefix of a member string, and back.
_KIND_OF_PREFIX = {"S": "SS", "N": "NS", "B": "BS"}
_PREFIX_OF_KIND = {kind: prefix for prefix, kind in _KIND_OF_PREFIX.items()}
_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")
_HEX = re.compile(r"^(?:[0-9a-f]{2})*$")


def _canonical_number(text: str) -> str:
    """A number's text as DynamoDB normalises it (``1.0`` and ``1`` are one number), or raise."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        raise ConfigError(f"an NS member must be a number's text, got {_validate.shown(text)}") from None
    if not value.is_finite():
        raise ConfigError(f"an NS member must be a finite number, got {_validate.shown(text)}")
    return "0" if not value else format(value.normalize(), "f")


def members_of(form: Any) -> frozenset[str] | None:
    """The member strings of a DynamoDB set in cell form, or None if ``form`` is no typed set.

    A member string names one DynamoDB set member with its type, canonically, so that equal
    members are equal strings and members of different types never are: ``S:<text>``,
    ``N:<number as DynamoDB normalises it>``, ``B:<bytes as lowercase hex>`` (the same strings
    the ledger's parts use). The cell form is :mod:`replicalab.dynamodb.cells`' one-key dict
    ``{"SS": [texts]}``, ``{"NS": [numbers' texts]}``, ``{"BS": [base64 texts]}``.

        >>> sorted(members_of({"NS": ["1.0", "2.50"]})), members_of({"S": "x"})
        (['N:1', 'N:2.5'], None)
    """
    if not isinstance(form, Mapping) or len(form) != 1:
        return None
    (kind, texts), = form.items()
    if kind not in _PREFIX_OF_KIND or not isinstance(texts, (list, tuple)) or not texts \
            or not all(isinstance(t, str) for t in texts):
        return None
    if kind == "SS":
        return frozenset("S:" + t for t in texts)
    if kind == "NS":
        return frozenset("N:" + _canonical_number(t) for t in texts)
    try:
        return frozenset("B:" + base64.b64decode(t, validate=True).hex() for t in texts)
    except (binascii.Error, ValueError):
        raise ConfigError(f"a BS member must be base64 text, got {_validate.shown(texts)}") from None


def member_kind(member: Any) -> str:
    """The DynamoDB set type (``SS``, ``NS``, ``BS``) of a member string, or ConfigError."""
    prefix, _, text = member.partition(":") if isinstance(member, str) else ("", "", "")
    kind = _KIND_OF_PREFIX.get(prefix)
    if kind is None or (kind == "NS" and (not _NUMBER.match(text) or text == "-0")) \
            or (kind == "BS" and not _HEX.match(text)):
        raise ConfigError(f"a DynamoDB set member is 'S:<text>', 'N:<number>' or 'B:<hex>' "
                          f"(canonical), got {_validate.shown(member)}")
    return kind


def member_form(members: Iterable[str]) -> dict[str, list[str]]:
    """The cell form of a non-empty DynamoDB set given by its member strings (one type):
    the inverse of :func:`members_of`, sorted as :func:`replicalab.dynamodb.cells.to_cell`
    sorts (texts; numbers by value; binaries by their base64 text).

        >>> member_form(["N:10", "N:9", "N:1.5"]), member_form(["B:6869"])
        ({'NS': ['1.5', '9', '10']}, {'BS': ['aGk=']})
    """
    if isinstance(members, (str, bytes, bytearray, Mapping)) or not hasattr(members, "__iter__"):
        raise ConfigError(f"member_form takes a collection of member strings, got {_validate.shown(members)}")
    members = list(members)
    kinds = {member_kind(m) for m in members}
    if len(kinds) != 1:
        raise ConfigError(f"member_form takes the members of one non-empty set of one type, "
                          f"got {_validate.shown(members)}")
    kind, = kinds
    texts = {m[2:] for m in members}
    if kind == "NS":
        return {kind: sorted(texts, key=Decimal)}
    if kind == "BS":
        return {kind: sorted(base64.b64encode(bytes.fromhex(t)).decode("ascii") for t in texts)}
    return {kind: sorted(texts)}


@attrs.frozen(order=False)
class Stamp:
    """The stamp a replica puts on a write; LWW orders by ``(wall, logical, replica, seq)``.

    ``wall`` is the writing replica's wall clock in milliseconds (skew
    included), so a larger stamp is *not* evidence of a later write in real
    time. ``logical`` is 0 for plain wall-clock stamps and the hybrid logical
    clock's counter when the table stamps with an HLC (then ``wall`` is the
    HLC's wall component). ``seq`` counts the replica's own writes and only
    breaks ties between two writes of one replica in the same millisecond.
    """

    wall: int
    replica: str
    seq: int
    logical: int = 0

    @property
    def key(self) -> tuple[int, int, str, int]:
        """The total order LWW uses: ``(wall, logical, replica, seq)``."""
        return (self.wall, self.logical, self.replica, self.seq)

    def __lt__(self, other: Stamp) -> bool:
        return self.key < other.key

    def __le__(self, other: Stamp) -> bool:
        return self.key <= other.key

    def __gt__(self, other: Stamp) -> bool:
        return self.key > other.key

    def __ge__(self, other: Stamp) -> bool:
        return self.key >= other.key

    def __str__(self) -> str:
        if self.wall < 0:
            return "before the run"
        logical = f"+{self.logical}" if self.logical else ""
        return f"{format_wall(self.wall)}{logical} {self.replica}"


#: The stamp of data present before the run: older than any write.
INITIAL_STAMP = Stamp(-1, "", 0)


def _frozen(value: Any) -> Any:
    """A list value is stored as a tuple, so cells stay immutable and hashable."""
    return tuple(value) if isinstance(value, list) else value


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


#: What an assignment observed of a crdt counter: ``(replica, seq, total)`` — the seq of the
#: replica's counter cell it had seen and the running total that cell held.
Offset = tuple[str, int, int]


def _offsets(value: Any) -> tuple[Offset, ...]:
    """Offsets as a sorted tuple of ``(replica, seq, total)``, one per replica (JSON gives lists)."""
    try:
        out = tuple(sorted((r, s, t) for r, s, t in value))
    except (TypeError, ValueError):
        out = None
    if out is None or not all(isinstance(r, str) and type(s) is int and type(t) is int for r, s, t in out) \
            or len({r for r, _, _ in out}) != len(out):
        raise ConfigError(f"offsets must be (replica, seq, total) triples, one per replica, "
                          f"got {_validate.shown(value)}")
    return out


def observed(cells: Iterable[Cell]) -> dict[str, tuple[int, int]]:
    """For each replica, the latest ``(seq, total)`` of its counter that some cell's offsets
    record (the assignments among ``cells`` that observed it; the greatest seq wins)."""
    out: dict[str, tuple[int, int]] = {}
    for cell in cells:
        for replica, seq, total in cell.offsets:
            if replica not in out or seq > out[replica][0]:
                out[replica] = (seq, total)
    return out


#: Exact decimal sums: a counter's numbers are added without rounding, whatever their digits.
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def _number(value: Any) -> int | Decimal | None:
    """A number an assignment holds — an ``int``, or a decimal in the DynamoDB cell form
    ``{"N": "2.5"}`` — or None for any other value (a bool is no number here)."""
    if type(value) is int:
        return value
    if isinstance(value, Mapping) and len(value) == 1 and isinstance(value.get("N"), str):
        try:
            number = Decimal(value["N"])
        except (InvalidOperation, ValueError):
            return None
        return number if number.is_finite() else None
    return None


def _number_form(value: int | Decimal) -> Any:
    """A counter's exact value as cells hold numbers: an ``int`` when integral (as every
    integer is stored), else the decimal's cell form ``{"N": text}``, plain notation."""
    if isinstance(value, int):
        return value
    if value == value.to_integral_value():
        return int(value)
    return {"N": format(_EXACT.normalize(value), "f")}


def counter_value(cells: Iterable[Cell]) -> Any:
    """The number a crdt counter attribute held in ``cells`` (tombstones included) reads as.

    The surviving number assignments plus, for each replica's counter cell, the part of its
    running total that no surviving assignment observed: ``Σ live number values +
    Σ_r (total_r − offset_r)``. A number assignment is an ``int`` or a decimal in cell form
    (``{"N": "2.5"}``: a ``SET`` of a decimal, or a decimal ``ADD``, which assigns the sum its
    region read); the sum is exact and shown as such (an ``int`` if integral, else
    ``{"N": text}``). Values that are no number are not part of it (see :func:`value_groups`).

        >>> from replicalab.items import Cell, Stamp
        >>> counter_value([Cell({"N": "2.5"}, "w2", Stamp(5, "eu", 1)),
        ...                Cell(1, "w1", Stamp(5, "us", 1), counter=True)])
        {'N': '3.5'}
    """
    cells = list(cells)
    seen = observed(cells)
    numbers = [_number(c.value) for c in cells if not (c.removed or c.counter or c.element)]
    whole = sum(n for n in numbers if isinstance(n, int))  # ints add exactly as Python ints
    for cell in cells:
        if cell.counter and not cell.removed:
            seq, total = seen.get(cell.stamp.replica, (-1, 0))
            if cell.stamp.seq > seq:
                whole += cell.value - total
    decimals = [n for n in numbers if isinstance(n, Decimal)]
    if not decimals:
        return whole
    value = Decimal(whole)
    for number in decimals:
        value = _EXACT.add(value, number)
    return _number_form(value)


def counts(cells: Iterable[Cell], replica: str, seq: int) -> bool:
    """Does the crdt counter in ``cells`` still count the increment that ``replica`` made at
    write ``seq``? Yes iff the replica's running total has reached it (its counter cell is at
    least that recent) and no surviving assignment observed it (reset it)."""
    cells = list(cells)
    reset = observed(cells).get(replica, (-1, 0))[0]
    return seq > reset and any(c.counter and not c.removed and c.stamp.replica == replica
                               and c.stamp.seq >= seq for c in cells)


@attrs.frozen
class Cell:
    """One attribute value and its provenance. ``removed`` marks a tombstone (attribute deleted).

    A list value is stored as a tuple (and shown as a list again by
    :meth:`Version.attributes`), so a cell is immutable and hashable.
    """

    value: Any = attrs.field(converter=_frozen)
    write: str
    stamp: Stamp
    removed: bool = False
    #: A counter contribution (crdt policy): the writing replica's running total for the
    #: attribute (every increment it ever made there), under the stamp of its latest ``ADD``;
    #: the attribute's value is :func:`counter_value`.
    counter: bool = False
    #: One element of a set attribute (crdt policy: an OR-Set, one cell per added element,
    #: named by the dot of the write that added it); the attribute's value is the set of them.
    element: bool = False
    #: On a value (or tombstone) that a crdt assignment wrote over a counter: per replica,
    #: ``(replica, seq, total)`` of the counter cell it observed — the increments it reset.
    offsets: tuple[Offset, ...] = attrs.field(default=(), converter=_offsets)
    #: On an element cell (crdt policy): the element is a DynamoDB set member, its value the
    #: member string (``S:a``, ``N:1.5``, ``B:<hex>``, see :func:`members_of`); the attribute
    #: then reads as the typed set in cell form (``{"SS": [...]}``), not as a list.
    typed: bool = attrs.field(default=False)

    @typed.validator
    def _check_typed(self, _attribute: Any, typed: Any) -> None:
        if type(typed) is not bool:
            raise ConfigError(f"Cell.typed must be True or False, got {_validate.shown(typed)}")
        if typed and (not self.element or self.removed or self.counter):
            raise ConfigError("only a live element cell can be typed (a DynamoDB set member)")
        if typed:
            member_kind(self.value)


@attrs.frozen
class Version:
    """One whole item state, as produced by ``write`` (the last write applied to it).

    ``cells`` is a tuple of ``(attribute, Cell)`` pairs sorted by attribute, so
    equal states compare and print equal. ``clock`` is the causal policy's
    version vector; the LWW policies leave it empty.
    """

    cells: tuple[tuple[str, Cell], ...]
    write: str
    stamp: Stamp
    clock: VectorClock = attrs.field(factory=VectorClock)

    @classmethod
    def of(
        cls,
        cells: Mapping[str, Cell],
        *,
        write: str,
        stamp: Stamp,
        clock: VectorClock | None = None,
    ) -> Version:
        """Build a version from a mapping of cells (sorted here)."""
        if not isinstance(cells, Mapping) or not all(
                isinstance(n, str) and isinstance(c, Cell) for n, c in cells.items()):
            raise ConfigError(f"Version.of takes a mapping of attribute name -> Cell, got {_validate.shown(cells)}")
        return cls(tuple(sorted(cells.items())), write, stamp, clock or VectorClock())

    def cell_map(self) -> dict[str, Cell]:
        """The cells as a dict, tombstones included."""
        return dict(self.cells)

    def attributes(self) -> dict[str, Any]:
        """The visible attributes as plain data, sorted by name (tombstones hidden).

        Under the ``crdt`` policy an attribute may hold several cells: a set's
        elements show as a sorted list of distinct values, a counter's
        contributions and the number assignments beside them as their sum, and
        concurrent register values as a list, oldest stamp first (a counter
        beside a concurrent value that is no number: both, :func:`value_groups`).
        """
        grouped: dict[str, list[Cell]] = {}
        every: dict[str, list[Cell]] = {}
        for name, cell in self.cells:
            every.setdefault(name, []).append(cell)
            if not cell.removed:
                grouped.setdefault(name, []).append(cell)
        out: dict[str, Any] = {}
        for name, cells in grouped.items():
            if any(c.typed or c.counter for c in cells):
                # A DynamoDB set (its typed cell form) or a counter (its sum) under crdt, with
                # any concurrent value of another kind beside it: the multi-value read.
                out[name] = typed_view(every[name])
            elif any(c.element for c in cells):
                out[name] = sorted_elements(c.value for c in cells)
            elif len(cells) == 1:
                out[name] = _plain(cells[0].value)
            else:
                out[name] = [_plain(c.value) for c in sorted(cells, key=lambda c: c.stamp.key)]
        return out

    def trace_cells(self) -> dict[str, list[Any]]:
        """Each visible attribute as ``[value, write]`` for traces and pictures, sorted by name.

        An attribute held in one plain cell shows that cell's value and write. One that the
        ``crdt`` policy keeps in several cells, or as a counter or set, shows what it reads
        (:meth:`attributes`: a counter's sum, not one replica's running total; a set's
        members, not one element) under the write of its newest live cell.

            >>> from replicalab.items import Cell, Stamp, Version
            >>> v = Version.of({"n": Cell(2, "w3", Stamp(9, "us", 2), counter=True)},
            ...                write="w3", stamp=Stamp(9, "us", 2))
            >>> v.trace_cells()
            {'n': [2, 'w3']}
        """
        every: dict[str, list[Cell]] = {}
        for name, cell in self.cells:
            every.setdefault(name, []).append(cell)
        read = None
        out: dict[str, list[Any]] = {}
        for name, cells in every.items():
            live = [c for c in cells if not c.removed]
            if not live:
                continue
            if len(live) == 1 and not any(c.counter or c.element for c in cells):
                out[name] = [live[0].value, live[0].write]
                continue
            read = read if read is not None else self.attributes()
            newest = max(live, key=lambda c: c.stamp)
            out[name] = [read[name], newest.write]
        return out

    def elements(self, attribute: str) -> set[Any]:
        """The elements of set ``attribute``: element cells, or a plain list value; else empty.

            >>> v = Version.of({"cart": Cell(["book"], "w1", Stamp(5, "eu", 1))}, write="w1",
            ...                stamp=Stamp(5, "eu", 1))
            >>> v.elements("cart"), v.elements("missing")
            ({'book'}, set())
        """
        out: set[Any] = set()
        for cell in self.cells_of(attribute):
            if cell.removed:
                continue
            if cell.element:
                out.add(cell.value)
            elif isinstance(cell.value, tuple):
                out.update(v for v in cell.value if isinstance(v, (str, int)))
        return out

    def cells_of(self, attribute: str) -> list[Cell]:
        """Every cell for ``attribute`` (several under the crdt policy's multi-value attributes)."""
        return [cell for name, cell in self.cells if name == attribute]

    def cell(self, attribute: str) -> Cell | None:
        """The cell for ``attribute`` (possibly a tombstone), or None."""
        for name, cell in self.cells:
            if name == attribute:
                return cell
        return None


def value_groups(cells: Iterable[Cell]) -> list[tuple[Stamp, Any]]:
    """The values the ``cells`` of one attribute hold (tombstones included: their offsets
    count), each with the newest stamp among its cells, oldest first:

    * the members of each DynamoDB set type as one set in cell form (typed element cells);
    * a crdt counter (some live counter cell) with the number assignments beside it as one
      number, :func:`counter_value` — the counter's value;
    * every other live value on its own.

    One group (the usual case) is the attribute's value. More groups are concurrent values
    that no write has seen together — an ``ADD`` of an ``SS`` beside an ``ADD`` of an ``NS``,
    or a ``SET n = "x"`` beside a counter's increment: all are kept, as a multi-value register
    keeps concurrent values, :meth:`Version.attributes` shows them all, and a DynamoDB reader
    takes the newest (as DynamoDB requests read siblings).
    """
    if isinstance(cells, (str, bytes, bytearray, Mapping)) or not hasattr(cells, "__iter__"):
        raise ConfigError(f"value_groups takes the cells of one attribute, got {_validate.shown(cells)}")
    cells = list(cells)
    if not all(isinstance(cell, Cell) for cell in cells):
        bad = next(cell for cell in cells if not isinstance(cell, Cell))
        raise ConfigError(f"value_groups takes Cell objects, got {_validate.shown(bad)}")
    live = [cell for cell in cells if not cell.removed]
    counting = any(cell.counter for cell in live)
    members: dict[str, list[Cell]] = {}
    numbers: list[Cell] = []
    groups: list[tuple[Stamp, Any]] = []
    for cell in live:
        if cell.typed:
            members.setdefault(member_kind(cell.value), []).append(cell)
        elif counting and (cell.counter or (not cell.element and _number(cell.value) is not None)):
            numbers.append(cell)
        else:
            groups.append((cell.stamp, _plain(cell.value)))
    for _, typed in sorted(members.items()):
        groups.append((max(c.stamp for c in typed), member_form(c.value for c in typed)))
    if numbers:
        groups.append((max(c.stamp for c in numbers), counter_value(cells)))
    return sorted(groups, key=lambda g: g[0].key)


def typed_view(cells: Iterable[Cell]) -> Any:
    """What :meth:`Version.attributes` shows for an attribute holding DynamoDB set members or
    a crdt counter: the set in cell form (``{"SS": ["a", "b"]}``) or the counter's number or,
    with concurrent values of other kinds, the list of them, oldest first
    (:func:`value_groups`)."""
    groups = [value for _, value in value_groups(cells)]
    return groups[0] if len(groups) == 1 else groups


def _sorted_versions(versions: Any) -> tuple[Version, ...]:
    """An item's versions sorted by stamp, or ConfigError if they are not Version objects."""
    if isinstance(versions, (str, bytes, bytearray, Mapping)) or not hasattr(versions, "__iter__"):
        raise ConfigError(f"an Item holds a tuple of Version objects, got {_validate.shown(versions)}")
    versions = tuple(versions)
    for version in versions:
        if not isinstance(version, Version) or not isinstance(version.stamp, Stamp):
            raise ConfigError(f"an Item holds Version objects with a Stamp, got {_validate.shown(version)}")
    return tuple(sorted(versions, key=lambda v: v.stamp))


#: The canonical JSON encoder of item bytes (made once: json.dumps with options builds one per call).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class _Memo:
    """Slots outside attrs' fields, where an immutable item memoises its bytes and their digest.

    Not attrs attributes, so equality, hashing, ``repr``, ``attrs.fields``, ``attrs.asdict``,
    ``attrs.evolve`` and serialization never see them: an evolved item is a new object
    that computes its own, and ``copy``/``pickle`` carry only the fields (attrs' slotted
    ``__getstate__``), so a copy computes them again. Each is set once, to the one value
    the item's fields determine, so a memo can never disagree with its item.
    """

    __slots__ = ("_digest", "_encoded")
    _encoded: bytes
    _digest: bytes


@attrs.frozen
class Item(_Memo):
    """The versions a replica holds for one key, sorted by stamp.

    More than one version means concurrent *siblings*: the system kept every
    write that no other write had seen, and a reader must choose.

    An item is a value: :meth:`to_bytes` encodes it once and remembers the bytes, and
    :meth:`digest` hashes them once and remembers the digest, so a replica's keyspace tree
    encodes and hashes only items that are new objects, once, however many regions and
    sessions hold the item.
    """

    versions: tuple[Version, ...] = attrs.field(converter=lambda vs: _sorted_versions(vs))

    def __iter__(self) -> Iterator[Version]:
        return iter(self.versions)

    @property
    def has_siblings(self) -> bool:
        """True when the replica holds more than one concurrent version."""
        return len(self.versions) > 1

    def to_plain(self) -> dict[str, Any] | list[dict[str, Any]]:
        """Plain data: the attribute dict, or a list of dicts when there are siblings."""
        if len(self.versions) == 1:
            return self.versions[0].attributes()
        return [v.attributes() for v in self.versions]

    def to_bytes(self) -> bytes:
        """Canonical bytes of the whole item (provenance, stamps and clocks included).

        Equal items give equal bytes, so Merkle trees over items compare states. The
        encoding is computed once per item object and memoised (the item is immutable).
        """
        try:
            return self._encoded
        except AttributeError:
            encoded = self._encode()
            object.__setattr__(self, "_encoded", encoded)
            return encoded

    def digest(self) -> bytes:
        """SHA-256 of :meth:`to_bytes`: the value digest a keyspace tree stores for this item.

        Contract: ``item.digest() == hashlib.sha256(item.to_bytes()).digest()``, always, and
        equal items have equal digests. It is computed once per item object, the first time
        it is asked for, and reused by every tree and session that sees the object (every
        region that received it, every merge that returned it unchanged); a new item, such
        as one made by ``attrs.evolve``, computes its own. Not part of the item's fields.

            >>> stamp = Stamp(5, "eu", 1)
            >>> item = Item((Version.of({"x": Cell(1, "w1", stamp)}, write="w1", stamp=stamp),))
            >>> item.digest() == hashlib.sha256(item.to_bytes()).digest(), len(item.digest())
            (True, 32)
            >>> attrs.evolve(item, versions=()).digest() == item.digest()   # a new item: its own digest
            False
        """
        try:
            return self._digest
        except AttributeError:
            digest = hashlib.sha256(self.to_bytes()).digest()
            object.__setattr__(self, "_digest", digest)
            return digest

    def _encode(self) -> bytes:
        versions = [
            {
                "write": v.write,
                "stamp": [v.stamp.wall, v.stamp.logical, v.stamp.replica, v.stamp.seq],
                "clock": v.clock.to_dict(),
                # A set element's flag (and a DynamoDB member's) is appended only when set, so
                # items without sets keep their bytes (and anti-entropy its byte counts).
                "cells": [[name, c.value, c.write, [c.stamp.wall, c.stamp.logical, c.stamp.replica,
                                                     c.stamp.seq], c.removed, c.counter,
                           *([c.element, [list(o) for o in c.offsets], True] if c.typed
                             else [c.element, [list(o) for o in c.offsets]] if c.offsets
                             else [True] if c.element else [])]
                          for name, c in v.cells],
            }
            for v in self.versions
        ]
        return _CANONICAL.encode(versions).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Item:
        """The item :meth:`to_bytes` encoded (for items a replica produced itself or received)."""
        def stamp(s: list) -> Stamp:
            return Stamp(s[0], s[2], s[3], s[1])

        if not isinstance(data, (bytes, bytearray, str)):
            raise SerializationError(f"Item.from_bytes takes the bytes Item.to_bytes wrote, got {_validate.shown(data)}")
        try:
            versions = []
            for v in json.loads(data):
                cells = tuple((n, Cell(value, write, stamp(s), removed, counter, *element))
                              for n, value, write, s, removed, counter, *element in v["cells"])
                versions.append(Version(cells, v["write"], stamp(v["stamp"]), VectorClock(v["clock"])))
            return cls(tuple(versions))
        except SerializationError:
            raise
        except (ReplicaLabError, ValueError, TypeError, KeyError, IndexError, AttributeError,
                RecursionError) as error:
            raise SerializationError(
                f"not the bytes of an Item (Item.to_bytes): {_validate.shown(error)}") from None

    def to_trace(self) -> list[dict[str, Any]]:
        """Plain data for the trace: one dict per version, each value with the write that set it."""
        return [
            {
                "write": v.write,
                "clock": v.clock.to_dict(),
                "cells": v.trace_cells(),
            }
            for v in self.versions
        ]

    def provenance(self) -> tuple[str, ...]:
        """The ids of every write this item's cells came from, tombstones included, sorted."""
        return tuple(sorted({cell.write for version in self.versions for _, cell in version.cells}))

    def writes(self) -> set[tuple[str, str]]:
        """Every ``(write id, attribute)`` pair whose value this item still holds."""
        return {
            (cell.write, name)
            for version in self.versions
            for name, cell in version.cells
            if not cell.removed
        }
