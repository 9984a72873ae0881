"""Planted wrong solution: the invariant accepts the very verdict it should rule out."""

INVARIANT = {"write": "w1", "verdicts": ["kept", "silently-lost"]}
MERGE = "crdt"
