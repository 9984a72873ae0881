"""One exception hierarchy for everything replicalab raises on purpose.

Every error a user can provoke is a subclass of :class:`ReplicaLabError`, so
``except ReplicaLabError`` catches exactly the library's own complaints. Each
message names the bad field and says what would be valid. A call that raises
leaves every object it was given unchanged (we validate before mutating).

    ReplicaLabError
    ├── ConfigError                 bad configuration of a run or a primitive
    │   ├── ReplicaIdError          unknown, duplicate or malformed replica id
    │   ├── TopologyError           malformed topology (self-loop, disconnected, no link)
    │   ├── LatencyError            negative/NaN latency, probability outside [0, 1]
    │   └── FaultScheduleError      a fault scheduled at an impossible time or place
    ├── ClockError                  negative entries, clocks that cannot be compared
    ├── MergeValidationError        states no sequence of operations could reach
    ├── ConditionalCheckFailed      a conditional write's condition was false (client is told)
    ├── ReplicatedWriteConflict     a synchronous write lost a race (client is told; retryable)
    ├── InvalidRequest              a request the store refuses as malformed (DynamoDB's
    │                               ValidationException, ResourceNotFoundException)
    ├── SerializationError          untrusted serialized state that is not well formed
    └── NetworkRunError             a real-network run failed: a replica process died or
                                    did not answer in time (replicalab.net)
"""

from __future__ import annotations

__all__ = [
    "ClockError",
    "ConditionalCheckFailed",
    "ConfigError",
    "FaultScheduleError",
    "InvalidRequest",
    "LatencyError",
    "MergeValidationError",
    "NetworkRunError",
    "ReplicaIdError",
    "ReplicaLabError",
    "ReplicatedWriteConflict",
    "SerializationError",
    "TopologyError",
]


class ReplicaLabError(Exception):
    """Base class of every error replicalab raises deliberately."""


class ConfigError(ReplicaLabError, ValueError):
    """A run, scenario, policy or primitive was configured with invalid values."""


class ReplicaIdError(ConfigError):
    """A replica id is unknown, duplicated, or not a non-empty string."""


class TopologyError(ConfigError):
    """A topology is malformed: a self-loop, a disconnected graph, or a missing link."""


class LatencyError(ConfigError):
    """A link was given a negative or non-finite latency, or a probability outside [0, 1]."""


class FaultScheduleError(ConfigError):
    """A fault was scheduled at an impossible time or against an unknown target."""


class ClockError(ReplicaLabError, ValueError):
    """A clock was given a negative or non-integer entry, or clocks that cannot be combined."""


class MergeValidationError(ReplicaLabError, ValueError):
    """Two states cannot both be reachable: e.g. one LWW marker carrying two different values.

    Raised instead of silently picking a winner, because a merge that "works" on
    unreachable states hides a bug upstream.
    """


class ConditionalCheckFailed(ReplicaLabError):
    """A conditional write was refused because its condition was false on the local replica."""


class ReplicatedWriteConflict(ReplicaLabError):
    """A synchronously replicated write conflicted with a concurrent write and was refused."""


class InvalidRequest(ReplicaLabError, ValueError):
    """A request was refused before it changed anything: a malformed expression, a value of the
    wrong type, a key that does not match the table, or a table that does not exist."""


class SerializationError(ReplicaLabError, ValueError):
    """Serialized state was malformed, of an unknown format, or exceeded a safety limit."""


class NetworkRunError(ReplicaLabError, RuntimeError):
    """A real-network run (:mod:`replicalab.net`) failed: a replica process exited or raised, or the
    run did not finish within its timeout. Every process of the run has been stopped by then;
    ``pids`` names them (replica id -> process id)."""
