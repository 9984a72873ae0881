"""Kind ``golden``: a worked example, as a list of steps over the learner's module.

Each step is a table with exactly one of ``new``, ``call`` or ``get``::

    steps = [
      { new = "LamportClock", args = ["a"], as = "c" },          # c = LamportClock('a')
      { call = "tick", on = "c", as = "c" },                      # c = c.tick()
      { call = "receive", on = "c", args = [5], as = "c" },       # c = c.receive(5)
      { get = "time", on = "c", equals = 7 },                     # c.time == 7
      { call = "compare", args = [{a = 1}, {a = 2}], returns = "before" },   # a module function
      { call = "receive", on = "c", args = [-1], raises = "ValueError", unchanged = true },
    ]

Arguments are TOML values; a string ``"$c"`` means the value bound to ``c``
(``"$$"`` starts a literal ``$``). ``returns``/``equals`` compare as plain
data (sets as sorted lists, tuples as lists, enums by lower-case name,
bytes as hex); a value the learner's code returns there must be data itself — an object
of the learner's (an ``int`` subclass whose ``==`` says True to anything) never equals it. ``raises = true`` expects any exception, a string names the
exception class (or a base class); ``unchanged = true`` then also demands
that ``on`` compares equal to what it was before the call. ``say`` is a
short description shown when the step fails.

On failure the message shows the steps so far as Python. Where the failing step
can be written as a line that fails (an ``assert`` of a plain value, a call that
raises), that program — with the import of the learner's module — is run in the
learner's process first and called runnable only if it fails there.

TOML inline tables must fit on one line; a long step reads better as an
array of tables (``[[checks.steps]]`` after the check's ``[[checks]]``).
TOML has no null: a step cannot pass or expect ``None``.
"""

from __future__ import annotations

import copy
from typing import Any

from replicalab.errors import ConfigError
from replicalab.exercises.kinds.common import (
    CheckContext,
    CheckFailed,
    fails_when_run,
    find,
    is_name,
    plain,
    same_data,
    shown,
    tables,
)

__all__ = ["PARAMS", "REQUIRED", "run"]

_STEP_KEYS = {"new", "call", "get", "on", "args", "kwargs", "as", "returns", "equals", "raises",
              "unchanged", "say"}


def _steps(value: Any, key: str) -> None:
    for where, step in tables(value, key, _STEP_KEYS, "step"):
        verbs = [v for v in ("new", "call", "get") if v in step]
        if len(verbs) != 1:
            raise ConfigError(f"{where} needs exactly one of new, call, get; got {verbs}")
        verb = verbs[0]
        is_name(step[verb], f"{where}.{verb}")
        for name in ("on", "as"):
            if name in step:
                is_name(step[name], f"{where}.{name}")
        if verb == "new" and "as" not in step:
            raise ConfigError(f"{where}: a new step binds its object with as = \"name\"")
        if verb == "get" and ("on" not in step or "equals" not in step):
            raise ConfigError(f"{where}: a get step needs on and equals")
        if not isinstance(step.get("args", []), list):
            raise ConfigError(f"{where}.args must be a list")
        if not isinstance(step.get("kwargs", {}), dict):
            raise ConfigError(f"{where}.kwargs must be a table")
        raises = step.get("raises", False)
        if not isinstance(raises, (bool, str)):
            raise ConfigError(f"{where}.raises must be true or an exception class name")
        if step.get("unchanged") and not (raises and "on" in step):
            raise ConfigError(f"{where}: unchanged = true goes with raises and on")
        if raises and ("returns" in step or "as" in step):
            raise ConfigError(f"{where}: a step that raises cannot also return or bind")


PARAMS = {"steps": _steps}
REQUIRED = {"steps"}


class _Env:
    """The names bound so far, and the steps as Python lines for the failure message."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.values: dict[str, Any] = {}
        self.lines: list[str] = []
        self.imports: list[str] = []  # names the program takes from the learner's module

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("$"):
            if value.startswith("$$"):
                return value[1:]
            name = value[1:]
            if name not in self.values:
                raise CheckFailed(f"internal: step refers to ${name} before binding it")
            return self.values[name]
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    @staticmethod
    def code(value: Any) -> str:
        if isinstance(value, str) and value.startswith("$"):
            return repr(value[1:]) if value.startswith("$$") else value[1:]
        if isinstance(value, list):
            return "[" + ", ".join(_Env.code(v) for v in value) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k!r}: {_Env.code(v)}" for k, v in value.items()) + "}"
        return repr(value)

    def call_code(self, target: str, step: dict[str, Any]) -> str:
        parts = [self.code(a) for a in step.get("args", [])]
        parts += [f"{k}={self.code(v)}" for k, v in step.get("kwargs", {}).items()]
        return f"{target}({', '.join(parts)})"

    def uses(self, name: str) -> None:
        if name not in self.imports:
            self.imports.append(name)

    def fail(self, line: str, problem: str, say: str | None, failing: str | None = None
             ) -> CheckFailed:
        """The failure, with the steps so far; ``failing`` is the failing step written as a
        line that fails (an assert), if it can be — then the program is re-run first."""
        about = f" ({say})" if say else ""
        if failing is not None:
            runnable = [f"from {self.module.__name__} import {', '.join(self.imports)}", "",
                        *self.lines, f"{failing}  # <- {problem}"] if self.imports else []
            if runnable and fails_when_run(getattr(self.module, "_session", None),
                                           "\n".join(runnable)) is True:
                program = "\n".join(f"    {x}" if x else "" for x in runnable)
                return CheckFailed(f"{problem}{about}\n\nRunnable (it fails as printed, "
                                   f"against your module):\n\n{program}")
        program = "\n".join(f"    {x}" for x in [*self.lines, f"{line}  # <- {problem}"])
        return CheckFailed(f"{problem}{about}\n\n{program}")


def _checked(line: str, expected: Any, got: Any) -> str:
    """A step that passed, as faithful Python: an assert where the value is a plain scalar or a
    bound name; otherwise the value the check compared, as a comment (it compares plain data,
    so ``[1, 'a']`` there may be a tuple in your code)."""
    if isinstance(expected, str) and expected.startswith("$") and not expected.startswith("$$"):
        if line.partition(" = ")[1]:  # x = a.merge(b), returns = "$ab"
            return f"{line}\nassert {line.partition(' = ')[0]} == {expected[1:]}"
        return f"assert {line} == {expected[1:]}"
    if got is None or type(got) in (bool, int, float, str):
        if line.partition(" = ")[1]:
            return f"{line}\nassert {line.partition(' = ')[0]} == {got!r}"
        return f"assert {line} == {got!r}"
    return f"{line}  # -> {plain(got)!r}"


def _assertion(expression: str, written: Any, expected: Any) -> str | None:
    """``assert expression == expected`` where that is what the check compared: a bound name,
    or a plain scalar (other values are compared as plain data, which Python's == is not)."""
    if isinstance(written, str) and written.startswith("$") and not written.startswith("$$"):
        return f"assert {expression} == {written[1:]}"
    if expected is None or type(expected) in (bool, int, str):
        return f"assert {expression} == {expected!r}"
    return None


def _raised_ok(error: BaseException, expected: bool | str) -> bool:
    if expected is True:
        return True
    names = getattr(error, "mro", None) or [cls.__name__ for cls in type(error).__mro__]
    return expected in names


def run(ctx: CheckContext) -> None:
    env = _Env(ctx.module)
    say = None
    for step in ctx.params["steps"]:
        say = step.get("say", say if "get" in step else None)  # a get checks the step before
        args = env.resolve(step.get("args", []))
        kwargs = env.resolve(step.get("kwargs", {}))
        if "new" in step:
            cls = find(ctx.module, step["new"], "class")
            env.uses(step["new"])
            line = f"{step['as']} = {env.call_code(step['new'], step)}"
            env.values[step["as"]] = cls(*args, **kwargs)
            env.lines.append(line)
            continue
        if "get" in step:
            target = env.values[step["on"]]
            line = f"{step['on']}.{step['get']}"
            if not hasattr(target, step["get"]):
                raise env.fail(line, f"{type(target).__name__} has no attribute {step['get']!r}", say)
            got = getattr(target, step["get"])
            expected = env.resolve(step["equals"])
            if not same_data(plain(got), plain(expected)):
                raise env.fail(line, f"expected {plain(expected)!r}, got {shown(plain(got))}", say,
                               _assertion(line, step["equals"], expected))
            env.lines.append(_checked(line, step["equals"], got))
            continue
        name = step["call"]
        on = step.get("on")
        if on is None:
            function = find(ctx.module, name, "function")
            env.uses(name)
            expression = env.call_code(name, step)
        else:
            target = env.values[on]
            if not hasattr(target, name):
                raise env.fail(f"{on}.{name}(...)", f"{type(target).__name__} has no method {name!r}",
                               say)
            function = getattr(target, name)
            expression = env.call_code(f"{on}.{name}", step)
        raises = step.get("raises", False)
        if raises:
            before = copy.deepcopy(env.values[on]) if step.get("unchanged") else None
            try:
                got = function(*args, **kwargs)
            except Exception as error:  # the learner's refusal is what this step wants
                if not _raised_ok(error, raises):
                    raise env.fail(expression, f"expected {raises} but it raised "
                                   f"{type(error).__name__}: {error}", say, expression) from None
            else:
                what = "an error" if raises is True else raises
                raise env.fail(expression, f"expected {what} (bad input must be refused), but it "
                               f"returned {got!r}", say)
            if before is not None and not env.values[on] == before:
                raise env.fail(expression, f"the call was refused but changed {on}: it is now "
                               f"{env.values[on]!r}, was {before!r}", say)
            env.lines.append(f"{expression}  # raises {raises if raises is not True else ''}".rstrip())
            continue
        got = function(*args, **kwargs)
        line = f"{step['as']} = {expression}" if "as" in step else expression
        if "returns" in step:
            expected = env.resolve(step["returns"])
            if not same_data(plain(got), plain(expected)):
                raise env.fail(line, f"expected {plain(expected)!r}, got {shown(plain(got))}", say,
                               _assertion(expression, step["returns"], expected))
        if "as" in step:
            env.values[step["as"]] = got
        env.lines.append(_checked(line, step["returns"], got) if "returns" in step else line)
