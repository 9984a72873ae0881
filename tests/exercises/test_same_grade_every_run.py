"""The same submission gets the same report in every grading run: workers get a fixed hash seed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from replicalab.exercises import sandbox


def test_worker_interpreters_get_the_fixed_hash_seed_of_their_environment(tmp_path: Path) -> None:
    """The fork server (whose forks are the workers) starts with the sandbox's flags and
    environment. It once ran ``python -I``, which ignores PYTHONHASHSEED: every grading run
    gave learner code a new hash seed, so a submission whose result depends on set order
    (``solutions/mv-register/wrong_keeps_latest.py``) could grade differently run to run."""
    env = sandbox._environment(str(tmp_path))
    assert env["PYTHONHASHSEED"] == "0"
    hashes = {subprocess.run([sys.executable, *sandbox._SERVER_FLAGS, "-c", "print(hash('abc'))"],
                             env=env, capture_output=True, text=True, check=True,
                             timeout=60).stdout for _ in range(3)}
    assert len(hashes) == 1
