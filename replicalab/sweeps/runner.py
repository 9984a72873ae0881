"""``sweep()``: plan the cells, run them on a backend, aggregate in cell order.

The plan is validated completely before anything runs: the source, every
seed, every pattern and every option combination (against the scenario, as a
run would). A bad sweep raises :class:`~replicalab.errors.ConfigError` and
runs nothing.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.scenarios.compare import patterns as all_patterns
from replicalab.sweeps import backends
from replicalab.sweeps.aggregate import GroupStats
from replicalab.sweeps.cells import Chunk, Group, Source, groups, pattern
from replicalab.sweeps.measure import Measurement
from replicalab.sweeps.result import SweepResult

__all__ = ["MAX_CELLS", "MAX_WORKERS", "parse_seeds", "sweep"]

#: The most runs one sweep may make: about 12 minutes of London runs on one core (generated
#: workloads take far longer per run), and a typo such as 0..99999999 is refused, not started.
MAX_CELLS = 1_000_000
#: The most local worker processes (or LocalCluster workers) a sweep may start.
MAX_WORKERS = 256
#: A chunk holds at most this many cells: small enough to keep every worker busy to the end.
CHUNK_CELLS = 256
#: Whether this Python can start worker processes (Pyodide in a browser cannot).
CAN_START_PROCESSES = sys.platform not in ("emscripten", "wasi")


def parse_seeds(text: str) -> range:
    """``"A..B"`` (inclusive) or ``"N"`` (seeds 0..N-1, as ``compare --seeds N``) as a range.

        >>> parse_seeds("0..9999"), parse_seeds("20")
        (range(0, 10000), range(0, 20))
    """
    low, sep, high = text.partition("..")
    try:
        if sep:
            first, last = int(low), int(high)
        else:
            first, last = 0, int(text) - 1
            if last < 0:
                raise ConfigError(f"--seeds N needs N >= 1, got {_validate.shown(text)}")
    except ValueError:
        raise ConfigError(f"--seeds takes FIRST..LAST (inclusive, e.g. 0..9999) or a count N, "
                          f"got {_validate.shown(text)}") from None
    if first < 0 or last < first:
        raise ConfigError(f"--seeds FIRST..LAST needs 0 <= FIRST <= LAST, got {_validate.shown(text)}")
    return range(first, last + 1)


def _seeds(seeds: int | Iterable[int]) -> Sequence[int]:
    if isinstance(seeds, bool):
        raise ConfigError(f"seeds is a count, a range or a list of integers >= 0, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ConfigError(f"seeds as a count must be >= 1, got {seeds}")
        return range(seeds)
    if isinstance(seeds, range):
        if seeds.step < 0 or not len(seeds) or seeds.start < 0:
            raise ConfigError(f"seeds must be a non-empty, increasing range of integers >= 0, got {seeds!r}")
        return seeds
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise ConfigError(f"seeds is a count, a range or a list of integers >= 0, "
                          f"got {_validate.shown(seeds)} (for text like '0..99' use parse_seeds)")
    out = tuple(seeds)
    if not out:
        raise ConfigError("seeds is empty; give at least one seed")
    for s in out:
        if type(s) is not int or s < 0:
            raise ConfigError(f"every seed is an integer >= 0, got {_validate.shown(s)}")
    if len(set(out)) != len(out):
        raise ConfigError("seeds repeat a seed; each seed is run once per pattern")
    return out


def _patterns(chosen: str | Sequence[str]) -> list[Any]:
    if chosen == "all":
        return all_patterns()
    if isinstance(chosen, str):
        chosen = [name.strip() for name in chosen.split(",")]
    if isinstance(chosen, (bytes, Mapping)) or not isinstance(chosen, Sequence) or not chosen:
        raise ConfigError(f"patterns is 'all' or a list of pattern ids, got {_validate.shown(chosen)}")
    out = [pattern(name) for name in chosen]
    if len({p.name for p in out}) != len(out):
        raise ConfigError(f"patterns names a pattern twice: {_validate.shown(list(chosen))}")
    return out


def _workers(workers: int | None) -> int:
    if workers is None:
        return max(1, min(os.cpu_count() or 1, MAX_WORKERS)) if CAN_START_PROCESSES else 1
    if type(workers) is not int or not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"workers must be an integer from 1 to {MAX_WORKERS}, got "
                          f"{_validate.shown(workers)}")
    if workers > 1 and not CAN_START_PROCESSES:
        raise ConfigError(f"this Python ({sys.platform}) cannot start worker processes; "
                          "use workers=1 (or leave it out)")
    return workers


def _chunks(source: Source, seeds: Sequence[int], plan: tuple[Group, ...],
            workers: int) -> Iterator[Chunk]:
    per_chunk = max(1, min(CHUNK_CELLS // len(plan), math.ceil(len(seeds) / (8 * workers))))
    for start in range(0, len(seeds), per_chunk):
        yield Chunk(source, seeds[start:start + per_chunk], plan)


def sweep(
    scenario: str | None = None,
    seeds: int | Iterable[int] = 100,
    *,
    patterns: str | Sequence[str] = "all",
    options: Mapping[str, Sequence[Any]] | None = None,
    workload: str | None = None,
    minutes: int | None = None,
    workers: int | None = None,
    dask: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Run every (seed, pattern, option) cell of ``scenario`` and aggregate per pattern.

    ``scenario`` is a registered scenario name; or give ``workload`` (a generated
    shape: ``append-only``, ``profile``, ``contested``; ``minutes`` of traffic,
    default 2), which makes new traffic for every seed. ``seeds`` is a count (seeds
    0..N-1), a range or a list of distinct integers >= 0. ``patterns`` is
    ``"all"`` (every pattern ``replicalab compare`` shows, in its order) or a
    list of pattern ids (``item-lww``, ``versioned``, ``mrsc``,
    ``single-primary``, ``key-home``, ``attribute-lww``, ``causal``, ``crdt``;
    compare's full names work too). ``options`` crosses each pattern with
    every combination of the values given (``{"stamps": ["wall", "hlc"]}``
    doubles the rows).

    Backends: ``workers=1`` runs here; otherwise a local process pool of
    ``workers`` processes (default: the machine's cores; 1 where Python cannot
    start processes, as in Pyodide); ``dask="local"``
    starts a Dask ``LocalCluster`` of ``workers`` processes (default 2),
    another string is a scheduler address, or pass your own
    ``distributed.Client``. ``progress(cells_done, cells_total)`` is called
    after each chunk.

    Contract: the result — and every byte of its JSON, CSV and SVG — depends
    only on the arguments that define the cells, never on the backend or the
    number of workers. Memory stays flat in the number of seeds: each run is
    reduced to a few integers where it ran, and aggregated into histograms.

        >>> result = sweep("london", 3, patterns=["item-lww", "attribute-lww"], workers=1)
        >>> [(r.group.id, r.runs, r.counts["silently_lost"].total) for r in result.rows]
        [('item-lww', 3, 3), ('attribute-lww', 3, 0)]
    """
    if (scenario is None) == (workload is None):
        raise ConfigError("sweep takes a scenario name or workload=SHAPE (one of them)")
    if scenario is not None and not isinstance(scenario, str):
        raise ConfigError(f"scenario is a scenario name, got {_validate.shown(scenario)}")
    if scenario is not None and minutes is not None:
        raise ConfigError("minutes sets the length of workload= traffic; a scenario has its own")
    source = (Source.scenario(scenario) if scenario is not None
              else Source.workload(workload or "", 2 if minutes is None else minutes))
    seed_list = _seeds(seeds)
    plan = groups(_patterns(patterns), options)
    total = len(seed_list) * len(plan)
    if total > MAX_CELLS:
        raise ConfigError(f"a sweep makes at most {MAX_CELLS} runs; {len(seed_list)} seeds × "
                          f"{len(plan)} patterns is {total}. Use fewer seeds or patterns")
    if dask is not None and not (isinstance(dask, str) and dask) and not callable(
            getattr(dask, "submit", None)):
        raise ConfigError(f"dask takes 'local', a scheduler address or a distributed.Client, "
                          f"got {_validate.shown(dask)}")
    if dask is None:
        count = _workers(workers)
    else:
        count = _workers(workers) if workers is not None else 0
        if workers is not None and dask != "local":
            raise ConfigError("workers= sets the size of dask='local'; a running cluster has its own")
    if progress is not None and not callable(progress):
        raise ConfigError(f"progress is a function (done, total), got {_validate.shown(progress)}")
    first = source.at(seed_list[0])
    for group in plan:  # validate every combination before running anything
        first.options(**{"seed": seed_list[0], **group.options})

    stats = [GroupStats(group) for group in plan]

    def aggregate(batches: Iterable[tuple[Measurement, ...]]) -> None:
        done = 0
        for batch in batches:
            for i, measurement in enumerate(batch):  # seed-major: cell i belongs to group i mod len
                stats[i % len(plan)].add(measurement)
            done += len(batch)
            if progress is not None:
                progress(done, total)

    if dask is not None:
        with backends.dask_client(dask, count or None) as (client, slots):
            aggregate(backends.on_dask(_chunks(source, seed_list, plan, slots), client, slots))
    elif count == 1:
        aggregate(backends.in_process(_chunks(source, seed_list, plan, 1)))
    else:
        aggregate(backends.process_pool(_chunks(source, seed_list, plan, count), count))
    return SweepResult(source.describe(), seed_list, tuple(stats))
