"""Breadth-first exploration of every schedule of a small scenario (see :mod:`replicalab.explore`).

The search visits the state graph level by level: level ``d`` holds the states reached
after ``d`` steps. Every path to a state has the same length (a state's trace says how
many steps made it), so all the ways into a state are known before it is expanded, and
the number of schedules through each state is a sum over its parents. States are keyed by
:func:`~replicalab.explore.driver.fingerprint` (SHA-256 over canonical JSON).

**The reduction** (``reduce=True``): two deliveries to *different* replicas, both in flight,
commute — each changes only its destination's state, its ground truth and the messages it
sends, and neither moves the clock — so a schedule and the one with two adjacent such
deliveries swapped reach the same state through the same states on either side. The
explorer keeps one order per class of such schedules: it never delivers to replica ``q``
right after a delivery to a replica ``r > q`` (ids compared as strings) — unless that
delivery *sent* the message to ``q``, which then could not have come first. Every other
step — a timed event, an early timer firing (``timers="choice"``; local to its replica,
but it may answer a client, so it is not treated as independent), a drop, a duplication, a
crash or restart (durable or amnesia), deliveries to the same replica — counts as
depending on everything, so nothing is reordered across it. A delivery that does more than
change its replica and send messages (answers a client, sets a timer: an MRSC commit does)
breaks the premise; the first time one is seen the search starts again without the
reduction (:func:`explore` says so in ``space.note``).

Why it is sound: with that order (replica first), the lexicographically least schedule of a
class never has an adjacent pair the rule forbids (a forbidden pair is an adjacent
independent inversion, which the least schedule would swap). So every class keeps at least
one schedule, every state any schedule reaches is reached (a prefix's least form is allowed
too), and every final state, with the same verdicts, is found — the tests and benchmark B9
check this against a naive enumeration. When no delivery sends a message (London: a region
replicates only its own writes) it keeps *exactly* one (Anisimov & Knuth's characterisation of
the lexicographic normal form: a word is least iff it has no factor ``b u a`` with ``a < b``
and ``a`` independent of ``b u``; with independence = "different replicas" and the order
replica-first, the last letter of ``b u`` whose replica is above ``a``'s is followed by one
below it — an adjacent offending pair). ``schedules`` then counts classes — schedules that
differ in *what some replica saw, or when* — not interleavings; with message-sending
deliveries it may count a class more than once. A node of the reduced search is a state plus
what the rule reads (the replica of its last delivery and the messages that delivery sent);
``states`` still counts states.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from replicalab.errors import ConfigError
from replicalab.explore import canon
from replicalab.explore.calls import replies
from replicalab.explore.driver import (
    Faults,
    Step,
    fingerprint,
    in_flight,
    message_text,
    replay,
    start,
)
from replicalab.scenarios.world import Prepared, Result, TableScenario

__all__ = ["Counterexample", "Outcome", "Space", "explore"]

#: Default caps: a small scope stays far below them; past them the search stops with ConfigError.
MAX_STATES = 20_000
MAX_DEPTH = 64
#: How many runs of one level the search keeps in memory rather than re-executing them.
KEEP = 2_000


@attrs.frozen
class Outcome:
    """One final state: the shortest schedule found to it, how many schedules end there, and
    its :class:`~replicalab.scenarios.world.Result` (ledger, final items, reads)."""

    state: str
    steps: tuple[Step, ...]
    schedules: int
    result: Result = attrs.field(repr=False)

    @property
    def verdicts(self) -> dict[str, str]:
        """``{write: verdict}`` of this outcome's ledger."""
        return dict(sorted(self.result.ledger.verdicts().items()))


@attrs.frozen
class Counterexample:
    """The shortest schedule the explorer found to an outcome: its steps and its Result."""

    scenario: TableScenario = attrs.field(repr=False)
    merge: Any = attrs.field(repr=False)
    seed: int
    options: dict[str, Any]
    steps: tuple[Step, ...]
    result: Result = attrs.field(repr=False)

    def replay(self) -> Result:
        """Re-execute the steps from the scenario's seed: the same Result (pictures, ledger)."""
        prepared = replay(self.scenario, self.merge, self.seed, self.options, self.steps)
        return prepared.result()

    def schedule(self) -> str:
        """The steps, numbered, one per line."""
        return "\n".join(f"{i:>3}. {step.label}" for i, step in enumerate(self.steps, 1))

    def timeline(self) -> str:
        """The schedule, then the run's numbered text timeline and its ledger."""
        return f"{self.schedule()}\n\n{self.result.timeline()}"

    def to_plain(self) -> dict[str, Any]:
        return {"steps": [s.to_plain() for s in self.steps],
                "verdicts": dict(sorted(self.result.ledger.verdicts().items()))}


@attrs.define
class _Node:
    state: str
    steps: tuple[Step, ...]
    schedules: int
    last: str | None  # the replica of the last step, if it was a delivery (the reduction)
    created: frozenset[str] = frozenset()  # the messages that delivery sent (message_text)


class _Impure(Exception):
    """A delivery did more than change its replica and send messages: no reduction."""


@attrs.frozen
class Edge:
    """One explored step of the state graph: from node ``source`` by ``step`` to ``target``."""

    source: int
    step: Step
    target: int


class Space:
    """Every schedule of one scenario under one merge policy, explored (see the module docs).

    ``schedules``: complete schedules (one per class under the reduction); ``states``:
    distinct states reached; ``transitions``: steps executed; ``depth``: the longest
    schedule; ``outcomes``: the final states, each with its shortest schedule and Result.
    """

    def __init__(self, scenario: TableScenario, merge: Any, seed: int, options: dict[str, Any],
                 faults: Faults, reduce: bool, outcomes: list[Outcome], states: int,
                 transitions: int, depth: int, nodes: list[dict[str, Any]], edges: list[Edge]) -> None:
        self.scenario, self.merge, self.seed, self.options = scenario, merge, seed, options
        self.faults, self.reduce = faults, reduce
        self.outcomes = tuple(outcomes)
        self.states, self.transitions, self.depth = states, transitions, depth
        self.schedules = sum(o.schedules for o in outcomes)
        #: The explored graph for pictures and the stepper: nodes (by index) and edges.
        self.nodes, self.edges = nodes, edges
        #: Why the reduction was turned off, if it was (see :func:`explore`).
        self.note = ""

    def verdicts(self) -> dict[str, dict[str, int]]:
        """``{write: {verdict: schedules}}`` over all schedules, sorted."""
        out: dict[str, Counter[str]] = {}
        for outcome in self.outcomes:
            for write, verdict in outcome.verdicts.items():
                out.setdefault(write, Counter())[verdict] += outcome.schedules
        return {w: dict(sorted(c.items())) for w, c in sorted(out.items())}

    def replies(self) -> dict[str, dict[str, int]]:
        """``{op: {answer: schedules}}`` over all schedules: what each client request was
        told (``"ok"``, ``"ConditionalCheckFailed"``, ``"Unreachable"``, ...; see
        :func:`~replicalab.explore.calls.replies`), in the order the requests were sent."""
        out: dict[str, Counter[str]] = {}
        for outcome in self.outcomes:
            for op, answer in replies(outcome.result).items():
                out.setdefault(op, Counter())[answer] += outcome.schedules
        return {op: dict(sorted(c.items())) for op, c in out.items()}

    def find(self, predicate: Callable[[Result], bool]) -> Counterexample | None:
        """The shortest schedule whose Result satisfies ``predicate``, or None.

        Final states are tried in breadth-first order, so the first match has the fewest
        steps (ties: the order in which the search met them, the same in every process).
        """
        if not callable(predicate):
            raise ConfigError(f"find takes a function of a Result, got {predicate!r}")
        for outcome in self.outcomes:
            if predicate(outcome.result):
                return Counterexample(self.scenario, self.merge, self.seed, self.options,
                                      outcome.steps, outcome.result)
        return None

    def __iter__(self) -> Iterator[Outcome]:
        return iter(self.outcomes)

    def summary(self) -> dict[str, Any]:
        """Counts as plain data."""
        return {"scenario": self.scenario.name, "merge": _merge_name(self.merge),
                "faults": attrs.asdict(self.faults), "reduce": self.reduce,
                "schedules": self.schedules, "states": self.states,
                "transitions": self.transitions, "depth": self.depth,
                "outcomes": len(self.outcomes), "verdicts": self.verdicts()}

    def __repr__(self) -> str:
        return (f"<Space {self.scenario.name} merge={_merge_name(self.merge)}: {self.schedules} schedules, "
                f"{self.states} states, {len(self.outcomes)} outcomes>")


def _merge_name(merge: Any) -> str:
    return merge if isinstance(merge, str) else getattr(merge, "name", None) or type(merge).__name__


def _budget(faults: Faults, steps: tuple[Step, ...]) -> Faults:
    return faults.left(steps)


def explore(scenario: TableScenario, merge: Any = "item-lww", *, seed: int = 0,
            faults: Any = "none", reduce: bool = True, max_states: int = MAX_STATES,
            max_depth: int = MAX_DEPTH, options: dict[str, Any] | None = None,
            timers: str = "order") -> Space:
    """Explore every schedule of ``scenario`` (see the module docs); return the :class:`Space`.

    With ``reduce=True``, if some delivery turns out to do more than change its own replica
    and send messages — answer a client, set a timer (an MRSC commit does) — the search starts
    again without the reduction, which would not be sound there; ``space.reduce`` is then
    False and ``space.note`` says why.

    ``timers``: ``"order"`` (timers fire in time order among the timed events) or
    ``"choice"`` (a pending timer may also fire early, at any step; see
    :mod:`~replicalab.explore.driver`). An early firing is not a delivery, so the reduction
    treats it like every non-delivery step: as depending on everything, never reordered —
    the soundness argument above is unchanged.
    """
    faults = Faults.parse(faults).with_timers(timers)
    try:
        return _explore(scenario, merge, seed, faults, reduce, max_states, max_depth, options)
    except _Impure as impure:
        space = _explore(scenario, merge, seed, faults, False, max_states, max_depth, options)
        space.note = str(impure)
        return space


def _explore(scenario: TableScenario, merge: Any, seed: int, faults: Any, reduce: bool,
             max_states: int, max_depth: int, options: dict[str, Any] | None) -> Space:
    faults = Faults.parse(faults)
    options = dict(options or {})
    for name, cap in (("max_states", max_states), ("max_depth", max_depth)):
        if type(cap) is not int or cap < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {cap!r}")
    if scenario.anti_entropy is not None:
        raise ConfigError(
            f"scenario {scenario.name!r} runs periodic anti-entropy: its timers never stop, so its "
            "schedules never end; explore a scenario that becomes quiet (london, cart, counter, skew)")
    if scenario.horizon is not None:
        raise ConfigError(
            f"scenario {scenario.name!r} runs to a fixed horizon (t={scenario.horizon}) rather than "
            "until it is quiet; explore a scenario that becomes quiet (london, cart, counter, skew)")
    root = start(scenario, merge, seed, options)  # validates merge and options before any search
    seen: set[str] = set()
    level: dict[str, _Node] = {}
    state = fingerprint(root, faults)
    seen.add(state)
    level[state] = _Node(state, (), 1, None)
    ids: dict[tuple[int, str], int] = {(0, state): 0}
    nodes: list[dict[str, Any]] = [{"depth": 0, "state": state, "steps": ()}]
    edges: list[Edge] = []
    outcomes: dict[str, Outcome] = {}
    transitions = 0
    depth = 0
    # The runs of the level being expanded, kept from when they were made (up to KEEP of them):
    # expanding a node then re-executes only the children it makes, and its last child is
    # the node's own run, stepped once more.
    runs: dict[str, Prepared] = {state: root}
    while level:
        following: dict[str, _Node] = {}
        made: dict[str, Prepared] = {}
        for key, node in level.items():
            prepared = runs.pop(key, None) or replay(scenario, merge, seed, options, node.steps)
            budget = _budget(faults, node.steps)
            steps = prepared.sim.steps(budget)  # type: ignore[attr-defined]
            if not steps:
                # One outcome per final state (under the reduction two nodes may share a state).
                known = outcomes.get(node.state)
                if known is None:
                    outcomes[node.state] = Outcome(node.state, node.steps, node.schedules,
                                                   prepared.result())
                else:
                    outcomes[node.state] = attrs.evolve(known, schedules=known.schedules + node.schedules)
                continue
            if depth >= max_depth:
                raise ConfigError(
                    f"a schedule of {scenario.name!r} is still going after max_depth={max_depth} steps "
                    f"({len(seen)} states so far); raise max_depth or explore a smaller scope")
            source = ids[(depth, key)]
            # A skipped step: the same class's least schedule delivers to step.replica first.
            # Not if the last delivery sent this very message (it could not come first).
            allowed = [step for step in steps
                       if not (reduce and step.kind == "deliver" and node.last is not None
                               and step.replica is not None and step.replica < node.last
                               and message_text(in_flight(prepared, step.id)) not in node.created)]
            for i, step in enumerate(allowed):
                if i == len(allowed) - 1:
                    child = prepared
                    child.sim.take(step)  # type: ignore[attr-defined]
                else:
                    child = replay(scenario, merge, seed, options, (*node.steps, step))
                transitions += 1
                child_state = fingerprint(child, _budget(faults, (*node.steps, step)))
                last, created = None, frozenset[str]()
                if reduce and step.kind == "deliver":
                    sim: Any = child.sim
                    if sim.touched_clients:
                        raise _Impure(
                            f"the reduction is off: a delivery to {step.replica} ({step.label}) did more "
                            "than change its replica and send messages (a reply, a timer, a client "
                            "callback), so deliveries to different replicas need not commute")
                    last = step.replica
                    created = frozenset(message_text(in_flight(child, m)) for m in sim.created)
                child_key = (f"{child_state}/{last}/{canon.digest(sorted(created))}" if reduce
                             else child_state)
                found = following.get(child_key)
                if found is None:
                    following[child_key] = _Node(child_state, (*node.steps, step), node.schedules,
                                                 last, created)
                    if len(made) < KEEP:
                        made[child_key] = child
                    ids[(depth + 1, child_key)] = len(nodes)
                    nodes.append({"depth": depth + 1, "state": child_state, "steps": (*node.steps, step)})
                else:
                    found.schedules += node.schedules
                edges.append(Edge(source, step, ids[(depth + 1, child_key)]))
                if child_state not in seen:
                    seen.add(child_state)
                    if len(seen) > max_states:
                        raise ConfigError(
                            f"exploring {scenario.name!r} reached {len(seen)} states, more than "
                            f"max_states={max_states} (at depth {depth + 1}); raise max_states or "
                            "explore a smaller scope (fewer writes, faults='none')")
        level, runs = following, made
        depth += 1 if following else 0
    return Space(scenario, merge, seed, options, faults, reduce, list(outcomes.values()), len(seen), transitions,
                 depth, nodes, edges)
