"""Every benchmark still runs and still checks its answers: ``benchmarks/bN_*.py --smoke``.

The benchmarks are not run by CI at their real sizes (minutes each), so without this they rot:
B14 once read a private attribute that had been removed and nobody noticed until it was run by
hand. ``--smoke`` (benchmarks/_harness.py) runs each at the smallest sizes that still reach every
answer check, one round, no warm-up, no speed target judged; a script prints ``checks: ok (...)``
only after its checks passed and exits 1 if an answer differed. A peer that is not installed is
skipped by the script itself, which says so; replicalab's own checks still run.

The second half shows the checks can fail: a deliberately wrong answer, patched into a benchmark
run in this process, must turn its exit status to 1.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = REPO / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("b*_*.py"), key=lambda p: int(re.match(r"b(\d+)", p.stem)[1]))


def test_every_benchmark_is_collected() -> None:
    # A glob that found nothing would make the parametrized test below pass vacuously.
    assert [p.stem.split("_")[0] for p in SCRIPTS] == [f"b{i}" for i in range(1, len(SCRIPTS) + 1)]
    assert len(SCRIPTS) >= 17


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_smoke_run_passes_its_answer_checks(script: Path) -> None:
    done = subprocess.run([sys.executable, str(script), "--smoke"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    checks = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("checks:")]
    assert len(checks) == 1 and checks[0].startswith("checks: ok ("), output
    # No speed target is judged in a smoke run: a loaded CI machine says nothing about speed.
    assert "MISSED" not in done.stdout, output


#: The optional peers (pyproject's ``bench`` extra, and merkletools) and the benchmarks using them.
PEERS = ("simpy", "vectorclock", "pycrdt", "crdts", "pymerkle", "merkletools")
WITH_PEERS = ("b1_simulator", "b2_vector_clocks", "b3_map_merge", "b4_sets_counters", "b5_merkle")
HIDE_PEERS = """
import runpy, sys
for name in {peers!r}:
    sys.modules[name] = None  # `import name` now raises ImportError, as if not installed
sys.path.insert(0, {benchmarks!r})
sys.argv = [{script!r}, "--smoke"]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.parametrize("name", WITH_PEERS)
def test_smoke_run_without_peers_runs_replicalabs_checks_and_says_what_it_skipped(name: str) -> None:
    # What a checkout installed with '.[dev]' only (no 'bench' extra) runs.
    code = HIDE_PEERS.format(peers=PEERS, benchmarks=str(BENCHMARKS),
                             script=str(BENCHMARKS / f"{name}.py"))
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    (checks,) = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("checks:")]
    assert checks.startswith("checks: ok (") and "not installed" in checks, output


def test_run_py_passes_smoke_on() -> None:
    done = subprocess.run([sys.executable, str(BENCHMARKS / "run.py"), "--smoke", "b2", "b17"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("checks: ok (") == 2, done.stdout


# ---------------------------------------------------------------------------
# A wrong answer is caught


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch):
    """Import a benchmark module as run.py does (benchmarks/ on sys.path), leaving smoke mode
    off again afterwards."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))

    def load(name: str) -> ModuleType:
        import importlib

        module = importlib.import_module(name)
        harness = importlib.import_module("_harness")
        monkeypatch.setattr(harness, "SMOKE", harness.SMOKE)
        monkeypatch.setattr(harness, "WARMUP", harness.WARMUP)
        return module

    return load


def _wrong(capsys: pytest.CaptureFixture[str], module: ModuleType) -> str:
    status = module.main(["--smoke"])
    out = capsys.readouterr().out
    assert status == 1, out
    assert "checks: ok" not in out and "checks: FAILED" in out, out
    return out


def test_b1_catches_a_simulator_that_ends_in_another_state(bench, capsys, monkeypatch) -> None:
    b1 = bench("b1_simulator")
    honest = b1.run_replicalab

    def off_by_one(*args, **kwargs):
        seconds, answer = honest(*args, **kwargs)
        return seconds, answer._replace(sum_time=answer.sum_time + 1)

    monkeypatch.setattr(b1, "run_replicalab", off_by_one)
    out = _wrong(capsys, b1)
    assert "replicalab, tracing off ended in" in out and "1% loss: replicalab ended in" in out


def test_b4_catches_an_orset_that_loses_an_add(bench, capsys, monkeypatch) -> None:
    b4 = bench("b4_sets_counters")
    honest = b4.build_orset
    monkeypatch.setattr(b4, "build_orset", lambda adds, removes, replica: honest(adds[1:], removes, replica))
    out = _wrong(capsys, b4)
    assert "replicalab ORSet does not follow its rule (add-wins)" in out


def test_b7_catches_a_checker_that_calls_everything_linearizable(bench, capsys, monkeypatch) -> None:
    b7 = bench("b7_linearizability")
    honest = b7.linearizable

    class Yes:
        def __init__(self, verdict):
            self.ok, self.order, self.core = True, verdict.order, verdict.core

    def liar(ops):
        return Yes(honest(ops))

    real_stale = b7.stale

    def stale(ops):
        # The stale history is made with the honest checker (it asks which read is stale).
        monkeypatch.setattr(b7, "linearizable", honest)
        try:
            return real_stale(ops)
        finally:
            monkeypatch.setattr(b7, "linearizable", liar)

    monkeypatch.setattr(b7, "linearizable", liar)
    monkeypatch.setattr(b7, "stale", stale)
    out = _wrong(capsys, b7)
    assert "stale read: replicalab says linearizable=True, by construction False" in out


def test_b17_catches_a_counter_that_loses_an_increment(bench, capsys, monkeypatch) -> None:
    b17 = bench("b17_hot_counter")
    honest = b17.scenario

    def one_add_short(n, *, hot):
        story = honest(n, hot=hot)
        import attrs

        return attrs.evolve(story, workload=story.workload[1:])

    monkeypatch.setattr(b17, "scenario", one_add_short)
    out = _wrong(capsys, b17)
    assert "N=20 hot:" in out and "expected ({20}" in out
