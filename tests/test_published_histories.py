"""The checker agrees with Knossos and Porcupine on their published histories.

The fixtures under ``tests/linearizability/histories`` were converted from the two projects' test
data (sources, commits, licences and what was left out: ``tests/linearizability/README.md``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from replicalab.checkers import History, Operation, linearizable

HERE = Path(__file__).resolve().parent / "linearizability" / "histories"
FILES = sorted(HERE.glob("*.json"))


def test_the_fixtures_cover_both_sources_and_both_verdicts() -> None:
    docs = [json.loads(path.read_text()) for path in FILES]
    assert len(docs) == 27
    for repo in ("jepsen-io/knossos", "anishathalye/porcupine"):
        verdicts = {d["verdict"] for d in docs if d["source"].startswith(repo)}
        assert verdicts == {True, False}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_published_verdict(path: Path) -> None:
    doc = json.loads(path.read_text())
    history = History.from_json(json.dumps(doc["history"]))
    verdict = linearizable(history)
    assert verdict.ok == doc["verdict"], doc["source"]
    if not verdict.ok:
        assert not linearizable(verdict.core_history).ok


def porcupine_register(ops: list[tuple[int, str, int, int, int]]) -> list[Operation]:
    """Porcupine's ``registerModel`` operations: (client, "put" or "get", value, call, return)."""
    return [Operation(str(client), call, ret, "write", value) if kind == "put"
            else Operation(str(client), call, ret, "read", output=value)
            for client, kind, value, call, ret in ops]


def porcupine(ops: list[tuple[int, str, int, int, int]]) -> bool:
    return linearizable(porcupine_register(ops), initial=0).ok


def test_porcupine_register_model_examples() -> None:
    """``TestRegisterModel`` (porcupine_test.go; from MIT 6.824's 2017 quiz 2, section VII)."""
    assert porcupine([(0, "put", 100, 0, 100), (1, "get", 100, 25, 75), (2, "get", 0, 30, 60)])
    assert not porcupine([(0, "put", 200, 0, 100), (1, "get", 200, 10, 30), (2, "get", 0, 40, 90)])


def test_porcupine_zero_duration_examples() -> None:
    """``TestZeroDuration``: operations whose call and return are the same instant."""
    assert porcupine([(0, "put", 100, 0, 100), (1, "get", 100, 25, 75), (2, "get", 0, 30, 30),
                      (3, "get", 0, 30, 30)])
    assert not porcupine([(0, "put", 200, 0, 100), (1, "get", 200, 10, 10),
                          (2, "get", 200, 10, 10), (3, "get", 0, 40, 90)])
