"""The reference for exercise ``orset`` (written out, as a learner would). Exercise: an add-wins observed-remove set (replicalab exercise ``orset``).

Fill in the bodies marked ``raise NotImplementedError``: ``add``, ``remove``
and ``merge``. The state, ``value``, ``in`` and ``==`` are written for you.
Keep the names and signatures: the checks call them. Then run::

    replicalab exercise check orset orset.py
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from replicalab.dots import Dot


class ORSet:
    """An observed-remove set with add-wins semantics — a value: every verb returns a new set.

    State (tutorial chapter 7):

    * ``entries``: element -> the frozenset of dots (``Dot(replica, counter)``)
      of the adds that put it there. An element is present iff it holds a dot;
      never store an element with no dots.
    * ``context``: the frozenset of every dot this set has seen, whether its
      add is still present or has since been removed.

    Contract:

    * ``add(x, replica=r)`` mints ``r``'s next dot, ``Dot(r, n + 1)`` where
      ``n`` is the highest counter of ``r`` in the context (0 if none). ``x``'s
      dots become just that new dot, and the dot joins the context.
    * ``remove(x)`` drops ``x``'s dots from ``entries``; the context keeps them.
      Removing an absent element changes nothing.
    * ``merge(other)`` keeps a dot of an element if both sides hold it, or if
      the side that lacks it has never seen it (it is not in that side's
      context: a concurrent add, not a removed one). The contexts unite.
    * **Add wins:** a remove deletes only the adds it has seen.

        add(x, r):   d = next dot of r;  E[x] = {d};  C = C | {d}
        remove(x):   E[x] = {}                                  (C keeps the dots)
        merge:       E[x] = (E1[x] & E2[x]) | (E1[x] - C2) | (E2[x] - C1);  C = C1 | C2

        >>> shared = ORSet().add("milk", replica="phone")
        >>> removed = shared.remove("milk")               # the phone removes the milk it saw
        >>> re_added = shared.add("milk", replica="laptop")   # concurrently, the laptop adds it
        >>> "milk" in removed.merge(re_added), "milk" in removed.merge(shared)
        (True, False)
    """

    def __init__(self, entries: Mapping[Any, Iterable[Dot]] | None = None,
                 context: Iterable[Dot] = ()) -> None:
        frozen = ((element, frozenset(dots)) for element, dots in (entries or {}).items())
        self.entries: dict[Any, frozenset[Dot]] = {e: dots for e, dots in frozen if dots}
        self.context: frozenset[Dot] = frozenset(context)

    @property
    def value(self) -> frozenset[Any]:
        """The present elements."""
        return frozenset(self.entries)

    def __contains__(self, element: Any) -> bool:
        return element in self.entries

    def dots(self, element: Any) -> list[Dot]:
        """The dots keeping ``element`` present (empty if absent), sorted."""
        return sorted(self.entries.get(element, ()))

    def add(self, element: Any, *, replica: str) -> ORSet:
        """The set after ``replica`` adds ``element``: a fresh dot replaces the element's dots."""
        n = max((d.counter for d in self.context if d.replica == replica), default=0)
        dot = Dot(replica, n + 1)
        entries = dict(self.entries)
        entries[element] = frozenset({dot})
        return ORSet(entries, self.context | {dot})

    def remove(self, element: Any) -> ORSet:
        """The set without ``element``: its dots leave ``entries`` but stay in the context."""
        entries = {e: dots for e, dots in self.entries.items() if e != element}
        return ORSet(entries, self.context)

    def merge(self, other: ORSet) -> ORSet:
        """The join: dots both sides hold, plus dots the other side has never seen."""
        entries = {}
        for element in set(self.entries) | set(other.entries):
            mine = self.entries.get(element, frozenset())
            theirs = other.entries.get(element, frozenset())
            dots = (mine & theirs) | (mine - other.context) | (theirs - self.context)
            if dots:
                entries[element] = dots
        return ORSet(entries, self.context | other.context)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ORSet) and self.entries == other.entries
                and self.context == other.context)

    def __hash__(self) -> int:
        return hash((frozenset(self.entries.items()), self.context))

    def __repr__(self) -> str:
        entries = ", ".join(f"{e!r}: {sorted(d)}" for e, d in sorted(self.entries.items(), key=repr))
        return f"ORSet({{{entries}}}, context={sorted(self.context)})"
