"""Exercise: find the bug in a replicated page-view counter (replicalab exercise ``find-the-bug``).

``Bag`` below is a real-looking mistake: every region counts page views in a
bag and, when two regions sync, adds their bags together. In production its
numbers drift upwards. Your job:

1. Find out *which law of a join* ``Bag.merge`` breaks — with the law
   checker, not by guessing (tutorial chapter 8)::

       from replicalab.testing import Call, check_crdt
       from hypothesis import strategies as st
       ops = st.builds(lambda page, r: Call("add", page, r, at=r),
                       st.sampled_from(["home", "about"]), st.sampled_from("abc"))
       check_crdt(Bag, ops=ops)

   and set ``VIOLATED_LAW`` to its name: "commutative", "associative",
   "idempotent", "inflationary" or "convergent".
2. Write ``FixedBag``, the same interface with a merge that is a join.

Then run::

    replicalab exercise check find-the-bug page_views.py

replicalab's own type check (mypy) skips this file: it is yours, typed as you like.
"""

from __future__ import annotations

#: Your answer: the law Bag.merge violates.
VIOLATED_LAW = ""


class Bag:
    """Page views per page. (Given — do not change it; it is the bug to find.)

        >>> Bag().add("home", "a").add("home", "b").count("home")
        2
    """

    def __init__(self, counts: dict[str, int] | None = None) -> None:
        self.counts = dict(counts or {})

    def add(self, page: str, replica: str) -> Bag:
        """Count one view of ``page`` at ``replica``."""
        return Bag({**self.counts, page: self.counts.get(page, 0) + 1})

    def count(self, page: str) -> int:
        return self.counts.get(page, 0)

    @property
    def value(self) -> dict[str, int]:
        return {page: n for page, n in sorted(self.counts.items()) if n}

    def merge(self, other: Bag) -> Bag:
        """Add the other region's counts to ours."""
        pages = set(self.counts) | set(other.counts)
        return Bag({p: self.counts.get(p, 0) + other.counts.get(p, 0) for p in pages})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bag) and self.value == other.value

    def __repr__(self) -> str:
        return f"Bag({self.value!r})"


class FixedBag:
    """Page views per page, replicated by state; ``merge`` is a join.

    Contract: ``add(page, replica)`` counts one view at ``replica`` (a new
    bag); ``count(page)`` is the number of views of ``page`` (0 if none);
    ``value`` is ``{page: count}`` for pages with views; concurrent views at
    different replicas all count, and a state merged twice counts once.
    """

    def add(self, page: str, replica: str) -> FixedBag:
        raise NotImplementedError

    def count(self, page: str) -> int:
        raise NotImplementedError

    @property
    def value(self) -> dict[str, int]:
        raise NotImplementedError

    def merge(self, other: FixedBag) -> FixedBag:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FixedBag) and self.value == other.value
