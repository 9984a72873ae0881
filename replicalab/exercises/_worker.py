"""The untrusted side of grading: imports the learner's module and answers the grader's requests.

Started by :mod:`replicalab.exercises.sandbox` as
``python -I -c <bootstrap> REQUEST_FD REPLY_FD LIMITS_JSON``; it applies its
resource limits to itself before the learner's module is imported, then
serves requests (:mod:`replicalab.exercises.protocol` framing) until the
grader closes the request pipe. It decides nothing: every answer is data the
grader checks. Requests (``on`` is a ``{"$r": n}`` reference, ``null`` the module)::

    {"op": "import", "path": ..., "name": ...}
    {"op": "get", "on": ..., "name": ...}          -> the attribute (or {"method": true})
    {"op": "call", "on": ..., "method": name|null, "args": [...], "kwargs": {"$d": ...} (or none),
     "pure": bool, "guard": bool}
    {"op": "eq", "a": ..., "b": ...}   {"op": "repr"|"hash"|"plain"|"iter"|"bool"|"copy"|"describe", "on": ...}
    {"op": "plains", "on": [...]}                  -> the plain data of each object, in one answer
    {"op": "output"}                               -> what the learner's code printed since
    {"op": "snippet", "code": ...}                 -> does a counterexample fail as printed?

Each reply is ``{"ok": value}`` or ``{"raised": {"type", "mro", "message", "where"}}``,
with ``"re"`` set to the request's ``"id"``. A request with ``"as": n`` (a pipelined call,
its result kept as object ``n``) or ``"note": true`` (a comparison, answered by
``{"op": "notes"}``) gets no reply; such requests also come together as
``{"op": "batch", "of": [...]}``.
While answering, the worker may ask the grader to run a method of one of the
grader's objects it was handed (``{"callback": n, "name": ..., "args": ...}``).
"""

from __future__ import annotations

import copy
import enum
import faulthandler
import importlib.util
import inspect
import io
import json
import resource
import signal
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from replicalab.exercises import protocol
from replicalab.exercises._handler_context import GraderObject, GraderRefused, RecordingContext

MAX_OUTPUT = 2000
MAX_REPR = 2000
LEARNER_MODULE = "learner_solution"

_LIMITS = {"cpu": resource.RLIMIT_CPU, "address_space": resource.RLIMIT_AS,
           "file_size": resource.RLIMIT_FSIZE, "processes": resource.RLIMIT_NPROC}


def apply_limits(limits: Mapping[str, int]) -> None:
    """Lower this process's resource limits (soft and hard) to ``limits`` before any learner code."""
    for name, value in limits.items():
        kind = _LIMITS[name]
        hard = resource.getrlimit(kind)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))


class _Capped(io.TextIOBase):
    """Stands in for sys.stdout/stderr: keeps the first MAX_OUTPUT characters printed."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.cut = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self.size < MAX_OUTPUT:
            self.parts.append(text[: MAX_OUTPUT - self.size])
            self.size += len(self.parts[-1])
        if self.size >= MAX_OUTPUT and len(text):
            self.cut = self.cut or self.size + len(text) > MAX_OUTPUT
        return len(text)

    def take(self) -> str:
        text = "".join(self.parts) + ("\n[... more output cut]" if self.cut else "")
        self.parts, self.size, self.cut = [], 0, False
        return text


# Shared with the other side of the judge (one decision on refused I/O: protocol.refused_io).
HandlerDidIO = protocol.HandlerDidIO


class _Worker:
    def __init__(self, requests: int, replies: int) -> None:
        self.requests = requests
        self.replies = replies
        self.objects: dict[int, Any] = {}
        self.ids: dict[int, int] = {}  # id(obj) -> reference number
        self.module: ModuleType | None = None
        self.path = Path()
        self.printed = _Capped()
        self.guarded = False
        self.attempts: list[str] = []
        self.failed: dict[int, dict[str, Any]] = {}  # pipelined calls that failed, by number
        self.timers = 0  # timer tokens handed to handlers
        self.notes: list[bool] = []  # answers to comparisons the grader will ask for at once
        self.reported: set[int] = set()
        #: op name -> its handler (``op_call`` answers ``{"op": "call"}``), looked up once
        self.handlers = {name[3:]: getattr(self, name) for name in dir(type(self))
                         if name.startswith("op_")}

    # -- values ------------------------------------------------------------------------
    def reference(self, value: Any) -> dict[str, Any]:
        number = self.ids.get(id(value))
        if number is None or self.objects.get(number) is not value:
            number = len(self.objects) + 1
            self.objects[number] = value
            self.ids[id(value)] = number
        kind = value if isinstance(value, type) else type(value)
        tag = {"$r": number, "m": str(getattr(kind, "__module__", "?"))[:200],
               "q": str(getattr(kind, "__qualname__", "?"))[:200]}
        if isinstance(value, type):
            tag["cls"] = 1
        return tag

    def resolve(self, tag: dict[str, Any]) -> Any:
        if "$r" in tag:
            if tag["$r"] in self.failed:
                self.reported.add(tag["$r"])
                raise _Poisoned(self.failed[tag["$r"]])
            if tag["$r"] not in self.objects:
                raise protocol.ProtocolError(f"no object {tag['$r']}")
            return self.objects[tag["$r"]]
        return GraderObject(self, tag["$c"], tag.get("v"))

    def encode(self, value: Any) -> Any:
        return protocol.encode(value, self.reference)

    def decode(self, value: Any) -> Any:
        kind = type(value)
        if kind is dict and len(value) == 1:  # the common case, a reference: {"$r": n}
            number = value.get("$r")
            if type(number) is int and number >= 0:
                return self.resolve(value)
        elif kind is list:  # arguments that are all references, the commonest list
            resolved = []
            for v in value:
                if type(v) is not dict or len(v) != 1:
                    break
                number = v.get("$r")
                if type(number) is not int or number < 0:
                    break
                resolved.append(self.resolve(v))
            else:
                return resolved
        return protocol.decode(value, self.resolve)

    def target(self, request: dict[str, Any]) -> Any:
        on = request.get("on")
        return self.module if on is None else self.decode(on)

    # -- errors --------------------------------------------------------------------------
    def raised(self, error: BaseException) -> dict[str, Any]:
        frames = [f for f in traceback.extract_tb(error.__traceback__)
                  if f.filename == str(self.path)]
        where = ""
        if frames:
            frame = frames[-1]
            where = f"{self.path.name}:{frame.lineno}, in {frame.name}" + (
                f": {frame.line.strip()}" if frame.line else "")
        try:
            message = str(error)[:MAX_REPR]
        except Exception:  # a learner's exception whose __str__ fails
            message = "(its message could not be shown)"
        return {"raised": {"type": type(error).__name__[:100],
                           "mro": [c.__name__[:100] for c in type(error).__mro__][:20],
                           "message": message, "where": where,
                           "attempt": self.attempts[0] if isinstance(error, HandlerDidIO) and
                           self.attempts else ""}}

    # -- the I/O guard for handlers ------------------------------------------------------
    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.guarded:
            return
        what = protocol.refused_io(event, args)
        if what is None:
            return
        self.attempts.append(what)
        raise HandlerDidIO(what)

    # -- requests --------------------------------------------------------------------------
    def serve(self) -> None:
        while True:
            try:
                request = protocol.read_message(self.requests)
            except EOFError:
                return
            self.handle(request)

    def handle(self, request: dict[str, Any]) -> None:
        """Answer ``request`` — or, for a batch, each request in it, none of which is answered."""
        if request.get("op") == "batch":
            batch = request.get("of")
            if type(batch) is not list:
                raise protocol.ProtocolError("a batch that is not a list")
            for one in batch:
                if type(one) is not dict or one.get("op") == "batch" or not (
                        one.get("note") or "as" in one):
                    raise protocol.ProtocolError("a batch may hold only requests answered later")
                self.reply_to(one)
            return
        self.reply_to(request)

    def reply_to(self, request: dict[str, Any]) -> None:
        """Answer one request that is not a batch (keep the answer, if it is answered later)."""
        try:
            reply = self.answer(request)
        except (KeyboardInterrupt, protocol.ProtocolError):
            raise
        except _Poisoned as poisoned:  # used the result of a pipelined call that failed
            reply = dict(poisoned.reply)
        except BaseException as error:  # the learner's code raised (SystemExit too)
            reply = self.raised(error)
        if request.get("note"):  # a comparison answered later, with the others
            self.notes.append(reply.get("ok") is True and "mutated" not in reply)
            return
        number = request.get("as")
        if number is None:
            if "id" in request:  # the grader matches each answer to its request
                reply["re"] = request["id"]
            self.send(reply)
        elif "raised" in reply or "mutated" in reply or "io" in reply:
            self.failed[number] = reply

    def send(self, reply: dict[str, Any]) -> None:
        try:
            protocol.write_message(self.replies, reply)
        except protocol.ProtocolError as error:
            protocol.write_message(self.replies, self.raised(ValueError(str(error))))

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        handler = self.handlers.get(op) if type(op) is str else None
        if handler is None:
            raise protocol.ProtocolError(f"unknown request {str(op)[:40]!r}")
        return handler(request)

    def op_import(self, request: dict[str, Any]) -> dict[str, Any]:
        self.path = Path(request["path"])
        name = request["name"]
        sys.path.append(str(self.path.parent))  # after the standard library: a json.py shadows nothing
        spec = importlib.util.spec_from_file_location(name, self.path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {self.path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except SyntaxError as error:
            line = (error.text or "").rstrip()
            return {"syntax": {"message": str(error.msg), "line": error.lineno or 0,
                               "text": line[:200], "offset": error.offset or 0}}
        self.module = module
        return {"ok": None}

    def op_get(self, request: dict[str, Any]) -> dict[str, Any]:
        value = getattr(self.target(request), str(request["name"]))
        if "as" in request:  # pipelined: keep it under the grader's number
            self.objects[request["as"]] = value
            return {}
        if inspect.ismethod(value) or inspect.isbuiltin(value) and getattr(value, "__self__", None) is not None:
            return {"ok": None, "method": True}
        return {"ok": self.encode(value)}

    def op_gets(self, request: dict[str, Any]) -> dict[str, Any]:
        """Attribute ``name`` of each of the objects ``on`` (a list), in one answer."""
        objects = self.decode(request["on"])
        if type(objects) is not list:
            raise protocol.ProtocolError("gets needs a list of objects")
        return {"ok": self.encode([getattr(o, str(request["name"])) for o in objects])}

    def op_plains(self, request: dict[str, Any]) -> dict[str, Any]:
        """The plain data (as ``plain`` makes it) of each of the objects ``on`` (a list), in one
        answer: the values a streamed oracle check read without waiting (pipelined ``get``)."""
        objects = self.decode(request["on"])
        if type(objects) is not list:
            raise protocol.ProtocolError("plains needs a list of objects")
        return {"ok": self.encode([_plain(o) for o in objects])}

    def op_has(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": hasattr(self.target(request), str(request["name"]))}

    def op_call(self, request: dict[str, Any]) -> dict[str, Any]:
        target = self.target(request)
        method = request.get("method")
        function = target if method is None else getattr(target, str(method))
        args = self.decode(request.get("args", []))
        kwargs = {} if "kwargs" not in request else self.decode(request["kwargs"])
        if type(args) is not list or type(kwargs) is not dict:
            raise protocol.ProtocolError("call arguments must be a list and a dict")
        before = None
        if request.get("pure"):
            try:
                before = copy.deepcopy([target, *args, *kwargs.values()])
            except Exception:
                before = None
        self.attempts.clear()
        if request.get("guard"):
            saved = sys.stdout, sys.stderr
            sys.stdout = sys.stderr = _Refuse(self)
            self.guarded = True
            try:
                result = function(*args, **kwargs)
            finally:
                self.guarded = False
                sys.stdout, sys.stderr = saved
        else:
            result = function(*args, **kwargs)
        reply: dict[str, Any] = {}
        if self.attempts:
            reply["io"] = self.attempts[0]
        if before is not None:
            changed = _changed(function, method, before, [target, *args, *kwargs.values()],
                               list(kwargs))
            if changed:
                reply["mutated"] = changed
                reply["method"] = f"{type(target).__name__}.{method}"[:100]
        if "as" in request:  # pipelined: keep the result under the grader's number, answer nothing
            if reply:
                raise _Poisoned({"ok": None, **reply})
            if result is None and method is not None:
                raise TypeError(f"{method} returned None; it must return the new value")
            self.objects[request["as"]] = result
            return reply
        reply["ok"] = self.encode(result)
        return reply

    def op_notes(self, request: dict[str, Any]) -> dict[str, Any]:
        """The answers to the comparisons sent since the last time, in order (then forgotten)."""
        notes, self.notes = self.notes, []
        return {"ok": notes}

    def op_failures(self, request: dict[str, Any]) -> dict[str, Any]:
        """The first failure of a pipelined call that no later request has reported yet."""
        for number, failure in self.failed.items():
            if number not in self.reported:
                self.reported.add(number)
                return failure
        return {"ok": None}

    def op_handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run a replica's handler with a recording context; answer its effects as data."""
        replica = self.target(request)
        handler = getattr(replica, str(request["handler"]))
        args = self.decode(request.get("args", []))
        ctx = RecordingContext(self, self.decode(request["ctx"]))
        if type(args) is not list:
            raise protocol.ProtocolError("handler arguments must be a list")
        self.attempts.clear()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = _Refuse(self)
        self.guarded = True
        try:
            handler(ctx, *args)
        finally:
            self.guarded = False
            sys.stdout, sys.stderr = saved
        reply: dict[str, Any] = {"ok": self.encode(ctx.effects), "draws": ctx.draws}
        if self.attempts:
            reply["io"] = self.attempts[0]
        return reply

    def op_eq(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": bool(self.decode(request["a"]) == self.decode(request["b"]))}

    def op_repr(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": str(repr(self.target(request)))[:MAX_REPR]}

    def op_hash(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": int(hash(self.target(request)))}

    def op_bool(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": bool(self.target(request))}

    def op_iter(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": self.encode(list(self.target(request)))}

    def op_copy(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": self.encode(copy.deepcopy(self.target(request)))}

    def op_plain(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": self.encode(_plain(self.target(request)))}

    def op_output(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": self.printed.take()}

    def op_describe(self, request: dict[str, Any]) -> dict[str, Any]:
        """Facts the grader asks about a class or function: where its code comes from."""
        value = self.target(request)
        cls = value if isinstance(value, type) else type(value)
        outside = []
        for base in cls.__mro__ if isinstance(value, type) else ():
            if base is object or f"{base.__module__}.{base.__qualname__}" in request.get("bases", []):
                continue
            for name, member in vars(base).items():
                code = getattr(getattr(member, "__func__", member), "__code__", None)
                generated = name.startswith("__") and code is not None and code.co_filename.startswith("<")
                if code is not None and code.co_filename != str(self.path) and not generated:
                    outside.append(f"{base.__module__}.{base.__qualname__}.{name}")
        if not isinstance(value, type):
            code = getattr(value, "__code__", None)
            if code is not None and code.co_filename != str(self.path):
                outside.append(f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', '?')}")
        return {"ok": self.encode({
            "is_class": isinstance(value, type),
            "callable": callable(value),
            "bases": [f"{b.__module__}.{b.__qualname__}" for b in cls.__mro__] if isinstance(value, type) else [],
            "defines_eq": isinstance(value, type) and value.__eq__ is not object.__eq__,
            "defines_le": isinstance(value, type) and value.__le__ is not object.__le__,  # type: ignore[operator]  # comparing the methods, not calling them
            "outside": sorted(outside)[:20],
        })}

    def op_snippet(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run a counterexample exactly as printed; ``ok`` is True when it fails (raises)."""
        try:
            exec(compile(str(request["code"]), "<counterexample>", "exec"), {"__name__": "__check__"})
        except Exception:
            return {"ok": True}
        return {"ok": False}

    def ask(self, message: dict[str, Any], value: bool = False) -> Any:
        """Ask the grader to run a method of one of its objects (a callback); its answer."""
        protocol.write_message(self.replies, message)
        while True:
            reply = protocol.read_message(self.requests)
            if "op" not in reply:
                break
            self.handle(reply)  # the grader asks something while running the callback (a repr)
        if "raised" in reply:
            raised = reply["raised"] if isinstance(reply["raised"], dict) else {}
            raise GraderRefused(f"{raised.get('type', 'Error')}: {raised.get('message', '')}")
        return self.decode(reply.get("ok")) if value else reply


class _Poisoned(Exception):
    """A request used the result of a pipelined call that failed: answer with that failure."""

    def __init__(self, reply: dict[str, Any]) -> None:
        super().__init__("poisoned")
        self.reply = reply


class _Refuse(io.TextIOBase):
    """stdout/stderr while a guarded handler runs: writing is I/O."""

    def __init__(self, worker: _Worker) -> None:
        self.worker = worker

    def write(self, text: str) -> int:
        what = f"printed {text.strip()[:60]!r}" if text.strip() else "printed"
        self.worker.attempts.append(what)
        raise HandlerDidIO(what)


def _changed(function: Any, method: Any, before: list[Any], after: list[Any],
             keywords: list[str]) -> list[str]:
    """Names of the receiver and arguments a call changed (compared with ==)."""
    changed_at = []
    for index, (was, now) in enumerate(zip(before, after, strict=False)):
        try:
            if not was == now:
                changed_at.append(index)
        except Exception:
            continue
    if not changed_at:
        return []
    names = ["self" if method is not None else "the object"]
    try:
        parameters = [p.name for p in inspect.signature(function).parameters.values()]
    except (TypeError, ValueError):
        parameters = []
    positional = len(after) - 1 - len(keywords)
    names += [parameters[i] if i < len(parameters) else f"argument {i + 1}" for i in range(positional)]
    names += keywords
    changed = [names[i] for i in changed_at if i < len(names)]
    if method is None and changed[:1] == ["the object"]:
        changed = changed[1:]
    return changed


def _plain(value: Any) -> Any:
    """Comparable plain data (the grader's ``plain``), computed where the object lives."""
    if isinstance(value, enum.Enum):
        return value.name.lower()
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=lambda v: (type(v).__name__, repr(v)))
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else _plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value  # an object of the learner's: the grader compares it with its own __eq__


def main(argv: list[str]) -> int:
    requests, replies = int(argv[0]), int(argv[1])
    settings = json.loads(argv[2])
    faulthandler.register(signal.SIGUSR1, file=sys.__stderr__ or sys.stderr, all_threads=False)
    apply_limits(settings.get("limits", {}))
    worker = _Worker(requests, replies)
    sys.stdout = sys.stderr = worker.printed  # the learner's prints are kept per check
    sys.stdin = io.StringIO()
    sys.addaudithook(worker.audit)
    try:
        worker.serve()
    except protocol.ProtocolError as error:  # the grader sees the pipe close; say why on stderr
        print(f"replicalab worker: {error}", file=sys.__stderr__, flush=True)
        return 2
    return 0
