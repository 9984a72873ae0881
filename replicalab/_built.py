"""Building a frozen, slotted attrs value from parts its caller made or checked itself.

``Stored(op)`` runs CPython's slow path for a class with a Python ``__init__`` (3.11 does
not specialize it: ``type_call`` → ``slot_tp_init`` → a new C-level frame), and attrs'
frozen ``__init__`` then sets each field through a bound ``object.__setattr__``. A
leaderless cluster builds about eight such values per client operation (its messages,
answers and the client's reply); callgrind put instance creation at 16 % of B12's
instructions. :func:`slot_setter` hands out the C setter of one slot, so that a module can
write a two-line builder — ``_new(cls)`` and one setter call per field — for a value it
builds on a hot path, from parts it checked (no validators, no converters run):

    >>> import attrs
    >>> @attrs.frozen
    ... class Point:
    ...     x: int
    ...     y: int
    >>> set_x, set_y = slot_setter(Point, "x"), slot_setter(Point, "y")
    >>> p = new(Point); set_x(p, 1); set_y(p, 2)
    >>> p == Point(1, 2), p
    (True, Point(x=1, y=2))

A builder must set every field (an unset slot raises ``AttributeError`` when read); the
tests of each builder compare it with the class's own constructor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["new", "slot_setter"]

#: ``object.__new__``: an instance with no field set yet.
new: Any = object.__new__


def slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The setter of field ``name`` of the slotted class ``cls`` (its member descriptor's
    ``__set__``: one C call, which a frozen class's ``__setattr__`` does not intercept)."""
    descriptor = getattr(cls, name, None)
    if type(descriptor).__name__ != "member_descriptor":
        raise TypeError(f"{cls.__qualname__}.{name} is not a slot")
    setter: Callable[[Any, Any], None] = descriptor.__set__  # type: ignore[union-attr]
    return setter
