"""The sans-I/O replica contract: handlers that record effects, runtimes that carry them out.

A replica is a state machine with three handlers::

    on_start(ctx)                 once, before any message or timer
    on_message(ctx, src, msg)     a message from a peer replica or a client
    on_timer(ctx, timer)          a timer it set earlier fired

Rules of the contract (as in DSLabs and stateright):

* Handlers run one at a time, to completion, and must be deterministic
  functions of the replica's state, the arguments and ``ctx``.
* Handlers never do I/O, never read the real clock and never use global
  randomness. Everything they may observe or do goes through ``ctx``:
  ``ctx.now`` (simulated time), ``ctx.wall_time()`` (this replica's skewable
  wall clock), ``ctx.random()`` (this replica's seeded stream),
  ``ctx.send``, ``ctx.set_timer``, ``ctx.reply`` and ``ctx.log`` (and, for a replica
  that orders client writes later than they arrive, ``ctx.sequenced``: ground truth only).
* Effects take place after the handler returns: a message sent with zero
  latency is still delivered after the current event. The constructor gets
  no ``ctx``, so a replica cannot send before it has started.

What a handler asks for is a *command*, a frozen value: :class:`Send`,
:class:`SetTimer`, :class:`CancelTimer`, :class:`Reply`, :class:`Log`. The
simulator is one runtime, which carries each command out in one place
(:mod:`replicalab.sim.executor`); :class:`RecordingContext` is another, which
only records them, for testing a replica by hand.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError, TopologyError

__all__ = [
    "CancelTimer",
    "Command",
    "Context",
    "Effect",
    "Log",
    "RecordingContext",
    "Replica",
    "Reply",
    "Request",
    "Response",
    "Send",
    "SetTimer",
    "carry_out",
]

T = TypeVar("T")


class Context(Protocol):
    """What a handler may observe and do. Implemented by each runtime."""

    @property
    def replica(self) -> str:
        """The id of the replica this context belongs to."""

    @property
    def now(self) -> int:
        """Simulated global time in milliseconds (no replica can read this in reality; use for logs)."""

    @property
    def peers(self) -> Sequence[str]:
        """The replicas this one has a link to, sorted (a tuple, or a view in a large mesh)."""

    def wall_time(self) -> int:
        """This replica's wall clock in milliseconds: simulated time plus its skew and drift."""

    def random(self) -> float:
        """A float in [0, 1) from this replica's own seeded stream."""

    def send(self, dst: str, msg: Any, scope: Hashable | None = None,
             scopes: Iterable[Hashable] | None = None) -> None:
        """Send ``msg`` to peer ``dst``.

        ``scope`` (the item key the message is about), or ``scopes`` for a message
        about several keys, lets the runtime track causality per key. Pass them by keyword
        (``ctx.send(peer, msg, scope=key)``); every runtime also takes them by position,
        because the simulator's hot path cannot declare them keyword-only (sim/context.py).
        """

    def set_timer(self, delay: int, timer: Any) -> int:
        """Ask for ``on_timer(ctx, timer)`` after ``delay`` ms; returns an id for ``cancel_timer``."""

    def cancel_timer(self, timer_id: int) -> None:
        """Cancel one of this replica's timers that has not fired yet.

        A no-op for an id that has fired, was cancelled, died when the replica crashed
        (a crash kills its pending timers, durable or not), or is another replica's.
        """

    def reply(self, client: str, response: Response) -> None:
        """Answer a client request."""

    def log(self, kind: str, **data: Any) -> None:
        """Record a past-tense domain event (``Wrote``, ``Merged``, ...) in the trace."""

    def sequenced(self, op: str, after: Sequence[str] = (), *, log: str | None = None,
                  extends: bool = False) -> None:
        """Client write ``op`` takes its place in this replica's order now, behind the writes
        ``after`` (the ops of every write whose effect the table it will be applied on holds).

        For a replica that orders a client's write later or elsewhere than the request arrived:
        a leader region's partition leader appending a request to its log, behind the entries
        before it (:mod:`replicalab.quorum.region`). The write's causal past — what the ledger
        says it had seen — becomes the pasts of the writes in ``after``, and itself; not what
        the node it arrived at had received (a write that arrived there earlier, or was
        forwarded there, and is not in ``after`` is not in it). A replica that applies a write
        where and when it arrives never calls this.

        Runtimes: the simulator re-mints the write's ground truth
        (:meth:`~replicalab.sim.ground_truth.GroundTruth.sequenced`; ops it has no write for
        add or re-mint nothing); :class:`RecordingContext` notes ``(op, after)`` (with a log:
        ``(op, after, log, extends)``) in ``sequenced_ops``; the real-network runtime, whose processes keep their ground truth
        apart, refuses it with a :class:`~replicalab.errors.ConfigError` (leader regions do not
        run there). Not a command: it changes nothing the run does, only what its ground
        truth says.

        A long log: naming every earlier entry at every append costs O(n²) over n entries.
        Name the log instead (``log="p0"``): the first call (``extends=False``) names the whole
        prefix, and each later one (``extends=True``) only the writes appended since the
        previous call on that log — the write is behind all of them, exactly as if the whole
        prefix were named. Start afresh (``extends=False``, whole prefix) whenever the log may
        no longer extend what was named (it was truncated, or another node led meanwhile).
        """


@attrs.frozen
class Request:
    """Base of client requests. ``op`` names the request; ``scope`` is the key it touches.

    ``mutates`` is True for writes: the runtime records a ground-truth write
    event for them (who had seen what at that moment), independently of how
    the replica or its merge policy behaves.
    """

    mutates: ClassVar[bool] = False

    # A usual op id accepted inline; _validate.name says what is wrong with any other.
    op: str = attrs.field(
        validator=lambda _i, _a, v: None if type(v) is str and v else _validate.name(v, "request op id"))

    @property
    def scope(self) -> Hashable | None:
        """The causal scope of the request (the item key); None if it has none."""
        return None


@attrs.frozen
class Response:
    """Base of responses to clients: ``ok`` False means the client was told of an error."""

    op: str
    ok: bool = True
    error: str | None = None
    message: str = ""


@attrs.frozen
class Effect:
    """One effect recorded by :class:`RecordingContext`: ``kind`` and its arguments.

    The older, untyped view of a command (``Send(...).effect``), kept because tutorials,
    tests and the exercises' grader read it; new code can read the commands themselves.
    """

    kind: str  # "send", "set_timer", "cancel_timer", "reply", "log"
    args: tuple[Any, ...]
    data: dict[str, Any] = attrs.field(factory=dict)


# -- commands: what a handler asks its runtime to do ------------------------------------


@attrs.frozen
class Send:
    """Send ``msg`` to peer ``dst``; ``scope`` (or ``scopes``) names the item keys it is about."""

    dst: str
    msg: Any
    scope: Hashable | None = None
    scopes: tuple[Hashable, ...] | None = None

    @property
    def effect(self) -> Effect:
        data = {"scope": self.scope} if self.scopes is None else {"scope": self.scope,
                                                                  "scopes": self.scopes}
        return Effect("send", (self.dst, self.msg), data)


@attrs.frozen
class SetTimer:
    """Call ``on_timer(ctx, timer)`` after ``delay`` ms; ``id`` is what ``set_timer`` returned."""

    delay: int
    timer: Any
    id: int

    @property
    def effect(self) -> Effect:
        return Effect("set_timer", (self.delay, self.timer), {"id": self.id})


@attrs.frozen
class CancelTimer:
    """Cancel timer ``timer_id`` if it has not fired yet."""

    timer_id: int

    @property
    def effect(self) -> Effect:
        return Effect("cancel_timer", (self.timer_id,))


@attrs.frozen
class Reply:
    """Answer ``client``'s request with ``response``."""

    client: str
    response: Response

    @property
    def effect(self) -> Effect:
        return Effect("reply", (self.client, self.response))


@attrs.frozen
class Log:
    """Record the past-tense domain event ``kind`` with ``data`` in the trace."""

    kind: str
    data: dict[str, Any] = attrs.field(factory=dict)

    @property
    def effect(self) -> Effect:
        return Effect("log", (self.kind,), self.data)


#: Every command a handler can give, through its context's verbs.
Command = Send | SetTimer | CancelTimer | Reply | Log


def carry_out(ctx: Context, command: Command) -> Any:
    """Carry out ``command`` on ``ctx`` as if the handler had called the verb; return what the
    verb returns (a :class:`SetTimer` gets ``ctx``'s next timer id). Every runtime's
    ``execute`` is this, so the simulator and the real network cannot disagree on a command.

    Raises :class:`~replicalab.errors.ConfigError` for anything that is not a command.
    """
    if isinstance(command, Send):
        return ctx.send(command.dst, command.msg, scope=command.scope, scopes=command.scopes)
    if isinstance(command, SetTimer):
        return ctx.set_timer(command.delay, command.timer)
    if isinstance(command, CancelTimer):
        return ctx.cancel_timer(command.timer_id)
    if isinstance(command, Reply):
        return ctx.reply(command.client, command.response)
    if isinstance(command, Log):
        return ctx.log(command.kind, **command.data)
    raise ConfigError(f"not a command: {_validate.shown(command)}; see replicalab.replica.base")


class Replica:
    """Base class for replicas. Subclasses override the handlers they need.

    ``self.id`` is the replica id, validated. Keep state in plain attributes;
    a runtime calls the handlers one at a time.
    """

    def __init__(self, replica_id: str) -> None:
        self.id = _validate.replica_id(replica_id)

    def on_start(self, ctx: Context) -> None:
        """Called once at time 0, before any other handler. Default: nothing."""

    def on_message(self, ctx: Context, src: str, msg: Any) -> None:
        """Handle a message from peer or client ``src``. Default: refuse, loudly."""
        raise ConfigError(
            f"{type(self).__name__} does not handle {type(msg).__name__} messages; "
            "override on_message(ctx, src, msg) to handle them"
        )

    def on_timer(self, ctx: Context, timer: Any) -> None:
        """Handle a timer set with ``ctx.set_timer``. Default: nothing."""

    def recover(self, identity: str) -> Replica:
        """A fresh replica with this id that lost all state, acting under causal ``identity``.

        Called by a runtime when a replica that crashed with ``durable=False``
        restarts. The new identity (``eu-west-1~2``) must be used wherever the
        replica names itself causally (vector clocks, dots, stamps), so nothing
        it does after the restart can be confused with what it did before.
        """
        raise ConfigError(
            f"{type(self).__name__} cannot lose its state; crash it with durable=True "
            "or implement recover()"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r})"


def check_timer_id(timer_id: Any) -> None:
    """A timer id is the positive integer ``set_timer`` returned."""
    if type(timer_id) is not int or timer_id < 1:
        raise ConfigError(f"cancel_timer takes the id set_timer returned (an integer >= 1), "
                          f"got {_validate.shown(timer_id)}")


def check_reply(client: Any, response: Any) -> None:
    """A reply goes to a named client and is a :class:`Response`."""
    _validate.replica_id(client, "client name")
    if not isinstance(response, Response):
        raise ConfigError(f"reply takes a Response (or a subclass), got {_validate.shown(response)}")


def check_log_kind(kind: Any) -> None:
    """A log record's kind is a non-empty name such as 'Merged'."""
    if not isinstance(kind, str) or not kind:
        raise ConfigError(f"log kind must be a non-empty string such as 'Merged', got {_validate.shown(kind)}")


def check_log(log: Any, extends: Any) -> dict[str, Any]:
    """``sequenced``'s ``log`` (None, or a log name) and ``extends`` (True or False; True only
    with a log), as keyword arguments for the ground truth."""
    if log is not None:
        _validate.name(log, "log name")
    if type(extends) is not bool:
        raise ConfigError(f"extends must be True or False, got {_validate.shown(extends)}")
    if extends and log is None:
        raise ConfigError("extends=True adds to a named log's earlier calls; name the log (log='p0')")
    return {"log": log, "extends": extends}


def check_after(after: Any) -> tuple[str, ...]:
    """``sequenced``'s ``after``: write op ids (a list or tuple of non-empty strings)."""
    if isinstance(after, (str, bytes)) or not isinstance(after, (list, tuple)):
        raise ConfigError(f"after must be a list or tuple of write op ids, got {_validate.shown(after)}")
    for op in after:
        _validate.name(op, "write op id in after")
    return tuple(after)


class RecordingContext:
    """A context that only records commands: the runtime for testing one handler by hand.

    ``commands`` holds the frozen commands in order; ``effects`` the same, as
    :class:`Effect` records (the older view, kept for tutorials and the grader).

        >>> class Echo(Replica):
        ...     def on_message(self, ctx, src, msg):
        ...         ctx.send(src, msg)
        >>> ctx = RecordingContext("a", peers=("b",))
        >>> Echo("a").on_message(ctx, "b", "hi")
        >>> ctx.commands
        [Send(dst='b', msg='hi', scope=None, scopes=None)]
        >>> ctx.effects
        [Effect(kind='send', args=('b', 'hi'), data={'scope': None})]
    """

    def __init__(
        self,
        replica: str,
        *,
        now: int = 0,
        wall: int | None = None,
        peers: Sequence[str] = (),
        randoms: Sequence[float] = (),
    ) -> None:
        self._replica = _validate.replica_id(replica)
        for name, value in (("now", now), ("wall", now if wall is None else wall)):
            if type(value) is not int or value < 0:
                raise ConfigError(f"RecordingContext {name} must be an integer number of ms >= 0, "
                                  f"got {_validate.shown(value)}")
        # Any sequence or set of ids: a simulator context's ``peers`` (a view) included.
        if isinstance(peers, (str, bytes)) or not isinstance(peers, (Sequence, set, frozenset)):
            raise ConfigError(f"peers must be a list of replica ids, got {_validate.shown(peers)}")
        for peer in peers:
            _validate.replica_id(peer, "peer id")
        if not isinstance(randoms, (list, tuple)) or not all(
                type(r) is float and 0.0 <= r < 1.0 for r in randoms):
            raise ConfigError(f"randoms must be a list of floats in [0, 1), got {_validate.shown(randoms)}")
        self.now = now
        self.wall = now if wall is None else wall
        self._peers = tuple(sorted(peers))
        self._randoms = list(randoms)
        self._next_timer = 0
        self.commands: list[Command] = []
        self.effects: list[Effect] = []
        #: The client writes the handler said took their place here (``sequenced``), in
        #: order, each with the writes it was ordered behind: ``(op, after)``, or
        #: ``(op, after, log, extends)`` for a call that named a log.
        self.sequenced_ops: list[tuple[Any, ...]] = []

    def _record(self, command: Command) -> None:
        self.commands.append(command)
        self.effects.append(command.effect)

    @property
    def replica(self) -> str:
        return self._replica

    @property
    def peers(self) -> tuple[str, ...]:
        return self._peers

    def wall_time(self) -> int:
        return self.wall

    def random(self) -> float:
        if not self._randoms:
            raise ConfigError("RecordingContext ran out of random values; pass randoms=[...]")
        return self._randoms.pop(0)

    def send(self, dst: str, msg: Any, scope: Hashable | None = None,
             scopes: Iterable[Hashable] | None = None) -> None:
        if not isinstance(dst, str) or dst not in self._peers:
            raise TopologyError(
                f"{self._replica} has no link to {_validate.shown(dst)}; its peers are {list(self._peers)} "
                "(pass peers=[...] to RecordingContext)"
            )
        self._record(Send(dst, msg, scope, None if scopes is None else tuple(scopes)))

    def set_timer(self, delay: int, timer: Any) -> int:
        if type(delay) is not int or delay < 0:  # as the simulator checks it
            raise ConfigError(f"timer delay must be an integer number of ms >= 0, got {_validate.shown(delay)}")
        self._next_timer += 1
        self._record(SetTimer(delay, timer, self._next_timer))
        return self._next_timer

    def cancel_timer(self, timer_id: int) -> None:
        check_timer_id(timer_id)
        self._record(CancelTimer(timer_id))

    def reply(self, client: str, response: Response) -> None:
        check_reply(client, response)
        self._record(Reply(client, response))

    def log(self, kind: str, **data: Any) -> None:
        check_log_kind(kind)
        self._record(Log(kind, data))

    def sequenced(self, op: str, after: Sequence[str] = (), *, log: str | None = None,
                  extends: bool = False) -> None:
        _validate.name(op, "write op id")
        checked, named = check_after(after), check_log(log, extends)
        self.sequenced_ops.append((op, checked) if log is None else (op, checked, log, named["extends"]))

    def of_kind(self, kind: str) -> list[Effect]:
        """The recorded effects of one kind, in order."""
        return [e for e in self.effects if e.kind == kind]
