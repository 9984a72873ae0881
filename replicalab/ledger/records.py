"""What the write ledger holds: write records in, one entry (verdict, where, why) per write out.

:class:`WriteRecord` and :class:`LossEvent` are what :func:`~replicalab.ledger.judge`
reads; :class:`Entry` and :class:`Ledger` are what it returns. The rules that turn one
into the other are in :mod:`replicalab.ledger.rules`; the verdicts are explained in
:mod:`replicalab.ledger`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from replicalab import _validate
from replicalab.clocks import VectorClock
from replicalab.dots import Dot
from replicalab.errors import ConfigError
from replicalab.items import Stamp, format_wall
from replicalab.policies import Loss

__all__ = ["VERDICTS", "Entry", "Ledger", "LossEvent", "WriteRecord", "describe_stamp"]

VERDICTS = ("kept", "superseded", "silently-lost", "detected", "rejected", "unreplicated")


@attrs.frozen
class WriteRecord:
    """What the ledger needs to know about one client write.

    ``dot`` and ``seen`` are ground truth (from the simulator): the write's
    own dot, and every write on the same key that had reached its replica.
    A request that never reached a replica has no dot (None) and saw nothing.
    ``bookkeeping`` names attributes the write set only as the versioning
    pattern's bookkeeping; they are not part of its effect.
    """

    id: str
    replica: str
    key: str
    time: int
    client: str
    attributes: dict[str, Any]
    dot: Dot | None
    seen: VectorClock
    acknowledged: bool = True
    error: str | None = None
    stamp: Stamp | None = None
    added: tuple[str, ...] = ()
    #: Set actions: attribute -> (elements added, elements deleted).
    elements: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = attrs.field(factory=dict)
    bookkeeping: tuple[str, ...] = ()
    #: Some region applied it, although its client got an error (a timeout, a lost reply):
    #: the outcome was unknown to the client, so the write is judged by its effect.
    applied: bool = False
    #: Attributes the write removed (DynamoDB's REMOVE, a deleted item): its effect includes
    #: their absence, held as its tombstones.
    removed: tuple[str, ...] = ()
    #: It replaced the whole item (PutItem): every attribute it did not set, it removed.
    replaces: bool = False
    #: Attributes it changed only in part, keeping the rest of the value it read: attribute ->
    #: its parts, each ``(kind, path)`` with kind ``set``/``remove`` (a nested path), ``keep``
    #: (``if_not_exists`` of the path itself where it had a value: left as it was),
    #: ``append``/``prepend`` (list_append of the path's own list) or ``add`` (an increment of
    #: the path's own number), or ``("elements", path, added, deleted)`` (a set ADD/DELETE,
    #: members as canonical strings); the path is a tuple of map keys and list indexes.
    parts: dict[str, tuple[tuple[Any, ...], ...]] = attrs.field(factory=dict)
    #: For attributes in ``parts``: the write whose stored value it read and changed (absent
    #: when that was nothing, a tombstone or the initial value).
    base: dict[str, str] = attrs.field(factory=dict)

    def saw(self, other: WriteRecord) -> bool:
        """True iff ``other``'s effect had reached this write's replica when this write ran."""
        if not isinstance(other, WriteRecord):
            raise ConfigError(f"WriteRecord.saw takes a WriteRecord, got {_validate.shown(other)}")
        return (self.key == other.key and other.dot is not None
                and other.dot.counter <= self.seen.get(other.dot.replica))

    @property
    def effect(self) -> list[str]:
        """The attributes whose values make this write's effect, sorted: bookkeeping excluded,
        and so is an attribute whose every part is ``keep`` (``SET a = if_not_exists(a, :v)``
        where ``a`` had a value: the write left it as it was, so there is nothing of its own
        there to keep or to lose)."""
        return sorted(a for a in {*self.attributes, *self.removed} if a not in self.bookkeeping
                      and not _kept_as_it_was(self.parts.get(a)))


def _kept_as_it_was(parts: Any) -> bool:
    """True iff ``parts`` (one attribute's) are all ``keep``: the write left it as it was."""
    return isinstance(parts, (tuple, list)) and len(parts) > 0 and all(
        isinstance(p, (tuple, list)) and len(p) > 0 and p[0] == "keep" for p in parts)


@attrs.frozen
class LossEvent:
    """A policy dropped ``loss.write``'s value of ``loss.attribute`` at ``replica`` at ``time``."""

    time: int
    replica: str
    loss: Loss


@attrs.frozen
class Entry:
    """One ledger line: a write, its verdict and, unless kept, where and why."""

    write: str
    verdict: str
    replica: str
    key: str
    client: str
    attributes: dict[str, Any]
    why: str = ""
    where: str | None = None
    time: int | None = None
    by: tuple[str, ...] = ()

    def to_plain(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "write": self.write, "verdict": self.verdict, "replica": self.replica,
            "key": self.key, "client": self.client, "attributes": self.attributes,
            "why": self.why, "where": self.where, "time": self.time, "by": list(self.by),
        }


@attrs.frozen
class Ledger:
    """Every write's :class:`Entry`, in the order the writes ran."""

    entries: tuple[Entry, ...]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, write: str) -> Entry:
        for entry in self.entries:
            if entry.write == write:
                return entry
        raise KeyError(f"no write {_validate.shown(write)} in the ledger; writes are {[e.write for e in self.entries]}")

    def verdicts(self) -> dict[str, str]:
        """``{write id: verdict}``."""
        return {e.write: e.verdict for e in self.entries}

    @property
    def summary(self) -> dict[str, int]:
        """Counts of each verdict, and ``acknowledged``: every write not rejected."""
        counts = {v.replace("-", "_"): 0 for v in VERDICTS}
        for entry in self.entries:
            counts[entry.verdict.replace("-", "_")] += 1
        return {"acknowledged": len(self.entries) - counts["rejected"], **counts}

    def to_plain(self) -> list[dict[str, Any]]:
        """Plain data for JSON."""
        return [e.to_plain() for e in self.entries]


def describe_stamp(stamp: Stamp | None) -> str:
    """``14:07:12.140 eu-west-1`` for a stamp; ``-`` for none."""
    if stamp is None:
        return "-"
    return f"{format_wall(stamp.wall)} {stamp.replica}"
