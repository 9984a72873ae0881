"""The grading worker: imports the learner's module and runs checks, one JSON line per event.

Run by :mod:`replicalab.exercises.runner` as ``python -m replicalab.exercises._worker``
with a JSON request on standard input. It writes events to standard output::

    {"event": "imported"}            or {"event": "import-failed", "message": ...}
    {"event": "start", "check": NAME}
    {"event": "result", "check": NAME, "passed": bool, "message": ...}
    {"event": "done"}

Whatever the learner's code prints goes to a buffer, not into the protocol.
The parent enforces the time limits (it kills a worker that is stuck), so a
check never needs to be interruptible from inside.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

MAX_OUTPUT = 2000
LEARNER_MODULE = "learner_solution"


def describe_error(error: BaseException, path: Path) -> str:
    """A learner's exception as a sentence with their file and line — never a traceback.

    NotImplementedError from a starter body reads as "not implemented yet".
    """
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if Path(f.filename).resolve() == path]
    where = ""
    if frames:
        frame = frames[-1]
        code = f": {frame.line.strip()}" if frame.line else ""
        where = f"\n  at {path.name}:{frame.lineno}, in {frame.name}{code}"
    if isinstance(error, NotImplementedError):
        name = frames[-1].name if frames else "a function"
        return f"not implemented yet: {name} raises NotImplementedError{where}"
    text = str(error)
    if isinstance(error, RecursionError):
        text = "maximum recursion depth exceeded (a method that calls itself without end?)"
    if isinstance(error, TypeError) and not frames:
        text += " — the checks call your code as the starter declares it; keep those signatures"
    return f"your code raised {type(error).__name__}: {text}{where}"


def describe_syntax_error(error: SyntaxError, path: Path) -> str:
    line = (error.text or "").rstrip()
    pointer = ""
    if line and error.offset:
        pointer = "\n      " + " " * (error.offset - 1 - (len(line) - len(line.lstrip()))) + "^"
    code = f"\n      {line.strip()}{pointer}" if line else ""
    return f"{path.name} does not compile: {error.msg} (line {error.lineno}){code}"


def _free_name(path: Path) -> bool:
    """May the learner's module be imported under its file's own name? Never shadow another."""
    if not path.stem.isidentifier() or path.stem in sys.modules:
        return False
    found = importlib.util.find_spec(path.stem)
    return found is None or (found.origin is not None and Path(found.origin).resolve() == path)


def import_learner(path: Path) -> ModuleType:
    """Import the learner's file as a fresh module (its directory first on sys.path).

    It is imported under its own name (``gcounter`` for ``gcounter.py``) when
    that name is free, so counterexamples say ``from gcounter import GCounter``
    and run as printed from the learner's directory.
    """
    name = path.stem if _free_name(path) else LEARNER_MODULE
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class _Protocol:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def emit(self, **event: Any) -> None:
        self.out.write(json.dumps(event, sort_keys=True) + "\n")
        self.out.flush()


def _printed(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    if len(text) > MAX_OUTPUT:
        text = text[:MAX_OUTPUT] + "\n[... more output cut]"
    return text


def main() -> int:
    request = json.loads(sys.stdin.read())
    protocol = _Protocol(sys.stdout)
    buffer = io.StringIO()
    sys.stdout = buffer  # the learner's prints must not corrupt the protocol
    sys.stdin = io.StringIO()  # nor wait for input that never comes

    from replicalab.exercises.kinds import kind_module
    from replicalab.exercises.kinds.common import CheckContext, CheckFailed
    from replicalab.exercises.spec import load_exercise

    if request.get("scratch"):  # Hypothesis's cache goes there, not into the learner's folder
        try:
            from hypothesis.configuration import set_hypothesis_home_dir
        except ImportError:  # law checks will say hypothesis is missing
            pass
        else:
            set_hypothesis_home_dir(request["scratch"])
    exercise = load_exercise(request["exercise"], builtin=request.get("builtin", False))
    path = Path(request["module"]).resolve()
    try:
        module = import_learner(path)
    except SyntaxError as error:
        protocol.emit(event="import-failed", message=describe_syntax_error(error, path))
        return 0
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # SystemExit too: the learner's module must not end the grader
        protocol.emit(event="import-failed",
                      message="importing your module failed: " + describe_error(error, path))
        return 0
    protocol.emit(event="imported", output=_printed(buffer))

    for name in request["checks"]:
        check = exercise.check_named(name)
        protocol.emit(event="start", check=name)
        ctx = CheckContext(module=module, params=check.params, seed=request["seed"], name=name)
        try:
            kind_module(check.kind).run(ctx)
        except CheckFailed as failure:
            protocol.emit(event="result", check=name, passed=False, message=str(failure),
                          output=_printed(buffer))
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # the learner's exception: report it, go on
            protocol.emit(event="result", check=name, passed=False,
                          message=describe_error(error, path), output=_printed(buffer))
        else:
            protocol.emit(event="result", check=name, passed=True, message="",
                          output=_printed(buffer))
    protocol.emit(event="done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
