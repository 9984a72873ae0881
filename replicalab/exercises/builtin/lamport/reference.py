"""The reference for exercise ``lamport``: replicalab's own clock."""

from replicalab.clocks import LamportClock

__all__ = ["LamportClock"]
