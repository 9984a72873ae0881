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
from replicalab's is reported as a line of Python with both answers.
"""

from __future__ import annotations

from typing import Any

from replicalab.errors import ConfigError
from replicalab.exercises.kinds.common import (
    CheckContext,
    CheckFailed,
    find,
    is_int,
    is_name,
    plain,
)
from replicalab.sim.rng import RandomStreams

__all__ = ["PARAMS", "REQUIRED", "run"]


def _oracle(value: Any, key: str) -> None:
    from replicalab.exercises.oracles import ORACLES

    if value not in ORACLES:
        raise ConfigError(f"{key!r} must be one of {sorted(ORACLES)}, got {value!r}")


PARAMS = {"oracle": _oracle, "target": is_name, "cases": is_int(1, 100_000)}
REQUIRED = {"oracle", "target"}


def run(ctx: CheckContext) -> None:
    from replicalab.exercises.oracles import oracle

    entry = oracle(ctx.params["oracle"])
    target = find(ctx.module, ctx.params["target"])
    rng = RandomStreams(ctx.seed).stream(f"oracle:{ctx.params['oracle']}")
    for n in range(ctx.params.get("cases", 300)):
        case = entry.generate(rng)
        expected = plain(entry.expected(case))
        got = plain(entry.actual(target, case))
        if got != expected:
            raise CheckFailed(
                f"case {n + 1} differs from replicalab's answer"
                + (f" ({entry.describe})" if entry.describe else "")
                + f":\n\n    {entry.code(ctx.params['target'], case)}\n"
                f"    # yours:        {got!r}\n    # replicalab's: {expected!r}")
