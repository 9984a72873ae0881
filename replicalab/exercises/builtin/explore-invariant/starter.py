"""Exercise: state the invariant (replicalab exercise ``explore-invariant``).

Chapter 15 explores every schedule of the London incident. Under ``item-lww`` some of
them lose the portal's address change; under a better merge none do. Say it as an
*invariant* — a statement that must hold at the end of every schedule — the explorer can
check, and name the merge policy under which it holds.

Your answer is data, not code: the grader reads the two values below and explores every
schedule itself.

``INVARIANT`` is a dict ``{"write": ID, "verdicts": [VERDICT, ...]}`` meaning "in every
schedule, the ledger gives write ``ID`` one of these verdicts" (``"write": "every"`` means
every write). Verdicts: ``kept``, ``superseded``, ``silently-lost``, ``detected``,
``rejected``, ``unreplicated``.

``MERGE`` is a merge policy name: ``item-lww``, ``attribute-lww``, ``causal`` or ``crdt``.

The checks: the explorer must find ``INVARIANT`` broken in some London schedule under
``item-lww``, and unbroken in every schedule under ``MERGE``. Check your answer before
you submit it::

    from replicalab import explore
    space = explore.scenario("london", merge="item-lww")
    print(space.verdicts())

    replicalab exercise check explore-invariant london_invariant.py

replicalab's own type check (mypy) skips this file: it is yours, typed as you like.
"""

from __future__ import annotations

from typing import Any

#: In every schedule, write INVARIANT["write"] gets one of INVARIANT["verdicts"].
INVARIANT: dict[str, Any] | None = None

#: The merge policy under which INVARIANT holds in every schedule.
MERGE: str | None = None
