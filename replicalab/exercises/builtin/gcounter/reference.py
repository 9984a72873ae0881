"""The reference for exercise ``gcounter``: replicalab's own G-Counter."""

from replicalab.crdts import GCounter

__all__ = ["GCounter"]
