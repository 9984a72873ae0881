"""The seed's "side by side" table, measured: every pattern on the same seeded schedule.

One row per pattern (``PATTERNS``): the deployed MREC item-lww table, the
same with a version attribute and conditional writes, MRSC, a single primary,
key-home routing, attribute-lww, causal siblings (and crdt once that policy
exists). Columns are measured, not ticked: silently lost, detected and
rejected writes, client-observed write latency (p50/p99, simulated ms),
strongly consistent reads that missed an acknowledged write, convergence,
and, for generated workloads, rates (writes/s, conflicts/s, loss %).

    >>> rows = compare("london")
    >>> [(r.pattern, r.silently_lost) for r in rows][:2]
    [('MREC item-lww (as deployed)', 1), ('MREC + version + conditional', 0)]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from replicalab.errors import ConfigError
from replicalab.policies import POLICIES
from replicalab.scenarios.result import Result
from replicalab.scenarios.world import TableScenario

__all__ = ["PATTERNS", "Pattern", "Row", "applicable", "compare", "conflicting_writes", "row_of"]


@attrs.frozen
class Pattern:
    """A named combination of options, and whether every region may accept writes."""

    name: str
    options: dict[str, Any]
    active: str  # multi-region active writes: "yes", "yes (sync)", "per key", "no"


PATTERNS: tuple[Pattern, ...] = (
    Pattern("MREC item-lww (as deployed)", {"merge": "item-lww"}, "yes"),
    Pattern("MREC + version + conditional", {"merge": "item-lww", "writes": "versioned"}, "yes"),
    Pattern("MRSC (3 regions)", {"mode": "mrsc"}, "yes (sync)"),
    Pattern("single primary", {"mode": "single-primary"}, "no"),
    Pattern("key-home routing", {"routing": "key-home"}, "per key"),
    Pattern("attribute-lww", {"merge": "attribute-lww"}, "yes"),
    Pattern("causal siblings", {"merge": "causal"}, "yes"),
)


def patterns() -> list[Pattern]:
    """The patterns to compare: ``PATTERNS`` plus ``crdt`` when that policy is registered."""
    out = list(PATTERNS)
    if "crdt" in POLICIES:
        out.append(Pattern("crdt", {"merge": "crdt"}, "yes"))
    return out


@attrs.frozen
class Row:
    """One pattern's measurements, summed (latencies pooled) over the seeds run."""

    pattern: str
    active: str
    seeds: int
    acknowledged: int
    silently_lost: int
    detected: int
    rejected: int
    siblings: int
    unreplicated: int
    p50: int | None
    p99: int | None
    stale_reads: int
    reads: int
    converged: int
    conflicts: int
    seconds: float

    @property
    def loss_percent(self) -> float:
        """Silently lost writes as a percentage of acknowledged ones."""
        return 100.0 * self.silently_lost / self.acknowledged if self.acknowledged else 0.0

    def to_plain(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return attrs.asdict(self) | {"loss_percent": round(self.loss_percent, 3)}


def conflicting_writes(result: Result) -> int:
    """Ground truth: acknowledged writes concurrent with another acknowledged write on the same key."""
    by_key: dict[Hashable, list] = {}
    acked = {e.write for e in result.ledger if e.verdict != "rejected"}
    for record in result.facts:
        if record.op in acked:
            by_key.setdefault(record.scope, []).append(record)
    count = 0
    for records in by_key.values():
        for a in records:
            if any(b is not a and not a.saw(b) and not b.saw(a) for b in records):
                count += 1
    return count


def compare(
    scenario: str | TableScenario | Callable[[int], TableScenario],
    seeds: Iterable[int] = (0,),
    *,
    chosen: Sequence[Pattern] | None = None,
    progress: Callable[[int, int], None] | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[Row]:
    """Run every pattern on ``scenario`` for each seed and return one aggregated row per pattern.

    ``scenario`` is a registered name, a :class:`TableScenario`, or a function
    from seed to scenario (for generated workloads: new traffic per seed).

    ``progress(done, total)`` is called after each run (the CLI draws a progress line with it).
    ``options`` are added to every pattern's (e.g. ``replicas_per_region=3``); a pattern they
    refuse raises :class:`~replicalab.errors.ConfigError` — pick the patterns with
    :func:`applicable` first.
    """
    from replicalab import scenarios as registry

    seeds = list(seeds)
    chosen = list(chosen) if chosen is not None else patterns()
    total = len(seeds) * len(chosen)
    done = 0
    rows = []
    extra = dict(options or {})
    for pattern in chosen:
        given = {**pattern.options, **extra}
        # Add each run into the row's totals as it ends: a Result holds its whole trace, and
        # even one small record per seed would grow with thousands of seeds.
        totals = _Totals()
        for seed in seeds:
            if isinstance(scenario, TableScenario):
                result = scenario.run(seed=seed, **given)
            elif callable(scenario):
                result = scenario(seed).run(seed=seed, **given)
            else:
                result = registry.run(scenario, seed=seed, **given)
            totals.add(result)
            del result
            done += 1
            if progress is not None:
                progress(done, total)
        rows.append(totals.row(pattern))
    return rows


def applicable(scenario: str, options: Mapping[str, Any]) -> tuple[list[Pattern], list[str]]:
    """The patterns that run on registered ``scenario`` with ``options`` added, and the names of
    those the options refuse (MRSC with AZ nodes in regions, say)."""
    from replicalab import scenarios as registry

    story = registry.get(scenario)
    runs, refused = [], []
    for pattern in patterns():
        try:
            story.options(**{**pattern.options, **options})
        except ConfigError:
            if not options:
                raise
            refused.append(pattern.name)
        else:
            runs.append(pattern)
    return runs, refused


def row_of(pattern: Pattern, results: Iterable[Result]) -> Row:
    """One pattern's row from runs made elsewhere (a request file replayed per seed, say),
    added up as they arrive, exactly as :func:`compare` adds up its own."""
    totals = _Totals()
    for result in results:
        totals.add(result)
    return totals.row(pattern)


def histogram_percentile(counts: Mapping[int, int], q: float) -> int | None:
    """:func:`~replicalab.scenarios.result.percentile` of the values that ``counts`` holds
    ``{value: how many times}``: the same nearest rank, without the values laid out."""
    n = sum(counts.values())
    if not n:
        return None
    rank = max(1, -(-int(q * 100) * n // 100))  # ceil(q * n), at least 1, as percentile
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable: the ranks add up to n")


class _Totals:
    """One pattern's measurements, added up run by run (memory flat in the number of seeds).

    Latencies are integers of simulated ms, so a histogram of them gives the pooled
    percentiles exactly.
    """

    _SUMMED = ("acknowledged", "silently_lost", "detected", "rejected", "unreplicated")

    def __init__(self) -> None:
        self.seeds = 0
        self.summary = dict.fromkeys(self._SUMMED, 0)
        self.latencies: Counter[int] = Counter()
        self.siblings = self.stale_reads = self.reads = self.converged = self.conflicts = 0
        self.span_ms = 0

    def add(self, r: Result) -> None:
        self.seeds += 1
        summary = r.summary
        for key in self._SUMMED:
            self.summary[key] += summary[key]
        self.latencies.update(r.write_latencies)
        self.siblings += r.siblings_visible
        self.stale_reads += len(r.stale_reads)
        self.reads += r.reads
        self.converged += r.converged
        self.conflicts += conflicting_writes(r)
        self.span_ms += max(r.statistics.now, 1)

    def row(self, pattern: Pattern) -> Row:
        return Row(
            pattern=pattern.name,
            active=pattern.active,
            seeds=self.seeds,
            acknowledged=self.summary["acknowledged"],
            silently_lost=self.summary["silently_lost"],
            detected=self.summary["detected"],
            rejected=self.summary["rejected"],
            unreplicated=self.summary["unreplicated"],
            siblings=self.siblings,
            p50=histogram_percentile(self.latencies, 0.5),
            p99=histogram_percentile(self.latencies, 0.99),
            stale_reads=self.stale_reads,
            reads=self.reads,
            converged=self.converged,
            conflicts=self.conflicts,
            seconds=self.span_ms / 1000,
        )
