"""The reference for exercise ``gcounter`` (written out, as a learner would). Exercise: a grow-only counter, the G-Counter (replicalab exercise ``gcounter``).

Fill in the bodies marked ``raise NotImplementedError``; keep the names and
signatures. Then run::

    replicalab exercise check gcounter gcounter.py
"""

from __future__ import annotations


class GCounter:
    """A grow-only counter replicated by state — a value: every verb returns a new counter.

    Contract (Shapiro et al., 2011):

    * ``GCounter().value == 0``;
    * ``increment(replica, n=1)`` adds ``n`` to *that replica's own* slot;
      ``n`` must be an int >= 0, else ``ValueError`` (and nothing changes);
    * ``value`` is the sum of all slots;
    * ``merge(other)`` is a *join*: commutative, associative and idempotent,
      so replicas can exchange states late, twice and in any order and still
      agree — and concurrent increments all count.

        >>> a = GCounter().increment("a")
        >>> b = GCounter().increment("b")
        >>> a.merge(b).value
        2
    """

    def __init__(self, counts: dict[str, int] | None = None) -> None:
        self.counts = dict(counts or {})

    def increment(self, replica: str, n: int = 1) -> GCounter:
        """The counter after ``replica`` adds ``n`` to its own slot."""
        if type(n) is not int or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}")

        counts = dict(self.counts)
        counts[replica] = counts.get(replica, 0) + n
        return GCounter(counts)

    @property
    def value(self) -> int:
        """The sum of every replica's count."""
        return sum(self.counts.values())

    def merge(self, other: GCounter) -> GCounter:
        """The join of two counters (a new counter; neither input changes)."""
        counts = dict(self.counts)
        for replica, n in other.counts.items():
            counts[replica] = max(counts.get(replica, 0), n)
        return GCounter(counts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GCounter):
            return NotImplemented
        drop_zeros = lambda counts: {r: n for r, n in counts.items() if n}  # noqa: E731
        return drop_zeros(self.counts) == drop_zeros(other.counts)

    def __repr__(self) -> str:
        return f"GCounter({dict(sorted(self.counts.items()))!r})"
