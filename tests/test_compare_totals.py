"""compare() adds each run into its row as the run ends: same rows as pooling every run.

The reference here is the plain way: keep every Result, pool the latencies in one list,
take :func:`~replicalab.scenarios.result.percentile` of it and sum the rest.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from replicalab.scenarios import compare as compare_module
from replicalab.scenarios.compare import compare, conflicting_writes, histogram_percentile, patterns
from replicalab.scenarios.result import percentile
from replicalab.scenarios.workloads import planted


@given(st.lists(st.integers(0, 40), max_size=60), st.sampled_from([0.0, 0.01, 0.5, 0.9, 0.99, 1.0]))
def test_histogram_percentile_is_the_nearest_rank_percentile_of_the_values(values, q):
    counts: dict[int, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    assert histogram_percentile(counts, q) == percentile(values, q)


def _pooled_row(scenario, pattern, seeds):
    results = [scenario(seed).run(seed=seed, **pattern.options) for seed in seeds]
    latencies = [v for r in results for v in r.write_latencies]
    return {
        "seeds": len(results),
        **{k: sum(r.summary[k] for r in results)
           for k in ("acknowledged", "silently_lost", "detected", "rejected", "unreplicated")},
        "siblings": sum(r.siblings_visible for r in results),
        "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
        "stale_reads": sum(len(r.stale_reads) for r in results),
        "reads": sum(r.reads for r in results),
        "converged": sum(r.converged for r in results),
        "conflicts": sum(conflicting_writes(r) for r in results),
        "seconds": sum(max(r.statistics.now, 1) for r in results) / 1000,
    }


def test_compare_rows_equal_the_rows_of_every_run_pooled():
    """Adding runs up one at a time loses nothing: every column equals the pooled reference."""
    def scenario(seed):
        return planted(4, seed=seed, background=3)

    seeds = range(3)
    rows = compare(scenario, seeds)
    for pattern, row in zip(patterns(), rows, strict=True):
        plain, expected = row.to_plain(), _pooled_row(scenario, pattern, seeds)
        assert {k: plain[k] for k in expected} == expected


def test_compare_holds_no_result_once_its_run_has_ended(monkeypatch):
    """Memory flat in seeds: a row's totals keep numbers and a latency histogram, no Result."""
    seen = []
    original = compare_module._Totals.add

    def spy(self, result):
        original(self, result)
        seen.append(self)
        assert all(not hasattr(v, "trace") for v in vars(self).values())

    monkeypatch.setattr(compare_module._Totals, "add", spy)
    compare("london", range(2))
    assert seen
