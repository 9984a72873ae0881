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

Your own DynamoDB requests explore the same way: a request file (``explore.scenario("incident.json")``,
``replicalab explore incident.json``) or the calls made on a
:class:`~replicalab.dynamodb.GlobalTable` (``explore.scenario(table)``, replayed verbatim:
see :mod:`~replicalab.explore.calls`); ``space.replies()`` counts what each request was told.

The model, the state fingerprint and the search are in :mod:`~replicalab.explore.driver`
and :mod:`~replicalab.explore.space` (which also explains the partial-order reduction and
why it is sound); the invariants by name in :mod:`~replicalab.explore.invariants`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs

from replicalab import _validate
from replicalab.dynamodb.global_table import GlobalTable
from replicalab.dynamodb.requestfile import RequestFile
from replicalab.errors import ConfigError
from replicalab.explore import calls
from replicalab.explore.calls import RequestScenario, replies
from replicalab.explore.driver import Faults, Step
from replicalab.explore.invariants import INVARIANTS
from replicalab.explore.invariants import invariant as _invariant
from replicalab.explore.space import MAX_DEPTH, MAX_STATES, Counterexample, Outcome, Space, explore
from replicalab.scenarios.world import TableScenario

__all__ = ["INVARIANTS", "MAX_DEPTH", "MAX_STATES", "Check", "Counterexample", "Faults", "Outcome",
           "RequestScenario", "Space", "Step", "check", "replies", "requests", "scenario"]


def _scope(name: Any) -> TableScenario:
    """What to explore: a registered scenario's name, a TableScenario, a GlobalTable (the
    calls made on it), or a request file (a path, a RequestFile, its entries as a list)."""
    if isinstance(name, TableScenario):
        return name
    if isinstance(name, str) and not _is_path(name):
        from replicalab import scenarios  # the registry sits beside us, on top
        return scenarios.get(name)
    if isinstance(name, (str, Path, list, dict, RequestFile, GlobalTable)):
        return calls.requests(name)
    raise ConfigError(f"explore takes a scenario name, a TableScenario, a GlobalTable, or a "
                      f"request file (a path to FILE.json, a RequestFile, or its entries as a "
                      f"list), got {_validate.shown(name)}")


def _is_path(name: str) -> bool:
    """A name that names a request file (as ``replicalab run FILE.json`` tells them apart)."""
    return name.endswith(".json") or "/" in name or os.sep in name


def _defaults(scope: TableScenario, merge: Any, seed: int | None,
              options: dict[str, Any]) -> tuple[Any, int, dict[str, Any]]:
    """merge, seed and options: those given, else the scope's own (a GlobalTable's), else
    item-lww and seed 0."""
    own = dict(scope.defaults) if isinstance(scope, calls.RequestScenario) else {}
    own_merge, own_seed = own.pop("merge", "item-lww"), own.pop("seed", 0)
    merged = {**own, **options}
    if merged.get("replicas_per_region", 1) != 1 or merged.get("region_protocol") is not None:
        # Each AZ node's elections and timers multiply the schedules: even London does not
        # finish in minutes. Refuse at once rather than run for minutes before the cap.
        raise ConfigError("regions with AZ nodes (replicas_per_region > 1) are not explored: "
                          "their election and quorum timers make the space too large; explore with one "
                          "replica per region, or run a seed with scenarios.run(...)")
    return (own_merge if merge is None else merge, own_seed if seed is None else seed, merged)


def scenario(name: Any, merge: Any = None, *, faults: Any = "none",
             seed: int | None = None, reduce: bool = True, max_states: int = MAX_STATES,
             max_depth: int = MAX_DEPTH, timers: str = "order", **options: Any) -> Space:
    """Explore every schedule of scenario ``name`` under merge policy ``merge``.

    ``name``: a registered scenario's name, any
    :class:`~replicalab.scenarios.world.TableScenario`, or your own DynamoDB requests — a
    request file (a path ``"FILE.json"``, a
    :class:`~replicalab.dynamodb.requestfile.RequestFile`, or its entries as a list) or a
    :class:`~replicalab.dynamodb.GlobalTable`, whose calls are replayed *verbatim*: code of
    yours that branched on a reply is not re-run per schedule (``space.note`` says so; see
    :mod:`~replicalab.explore.calls`). ``merge`` (default ``"item-lww"``, or a GlobalTable's
    own), ``seed`` (default 0, or the table's) and ``options`` (``writes="versioned"``,
    ``routing="key-home"``, ...; a table's own by default) are the run's options.

    ``faults``: ``"none"``, or ``"loss"``, ``"duplicate"``, ``"crash"`` joined by ``+`` (at
    most one each per schedule: lose a message, deliver one twice, crash a replica durably and
    restart it later), ``"amnesia"`` (crash a replica that loses its state and comes back
    empty under a new causal identity), or ``{"loss": n, "duplicate": m, "crash": k,
    "amnesia": a}``. ``timers``: ``"order"`` (in time order) or ``"choice"`` (a pending timer
    may also fire early, at any step). ``reduce``: explore one schedule
    per class of schedules that differ only in the order of deliveries to different
    replicas (see :mod:`~replicalab.explore.space`). Past ``max_states``
    states or ``max_depth`` steps the search stops with :class:`ConfigError`.
    """
    if not isinstance(reduce, bool):
        raise ConfigError(f"reduce must be True or False, got {_validate.shown(reduce)}")
    scope = _scope(name)
    merge, seed, options = _defaults(scope, merge, seed, options)
    space = explore(scope, merge, seed=seed, faults=faults, reduce=reduce,
                    max_states=max_states, max_depth=max_depth, options=options, timers=timers)
    if isinstance(scope, calls.RequestScenario) and scope.note:
        space.note = "; ".join(n for n in (scope.note, space.note) if n)
    return space


def requests(source: Any, merge: Any = None, **kwargs: Any) -> Space:
    """Explore your own DynamoDB requests: :func:`scenario` of a request file or a
    GlobalTable (``source`` as :func:`replicalab.explore.calls.requests` takes it: a path,
    JSON text, a list of entries, a RequestFile, a GlobalTable). The requests keep their
    times; every order of the replication messages between them is tried."""
    return scenario(calls.requests(source), merge, **kwargs)


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


def check(name: Any, merge: Any = None, *, invariant: Any = "no-silent-loss",
          faults: Any = "none", seed: int | None = None, reduce: bool = True, max_states: int = MAX_STATES,
          max_depth: int = MAX_DEPTH, timers: str = "order", **options: Any) -> Check:
    """Check ``invariant`` (a name from :data:`INVARIANTS` or a function of a Result) in every
    schedule of scenario ``name`` (anything :func:`scenario` takes, a request file or a
    GlobalTable too): a :class:`Check` that holds, or names the shortest schedule that
    breaks it."""
    label, holds = _invariant(invariant)
    space = scenario(name, merge, faults=faults, seed=seed, reduce=reduce, max_states=max_states,
                     max_depth=max_depth, timers=timers, **options)
    cx = space.find(lambda result: not holds(result))
    return Check(label, cx is None, cx, space)

