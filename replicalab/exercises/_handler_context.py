"""What the learner's code holds in the worker that is not its own.

* :class:`RecordingContext` — the ``ctx`` a replica's handler gets: reads are data the
  grader sent, every effect is recorded and sent back as data for the grader's simulator.
* :class:`GraderObject` — one of the grader's objects handed to the learner's code
  (a tree view, say): only its allowed methods, each run in the grader by a callback.

Split from :mod:`replicalab.exercises._worker` (the request loop), which creates both.
"""

from __future__ import annotations

from typing import Any

from replicalab.exercises import protocol

__all__ = ["ConfigError", "GraderObject", "GraderRefused", "RecordingContext", "TopologyError"]


class TopologyError(ValueError):
    """ctx.send to a replica that is not a peer (as the simulator says it)."""


class ConfigError(ValueError):
    """A bad argument to ctx (a negative timer delay, say), as the simulator says it."""


class RecordingContext:
    """The context a learner's handler gets here: reads are data, every effect is recorded.

    ``replica``, ``now``, ``peers`` and ``wall_time()`` were read by the grader before the
    call; ``random()`` hands out numbers the grader drew from the replica's stream (it
    advances its stream by as many as were used); ``send``, ``set_timer``, ``cancel_timer``,
    ``reply`` and ``log`` are recorded in order and carried out by the grader's simulator.
    Timer ids are tokens the grader maps to its own.
    """

    def __init__(self, worker: Any, data: Any) -> None:
        if not isinstance(data, dict):
            raise protocol.ProtocolError("a handler's context must be a table")
        self._worker = worker
        self.replica = data["replica"]
        self.now = data["now"]
        self.peers = tuple(data["peers"])
        self._wall = data["wall"]
        self._random = list(data["random"])
        self.draws = 0
        self.effects: list[Any] = []

    def wall_time(self) -> int:
        return self._wall

    def random(self) -> float:
        if self.draws >= len(self._random):
            more = self._worker.ask({"callback": 0, "name": "random", "draws": self.draws},
                                    value=True)
            self._random.extend(more)
        self.draws += 1
        return self._random[self.draws - 1]

    def send(self, dst: str, msg: Any, scope: Any = None, scopes: Any = None) -> None:
        if dst not in self.peers:
            raise TopologyError(f"{self.replica} has no link to {dst!r}; its peers are "
                                f"{list(self.peers)}")
        self.effects.append(("send", dst, msg, scope, None if scopes is None else tuple(scopes)))

    def set_timer(self, delay: int, timer: Any) -> int:
        if type(delay) is not int or delay < 0:
            raise ConfigError(f"timer delay must be an integer number of ms >= 0, got {delay!r}")
        self._worker.timers += 1
        self.effects.append(("set_timer", delay, timer, self._worker.timers))
        return self._worker.timers

    def cancel_timer(self, timer_id: int) -> None:
        self.effects.append(("cancel_timer", timer_id))

    def reply(self, client: str, response: Any) -> None:
        self.effects.append(("reply", client, response))

    def log(self, kind: str, **data: Any) -> None:
        self.effects.append(("log", kind, data))


class GraderObject:
    """One of the grader's objects as the learner's code sees it: its allowed methods run in the grader."""

    def __init__(self, worker: Any, number: int, values: Any) -> None:
        self.__dict__["_w"] = worker
        self.__dict__["_n"] = number
        self.__dict__["_v"] = values if isinstance(values, dict) else {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        known = self.__dict__["_v"]
        if name in known:
            return self.__dict__["_w"].decode(known[name])
        reply = self.__dict__["_w"].ask({"callback": self.__dict__["_n"], "name": name})
        if reply.get("method"):
            return lambda *args, **kwargs: self.__dict__["_w"].ask(
                {"callback": self.__dict__["_n"], "name": name, "call": True,
                 "args": self.__dict__["_w"].encode(list(args)),
                 "kwargs": self.__dict__["_w"].encode(dict(kwargs))}, value=True)
        return self.__dict__["_w"].decode(reply.get("ok"))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot set {name!r} on the grader's object")

    def __repr__(self) -> str:
        return str(self.__dict__["_w"].ask({"callback": self.__dict__["_n"], "name": "__repr__"},
                                           value=True))


class GraderRefused(Exception):
    """The grader's object refused the call (a bad argument, say); the message says why."""
