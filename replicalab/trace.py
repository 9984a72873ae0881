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

from replicalab import _validate
from replicalab.errors import ConfigError, ReplicaLabError

__all__ = ["Event", "Trace", "canonical_json"]


def canonical_json(value: Any) -> str:
    """Serialize plain data canonically: sorted keys, compact separators, no NaN/Infinity.

        >>> canonical_json({"b": 1, "a": [1, 2]})
        '{"a":[1,2],"b":1}'
    """
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ConfigError(f"canonical_json takes plain data (None, bool, int, finite float, str, "
                          f"lists and str-keyed dicts), got {_validate.shown(value)}: {reason}") from None


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
        if not isinstance(name, str):
            raise ConfigError(f"trace event fields are named by strings, got {_validate.shown(name)}")
        return self.data.get(name, default)


class Trace:
    """An append-only list of :class:`Event` records."""

    def __init__(self, *, max_events: int | None = None) -> None:
        if max_events is not None and (type(max_events) is not int or max_events < 0):
            raise ConfigError(f"max_events must be an integer >= 0 or None, got {_validate.shown(max_events)}")
        self.events: list[Event] = []
        #: Records kept at most (None: no cap); the simulator passes its ``max_trace_events``.
        self.max_events = max_events

    def record(self, time: int, kind: str, replica: str | None, data: dict[str, Any]) -> None:
        """Append an event (the runtime's job; replicas use ``ctx.log``).

        Raises :class:`ConfigError` once the trace holds ``max_events`` records.
        """
        events = self.events
        if self.max_events is not None and len(events) >= self.max_events:
            raise ConfigError(
                f"the trace reached max_trace_events={self.max_events} records; run with trace=False, "
                "stop earlier with run(until=...), or pass Simulation(max_trace_events=...)"
            )
        events.append(Event(len(events), time, kind, replica, data))

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
