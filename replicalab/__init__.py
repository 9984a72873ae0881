"""replicalab: learn distributed replication by running it.

The names a learner needs first; everything else lives in its module
(``replicalab.clocks``, ``replicalab.crdts``, ``replicalab.sim``, ...).

    >>> from replicalab import scenarios
    >>> scenarios.run("london", merge="attribute-lww").summary["silently_lost"]
    0

Every name here, and every submodule (``replicalab.sim``, ``replicalab.dynamodb``, ...), is
imported on first use (PEP 562's module ``__getattr__``), so ``import replicalab`` costs almost
nothing: a worker process of a sweep, or a script that only reads a trace, pays only for the
modules it touches. ``from replicalab import Simulation`` imports what ``Simulation`` needs,
once; the names are the same objects as in their modules.
"""

from __future__ import annotations

import importlib

#: ``typing.TYPE_CHECKING`` without importing typing (~12 ms): mypy reads any constant of this
#: name as true, the interpreter as false.
TYPE_CHECKING = False

__all__ = [
    "Causality",
    "HybridLogicalClock",
    "LWWRegister",
    "LamportClock",
    "MVRegister",
    "ReplicaLabError",
    "Replica",
    "Simulation",
    "TableReplica",
    "VectorClock",
    "get_policy",
    "policy_names",
    "scenarios",
    "sweep",
]

__version__ = "0.1.0"

#: Where each name of ``__all__`` lives (``scenarios`` is a module of its own).
_HOMES = {
    "Causality": "replicalab.clocks",
    "HybridLogicalClock": "replicalab.clocks",
    "LamportClock": "replicalab.clocks",
    "VectorClock": "replicalab.clocks",
    "LWWRegister": "replicalab.crdts",
    "MVRegister": "replicalab.crdts",
    "ReplicaLabError": "replicalab.errors",
    "get_policy": "replicalab.policies",
    "policy_names": "replicalab.policies",
    "Replica": "replicalab.replica",
    "TableReplica": "replicalab.replica",
    "Simulation": "replicalab.sim",
    "sweep": "replicalab.sweeps",
}

if TYPE_CHECKING:
    from typing import Any

    from replicalab import scenarios
    from replicalab.clocks import Causality, HybridLogicalClock, LamportClock, VectorClock
    from replicalab.crdts import LWWRegister, MVRegister
    from replicalab.errors import ReplicaLabError
    from replicalab.policies import get_policy, policy_names
    from replicalab.replica import Replica, TableReplica
    from replicalab.sim import Simulation
    from replicalab.sweeps import sweep


def __getattr__(name: str) -> Any:
    """A name of ``__all__``, or a submodule (``replicalab.viz``), imported on first use."""
    home = _HOMES.get(name)
    if home is not None:
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value  # later reads skip this function
        return value
    if not name.startswith("_"):
        try:
            # Importing a submodule binds it here as an attribute, as `import replicalab.x` does.
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise  # the submodule exists and failed to import something: say so
    raise AttributeError(f"module 'replicalab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
