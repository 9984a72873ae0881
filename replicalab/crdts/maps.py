"""Maps that merge themselves: the LWW map and the observed-remove map of nested CRDTs.

* :class:`LWWMap` (``crdts/lwwmap.py``) — every key is a last-writer-wins
  register; a delete is an LWW write of "absent" and leaves a tombstone.
  Concurrent writes to one key keep one winner by ``(timestamp, replica)``;
  the others are *lost*.
* :class:`ORMap` (``crdts/ormap.py``) — keys whose values are CRDTs themselves
  (multi-value registers, LWW registers, OR-Sets or PN-Counters, each keeping
  the causal-CRDT interface of ``crdts/causal.py``). Keys are
  add-wins and a remove is a **reset-remove**: it erases the updates the
  remover had seen, while an update it had not seen survives — alone.

Both are frozen values whose verbs return new maps, with op values
(``LWWMap.Set``, ``ORMap.Update``) and delta mutators (``set_delta``,
``update_delta``) beside every verb. Each lives in its own module; this one
keeps the import path ``replicalab.crdts.maps`` working.
"""

from __future__ import annotations

from replicalab.crdts.lwwmap import LWWMap
from replicalab.crdts.ormap import ORMap

__all__ = ["LWWMap", "ORMap"]
