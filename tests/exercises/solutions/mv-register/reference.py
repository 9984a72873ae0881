"""The reference for exercise ``mv-register`` (written out, as a learner would). Exercise: a multi-value register, Dynamo-style (replicalab exercise ``mv-register``).

Fill in the bodies marked ``raise NotImplementedError``. Keep the names and
signatures: the checks call them (with ``replica=`` as a keyword). Then run::

    replicalab exercise check mv-register mv_register.py
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from replicalab.clocks import VectorClock


class MVRegister:
    """A multi-value register — a value: every verb returns a new register.

    State: ``siblings``, a frozenset of ``(value, clock)`` pairs: every value
    that no write known here has overwritten, each with the vector clock of the
    write that made it. Clocks are replicalab's :class:`VectorClock` (the one
    you wrote in exercise ``vector-clock``, as an immutable value):
    ``VectorClock()`` is empty, ``clock.tick(r)`` and ``clock.merge(other)``
    return new clocks, and ``x < y`` is True when x is *before* y (y has seen
    x); for concurrent clocks both ``x < y`` and ``y < x`` are False.

    Contract (DeCandia et al., *Dynamo*, 2007; Shapiro et al., 2011):

    * ``MVRegister().value == frozenset()``;
    * ``assign(value, replica=r)``: the writer has seen every sibling it
      holds, so the new write's clock is the merge of all the siblings'
      clocks, ticked at ``r`` — and the result holds that one sibling only.
      A write replaces exactly what it has seen;
    * ``merge(other)`` keeps every sibling, from either side, whose clock is
      not *before* another sibling's clock: an overwritten value goes, a
      concurrent one stays. Merge order never matters;
    * ``value`` is the frozenset of the siblings' values.

        >>> red = MVRegister().assign("red", replica="a")
        >>> blue = MVRegister().assign("blue", replica="b")
        >>> sorted(red.merge(blue).value)            # concurrent: keep both
        ['blue', 'red']
        >>> red.merge(blue).assign("purple", replica="a").value
        frozenset({'purple'})
    """

    def __init__(self, siblings: Iterable[tuple[Hashable, VectorClock]] = ()) -> None:
        self.siblings = frozenset(siblings)

    @property
    def value(self) -> frozenset[Hashable]:
        """The values of every sibling (empty before the first assignment)."""
        return frozenset(value for value, _clock in self.siblings)

    def assign(self, value: Hashable, *, replica: str) -> MVRegister:
        """The register after ``replica`` writes ``value``, overwriting every sibling it holds."""
        clock = VectorClock()
        for _value, seen in self.siblings:
            clock = clock.merge(seen)
        return MVRegister({(value, clock.tick(replica))})

    def merge(self, other: MVRegister) -> MVRegister:
        """Every sibling of either side that no other sibling's clock is after (a new register)."""
        both = self.siblings | other.siblings
        return MVRegister(s for s in both if not any(s[1] < t[1] for t in both))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MVRegister):
            return NotImplemented
        return self.siblings == other.siblings

    def __hash__(self) -> int:
        return hash(self.siblings)

    def __repr__(self) -> str:
        shown = sorted(self.siblings, key=repr)
        return f"MVRegister({shown!r})" if shown else "MVRegister()"
