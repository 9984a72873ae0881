"""Kind ``laws``: :func:`~replicalab.testing.check_crdt` on a class of the learner's module.

Ops are method calls described as data; each argument is a list of choices
(one is drawn), a constant, or ``{format = "v{1}{2}"}`` — a string built from
the other arguments drawn (so an LWW marker ``(timestamp, replica)`` always
names one value). ``at`` says which argument (index, or keyword name) is the
replica the call must run on::

    class = "GCounter"
    examples = 300
    ops = [
      { call = "increment", args = [["a", "b", "c"], [1, 2]], at = 0 },
    ]

Laws: merge commutative, associative, idempotent, inflationary, and
convergence of 2..5 replicas under any delivery order with duplicates. A
failure shows the shrunk counterexample as runnable Python.

For speed, a check of a learner's class first streams every example to the
learner's process without waiting for any answer (:func:`streamed`); only if
that pass is not clean does the check run again, the ordinary way and in a
fresh process, to find, shrink and report the failure.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from replicalab.errors import ConfigError
from replicalab.exercises.kinds import law_examples
from replicalab.exercises.kinds.common import (
    CheckContext,
    CheckFailed,
    RunAgain,
    find,
    is_int,
    is_name,
    tables,
)
from replicalab.exercises.kinds.law_values import check_values

if TYPE_CHECKING:  # hypothesis is needed to *run* law checks, not to list exercises
    from hypothesis import strategies as st

    from replicalab.testing import Call

__all__ = ["PARAMS", "REQUIRED", "op_strategy", "run"]

_FIELD = re.compile(r"\{(\d+)\}")
_OP_KEYS = {"call", "args", "kwargs", "at"}


def _choice(value: Any, where: str) -> None:
    if isinstance(value, dict):
        if set(value) != {"format"} or not isinstance(value["format"], str):
            raise ConfigError(f"{where} must be choices, a constant or {{format = \"...\"}}")
    elif isinstance(value, list) and not value:
        raise ConfigError(f"{where}: an empty list of choices")


def _ops(value: Any, key: str) -> None:
    for where, op in tables(value, key, _OP_KEYS, "op"):
        if "call" not in op:
            raise ConfigError(f"{where} must be a table with call = \"method\"")
        is_name(op["call"], f"{where}.call")
        args = op.get("args", [])
        kwargs = op.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ConfigError(f"{where}: args is a list, kwargs a table")
        for j, arg in enumerate(args):
            _choice(arg, f"{where}.args[{j}]")
            if isinstance(arg, dict):
                for n in _FIELD.findall(arg["format"]):
                    if int(n) >= len(args) or isinstance(args[int(n)], dict):
                        raise ConfigError(f"{where}.args[{j}] formats argument {n}, which is not "
                                          "a drawn argument")
        for name, choice in kwargs.items():
            is_name(name, f"{where}.kwargs key")
            _choice(choice, f"{where}.kwargs.{name}")
        at = op.get("at")
        if at is not None and not ((isinstance(at, int) and not isinstance(at, bool)
                                    and 0 <= at < len(args)) or at in kwargs):
            raise ConfigError(f"{where}.at must be an argument index or a keyword name, got {at!r}")


def _draw(choice: Any) -> st.SearchStrategy[Any]:
    from hypothesis import strategies as st

    if isinstance(choice, list):
        return st.sampled_from(choice)
    return st.just(choice)


def op_strategy(spec: dict[str, Any]) -> st.SearchStrategy[Call]:
    """The Hypothesis strategy of :class:`~replicalab.testing.Call` ops one op table describes."""
    from hypothesis import strategies as st

    from replicalab.testing import Call

    args = spec.get("args", [])
    kwargs = spec.get("kwargs", {})
    drawn = [st.just(None) if isinstance(a, dict) else _draw(a) for a in args]
    named = {k: _draw(v) for k, v in kwargs.items()}

    def build(values: tuple[tuple[Any, ...], dict[str, Any]]) -> Call:
        positional, keywords = list(values[0]), values[1]
        for i, arg in enumerate(args):
            if isinstance(arg, dict):
                positional[i] = _FIELD.sub(lambda m: str(positional[int(m.group(1))]), arg["format"])
        at = spec.get("at")
        replica = positional[at] if isinstance(at, int) else keywords.get(at) if at else None
        return Call(spec["call"], *positional, at=replica, **keywords)

    return st.tuples(st.tuples(*drawn), st.fixed_dictionaries(named)).map(build)


PARAMS = {
    "class": is_name,
    "ops": _ops,
    "examples": is_int(1, 5000),
    "max_ops": is_int(1, 30),
}
REQUIRED = {"class", "ops"}


def run(ctx: CheckContext) -> None:
    from hypothesis import strategies as st
    from hypothesis.errors import Flaky

    from replicalab.exercises.remote import is_remote, session_of
    from replicalab.testing import LawViolation, check_crdt

    cls = find(ctx.module, ctx.params["class"], "class")
    sample = cls()
    if not callable(getattr(sample, "merge", None)):
        raise CheckFailed(f"{ctx.params['class']}() has no merge method to check")
    if is_remote(cls):
        session = session_of(cls)
        if not session.describe(cls).get("defines_eq"):
            raise CheckFailed(f"{ctx.params['class']} compares by identity, so no law can hold: "
                              "define __eq__ (a frozen attrs class or a dataclass does it for you)")
        # ops and merge are verbs: each must return a new value and leave its inputs alone
        session.pure = frozenset({"merge", *(op["call"] for op in ctx.params["ops"])})
    elif type(sample).__eq__ is object.__eq__:
        raise CheckFailed(f"{ctx.params['class']} compares by identity, so no law can hold: "
                          "define __eq__ (a frozen attrs class or a dataclass does it for you)")
    ops = st.one_of(*[op_strategy(op) for op in ctx.params["ops"]])

    def check(around: Any, **examples: Any) -> None:
        check_crdt(cls, ops=ops, max_examples=ctx.params.get("examples", 200),
                   max_ops=ctx.params.get("max_ops", 8), seed=ctx.seed, around_example=around,
                   **examples)

    if is_remote(cls) and ctx.first_pass:
        if not streamed(session_of(cls), check, _key(ctx)):
            raise RunAgain  # in a fresh worker, the ordinary way
        _equal_states_equal_values(cls, ctx)
        return
    around = optimistic(session_of(cls)) if is_remote(cls) else None
    try:
        check(around)
    except Flaky as flaky:
        found = [e for e in getattr(flaky, "exceptions", ()) if isinstance(e, LawViolation)]
        first = str(found[0]) if found else ""
        if first and is_remote(cls):
            first = rerun_counterexample(session_of(cls), first)
        raise CheckFailed(
            f"{ctx.params['class']} gave different results for the same calls when they were "
            "repeated, so no law can be checked: something besides the arguments decides what "
            "your methods return (a mutable default argument, a global, a counter, randomness?)"
            + (f"\n\nThe first failure seen:\n{first}" if first else "")) from None
    except LawViolation as violation:
        cause = violation.__cause__
        if cause is not None and (isinstance(cause, NotImplementedError) or getattr(
                cause, "type_name", "") == "NotImplementedError"):
            raise cause from None  # reported as "not implemented yet: <method>"
        message = str(violation)
        if is_remote(cls):
            message = rerun_counterexample(session_of(cls), message)
        raise CheckFailed(message) from None
    _equal_states_equal_values(cls, ctx)


def _equal_states_equal_values(cls: Any, ctx: CheckContext) -> None:
    """The laws held by the learner's ``==``; states it calls equal must also read equal values."""
    check_values(cls, ctx.params["ops"], seed=ctx.seed, name=ctx.params["class"])


_RUNNABLE = "Runnable counterexample (shrunk):\n\n"


class _Unclean(BaseException):  # noqa: N818 - not an error: the streamed pass gives up
    """An example of the streamed pass raised: stop it at once (Hypothesis lets it through)."""


#: The examples Hypothesis generated for a law check, by :func:`_key`: the same for every
#: class that passes them (fixed seed, no database), so later submissions skip generating
#: (this process's memory of :mod:`~replicalab.exercises.kinds.law_examples`).
_EXAMPLES = law_examples.MEMORY


def _key(ctx: CheckContext) -> str:
    import json

    return json.dumps([ctx.params, ctx.seed], sort_keys=True, default=repr)


def streamed(session: Any, check: Any, key: str) -> bool:
    """Did every example pass when all of them ran with no round trip to the learner's process?

    ``check(around, record=..., replay=...)`` runs the law check (see
    :func:`~replicalab.testing.check_crdt`). The examples come from Hypothesis the first time
    a check with this ``key`` runs on this install, and are replayed after that, from
    memory or from disk (:mod:`~replicalab.exercises.kinds.law_examples`). Every example runs optimistically (see :func:`optimistic`) and nothing waits for
    the learner's process between examples: the grader works out the next example while
    the worker still runs the calls of the last, so the two processes work at the same time. One request at the end fetches every
    comparison's real answer and any failure of a pipelined call. The examples are the same
    as in the ordinary run (a fixed seed, no database, and Hypothesis generates the same
    examples for a test that passes whatever it does), so True means the ordinary run
    would have passed too.

    False if anything was not clean — a comparison that was False, a failed call, an
    example that raised. The learner's process has then run calls the ordinary check would
    not have run (and a class with hidden state may answer differently after them), so the
    caller raises :class:`RunAgain`: the grader runs the check again in a fresh process, the
    ordinary way, and the failure is found, shrunk and reported exactly as without this pass.
    """
    from replicalab.exercises.remote import WorkerFailed

    def around(run: Any) -> None:
        session.optimistic = True
        try:
            run()
        except (WorkerFailed, KeyboardInterrupt):
            raise
        except BaseException:  # noqa: BLE001 - whatever it was, the ordinary run says it properly
            raise _Unclean from None
        finally:
            session.optimistic = False

    from replicalab.exercises.sandbox import workers_read_only

    disk = workers_read_only()  # then no submission can have written the examples on disk
    replay = law_examples.recall(key, disk)
    try:
        if replay is not None:
            check(around, replay=replay)
        else:
            record: list[Any] = []
            check(around, record=record)
            law_examples.remember(key, record, disk)
        clean = session.verify() and session.quiet()
    except _Unclean:
        clean = False
    return clean


def optimistic(session: Any) -> Any:
    """Run each example first with ``==`` on the learner's states answered later, in one batch.

    Nearly every comparison in a law check of a correct class is True, and each one would
    otherwise be a round trip to the learner's process. So an example first runs with every
    ``==`` assumed True (the comparisons are sent without waiting); then one request
    fetches the real answers. If any was False — or anything went wrong — the example runs
    again the ordinary way, so a failure is found, shrunk and reported exactly as before.
    """
    from replicalab.exercises.remote import WorkerFailed

    def around(run: Any) -> None:
        session.optimistic = True
        try:
            run()
            clean = True
        except WorkerFailed:
            raise
        except BaseException:  # noqa: BLE001 - whatever it was, the strict run says it properly
            clean = False
        finally:
            session.optimistic = False
        clean = session.verify() and clean
        if not clean:
            run()

    return around


def rerun_counterexample(session: Any, message: str) -> str:
    """``message`` with its counterexample called runnable only if it fails when run as printed.

    The code is run in the learner's process (their module is importable there under the
    name the code imports), with a short deadline; a counterexample that passes there is
    still shown, labelled as one that did not fail when re-run.
    """
    import textwrap

    from replicalab.exercises.kinds.common import fails_when_run

    head, found, code = message.partition(_RUNNABLE)
    if not found:
        return message
    fails = fails_when_run(session, textwrap.dedent(code))
    if fails is True:
        return message
    why = ("it did not fail when re-run as printed" if fails is False
           else "it could not be re-run to confirm it")
    return head + f"Counterexample (shrunk; {why} — your states may depend on something the " \
        "printed code does not show, such as a shared mutable default):\n\n" + code
