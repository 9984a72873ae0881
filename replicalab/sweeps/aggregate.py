"""Aggregating as it goes: a histogram per quantity, exact sums, percentiles read off the histogram.

A :class:`Distribution` is a histogram of integer values (value -> how many
times it was seen). Its memory is the number of *distinct* values — bounded by
the scenario (how many writes a run has, how many milliseconds a write can
wait), not by the number of seeds — and everything reported is exact: the mean
is a :class:`~fractions.Fraction` of two integers, percentiles are
nearest-rank (the same rule as :func:`replicalab.scenarios.result.percentile`,
which ``compare`` uses). Adding the same values in any order gives the same
histogram, but the sweep adds them in cell order anyway.

    >>> d = Distribution().add(0).add(0).add(3)
    >>> d.count, d.total, d.mean, d.percentile(0.5), d.percentile(0.99), d.max
    (3, 3, Fraction(1, 1), 0, 3, 3)
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

import attrs

from replicalab.scenarios.compare import Row
from replicalab.sweeps.cells import Group
from replicalab.sweeps.measure import COUNTS, Measurement

__all__ = ["MEAN_DECIMALS", "Distribution", "GroupStats"]

#: Means are reported rounded (half to even, exactly, from the fraction) to this many decimals.
MEAN_DECIMALS = 4


class Distribution:
    """A histogram of integers with exact summaries. Mutable while a sweep runs; read it after."""

    __slots__ = ("counts", "count", "total")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.count = 0
        self.total = 0

    def add(self, value: int, times: int = 1) -> Distribution:
        """Count ``value`` (``times`` times); returns self so calls chain."""
        self.counts[value] = self.counts.get(value, 0) + times
        self.count += times
        self.total += value * times
        return self

    def extend(self, values: Iterable[int]) -> None:
        """Count every value of ``values``."""
        for v in values:
            self.add(v)

    @property
    def histogram(self) -> list[tuple[int, int]]:
        """``[(value, times), ...]`` sorted by value."""
        return sorted(self.counts.items())

    @property
    def mean(self) -> Fraction | None:
        """The exact mean (None when empty)."""
        return Fraction(self.total, self.count) if self.count else None

    @property
    def min(self) -> int | None:
        return min(self.counts) if self.counts else None

    @property
    def max(self) -> int | None:
        return max(self.counts) if self.counts else None

    def percentile(self, q: float) -> int | None:
        """Nearest-rank percentile: the smallest value with at least ceil(q·n) values at or below it.

        Agrees with :func:`~replicalab.scenarios.result.percentile` on the same values.
        """
        if not self.count:
            return None
        rank = max(1, -(-int(q * 100) * self.count // 100))
        seen = 0
        for value, times in self.histogram:
            seen += times
            if seen >= rank:
                return value
        raise AssertionError("unreachable: rank <= count")  # pragma: no cover

    def to_plain(self) -> dict[str, Any]:
        """Plain data: count, total, mean (rounded), min, p50, p90, p99, max and the histogram."""
        mean = self.mean
        return {
            "count": self.count,
            "total": self.total,
            "mean": None if mean is None else float(round(mean, MEAN_DECIMALS)),
            "min": self.min,
            "p50": self.percentile(0.5),
            "p90": self.percentile(0.9),
            "p99": self.percentile(0.99),
            "max": self.max,
            "histogram": [list(pair) for pair in self.histogram],
        }


@attrs.define
class GroupStats:
    """Everything a sweep keeps for one group (one output row), updated run by run."""

    group: Group
    runs: int = 0
    counts: dict[str, Distribution] = attrs.field(factory=lambda: {c: Distribution() for c in COUNTS})
    latency: Distribution = attrs.field(factory=Distribution)
    """Pooled write latency: one value per acknowledged write of every run (as ``compare`` pools)."""
    reads: int = 0
    converged: int = 0
    span_ms: int = 0

    def add(self, m: Measurement) -> None:
        """Fold one run's measurement in."""
        self.runs += 1
        for name, dist in self.counts.items():
            dist.add(getattr(m, name))
        self.latency.extend(m.latencies)
        self.reads += m.reads
        self.converged += m.converged
        self.span_ms += m.span_ms

    def compare_row(self) -> Row:
        """This group as ``compare``'s row: the same numbers ``replicalab compare`` prints for it."""
        c = self.counts
        return Row(pattern=self.group.name, active=self.group.active, seeds=self.runs,
                   acknowledged=c["acknowledged"].total, silently_lost=c["silently_lost"].total,
                   detected=c["detected"].total, rejected=c["rejected"].total,
                   siblings=c["siblings"].total, unreplicated=c["unreplicated"].total,
                   p50=self.latency.percentile(0.5), p99=self.latency.percentile(0.99),
                   stale_reads=c["stale_reads"].total, reads=self.reads, converged=self.converged,
                   conflicts=c["conflicts"].total, seconds=self.span_ms / 1000)

    def to_plain(self) -> dict[str, Any]:
        """The row as plain data (see :meth:`replicalab.sweeps.result.SweepResult.to_plain`)."""
        return {
            "pattern": self.group.name,
            "id": self.group.id,
            "options": self.group.options,
            "multi_region_writes": self.group.active,
            "runs": self.runs,
            "converged": self.converged,
            "reads": self.reads,
            "simulated_ms": self.span_ms,
            **{name: dist.to_plain() for name, dist in self.counts.items()},
            "write_latency_ms": self.latency.to_plain(),
        }
