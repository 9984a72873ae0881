"""The reference for exercise ``hlc``: replicalab's own clock."""

from replicalab.clocks import HybridLogicalClock

__all__ = ["HybridLogicalClock"]
