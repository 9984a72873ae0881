"""How a region's writes, stamps and losses appear in its log: plain data for the trace.

Shared by every kind of region (:mod:`replicalab.replica.table`,
:mod:`replicalab.replica.mrsc`) and the anti-entropy driver, so a ``Wrote`` or a
``Merged`` event reads the same whoever logged it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from replicalab.items import INITIAL_WRITE, Stamp, sorted_elements
from replicalab.policies import Loss
from replicalab.replica.parts import leaves

__all__ = ["DropRule", "element_fields", "loss_fields", "stamp_fields", "written_fields"]


def written_fields(attributes: Mapping[str, Any], adds: Mapping[str, int],
                   elements: Mapping[str, tuple[frozenset[Any], frozenset[Any]]]) -> dict[str, Any]:
    """What a write did to each attribute, for people: values, ``+1``, ``+{pen} -{book}``."""
    shown = {**attributes, **{n: f"+{k}" for n, k in adds.items()}}
    for name, (added, deleted) in elements.items():
        parts = [f"{sign}{{{', '.join(str(e) for e in sorted_elements(part))}}}"
                 for sign, part in (("+", added), ("-", deleted)) if part]
        shown[name] = " ".join(parts)
    return dict(sorted(shown.items()))


def element_fields(elements: Mapping[str, tuple[frozenset[Any], frozenset[Any]]]) -> dict[str, Any]:
    """Set ADD/DELETE actions as plain data: ``{attribute: {"add": [...], "delete": [...]}}``."""
    return {name: {"add": sorted_elements(added), "delete": sorted_elements(deleted)}
            for name, (added, deleted) in sorted(elements.items())}


def stamp_fields(stamp: Stamp) -> dict[str, Any]:
    """A stamp as plain data for the trace."""
    return {"wall": stamp.wall, "logical": stamp.logical, "replica": stamp.replica, "seq": stamp.seq}


def loss_fields(losses: tuple[Loss, ...]) -> list[dict[str, Any]]:
    """Loss records as plain data for the trace: ``write``, ``attribute``, ``by``, ``rule``, and
    ``"carried": true`` on a record that is no drop (:attr:`Loss.carried`, :class:`DropRule`).

    ``carried`` is left out when false, so a trace with no such record keeps the bytes it had
    before the field existed (the trace's JSON form adds fields, never renames them).
    """
    return [
        {"write": x.write, "attribute": x.attribute, "by": x.by, "rule": x.rule,
         **({"carried": True} if x.carried else {})} for x in losses
    ]


class DropRule:
    """Which ``Wrote``/``Merged`` loss records (:func:`loss_fields`) show a client write's value
    *dropped*: the one rule every view of a run follows (text timeline, step-through page,
    space-time pictures, Mermaid, ShiViz), so they all name the same drops.

    A record ``(write, attribute, by)`` is no drop when

    * it is of the initial data (no client write, nothing the ledger judges);
    * it is ``carried`` (:attr:`~replicalab.policies.Loss.carried`): the policy says the write's
      effect carries on in ``by``'s value — a crdt counter's newer running total counts the
      earlier increment;
    * ``write`` changed the attribute only in part, and ``by`` (or a write whose cell holds the
      attribute after the event) built its value on ``write``'s, back through writes each of
      which left ``write``'s parts as they were — the ledger's rule,
      :func:`~replicalab.replica.parts.leaves`, over the ``parts`` and ``base`` of their
      ``Wrote`` lines: a second ``ADD n 1`` in one region under ``item-lww`` displaces the
      first one's value, yet its sum counts that increment; ``SET m.b = :v`` over ``SET m.a =
      :v``'s value still holds ``m.a``; a set ``ADD s {y}`` over ``ADD s {x}``'s still holds
      ``x``. An increment over a value some write *set*, or a ``SET m = :v`` over ``SET m.a =
      :v``'s value, is a drop of it (it no longer reads as written), as the ledger judges it;
    * every part ``write`` had of the attribute is ``keep`` (``SET a = if_not_exists(a, :v)``
      where ``a`` had a value): it wrote back the value it read, so it has nothing of its own
      there to lose (the ledger leaves such an attribute out of its effect,
      :attr:`~replicalab.ledger.WriteRecord.effect`).

    Every such record is still in the trace: the ledger reads them all. The rule reads only the
    trace (the ``Wrote`` lines of ``events``), so a bare trace's views follow it too.

        >>> from replicalab.trace import Event
        >>> add = {"n": [["add", ["n"]]]}
        >>> rule = DropRule([Event(0, 0, "Wrote", "eu", {"write": "w1", "parts": add}),
        ...                  Event(1, 10, "Wrote", "eu", {"write": "w2", "parts": add, "base": {"n": "w1"}})])
        >>> rule.is_drop({"write": "w1", "attribute": "n", "by": "w2", "rule": "..."})
        False
        >>> rule.is_drop({"write": "w1", "attribute": "n", "by": "w3", "rule": "..."})
        True
        >>> rule.is_drop({"write": "w0", "attribute": "n", "by": "w3", "rule": "...", "carried": True})
        False
        >>> rule.is_drop({"write": "initial", "attribute": "n", "by": "w3", "rule": "..."})
        False
    """

    def __init__(self, events: Iterable[Any]) -> None:
        self._parts: dict[tuple[str, str], list[Any]] = {}  # (write, attribute) -> its parts
        self._base: dict[tuple[str, str], str] = {}  # (write, attribute) -> the write it built on
        for e in events:
            if e.kind != "Wrote":
                continue
            write, base = e.get("write"), e.get("base") or {}
            for name, changes in (e.get("parts") or {}).items():
                if changes and all(isinstance(c, list) and len(c) >= 2 for c in changes):
                    self._parts[(write, name)] = changes
                    if name in base:
                        self._base[(write, name)] = base[name]
        # Built on first use, per attribute (see _reaches): the forest of base links and, per
        # parts judged, each write's nearest ancestor that does not leave them.
        self._forests: dict[str, tuple[dict[str, int], dict[str, int], dict[str, int]]] = {}
        self._breaks: dict[tuple[str, str], dict[str, int]] = {}

    def carried(self, record: Mapping[str, Any], holders: Iterable[str] = ()) -> bool:
        """True iff ``record``'s write's effect carries on in the value that displaced it (the
        class docs): ``by``'s, or that of a write in ``holders`` — the writes whose cells hold
        the attribute in the item the event left (item-lww names the winning *version* in
        ``by``; the attribute's cell may be an earlier write's, carried whole)."""
        if record.get("carried") is True:
            return True
        write, name = record.get("write"), record.get("attribute")
        if not isinstance(write, str) or not isinstance(name, str):
            return False
        mine = self._parts.get((write, name))
        if mine is None:
            return False
        if all(part[0] == "keep" for part in mine):
            return True  # it wrote back the value it read: nothing of its own to lose there
        starts = [record.get("by"), *sorted(set(holders) - {record.get("by")})]
        return any(self._reaches(start, write, name, mine) for start in starts
                   if isinstance(start, str) and start != write)

    def _reaches(self, holder: str, write: str, name: str, mine: Any) -> bool:
        """Does ``holder``'s value of ``name`` build on ``write``'s through writes that each
        left ``write``'s parts ``mine`` as they were (:func:`~replicalab.replica.parts.leaves`)?

        That is: ``write`` is an ancestor of ``holder`` by base links between writes with parts
        of ``name``, and no write from ``holder`` up to just below ``write`` breaks ``mine``.
        Answered from the forest of base links (entry/exit numbers of one depth-first walk) and
        a memo of each write's nearest breaking ancestor, not by walking the chain per record: a
        hot counter's W increments make a chain W long, and a walk per loss record was W²."""
        depth, enter, leave = self._forest(name)
        if holder not in enter or write not in enter or not enter[write] < enter[holder] < leave[write]:
            return False
        return self._nearest_break(name, mine, holder, depth) <= depth[write]

    def _parent(self, name: str, write: str) -> str | None:
        """The write ``write`` built its value of ``name`` on, if that one changed it in part."""
        base = self._base.get((write, name))
        return base if base is not None and (base, name) in self._parts else None

    def _forest(self, name: str) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """Depth, entry and exit numbers of the writes with parts of ``name`` in the forest of
        their base links. A write on a cycle of base links (only a hand-made trace has one) is
        on no root's tree, so it reaches nothing and nothing reaches it."""
        found = self._forests.get(name)
        if found is None:
            children: dict[str | None, list[str]] = {}
            for write, attribute in self._parts:
                if attribute == name:
                    children.setdefault(self._parent(name, write), []).append(write)
            depth: dict[str, int] = {}
            enter: dict[str, int] = {}
            leave: dict[str, int] = {}
            clock = 0
            stack: list[tuple[str, int, bool]] = [(w, 0, False) for w in sorted(children.get(None, ()), reverse=True)]
            while stack:
                write, level, done = stack.pop()
                if done:
                    leave[write] = clock
                    continue
                depth[write], enter[write] = level, clock
                clock += 1
                stack.append((write, level, True))
                stack.extend((c, level + 1, False) for c in sorted(children.get(write, ()), reverse=True))
            found = self._forests[name] = (depth, enter, leave)
        return found

    def _nearest_break(self, name: str, mine: Any, holder: str, depth: Mapping[str, int]) -> int:
        """The depth of the nearest write from ``holder`` up (``holder`` included) whose parts
        of ``name`` do not leave ``mine``; -1 if none does. Memoised per parts: every write on
        the path walked gets the same answer."""
        memo = self._breaks.setdefault((name, repr(mine)), {})
        path: list[str] = []
        found = -1
        node: str | None = holder
        while node is not None:
            if node in memo:
                found = memo[node]
                break
            if not leaves(self._parts[(node, name)], mine):
                found = memo[node] = depth[node]
                break
            path.append(node)
            node = self._parent(name, node)
        for node in path:
            memo[node] = found
        return found

    def is_drop(self, record: Mapping[str, Any], holders: Iterable[str] = ()) -> bool:
        """True iff ``record`` shows a client write's value dropped (the class docs)."""
        return record.get("write") != INITIAL_WRITE and not self.carried(record, holders)

    def drops(self, event: Any) -> list[dict[str, Any]]:
        """The records of a ``Wrote``/``Merged`` event's ``losses`` that are drops, in order."""
        held: dict[str, set[str]] = {}
        for version in event.get("item") or ():
            for name, cell in (version.get("cells") or {}).items():
                if isinstance(cell, list) and len(cell) == 2 and isinstance(cell[1], str):
                    held.setdefault(name, set()).add(cell[1])
        return [x for x in event.get("losses") or () if self.is_drop(x, held.get(x.get("attribute"), ()))]
