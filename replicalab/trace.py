"""Traces: what happened in a run, as past-tense events, with a canonical JSON form.

A trace is a list of :class:`Event` records in the order they happened. Event
kinds are past tense. The runtime records:

``Started``          a replica's ``on_start`` ran
``ClientRequested``  a client request reached its replica
``Sent``             a replica sent a message (``dst``, ``msg``, ``due``)
``Delivered``        a message reached its destination
``Dropped``          the network lost a message
``Duplicated``       the network delivered an extra copy
``TimerFired``       a timer fired
``Replied``          a replica answered a client (``ok``, ``error``)

and replicas add domain events through ``ctx.log`` — the table replica logs
``Wrote``, ``Merged``, ``Rejected`` and ``Read``.

The canonical JSON form (:func:`canonical_json`) has sorted keys, no spaces,
no NaN and integer times, so the same run gives the same bytes everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from replicalab.errors import ReplicaLabError

__all__ = ["Event", "Trace", "canonical_json"]


def canonical_json(value: Any) -> str:
    """Serialize plain data canonically: sorted keys, compact separators, no NaN/Infinity.

        >>> canonical_json({"b": 1, "a": [1, 2]})
        '{"a":[1,2],"b":1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@attrs.frozen
class Event:
    """One trace record: ``kind`` happened at simulated ``time`` on ``replica`` (None: the network)."""

    seq: int
    time: int
    kind: str
    replica: str | None
    data: dict[str, Any] = attrs.field(factory=dict, hash=False)

    def to_plain(self) -> dict[str, Any]:
        """Plain data for JSON: ``{"seq", "t", "event", "replica", "data"}``."""
        return {"seq": self.seq, "t": self.time, "event": self.kind, "replica": self.replica,
                "data": self.data}

    def get(self, name: str, default: Any = None) -> Any:
        """A field of ``data``."""
        return self.data.get(name, default)


class Trace:
    """An append-only list of :class:`Event` records."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def record(self, time: int, kind: str, replica: str | None, data: dict[str, Any]) -> None:
        """Append an event (the runtime's job; replicas use ``ctx.log``)."""
        self.events.append(Event(len(self.events), time, kind, replica, data))

    def of_kind(self, *kinds: str) -> list[Event]:
        """The events of the given kinds, in order."""
        return [e for e in self.events if e.kind in kinds]

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def to_plain(self) -> list[dict[str, Any]]:
        """Every event as plain data."""
        return [e.to_plain() for e in self.events]

    def to_json(self) -> str:
        """The canonical JSON of the whole trace."""
        return canonical_json(self.to_plain())

    def __repr__(self) -> str:
        return f"<Trace of {len(self.events)} events>"

    def to_svg(self, *, compact: bool | None = None) -> str:
        """The space-time diagram of this trace as standalone SVG (drawn by :mod:`replicalab.viz`)."""
        return _renderer("svg")(self, compact=compact)

    def _repr_svg_(self) -> str:
        """Jupyter: the space-time diagram."""
        return self.to_svg()

    def _repr_html_(self) -> str:
        """Jupyter: the diagram as static HTML."""
        return _renderer("html")(self)


#: How a trace is drawn, by format. The pictures sit far above the trace in the layers, so the
#: trace never imports them: :mod:`replicalab.viz` registers its drawing functions here when it
#: is imported (``import replicalab`` imports it).
RENDERERS: dict[str, Callable[..., str]] = {}


def _renderer(name: str) -> Callable[..., str]:
    try:
        return RENDERERS[name]
    except KeyError:
        raise ReplicaLabError(f"no {name} renderer is registered; import replicalab.viz first") from None
