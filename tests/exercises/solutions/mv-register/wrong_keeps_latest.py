"""Planted wrong solution: keep only the "latest" write — an LWW register in disguise.

Merge keeps one sibling: the later one when the clocks are ordered, and for
concurrent clocks the one with more events in its past (then the greater
value). That converges — it even passes the law checker, since the laws ask
that replicas agree, not what they agree on — but a concurrent write is
silently lost: exactly what a multi-value register exists to prevent. Only
the worked examples catch it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from replicalab.clocks import VectorClock


class MVRegister:
    def __init__(self, siblings: Iterable[tuple[Hashable, VectorClock]] = ()) -> None:
        self.siblings = frozenset(siblings)

    @property
    def value(self) -> frozenset[Hashable]:
        return frozenset(value for value, _clock in self.siblings)

    def assign(self, value: Hashable, *, replica: str) -> MVRegister:
        clock = VectorClock()
        for _value, seen in self.siblings:
            clock = clock.merge(seen)
        return MVRegister({(value, clock.tick(replica))})

    def merge(self, other: MVRegister) -> MVRegister:
        pool = self.siblings | other.siblings
        if not pool:
            return MVRegister()
        latest = max(pool, key=lambda s: (sum(n for _r, n in s[1].items()), repr(s[0])))
        return MVRegister({latest})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MVRegister):
            return NotImplemented
        return self.siblings == other.siblings

    def __hash__(self) -> int:
        return hash(self.siblings)

    def __repr__(self) -> str:
        shown = sorted(self.siblings, key=repr)
        return f"MVRegister({shown!r})" if shown else "MVRegister()"
