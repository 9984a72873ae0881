"""A linearizability verdict as a picture: one row per process, one bar per operation.

:func:`verdict_svg` draws what :func:`replicalab.checkers.linearizable` found.
For a history that is not linearizable it draws the *core* — the few operations
that have no legal order — so a person can see why: each bar runs from the
operation's call to its return, and a bar that never returned fades out to the
right edge. For a linearizable history it draws the operations (the first
``limit``) with their place in the witness order. Times are ranked, not scaled:
only their order matters, and a long quiet gap takes no room.

Pure string building, like every picture here: the same verdict gives the same bytes.
"""

from __future__ import annotations

from replicalab import _validate
from replicalab.checkers import Operation, Verdict
from replicalab.errors import ConfigError
from replicalab.viz import _svg

__all__ = ["verdict_svg"]

ROW = 46
LEFT_PAD = 16
TOP = 58
STEP = 34
BAR = 16


def verdict_svg(verdict: Verdict, *, limit: int = 40) -> str:
    """Standalone SVG of ``verdict``: its core, or the first ``limit`` operations in witness order."""
    if not isinstance(verdict, Verdict):
        raise ConfigError(f"verdict_svg draws a Verdict from replicalab.checkers.linearizable, "
                          f"got {_validate.shown(verdict)}")
    if type(limit) is not int or limit < 1:
        raise ConfigError(f"limit must be an integer >= 1, got {_validate.shown(limit)}")
    ops = verdict.history.operations
    if verdict.ok:
        chosen = list(verdict.order[:limit])
        title = f"linearizable: {len(ops)} operations ({verdict.model})"
        note = "numbers: the place of each operation in one legal order"
        colour = _svg.BLUE
    else:
        chosen = list(verdict.core)
        where = "" if verdict.key is None else f" on {verdict.key}"
        title = f"not linearizable{where}: {len(chosen)} operations with no legal order"
        note = "no order of these bars agrees with both real time and one copy of the register"
        colour = _svg.VERMILLION
    picked = [ops[i] for i in chosen]
    place = {i: n for n, i in enumerate(chosen, start=1)}
    processes = sorted({op.process for op in picked})
    label = max([_svg.text_width(p, 12) for p in processes] + [40.0])
    times = sorted({op.call for op in picked} | {op.ret for op in picked if op.ret is not None})
    rank = {t: r for r, t in enumerate(times)}
    x0 = LEFT_PAD + label + 12
    end = x0 + max(1, len(times)) * STEP + STEP
    descriptions = [_describe(op) for op in picked]
    widest = max([_svg.text_width(d, 11) for d in descriptions] + [0.0])
    width = max(end + 24, x0 + widest + 24, _svg.text_width(title, 14) + 2 * LEFT_PAD,
                _svg.text_width(note, 11) + 2 * LEFT_PAD)
    height = TOP + len(processes) * ROW + 24
    body = [_svg.text(LEFT_PAD, 24, title, size=14, font_weight="bold", fill=_svg.INK),
            _svg.text(LEFT_PAD, 42, note, size=11, fill=_svg.GREY)]
    row_of = {p: n for n, p in enumerate(processes)}
    for p, n in row_of.items():
        y = TOP + n * ROW + BAR
        body.append(_svg.text(LEFT_PAD, y + 4, p, size=12, fill=_svg.INK))
        body.append(_svg.line(x0, y, end, y, stroke=_svg.FAINT, stroke_width=1))
    for i, op, text in zip(chosen, picked, descriptions, strict=True):
        y = TOP + row_of[op.process] * ROW + BAR
        left = x0 + rank[op.call] * STEP
        right = x0 + rank[op.ret] * STEP if op.ret is not None else end
        right = max(right, left + 6)
        body.append(_svg.tag("rect", None, x=left, y=y - BAR / 2, width=right - left, height=BAR,
                             rx=3, fill=colour, fill_opacity=0.25 if op.ret is None else 0.85,
                             stroke=colour, stroke_dasharray="4 3" if op.ret is None else None))
        body.append(_svg.text(left + 3, y + 4, str(place[i]), size=10, fill="#FFFFFF",
                              font_weight="bold"))
        body.append(_svg.halo_text(left, y + BAR / 2 + 13, text, size=11, fill=_svg.INK))
    return _svg.document(width, height, title, body, desc="\n".join(descriptions))


def _describe(op: Operation) -> str:
    return op.describe() + (f" ({op.label})" if op.label else "")
