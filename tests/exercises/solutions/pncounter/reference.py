"""The reference for exercise ``pncounter`` (written out, as a learner would). Exercise: a counter that can go down, the PN-Counter (replicalab exercise ``pncounter``).

Fill in the bodies marked ``raise NotImplementedError``; keep the names and
signatures. Then run::

    replicalab exercise check pncounter pncounter.py
"""

from __future__ import annotations


class PNCounter:
    """A counter with increments and decrements, replicated by state — a value.

    Contract (Shapiro et al., 2011):

    * ``PNCounter().value == 0``;
    * ``increment(replica, n=1)`` and ``decrement(replica, n=1)`` act in
      ``replica``'s own slots; ``n`` is an int >= 0, else ``ValueError``
      (and nothing changes);
    * ``value`` is the sum of increments minus the sum of decrements;
    * ``merge(other)`` is a join: commutative, associative, idempotent; every
      verb is an *inflation* (no slot ever shrinks), so an old copy arriving
      late can never undo an increment or a decrement.

        >>> quota = PNCounter().increment("a", 10)
        >>> quota.decrement("a").merge(quota.decrement("b")).value
        8
    """

    def __init__(self, increments: dict[str, int] | None = None,
                 decrements: dict[str, int] | None = None) -> None:
        self.increments = dict(increments or {})
        self.decrements = dict(decrements or {})

    def increment(self, replica: str, n: int = 1) -> PNCounter:
        """The counter after ``replica`` adds ``n``."""
        if type(n) is not int or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}")

        counts = dict(self.increments)
        counts[replica] = counts.get(replica, 0) + n
        return PNCounter(counts, self.decrements)

    def decrement(self, replica: str, n: int = 1) -> PNCounter:
        """The counter after ``replica`` subtracts ``n``."""
        if type(n) is not int or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}")

        counts = dict(self.decrements)
        counts[replica] = counts.get(replica, 0) + n
        return PNCounter(self.increments, counts)

    @property
    def value(self) -> int:
        """Increments minus decrements, over every replica."""
        return sum(self.increments.values()) - sum(self.decrements.values())

    def merge(self, other: PNCounter) -> PNCounter:
        """The join of two counters (a new counter; neither input changes)."""
        def join(a, b):
            out = dict(a)
            for replica, n in b.items():
                out[replica] = max(out.get(replica, 0), n)
            return out
        return PNCounter(join(self.increments, other.increments), join(self.decrements, other.decrements))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PNCounter):
            return NotImplemented
        drop_zeros = lambda counts: {r: n for r, n in counts.items() if n}  # noqa: E731
        return (drop_zeros(self.increments), drop_zeros(self.decrements)) == (
            drop_zeros(other.increments), drop_zeros(other.decrements))

    def __repr__(self) -> str:
        return (f"PNCounter({dict(sorted(self.increments.items()))!r}, "
                f"{dict(sorted(self.decrements.items()))!r})")
