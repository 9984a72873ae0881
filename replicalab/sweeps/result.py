"""What a sweep produced: one aggregated row per group, and its views (JSON, CSV, text, SVG).

Every view is a function of the aggregated rows only — never of which
backend ran the cells, how many workers there were, or in what order they
finished — so the same sweep gives the same bytes everywhere.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from html import escape
from typing import Any

import attrs

from replicalab.scenarios.compare import Row
from replicalab.sweeps.aggregate import GroupStats
from replicalab.sweeps.measure import COUNTS
from replicalab.sweeps.picture import sweep_svg
from replicalab.trace import canonical_json
from replicalab.viz.text import table

__all__ = ["SWEEP_FORMAT", "SweepResult", "describe_seeds"]

SWEEP_FORMAT = "replicalab/sweep"


def describe_seeds(seeds: Sequence[int]) -> dict[str, Any] | list[int]:
    """``{"first", "last", "count"}`` for consecutive seeds, else the list of seeds."""
    if isinstance(seeds, range) and seeds.step == 1:
        return {"first": seeds.start, "last": seeds.stop - 1, "count": len(seeds)}
    return list(seeds)


@attrs.frozen
class SweepResult:
    """The aggregated outcome of a sweep. ``rows`` are in the order the groups were given.

    The rows are the sweep's aggregates; treat them as read-only.
    """

    source: dict[str, Any]
    seeds: Sequence[int] = attrs.field(repr=False)
    rows: tuple[GroupStats, ...] = attrs.field(repr=False)

    @property
    def cells(self) -> int:
        """How many runs the sweep made."""
        return sum(r.runs for r in self.rows)

    def compare_rows(self) -> list[Row]:
        """The rows as :func:`replicalab.scenarios.compare.compare` returns them for the same seeds."""
        return [r.compare_row() for r in self.rows]

    def to_plain(self) -> dict[str, Any]:
        """The canonical sweep document as plain data."""
        return {"format": SWEEP_FORMAT, "schema_version": 1, **self.source,
                "seeds": describe_seeds(self.seeds), "cells": self.cells,
                "rows": [r.to_plain() for r in self.rows]}

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, integers, means rounded to 4 decimals): same sweep, same bytes."""
        return canonical_json(self.to_plain()) + "\n"

    def to_csv(self) -> str:
        """One CSV row per group: totals, mean, p50/p90/p99/max and the histogram of each quantity.

        A histogram cell reads ``value:times`` pairs separated by spaces (``0:998 1:2``).
        """
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        stats = ("total", "mean", "min", "p50", "p90", "p99", "max", "histogram")
        quantities = [*COUNTS, "write_latency_ms"]
        writer.writerow(["pattern", "id", "runs", "converged", "reads", "simulated_ms",
                         *[f"{q}_{s}" for q in quantities for s in stats]])
        for r in self.rows:
            plain = r.to_plain()
            line: list[Any] = [plain["pattern"], plain["id"], r.runs, r.converged, r.reads, r.span_ms]
            for q in quantities:
                d = plain[q]
                for s in stats:
                    v = d[s]
                    line.append(" ".join(f"{a}:{b}" for a, b in v) if s == "histogram"
                                else ("" if v is None else v))
            writer.writerow(line)
        return out.getvalue()

    @property
    def title(self) -> str:
        what = self.source.get("scenario") or f"workload {self.source['workload']}"
        seeds = describe_seeds(self.seeds)
        span = (f"seeds {seeds['first']}..{seeds['last']}" if isinstance(seeds, dict)
                else f"{len(self.seeds)} seeds")
        return f"{what} — {span} × {len(self.rows)} patterns ({self.cells} runs)"

    def table(self) -> str:
        """An aligned text table, one line per group: means per run, p99 and max, latency."""
        headers = ["pattern", "runs", "silently lost", "detected", "rejected", "stale reads",
                   "write p50/p99", "converged"]
        out = []
        for r in self.rows:
            def spread(name: str, r: GroupStats = r) -> str:
                d = r.counts[name]
                return f"{float(round(d.mean or 0, 2)):.2f} (p99 {d.percentile(0.99)}, max {d.max})"

            lat = r.latency
            latency = "-" if not lat.count else f"{lat.percentile(0.5)}/{lat.percentile(0.99)} ms"
            converged = "all" if r.converged == r.runs else f"{r.converged}/{r.runs}"
            out.append([r.group.name, r.runs, spread("silently_lost"), spread("detected"),
                        spread("rejected"), spread("stale_reads"), latency, converged])
        return table(headers, out)

    def text(self) -> str:
        """The title, a line on what the numbers mean, and :meth:`table`."""
        return (f"{self.title}\nper run: mean (p99, max)\n\n{self.table()}")

    def to_svg(self) -> str:
        """The distributions as a standalone SVG (see :mod:`replicalab.sweeps.picture`)."""
        return sweep_svg(self.rows, self.title, "per run: how often each count came up, per pattern")

    def _repr_svg_(self) -> str:
        """Jupyter: the distributions."""
        return self.to_svg()

    def _repr_html_(self) -> str:
        """Jupyter: the distributions and the table (static HTML, no script)."""
        return (f'<div class="replicalab-sweep">{self.to_svg()}'
                f"<pre>{escape(self.text())}</pre></div>")
