"""State-based CRDTs: values that merge themselves.

Every type here is an immutable value with a no-argument constructor, a
``.value``, verbs that return new values, and ``merge(other)``, a join:
commutative, associative and idempotent, with every verb an inflation.
"""

from replicalab.crdts.registers import LWWRegister, MVRegister

__all__ = ["LWWRegister", "MVRegister"]
