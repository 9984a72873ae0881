"""Kind ``scenario``: the learner's merge policy replayed in a scenario, judged by the ledger.

``policy`` names a :class:`~replicalab.policies.MergePolicy` subclass in the
learner's module; it is instantiated with no arguments and run in
``scenario`` for ``seeds`` seeds (starting at the check's seed). ``expect``
maps summary counts (``silently_lost``, ``kept``, ``detected``, ...) or
``converged`` to the value every run must show; ``options`` are scenario
options (``writes``, ``routing``...)::

    kind = "scenario"
    policy = "LondonFix"
    scenario = "london"
    seeds = 50
    expect = { silently_lost = 0, converged = true }

The first run that misses is reported with its seed, the counts and the
ledger's explanation, and how to replay it.
"""

from __future__ import annotations

from typing import Any

from replicalab.errors import ConfigError
from replicalab.exercises.kinds.common import CheckContext, CheckFailed, find, is_int, is_name

__all__ = ["PARAMS", "REQUIRED", "run"]

_COUNTS = ("acknowledged", "kept", "superseded", "silently_lost", "detected", "rejected",
           "unreplicated")


def _scenario(value: Any, key: str) -> None:
    from replicalab import scenarios

    if value not in scenarios.names():
        raise ConfigError(f"{key!r} must be a scenario name ({', '.join(scenarios.names())}), "
                          f"got {value!r}")


def _expect(value: Any, key: str) -> None:
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{key!r} must be a table of summary counts and/or converged")
    for name, want in value.items():
        if name == "converged":
            if not isinstance(want, bool):
                raise ConfigError(f"{key}.converged must be true or false")
        elif name in _COUNTS:
            if isinstance(want, bool) or not isinstance(want, int) or want < 0:
                raise ConfigError(f"{key}.{name} must be an integer >= 0")
        else:
            raise ConfigError(f"{key}: unknown expectation {name!r}; use converged or one of "
                              f"{list(_COUNTS)}")


def _remote_policy(policy: Any) -> Any:
    """The learner's policy object ``policy`` (a stand-in) as a :class:`MergePolicy` for the
    grader's simulator: ``merge`` runs in the learner's process. Items go over as data and the
    :class:`~replicalab.policies.Outcome` comes back as data; local writes use
    :meth:`MergePolicy.write`, which calls this ``merge``."""
    from replicalab.policies import MergePolicy, Outcome

    class RemotePolicy(MergePolicy):
        def __init__(self) -> None:
            name = getattr(policy, "name", "")
            self.name = name if isinstance(name, str) and name else type(policy).__name__  # type: ignore[misc]  # a learner policy's name, per instance

        def merge(self, local: Any, incoming: Any) -> Outcome:
            outcome = policy.merge(local, incoming)
            if not isinstance(outcome, Outcome):
                raise CheckFailed(f"{type(policy).__name__}.merge must return an Outcome "
                                  f"(Outcome(item)), got {outcome!r:.120}")
            return outcome

    return RemotePolicy()


def _options(value: Any, key: str) -> None:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{key!r} must be a table of option -> string, e.g. {{writes = \"versioned\"}}")


PARAMS = {"policy": is_name, "scenario": _scenario, "seeds": is_int(1, 1000), "expect": _expect,
          "options": _options}
REQUIRED = {"policy", "scenario", "expect"}


def run(ctx: CheckContext) -> None:
    from replicalab import scenarios
    from replicalab.exercises.remote import describe, is_remote
    from replicalab.policies import MergePolicy

    cls = find(ctx.module, ctx.params["policy"], "class")
    if is_remote(cls):
        facts = describe(cls)
        if not (facts.get("is_class") and "replicalab.policies.MergePolicy" in facts.get("bases", [])):
            raise CheckFailed(f"{ctx.params['policy']} must be a class derived from "
                              "replicalab.policies.MergePolicy (the starter's is)")
        def make() -> Any:  # the learner's merge, run in its process
            return _remote_policy(cls())
    elif not (isinstance(cls, type) and issubclass(cls, MergePolicy)):
        raise CheckFailed(f"{ctx.params['policy']} must be a class derived from "
                          "replicalab.policies.MergePolicy (the starter's is)")
    else:
        make = cls
    name = ctx.params["scenario"]
    options = dict(ctx.params.get("options", {}))
    expect = ctx.params["expect"]
    for seed in range(ctx.seed, ctx.seed + ctx.params.get("seeds", 1)):
        result = scenarios.run(name, merge=make(), seed=seed, **options)
        got: dict[str, Any] = {**result.summary, "converged": result.converged}
        wrong = {k: got[k] for k, v in expect.items() if got[k] != v}
        if not wrong:
            continue
        problems = ", ".join(f"{k} = {got[k]!r} (expected {expect[k]!r})" for k in sorted(wrong))
        lost = [f"    {e.write}: {e.verdict} — {e.why}" for e in result.ledger if e.verdict != "kept"]
        extra = ", ".join(f"{k}={v!r}" for k, v in sorted(options.items()))
        raise CheckFailed(
            f"{name} with seed {seed}: {problems}\n"
            + ("\n".join(lost) + "\n" if lost else "")
            + f"\nReplay it:\n\n    from replicalab import scenarios\n"
            f"    r = scenarios.run({name!r}, merge={ctx.params['policy']}(), seed={seed}"
            + (f", {extra}" if extra else "") + ")\n    print(r.report())")
