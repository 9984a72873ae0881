"""Sets that merge themselves: G-Set, 2P-Set and the add-wins OR-Set.

The question every replicated set must answer is what happens when one
replica removes ``x`` while another concurrently adds it. Each type here
gives a different, named answer:

* :class:`GSet` — grow-only: there is no remove, so there is no question.
* :class:`TwoPhaseSet` — remove-wins, forever: a removed element can never
  be added again (a G-Set of adds and a G-Set of tombstones).
* :class:`ORSet` — add-wins (observed-remove): a remove deletes only the adds
  it has *seen*; a concurrent add survives. Implemented with dots and a
  causal context (the "optimized OR-Set" of Bieniusa et al. 2012), so removed
  elements leave no per-element tombstone behind.

All three are frozen values whose verbs return new sets. Each update also
exists as an op value (``ORSet.Add("x", replica="a")``) and as a delta
(``s.add_delta("x", replica="a")``). Each lives in its own module (``gset.py``,
``twophaseset.py``, ``orset.py``); this one keeps the import path
``replicalab.crdts.sets`` working.
"""

from __future__ import annotations

from replicalab.crdts.gset import GSet
from replicalab.crdts.orset import ORSet
from replicalab.crdts.twophaseset import TwoPhaseSet

__all__ = ["GSet", "ORSet", "TwoPhaseSet"]
