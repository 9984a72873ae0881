"""Running a learner's replica on the grader's simulator: the two ways a handler is run.

* :class:`RemoteReplica` — the judge's way: the learner's replica lives in the
  sandboxed process; each handler call is one request answered with the
  handler's recorded effects as data, which the simulator here carries out.
* :class:`Guarded` — a replica class in this process (``setup`` in a notebook,
  the tutorials): handlers run here with I/O refused by an audit hook
  (:data:`GUARD`), and :func:`learner_line` finds the learner's file and line.

Split from :mod:`replicalab.exercises.kinds.replica` (the check kind: topologies,
trials, judging), which uses both.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs

from replicalab.exercises import protocol
from replicalab.replica.base import Replica

__all__ = ["GUARD", "Evidence", "Guarded", "HandlerDidIO", "RemoteReplica", "learner_line"]


# Shared with the other side of the judge (one decision on refused I/O: protocol.refused_io).
HandlerDidIO = protocol.HandlerDidIO


class _Guard:
    """While ``active``, I/O from the learner's handlers raises :class:`HandlerDidIO`."""

    def __init__(self) -> None:
        self.active = False
        self.installed = False
        self.attempts: list[str] = []

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active:
            return
        what = protocol.refused_io(event, args)
        if what is None:
            return
        self.attempts.append(what)
        raise HandlerDidIO(what)

    def install(self) -> None:
        if not self.installed:
            sys.addaudithook(self.audit)
            self.installed = True


GUARD = _Guard()


class _Silent:
    """Stands in for stdout/stderr while handlers run: writing is I/O."""

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        what = f"printed {text.strip()[:60]!r}" if text.strip() else "printed"
        GUARD.attempts.append(what)
        raise HandlerDidIO(what)

    def flush(self) -> None:
        return None


class Guarded:
    """Run learner code with I/O refused: ``with Guarded(): sim.run(...)``."""

    def __enter__(self) -> None:
        GUARD.install()
        self.saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Silent("stdout"), _Silent("stderr")
        GUARD.active = True

    def __exit__(self, kind: type | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        GUARD.active = False
        sys.stdout, sys.stderr = self.saved


def learner_line(error: BaseException, module: Any) -> str:
    """`` at gossip.py:42, in on_timer: print(x)`` for the learner's innermost frame, or ''."""
    import traceback

    source = getattr(module, "__file__", None)
    if not source:
        return ""
    path = Path(source).resolve()
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if Path(f.filename).resolve() == path]
    if not frames:
        return ""
    frame = frames[-1]
    code = f": {frame.line.strip()}" if frame.line else ""
    return f" at {path.name}:{frame.lineno}, in {frame.name}{code}"


class Evidence:
    """What the grader saw reach each replica: the ground truth a replica's ``known`` is held to.

    A rumour counts as known at replica ``r`` only if a client told it to ``r``, or the
    simulator delivered to ``r`` a message from a replica that had it. A message that is
    data (tuples, sets, strings, :class:`Rumour` values...) carries the rumour strings found
    in it, and only those its sender had itself; a learner's object stays in the sandbox
    (its contents are whatever that process says), so it is taken to carry what its sender
    had. Nothing the learner's process claims adds to this: every replica of a submission
    lives in one process, so its own ``known`` cannot be the evidence.
    """

    def __init__(self, replicas: Iterable[str], rumours: Iterable[str]) -> None:
        self.rumours = frozenset(rumours)
        self.had: dict[str, set[str]] = {r: set() for r in replicas}

    def deliver(self, src: str, dst: str, msg: Any) -> None:
        """``msg`` from ``src`` (a replica, or a client) reached replica ``dst``."""
        if dst not in self.had:
            return
        sender = self.had.get(src)
        if sender is None:  # a client: its request is the evidence
            self.had[dst] |= _rumours_in(msg, self.rumours)
        elif sender:
            carried = _rumours_in(msg, self.rumours, opaque=self.rumours)
            self.had[dst] |= carried & sender

    def of(self, replica: str) -> set[str]:
        return self.had.get(replica, set())


def _rumours_in(value: Any, rumours: frozenset[str], opaque: frozenset[str] = frozenset(),
                depth: int = 0) -> set[str]:
    """The rumour strings in plain-data ``value``; ``opaque`` for anything that is not data."""
    if isinstance(value, str):
        return {value} & rumours
    if value is None or type(value) in (bool, int, float, bytes):
        return set()
    if depth > protocol.MAX_DEPTH:
        return set(opaque)
    if type(value) in (list, tuple, set, frozenset):
        found: set[str] = set()
        for item in value:
            found |= _rumours_in(item, rumours, opaque, depth + 1)
        return found
    if type(value) is dict:
        return (_rumours_in(list(value), rumours, opaque, depth + 1)
                | _rumours_in(list(value.values()), rumours, opaque, depth + 1))
    kind = type(value)
    if f"{kind.__module__}.{kind.__qualname__}" in protocol.VALUE_CLASSES:
        return _rumours_in([getattr(value, f.name) for f in attrs.fields(kind)], rumours, opaque,
                           depth + 1)
    return set(opaque)  # a learner's object (it lives in the sandbox), or anything else


class RemoteReplica(Replica):
    """A learner's replica living in the grading sandbox, as the grader's simulator sees it.

    Each handler is one request: the handler runs in the learner's process with a
    *recording* context (``replica``, ``now``, ``peers`` and ``wall_time()`` sent as data,
    ``random()`` drawing numbers taken from this replica's stream here) and answers with its
    effects as data — sends, timers, replies, log records — which are carried out here, on
    the simulator's own context, in order. Handlers run with I/O refused on the learner's side.
    """

    #: Random numbers sent with each handler call (more are fetched if a handler wants them).
    DRAWS = 4

    def __init__(self, remote: Any, replica_id: str) -> None:
        super().__init__(replica_id)
        self.remote = remote
        self.timers: dict[int, int] = {}  # the learner's timer token -> the simulator's id
        self.evidence: Evidence | None = None  # set by the check: what reached each replica

    def _handle(self, handler: str, ctx: Any, *args: Any) -> None:
        from replicalab.exercises.remote import LearnerError, session_of

        rng = ctx.random.__self__  # the replica's stream: peek, then advance by what was used
        session = session_of(self.remote)

        def peek(skip: int, n: int) -> list[float]:
            state = rng.getstate()
            drawn = [rng.random() for _ in range(skip + n)][skip:]
            rng.setstate(state)
            return drawn

        data = {"replica": ctx.replica, "now": ctx.now, "peers": list(ctx.peers),
                "wall": ctx.wall_time(), "random": peek(0, self.DRAWS)}
        session.random_source = peek
        reply = session.ask({"op": "handle", "on": session.encode(self.remote), "handler": handler,
                             "args": session.encode(list(args)), "ctx": session.encode(data)})
        if reply.get("io"):
            raise LearnerError("HandlerDidIO", ["HandlerDidIO"], str(reply["io"])[:200], "",
                               str(reply["io"])[:200])
        draws = reply.get("draws")
        effects = session.decode(reply.get("ok"))
        if type(draws) is not int or not 0 <= draws <= 1_000_000 or type(effects) is not list:
            raise session._fail("protocol", "a handler's answer was malformed")
        for _ in range(draws):
            rng.random()
        for effect in effects:
            self._apply(ctx, effect)

    def _apply(self, ctx: Any, effect: Any) -> None:
        if type(effect) is not tuple or not effect or not isinstance(effect[0], str):
            raise TypeError(f"a malformed effect {effect!r:.80}")
        verb, *rest = effect
        if verb == "send" and len(rest) == 4:
            dst, msg, scope, scopes = rest
            if scopes is not None:
                ctx.send(dst, msg, scopes=scopes)
            else:
                ctx.send(dst, msg, scope=scope)
        elif verb == "set_timer" and len(rest) == 3:
            delay, timer, token = rest
            self.timers[token] = ctx.set_timer(delay, timer)
        elif verb == "cancel_timer" and len(rest) == 1:
            if rest[0] in self.timers:
                ctx.cancel_timer(self.timers[rest[0]])
        elif verb == "reply" and len(rest) == 2:
            ctx.reply(rest[0], rest[1])
        elif verb == "log" and len(rest) == 2 and isinstance(rest[1], dict):
            ctx.log(rest[0], **rest[1])
        else:
            raise TypeError(f"an unknown effect {verb!r:.40}")

    def on_start(self, ctx: Any) -> None:
        self._handle("on_start", ctx)

    def on_message(self, ctx: Any, src: str, msg: Any) -> None:
        if self.evidence is not None:  # recorded before the handler runs (it may pass it on)
            self.evidence.deliver(src, self.id, msg)
        self._handle("on_message", ctx, src, msg)

    def on_timer(self, ctx: Any, timer: Any) -> None:
        self._handle("on_timer", ctx, timer)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("remote", "timers", "evidence"):
            raise AttributeError(name)
        return getattr(self.remote, name)
