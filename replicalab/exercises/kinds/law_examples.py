"""The examples a law check ran, remembered: in this grader process, and on disk once per install.

With a fixed seed and no database, Hypothesis generates the same examples for every
class that passes them, so the streamed first pass of a law check
(:func:`replicalab.exercises.kinds.laws.streamed`) replays remembered examples instead
of generating them again — generation is most of a law check's time on the grader's
side. Memory serves a class graded or a long-running grader; the disk serves the first
check in a fresh grader process.

The disk copy is trusted only as far as no learner's code can write it:

* it is read and written only while the grader's workers run with every file system
  read-only but their private directory (:attr:`ForkServer.read_only
  <replicalab.exercises.sandbox.ForkServer>`), so no submission can plant or change one;
  elsewhere the disk is not used at all and examples are generated every time;
* each file carries a SHA-256 digest over its key, the examples and what generated
  them — replicalab's version, Hypothesis's version, Python's version and the source of
  the modules that draw the examples — so a file left by another version or by edited
  generating code, a truncated or hand-edited one, is ignored (and replaced);
* a file is written whole under a temporary name and renamed into place, so a
  concurrent grader (a class graded in parallel) never reads half of one;
* examples are JSON in the allow-listed shape below (no pickle), and a list is stored
  only if it decodes back to exactly the examples that ran.

What is stored does not depend on the submission graded when it was drawn: in the
streamed pass every comparison answers True without waiting and every read is a stand-in,
so the law check's control flow, and with it what Hypothesis draws, is that of a class
that passes; an example that raised stops the pass and nothing is stored.

Nothing here decides a verdict: replayed examples pass or fail as generated ones do, and
a pass that is not clean runs the ordinary Hypothesis check (see ``laws``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["MEMORY", "directory", "recall", "remember"]

#: Examples by check key, in this process (see :func:`remember`).
MEMORY: dict[str, list[Any]] = {}
#: Keys kept in memory before it is emptied (a grader of many exercises stays small).
MEMORY_KEYS = 64
#: The largest examples file read, in bytes.
MAX_FILE = 8 * 1024 * 1024
FORMAT = "replicalab/law-examples"
SCHEMA_VERSION = 1
#: Modules whose code decides which examples a law check draws.
_GENERATORS = ("testing/laws.py", "testing/schedules.py", "testing/strategies.py",
               "exercises/kinds/laws.py", "exercises/kinds/law_examples.py")


def directory() -> Path:
    """Where examples are kept on disk: ``$XDG_CACHE_HOME/replicalab/law-examples``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "replicalab" / "law-examples"


def recall(key: str, disk: bool) -> list[Any] | None:
    """The examples remembered for ``key``; from disk too if ``disk`` (see the module docs)."""
    if key in MEMORY:
        return MEMORY[key]
    if not disk:
        return None
    examples = _load(key)
    if examples is not None:
        _keep(key, examples)
    return examples


def remember(key: str, examples: list[Any], disk: bool) -> None:
    """Keep ``examples`` (``(Schedule, picked)`` pairs) for ``key``; on disk too if ``disk``."""
    _keep(key, examples)
    if disk:
        _store(key, examples)


def _keep(key: str, examples: list[Any]) -> None:
    if len(MEMORY) >= MEMORY_KEYS:
        MEMORY.clear()
    MEMORY[key] = examples


@functools.cache
def _generated_by() -> dict[str, str]:
    """What drew the examples: versions, and a digest of the generating modules' source."""
    import hypothesis

    import replicalab

    root = Path(replicalab.__file__).resolve().parent
    source = hashlib.sha256()
    for name in _GENERATORS:
        source.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return {"replicalab": replicalab.__version__, "hypothesis": hypothesis.__version__,
            "python": platform.python_version(), "source": source.hexdigest()}


def _path(key: str) -> Path:
    return directory() / (hashlib.sha256(key.encode()).hexdigest() + ".json")


def _digest(key: str, examples: Any) -> str:
    body = json.dumps([FORMAT, SCHEMA_VERSION, key, _generated_by(), examples],
                      sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(body.encode()).hexdigest()


def _load(key: str) -> list[Any] | None:
    try:
        with _path(key).open("rb") as file:
            data = file.read(MAX_FILE + 1)
        if len(data) > MAX_FILE:
            return None
        document = json.loads(data)
        if not isinstance(document, dict) or document.get("format") != FORMAT or document.get(
                "schema_version") != SCHEMA_VERSION or document.get("key") != key:
            return None
        examples = document.get("examples")
        if document.get("digest") != _digest(key, examples):
            return None
        decoded = _decode(examples)
        # No examples would make the streamed law pass vacuously: the digest has no secret
        # (it catches stale and damaged files), so refuse the one list that checks nothing.
        return decoded if decoded else None
    except (OSError, ValueError, TypeError, KeyError, IndexError, RecursionError):
        return None  # missing, unreadable, malformed or stale: generate instead


def _store(key: str, examples: list[Any]) -> None:
    try:
        encoded = _encode(examples)
        if _decode(json.loads(json.dumps(encoded, allow_nan=False))) != examples:
            return  # something in it does not survive JSON: do not remember it on disk
        document = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "key": key,
                    "generated_by": _generated_by(), "examples": encoded,
                    "digest": _digest(key, encoded)}
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False)
        if len(text) > MAX_FILE:
            return
        folder = directory()
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".examples-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, _path(key))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except (OSError, ValueError, TypeError):
        return  # a cache that cannot be written costs time, never a verdict


# -- the JSON shape of examples -----------------------------------------------------------
#
#   example   [schedule, [p0, p1, p2]]
#   schedule  [replicas, [step, ...], [delivery, ...]]
#   step      ["d", src, dst, age]   or   ["a", replica, method, [arg, ...], [[name, arg], ...], at]
#   arg       a JSON scalar (the exercise's TOML choices)

_SCALARS = (str, int, float, bool, type(None))


def _scalar(value: Any) -> Any:
    if not isinstance(value, _SCALARS):
        raise TypeError(f"an op argument that is not a scalar: {type(value).__name__}")
    return value


def _encode(examples: list[Any]) -> list[Any]:
    from replicalab.testing import Call
    from replicalab.testing.schedules import Apply, Deliver

    def step(s: Any) -> list[Any]:
        if isinstance(s, Deliver):
            return ["d", s.src, s.dst, s.age]
        if isinstance(s, Apply) and type(s.op) is Call:
            return ["a", s.replica, s.op.method, [_scalar(a) for a in s.op.args],
                    [[k, _scalar(v)] for k, v in s.op.kwargs], _scalar(s.op.at)]
        raise TypeError(f"a step that cannot be stored: {type(s).__name__}")

    return [[[schedule.replicas, [step(s) for s in schedule.steps], [step(d) for d in schedule.heal]],
             list(picked)] for schedule, picked in examples]


def _decode(examples: Any) -> list[Any]:
    from replicalab.testing import Call
    from replicalab.testing.schedules import Apply, Deliver, Schedule

    def integer(value: Any) -> int:
        if type(value) is not int:
            raise TypeError("not an integer")
        return value

    def step(s: Any) -> Apply | Deliver:
        if s[0] == "d" and len(s) == 4:
            return Deliver(integer(s[1]), integer(s[2]), integer(s[3]))
        if s[0] == "a" and len(s) == 6 and isinstance(s[2], str):
            _, replica, method, args, kwargs, at = s
            call = Call(method, *[_scalar(a) for a in args], at=_scalar(at),
                        **{str(k): _scalar(v) for k, v in kwargs})
            return Apply(integer(replica), call)
        raise ValueError("a step of unknown shape")

    def delivery(s: Any) -> Deliver:
        found = step(s)
        if not isinstance(found, Deliver):
            raise ValueError("a heal step that is not a delivery")
        return found

    if not isinstance(examples, list):
        raise TypeError("examples must be a list")
    out = []
    for (replicas, steps, heal), picked in examples:
        if len(picked) != 3:
            raise ValueError("a pick of the wrong size")
        schedule = Schedule(integer(replicas), tuple(step(s) for s in steps),
                            tuple(delivery(d) for d in heal))
        out.append((schedule, tuple(integer(p) for p in picked)))
    return out
