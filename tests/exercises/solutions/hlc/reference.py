"""The reference for exercise ``hlc`` (written out, as a learner would). Exercise: a hybrid logical clock (replicalab exercise ``hlc``).

Fill in the bodies marked ``raise NotImplementedError``. Keep the names and
signatures: the checks call them (with ``wall=`` as a keyword). Then run::

    replicalab exercise check hlc hlc.py
"""

from __future__ import annotations


class HybridLogicalClock:
    """A hybrid logical clock owned by one replica — a value: every verb returns a new clock.

    The stamp is ``(wall, logical)``. ``wall`` is the largest wall-clock time
    seen so far, on this replica's own physical clock *or in a message*;
    ``logical`` counts events that share that ``wall`` value. Wall times are
    integer milliseconds; the physical clock may stall, jump or step back.

    Contract (Kulkarni, Demirbas et al., *Logical Physical Clocks*, 2014), with
    ``pt`` the local physical time passed as ``wall=``:

    * ``HybridLogicalClock("a")`` starts at ``wall == 0, logical == 0``;
    * ``tick(wall=pt)`` (a local event or a send): the new wall is
      ``max(wall, pt)``. If that is more than the old wall, logical resets to
      0; if the wall did not advance, logical is the old logical + 1;
    * ``receive(remote, wall=pt)`` (a message stamped by the clock ``remote``):
      the new wall is ``max(wall, remote.wall, pt)``, and logical is
      one more than the counter of every stamp that shares the new wall —
      ``max(logical, remote.logical) + 1`` if both do, ``logical + 1`` if only
      ours does, ``remote.logical + 1`` if only the remote's does, and 0 if
      only ``pt`` reaches it;
    * ``stamp`` is ``(wall, logical, replica)``; ordering stamps by it is a
      total order that extends happened-before.

        >>> a = HybridLogicalClock("a").tick(wall=5)
        >>> b = HybridLogicalClock("b").receive(a, wall=3)   # b's clock is behind
        >>> (a.wall, a.logical), (b.wall, b.logical), a.stamp < b.stamp
        ((5, 0), (5, 1), True)
    """

    def __init__(self, replica: str, wall: int = 0, logical: int = 0) -> None:
        self.replica = replica
        self.wall = wall
        self.logical = logical

    def tick(self, wall: int) -> HybridLogicalClock:
        """The clock after a local event or a send, at local physical time ``wall``."""
        top = max(self.wall, wall)
        logical = 0 if top > self.wall else self.logical + 1
        return HybridLogicalClock(self.replica, top, logical)

    def receive(self, remote: HybridLogicalClock, wall: int) -> HybridLogicalClock:
        """The clock after receiving a message stamped ``remote``, at local physical time ``wall``."""
        top = max(self.wall, remote.wall, wall)
        if top == self.wall and top == remote.wall:
            logical = max(self.logical, remote.logical) + 1
        elif top == self.wall:
            logical = self.logical + 1
        elif top == remote.wall:
            logical = remote.logical + 1
        else:
            logical = 0
        return HybridLogicalClock(self.replica, top, logical)

    @property
    def stamp(self) -> tuple[int, int, str]:
        """``(wall, logical, replica)``: the total order of HLC stamps."""
        return (self.wall, self.logical, self.replica)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, HybridLogicalClock)
                and (self.replica, self.wall, self.logical)
                == (other.replica, other.wall, other.logical))

    def __repr__(self) -> str:
        return f"HybridLogicalClock({self.replica!r}, {self.wall}, {self.logical})"
