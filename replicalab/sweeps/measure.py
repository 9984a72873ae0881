"""What a worker does with a chunk: run each cell, keep only its measurements.

:func:`run_chunk` is the one function the process pool and Dask workers call.
It receives a :class:`~replicalab.sweeps.cells.Chunk` (a description) and
returns one :class:`Measurement` per cell, in cell order — a handful of
integers per run. The Result, its trace and ledger, are dropped as soon as
they are measured, so a worker's memory does not grow with the number of
cells, and nothing large crosses a process boundary.

This module imports only the scenarios: a worker never imports Dask unless the
sweep asked for it (Dask itself brings its own worker code).

    >>> from replicalab.sweeps.cells import Chunk, Group, Source, pattern
    >>> [m.silently_lost for m in run_chunk(Chunk(Source.scenario("london"), range(2),
    ...                                             (Group.of(pattern("item-lww")),)))]
    [1, 1]
"""

from __future__ import annotations

import attrs

from replicalab.scenarios.compare import conflicting_writes
from replicalab.scenarios.result import Result
from replicalab.sweeps.cells import Chunk

__all__ = ["COUNTS", "Measurement", "run_chunk"]

#: The per-run counts a sweep keeps a distribution of (besides write latency).
COUNTS = ("acknowledged", "silently_lost", "detected", "rejected", "unreplicated", "stale_reads",
          "siblings", "conflicts")


@attrs.frozen
class Measurement:
    """What a sweep keeps of one run: verdict counts, reads, convergence and write latencies.

    Every field is an integer (or a tuple of integers), so aggregating them is
    exact and does not depend on the order in which runs finish.
    """

    acknowledged: int
    silently_lost: int
    detected: int
    rejected: int
    unreplicated: int
    stale_reads: int
    """Strongly consistent reads that missed an acknowledged write."""
    siblings: int
    """(region, key) pairs holding more than one concurrent version at the end."""
    conflicts: int
    """Acknowledged writes concurrent with another acknowledged write on the same key."""
    reads: int
    converged: bool
    span_ms: int
    """Simulated time the run lasted (at least 1 ms)."""
    latencies: tuple[int, ...]
    """Client-observed latency of each acknowledged write, simulated ms."""

    @classmethod
    def of(cls, r: Result) -> Measurement:
        """Measure one run (the same quantities ``compare`` sums into its rows)."""
        summary = r.summary
        return cls(acknowledged=summary["acknowledged"], silently_lost=summary["silently_lost"],
                   detected=summary["detected"], rejected=summary["rejected"],
                   unreplicated=summary["unreplicated"], stale_reads=len(r.stale_reads),
                   siblings=r.siblings_visible, conflicts=conflicting_writes(r), reads=r.reads,
                   converged=r.converged, span_ms=max(r.statistics.now, 1),
                   latencies=tuple(r.write_latencies))


def run_chunk(chunk: Chunk) -> tuple[Measurement, ...]:
    """Run every cell of ``chunk`` and return its measurements in cell order (seed-major)."""
    out = []
    for seed in chunk.seeds:
        scenario = chunk.source.at(seed)  # a generated workload is built once per seed, not per group
        for group in chunk.groups:
            out.append(Measurement.of(scenario.run(seed=seed, **group.options)))
    return tuple(out)
