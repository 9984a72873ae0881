"""Determinism: one seed, one trace, byte for byte — in this process and in others."""

import json
import os
import random
import subprocess
import sys
import time

import pytest

from replicalab import scenarios
from replicalab.trace import canonical_json

SCRIPT = (
    "import sys; from replicalab import scenarios; "
    "sys.stdout.write(scenarios.run('london', merge=sys.argv[1], seed=int(sys.argv[2])).to_json())"
)


@pytest.mark.parametrize("merge", ["item-lww", "attribute-lww", "causal"])
def test_same_seed_same_bytes_in_process(merge):
    assert scenarios.run("london", merge=merge, seed=11).to_json() == \
        scenarios.run("london", merge=merge, seed=11).to_json()


def test_different_seeds_give_different_traces():
    assert scenarios.run("london", seed=1).to_json() != scenarios.run("london", seed=2).to_json()


@pytest.mark.parametrize("merge", ["item-lww", "causal"])
def test_same_seed_same_bytes_across_processes_and_hash_seeds(merge):
    expected = scenarios.run("london", merge=merge, seed=5).to_json()
    for hash_seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", SCRIPT, merge, "5"], env=env,
                             capture_output=True, text=True, check=True).stdout
        assert out == expected, f"output differs under PYTHONHASHSEED={hash_seed}"


def test_a_run_never_reads_the_wall_clock_or_global_random(monkeypatch):
    def forbidden(*_args, **_kwargs):
        raise AssertionError("a run touched wall-clock time or the global random generator")

    for name in ("time", "time_ns", "monotonic", "perf_counter"):
        monkeypatch.setattr(time, name, forbidden)
    for name in ("random", "randint", "choice", "shuffle", "uniform", "seed", "getrandbits"):
        monkeypatch.setattr(random, name, forbidden)
    for merge in ("item-lww", "attribute-lww", "causal"):
        scenarios.run("london", merge=merge, seed=9).to_json()


def test_the_json_document_is_canonical():
    text = scenarios.run("london", seed=0).to_json()
    assert canonical_json(json.loads(text)) == text  # sorted keys, compact separators
    assert '"format":"replicalab/result"' in text and '"schema_version":1' in text
