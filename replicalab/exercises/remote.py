"""The grader's view of the learner's module: stand-ins whose every use is a request to the worker.

A check kind's ``run(ctx)`` receives ``ctx.module``, a :class:`RemoteModule`;
``module.GCounter`` is a *stand-in class* (a real class on the grader's side,
named like the learner's, so counterexamples print ``GCounter()`` and
``from gcounter import GCounter``); calling it, calling a method, comparing
with ``==``, hashing, ``repr`` — each is one request over the protocol
(:mod:`replicalab.exercises.protocol`), answered by the untrusted process.
The learner's objects never leave that process: the grader holds numbered
references. What comes back is data, checked by the grader's own code.

Exceptions raised by the learner's code arrive as :class:`LearnerError`
(an ordinary ``Exception``, so the checks treat it as the learner's
exception). Anything that means the worker cannot be trusted to answer —
a deadline passed, the process died, a message broke the protocol — is a
:class:`WorkerFailed` (a ``BaseException``: no check's ``except Exception``
swallows it); the runner turns it into a failed check.

The module stays whole (about 500 lines) on purpose: :class:`Session` and the
stand-ins are one mechanism — decoding a reply makes stand-ins, and every use of a
stand-in is a session request — so two modules would each import the other.
"""

from __future__ import annotations

import os
import select
from collections.abc import Iterator
from typing import Any

from replicalab.exercises import protocol

__all__ = ["Exposed", "LearnerError", "MutationFound", "RemoteModule", "RemoteObject", "Session",
           "WorkerFailed", "describe", "is_remote", "session_of"]


class LearnerError(Exception):
    """The learner's code raised: ``type_name``, its class names (``mro``), message, file and line."""

    def __init__(self, type_name: str, mro: list[str], message: str, where: str,
                 attempt: str = "") -> None:
        super().__init__(message)
        self.type_name = type_name
        self.mro = tuple(mro)
        self.message = message
        self.where = where
        self.attempt = attempt

    def is_a(self, name: str) -> bool:
        """Does the learner's exception derive from a class called ``name``?"""
        return name in self.mro

    def __str__(self) -> str:
        return self.message


class MutationFound(BaseException):  # noqa: N818 - not swallowed by a check's except Exception
    """A verb that must return a new value changed its receiver or an argument."""


class WorkerFailed(BaseException):  # noqa: N818 - a reason to stop, not an error of the check
    """The worker cannot answer any more: ``reason`` is ``timeout``, ``gone`` or ``protocol``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


#: Calls of each pure verb checked for changing their inputs in optimistic runs, per check.
WATCHED_CALLS = 300
#: Numbers the grader gives results of pipelined calls (the worker numbers its own from 1).
PROMISES = 1 << 40
#: Bytes of pipelined requests sent together in one message (a batch).
BATCH = 1 << 16
_ERROR_FIELDS = {"type", "mro", "message", "where", "attempt"}


class Session:
    """The conversation with one worker: requests with a deadline, replies validated, callbacks run."""

    def __init__(self, requests: int, replies: int) -> None:
        self.requests = requests
        self.replies = replies
        self.deadline: float | None = None
        self.failed: WorkerFailed | None = None
        self.classes: dict[tuple[str, str], type] = {}
        self.objects: dict[int, RemoteObject] = {}
        self.methods: dict[tuple[type, str], bool] = {}
        self.exposed: dict[int, tuple[Any, frozenset[str]]] = {}
        self.pure: frozenset[str] = frozenset()
        self.guard = False
        self.requests_sent = 0
        self.exposing = False
        self.promises = 0
        #: While True, ``==`` between the learner's objects is sent without waiting and
        #: answered True; :meth:`verify` then says whether every answer really was True.
        self.optimistic = False
        #: While True, every call on a learner's class or object is pipelined (its result a
        #: stand-in at once) and a known attribute is read later, as in an optimistic run,
        #: but no call is checked for changing its inputs unless its verb is pure: the
        #: streamed pass of an oracle check (:mod:`replicalab.exercises.kinds.oracle`).
        self.streaming = False
        self.outbox: list[str] = []  # requests that wait for no answer, sent with the next one
        self.outbox_size = 0
        self.noted = 0  # comparisons sent by note() that verify() has not fetched yet
        self.watched: dict[str, int] = {}  # pure verb -> calls checked for changing their inputs
        #: ``(skip, n)`` -> the next ``n`` numbers after ``skip`` of the running handler's stream
        self.random_source: Any = None

    # -- the wire ------------------------------------------------------------------------
    def _fail(self, reason: str, message: str) -> WorkerFailed:
        self.failed = WorkerFailed(reason, message)
        return self.failed

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send ``request``; return the reply (running any callbacks it asks for first)."""
        if self.failed is not None:
            raise self.failed
        self.requests_sent += 1
        number = request["id"] = self.requests_sent
        try:
            self._write(self._batch() + protocol.frame(request))
            while True:
                reply = protocol.read_message(self.replies, self.deadline)
                if "callback" not in reply:
                    break
                protocol.write_message(self.requests, self._callback(reply), self.deadline)
        except TimeoutError:
            raise self._fail("timeout", "no answer before the deadline") from None
        except (EOFError, BrokenPipeError, ConnectionError):
            raise self._fail("gone", "the process running your module ended") from None
        except protocol.ProtocolError as error:
            raise self._fail("protocol", f"your module's process broke the protocol: {error}") from None
        if reply.get("re") != number:
            raise self._fail("protocol", "your module's process sent an answer to a request the "
                             "grader did not make (a forged answer, an extra one, or one out of "
                             "order)")
        if "raised" in reply:
            raised = reply["raised"]
            if not isinstance(raised, dict) or not set(raised) <= _ERROR_FIELDS or not all(
                    isinstance(raised.get(k, ""), str) for k in _ERROR_FIELDS - {"mro"}) or not (
                    isinstance(raised.get("mro", []), list)
                    and all(isinstance(m, str) for m in raised.get("mro", []))):
                raise self._fail("protocol", "your module's process sent a malformed error")
            raise LearnerError(raised.get("type", "Exception")[:100], raised.get("mro", [])[:20],
                               raised.get("message", "")[:2000], raised.get("where", "")[:300],
                               raised.get("attempt", "")[:200])
        if reply.get("mutated"):  # this call, or a pipelined one whose result this request used
            _mutation(reply)
        if "ok" not in reply and "syntax" not in reply:
            raise self._fail("protocol", f"your module's process sent an unexpected message "
                             f"(keys {sorted(str(k)[:20] for k in reply)[:5]})")
        return reply

    def pipelined(self, request: dict[str, Any] | str, cls: type) -> RemoteObject:
        """Send a call of a pure verb without waiting: its result gets a number chosen here.

        The worker keeps a failure (an exception, a mutation) under that number and reports
        it when a later request uses the result, or when :meth:`raise_pending` asks.
        """
        if self.failed is not None:
            raise self.failed
        self.promises += 1
        number = PROMISES + self.promises
        if isinstance(request, str):  # written out already, all but its number
            self._post(f'{request},"as":{number}}}')
        else:
            request["as"] = number
            self._post(request)
        obj = cls._wrap(number)  # type: ignore[attr-defined]  # cls is a stand-in class
        self.objects[number] = obj
        return obj

    def _post(self, request: dict[str, Any] | str) -> None:
        """Queue a request that waits for no answer; it goes with the next one (or a full box),
        all of them in one message (a batch). A str is a request written out as JSON."""
        try:
            text = request if isinstance(request, str) else protocol.ENCODER.encode(request)
        except (TypeError, ValueError) as error:
            raise self._fail("protocol", f"a request that is not JSON: {error}") from None
        if len(text) > protocol.MAX_MESSAGE - 64:
            raise self._fail("protocol", f"a message of {len(text):,} bytes, over the "
                             f"{protocol.MAX_MESSAGE:,}-byte limit")
        if self.outbox_size + len(text) > BATCH:
            self._write(self._batch())
        self.outbox.append(text)
        self.outbox_size += len(text) + 1

    def _batch(self) -> bytes:
        """The queued requests as one message (empty if none are queued)."""
        if not self.outbox:
            return b""
        text = '{"op":"batch","of":[' + ",".join(self.outbox) + "]}"
        self.outbox, self.outbox_size = [], 0
        data = text.encode()
        return protocol.HEADER.pack(len(data)) + data

    def _write(self, data: bytes) -> None:
        """Send ``data`` before the deadline; anything the worker says meanwhile breaks the protocol.

        Nothing the grader sent so far waits for an answer while it sends (pipelined requests
        are answered later, and a request is answered only once the worker has read it whole),
        so a message from the worker now is an answer nobody asked for — a forged one, or a
        flood meant to stall the grader.
        """
        view = memoryview(data)
        try:
            while view:
                unasked = select.select([self.replies], [], [], 0)[0]
                if not unasked:
                    try:
                        view = view[os.write(self.requests, view):]
                        continue
                    except BlockingIOError:
                        left = None if self.deadline is None else self.deadline - protocol.now()
                        if left is not None and left <= 0:
                            raise TimeoutError from None
                        unasked, room, _ = select.select([self.replies], [self.requests], [], left)
                        if not unasked and not room:
                            raise TimeoutError from None
                if unasked:
                    raise self._fail("protocol", "your module's process sent a message nobody "
                                     "asked for while the grader was still sending requests (a "
                                     "forged or unasked-for answer)")
        except TimeoutError:
            raise self._fail("timeout", "no answer before the deadline") from None
        except (BrokenPipeError, ConnectionError):
            raise self._fail("gone", "the process running your module ended") from None

    def watch(self, method: str) -> bool:
        """Should this call of pure verb ``method`` be checked for changing its inputs?

        Always, except in an optimistic run (see :attr:`optimistic`) once the verb was
        checked :data:`WATCHED_CALLS` times in this check: a copy of every input per call is
        the dearest part of a law check, and a verb that changes its inputs does it early
        and often. A failing example is re-run strictly, where every call is checked."""
        if not self.optimistic:
            return True
        seen = self.watched.get(method, 0)
        self.watched[method] = seen + 1
        return seen < WATCHED_CALLS

    def note(self, request: dict[str, Any] | str) -> None:
        """Send ``request`` (an ``eq``) to be answered later, by :meth:`verify`."""
        if self.failed is not None:
            raise self.failed
        if isinstance(request, str):  # written out already, all but the closing brace
            self._post(request + ',"note":true}')
        else:
            request["note"] = True
            self._post(request)
        self.noted += 1

    def verify(self) -> bool:
        """Were all comparisons sent by :meth:`note` since the last call True?"""
        notes = self.ask({"op": "notes"}).get("ok")
        sent, self.noted = self.noted, 0
        if not isinstance(notes, list) or len(notes) != sent:
            raise self._fail("protocol", "your module's process answered comparisons wrongly "
                             f"({sent} asked, {len(notes) if isinstance(notes, list) else 'no'} "
                             "answers)")
        return all(n is True for n in notes)

    def quiet(self) -> bool:
        """Did no pipelined call fail with nothing reporting it yet? (Asking reports it.)"""
        try:
            reply = self.ask({"op": "failures"})
        except (LearnerError, MutationFound):
            return False
        return not reply.get("io") and reply.get("ok") is None

    def raise_pending(self) -> None:
        """Raise the failure of a pipelined call nothing has reported yet, if there is one."""
        _result(self, self.ask({"op": "failures"}))

    def plains(self, objects: list[RemoteObject]) -> list[Any]:
        """The plain data of each of ``objects`` (stand-ins, pipelined reads too), in one request."""
        values = self.value({"op": "plains", "on": [{"$r": o._remote_ref} for o in objects]})
        if not isinstance(values, list) or len(values) != len(objects):
            raise self._fail("protocol", "your module's process answered a list of values wrongly")
        return values

    def value(self, request: dict[str, Any]) -> Any:
        """The decoded ``ok`` value of the reply to ``request``."""
        return self.decode(self.ask(request).get("ok"))

    # -- values --------------------------------------------------------------------------
    def decode(self, value: Any) -> Any:
        try:
            return protocol.decode(value, self._resolve)
        except protocol.ProtocolError as error:
            raise self._fail("protocol", f"your module's process sent a bad value: {error}") from None

    def encode(self, value: Any) -> Any:
        return protocol.encode(value, self._reference)

    def _resolve(self, tag: dict[str, Any]) -> Any:
        if "$c" in tag:
            raise protocol.ProtocolError("a reference to the grader's object coming back")
        number = tag["$r"]
        known = self.objects.get(number)
        if known is not None:
            return known
        module = protocol._name(tag.get("m"), "a module name")
        qualname = protocol._name(tag.get("q"), "a class name")
        cls = self.stand_in(module, qualname)
        if tag.get("cls"):
            cls._remote_ref = number  # type: ignore[attr-defined]
            self.objects[number] = cls  # type: ignore[assignment]
            return cls
        obj = cls._wrap(number)  # type: ignore[attr-defined]  # cls is a stand-in class
        self.objects[number] = obj
        return obj

    def _reference(self, value: Any) -> dict[str, Any]:
        if isinstance(value, RemoteObject) or isinstance(value, _RemoteClass):
            return {"$r": value._remote_ref}
        if isinstance(value, Exposed):
            self.exposing = True
            return self.expose(value.obj, value.names, value.values)
        names = getattr(type(value), "__judge_exposes__", None)
        if isinstance(names, frozenset):
            self.exposing = True
            return self.expose(value, names)
        raise protocol.ProtocolError(f"cannot hand a {type(value).__name__} to the learner's code")

    def expose(self, obj: Any, names: frozenset[str], values: dict[str, Any] | None = None
               ) -> dict[str, Any]:
        """A ``$c`` tag letting the learner's code use ``names`` of ``obj`` (and read ``values``)."""
        number = len(self.exposed) + 1
        self.exposed[number] = (obj, names)
        tag: dict[str, Any] = {"$c": number}
        if values:
            tag["v"] = {k: self.encode(v) for k, v in values.items()}
        return tag

    def _callback(self, message: dict[str, Any]) -> dict[str, Any]:
        number, name = message.get("callback"), message.get("name")
        if number == 0 and name == "random" and self.random_source is not None:
            skip = message.get("draws")
            if type(skip) is not int or not 0 <= skip <= 1_000_000:
                raise protocol.ProtocolError("a request for random numbers with a bad count")
            return {"ok": self.encode(self.random_source(skip, 16))}
        if number not in self.exposed or not isinstance(name, str):
            raise protocol.ProtocolError("a callback to an object it was not given")
        obj, names = self.exposed[number]
        if name == "__repr__":
            return {"ok": self.encode(repr(obj)[:2000])}
        if name not in names:
            return {"raised": {"type": "AttributeError", "mro": ["AttributeError"],
                               "message": f"{type(obj).__name__} has no attribute {name!r} for "
                               "your code", "where": ""}}
        try:
            attribute = getattr(obj, name)
            if not message.get("call"):
                if callable(attribute):
                    return {"ok": None, "method": True}
                return {"ok": self.encode(attribute)}
            args = self.decode(message.get("args", []))
            kwargs = self.decode(message.get("kwargs", {"$d": []}))
            if type(args) is not list or type(kwargs) is not dict or not all(
                    isinstance(k, str) for k in kwargs):
                raise protocol.ProtocolError("callback arguments must be a list and a dict")
            return {"ok": self.encode(attribute(*args, **kwargs))}
        except protocol.ProtocolError:
            raise
        except Exception as error:  # the grader's object refused (a bad argument): the learner's error
            return {"raised": {"type": type(error).__name__, "mro": [c.__name__ for c in type(error).__mro__],
                               "message": str(error)[:2000], "where": ""}}

    # -- stand-ins -----------------------------------------------------------------------
    def stand_in(self, module: str, qualname: str) -> type:
        """The grader-side class standing for the learner's class ``module.qualname``."""
        key = (module, qualname)
        if key not in self.classes:
            name = qualname.rsplit(".", 1)[-1]
            cls = _RemoteClass(name, (RemoteObject,), {"__module__": module, "__qualname__": qualname,
                                                       "_remote_session": self})
            self.classes[key] = cls
        return self.classes[key]

    def describe(self, obj: Any, bases: tuple[str, ...] = ()) -> dict[str, Any]:
        """Facts about a learner's class or function (see the worker's ``describe``)."""
        facts = self.value({"op": "describe", "on": self.encode(obj), "bases": list(bases)})
        if not isinstance(facts, dict):
            raise self._fail("protocol", "your module's process described an object wrongly")
        return facts


class Exposed:
    """Hand ``obj`` to the learner's code with only ``names`` usable (and ``values`` read once)."""

    def __init__(self, obj: Any, names: frozenset[str], values: dict[str, Any] | None = None) -> None:
        self.obj = obj
        self.names = names
        self.values = values


class _RemoteClass(type):
    """Metaclass of stand-in classes: calling one constructs the learner's object in the worker."""

    _remote_ref: int
    _remote_session: Session

    def _wrap(cls, number: int) -> Any:
        """A stand-in for the learner's existing object ``number`` (calling the class would
        construct a new one in the worker)."""
        obj = super().__call__()
        obj._remote_ref = number
        return obj

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        ref = getattr(cls, "_remote_ref", None)
        if ref is None:
            raise TypeError(f"{cls.__qualname__} is not a class of your module the grader has seen")
        return _call(cls._remote_session, {"$r": ref}, None, args, kwargs, cls=cls)

    def __repr__(cls) -> str:
        return f"<class {cls.__module__}.{cls.__qualname__} (in the learner's process)>"


def _call(session: Session, on: dict[str, Any], method: str | None, args: tuple[Any, ...],
          kwargs: dict[str, Any], cls: type | None = None) -> Any:
    """Call ``method`` of the object ``on`` (the object itself if None) in the worker.

    A pure verb (see :attr:`Session.pure`) of a known class is pipelined: its result is a
    stand-in at once and the worker checks it changed none of its inputs."""
    pure = method is not None and method in session.pure
    if (cls is not None and not kwargs and (pure or session.streaming or (method is None and session.pure))
            and all(isinstance(a, RemoteObject) for a in args)):
        # the commonest request of a law check, written out: a pipelined call on the learner's
        # objects only (what encoding the request would give, without building it first)
        refs = ",".join(f'{{"$r":{int(a._remote_ref)}}}' for a in args)
        name = _NAMES.get(method) or _name_json(method)
        text = f'{{"op":"call","on":{{"$r":{int(on["$r"])}}},"method":{name},"args":[{refs}]'
        if pure and method is not None and session.watch(method):
            text += ',"pure":true'
        if session.guard:
            text += ',"guard":true'
        session.exposing = False
        return session.pipelined(text, cls)
    session.exposing = False
    request = {"op": "call", "on": on, "method": method, "args": session.encode(list(args)),
               "kwargs": session.encode(dict(kwargs))}
    if pure and method is not None and session.watch(method):
        request["pure"] = True  # the worker checks the call left its inputs as they were
    if session.guard:
        request["guard"] = True
    if cls is not None and not session.exposing and (
            pure or session.streaming or (method is None and session.pure)):
        return session.pipelined(request, cls)
    return _result(session, session.ask(request))


_NAMES: dict[str | None, str] = {}  # method name -> the name as JSON


def _name_json(method: str | None) -> str:
    _NAMES[method] = protocol.ENCODER.encode(method)
    return _NAMES[method]


def _result(session: Session, reply: dict[str, Any]) -> Any:
    """The value of a call's reply (a mutation was already raised by :meth:`Session.ask`)."""
    if reply.get("io"):
        raise LearnerError("HandlerDidIO", ["HandlerDidIO"], str(reply["io"])[:200], "",
                           str(reply["io"])[:200])
    return session.decode(reply.get("ok"))


def _mutation(reply: dict[str, Any]) -> None:
    """Raise :class:`MutationFound` for a reply saying a pure verb changed its inputs."""
    mutated = reply.get("mutated")
    display = reply["method"][:100] if isinstance(reply.get("method"), str) else "a verb"
    names = [str(m)[:60] for m in mutated][:4] if isinstance(mutated, list) else []
    what = " and ".join(f"`{n}`" if n == "self" else f"its argument `{n}`" for n in names)
    raise MutationFound(f"{display} changed {what}: verbs must leave their receiver and "
                        "arguments as they were and return a new value (build a new object; "
                        "copy a dict or set before changing it)")


class RemoteObject:
    """A learner's object living in the worker; every use is a request (see module docs)."""

    _remote_ref: int
    _remote_session: Session

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        session = self._remote_session
        key = (type(self), name)
        if session.methods.get(key):
            return _Method(self, name)
        if (session.optimistic or session.streaming) and key in session.methods:
            # a known attribute: read it later
            return session.pipelined({"op": "get", "on": {"$r": self._remote_ref}, "name": name},
                                     session.stand_in("builtins", "object"))
        try:
            reply = session.ask({"op": "get", "on": {"$r": self._remote_ref}, "name": name})
        except LearnerError as error:
            if error.is_a("AttributeError"):
                raise AttributeError(str(error)) from None
            raise
        if reply.get("method"):
            session.methods[key] = True
            return _Method(self, name)
        session.methods[key] = False
        return session.decode(reply.get("ok"))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _call(self._remote_session, {"$r": self._remote_ref}, None, args, kwargs)

    def __eq__(self, other: object) -> bool:
        session = self._remote_session
        if session.optimistic and isinstance(other, RemoteObject):
            # the commonest comparison, written out (what encoding it would give)
            session.note(f'{{"op":"eq","a":{{"$r":{int(self._remote_ref)}}},'
                         f'"b":{{"$r":{int(other._remote_ref)}}}')
            return True
        try:
            b = session.encode(other)
        except protocol.ProtocolError:
            return False
        if session.optimistic:
            session.note({"op": "eq", "a": {"$r": self._remote_ref}, "b": b})
            return True
        return bool(session.value({"op": "eq", "a": {"$r": self._remote_ref}, "b": b}))

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        value = self._remote_session.value({"op": "hash", "on": {"$r": self._remote_ref}})
        if type(value) is not int:
            raise self._remote_session._fail("protocol", "a hash that is not an integer")
        return value

    def __repr__(self) -> str:
        from replicalab.exercises.sandbox import clean_text

        value = self._remote_session.value({"op": "repr", "on": {"$r": self._remote_ref}})
        return clean_text(value[:2000]) if isinstance(value, str) else "<unrepresentable>"

    def __bool__(self) -> bool:
        return bool(self._remote_session.value({"op": "bool", "on": {"$r": self._remote_ref}}))

    def __iter__(self) -> Iterator[Any]:
        items = self._remote_session.value({"op": "iter", "on": {"$r": self._remote_ref}})
        if not isinstance(items, list):
            raise self._remote_session._fail("protocol", "iteration that is not a list")
        return iter(items)

    def __len__(self) -> int:
        n = _call(self._remote_session, {"$r": self._remote_ref}, "__len__", (), {})
        if type(n) is not int or n < 0:
            raise TypeError(f"__len__ returned {n!r:.40}, not an int >= 0")
        return n

    def __contains__(self, item: object) -> bool:
        return bool(_call(self._remote_session, {"$r": self._remote_ref}, "__contains__", (item,), {}))

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self._remote_session.value({"op": "copy", "on": {"$r": self._remote_ref}})

    def _remote_plain(self) -> Any:
        return self._remote_session.value({"op": "plain", "on": {"$r": self._remote_ref}})


class _Method:
    """``obj.name`` for a method of a learner's object: calling it is one request."""

    __slots__ = ("obj", "name")

    def __init__(self, obj: RemoteObject, name: str) -> None:
        self.obj = obj
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _call(self.obj._remote_session, {"$r": self.obj._remote_ref}, self.name, args, kwargs,
                     cls=type(self.obj))

    def __repr__(self) -> str:
        return f"<method {self.name} of {self.obj!r}>"


class RemoteModule:
    """The learner's module as the grader sees it: ``module.NAME`` asks the worker for ``NAME``."""

    def __init__(self, session: Session, name: str, file: str) -> None:
        self._session = session
        self.__name__ = name
        self.__file__ = file
        self._names: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._names:
            try:
                reply = self._session.ask({"op": "get", "on": None, "name": name})
            except LearnerError as error:
                if error.is_a("AttributeError"):
                    raise AttributeError(name) from None
                raise
            self._names[name] = self._session.decode(reply.get("ok"))
        return self._names[name]


def is_remote(value: Any) -> bool:
    """Is ``value`` a learner's object or class (a stand-in)?"""
    return isinstance(value, (RemoteObject, _RemoteClass))


def session_of(value: Any) -> Session:
    """The session a stand-in belongs to."""
    return value._remote_session


def describe(value: Any, bases: tuple[str, ...] = ()) -> dict[str, Any]:
    """The worker's facts about a stand-in ``value`` (``is_class``, ``bases``, ``defines_eq``...)."""
    return value._remote_session.describe(value, bases)
