"""Reference: the address change must be kept in every schedule; attribute-lww keeps it."""

INVARIANT = {"write": "w1", "verdicts": ["kept"]}
MERGE = "attribute-lww"
