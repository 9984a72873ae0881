"""Traces: what happened in a run — its one history — with a canonical JSON form.

A trace is the list of a run's events in the order they happened: the closed set
of typed, frozen records in :mod:`replicalab.events` (past tense: ``Sent``,
``Delivered``, ``Wrote``, ``Merged`` ...), each with a step number, and messages
carrying an id from ``Sent`` to ``Delivered`` or ``Dropped``. A kind outside that
set (a replica of your own logging ``"Learned"``) is kept as a free-form
:class:`Event`. The ledger, the timeline, the pictures, the stepper and the
exports are all functions of this history.

The canonical JSON form (:func:`canonical_json`) has sorted keys, no spaces,
no NaN and integer times, so the same run gives the same bytes everywhere.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError, ReplicaLabError
from replicalab.events import TraceEvent, delivered, make, sent

__all__ = ["AnyEvent", "Event", "Trace", "canonical_json"]


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
    """A free-form trace record: ``kind`` happened at ``time`` on ``replica`` (None: the network).

    The kinds the library records are typed (:mod:`replicalab.events`); this class holds
    the rest — what a replica of your own logs under a name of its own — with its data as
    given. Both read alike: ``kind``, ``time``, ``replica``, ``step``, ``get(name)``,
    ``data`` and ``to_plain()``.
    """

    seq: int
    time: int
    kind: str
    replica: str | None
    data: dict[str, Any] = attrs.field(factory=dict, hash=False)
    step: int = 0

    def to_plain(self) -> dict[str, Any]:
        """Plain data for JSON: ``{"seq", "t", "event", "replica", "step", "data"}``."""
        return {"seq": self.seq, "t": self.time, "event": self.kind, "replica": self.replica,
                "step": self.step, "data": self.data}

    def get(self, name: str, default: Any = None) -> Any:
        """A field of ``data``."""
        if not isinstance(name, str):
            raise ConfigError(f"trace event fields are named by strings, got {_validate.shown(name)}")
        return self.data.get(name, default)


#: The kinds recorded as compact tuples (see :class:`Trace`): Trace._materialise builds them.
_COMPACT = ("Sent", "Delivered")
#: ``_room`` when there is no cap: more records than any list can hold.
_NO_CAP = sys.maxsize

#: A trace record: one of the typed events of :mod:`replicalab.events`, or a free-form :class:`Event`.
AnyEvent = TraceEvent | Event


class Trace:
    """An append-only list of trace records (see :mod:`replicalab.events`).

    The runtime records a ``Sent`` and a ``Delivered`` per message as compact tuples of
    plain values and builds their typed events when the trace is first read (``events``,
    iteration, ``of_kind``, the JSON form): the same events, with the same ``seq``, as if
    they had been built at once. It pays: a run records far more than anyone reads while
    it runs, a tuple of plain values costs a fraction of a frozen event, and Python's
    garbage collector stops scanning it after its first pass, where it scans an event on
    every full pass: B1 with tracing on took 3.1x its traceless time, now 1.5x (CPU time,
    ``benchmarks/b1_simulator.py``). Reading ``events`` again after the run went on returns
    the same list with the newer events appended.
    """

    def __init__(self, *, max_events: int | None = None) -> None:
        if max_events is not None and (type(max_events) is not int or max_events < 0):
            raise ConfigError(f"max_events must be an integer >= 0 or None, got {_validate.shown(max_events)}")
        self._events: list[AnyEvent] = []
        #: What was recorded since ``events`` was last read, in order: typed events, and
        #: ``(kind, time, replica, step, *fields)`` tuples for the kinds in ``_COMPACT``.
        self._log: list[Any] = []
        #: Records kept at most (None: no cap); the simulator passes its ``max_trace_events``.
        self.max_events = max_events
        #: How many more records ``_log`` may take: one comparison on the hot path, cap or none.
        self._room = _NO_CAP if max_events is None else max_events
        #: The handler run being recorded (the simulator counts them; 0: before the run).
        self.step = 0

    @property
    def events(self) -> list[AnyEvent]:
        """Every record so far, in order: typed events and free-form :class:`Event` records."""
        if self._log:
            self._materialise()
        return self._events

    def _materialise(self) -> None:
        """Move ``_log`` into ``_events``, building the typed event of each compact record."""
        events, log = self._events, self._log
        append = events.append
        for seq, entry in enumerate(log, len(events)):
            if type(entry) is tuple:  # unpacked by name: a slice and a *-call cost 15 % more
                if entry[0] == "Sent":
                    _, time, replica, step, dst, msg, due, id_ = entry
                    entry = sent(seq, time, replica, step, dst, msg, due, id_)
                else:
                    _, time, replica, step, src, msg, id_ = entry
                    entry = delivered(seq, time, replica, step, src, msg, id_)
            append(entry)
        log.clear()
        self._room = _NO_CAP if self.max_events is None else self.max_events - len(events)

    def record(self, time: int, kind: str, replica: str | None, data: dict[str, Any]) -> None:
        """Append an event (the runtime's job; replicas use ``ctx.log``).

        Raises :class:`ConfigError` once the trace holds ``max_events`` records.
        """
        if len(self._log) >= self._room:
            raise self._full()
        if not isinstance(kind, str) or not kind:
            raise ConfigError(f"an event kind is a non-empty string, got {_validate.shown(kind)}")
        if type(time) is not int or not (replica is None or isinstance(replica, str)):
            raise ConfigError(f"an event needs an integer time and a replica id (or None), got "
                              f"{_validate.shown(time)} and {_validate.shown(replica)}")
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            raise ConfigError(f"event data is a dict with string keys, got {_validate.shown(data)}")
        seq = len(self)
        typed = make(kind, seq, time, replica, self.step, data)
        if typed is None:  # a kind of your own: refuse data the JSON form could not hold, now
            try:
                canonical_json(data)
            except ConfigError as error:
                raise ConfigError(f"the data of a {kind} event must be plain data: {error}") from None
        self._log.append(typed if typed is not None else Event(seq, time, kind, replica, data,
                                                               self.step))

    def _add(self, cls: type[TraceEvent], time: int, replica: str | None, **fields: Any) -> None:
        """Append an event of a listed kind built from ``fields`` (the runtime's own records).

        The runtime builds its fields itself, so the checks :meth:`record` makes on data
        from outside are not repeated on the hot path; the event's own schema still is
        (a missing or unknown field raises ``TypeError`` at once).
        """
        if len(self._log) >= self._room:
            raise self._full()
        self._log.append(cls(seq=len(self), time=time, replica=replica, step=self.step, **fields))

    def _compact(self, kind: str, time: int, replica: str | None, *fields: Any) -> None:
        """Append a ``kind`` record (one of ``_COMPACT``) as a tuple, its event built when read.

        The simulator inlines this on its hot path (``Sent``, ``Delivered``); the fields are
        those of the kind's positional constructor after ``seq``, in order."""
        if kind not in _COMPACT:
            raise ValueError(f"{kind} is not recorded compactly")  # a runtime bug, not bad input
        log = self._log
        if len(log) >= self._room:
            raise self._full()
        log.append((kind, time, replica, self.step, *fields))

    def _full(self) -> ConfigError:
        return ConfigError(
            f"the trace reached max_trace_events={self.max_events} records; run with trace=False, "
            "stop earlier with run(until=...), or pass Simulation(max_trace_events=...)"
        )

    def of_kind(self, *kinds: str) -> list[AnyEvent]:
        """The events of the given kinds, in order."""
        return [e for e in self.events if e.kind in kinds]

    def __iter__(self) -> Iterator[AnyEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self._events) + len(self._log)

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
#: trace never imports them when it is imported: :mod:`replicalab.viz` registers its drawing
#: functions here, and the first drawing imports it if no one has yet.
RENDERERS: dict[str, Callable[..., str]] = {}


def _renderer(name: str) -> Callable[..., str]:
    if name not in RENDERERS:
        importlib.import_module("replicalab.viz")  # registers every renderer
    try:
        return RENDERERS[name]
    except KeyError:
        raise ReplicaLabError(f"no {name} renderer is registered; import replicalab.viz first") from None
