"""Planted wrong solution: receive ignores the remote's wall time.

It takes ``max(wall, pt)`` as a tick would and only bumps the counter past the
remote's. When the sender's clock is ahead (or ours is slow), the receive gets
a stamp *smaller* than the message's: the effect is ordered before its cause,
exactly the skew bug an HLC exists to prevent.
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
        if wall > self.wall:
            return HybridLogicalClock(self.replica, wall, 0)
        return HybridLogicalClock(self.replica, self.wall, max(self.logical, remote.logical) + 1)

    @property
    def stamp(self) -> tuple[int, int, str]:
        return (self.wall, self.logical, self.replica)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, HybridLogicalClock)
                and (self.replica, self.wall, self.logical)
                == (other.replica, other.wall, other.logical))
