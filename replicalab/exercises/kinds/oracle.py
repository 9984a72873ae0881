"""Kind ``oracle``: the learner's function or class against replicalab's own, on generated cases.

``oracle`` names an entry of :data:`replicalab.exercises.oracles.ORACLES` (a
fixed table: data picks an entry, never a module); ``target`` is the name in
the learner's module the oracle calls; ``cases`` how many seeded cases to try::

    kind = "oracle"
    oracle = "vector-compare"
    target = "compare"
    cases = 500

Cases come from a named stream of the check's seed (:class:`~replicalab.sim.rng.RandomStreams`), so the same
seed tries the same cases. The first case where the learner's answer differs
from replicalab's is reported as a line of Python with both answers. Answers are
compared as plain data: a learner's object in an answer (an ``int`` subclass whose
``==`` says True to anything) never equals replicalab's.

For speed, an oracle that says it ``streams`` (a chain of calls whose answers are
attributes read after each call) first runs every case with no round trip to the
learner's process (:func:`streamed`); only if that pass is not clean does the check run
again, the ordinary way and in a fresh process, to find and report the failing case.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from replicalab.errors import ConfigError
from replicalab.exercises.kinds.common import (
    CheckContext,
    CheckFailed,
    RunAgain,
    find,
    is_int,
    is_name,
    learner_object_in,
    plain,
    same_data,
    shown,
)
from replicalab.exercises.remote import is_remote
from replicalab.sim.rng import RandomStreams

if TYPE_CHECKING:
    from replicalab.exercises.oracles import Oracle
    from replicalab.exercises.remote import Session

__all__ = ["PARAMS", "REQUIRED", "run"]


def _oracle(value: Any, key: str) -> None:
    from replicalab.exercises.oracles import ORACLES

    if value not in ORACLES:
        raise ConfigError(f"{key!r} must be one of {sorted(ORACLES)}, got {value!r}")


PARAMS = {"oracle": _oracle, "target": is_name, "cases": is_int(1, 100_000)}
REQUIRED = {"oracle", "target"}


def run(ctx: CheckContext) -> None:
    from replicalab.exercises.oracles import oracle
    from replicalab.exercises.remote import session_of

    entry = oracle(ctx.params["oracle"])
    target = find(ctx.module, ctx.params["target"])
    cases = _cases(ctx, entry)
    if entry.streams and is_remote(target) and ctx.first_pass:
        if not streamed(session_of(target), entry, target, cases):
            raise RunAgain  # in a fresh worker, the ordinary way
        return
    for n, case, expected in cases:
        got = plain(entry.actual(target, case))
        if not same_data(got, expected):
            raise CheckFailed(
                f"case {n + 1} differs from replicalab's answer"
                + (f" ({entry.describe})" if entry.describe else "")
                + f":\n\n    {entry.code(ctx.params['target'], case)}\n"
                f"    # yours:        {shown(got)}\n    # replicalab's: {expected!r}")


def _cases(ctx: CheckContext, entry: Oracle) -> Iterator[tuple[int, Any, Any]]:
    """``(n, case, replicalab's answer as plain data)`` for each of the check's cases, in order."""
    rng = RandomStreams(ctx.seed).stream(f"oracle:{ctx.params['oracle']}")
    for n in range(ctx.params.get("cases", 300)):
        case = entry.generate(rng)
        yield n, case, plain(entry.expected(case))


#: Values read without waiting before the streamed pass asks for them (one request each time).
READS_PER_FETCH = 4096


def streamed(session: Session, entry: Oracle, target: Any,
             cases: Iterable[tuple[int, Any, Any]]) -> bool:
    """Did every case give replicalab's answer when all of them ran with no round trip?

    Every call on the learner's class is pipelined and every attribute read after it is
    read later (see :attr:`~replicalab.exercises.remote.Session.streaming`), so the worker
    runs one case while the grader generates the next; one request per
    :data:`READS_PER_FETCH` values fetches them as plain data. The learner's process runs the
    same calls and reads, in the same order, as in the ordinary run (only how the answers
    travel differs), so True means the ordinary run would have passed too.

    False if anything was not clean — an answer that differs or is not plain data, a call
    that raised, anything unexpected. The caller then raises :class:`RunAgain`: the check
    runs again the ordinary way in a fresh process, where the first differing case is found
    and reported exactly as without this pass (the same cases, from the same seed).
    """
    from replicalab.exercises.remote import WorkerFailed

    pending: list[tuple[Any, Any]] = []  # (the learner's answer with stand-ins, replicalab's)
    reads: list[Any] = []
    session.streaming = True
    try:
        for _, case, expected in cases:
            got = entry.actual(target, case)
            _collect(got, reads)
            pending.append((got, expected))
            if len(reads) >= READS_PER_FETCH and not _settled(session, pending, reads):
                return False
        session.streaming = False
        return _settled(session, pending, reads) and session.quiet()
    except WorkerFailed:
        raise
    except BaseException:  # noqa: BLE001 - whatever it was, the ordinary run says it properly
        return False
    finally:
        session.streaming = False


def _collect(value: Any, reads: list[Any]) -> None:
    """Append the stand-ins inside ``value`` (lists and tuples of them) to ``reads``."""
    if isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, reads)
    elif is_remote(value):
        reads.append(value)


def _settled(session: Session, pending: list[tuple[Any, Any]], reads: list[Any]) -> bool:
    """Fetch ``reads``; did each pending case give replicalab's answer, as plain data?"""
    values = dict(zip((id(r) for r in reads), session.plains(reads), strict=True))
    for got, expected in pending:
        answer = plain(_filled(got, values))
        if learner_object_in(answer) is not None or not same_data(answer, expected):
            return False
    pending.clear()
    reads.clear()
    return True


def _filled(value: Any, values: dict[int, Any]) -> Any:
    if isinstance(value, (list, tuple)):
        return [_filled(v, values) for v in value]
    return values[id(value)] if id(value) in values else value
