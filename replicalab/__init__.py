"""replicalab: learn distributed replication by running it.

The names a learner needs first; everything else lives in its module
(``replicalab.clocks``, ``replicalab.crdts``, ``replicalab.sim``, ...).

    >>>     >>> scenarios.run("london", merge="attribute-lww").summary["silently_lost"]
    0
"""

from typing import TYPE_CHECKING, Any

from replicalab.clocks import Causality, HybridLogicalClock, LamportClock, VectorClock
from replicalab.crdts import LWWRegister, MVRegister
from replicalab.errors import ReplicaLabError
from replicalab.policies import get_policy, policy_names
from replicalab.replica import Replica, TableReplica
from replicalab.sim import Simulation

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

if TYPE_CHECKING:
    from replicalab import scenarios
    from replicalab.sweeps import sweep


def __getattr__(name: str) -> Any:
    """``replicalab.sweep`` on first use: the sweep machinery (process pools, Dask hooks) stays
    out of ``import replicalab``, which every learner and every worker process pays for."""
    if name == "sweep":
        from replicalab.sweeps import sweep

        globals()["sweep"] = sweep
        return sweep
    if name == "scenarios":
        import replicalab.scenarios as scenarios

        return scenarios
    raise AttributeError(f"module 'replicalab' has no attribute {name!r}")

__version__ = "0.1.0"
