"""The reference for exercise ``lamport``: a Lamport clock written out, as a learner would."""

from __future__ import annotations


class LamportClock:
    """A Lamport clock owned by one replica — a value: every verb returns a new clock."""

    def __init__(self, replica: str, time: int = 0) -> None:
        self.replica = replica
        self.time = time

    def tick(self) -> LamportClock:
        return LamportClock(self.replica, self.time + 1)

    def receive(self, remote: int) -> LamportClock:
        if type(remote) is not int or remote < 0:
            raise ValueError(f"a remote time is an int >= 0, got {remote!r}")
        return LamportClock(self.replica, max(self.time, remote) + 1)

    @property
    def stamp(self) -> tuple[int, str]:
        return (self.time, self.replica)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, LamportClock)
                and (self.replica, self.time) == (other.replica, other.time))

    def __hash__(self) -> int:
        return hash((self.replica, self.time))

    def __repr__(self) -> str:
        return f"LamportClock({self.replica!r}, {self.time})"
