"""Explore every schedule: a small-scope model checker for replication scenarios.

A seeded run shows *one* schedule. The explorer tries them all — every order in which the
messages in flight can arrive, between the clients' requests (which keep their times) — and
answers "in how many schedules is my write lost, and what is the shortest one?"

    >>> from replicalab import explore
    >>> space = explore.scenario("london", merge="item-lww")
    >>> space.schedules, space.states
    (48, 215)
    >>> space.verdicts()["w1"]
    {'kept': 16, 'silently-lost': 32}
    >>> cx = space.find(lambda result: result.summary["silently_lost"] > 0)
    >>> len(cx.steps), cx.replay().summary["silently_lost"]
    (7, 1)
    >>> explore.check("london", merge="causal", invariant="no-silent-loss").holds
    True

The model, the state fingerprint and the search are in :mod:`~replicalab.explore.driver`
and :mod:`~replicalab.explore.space` (which also explains the partial-order reduction and
why it is sound); the invariants by name in :mod:`~replicalab.explore.invariants`.
"""

from __future__ import annotations

from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.explore.driver import Faults, Step
from replicalab.explore.invariants import INVARIANTS
from replicalab.explore.invariants import invariant as _invariant
from replicalab.explore.space import MAX_DEPTH, MAX_STATES, Counterexample, Outcome, Space, explore
from replicalab.scenarios.world import TableScenario

__all__ = ["INVARIANTS", "MAX_DEPTH", "MAX_STATES", "Check", "Counterexample", "Faults", "Outcome",
           "Space", "Step", "check", "scenario"]


def _scenario(name: Any) -> TableScenario:
    if isinstance(name, TableScenario):
        return name
    if isinstance(name, str):
        from replicalab import scenarios  # the registry sits beside us, on top
        return scenarios.get(name)
    raise ConfigError(f"explore takes a scenario name or a TableScenario, got {_validate.shown(name)}")


def scenario(name: str | TableScenario, merge: Any = "item-lww", *, faults: Any = "none",
             seed: int = 0, reduce: bool = True, max_states: int = MAX_STATES,
             max_depth: int = MAX_DEPTH, timers: str = "order", **options: Any) -> Space:
    """Explore every schedule of scenario ``name`` under merge policy ``merge``.

    ``faults``: ``"none"``, or ``"loss"``, ``"duplicate"``, ``"crash"`` joined by ``+`` (at
    most one each per schedule: lose a message, deliver one twice, crash a replica durably and
    restart it later), ``"amnesia"`` (crash a replica that loses its state and comes back
    empty under a new causal identity), or ``{"loss": n, "duplicate": m, "crash": k,
    "amnesia": a}``. ``timers``: ``"order"`` (in time order) or ``"choice"`` (a pending timer
    may also fire early, at any step). ``name`` may be any
    :class:`~replicalab.scenarios.world.TableScenario` object as well as a registered name. ``reduce``: explore one schedule
    per class of schedules that differ only in the order of deliveries to different
    replicas (see :mod:`~replicalab.explore.space`). ``options`` are the scenario's run
    options (``writes="versioned"``, ``routing="key-home"``, ...). Past ``max_states``
    states or ``max_depth`` steps the search stops with :class:`ConfigError`.
    """
    if not isinstance(reduce, bool):
        raise ConfigError(f"reduce must be True or False, got {_validate.shown(reduce)}")
    return explore(_scenario(name), merge, seed=seed, faults=faults, reduce=reduce,
                   max_states=max_states, max_depth=max_depth, options=options, timers=timers)


@attrs.frozen
class Check:
    """Whether ``invariant`` holds in every schedule; if not, the shortest counterexample."""

    invariant: str
    holds: bool
    counterexample: Counterexample | None
    space: Space = attrs.field(repr=False)

    def __bool__(self) -> bool:
        return self.holds

    def report(self) -> str:
        """A few lines: the verdict, the counts, and the counterexample's schedule."""
        head = (f"{self.invariant}: holds in all {self.space.schedules} schedules "
                f"({self.space.states} states)" if self.holds else
                f"{self.invariant}: VIOLATED; shortest counterexample, "
                f"{len(self.counterexample.steps)} steps:")  # type: ignore[union-attr]
        if self.counterexample is None:
            return head
        return f"{head}\n{self.counterexample.schedule()}"


def check(name: str | TableScenario, merge: Any = "item-lww", *, invariant: Any = "no-silent-loss",
          faults: Any = "none", seed: int = 0, reduce: bool = True, max_states: int = MAX_STATES,
          max_depth: int = MAX_DEPTH, timers: str = "order", **options: Any) -> Check:
    """Check ``invariant`` (a name from :data:`INVARIANTS` or a function of a Result) in every
    schedule of scenario ``name``: a :class:`Check` that holds, or names the shortest
    schedule that breaks it."""
    label, holds = _invariant(invariant)
    space = scenario(name, merge, faults=faults, seed=seed, reduce=reduce, max_states=max_states,
                     max_depth=max_depth, timers=timers, **options)
    cx = space.find(lambda result: not holds(result))
    return Check(label, cx is None, cx, space)

