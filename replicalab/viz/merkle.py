"""A Merkle diff picture: where two keyspace trees differ, and how little was compared.

:func:`merkle_diff_svg` draws the comparison that :meth:`MerkleTree.diff
<replicalab.merkle.MerkleTree.diff>` makes, as one standalone SVG. Levels run
from the root (level 0) down to the buckets (level ``depth``), one row each:

* the root is compared first; below a node whose hashes **differ**, all its
  ``fanout`` children are compared, so each row shows the children of the
  differing nodes of the row above;
* a differing node is a box with a light vermillion fill, a **thick vermillion
  outline and a corner flag** (so colour is never the only cue); an equal node
  is a plain thin grey box, and nothing below it is drawn: the comparison never
  descends there (that is the point of the tree);
* a node that is empty in both trees is compared but not drawn;
* at the bottom, the differing keys (``a.diff(b)``) are listed under their
  buckets, each marked *values differ*, *only in A* or *only in B*.

The caption says how many keys differ and how many node hashes were compared
out of all the tree holds. Levels that could hold more than :data:`FULL_LEVEL`
nodes (``fanout**level > 64``) show only their differing nodes and a count of
the equal ones; at most :data:`MAX_BOXES` boxes per row and :data:`MAX_KEYS`
keys are drawn, the rest counted.

Only the public API of :class:`~replicalab.merkle.MerkleTree` is used
(``node_hash``, ``child_hashes``, ``bucket_of``, ``digest_of``, ``diff``).

    >>> from replicalab.merkle import MerkleTree
    >>> a = MerkleTree.build({"apple": b"1", "pear": b"2"}, fanout=4, depth=2)
    >>> svg = merkle_diff_svg(a, a.set("pear", b"3"))
    >>> svg.startswith("<svg") and "1 key differs; compared 9 of 21 node hashes" in svg
    True
"""

from __future__ import annotations

import textwrap

import attrs

from replicalab.errors import ConfigError
from replicalab.merkle import MerkleTree
from replicalab.viz import _svg as s

__all__ = ["FULL_LEVEL", "MAX_BOXES", "MAX_KEYS", "merkle_diff_svg"]

#: A level that could hold more nodes than this draws only its differing nodes.
FULL_LEVEL = 64
#: At most this many boxes in one row; further differing nodes are counted, not drawn.
MAX_BOXES = 64
#: At most this many differing keys are listed; the rest are counted.
MAX_KEYS = 200

PAD = 16
GUTTER = 150
BOX_H = 22
ROW_H = 64
GAP = 6
GROUP_GAP = 14
KEY_SIZE = 11
LINE_H = 15
DIFF_FILL = "#FBE3D6"


@attrs.frozen
class _Node:
    level: int
    index: int
    parent: int | None
    differs: bool


@attrs.frozen
class _Level:
    level: int
    compared: int
    """Node hashes compared at this level (empty-on-both-sides ones included)."""
    nodes: tuple[_Node, ...]
    """The nodes drawn, in index order."""
    differing: int
    equal_hidden: int
    differing_hidden: int


def _walk(a: MerkleTree, b: MerkleTree) -> list[_Level]:
    """Compare the trees top-down exactly as ``diff`` does, level by level."""
    fanout, depth = a.fanout, a.depth
    empty_tree = MerkleTree.build({}, fanout=fanout, depth=depth)
    empty = [empty_tree.node_hash(lvl, 0) for lvl in range(depth + 1)]
    # (index, parent, hash in a, hash in b), in index order
    frontier: list[tuple[int, int | None, bytes, bytes]] = [(0, None, a.node_hash(0, 0), b.node_hash(0, 0))]
    levels: list[_Level] = []
    for lvl in range(depth + 1):
        full = fanout**lvl <= FULL_LEVEL
        shown: list[_Node] = []
        differing = equal_hidden = differing_hidden = 0
        nxt: list[tuple[int, int | None, bytes, bytes]] = []
        for index, parent, ha, hb in frontier:
            differs = ha != hb
            if differs:
                differing += 1
                if lvl < depth:
                    ca, cb = a.child_hashes(lvl, index), b.child_hashes(lvl, index)
                    nxt += [(index * fanout + j, index, ca[j], cb[j]) for j in range(fanout)]
            if not differs and ha == empty[lvl]:
                continue  # empty on both sides: compared, not drawn
            if not differs and not full:
                equal_hidden += 1
            elif len(shown) >= MAX_BOXES:
                if differs:
                    differing_hidden += 1
                else:
                    equal_hidden += 1
            else:
                shown.append(_Node(lvl, index, parent, differs))
        levels.append(_Level(lvl, len(frontier), tuple(shown), differing, equal_hidden,
                             differing_hidden))
        frontier = nxt
        if not frontier:
            break
    return levels


def _status(a: MerkleTree, b: MerkleTree, key: str) -> str:
    if a.digest_of(key) is None:
        return "only in B"
    if b.digest_of(key) is None:
        return "only in A"
    return "values differ"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _box(x: float, y: float, w: float, node: _Node) -> str:
    """One node box; a differing one wears a thick outline and a corner flag."""
    label = str(node.index)
    cx = x + w / 2
    if node.differs:
        flag = s.polygon([(x + w - 9, y), (x + w, y), (x + w, y + 9)], fill=s.VERMILLION)
        return (f'<g class="node differ" data-level="{node.level}" data-index="{node.index}">'
                + s.tag("rect", None, x=x, y=y, width=w, height=BOX_H, rx=3, fill=DIFF_FILL,
                        stroke=s.VERMILLION, stroke_width=2.5)
                + flag
                + s.text(cx, y + 15, label, size=10, fill=s.INK, font_weight="bold",
                         text_anchor="middle", font_family=s.MONO)
                + "</g>")
    return (f'<g class="node equal" data-level="{node.level}" data-index="{node.index}">'
            + s.tag("rect", None, x=x, y=y, width=w, height=BOX_H, rx=3, fill="#FFFFFF",
                    stroke=s.GREY, stroke_width=1)
            + s.text(cx, y + 15, label, size=10, fill=s.GREY, text_anchor="middle",
                     font_family=s.MONO)
            + "</g>")


def merkle_diff_svg(a: MerkleTree, b: MerkleTree, *, title: str = "Merkle tree comparison",
                    width: float | None = None) -> str:
    """The comparison of keyspace trees ``a`` and ``b`` as a standalone SVG document.

    ``width`` lays it out for a page column that many px wide: a narrower gutter
    with wrapped notes, tighter box spacing, wrapped captions and no text smaller
    than 11 px (a tree wider than the column still comes out wider).

    Raises :class:`~replicalab.errors.ConfigError` unless both are
    :class:`~replicalab.merkle.MerkleTree` of the same fanout and depth.
    """
    if not isinstance(a, MerkleTree):
        raise ConfigError(f"merkle_diff_svg needs two MerkleTrees, got {type(a).__name__}")
    keys = a.diff(b)  # also checks b's type and shape
    levels = _walk(a, b)
    fanout, depth = a.fanout, a.depth
    total = sum(fanout**lvl for lvl in range(depth + 1))
    compared = sum(level.compared for level in levels)

    page = width is not None
    gap, group_gap = (4, 10) if page else (GAP, GROUP_GAP)
    box_w = max(28.0, s.text_width(str(fanout**depth - 1), 10, mono=True) + 16)
    # x positions per row: boxes in index order, a wider gap between sibling groups
    rows: list[list[tuple[_Node, float]]] = []
    widest = 0.0
    for level in levels:
        placed: list[tuple[_Node, float]] = []
        x = 0.0
        for i, node in enumerate(level.nodes):
            if i:
                x += box_w + (group_gap if node.parent != level.nodes[i - 1].parent else gap)
            placed.append((node, x))
        rows.append(placed)
        widest = max(widest, x + box_w if placed else 0.0)

    notes = [_row_notes(level, depth) for level in levels]
    if page:
        notes = [[ns[0]] + [w for n in ns[1:] for w in textwrap.wrap(n, 17)] for ns in notes]
    gutter = max([104.0] + [s.text_width(ns[0], 12) * 1.1 + 12 for ns in notes]) if page \
        else max([GUTTER] + [s.text_width(n, 10) + 16
                                                for ns in notes for n in ns[1:]])
    tree_w = widest
    hint = ("Boxes are numbered by node index at their level (the children of i are "
            "i·fanout+j); nodes empty in both trees are not drawn.")
    page_width = width
    if page_width is None:
        width = max(PAD + gutter + tree_w + PAD, PAD + 60 + s.text_width(hint, 10) + PAD, 760.0)
    else:
        width = max(PAD + gutter + tree_w + PAD, page_width)
    chars = int((width - 2 * PAD) / (KEY_SIZE * s.MONO_EM))

    body: list[str] = []
    caption = (f"{_plural(len(keys), 'key differs', 'keys differ')}; compared "
               f"{compared} of {total} node hashes")
    body.append(s.text(PAD, 26, title, size=16, font_weight="bold", fill=s.INK))
    body.append(s.text(PAD, 46, caption, size=13, fill=s.INK, class_="caption"))
    shape = (f"fanout {fanout}, depth {depth} ({a.buckets} buckets) · A: "
             f"{_plural(len(a), 'key', 'keys')}, root {a.root.hex()[:12]}… · B: "
             f"{_plural(len(b), 'key', 'keys')}, root {b.root.hex()[:12]}…")
    shape_lines = textwrap.wrap(shape, int((width - 2 * PAD) / (11 * s.SANS_EM))) if page \
        else [shape]
    for n, part in enumerate(shape_lines):
        body.append(s.text(PAD, 64 + 14 * n, part, size=11, fill=s.GREY))

    # legend
    y = 80 + 14 * (len(shape_lines) - 1)
    body.append(s.text(PAD, y + 15, "Legend", size=12, font_weight="bold", fill=s.INK))
    lx: float = PAD + 60
    legend = [(_Node(0, 7, None, True), "hashes differ: compared below"),
              (_Node(0, 7, None, False), "equal: subtree not compared, not drawn")]
    for node, label in legend:
        body.append(_box(lx, y, box_w, node).replace('class="node ', 'class="legend-'))
        body.append(s.text(lx + box_w + 6, y + 15, label, size=11, fill=s.INK))
        lx += box_w + 12 + s.text_width(label, 11)
    hints = textwrap.wrap(hint, int((width - PAD - 60) / (11 * s.SANS_EM))) if page else [hint]
    for n, part in enumerate(hints):
        body.append(s.text(PAD + 60, y + 38 + 14 * n, part, size=10, fill=s.GREY))

    # the rows
    top = y + 62 + 14 * (len(hints) - 1)
    left = PAD + gutter
    centre: dict[tuple[int, int], float] = {}
    for level, placed, note in zip(levels, rows, notes, strict=True):
        ry = top + ROW_H * level.level
        body.append(s.text(PAD, ry + 15, note[0], size=12, font_weight="bold", fill=s.INK))
        for i, part in enumerate(note[1:]):
            body.append(s.text(PAD, ry + 29 + 12 * i, part, size=10, fill=s.GREY))
        shift = left + (tree_w - (placed[-1][1] + box_w if placed else 0.0)) / 2
        for node, x in placed:
            centre[(node.level, node.index)] = shift + x + box_w / 2
            parent_x = centre.get((node.level - 1, node.parent)) if node.parent is not None else None
            if parent_x is not None:
                body.append(s.line(parent_x, ry - ROW_H + BOX_H, shift + x + box_w / 2, ry,
                                   stroke=s.VERMILLION if node.differs else s.FAINT,
                                   stroke_width=1.4 if node.differs else 1))
        for node, x in placed:
            body.append(_box(shift + x, ry, box_w, node))

    # the keys, under their buckets
    y = top + ROW_H * len(levels) + 8
    body.append(s.line(PAD, y, width - PAD, y, stroke=s.FAINT, stroke_width=1))
    y += 22
    body.append(s.text(PAD, y, f"Differing keys ({len(keys)}), by bucket", size=12,
                       font_weight="bold", fill=s.INK))
    by_bucket: dict[int, list[str]] = {}
    for key in keys[:MAX_KEYS]:
        by_bucket.setdefault(a.bucket_of(key), []).append(key)
    lines: list[tuple[str, float]] = []  # (text, indent)
    for bucket in sorted(by_bucket):
        entries = ", ".join(f"{k} ({_status(a, b, k)})" for k in by_bucket[bucket])
        wrapped = textwrap.wrap(f"bucket {bucket}: {entries}", width=chars - 4,
                                break_on_hyphens=False)
        lines += [(part, 24.0 if i else 0.0) for i, part in enumerate(wrapped)]
    if not keys:
        lines.append(("none: the trees are equal", 0.0))
    elif len(keys) > MAX_KEYS:
        lines.append((f"… and {len(keys) - MAX_KEYS} more keys (see a.diff(b))", 0.0))
    for text_line, indent in lines:
        y += LINE_H
        body.append(s.text(PAD + indent, y, text_line, size=KEY_SIZE, fill=s.INK,
                           font_family=s.MONO, class_="key-line"))
    height = y + PAD
    desc = f"{caption}. Differing keys: {', '.join(keys[:MAX_KEYS]) or 'none'}."
    if page:
        body = [line.replace('font-size="10"', 'font-size="11"') for line in body]
    return s.document(width, height, f"{title}: {caption}", body, desc)


def _row_notes(level: _Level, depth: int) -> list[str]:
    """The gutter lines of a row: its name, what was compared there, what is not drawn."""
    name = "root" if level.level == 0 else "buckets" if level.level == depth else ""
    lines = [f"level {level.level}" + (f" ({name})" if name else ""),
             f"{level.compared} compared, {_plural(level.differing, 'differs', 'differ')}"]
    hidden = []
    if level.differing_hidden:
        hidden.append(f"{level.differing_hidden} differing")
    if level.equal_hidden:
        hidden.append(f"{level.equal_hidden} equal")
    if hidden:
        lines.append(" + ".join(hidden) + " not drawn")
    return lines
