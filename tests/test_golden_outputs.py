"""Golden output hashes: speed work must not change a single byte a user sees.

``tests/golden/outputs.json`` holds the SHA-256 of ``to_json()``, ``to_svg()``,
``to_svg(compact=True)`` and ``report()`` for every built-in scenario under every
built-in merge policy and two seeds, plus two generated workloads large enough for the
diagram's label placement and the ledger's bookkeeping to matter. A faster code path that
changes any of them has changed an answer, not only its cost.

After an intended change to an output, look at the new outputs, then regenerate:

    REPLICALAB_REGEN_GOLDEN=1 python -m pytest tests/test_golden_outputs.py
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from replicalab import scenarios
from replicalab.scenarios.workloads import planted, workload

GOLDEN = Path(__file__).parent / "golden" / "outputs.json"
POLICIES = ("item-lww", "attribute-lww", "causal", "crdt")


def _cases() -> list[tuple[str, str, int]]:
    return [(name, merge, seed) for name in scenarios.names() for merge in POLICIES for seed in (0, 1)]


def _digest(result: scenarios.Result) -> dict[str, str]:
    parts = {"json": result.to_json(), "svg": result.to_svg(),
             "svg-compact": result.to_svg(compact=True), "report": result.report()}
    return {kind: hashlib.sha256(text.encode("utf-8")).hexdigest() for kind, text in parts.items()}


def _outputs() -> dict[str, dict[str, str]]:
    out = {f"{name}/{merge}/{seed}": _digest(scenarios.run(name, merge, seed))
           for name, merge, seed in _cases()}
    out["workload:contested-2min/item-lww/0"] = _digest(workload("contested", minutes=2).run("item-lww", 0))
    out["planted-40/causal/0"] = _digest(planted(40, seed=0).run("causal", 0))
    return out


def test_every_output_matches_its_golden_hash():
    """Every scenario, policy and seed prints exactly the bytes it printed before."""
    outputs = _outputs()
    if os.environ.get("REPLICALAB_REGEN_GOLDEN"):
        GOLDEN.write_text(json.dumps(outputs, indent=1, sort_keys=True) + "\n", encoding="utf-8",
                          newline="\n")
        pytest.skip(f"regenerated {GOLDEN}")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(outputs) == sorted(golden), "the set of golden cases changed; regenerate (module docs)"
    changed = [f"{case} {kind}" for case in sorted(golden) for kind in golden[case]
               if outputs[case][kind] != golden[case][kind]]
    assert not changed, f"outputs changed: {changed[:10]}; if intended, regenerate (module docs)"
