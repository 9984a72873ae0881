"""Merge policies: what a table replica does with a local write and with a remote item.

A policy is a stateless strategy object with two verbs, both pure:

* ``write(item, ...)`` applies a client's update to the replica's current item;
* ``merge(local, incoming)`` combines the replica's item with one received
  from another replica.

Both return an :class:`Outcome`: the new item, the :class:`Loss` of every
attribute value that vanished (whose write, displaced by which write, and the
rule that decided), and a one-line note for the timeline. The policy explains
itself; it does *not* judge — the ledger decides whether a loss was a
legitimate overwrite or a silent loss from ground-truth causality.

The policies, by name (see :func:`get_policy`):

``item-lww``
    DynamoDB global tables (MREC): the whole item with the greatest stamp
    ``(wall, region, seq)`` wins. A concurrent write to a *different*
    attribute is lost with the losing item, and nobody is told.
``attribute-lww``
    Cassandra-style: every attribute is its own LWW register. Writes to
    different attributes both survive; concurrent writes to the same
    attribute still lose one, silently.
``causal``
    Dynamo-style version vectors: a version replaces only versions it has
    seen (whose clocks it dominates); concurrent versions are kept side by
    side as siblings for the reader to resolve. Nothing concurrent is dropped.

Every ``merge`` is a join on reachable items: commutative, associative and
idempotent, so replicas that receive the same items in any order, with
duplicates, converge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from replicalab import _validate
from replicalab.clocks import VectorClock
from replicalab.errors import ConfigError, MergeValidationError
from replicalab.items import (
    INITIAL_STAMP,
    INITIAL_WRITE,
    Cell,
    Item,
    Stamp,
    Version,
    sorted_elements,
)

__all__ = [
    "POLICIES",
    "UNATTRIBUTED",
    "AttributeLWW",
    "CausalSiblings",
    "ItemLWW",
    "Loss",
    "MergePolicy",
    "Outcome",
    "get_policy",
    "policy_names",
]


#: The ``by`` of a loss whose winner the state cannot name (see :class:`CrdtMap`).
UNATTRIBUTED = "?"


@attrs.frozen
class Loss:
    """``write``'s value of ``attribute`` vanished, displaced by ``by``; ``rule`` says why.

    ``by`` is the write whose value won (:data:`UNATTRIBUTED` when the state cannot tell).
    """

    write: str
    attribute: str
    by: str
    rule: str


@attrs.frozen
class Outcome:
    """The result of a policy verb: the new item, what it dropped, and a note for people."""

    item: Item
    losses: tuple[Loss, ...] = ()
    note: str = ""


def _held(versions: tuple[Version, ...] | list[Version]) -> set[tuple[str, str]]:
    return {(c.write, n) for v in versions for n, c in v.cells if not c.removed}


def _losses(
    before: list[Version], after: Item, by_version: dict[str, Version], rule_of: Any
) -> tuple[Loss, ...]:
    """Loss records for every (write, attribute) held in ``before`` but not in ``after``.

    ``by_version`` maps each dropped version's write to the version that displaced it.
    """
    kept = after.writes()
    out: dict[tuple[str, str], Loss] = {}
    for version in before:
        winner = by_version.get(version.write)
        for name, cell in version.cells:
            key = (cell.write, name)
            if cell.removed or key in kept or key in out:
                continue
            by = winner if winner is not None else _holder(after, name)
            out[key] = Loss(cell.write, name, by.write if by else UNATTRIBUTED,
                            rule_of(version, by))
    return tuple(out[k] for k in sorted(out))


def _holder(item: Item, attribute: str) -> Version | None:
    best = None
    for version in item.versions:
        cell = version.cell(attribute)
        if cell is not None and (best is None or cell.stamp > best[0]):
            best = (cell.stamp, version)
    return best[1] if best else None


class MergePolicy:
    """Base class of merge policies: a named, stateless strategy (see module docs)."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    def __repr__(self) -> str:
        return f"get_policy({self.name!r})"

    # -- local writes -------------------------------------------------------
    def write(
        self,
        item: Item | None,
        attributes: Mapping[str, Any],
        *,
        write: str,
        stamp: Stamp,
        replica: str,
        replace: bool = False,
        adds: Mapping[str, int] | None = None,
        elements: Mapping[str, tuple[frozenset[Any], frozenset[Any]]] | None = None,
    ) -> Outcome:
        """Apply a client write at ``replica``: set ``attributes`` (and, if ``replace``, drop the rest).

        ``adds`` are atomic counter increments (DynamoDB's ``ADD``): here the
        replica reads its current number and *sets* the sum, so under LWW a
        concurrent increment elsewhere is lost with the item or attribute it
        loses to. The ``crdt`` policy keeps a counter per replica instead.

        ``elements`` maps a set attribute to ``(added, deleted)`` elements
        (DynamoDB's ``ADD``/``DELETE`` on a set). Here, too, the replica reads
        its current set and *sets* the result, stored as a sorted list (a
        set value in ``attributes`` is stored the same way); an empty set
        removes the attribute. The ``crdt`` policy keeps an OR-Set instead.

        The write builds a new version on top of what the replica holds (with
        siblings, each attribute starts from the sibling with the greatest
        stamp: the reader's resolution) and then *merges* it into the item with
        the policy's own rule, so a local write obeys the same order as a
        remote one. Under the LWW policies a write whose stamp is smaller than
        the item's (a clock running behind) therefore loses at its own replica
        at once — acknowledged, and silently lost — and replicas still converge.
        Under ``causal`` the new version's clock dominates every sibling.
        """
        _write_arguments(item, attributes, write, stamp, replica, replace, adds, elements)
        versions = list(item.versions) if item is not None else []
        base = _base_cells(versions)
        cells = _built_cells(base, attributes, adds, elements, write, stamp, replace)
        version = self._version(cells, write, stamp, self._clock(versions, replica))
        if item is None:
            return Outcome(Item((version,)), (), f"applied {write}")
        merged = self.merge(item, Item((version,)))
        touched = set(attributes) | set(adds or {}) | set(elements or {})
        return Outcome(merged.item, _resolved(merged.losses, base, touched, write, replace),
                       f"applied {write}")

    def overwrite(
        self,
        item: Item | None,
        attributes: Mapping[str, Any],
        *,
        write: str,
        stamp: Stamp,
        replica: str,
        replace: bool = False,
        adds: Mapping[str, int] | None = None,
        elements: Mapping[str, tuple[frozenset[Any], frozenset[Any]]] | None = None,
    ) -> Outcome:
        """Apply a write *on top of* ``item`` and keep the result, whatever the stamps say.

        This is how a system that orders writes by commit (MRSC) applies them:
        the write was built on the committed item, so it replaces it; no stamp
        comparison can undo it. Values the write replaced are reported as
        losses *by* this write (which had seen them).
        """
        _write_arguments(item, attributes, write, stamp, replica, replace, adds, elements)
        versions = list(item.versions) if item is not None else []
        cells = _built_cells(_base_cells(versions), attributes, adds, elements, write, stamp,
                             replace)
        version = Version.of(cells, write=write, stamp=stamp, clock=self._clock(versions, replica))
        after = Item((version,))
        losses = tuple(Loss(w, a, write, f"overwritten in commit order by {write}")
                       for w, a in sorted(_held(versions) - after.writes()))
        return Outcome(after, losses, f"committed {write}")

    def initial(self, attributes: Mapping[str, Any]) -> Item:
        """The item holding ``attributes`` before the run (older than every write).

        A ``set``/``frozenset`` value is a set attribute: stored as a sorted
        list here, as an OR-Set under ``crdt``.

            >>> get_policy("item-lww").initial({"items": {"pen", "book"}}).to_plain()
            {'items': ['book', 'pen']}
        """
        _initial_attributes(attributes)
        cells = {name: _plain_cell(value, INITIAL_WRITE, INITIAL_STAMP)
                 for name, value in attributes.items()}
        return Item((Version.of(cells, write=INITIAL_WRITE, stamp=INITIAL_STAMP),))

    def _clock(self, versions: list[Version], replica: str) -> VectorClock:
        return VectorClock()

    def _version(self, cells: dict[str, Cell], write: str, stamp: Stamp, clock: VectorClock) -> Version:
        return Version.of(cells, write=write, stamp=stamp, clock=clock)

    # -- remote items ---------------------------------------------------------
    def merge(self, local: Item | None, incoming: Item) -> Outcome:
        """Combine the replica's ``local`` item (None if absent) with an ``incoming`` one."""
        raise NotImplementedError


def _base_cells(versions: list[Version]) -> dict[str, Cell]:
    """What a write builds on: per attribute, the cell with the greatest stamp among the
    siblings (the reader's resolution; with one version, simply its cells)."""
    base: dict[str, Cell] = {}
    for version in versions:
        for name, cell in version.cells:
            if name not in base or cell.stamp > base[name].stamp:
                base[name] = cell
    return base


def _built_cells(
    base: Mapping[str, Cell], attributes: Mapping[str, Any], adds: Mapping[str, int] | None,
    elements: Mapping[str, tuple[frozenset[Any], frozenset[Any]]] | None, write: str,
    stamp: Stamp, replace: bool,
) -> dict[str, Cell]:
    """The cells of the version a write makes on top of ``base`` (see :meth:`MergePolicy.write`)."""
    cells = {} if replace else dict(base)
    values = dict(attributes)
    for name, n in (adds or {}).items():
        current = base.get(name)
        number = current.value if current is not None and not current.removed else 0
        values[name] = (number if isinstance(number, int) else 0) + n
    for name, (added, deleted) in (elements or {}).items():
        current = base.get(name)
        have = current.value if current is not None and not current.removed else ()
        values[name] = (set(have if isinstance(have, tuple) else []) | added) - deleted
    for name, value in values.items():
        cells[name] = _plain_cell(value, write, stamp)
    if replace:
        for name in base:
            if name not in values:
                cells[name] = Cell(None, write, stamp, removed=True)
    return cells


def _resolved(losses: tuple[Loss, ...], base: Mapping[str, Cell], touched: set[str], write: str,
              replace: bool) -> tuple[Loss, ...]:
    """Name the real winner of a value a local write dropped without touching it.

    With siblings, a write starts each attribute from the sibling with the
    greatest stamp. A value of another sibling that the write did not set
    itself was dropped by *that* choice: the loss is by the sibling whose value
    was carried, decided by stamps — not by the new write, which merely saw both.
    """
    out = []
    for loss in losses:
        carried = base.get(loss.attribute)
        if (loss.by == write and not replace and loss.attribute not in touched
                and carried is not None and carried.write != loss.write):
            loss = Loss(loss.write, loss.attribute, carried.write,
                        f"resolving siblings, {write} carried {loss.attribute} from "
                        f"{carried.write} ({carried.stamp}) over {loss.write}'s value by stamp")
        out.append(loss)
    return tuple(out)


def _plain_cell(value: Any, write: str, stamp: Stamp) -> Cell:
    """A cell for a plain attribute value; a set becomes a sorted list, an empty set a tombstone."""
    if isinstance(value, (set, frozenset)):
        if not value:
            return Cell(None, write, stamp, removed=True)
        return Cell(sorted_elements(value), write, stamp)
    return Cell(value, write, stamp)


def _write_arguments(item: Any, attributes: Any, write: Any, stamp: Any, replica: Any, replace: Any,
                     adds: Any, elements: Any) -> None:
    """Check a write's arguments before anything is built (ConfigError naming the argument)."""
    if item is not None:
        _item(item, "item")
    if not isinstance(attributes, Mapping) or not all(isinstance(k, str) and k for k in attributes):
        raise ConfigError(f"attributes must be a mapping of name -> value, got {_validate.shown(attributes)}")
    _validate.name(write, "write (the op id)")
    if not isinstance(stamp, Stamp):
        raise ConfigError(f"stamp must be a Stamp, got {_validate.shown(stamp)}")
    _validate.replica_id(replica)
    if not isinstance(replace, bool):
        raise ConfigError(f"replace must be True or False, got {_validate.shown(replace)}")
    if adds is not None and (not isinstance(adds, Mapping) or not all(
            isinstance(k, str) and k and type(n) is int for k, n in adds.items())):
        raise ConfigError(f"adds must map attribute -> integer amount, got {_validate.shown(adds)}")
    if elements is not None:
        def element_set(value: Any) -> bool:
            return isinstance(value, (set, frozenset)) and all(type(e) in (str, int) for e in value)

        if not isinstance(elements, Mapping) or not all(
                isinstance(k, str) and k and isinstance(v, tuple) and len(v) == 2
                and element_set(v[0]) and element_set(v[1]) for k, v in elements.items()):
            raise ConfigError("elements must map attribute -> (elements added, elements deleted), two sets "
                              f"of strings or integers; got {_validate.shown(elements)}")


def _initial_attributes(attributes: object) -> None:
    if not isinstance(attributes, Mapping) or not all(isinstance(k, str) and k for k in attributes):
        raise ConfigError(
            f"initial attributes must be a mapping of non-empty name -> value, got {_validate.shown(attributes)}")


def _item(value: object, what: str) -> Item:
    if not isinstance(value, Item):
        raise MergeValidationError(f"{what} must be an Item, got {type(value).__name__}")
    return value


def _single(item: Item, policy: str) -> Version:
    if len(item.versions) != 1:
        raise MergeValidationError(
            f"{policy} items hold exactly one version, got {len(item.versions)} siblings; "
            "siblings come only from the causal policy"
        )
    return item.versions[0]


def _same(a: Version, b: Version) -> None:
    if a != b:
        raise MergeValidationError(
            f"two different versions share stamp {a.stamp} (writes {_validate.shown(a.write)} and {_validate.shown(b.write)}); "
            "a stamp must name exactly one item state"
        )


@attrs.frozen(repr=False)
class ItemLWW(MergePolicy):
    """Whole-item last-writer-wins by ``(wall, region, seq)``: DynamoDB global tables (MREC)."""

    name: ClassVar[str] = "item-lww"
    summary: ClassVar[str] = "whole item, latest (wall timestamp, region) wins (DynamoDB MREC)"

    def merge(self, local: Item | None, incoming: Item) -> Outcome:
        theirs = _single(_item(incoming, "incoming"), self.name)
        mine = _single(_item(local, "local"), self.name) if local is not None else None
        if mine is None:
            return Outcome(incoming, (), f"stored {theirs.write}")
        if mine.stamp == theirs.stamp:
            _same(mine, theirs)
            return Outcome(local, (), f"already had {mine.write}")  # type: ignore[arg-type]
        winner, loser = (theirs, mine) if theirs.stamp > mine.stamp else (mine, theirs)
        merged = Item((winner,))
        rule = (
            f"item-lww kept {winner.write} ({winner.stamp}) over {loser.write} ({loser.stamp})"
        )
        losses = _losses([loser], merged, {loser.write: winner}, lambda _l, _b: rule)
        return Outcome(merged, losses, rule)


@attrs.frozen(repr=False)
class AttributeLWW(MergePolicy):
    """Per-attribute last-writer-wins: each attribute keeps its latest-stamped cell (Cassandra-style)."""

    name: ClassVar[str] = "attribute-lww"
    summary: ClassVar[str] = "each attribute separately, latest (wall timestamp, region) wins"

    def _version(self, cells: dict[str, Cell], write: str, stamp: Stamp, clock: VectorClock) -> Version:
        # A version's header is derived from its cells (the greatest-stamped one), so the
        # same cells always make the same version whichever order they arrived in. An item
        # with no attributes at all (a put of nothing, an update with no actions on an absent
        # item: DynamoDB keeps the item with only its key) takes the write's own header.
        if not cells:
            return Version.of(cells, write=write, stamp=stamp)
        top = max(cells.values(), key=lambda c: c.stamp)
        return Version.of(cells, write=top.write, stamp=top.stamp)

    def merge(self, local: Item | None, incoming: Item) -> Outcome:
        theirs = _single(_item(incoming, "incoming"), self.name)
        if local is None:
            return Outcome(incoming, (), f"stored {theirs.write}")
        mine = _single(_item(local, "local"), self.name)
        cells = mine.cell_map()
        losses: list[Loss] = []
        changed = []
        for name, cell in theirs.cells:
            current = cells.get(name)
            if current is None or cell.stamp > current.stamp:
                if current is not None and not current.removed:
                    losses.append(_attr_loss(name, current, cell))
                cells[name] = cell
                changed.append(name)
            elif cell.stamp == current.stamp:
                if cell != current:
                    raise MergeValidationError(
                        f"attribute {_validate.shown(name)} has two different values under stamp {cell.stamp}"
                    )
            elif not cell.removed:
                losses.append(_attr_loss(name, cell, current))
        if not changed:
            if not cells and theirs.stamp > mine.stamp:
                # Two attribute-less items: the later header wins, so merge stays commutative.
                return Outcome(incoming, (), f"stored {theirs.write}")
            note = f"already had {theirs.write}" if not losses else "kept local attributes"
            return Outcome(local, tuple(sorted(losses, key=_loss_key)), note)
        merged = Item((self._version(cells, theirs.write, theirs.stamp, VectorClock()),))
        note = "attribute-lww took " + ", ".join(
            f"{n} from {cells[n].write}" for n in sorted(changed)
        )
        return Outcome(merged, tuple(sorted(losses, key=_loss_key)), note)


def _attr_loss(name: str, loser: Cell, winner: Cell) -> Loss:
    return Loss(
        loser.write,
        name,
        winner.write,
        f"attribute-lww kept {name} from {winner.write} ({winner.stamp}) "
        f"over {loser.write} ({loser.stamp})",
    )


def _loss_key(loss: Loss) -> tuple[str, str]:
    return (loss.write, loss.attribute)


@attrs.frozen(repr=False)
class CausalSiblings(MergePolicy):
    """Version vectors per item; concurrent versions are kept as siblings, never dropped.

    The keep-concurrent rule: a version is dropped only if another version's
    clock strictly dominates it (that writer had seen it). Everything else
    stays, so after a merge the item holds one version or several concurrent
    siblings.
    """

    name: ClassVar[str] = "causal"
    summary: ClassVar[str] = "version vectors; concurrent versions kept as siblings"

    def _clock(self, versions: list[Version], replica: str) -> VectorClock:
        clock = VectorClock()
        for version in versions:
            clock = clock.merge(version.clock)
        return clock.tick(replica)

    def merge(self, local: Item | None, incoming: Item) -> Outcome:
        _item(incoming, "incoming")
        if local is None:
            return Outcome(incoming, (), f"stored {', '.join(v.write for v in incoming)}")
        _item(local, "local")
        by_clock: dict[VectorClock, Version] = {}
        for version in (*local.versions, *incoming.versions):
            seen = by_clock.get(version.clock)
            if seen is not None:
                _same(seen, version)
            by_clock[version.clock] = version
        candidates = list(by_clock.values())
        survivors = []
        displaced: dict[str, Version] = {}
        for version in candidates:
            dominator = next((w for w in candidates if version.clock < w.clock), None)
            if dominator is None:
                survivors.append(version)
            else:
                displaced[version.write] = dominator
        merged = Item(survivors)
        if merged == local:
            return Outcome(local, (), "already had " + ", ".join(v.write for v in incoming))
        losses = _losses(
            [v for v in candidates if v.write in displaced],
            merged,
            displaced,
            lambda lost, by: f"causal: {by.write} {by.clock!r} had seen {lost.write} {lost.clock!r}",
        )
        if merged.has_siblings:
            note = "causal kept concurrent siblings " + ", ".join(v.write for v in merged)
        else:
            note = f"causal kept {merged.versions[0].write}"
        return Outcome(merged, losses, note)


#: The registry of policies by name.
POLICIES: dict[str, MergePolicy] = {
    p.name: p for p in (ItemLWW(), AttributeLWW(), CausalSiblings())
}


def policy_names() -> list[str]:
    """The registered policy names, sorted."""
    return sorted(POLICIES)


def get_policy(name: str | MergePolicy) -> MergePolicy:
    """Look a policy up by name; an unknown name raises :class:`ConfigError` listing the valid ones.

        >>> get_policy("item-lww").summary
        'whole item, latest (wall timestamp, region) wins (DynamoDB MREC)'
    """
    if isinstance(name, MergePolicy):
        return name
    try:
        return POLICIES[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown merge policy {_validate.shown(name)}; choose one of: {', '.join(policy_names())}"
        ) from None


@attrs.frozen(repr=False)
class CrdtMap(MergePolicy):
    """Items as CRDT maps: each attribute a multi-value register, keys add-wins.

    The item holds one version: its cells, and its causal context (the clock:
    for each replica, the highest write sequence number it has seen on this
    item). A cell is named by its write's dot ``(replica, seq)``. The rules,
    per attribute, are the multi-value register's:

    * a local write replaces every cell of the attributes it sets (the replica
      has seen them all) and adds one cell under a fresh dot;
    * ``merge`` keeps a cell if both sides have it, or if the side lacking it
      has not seen its dot (it is concurrent, not overwritten).

    So writes to different attributes both survive, and concurrent writes to
    the *same* attribute survive side by side (the attribute then reads as a
    list of values) until a write that saw them replaces them. Nothing
    concurrent is dropped, and merge is a join. A put that replaces the item
    removes only the attributes its replica had seen (add-wins).

    Two attribute shapes use the same cells and the same merge rule:

    * **counters** (``ADD`` of a number): each replica's cell is its running
      total, a PN-counter entry; the attribute reads as the sum, so every
      concurrent increment counts;
    * **sets** (``ADD``/``DELETE`` of elements, or a set value): an add-wins
      OR-Set, one cell per element under the dot of the write that added it.
      A delete drops the element cells its replica had seen, so a concurrent
      add of the same element survives it (add wins), and a concurrent write
      that merely still held the element cannot bring it back (no Dynamo-style
      resurrection).
    """

    name: ClassVar[str] = "crdt"
    summary: ClassVar[str] = ("items as CRDT maps: multi-value registers, PN-counters and "
                              "add-wins OR-Sets per attribute")

    def initial(self, attributes: Mapping[str, Any]) -> Item:
        # A set attribute is an OR-Set from the start: one element cell per element, all under
        # the initial dot, which every replica has seen.
        _initial_attributes(attributes)
        cells = [(name, cell) for name, value in attributes.items()
                 for cell in _crdt_cells(value, INITIAL_WRITE, INITIAL_STAMP)]
        return Item((self._make(cells, VectorClock()),))

    def write(
        self,
        item: Item | None,
        attributes: Mapping[str, Any],
        *,
        write: str,
        stamp: Stamp,
        replica: str,
        replace: bool = False,
        adds: Mapping[str, int] | None = None,
        elements: Mapping[str, tuple[frozenset[Any], frozenset[Any]]] | None = None,
    ) -> Outcome:
        _write_arguments(item, attributes, write, stamp, replica, replace, adds, elements)
        if not isinstance(attributes, Mapping):
            raise ConfigError(f"attributes must be a mapping of name -> value, got {_validate.shown(attributes)}")
        current = _single(_item(item, "item"), self.name) if item is not None else None
        cells = list(current.cells) if current is not None else []
        context = current.clock if current is not None else VectorClock()
        adds = dict(adds or {})
        elements = dict(elements or {})

        def replaced(name: str, cell: Cell) -> bool:
            """Does this write replace ``cell`` (the replica has seen it)?"""
            if replace or name in attributes:
                return True
            # A counter increment replaces only this replica's own contribution (a PN-counter
            # entry); every other replica's contribution stays. A plain number already there
            # (say the initial value) stays as a base that the contributions add to.
            if name in adds:
                return cell.counter and cell.stamp.replica == replica
            if name in elements:  # OR-Set: an add or delete of e replaces the e it observed
                added, deleted = elements[name]
                return not cell.element or cell.value in added or cell.value in deleted
            return False

        kept = [(n, c) for n, c in cells if not replaced(n, c)]
        own = {n: c.value for n, c in cells if n in adds and c.counter and c.stamp.replica == replica}
        new = kept + [(n, c) for n, v in attributes.items() for c in _crdt_cells(v, write, stamp)]
        new += [(n, Cell(own.get(n, 0) + k, write, stamp, counter=True)) for n, k in adds.items()]
        still: dict[str, set[Any]] = {}
        for name, (added, deleted) in elements.items():
            # A plain list the replica held becomes elements added by this write.
            folded = {e for n, c in cells if n == name and not c.element and not c.removed
                      and isinstance(c.value, tuple) for e in c.value}
            still[name] = (folded | added | {c.value for n, c in kept if n == name}) - deleted
            new += [(name, Cell(e, write, stamp, element=True))
                    for e in sorted_elements((folded | added) - deleted)]
        version = self._make(new, context.merge(VectorClock({stamp.replica: stamp.seq})))
        losses = tuple(Loss(c.write, n, write, f"overwritten at {replica} by local write {write}")
                       for n, c in cells if (n, c) not in kept and not c.removed
                       and not _survives(n, c, still))
        return Outcome(Item((version,)), losses, f"applied {write}")

    @staticmethod
    def _make(cells: list[tuple[str, Cell]], clock: VectorClock) -> Version:
        # Total order (one write's set elements share a stamp), so equal cell sets make equal
        # versions whatever order they arrived in.
        ordered = tuple(sorted(cells, key=lambda nc: (nc[0], nc[1].stamp.key, _element_key(nc[1]))))
        top = max((c for _, c in ordered), key=lambda c: c.stamp.key, default=None)
        if top is None:
            return Version((), "", Stamp(-1, "", 0), clock)
        return Version(ordered, top.write, top.stamp, clock)

    def merge(self, local: Item | None, incoming: Item) -> Outcome:
        theirs = _single(_item(incoming, "incoming"), self.name)
        if local is None:
            return Outcome(incoming, (), f"stored {theirs.write}")
        mine = _single(_item(local, "local"), self.name)
        # A cell is named by its write's dot and its attribute (one write may set several), and
        # a set's element cell by its element too (one write may add several).
        a = {_cell_id(n, c): (n, c) for n, c in mine.cells}
        b = {_cell_id(n, c): (n, c) for n, c in theirs.cells}
        for key in a.keys() & b.keys():
            if a[key] != b[key]:
                raise MergeValidationError(
                    f"write {key[0]} names two different cells for {_validate.shown(key[1])} "
                    f"({_validate.shown(a[key][1])} and {_validate.shown(b[key][1])})")
        keep = [nc for key, nc in a.items() if key in b or not _covered(key[0], theirs.clock)]
        keep += [nc for key, nc in b.items() if key not in a and not _covered(key[0], mine.clock)]
        version = self._make(keep, mine.clock.merge(theirs.clock))
        merged = Item((version,))
        if merged == local:
            return Outcome(local, (), f"already had {theirs.write}")
        losses = tuple(sorted(
            {loss for side, other in ((a, b), (b, a)) for loss in _crdt_losses(side, other, keep)},
            key=lambda x: (x.write, x.attribute)))
        concurrent = sorted({n for n, _ in keep if sum(1 for m, _ in keep if m == n) > 1})
        note = "crdt merged attributes" + (
            f"; concurrent values kept for {', '.join(concurrent)}" if concurrent else "")
        return Outcome(merged, losses, note)


def _crdt_losses(side: Mapping[Any, tuple[str, Cell]], other: Mapping[Any, tuple[str, Cell]],
                 keep: list[tuple[str, Cell]]) -> list[Loss]:
    """Loss records for ``side``'s cells that the merge dropped because ``other`` had seen them.

    A join drops a cell only when the other side has seen its dot and no longer
    holds it: some write there removed it *having seen it*, and that write
    recorded the loss when it ran. The state does not say which write it was
    (a delete leaves no cell), so the record names no winner (``by="?"``)
    rather than guess one; the ledger does not count an unattributed record
    as a loss to an unseen write.
    """
    return [Loss(cell.write, name, UNATTRIBUTED,
                 f"crdt: the other side had removed {cell.write}'s {name} after seeing it")
            for key, (name, cell) in side.items()
            if key not in other and (name, cell) not in keep and not cell.removed]


def _dot(cell: Cell) -> tuple[str, int]:
    return (cell.stamp.replica, cell.stamp.seq)


def _cell_id(name: str, cell: Cell) -> tuple[tuple[str, int], str, Any]:
    return (_dot(cell), name, cell.value if cell.element else None)


def _element_key(cell: Cell) -> tuple[bool, Any]:
    return (isinstance(cell.value, str), cell.value) if cell.element else (False, 0)


def _crdt_cells(value: Any, write: str, stamp: Stamp) -> list[Cell]:
    """The crdt cells of a value set by ``write``: a set is one element cell per element."""
    if isinstance(value, (set, frozenset)):
        return [Cell(e, write, stamp, element=True) for e in sorted_elements(value)]
    return [Cell(value, write, stamp)]


def _survives(name: str, cell: Cell, still: Mapping[str, set[Any]]) -> bool:
    """Is a replaced set cell's content still in the set (re-added or folded, not deleted)?"""
    if name not in still:
        return False
    values = [cell.value] if cell.element else cell.value if isinstance(cell.value, tuple) else [None]
    return all(v in still[name] for v in values)


def _covered(dot: tuple[str, int], clock: VectorClock) -> bool:
    replica, seq = dot
    return seq <= (clock.get(replica) if replica else 0)


POLICIES[CrdtMap.name] = CrdtMap()
