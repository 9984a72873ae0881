"""Planted wrong solution: the right invariant, but the merge that breaks it."""

INVARIANT = {"write": "every", "verdicts": ["kept", "superseded"]}
MERGE = "item-lww"
