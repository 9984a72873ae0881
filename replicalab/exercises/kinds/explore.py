"""Kind ``explore``: an invariant the learner states as data, judged in every schedule of a scenario.

The learner's module holds two plain values — nothing of theirs runs on the grader's side:

* ``invariant`` names a module-level dict ``{"write": ID, "verdicts": [VERDICT, ...]}``:
  "in every schedule, write ``ID``'s ledger verdict is one of these" (``"write": "every"``:
  every write of the scenario);
* ``merge`` names a module-level string: the merge policy under which it should hold.

The grader explores every schedule of ``scenario`` (:func:`replicalab.explore.scenario`) and
expects the invariant to be ``expect``-ed under policy ``under`` — a policy name, or
``"learner"`` for the learner's own choice::

    kind = "explore"
    scenario = "london"
    invariant = "INVARIANT"
    merge = "MERGE"
    under = "item-lww"
    expect = "violated"          # or "holds"

A failure names the schedule: the shortest one that breaks the invariant, or the count of
schedules in which it holds when it should not.
"""

from __future__ import annotations

from typing import Any

from replicalab.errors import ConfigError
from replicalab.exercises.kinds.common import (
    CheckContext,
    CheckFailed,
    find,
    is_name,
    is_one_of,
    plain,
)
from replicalab.ledger import VERDICTS

__all__ = ["PARAMS", "REQUIRED", "run", "statement"]


def _scenario(value: Any, key: str) -> None:
    from replicalab import scenarios

    if value not in scenarios.names():
        raise ConfigError(f"{key!r} must be a scenario name ({', '.join(scenarios.names())}), got {value!r}")


def _under(value: Any, key: str) -> None:
    from replicalab.policies import policy_names

    if value != "learner" and value not in policy_names():
        raise ConfigError(f"{key!r} must be a merge policy name or 'learner', got {value!r}")


PARAMS = {"scenario": _scenario, "invariant": is_name, "merge": is_name, "under": _under,
          "expect": is_one_of("violated", "holds")}
REQUIRED = {"scenario", "invariant", "under", "expect"}


def statement(value: Any, writes: list[str], name: str) -> tuple[list[str], set[str]]:
    """The writes and verdicts of an invariant given as data; CheckFailed says what is wrong."""
    shape = f'{name} = {{"write": "w1", "verdicts": ["kept"]}}'
    if not isinstance(value, dict) or set(value) != {"write", "verdicts"}:
        raise CheckFailed(f"{name} must be a dict with the keys 'write' and 'verdicts', like {shape}; "
                          f"got {value!r:.80}")
    write, verdicts = value["write"], value["verdicts"]
    if write != "every" and write not in writes:
        raise CheckFailed(f"{name}['write'] must name a write of the scenario ({', '.join(writes)}) "
                          f"or be 'every'; got {write!r:.40}")
    if (not isinstance(verdicts, list) or not verdicts
            or not all(isinstance(v, str) and v in VERDICTS for v in verdicts)):
        raise CheckFailed(f"{name}['verdicts'] must be a non-empty list of ledger verdicts "
                          f"({', '.join(VERDICTS)}); got {verdicts!r:.80}")
    return (writes if write == "every" else [write]), set(verdicts)


def run(ctx: CheckContext) -> None:
    from replicalab import explore, scenarios
    from replicalab.policies import policy_names

    params = ctx.params
    scenario = scenarios.get(params["scenario"])
    writes = sorted(w.op for w in scenario.workload)
    name = params["invariant"]
    chosen, allowed = statement(plain(find(ctx.module, name, "invariant")), writes, name)
    under = params["under"]
    if under == "learner":
        if "merge" not in params:
            raise ConfigError("under = 'learner' needs merge, the name of the learner's policy string")
        under = plain(find(ctx.module, params["merge"], "merge policy"))
        if not isinstance(under, str) or under not in policy_names():
            raise CheckFailed(f"{params['merge']} must name a merge policy: one of "
                              f"{', '.join(policy_names())}; got {under!r:.40}")

    def holds(result: Any) -> bool:
        return all(result.ledger[w].verdict in allowed for w in chosen)

    space = explore.scenario(scenario, under)
    cx = space.find(lambda result: not holds(result))
    said = f"{name} (" + ", ".join(f"{w} is {' or '.join(sorted(allowed))}" for w in chosen) + ")"
    if params["expect"] == "violated" and cx is None:
        raise CheckFailed(f"{said} holds in all {space.schedules} schedules of {scenario.name} under "
                          f"{under}: the explorer finds nothing wrong, so it does not catch the loss")
    if params["expect"] == "holds" and cx is not None:
        bad = {w: cx.result.ledger[w].verdict for w in chosen}
        raise CheckFailed(f"under {under}, {said} breaks in this schedule ({bad}):\n{cx.schedule()}")
