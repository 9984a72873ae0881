"""The events of a run's history: a closed set of small frozen records, in the past tense.

Every event has the same header — ``seq`` (its position in the trace), ``time``
(simulated ms), ``replica`` (None: the network itself) and ``step`` (the handler
run it belongs to: a delivery, a client request, a timer, a fault; 0 before the
run) — and the fields of its kind, listed here once. The runtime records the
first group; table replicas record the second through ``ctx.log``; a kind not
listed here (a learner's own replica logging ``"Learned"``) is kept as a
generic :class:`~replicalab.trace.Event` with free-form data.

Runtime (:mod:`replicalab.sim`):

=================  ===================================================================
``Started``        a replica's ``on_start`` ran
``ClientRequested`` a client request reached its replica (``via``: the client's region)
``RequestFailed``  a client request could not reach its replica (down, or cut off)
``Sent``           a replica sent message ``id`` (``due``: when it arrives; None: lost)
``Delivered``      message ``id`` reached its destination
``Dropped``        message ``id`` was lost (``reason``: loss, partition, crashed)
``Duplicated``     the network delivers an extra copy, message ``id``
``TimerFired``     timer ``id`` fired
``Replied``        a replica answered a client (``received``: when the client gets it)
``ReplyDropped``   an answer was cut off on its way to the client
``Partitioned``    links were cut (``groups`` and ``bridges``, or ``one_way``)
``Healed``         every cut link was restored
``LinkChanged``    a link's loss, duplication or latency changed
``Crashed``        a replica went down (``durable``: its state survives)
``Restarted``      a replica came back (``identity``: its causal name from now on)
``ClockChanged``   a replica's wall-clock skew changed
=================  ===================================================================

Table replicas (:mod:`replicalab.replica`): ``Wrote``, ``Merged``, ``Rejected``,
``Read``, ``Queried``, ``Synced``, ``SyncAbandoned``, ``ReplicationThrottled``; MRSC regions also ``Proposed``,
``Refused``, ``Aborted`` and ``Recovered``; a merge policy of your own may report
``ConflictReported``.

Inside a region (:mod:`replicalab.quorum`): the leaderless nodes record ``QuorumPut``,
``QuorumStored``, ``HintStored``, ``HandedOff``, ``QuorumWrote``, ``ReadRepaired`` and
``QuorumSynced``; the leaderless table regions also ``CaughtUp`` and
``ShippedForCoordinator``; the leader protocol ``Elected``, ``Committed`` and ``LeaderRead``.

Field values are plain data (what the JSON form holds), so an event reads the
same in Python and in the file. Building an event checks its fields: a writer
that drifts from this schema (a missing field, a renamed one) fails at once,
naming the kind and the fields, instead of leaving a reader to find out.

**The JSON form** (``Trace.to_json``) is public and versioned: one object per
event, ``{"seq", "t", "event", "replica", "step", "data"}``. Kinds and fields may
be added; renaming or removing one needs a :data:`SCHEMA_VERSION` bump.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from replicalab.errors import ConfigError

__all__ = ["EVENTS", "SCHEMA_VERSION", "TraceEvent", "make"]

#: The version of the trace's JSON form (see the module docs).
SCHEMA_VERSION = 1

_HEADER = ("seq", "time", "replica", "step")

#: Field metadata: a field added after traces were pinned, left out of ``data`` (and the
#: JSON) while empty, so a trace that never fills it keeps its bytes.
_OMITTED_EMPTY = "omitted-when-empty"


@attrs.frozen(kw_only=True)
class TraceEvent:
    """The header every event has; subclasses add the fields of their kind."""

    kind: ClassVar[str] = ""
    seq: int
    time: int
    replica: str | None
    step: int = 0

    @property
    def data(self) -> dict[str, Any]:
        """The fields of this kind, by name, as plain data."""
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self))
                if f.name not in _HEADER
                and not (f.metadata.get(_OMITTED_EMPTY) and not getattr(self, f.name))}

    def get(self, name: str, default: Any = None) -> Any:
        """A field by name, as in the JSON ``data`` (``default`` if this kind has no such field).

        A name that no kind has is a reader's typo, not a missing value: it raises
        :class:`~replicalab.errors.ConfigError` rather than quietly answering ``default``.
        """
        if not isinstance(name, str):
            raise ConfigError(f"trace event fields are named by strings, got {name!r}")
        if name not in _fields(self.kind):
            if name in _HEADER or name == "kind":
                raise ConfigError(f"{name!r} is in every event's header, not its data: "
                                  f"read event.{name}")
            if name not in _fields(""):
                raise ConfigError(f"no trace event has a field {name!r}; fields are "
                                  f"{', '.join(sorted(_fields('')))}")
            return default
        return getattr(self, name)

    def to_plain(self) -> dict[str, Any]:
        """Plain data for JSON: ``{"seq", "t", "event", "replica", "step", "data"}``."""
        return {"seq": self.seq, "t": self.time, "event": self.kind, "replica": self.replica,
                "step": self.step, "data": self.data}


EVENTS: dict[str, type[TraceEvent]] = {}


def _fields(kind: str) -> frozenset[str]:
    """The field names of ``kind`` (the header excluded); ``""``: of every kind together."""
    if len(_FIELDS) != len(EVENTS) + 1:  # kinds register at import; rebuild if one was added
        _FIELDS.clear()
        _FIELDS.update({k: frozenset(f.name for f in attrs.fields(cls) if f.name not in _HEADER)
                        for k, cls in EVENTS.items()})
        _FIELDS[""] = frozenset().union(*_FIELDS.values())
    return _FIELDS[kind]


_FIELDS: dict[str, frozenset[str]] = {}


def _kind(cls: type[TraceEvent]) -> type[TraceEvent]:
    cls.kind = cls.__name__
    EVENTS[cls.__name__] = cls
    return cls


# -- the runtime ---------------------------------------------------------------------


@_kind
@attrs.frozen(kw_only=True)
class Started(TraceEvent):
    """A replica's ``on_start`` ran."""


@_kind
@attrs.frozen(kw_only=True)
class ClientRequested(TraceEvent):
    """A client's request reached its replica."""

    client: str
    op: str
    request: Any
    via: str | None = None


@_kind
@attrs.frozen(kw_only=True)
class RequestFailed(TraceEvent):
    """A client's request could not reach its replica: the client got ``RegionUnreachable``."""

    client: str
    op: str
    via: str | None
    reason: str
    request: Any


@_kind
@attrs.frozen(kw_only=True)
class Sent(TraceEvent):
    """Message ``id`` left its sender; ``due`` is when it arrives (None: the network lost it)."""

    dst: str
    msg: Any
    due: int | None
    id: int | None = None


@_kind
@attrs.frozen(kw_only=True)
class Delivered(TraceEvent):
    """Message ``id`` reached this replica from ``src``."""

    src: str
    msg: Any
    id: int | None = None


@_kind
@attrs.frozen(kw_only=True)
class Dropped(TraceEvent):
    """Message ``id`` from this replica to ``dst`` was lost (``reason``: None for random loss)."""

    dst: str
    msg: Any
    reason: str | None = None
    id: int | None = None


@_kind
@attrs.frozen(kw_only=True)
class Duplicated(TraceEvent):
    """The network delivers an extra copy (message ``id``) at ``due``."""

    dst: str
    msg: Any
    due: int
    id: int | None = None


@_kind
@attrs.frozen(kw_only=True)
class TimerFired(TraceEvent):
    """Timer ``id`` fired."""

    timer: Any
    id: int


@_kind
@attrs.frozen(kw_only=True)
class Replied(TraceEvent):
    """This replica answered ``client``'s request ``op``; the client gets it at ``received``."""

    client: str
    op: str
    ok: bool
    error: str | None
    message: str
    received: int


@_kind
@attrs.frozen(kw_only=True)
class ReplyDropped(TraceEvent):
    """The answer to ``op`` was cut off on its way to the client at ``via``."""

    client: str
    op: str
    via: str | None


@_kind
@attrs.frozen(kw_only=True)
class Partitioned(TraceEvent):
    """Links were cut: between ``groups`` (``bridges`` reach all), or ``one_way`` src -> dst."""

    groups: list[list[str]] | None = None
    bridges: list[str] | None = None
    one_way: list[str] | None = None


@_kind
@attrs.frozen(kw_only=True)
class Healed(TraceEvent):
    """Every cut link was restored."""


@_kind
@attrs.frozen(kw_only=True)
class LinkChanged(TraceEvent):
    """Link ``link`` got a new loss, duplication or latency (None: unchanged)."""

    link: list[str]
    loss: float | None = None
    duplicate: float | None = None


@_kind
@attrs.frozen(kw_only=True)
class Crashed(TraceEvent):
    """This replica went down; ``durable``: its state survives."""

    durable: bool


@_kind
@attrs.frozen(kw_only=True)
class Restarted(TraceEvent):
    """This replica came back, under causal name ``identity``."""

    durable: bool
    identity: str


@_kind
@attrs.frozen(kw_only=True)
class ClockChanged(TraceEvent):
    """This replica's wall clock is now off by ``skew`` ms."""

    skew: int


# -- table replicas ------------------------------------------------------------------


@_kind
@attrs.frozen(kw_only=True)
class Wrote(TraceEvent):
    """A client write was applied here: what it set, its stamp and clocks, what it dropped.

    ``attributes`` shows what the write did to each attribute, for people (values,
    ``+1``, ``+{pen}``); ``added`` and ``elements`` are its counter and set actions;
    ``bookkeeping`` the attributes set only by the versioning pattern; ``losses`` the
    values it displaced (``write``, ``attribute``, ``by``, ``rule``; ``"carried": true`` on a
    record that is no drop, :class:`~replicalab.replica.log_fields.DropRule`); ``item`` the resulting item (as ``Item.to_trace``);
    ``version`` the MRSC commit number (None elsewhere).
    """

    write: str
    key: str
    client: str
    attributes: dict[str, Any]
    added: dict[str, int]
    elements: dict[str, Any]
    replace: bool
    stamp: dict[str, Any]
    clock: dict[str, int]
    lamport: int
    hlc: list[int]
    losses: list[dict[str, Any]]
    item: list[dict[str, Any]]
    bookkeeping: list[str] = attrs.field(factory=list)
    version: int | None = None
    #: Attributes the write removed (DynamoDB's REMOVE, a deleted item): tombstones now.
    removed: list[str] = attrs.field(factory=list)
    #: The transaction this write is a part of (TransactWriteItems), if any.
    transaction: str | None = None
    #: Attributes it changed only in part: attribute -> ``[[kind, path], ...]``
    #: (:mod:`replicalab.replica.parts`); shown only when there are some.
    parts: dict[str, list[Any]] = attrs.field(factory=dict, metadata={_OMITTED_EMPTY: True})
    #: For those attributes, the write whose stored value it changed; shown only with ``parts``.
    base: dict[str, str] = attrs.field(factory=dict, metadata={_OMITTED_EMPTY: True})


@_kind
@attrs.frozen(kw_only=True)
class Merged(TraceEvent):
    """An item from ``source`` (carrying ``write``) was merged here by ``policy``; ``losses``
    are the values the merge displaced, as in :class:`Wrote`."""

    key: str
    source: str
    write: str
    policy: str
    changed: bool
    note: str
    siblings: int
    losses: list[dict[str, Any]]
    item: list[dict[str, Any]]


@_kind
@attrs.frozen(kw_only=True)
class Rejected(TraceEvent):
    """A client write was refused here with ``error``."""

    op: str
    key: str
    client: str
    error: str
    message: str


@_kind
@attrs.frozen(kw_only=True)
class Read(TraceEvent):
    """A client read ``key``; ``writes`` are the writes whose values the answer held."""

    op: str
    key: str
    client: str
    consistent: bool
    writes: list[str]
    version: int | None = None
    scope: str | None = None


@_kind
@attrs.frozen(kw_only=True)
class ReplicationThrottled(TraceEvent):
    """Replicating ``write`` of ``key`` to ``peer`` waits: ``peer``'s provisioned write
    capacity is spent. The item is sent, in order, once ``peer`` has ``units`` WCUs —
    delayed, never dropped."""

    key: str
    write: str
    peer: str
    units: int


@_kind
@attrs.frozen(kw_only=True)
class Queried(TraceEvent):
    """A client queried the local items of partition ``prefix`` (DynamoDB Query); ``items``
    maps each item key the answer held to the writes whose values it held."""

    op: str
    client: str
    consistent: bool
    prefix: str
    items: dict[str, list[str]]


@_kind
@attrs.frozen(kw_only=True)
class Synced(TraceEvent):
    """An anti-entropy session with ``peer`` finished: what it repaired and what it cost."""

    session: str
    peer: str
    repaired: list[str]
    divergent: int
    bytes_sent: int
    hashes_sent: int
    items_sent: int
    full_state_bytes: int


@_kind
@attrs.frozen(kw_only=True)
class SyncAbandoned(TraceEvent):
    """An anti-entropy session with ``peer`` timed out (a message was lost)."""

    session: str
    peer: str


@_kind
@attrs.frozen(kw_only=True)
class Proposed(TraceEvent):
    """MRSC: this region proposed ``write`` as the commit after ``base``."""

    write: str
    key: str
    base: int
    stamp: dict[str, Any]


@_kind
@attrs.frozen(kw_only=True)
class Refused(TraceEvent):
    """MRSC: this region refused ``source``'s prepare of ``write``."""

    write: str
    key: str
    source: str
    reason: str


@_kind
@attrs.frozen(kw_only=True)
class Aborted(TraceEvent):
    """MRSC: a timed-out proposal was given up after its client had been told."""

    write: str
    key: str
    reason: str


@_kind
@attrs.frozen(kw_only=True)
class Recovered(TraceEvent):
    """MRSC: a region that lost its state has heard from every peer."""

    keys: int


# -- inside a region: the leaderless cluster (replicalab.quorum.node) ---------------------------


@_kind
@attrs.frozen(kw_only=True)
class QuorumPut(TraceEvent):
    """A coordinator gave write ``op`` on ``key`` its ``dot`` and asked ``targets`` to store it
    (``hints``: stand-in -> the home node it replaces)."""

    key: str
    op: str
    dot: str
    targets: list[str]
    hints: dict[str, str]


@_kind
@attrs.frozen(kw_only=True)
class QuorumStored(TraceEvent):
    """This node stored the versions ``dots`` of ``key`` as a home replica (``op``: the write
    that sent them; "" for repair, handoff or anti-entropy)."""

    key: str
    op: str
    dots: list[str]


@_kind
@attrs.frozen(kw_only=True)
class HintStored(TraceEvent):
    """This node keeps ``dots`` of ``key`` in a hint for ``home``, which did not answer."""

    key: str
    op: str
    home: str
    dots: list[str]


@_kind
@attrs.frozen(kw_only=True)
class HandedOff(TraceEvent):
    """``home`` took the hinted versions ``dots`` of ``key``; this node dropped them."""

    key: str
    home: str
    dots: list[str]


@_kind
@attrs.frozen(kw_only=True)
class QuorumWrote(TraceEvent):
    """A coordinator acknowledged write ``op`` (``dot``) once ``acks`` had stored it."""

    key: str
    op: str
    dot: str
    acks: list[str]


@_kind
@attrs.frozen(kw_only=True)
class ReadRepaired(TraceEvent):
    """After read ``op``, the coordinator sent ``node`` the merged versions ``dots`` of ``key``."""

    key: str
    op: str
    node: str
    dots: list[str]


@_kind
@attrs.frozen(kw_only=True)
class QuorumSynced(TraceEvent):
    """A Merkle comparison with ``peer`` found the shared keys that ``differ``."""

    peer: str
    differ: list[str]


# -- inside a table region without a leader (replicalab.quorum.zone) ---------------------------


@_kind
@attrs.frozen(kw_only=True)
class CaughtUp(TraceEvent):
    """Node ``node``, back from an outage, heard from ``sources`` and takes requests again."""

    node: str
    sources: list[str]


@_kind
@attrs.frozen(kw_only=True)
class ShippedForCoordinator(TraceEvent):
    """This node shipped write ``op`` on ``key`` to the other regions itself: its
    ``coordinator`` did not say it had (down, or back without its disk)."""

    key: str
    op: str
    coordinator: str


# -- inside a region: the leader protocol (replicalab.quorum.leader) ---------------------------


@_kind
@attrs.frozen(kw_only=True)
class Elected(TraceEvent):
    """This node won the election of ``partition`` in ``term`` (its log then held ``log`` entries)."""

    partition: int
    term: int
    log: int


@_kind
@attrs.frozen(kw_only=True)
class Committed(TraceEvent):
    """The leader of ``partition`` committed write ``op`` on ``key`` at log ``index`` and answered it."""

    partition: int
    index: int
    op: str
    key: str


@_kind
@attrs.frozen(kw_only=True)
class LeaderRead(TraceEvent):
    """The leader of ``partition`` answered strong read ``op`` of ``key`` after a quorum confirmed
    its ``term``, with the write at log ``index`` (0: none)."""

    partition: int
    op: str
    key: str
    index: int
    term: int


@_kind
@attrs.frozen(kw_only=True)
class ConflictReported(TraceEvent):
    """The system surfaced a conflict between ``writes`` (making a lost one ``detected``)."""

    writes: list[str]
    reason: str = "conflict reported"


def make(kind: str, seq: int, time: int, replica: str | None, step: int,
         data: dict[str, Any]) -> TraceEvent | None:
    """The typed event of ``kind`` with ``data`` as its fields; None if ``kind`` is not listed.

    A listed kind with fields that do not match its schema raises :class:`ConfigError`
    naming the kind, the fields given and the fields it takes.
    """
    cls = EVENTS.get(kind)
    if cls is None:
        return None
    try:
        return cls(seq=seq, time=time, replica=replica, step=step, **data)
    except TypeError:
        fields = [f.name for f in attrs.fields(cls) if f.name not in _HEADER]
        raise ConfigError(
            f"a {kind} event takes the fields {fields}, got {sorted(data)}; the trace's event "
            "kinds are a closed set (replicalab.events): log your own under another name"
        ) from None


# -- the hot path's constructors ----------------------------------------------------------
# A frozen attrs instance sets each field through object.__setattr__ (about 0.4 µs a field);
# the slot's own descriptor sets it in half that. The runtime records a Sent and a Delivered
# per message, so these two kinds get constructors that take every field positionally,
# header first, and build the same object as ``Kind(**fields)`` (tests/test_trace_fast.py
# checks that, and that the field lists still match the classes).


def _slot_setters(cls: type[TraceEvent], names: tuple[str, ...]) -> tuple[Any, ...]:
    def setter(name: str) -> Any:
        for klass in cls.__mro__:
            if name in klass.__dict__:
                return klass.__dict__[name].__set__
        raise AttributeError(f"{cls.__name__} has no slot {name!r}")

    if names != tuple(f.name for f in attrs.fields(cls)):
        raise AssertionError(f"{cls.__name__}'s fast constructor lists {names}, not its fields")
    return tuple(setter(name) for name in names)


_SENT = _slot_setters(Sent, ("seq", "time", "replica", "step", "dst", "msg", "due", "id"))
_DELIVERED = _slot_setters(Delivered, ("seq", "time", "replica", "step", "src", "msg", "id"))
_new = object.__new__


def sent(seq: int, time: int, replica: str | None, step: int, dst: str, msg: Any,
         due: int | None, id: int | None) -> Sent:
    """``Sent(seq=seq, time=time, ...)`` with every field given, at half the cost."""
    s0, s1, s2, s3, s4, s5, s6, s7 = _SENT
    event = _new(Sent)
    s0(event, seq), s1(event, time), s2(event, replica), s3(event, step)
    s4(event, dst), s5(event, msg), s6(event, due), s7(event, id)
    return event


def delivered(seq: int, time: int, replica: str | None, step: int, src: str, msg: Any,
              id: int | None) -> Delivered:
    """``Delivered(seq=seq, time=time, ...)`` with every field given, at half the cost."""
    s0, s1, s2, s3, s4, s5, s6 = _DELIVERED
    event = _new(Delivered)
    s0(event, seq), s1(event, time), s2(event, replica), s3(event, step)
    s4(event, src), s5(event, msg), s6(event, id)
    return event
