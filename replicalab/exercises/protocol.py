"""The judge protocol: framed JSON messages between the grader and the learner's process.

The grader (trusted) and the process running the learner's module
(untrusted, :mod:`replicalab.exercises._worker`) talk over two dedicated
pipes, never over the learner's stdout. A message is a 4-byte big-endian
length and that many bytes of UTF-8 JSON; a message longer than
:data:`MAX_MESSAGE` bytes, or one that is not a JSON object of the expected
shape, is a :class:`ProtocolError` — reading never trusts a length before
checking it, and never waits without a deadline.

Every request the grader waits on carries a number (``"id"``) and its answer
names it (``"re"``); an answer naming any other request is refused. Requests
answered later — pipelined calls (``"as"``) and comparisons (``"note"``) —
travel together as one ``{"op": "batch", "of": [...]}`` message, and while the
grader sends, it expects nothing from the worker: a message then is one nobody
asked for (see :meth:`replicalab.exercises.remote.Session.ask`).

Values cross as tagged JSON, so nothing is ever unpickled or evaluated::

    None, bool, int, str, list       as themselves
    float                            as itself; NaN and infinities as {"$f": "nan"}
    tuple, set, frozenset, dict      {"$t": [...]}, {"$s": [...]}, {"$fs": [...]}, {"$d": [[k, v], ...]}
    bytes                            {"$b": "hex"}
    an allow-listed replicalab value {"$a": "replicalab.items.Cell", "f": {field: value}}
    an allow-listed replicalab enum  {"$e": "replicalab.clocks.Causality", "n": "BEFORE"}
    an object of the learner's       {"$r": 7, "m": module, "q": qualname}   (stays in the worker)
    an object of the grader's        {"$c": 3}   (the worker may call its allowed methods)

Only the exact allow-listed classes are sent as values (a learner's subclass
travels as a reference); decoding one builds it with its own constructor, so
its validators run on the grader's side.
"""

from __future__ import annotations

import enum
import importlib
import json
import math
import os
import select
import struct
import time
from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["MAX_DEPTH", "MAX_MESSAGE", "ProtocolError", "decode", "deadline", "encode", "now",
           "read_message", "write_message"]

#: The longest message either side accepts, in bytes.
MAX_MESSAGE = 4 * 1024 * 1024
#: The deepest nesting of a value.
MAX_DEPTH = 64
#: replicalab values that cross the boundary as data (exact classes only).
VALUE_CLASSES = frozenset({
    "replicalab.items.Item", "replicalab.items.Version", "replicalab.items.Cell",
    "replicalab.items.Stamp", "replicalab.policies.Outcome", "replicalab.policies.Loss",
    "replicalab.exercises.kinds.replica.Rumour", "replicalab.clocks.VectorClock",
})
ENUM_CLASSES = frozenset({"replicalab.clocks.Causality"})
HEADER = struct.Struct(">I")
#: One encoder for every message (``json.dumps`` with options builds a new one per call).
ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_SORT_KEY = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
_IDENTIFIER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.<>")


def now() -> float:
    """Monotonic seconds: the one real clock in replicalab, for the grader's deadlines only.

    Simulations never read it (they use simulated time); the grader needs it because the
    learner's process runs in real time and must not be waited on forever. Nothing read from
    it ever reaches a report.
    """
    return time.monotonic()


def deadline(seconds: float) -> float:
    """The :func:`now` value ``seconds`` from now."""
    return time.monotonic() + seconds


class ProtocolError(Exception):
    """A message broke the protocol: too long, not JSON, the wrong shape, or none before the deadline."""


def frame(message: dict[str, Any]) -> bytes:
    """``message`` (a JSON object) as the bytes of one message; refuse one over :data:`MAX_MESSAGE`."""
    data = ENCODER.encode(message).encode()
    if len(data) > MAX_MESSAGE:
        raise ProtocolError(f"a message of {len(data):,} bytes, over the {MAX_MESSAGE:,}-byte limit")
    return HEADER.pack(len(data)) + data


def write_message(fd: int, message: dict[str, Any], deadline: float | None = None) -> None:
    """Send ``message`` (a JSON object) on file descriptor ``fd``; refuse one over :data:`MAX_MESSAGE`.

    With a ``deadline`` (monotonic) ``fd`` must be non-blocking; a pipe that stays full until
    then raises :class:`TimeoutError`.
    """
    write_frames(fd, frame(message), deadline)


def write_frames(fd: int, data: bytes, deadline: float | None = None) -> None:
    """Send the bytes of one or more messages (see :func:`frame`), as :func:`write_message` does."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and (left <= 0 or not select.select([], [fd], [], left)[1]):
                raise TimeoutError from None


#: Bytes read from a descriptor beyond the message asked for (the start of the next ones).
_BUFFERS: dict[int, bytearray] = {}


def forget(fd: int) -> None:
    """Drop what was read ahead on ``fd`` (call it when the descriptor is closed)."""
    _BUFFERS.pop(fd, None)


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes:
    buffer = _BUFFERS.setdefault(fd, bytearray())
    while len(buffer) < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, max(n - len(buffer), 1 << 16))
        if not chunk:
            raise EOFError
        buffer += chunk
    data = bytes(buffer[:n])
    del buffer[:n]
    return data


def read_message(fd: int, deadline: float | None = None) -> dict[str, Any]:
    """The next message on ``fd``; :class:`TimeoutError` at ``deadline`` (monotonic), :class:`EOFError`
    when the other side closed, :class:`ProtocolError` for anything that is not a message."""
    (length,) = HEADER.unpack(_read_exactly(fd, HEADER.size, deadline))
    if length > MAX_MESSAGE:
        raise ProtocolError(f"announced a message of {length:,} bytes, over the "
                            f"{MAX_MESSAGE:,}-byte limit (or wrote something that is not a message)")
    data = _read_exactly(fd, length, deadline)
    try:
        message = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise ProtocolError(f"a message that is not JSON ({type(error).__name__})") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"a message that is not a JSON object but {type(message).__name__}")
    return message


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 200 or not set(value) <= _IDENTIFIER_CHARS:
        raise ProtocolError(f"{what} must be a dotted name, got {str(value)[:60]!r}")
    return value


def _class(name: str) -> Any:
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def encode(value: Any, reference: Callable[[Any], dict[str, Any]], depth: int = 0) -> Any:
    """``value`` as tagged JSON; ``reference(obj)`` tags anything that is not data."""
    if depth > MAX_DEPTH:
        raise ProtocolError(f"a value nested deeper than {MAX_DEPTH}")
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else {"$f": repr(value)}
    if kind is list:
        return [encode(v, reference, depth + 1) for v in value]
    if kind is tuple:
        return {"$t": [encode(v, reference, depth + 1) for v in value]}
    if kind in (set, frozenset):
        # In a canonical order, not the sender's iteration order (which follows its hash
        # seed): a learner's code that depends on set order must see the same order in
        # every grading run, whatever process built the set.
        items = [encode(v, reference, depth + 1) for v in value]
        items.sort(key=_SORT_KEY.encode)
        return {"$s" if kind is set else "$fs": items}
    if kind is dict:
        return {"$d": [[encode(k, reference, depth + 1), encode(v, reference, depth + 1)]
                       for k, v in value.items()]}
    if kind is bytes:
        return {"$b": value.hex()}
    qualified = f"{kind.__module__}.{kind.__qualname__}"
    if qualified in VALUE_CLASSES:
        return {"$a": qualified, "f": {f.alias: encode(getattr(value, f.name), reference, depth + 1)
                                       for f in attrs.fields(kind) if f.init}}
    if qualified in ENUM_CLASSES and isinstance(value, enum.Enum):
        return {"$e": qualified, "n": value.name}
    return reference(value)


def decode(value: Any, resolve: Callable[[dict[str, Any]], Any], depth: int = 0) -> Any:
    """The value tagged JSON ``value`` stands for; ``resolve(tag)`` turns a ``$r``/``$c`` tag into an
    object. Raises :class:`ProtocolError` for a tag it does not know or a malformed one."""
    if depth > MAX_DEPTH:
        raise ProtocolError(f"a value nested deeper than {MAX_DEPTH}")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is list:
        return [decode(v, resolve, depth + 1) for v in value]
    if type(value) is not dict or not 1 <= len(value) <= 4:
        raise ProtocolError(f"a value of unexpected shape: {str(value)[:80]}")
    tag = next(iter(value))
    body = value[tag]
    try:
        if tag in ("$t", "$s", "$fs"):
            items = [decode(v, resolve, depth + 1) for v in _list(body)]
            return tuple(items) if tag == "$t" else set(items) if tag == "$s" else frozenset(items)
        if tag == "$d":
            return {decode(k, resolve, depth + 1): decode(v, resolve, depth + 1)
                    for k, v in (_pair(p) for p in _list(body))}
        if tag == "$b":
            return bytes.fromhex(body)
        if tag == "$f":
            if body not in ("nan", "inf", "-inf"):
                raise ProtocolError(f"a float that is not nan or an infinity: {str(body)[:20]}")
            return float(body)
        if tag == "$a":
            if _name(body, "a value's class") not in VALUE_CLASSES or not isinstance(value.get("f"), dict):
                raise ProtocolError(f"a value of a class that may not cross: {body!r}")
            fields = {_name(k, "a field"): decode(v, resolve, depth + 1) for k, v in value["f"].items()}
            return _class(body)(**fields)
        if tag == "$e":
            if _name(body, "an enum") not in ENUM_CLASSES:
                raise ProtocolError(f"an enum that may not cross: {body!r}")
            return _class(body)[_name(value.get("n"), "an enum member")]
        if tag in ("$r", "$c"):
            if type(body) is not int or body < 0:
                raise ProtocolError(f"a reference that is not a number: {str(body)[:20]}")
            return resolve(value)
    except ProtocolError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as error:
        raise ProtocolError(f"a malformed {tag} value: {type(error).__name__}: {str(error)[:120]}") from None
    raise ProtocolError(f"a value with unknown tag {str(tag)[:20]!r}")


def _list(body: Any) -> list[Any]:
    if type(body) is not list:
        raise ProtocolError("a tagged value whose body is not a list")
    return body


def _pair(item: Any) -> tuple[Any, Any]:
    if type(item) is not list or len(item) != 2:
        raise ProtocolError("a dict entry that is not a [key, value] pair")
    return item[0], item[1]


class HandlerDidIO(BaseException):
    """Learner code printed, opened a file, used a socket, slept... while I/O was refused.

    A BaseException, so that no ``except Exception`` in the learner's code swallows it.
    """


#: Audit events refused while learner code runs with I/O off (both sides of the judge use it).
BLOCKED_EVENTS = frozenset({
    "open", "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.truncate", "os.symlink",
    "os.link", "os.chmod", "os.kill", "time.sleep", "urllib.Request", "webbrowser.open",
    "http.client.connect", "smtplib.connect", "ftplib.connect",
})
#: Audit-event prefixes refused the same way.
BLOCKED_PREFIXES = ("socket.", "shutil.")
#: Files the import system opens while a handler imports a module: not I/O of the handler's.
_MODULE_FILES = (".py", ".pyc", ".pyd", ".so")


def refused_io(event: str, args: tuple[Any, ...]) -> str | None:
    """What a handler did, in words, if audit ``event`` is I/O the judge refuses; else None.

    One decision for both sides of the judge: the sandboxed worker's guard and the
    in-process guard of :mod:`replicalab.exercises.kinds.replica_runtime`.
    """
    if event == "open":
        path = args[0] if args else None
        if isinstance(path, (str, bytes, os.PathLike)) and os.fsdecode(path).endswith(_MODULE_FILES):
            return None  # the import system loading a module the handler imports
        return f"opened {path!r}"
    if event in BLOCKED_EVENTS or event.startswith(BLOCKED_PREFIXES):
        return f"called {event}"
    return None
