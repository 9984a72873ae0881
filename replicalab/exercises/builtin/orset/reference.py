"""The reference for exercise ``orset``: replicalab's own add-wins OR-Set."""

from replicalab.crdts import ORSet

__all__ = ["ORSet"]
