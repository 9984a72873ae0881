"""Exercise: a Lamport clock (replicalab exercise ``lamport``).

Fill in the bodies marked ``raise NotImplementedError``. Keep the names and
signatures: the checks call them. Then run::

    replicalab exercise check lamport lamport.py

replicalab's own type check (mypy) skips this file: it is yours, typed as you like.
"""

from __future__ import annotations


class LamportClock:
    """A Lamport clock owned by one replica — a value: every verb returns a new clock.

    Contract (Lamport 1978):

    * ``LamportClock("a").time == 0``;
    * ``tick()`` (a local event, or a send) returns a clock at ``time + 1``;
    * ``receive(remote)`` (a message stamped ``remote``) returns a clock at
      ``max(time, remote) + 1``;
    * ``stamp`` is ``(time, replica)``: ordering stamps by it is a total order
      that extends happened-before;
    * ``receive`` of a negative time raises ``ValueError`` and changes nothing.

        >>> a = LamportClock("a").tick()
        >>> b = LamportClock("b").receive(a.time)
        >>> a.time, b.time, a.stamp < b.stamp
        (1, 2, True)
    """

    def __init__(self, replica: str, time: int = 0) -> None:
        self.replica = replica
        self.time = time

    def tick(self) -> LamportClock:
        """The clock after one local event or send."""
        raise NotImplementedError

    def receive(self, remote: int) -> LamportClock:
        """The clock after receiving a message stamped ``remote`` (an int >= 0)."""
        raise NotImplementedError

    @property
    def stamp(self) -> tuple[int, str]:
        """``(time, replica)``: the total order of Lamport stamps."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, LamportClock)
                and (self.replica, self.time) == (other.replica, other.time))

    def __repr__(self) -> str:
        return f"LamportClock({self.replica!r}, {self.time})"
