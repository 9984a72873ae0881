"""Planted wrong solution: receive resets logical to 0 whenever the wall moves.

"New wall, fresh counter" is right for a tick, and for a receive when the
local physical clock is what moved the wall. But when the *message's* wall is
the new maximum, the receive's stamp must still come after the message's
``(wall, logical)``: its counter is ``remote.logical + 1``, not 0.
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
        if top > self.wall:
            return HybridLogicalClock(self.replica, top, 0)
        if top == remote.wall:
            return HybridLogicalClock(self.replica, top, max(self.logical, remote.logical) + 1)
        return HybridLogicalClock(self.replica, top, self.logical + 1)

    @property
    def stamp(self) -> tuple[int, int, str]:
        return (self.wall, self.logical, self.replica)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, HybridLogicalClock)
                and (self.replica, self.wall, self.logical)
                == (other.replica, other.wall, other.logical))
