"""The reference for exercise ``vector-clock`` (written out, as a learner would). Exercise: vector clocks (replicalab exercise ``vector-clock``).

A vector clock is a plain dict here: replica id -> how many of that replica's
events are in the causal past. Fill in the bodies marked
``raise NotImplementedError``. Keep the names and signatures: the checks call
them. Then run::

    replicalab exercise check vector-clock vector_clock.py
"""

from __future__ import annotations


def compare(a: dict[str, int], b: dict[str, int]) -> str:
    """Where clock ``a`` stands relative to clock ``b``: the causal *partial* order.

    Contract (Fidge and Mattern, 1988):

    * a missing entry counts as 0, so ``{"a": 1}`` and ``{"a": 1, "b": 0}`` are
      the same clock;
    * ``"equal"``: every entry of a equals b's;
    * ``"before"``: every entry of a is <= b's, and they are not equal (b has
      seen everything a has: a happened before b);
    * ``"after"``: the same with a and b swapped;
    * ``"concurrent"``: a is bigger somewhere *and* b is bigger somewhere
      (neither saw the other).

    Neither argument is changed.

        >>> compare({"alice": 2, "bob": 1}, {"alice": 2, "bob": 2})
        'before'
        >>> compare({"alice": 2, "bob": 1}, {"alice": 1, "bob": 2})
        'concurrent'
    """
    replicas = set(a) | set(b)
    smaller = any(a.get(r, 0) < b.get(r, 0) for r in replicas)
    bigger = any(a.get(r, 0) > b.get(r, 0) for r in replicas)
    if smaller and bigger:
        return "concurrent"
    if smaller:
        return "before"
    if bigger:
        return "after"
    return "equal"


def merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    """A new clock holding the entry-wise maximum of ``a`` and ``b`` (their join).

    Every replica in either clock gets the larger of its two counts (missing
    counts are 0). Neither argument is changed.

        >>> merge({"alice": 2, "bob": 1}, {"alice": 1, "bob": 2})
        {'alice': 2, 'bob': 2}
    """
    return {r: max(a.get(r, 0), b.get(r, 0)) for r in set(a) | set(b)}


def tick(clock: dict[str, int], replica: str) -> dict[str, int]:
    """A new clock: ``clock`` with one more event at ``replica`` (its entry + 1).

    ``clock`` itself is not changed.

        >>> tick({"alice": 1}, "bob")
        {'alice': 1, 'bob': 1}
    """
    out = dict(clock)
    out[replica] = out.get(replica, 0) + 1
    return out
