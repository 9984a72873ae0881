"""Planted wrong solution: an invariant about the write item-lww never loses (it catches nothing)."""

INVARIANT = {"write": "w2", "verdicts": ["kept"]}
MERGE = "causal"
