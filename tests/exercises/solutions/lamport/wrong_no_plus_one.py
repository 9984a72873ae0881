"""Planted wrong solution: receive takes the max but forgets the receive is an event too."""

from __future__ import annotations


class LamportClock:
    def __init__(self, replica: str, time: int = 0) -> None:
        self.replica = replica
        self.time = time

    def tick(self) -> LamportClock:
        return LamportClock(self.replica, self.time + 1)

    def receive(self, remote: int) -> LamportClock:
        if remote < 0:
            raise ValueError("negative time")
        return LamportClock(self.replica, max(self.time, remote))

    @property
    def stamp(self) -> tuple[int, str]:
        return (self.time, self.replica)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LamportClock) and (self.replica, self.time) == (other.replica, other.time)
