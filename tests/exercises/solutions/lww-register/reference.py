"""The reference for exercise ``lww-register`` (written out, as a learner would). Exercise: a last-writer-wins register (replicalab exercise ``lww-register``).

Fill in the bodies marked ``raise NotImplementedError``. Keep the names and
signatures: the checks call them. Then run::

    replicalab exercise check lww-register lww_register.py
"""

from __future__ import annotations

from typing import Any


class LWWRegister:
    """A last-writer-wins register — a value: every verb returns a new register.

    It holds one ``value`` and the *marker* of the assignment that wrote it,
    ``(timestamp, replica)``. Contract:

    * ``LWWRegister()`` is empty: ``value`` is None and ``marker`` is None;
    * ``marker`` is the pair ``(timestamp, replica)``, or None when empty;
    * ``assign(value, timestamp, replica)`` returns the register after that
      write: the new value if its marker is greater than the current one (any
      marker beats an empty register), otherwise the register unchanged — an
      older write loses, silently;
    * ``merge(other)`` returns whichever side has the greater marker (an empty
      register loses). Markers compare as tuples, so equal timestamps are
      decided by the replica id — never by which register ``merge`` was
      called on. ``a.merge(b)`` and ``b.merge(a)`` are always equal;
    * one marker names one write: you may assume two registers with the same
      marker hold the same value.

        >>> a = LWWRegister().assign("v1", 10, "a")
        >>> b = LWWRegister().assign("v2", 10, "b")
        >>> a.merge(b).value, b.merge(a).value     # a tie on 10: "b" > "a"
        ('v2', 'v2')
    """

    def __init__(self, value: Any = None, timestamp: int | None = None,
                 replica: str | None = None) -> None:
        self.value = value
        self.timestamp = timestamp
        self.replica = replica

    @property
    def marker(self) -> tuple[int, str] | None:
        """``(timestamp, replica)`` of the write that holds the register, or None if empty."""
        return None if self.timestamp is None else (self.timestamp, self.replica)

    def assign(self, value: Any, timestamp: int, replica: str) -> LWWRegister:
        """The register after ``replica`` writes ``value`` at ``timestamp``."""
        if self.marker is not None and (timestamp, replica) <= self.marker:
            return self
        return LWWRegister(value, timestamp, replica)

    def merge(self, other: LWWRegister) -> LWWRegister:
        """The side with the greater marker (a new register or one of the two; neither changes)."""
        if other.marker is None:
            return self
        if self.marker is None or other.marker > self.marker:
            return other
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LWWRegister):
            return NotImplemented
        return ((self.value, self.timestamp, self.replica)
                == (other.value, other.timestamp, other.replica))

    def __hash__(self) -> int:
        return hash((self.value, self.timestamp, self.replica))

    def __repr__(self) -> str:
        if self.timestamp is None:
            return "LWWRegister()"
        return f"LWWRegister({self.value!r}, {self.timestamp!r}, {self.replica!r})"
