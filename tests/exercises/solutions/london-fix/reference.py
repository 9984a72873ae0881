"""The reference for exercise ``london-fix``: replicalab's per-attribute LWW policy.

DynamoDB resolves per item; Cassandra per column. Deciding per attribute keeps
both London writes, because they touched different attributes. (``causal``
siblings and ``crdt`` would pass too: they keep concurrent writes by design.)
"""

from typing import ClassVar

from replicalab.policies import AttributeLWW


class LondonFix(AttributeLWW):
    name: ClassVar[str] = "london-fix"
