"""Planted wrong solution: on a wall-time tie, receive counts on from its own counter only.

When our wall, the message's wall and the new wall are all equal, both stamps
share the new wall, so the receive must come after *both* counters:
``max(logical, remote.logical) + 1``. Counting on from ``logical`` alone gives
a stamp at or below the message's whenever the sender had counted further.
"""

from __future__ import annotations


class HybridLogicalClock:
    def __init__(self, replica: str, wall: int = 0, logical: int = 0) -> None:
        self.replica = replica
        self.wall = wall
        self.logical = logical

    def tick(self, wall: int) -> HybridLogicalClock:
        if wall > self.wall:
            return HybridLogicalClock(self.replica, wall, 0)
        return HybridLogicalClock(self.replica, self.wall, self.logical + 1)

    def receive(self, remote: HybridLogicalClock, wall: int) -> HybridLogicalClock:
        top = max(self.wall, remote.wall, wall)
        if top == self.wall:
            return HybridLogicalClock(self.replica, top, self.logical + 1)
        if top == remote.wall:
            return HybridLogicalClock(self.replica, top, remote.logical + 1)
        return HybridLogicalClock(self.replica, top, 0)

    @property
    def stamp(self) -> tuple[int, int, str]:
        return (self.wall, self.logical, self.replica)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, HybridLogicalClock)
                and (self.replica, self.wall, self.logical)
                == (other.replica, other.wall, other.logical))
