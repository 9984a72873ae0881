"""replicalab: learn distributed replication by running it.

The names a learner needs first; everything else lives in its module
(``replicalab.clocks``, ``replicalab.crdts``, ``replicalab.sim``, ...).

    >>> from replicalab import scenarios
    >>> scenarios.run("london", merge="attribute-lww").summary["silently_lost"]
    0
"""

from replicalab import scenarios
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
]

__version__ = "0.1.0"
