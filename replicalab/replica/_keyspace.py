"""A region's items with its keyspace tree kept up to date: anti-entropy without rebuilding.

A sync session compares Merkle trees of ``{key: item bytes}``. Rebuilding that tree
(and re-encoding every item) for each session costs O(keys); here a region keeps it
instead, and a session costs O(keys changed since the last one × depth):

* :class:`ItemStore` is the region's ``items``: a plain ``dict`` of key -> Item that
  remembers which keys any write, merge or repair set (every mutating method marks
  its keys), so nothing has to scan the store to find them;
* :class:`KeyspaceIndex` holds the tree of the store as of its last :meth:`~KeyspaceIndex.snapshot`,
  and brings it up to date from the changed keys only, in one batched
  :meth:`~replicalab.merkle.MerkleTree.update_digests`: per changed bucket one leaf hash and
  one hash per inner node above them. Items memoise their canonical bytes
  (:meth:`~replicalab.items.Item.to_bytes`) and the digest of those bytes
  (:meth:`~replicalab.items.Item.digest`), and the tree caches every key's place, so an item
  is encoded and hashed once and a key placed once, however many regions hold them;
* :class:`Snapshot` is the ``{key: bytes}`` store a session compares, *as it was when the
  session started* (what the session's tree covers), without copying it: the store keeps
  the items that later writes replace, for the snapshots still open.

    >>> from replicalab.policies import get_policy
    >>> item = get_policy("item-lww").initial({"x": 1})
    >>> store = ItemStore({"a": item})
    >>> index = KeyspaceIndex()
    >>> snap = index.snapshot(store, fanout=4, depth=1)
    >>> store["b"] = item                      # a later write: the snapshot does not see it
    >>> later = index.snapshot(store, fanout=4, depth=1)
    >>> sorted(snap), len(snap), sorted(later), store.snapshots
    (['a'], 1, ['a', 'b'], 2)
    >>> snap.close(); later.close(); store.snapshots
    0
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from replicalab.antientropy import HEADER_BYTES, LENGTH_BYTES
from replicalab.items import Item
from replicalab.merkle import MerkleTree

__all__ = ["ItemStore", "KeyspaceIndex", "Snapshot"]

_ABSENT: Any = None  # what a snapshot's overlay records for a key the store did not hold
#: The last tree built from scratch, by shape, with the items it covers and their item bytes.
_LAST_BUILD: dict[tuple[int, int], tuple[dict[str, Item], MerkleTree, int]] = {}


class ItemStore(dict[str, Item]):
    """A region's items: a ``dict`` of key -> :class:`~replicalab.items.Item` that tracks changes.

    Every mutating method marks the keys it touches in :attr:`changed` (the keyspace
    index clears it) and, while :class:`Snapshot` objects are open, remembers the item
    each key held before its first change, for them. Reading is a plain dict's.
    """

    __slots__ = ("_overlays", "changed")

    def __init__(self, items: Mapping[str, Item] | Iterable[tuple[str, Item]] = ()) -> None:
        super().__init__(items)
        #: Keys set or removed since the keyspace index last caught up.
        self.changed: set[str] = set(self)
        self._overlays: list[dict[str, Item | None]] = []

    @property
    def snapshots(self) -> int:
        """How many snapshots of this store are open."""
        return len(self._overlays)

    def _touch(self, key: str) -> None:
        self.changed.add(key)
        for overlay in self._overlays:
            if key not in overlay:
                overlay[key] = dict.get(self, key, _ABSENT)

    def __setitem__(self, key: str, item: Item) -> None:
        self._touch(key)
        dict.__setitem__(self, key, item)

    def __delitem__(self, key: str) -> None:
        if key in self:
            self._touch(key)
        dict.__delitem__(self, key)

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self._touch(key)
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[str, Item]:
        if self:
            self._touch(next(reversed(self)))
        return dict.popitem(self)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, item in dict(*args, **kwargs).items():
            self[key] = item

    def __ior__(self, other: Any) -> ItemStore:  # type: ignore[override,misc]
        self.update(other)
        return self

    def clear(self) -> None:
        for key in list(self):
            self._touch(key)
        dict.clear(self)

    def __reduce__(self) -> Any:  # copy.copy/deepcopy: a plain store, every key marked changed
        return (type(self), (dict(self),))

    def _open(self) -> dict[str, Item | None]:
        overlay: dict[str, Item | None] = {}
        self._overlays.append(overlay)
        return overlay

    def _close(self, overlay: dict[str, Item | None]) -> None:
        for i, open_overlay in enumerate(self._overlays):
            if open_overlay is overlay:
                del self._overlays[i]
                return


class Snapshot(Mapping[str, bytes]):
    """The store's ``{key: item bytes}`` as it was when the snapshot was taken.

    It reads through to the live store for keys not changed since, and to the items
    the store kept for it otherwise. ``full_state_bytes`` is what sending the whole
    snapshot in one message would cost (:func:`~replicalab.antientropy.full_state_bytes`).
    Call :meth:`close` when done, so that the store stops keeping items for it.
    """

    __slots__ = ("_overlay", "_size", "_store", "full_state_bytes", "tree")

    def __init__(self, store: ItemStore, tree: MerkleTree, full_state_bytes: int) -> None:
        self._store = store
        self._overlay = store._open()
        self._size = len(store)
        self.tree = tree
        self.full_state_bytes = full_state_bytes

    def item(self, key: str) -> Item:
        """The item ``key`` held when the snapshot was taken (KeyError if none)."""
        overlay = self._overlay
        if key in overlay:
            item = overlay[key]
            if item is None:
                raise KeyError(key)
            return item
        return dict.__getitem__(self._store, key)

    def __getitem__(self, key: str) -> bytes:
        return self.item(key).to_bytes()

    def digests(self) -> dict[str, bytes]:
        """``{key: SHA-256 of its bytes}`` for every key, from the digests the items cache.

        A sync session that must rebuild its tree at another depth uses these
        (:meth:`~replicalab.merkle.MerkleTree.from_digests`) instead of hashing every value again.
        """
        return {key: self.item(key).digest() for key in self}

    def __contains__(self, key: object) -> bool:
        try:
            self.item(key)  # type: ignore[arg-type]
        except (KeyError, TypeError):
            return False
        return True

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[str]:
        overlay = self._overlay
        for key in list(self._store):
            if key not in overlay:
                yield key
        for key, item in list(overlay.items()):
            if item is not None:
                yield key

    def close(self) -> None:
        """Stop keeping replaced items for this snapshot (it must not be read afterwards)."""
        self._store._close(self._overlay)


class KeyspaceIndex:
    """A region's keyspace tree, brought up to date from the store's changed keys only.

    The first snapshot builds the tree (O(keys), once); later ones apply the changed
    keys whose item is a new object, by their cached digests, in one
    :meth:`~replicalab.merkle.MerkleTree.update_digests`.
    A change of shape (fan-out, depth) rebuilds. The result is always
    the tree :meth:`MerkleTree.build` would give for the store's current bytes.
    """

    __slots__ = ("_base", "_indexed", "_item_bytes", "tree")

    def __init__(self) -> None:
        self.tree: MerkleTree | None = None
        # The item each key's tree entry was made from: ``_indexed`` (this index's own
        # changes; None for a key removed since) over ``_base``, the items of the last
        # build, which regions that start from equal items share and nobody changes. Ten
        # regions of 100,000 items would otherwise each hold a copy that the cyclic
        # collector walks on every full collection.
        self._base: Mapping[str, Item] = {}
        self._indexed: dict[str, Item | None] = {}
        self._item_bytes = 0  # sum of item_bytes(key, value) over the tree's entries

    def _items(self) -> dict[str, Item]:
        """The item each key's tree entry was made from (a new dict, for comparing)."""
        out = dict(self._base)
        for key, item in self._indexed.items():
            if item is None:
                out.pop(key, None)
            else:
                out[key] = item
        return out

    def __eq__(self, other: object) -> bool:
        """Equal when they index the same items into the same tree."""
        if not isinstance(other, KeyspaceIndex):
            return NotImplemented
        return (self.tree, self._item_bytes, self._items()) == (other.tree, other._item_bytes, other._items())

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"<KeyspaceIndex tree={self.tree!r}>"

    def snapshot(self, store: ItemStore, *, fanout: int, depth: int) -> Snapshot:
        """Bring the tree up to date with ``store`` and open a snapshot of it."""
        tree = self.update(store, fanout=fanout, depth=depth)
        return Snapshot(store, tree, HEADER_BYTES + self._item_bytes)

    def update(self, store: ItemStore, *, fanout: int, depth: int) -> MerkleTree:
        """Bring the tree up to date with ``store`` (building it the first time) and return it."""
        tree = self.tree
        if tree is None or (tree.fanout, tree.depth) != (fanout, depth):
            self._rebuild(store, fanout, depth)
        elif store.changed:
            self._catch_up(store)
        store.changed.clear()
        assert self.tree is not None
        return self.tree

    def _rebuild(self, store: ItemStore, fanout: int, depth: int) -> None:
        items = dict(store)
        last = _LAST_BUILD.get((fanout, depth))
        # Regions of one table usually start from the same items: equal items encode to equal
        # bytes, so a store equal to the last one built has exactly that tree (built once).
        if last is not None and len(last[0]) == len(items) and last[0] == items:
            base, self.tree, self._item_bytes = last
        else:
            self.tree = MerkleTree.from_digests({key: item.digest() for key, item in items.items()},
                                                fanout=fanout, depth=depth)
            self._item_bytes = sum(_item_bytes(key, item.to_bytes()) for key, item in items.items())
            base = items  # a copy of the store's: never changed, so it can be shared
            _LAST_BUILD.clear()
            _LAST_BUILD[(fanout, depth)] = (items, self.tree, self._item_bytes)
        self._base, self._indexed = base, {}

    def _catch_up(self, store: ItemStore) -> None:
        assert self.tree is not None
        indexed, base = self._indexed, self._base
        total = self._item_bytes
        changes: dict[str, bytes | None] = {}
        for key in store.changed:
            item = dict.get(store, key)
            old = indexed[key] if key in indexed else base.get(key)
            if item is old:
                continue  # set back to the very item the tree holds
            if old is not None:
                total -= _item_bytes(key, old.to_bytes())
            if item is None:
                changes[key] = None
                indexed[key] = None
            else:
                # The digest is the item's, cached: computed once per item object, by
                # whichever region or session asked first (items travel between regions as
                # objects, so nine other regions find it made).
                changes[key] = item.digest()
                indexed[key] = item
                total += _item_bytes(key, item.to_bytes())
        self.tree, self._item_bytes = self.tree.update_digests(changes), total


def _item_bytes(key: str, value: bytes) -> int:
    """:func:`~replicalab.antientropy.item_bytes` without re-validating a key the tree accepted."""
    return 2 * LENGTH_BYTES + len(key.encode("utf-8")) + len(value)
