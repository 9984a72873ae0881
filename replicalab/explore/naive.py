"""The naive oracle: every schedule, one by one, with no state set and no reduction.

:func:`every_schedule` walks the tree of step sequences depth-first and yields each
complete schedule with its Result. It is exponential and remembers nothing — which is its
point: the explorer's counts, verdicts and counterexamples are checked against it (tests,
benchmark B9), so a fingerprint that merged two different states, or a reduction that cut
a schedule, shows up as a disagreement.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from replicalab.errors import ConfigError
from replicalab.explore.driver import Faults, Step, replay
from replicalab.scenarios.world import Result, TableScenario

__all__ = ["every_schedule"]


def every_schedule(scenario: TableScenario, merge: Any = "item-lww", *, seed: int = 0,
                   faults: Any = "none", options: dict[str, Any] | None = None,
                   max_schedules: int = 100_000,
                   timers: str = "order") -> Iterator[tuple[tuple[Step, ...], Result]]:
    """Yield ``(steps, result)`` for every complete schedule, depth-first, in step order.

    Raises :class:`ConfigError` after ``max_schedules`` schedules (the tree is exponential).
    """
    budget = Faults.parse(faults).with_timers(timers)
    options = dict(options or {})
    count = 0
    stack: list[tuple[Step, ...]] = [()]
    while stack:
        steps = stack.pop()
        prepared = replay(scenario, merge, seed, options, steps)
        following = prepared.sim.steps(budget.left(steps))  # type: ignore[attr-defined]
        if not following:
            count += 1
            if count > max_schedules:
                raise ConfigError(f"more than max_schedules={max_schedules} schedules; "
                                  "the naive enumeration is exponential: use a smaller scope")
            yield steps, prepared.result()
            continue
        stack.extend((*steps, step) for step in reversed(following))
