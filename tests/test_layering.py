"""Layering: imports point one way only (DESIGN §1), and nothing imports unsafe or wall-clock modules.

Every ``.py`` file under ``replicalab/`` is parsed with :mod:`ast`. All imports
count: ``import x`` and ``from x import y``, relative imports, and imports
inside functions or ``if TYPE_CHECKING:`` blocks. The rules:

* every module has a **rank** (:data:`RANKS`, from DESIGN §1's layer map) and
  imports only modules of a lower rank, or modules of its own package; so there
  are no import cycles between packages, and none inside one (checked too);
* a replica module imports nothing from ``replicalab.sim`` (replicas are sans-I/O);
* a checker imports nothing from ``replicalab.sim`` or ``replicalab.replica`` (it reads histories);
* no module imports ``pickle``, ``marshal`` or ``shelve`` (no unsafe decoding),
  or ``time`` / ``datetime`` (simulated time only) — except that the grader's
  protocol module reads a monotonic clock for the learner process's deadlines;
* no module uses the module-level ``random`` functions (global, unseeded state).
  ``random.Random`` is the only name taken from ``random``; it is constructed
  only in ``replicalab.sim.rng``, where seeded named streams are made. Any other
  module may mention ``random.Random`` in a type annotation, and nothing else.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest

import replicalab

PACKAGE_DIR = Path(replicalab.__file__).resolve().parent

#: DESIGN §1, bottom to top. A module may import only modules of a lower rank (or of its own
#: package): errors and plain data at the bottom, then the primitives, the codecs, the items
#: and policies, the sans-I/O replicas, the simulator, and the checkers, pictures, scenarios,
#: exercises and the command line on top.
RANKS: dict[str, float] = {
    "replicalab.errors": 0,
    "replicalab._validate": 1,
    "replicalab._built": 1,
    "replicalab.events": 1,
    "replicalab.trace": 2,
    "replicalab.serialization": 2,
    "replicalab.ulid": 2,
    "replicalab.rfc6962": 2,
    "replicalab.clocks": 3,
    "replicalab.merkle": 3,
    "replicalab.merkle_index": 3.5,
    "replicalab.dots": 4,
    "replicalab.crdts": 5,
    "replicalab.items": 6,
    "replicalab.antientropy": 6,
    "replicalab.policies": 7,
    # The package's pure modules sit between the policies and the replicas (their own order by
    # what they import); the client on the replicas' requests; the GlobalTable, request files and
    # the package's __init__ (which hands out GlobalTable) on top of the scenarios.
    "replicalab.dynamodb": 12.7,
    "replicalab.dynamodb.exceptions": 7.0,
    "replicalab.dynamodb._reserved": 7.0,
    "replicalab.dynamodb.values": 7.1,
    "replicalab.dynamodb.syntax": 7.2,
    "replicalab.dynamodb.placeholders": 7.2,
    "replicalab.dynamodb.cells": 7.2,
    "replicalab.dynamodb.expressions": 7.3,
    "replicalab.dynamodb.evaluate": 7.4,
    "replicalab.dynamodb.table": 7.5,
    "replicalab.dynamodb.client": 8.5,
    "replicalab.dynamodb.global_table": 12.5,
    "replicalab.dynamodb.requestfile": 12.6,
    "replicalab.replica": 8,
    "replicalab.replica._keyspace": 7,
    "replicalab.quorum": 9,  # sans-I/O nodes built on replica.base; never imports sim (same rank)
    "replicalab.sim": 9,
    # Real sockets, the same replicas: above the simulator (whose ground truth, describe and
    # records it reuses), below the ledger and the scenarios that read its history.
    "replicalab.net": 10,
    "replicalab.ledger": 10,
    "replicalab.reconcile": 10,
    "replicalab.checkers": 10,
    "replicalab.viz": 11,
    "replicalab.testing": 11,
    "replicalab.scenarios": 12,
    "replicalab.explore": 13,
    "replicalab.sweeps": 13,
    "replicalab.exercises": 14,
    "replicalab.cli": 15,
    "replicalab.__main__": 16,
    "replicalab": 16,
}
FORBIDDEN_EVERYWHERE = {
    "pickle": "no pickle: decode only the allow-listed JSON format",
    "_pickle": "no pickle: decode only the allow-listed JSON format",
    "marshal": "no marshal: decode only the allow-listed JSON format",
    "shelve": "no shelve: it is pickle underneath",
    "time": "no wall-clock time: use simulated time (ctx.now / ctx.wall_time())",
    "datetime": "no wall-clock time: use simulated time (ctx.now / ctx.wall_time())",
}
RANDOM_STREAMS_MODULE = "replicalab.sim.rng"
#: The modules that read a real clock: the exercise grader's deadlines for the learner's
#: process, which runs in real time (issue #21; no reading of it reaches any output), and the
#: real-network runtime (issue #19), the one documented exception to determinism: its times
#: are real and its output says the run is not deterministic.
REAL_CLOCK_MODULES = ("replicalab.exercises.protocol", "replicalab.net.node", "replicalab.net.hub")


def within(module: str, prefixes: tuple[str, ...] | str) -> bool:
    """True if ``module`` is one of ``prefixes`` or a submodule of one."""
    if isinstance(prefixes, str):
        prefixes = (prefixes,)
    return any(module == p or module.startswith(p + ".") for p in prefixes)


# ---------------------------------------------------------------------------
# Reading imports


def imported_modules(tree: ast.Module, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """``(line, dotted name)`` for every import anywhere in ``tree``, relative ones resolved.

    For ``from x import y`` both ``x`` and ``x.y`` are yielded, since ``y`` may
    be a submodule (``from replicalab import sim``).
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base_parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield node.lineno, base
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{base}.{alias.name}"


def annotation_nodes(tree: ast.Module) -> set[int]:
    """ids of every AST node that sits inside a type annotation."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            roots.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            roots.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
    return {id(inner) for root in roots for inner in ast.walk(root)}


def random_violations(tree: ast.Module, module: str) -> Iterator[str]:
    """Uses of the ``random`` module other than ``random.Random`` where it is allowed."""
    may_construct = module == RANDOM_STREAMS_MODULE
    aliases: set[str] = set()
    for node in ast.walk(tree):
        # _random is random.Random's C base, the bare generator: RandomStreams.generator makes it.
        if not may_construct and (
                (isinstance(node, ast.Import) and any(a.name == "_random" for a in node.names))
                or (isinstance(node, ast.ImportFrom) and node.module == "_random" and not node.level)):
            yield (f"line {node.lineno}: imports _random outside {RANDOM_STREAMS_MODULE}; "
                   "take a generator from RandomStreams.generator")
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == "random"}
        elif isinstance(node, ast.ImportFrom) and node.module == "random" and not node.level:
            for alias in node.names:
                if alias.name != "Random":
                    yield f"line {node.lineno}: 'from random import {alias.name}' uses global random state"
                elif not may_construct:
                    yield (f"line {node.lineno}: 'from random import Random' outside "
                           f"{RANDOM_STREAMS_MODULE}; take a stream from RandomStreams")
    if not aliases:
        return
    in_annotation = annotation_nodes(tree)
    parents = {id(child): parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id in aliases):
            continue
        parent = parents.get(id(node))
        attribute = parent.attr if isinstance(parent, ast.Attribute) else None
        if attribute != "Random":
            what = f"random.{attribute}" if attribute else "the random module itself"
            yield f"line {node.lineno}: uses {what}; only random.Random (seeded streams) is allowed"
        elif not may_construct and id(node) not in in_annotation:
            yield (f"line {node.lineno}: uses random.Random outside a type annotation; "
                   f"only {RANDOM_STREAMS_MODULE} makes generators (use RandomStreams)")


def rank_of(module: str) -> tuple[str, float] | None:
    """The entry of :data:`RANKS` that ``module`` belongs to (the longest prefix), and its rank."""
    for name in sorted(RANKS, key=len, reverse=True):
        if within(module, name):
            return name, RANKS[name]
    return None


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """Every layering rule ``source`` (the text of ``module``) breaks, as readable lines."""
    tree = ast.parse(source)
    found: list[str] = []
    mine = rank_of(module)
    for line, name in imported_modules(tree, module, is_package):
        top = name.partition(".")[0]
        if top == "time" and module in REAL_CLOCK_MODULES:
            continue
        if top in FORBIDDEN_EVERYWHERE:
            found.append(f"{module} line {line}: imports {name}; {FORBIDDEN_EVERYWHERE[top]}")
        theirs = rank_of(name) if top == "replicalab" and name != "replicalab" else None
        if mine is not None and theirs is not None and theirs[0] != mine[0] and theirs[1] >= mine[1]:
            found.append(f"{module} line {line}: imports {name} ({theirs[0]}, rank {theirs[1]}), "
                         f"which is not below {mine[0]} (rank {mine[1]})")
        if within(module, "replicalab.replica") and within(name, "replicalab.sim"):
            found.append(f"{module} line {line}: replica imports {name}; replicas are sans-I/O")
        if within(module, "replicalab.checkers") and within(name, ("replicalab.sim", "replicalab.replica")):
            found.append(f"{module} line {line}: checker imports {name}; a checker reads histories, "
                         "never the simulator or the replicas")
    found += [f"{module} {v}" for v in random_violations(tree, module)]
    return found


# ---------------------------------------------------------------------------
# The package


def package_modules() -> list[tuple[str, Path, bool]]:
    """``(dotted name, path, is_package)`` for every module under replicalab/."""
    out = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        out.append((".".join(parts), path, is_package))
    return out


MODULES = package_modules()


def test_every_module_has_a_rank() -> None:
    unranked = [name for name, _, _ in MODULES if rank_of(name) is None]
    assert not unranked, f"give these modules a rank in RANKS: {unranked}"


def test_there_are_no_import_cycles_inside_a_package() -> None:
    """Across packages the ranks forbid cycles; inside one, look for them directly."""
    graph = nx.DiGraph()
    names = {name for name, _, _ in MODULES}
    for name, path, is_package in MODULES:
        graph.add_node(name)
        for _, imported in imported_modules(ast.parse(path.read_text(encoding="utf-8")), name,
                                            is_package):
            while imported and imported not in names:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not within(name, imported) \
                    and not within(imported, name):
                graph.add_edge(name, imported)
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_every_layer_of_the_package() -> None:
    names = {name for name, _, _ in MODULES}
    for expected in ("replicalab", "replicalab.clocks", "replicalab.crdts.registers",
                     "replicalab.policies", "replicalab.replica.base", "replicalab.sim.rng",
                     "replicalab.scenarios.world", "replicalab.cli",
                     # the simulator's modules, ranked with their package (replicalab.sim)
                     "replicalab.sim.events", "replicalab.sim.context", "replicalab.sim.links",
                     "replicalab.sim.clients", "replicalab.sim.runtime", "replicalab.sim.setup",
                     "replicalab.sim.view", "replicalab.sim.simulation"):
        assert expected in names


@pytest.mark.parametrize(("module", "path", "is_package"), MODULES, ids=[m for m, _, _ in MODULES])
def test_module_respects_the_layering_and_safety_rules(module: str, path: Path, is_package: bool) -> None:
    problems = violations(path.read_text(encoding="utf-8"), module, is_package)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------
# The checker itself: each rule must be able to fail


def test_checker_catches_a_primitive_importing_the_simulator() -> None:
    assert violations("from replicalab.sim import Simulation\n", "replicalab.clocks")


def test_checker_catches_a_relative_import_of_a_higher_layer_from_a_primitive() -> None:
    assert violations("from .sim import network\n", "replicalab.dots")
    assert violations("from .. import ledger\n", "replicalab.crdts.registers")
    assert violations("from ..viz.text import table\n", "replicalab.crdts.registers")


def test_checker_catches_a_submodule_named_in_from_import() -> None:
    assert violations("from replicalab import scenarios\n", "replicalab.policies")


def test_checker_catches_an_import_inside_a_function() -> None:
    source = "def f():\n    import replicalab.cli\n    return replicalab.cli\n"
    assert violations(source, "replicalab.errors")


def test_checker_catches_an_import_under_type_checking() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from replicalab.replica.table import TableReplica\n"
    )
    assert violations(source, "replicalab.items")


def test_checker_catches_an_upward_import_between_top_layers() -> None:
    assert violations("from replicalab.scenarios import run\n", "replicalab.viz.story")
    assert violations("from replicalab.viz.svg import to_svg\n", "replicalab.trace")
    assert violations("from replicalab.crdts import GCounter\n", "replicalab.serialization")


def test_checker_catches_a_replica_module_importing_the_simulator() -> None:
    assert violations("from replicalab.sim.clock import WallClock\n", "replicalab.replica.table")
    assert violations("from ..sim import rng\n", "replicalab.replica.base")


def test_checker_catches_pickle_marshal_shelve_and_wall_clock_time_anywhere() -> None:
    for source in ("import pickle\n", "from marshal import loads\n", "import shelve as s\n",
                   "import time\n", "from time import monotonic\n", "import datetime\n",
                   "from datetime import datetime\n", "def f():\n    import pickle\n"):
        assert violations(source, "replicalab.scenarios.world"), source


def test_checker_catches_module_level_random_functions() -> None:
    for source in ("import random\nx = random.random()\n",
                   "import random\nrandom.seed(1)\n",
                   "import random as r\nr.shuffle([])\n",
                   "from random import choice\n",
                   "import random\nf = random\n"):
        assert violations(source, RANDOM_STREAMS_MODULE), source


def test_checker_catches_random_generators_made_outside_the_streams_module() -> None:
    assert violations("import random\nrng = random.Random(1)\n", "replicalab.sim.network")
    assert violations("from random import Random\n", "replicalab.sim.simulation")
    assert violations("from _random import Random\n", "replicalab.sim.links")
    assert violations("import _random\n", "replicalab.sim.network")
    assert violations("from _random import Random as Generator\n", RANDOM_STREAMS_MODULE) == []


def test_checker_allows_what_the_rules_allow() -> None:
    streams = "import random\nimport hashlib\nrng = random.Random(int.from_bytes(b'x', 'big'))\n"
    annotated = "import random\ndef sample(rng: random.Random) -> int:\n    return 1\n"
    assert violations(streams, RANDOM_STREAMS_MODULE) == []
    assert violations(annotated, "replicalab.sim.network") == []
    assert violations("from replicalab.clocks import VectorClock\n", "replicalab.crdts.registers") == []
    assert violations("from replicalab.sim import Simulation\n", "replicalab.scenarios.world") == []
    assert violations("from replicalab.viz import svg\n", "replicalab.scenarios.result") == []
    assert violations("from . import _validate\n", "replicalab.clocks") == []
    assert violations("from replicalab.items import Item\n", "replicalab.replica.table") == []


def test_importing_replicalab_does_not_import_networkx() -> None:
    """networkx is most of the import time (issue #20): only code that builds or draws a
    graph imports it, so ``import replicalab`` and a run over the implied full mesh don't."""
    code = ("import sys, replicalab; replicalab.scenarios.run('london'); "
            "print('networkx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_importing_replicalab_leaves_the_scenarios_for_first_use() -> None:
    """The scenario catalogue (worlds, London, workloads, the ledger) is a fifth of the import
    time (issue #20, B15: 147 ms → 116 ms without it): ``import replicalab`` leaves it out, and
    ``replicalab.scenarios`` — or ``from replicalab import scenarios`` — brings it in on first
    use, the same module either way."""
    code = ("import sys, replicalab; print('replicalab.scenarios' in sys.modules); "
            "from replicalab import scenarios; import replicalab.scenarios as again; "
            "print(replicalab.scenarios is scenarios is again, scenarios.run('london').summary['silently_lost'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "1"]


def test_import_replicalab_imports_nothing_until_a_name_is_used() -> None:
    """B15 (issue #20): ``import replicalab`` binds its names on first use (PEP 562), so it
    imports no submodule at all; each name and each submodule is then the same object as in
    its home module, and a name that is neither raises AttributeError."""
    code = ("import sys, replicalab; print(sorted(m for m in sys.modules if m.startswith('replicalab.'))); "
            "from replicalab import Simulation, TableReplica, get_policy; import replicalab.sim, replicalab.replica; "
            "print(Simulation is replicalab.sim.Simulation, TableReplica is replicalab.replica.TableReplica, "
            "replicalab.dynamodb.GlobalTable.__module__, replicalab.viz.__name__, "
            "all(getattr(replicalab, n) is not None for n in replicalab.__all__), "
            "set(replicalab.__all__) <= set(dir(replicalab)), hasattr(replicalab, 'nonesuch'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [
        "[]", "True True replicalab.dynamodb.global_table replicalab.viz True True False"]


def test_a_submodule_that_fails_to_import_says_why_instead_of_no_such_attribute(tmp_path: Path) -> None:
    """The lazy ``__getattr__`` turns only a missing submodule into AttributeError: a submodule
    that exists but imports something missing raises that error, naming it."""
    package = tmp_path / "replicalab_probe"
    shutil.copytree(Path(replicalab.__file__).parent, package / "replicalab",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (package / "replicalab" / "broken.py").write_text("import no_such_module_here\n")
    code = ("import replicalab\ntry:\n    replicalab.broken\nexcept ModuleNotFoundError as e:\n"
            "    print('ModuleNotFoundError', e.name)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(package)}, cwd=tmp_path)
    assert out.stdout.strip() == "ModuleNotFoundError no_such_module_here"


def test_a_trace_draws_itself_in_a_process_that_never_imported_the_pictures() -> None:
    """The trace never imports :mod:`replicalab.viz` when it is imported (the pictures sit far
    above it); its first drawing does, so ``Trace.to_svg`` works whatever was imported before."""
    code = ("import sys; from replicalab.trace import Trace; t = Trace(); t.record(0, 'Started', 'a', {}); "
            "print('replicalab.viz' in sys.modules, t.to_svg().startswith('<svg'), 'replicalab.viz' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]
