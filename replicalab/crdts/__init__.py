"""State-based CRDTs: values that merge themselves.

Every type here is an immutable value with a no-argument constructor, a
``.value``, verbs that return new values, ``apply(op)``, ``to_json()`` and
``merge(other)``, a join: commutative, associative and idempotent, with every
verb an inflation. :class:`StateCRDT` (in ``crdts/base.py``) states that
contract once, as a trait would. The causal types (MVRegister, LWWRegister,
ORSet, PNCounter) also keep ``CausalCRDT`` (``crdts/causal.py``): how each
lives as a dot store inside an ORMap, or an item under the ``crdt`` merge
policy, whose merge is one rule for all, ``replicalab.dots.join_stores``.
Modules: ``counters.py`` (GCounter, PNCounter), ``registers.py`` (LWWRegister,
MVRegister), and one type each in ``gset.py``, ``twophaseset.py``,
``orset.py``, ``lwwmap.py``, ``ormap.py`` (``sets.py`` and ``maps.py`` keep the
older import paths).

Each verb also comes in two other shapes, so replication can ship whichever
it likes and a learner can compare the bytes (``to_json``):

* an **op** value, nested in its type (``GCounter.Increment("a", 3)``,
  ``ORSet.Add("x", replica="a")``), applied with ``op.apply(state)`` or in
  bulk with ``state.apply_all(ops)``. ``state.<verb>_op(...)`` returns the op
  *prepared* at that state: for the causal types (ORSet, MVRegister, ORMap)
  it then carries its dot and what it observed, and can be applied anywhere.
  Counter ops must be delivered exactly once; the others are idempotent.
* a **delta**, ``state.<verb>_delta(...)``: the smallest state whose merge has
  the same effect as the verb. Deltas are states, so they merge in any order,
  any number of times.

    >>> from replicalab.crdts import GCounter
    >>> c = GCounter().increment("a", 2)
    >>> c.increment("a", 3) == c.merge(c.increment_delta("a", 3)) == GCounter.Increment("a", 3).apply(c)
    True

| type | concurrent conflict | what is lost |
|---|---|---|
| GCounter, PNCounter | none: increments add up | nothing |
| LWWRegister, LWWMap | greatest (timestamp, replica) wins | every other concurrent write |
| MVRegister | all concurrent values kept as siblings | nothing (reader resolves) |
| GSet | none: no remove | nothing |
| TwoPhaseSet | remove wins, forever | every add after a remove |
| ORSet | add wins | removes concurrent with an add |
| ORMap | add-wins keys, reset-remove | removed updates; concurrent updates survive |
"""

from replicalab.crdts.base import StateCRDT
from replicalab.crdts.counters import GCounter, PNCounter
from replicalab.crdts.maps import LWWMap, ORMap
from replicalab.crdts.registers import LWWRegister, MVRegister
from replicalab.crdts.sets import GSet, ORSet, TwoPhaseSet

__all__ = [
    "GCounter",
    "GSet",
    "LWWMap",
    "LWWRegister",
    "MVRegister",
    "ORMap",
    "ORSet",
    "PNCounter",
    "StateCRDT",
    "TwoPhaseSet",
]
