"""The causal-CRDT interface: how a CRDT lives as a dot store inside a map.

A *causal* CRDT (Almeida, Shoker and Baquero 2018) names every update still in
effect by the dot of the op that made it and keeps, beside those entries, a
causal context of every dot it has seen. Its merge is one rule for every type,
:func:`replicalab.dots.join_stores`: keep an entry both sides hold, or one the
side lacking it never saw. What differs between types is only what an update
*stores* under its dot (its payload) and which held dots it *supersedes*.

:class:`CausalCRDT` is that difference, written as a contract each nested type
keeps itself (``MVRegister``, ``LWWRegister``, ``ORSet``, ``PNCounter``).
:class:`~replicalab.crdts.ORMap` holds one dot store per key and asks the value
type; the ``crdt`` merge policy asks the same types for each attribute of an
item. The methods are class-level (inside a map, the context is the map's) and
private to the package: learners use the types' own verbs.

    >>> from replicalab.crdts import ORSet, PNCounter
    >>> ORSet._plan({("a", 1): "x", ("b", 1): "y"}, ORSet.Add("x", replica="c"))
    (True, 'x', [('a', 1)])
    >>> PNCounter._plan({("a", 1): ("a", 2, 0)}, PNCounter.Increment("a", 3))
    (True, ('a', 5, 0), [('a', 1)])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Protocol, TypeVar

from replicalab.dots import CausalContext, DotT

__all__ = ["CausalCRDT"]

#: What names an entry of a dot store: a dot (in an ORMap), or a dot with what it names
#: (in the crdt policy, a cell: its write's dot, attribute and element).
Key = TypeVar("Key")


class CausalCRDT(Protocol):
    """A CRDT that can live as a dot store ``{dot: payload}`` under someone else's context.

    * ``_dot_kind`` — its name in JSON (``"or-set"``); ``_dot_ops`` — the op types that update it.
    * ``_plan(store, op)`` -> ``(mints, payload, observed)``: applied to the entries
      ``store`` holds (keyed by dot, or by anything that names one entry), does ``op`` name a new dot (``mints``), what does it store there,
      and which held dots does it supersede. The map mints the dot from its context.
      MVRegister: a new value, superseding every dot; ORSet: an add of ``x``
      supersedes ``x``'s dots (a remove supersedes them and mints nothing);
      PNCounter: the replica's new running totals, superseding its own dots;
      LWWRegister: the assignment if it wins, superseding every dot.
    * ``_read(payloads)`` — the value a reader sees (a frozenset, an int, a value).
    * ``_check_payload(p)`` and ``_payload_owner(p)`` (the replica whose dot a payload
      must carry, or None) refuse payloads no op could make; ``_made_by(op, p, observed)``
      checks that a prepared op carries what it would produce.
    * ``_write_payload(p)`` / ``_parse_payload(raw)`` — the payload's JSON form.
    * ``_of_store(store, context)`` — the real value of the type that the store is.
    """

    _dot_kind: ClassVar[str]
    _dot_ops: ClassVar[tuple[type, ...]]

    @classmethod
    def _plan(cls, store: Mapping[Key, Any], op: Any) -> tuple[bool, Any, list[Key]]: ...

    @classmethod
    def _read(cls, payloads: Iterable[Any]) -> Any: ...

    @classmethod
    def _check_payload(cls, payload: Any) -> None: ...

    @classmethod
    def _payload_owner(cls, payload: Any) -> str | None: ...

    @classmethod
    def _made_by(cls, op: Any, payload: Any, observed: bool) -> bool: ...

    @classmethod
    def _write_payload(cls, payload: Any) -> Any: ...

    @classmethod
    def _parse_payload(cls, raw: Any) -> Any: ...

    @classmethod
    def _of_store(cls, store: Mapping[DotT, Any], context: CausalContext) -> Any: ...
