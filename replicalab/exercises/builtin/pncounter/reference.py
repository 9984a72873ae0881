"""The reference for exercise ``pncounter``: replicalab's own PN-Counter."""

from replicalab.crdts import PNCounter

__all__ = ["PNCounter"]
