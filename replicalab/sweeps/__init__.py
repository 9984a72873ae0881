"""Sweeps: every (seed, pattern, option) cell of a story, aggregated into distributions.

One run shows one schedule; the lesson is a distribution. :func:`sweep` runs
a scenario (or a generated workload) under many seeds and every pattern of
``replicalab compare``, on one core, a local process pool or a Dask cluster,
and keeps per pattern a histogram of silently lost, detected and rejected
writes, stale strong reads and write latency — exactly, in flat memory::

    >>> from replicalab.sweeps import sweep
    >>> result = sweep("london", 4, patterns=["item-lww", "key-home"], workers=1)
    >>> [(r.group.id, str(r.counts["silently_lost"].mean), r.latency.percentile(0.99))
    ...  for r in result.rows]
    [('item-lww', '1', 0), ('key-home', '0', 153)]

``replicalab.sweep`` is this function; ``replicalab sweep`` is its command line.
The parts: :mod:`~replicalab.sweeps.cells` (what runs), :mod:`~replicalab.sweeps.measure`
(what a worker keeps of a run), :mod:`~replicalab.sweeps.aggregate` (histograms),
:mod:`~replicalab.sweeps.backends` (where it runs), :mod:`~replicalab.sweeps.result`
and :mod:`~replicalab.sweeps.picture` (the views).
"""

from replicalab.sweeps.aggregate import Distribution, GroupStats
from replicalab.sweeps.cells import pattern_ids
from replicalab.sweeps.result import SweepResult
from replicalab.sweeps.runner import MAX_CELLS, MAX_WORKERS, parse_seeds, sweep

__all__ = ["MAX_CELLS", "MAX_WORKERS", "Distribution", "GroupStats", "SweepResult", "parse_seeds",
           "pattern_ids", "sweep"]
