"""The reference for exercise ``mv-register``: replicalab's own register.

The library keeps one dot per value and a causal context instead of a clock
per sibling; the checks only use ``assign``, ``merge``, ``value`` and ``==``.
"""

from replicalab.crdts import MVRegister

__all__ = ["MVRegister"]
