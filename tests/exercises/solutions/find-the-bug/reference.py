"""The reference for exercise ``find-the-bug``: the law, and a bag of replicalab G-Counters."""

from __future__ import annotations

from replicalab.crdts import GCounter

VIOLATED_LAW = "idempotent"


class FixedBag:
    """One G-Counter per page: each replica's views in its own slot, merged by max."""

    def __init__(self, pages: dict[str, GCounter] | None = None) -> None:
        self.pages = dict(pages or {})

    def add(self, page: str, replica: str) -> FixedBag:
        return FixedBag({**self.pages, page: self.pages.get(page, GCounter()).increment(replica)})

    def count(self, page: str) -> int:
        return self.pages[page].value if page in self.pages else 0

    @property
    def value(self) -> dict[str, int]:
        return {page: c.value for page, c in sorted(self.pages.items()) if c.value}

    def merge(self, other: FixedBag) -> FixedBag:
        pages = dict(self.pages)
        for page, counter in other.pages.items():
            pages[page] = pages[page].merge(counter) if page in pages else counter
        return FixedBag(pages)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FixedBag) and {p: c for p, c in self.pages.items() if c.value} == {
            p: c for p, c in other.pages.items() if c.value}

    def __repr__(self) -> str:
        return f"FixedBag({self.pages!r})"
