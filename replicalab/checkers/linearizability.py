"""Is a history linearizable? Wing & Gong's search with Lowe's memoisation.

A history is *linearizable* (Herlihy & Wing 1990) if its operations can be put
in one sequential order that (1) a single copy of the object would accept —
every read returns the latest write before it, every cas swaps exactly when the
register held its expected value — and (2) respects real time: an operation
that returned before another was called comes first. An operation that never
returned may be left out (it did not take effect) or placed anywhere after its
call (it did).

The search (Wing & Gong 1993, with the cache of Lowe 2017, as in Knossos's
``wgl.clj`` and Porcupine's ``checker.go``)::

    entries := calls and returns sorted by time (a call before a return at equal times)
    state := model's initial state; linearized := {}; stack := []
    loop:
        if every returned operation is linearized: return the stack (a witness order)
        e := the first entry left
        while e is a call:
            if the model accepts op(e) in state and (linearized + op, new state) is not cached:
                cache it; push (op, state); take op's call and return out of the list
                state := new state; e := the first entry left; continue
            e := the entry after e
        # e is a return whose operation could not go anywhere before it: backtrack
        if the stack is empty: not linearizable
        pop (op, state); put op's entries back; continue from the entry after op's call

The cache key is the pair *(set of linearized operations as a bitset, model
state)*: two search paths that reach the same pair have the same future, so the
second is cut. A key-value history is checked one key at a time (Porcupine's
``Partition``): linearizability is local (Herlihy & Wing's theorem), so a map is
linearizable exactly when each of its registers is.

**The core.** When a history is not linearizable the verdict also carries a
small non-linearizable *core*, found by a documented reduction:

1. *shortest prefix*: the earliest time T such that the history as it stood at T
   — the operations called by T, those still running at T counted as never
   returned — is already not linearizable (found by bisection: a prefix of a
   linearizable history is linearizable, so the answer is monotone in T);
2. *delta debugging*: from the operations called by T (whole, with their real
   returns: that only adds constraints), drop runs of operations — halves,
   quarters, ..., then single operations, latest calls first, in passes until
   no single one can go — while what is left is still not linearizable and
   every value it reads (or a successful cas expects) is still written by
   another operation left that was called before the reader returned (or is
   the initial value).
   So the core keeps the writes that make a read stale instead of degenerating
   into "a read of a value nobody wrote". Removing any single further
   operation then either makes it linearizable or orphans a read. (A read
   that was an orphan from the start — it saw a value nothing could have
   written — may end up alone in the core: it is the anomaly.)

The result is 1-minimal under that rule, not necessarily the smallest core.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from replicalab import _validate
from replicalab.checkers.history import History, Operation, _check_value
from replicalab.errors import ConfigError

__all__ = ["MAX_STEPS", "MODELS", "Verdict", "linearizable"]

#: The models :func:`linearizable` knows: a single register, and a map of registers.
MODELS = ("register", "kv")
#: Search steps allowed per register before :func:`linearizable` gives up with ConfigError.
MAX_STEPS = 5_000_000


# -- the sequential specification ----------------------------------------------------


def _step(state: Any, op: Operation) -> tuple[bool, Any]:
    """A register's rule: (does it accept ``op`` in ``state``, the state after it)."""
    kind = op.kind
    if kind == "write":
        return True, op.input
    if kind == "read":
        return (op.ret is None or _same(state, op.output)), state
    expected, new = op.input
    swaps = _same(state, expected)
    if op.ret is not None and op.output != swaps:
        return False, state
    return True, (new if swaps else state)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


# -- the search ------------------------------------------------------------------------


def _search(ops: Sequence[Operation], max_steps: int, memo: bool = True,
            initial: Any = None) -> list[int] | None:
    """Wing & Gong / Lowe on one register: a witness order (indices into ``ops``), or None.

    ``memo=False`` is Wing & Gong without Lowe's cache (for the benchmark's comparison).
    """
    n = len(ops)
    if n == 0:
        return []
    finite = [op.ret for op in ops if op.ret is not None]
    never = max([op.call for op in ops] + finite) + 1  # "infinity": after every real entry
    # (time, 0 for a call / 1 for a return, op index): calls before returns at equal times.
    events = sorted([(op.call, 0, i) for i, op in enumerate(ops)]
                    + [(op.ret if op.ret is not None else never, 1, i) for i, op in enumerate(ops)])
    size = len(events)  # nodes 1..size; 0 is the head
    nxt = list(range(1, size + 2))
    prv = list(range(-1, size + 1))
    nxt[size] = -1
    call_node = [0] * n
    ret_node = [0] * n
    node_op = [0] * (size + 1)
    is_call = [False] * (size + 1)
    for position, (_time, kind, i) in enumerate(events, start=1):
        node_op[position] = i
        if kind == 0:
            call_node[i] = position
            is_call[position] = True
        else:
            ret_node[i] = position

    def lift(i: int) -> None:
        for node in (call_node[i], ret_node[i]):
            nxt[prv[node]] = nxt[node]
            if nxt[node] != -1:
                prv[nxt[node]] = prv[node]

    def unlift(i: int) -> None:
        for node in (ret_node[i], call_node[i]):
            nxt[prv[node]] = node
            if nxt[node] != -1:
                prv[nxt[node]] = node

    remaining = sum(1 for op in ops if op.ret is not None)
    state: Any = initial
    linearized = 0
    stack: list[tuple[int, Any]] = []
    cache: set[tuple[int, Any]] = set()
    steps = 0
    entry = nxt[0]
    while True:  # not `while remaining:` — CPython 3.11 quickens only unconditional loops
        if not remaining:
            break
        steps += 1
        if steps > max_steps:
            raise ConfigError(
                f"the linearizability search took more than max_steps={max_steps} steps on "
                f"{n} operations; pass a larger max_steps, or check a shorter history")
        if is_call[entry]:
            i = node_op[entry]
            ok, new = _step(state, ops[i])
            if ok:
                key = (linearized | (1 << i), new)
                if key not in cache:
                    if memo:
                        cache.add(key)
                    stack.append((i, state))
                    state, linearized = new, key[0]
                    if ops[i].ret is not None:
                        remaining -= 1
                    lift(i)
                    entry = nxt[0]
                    continue
            entry = nxt[entry]
        else:
            if not stack:
                return None
            i, state = stack.pop()
            linearized &= ~(1 << i)
            if ops[i].ret is not None:
                remaining += 1
            unlift(i)
            entry = nxt[call_node[i]]
    return [i for i, _ in stack]


# -- verdicts ----------------------------------------------------------------------------


@attrs.frozen
class Verdict:
    """What :func:`linearizable` found.

    ``ok``: the history is linearizable. Then ``order`` is a witness: indices into
    ``history.operations`` in a legal sequential order (each register's order in
    turn, keys sorted, for a key-value history), including those operations that
    never returned which this order lets take effect. Otherwise ``core`` holds the indices
    of a small non-linearizable sub-history (see the module docs for the
    reduction) and ``key`` names its register (None: the single register).
    ``initial`` is the value every register started with.
    """

    ok: bool
    model: str
    history: History = attrs.field(repr=False)
    order: tuple[int, ...] = ()
    core: tuple[int, ...] = ()
    key: str | None = None
    initial: Any = None

    @property
    def core_history(self) -> History:
        """The core as a history of its own (empty when the history is linearizable)."""
        return History(self.history.operations[i] for i in self.core)

    def explain(self) -> str:
        """For people: the witness order, or the core as an ASCII timeline (a row per process)."""
        ops = self.history.operations
        if self.ok:
            lines = [f"linearizable ({self.model}, {len(ops)} operations); one legal order:"]
            lines += [f"  {n:>3}. {ops[i].process}: {ops[i].describe()}"
                      for n, i in enumerate(self.order, start=1)]
            return "\n".join(lines)
        where = "" if self.key is None else f" on key {self.key!r}"
        these = ("this operation has" if len(self.core) == 1
                 else f"these {len(self.core)} operations have")
        head = (f"not linearizable{where}: {these} no legal order (each bar runs from call to "
                "return; '>' never returned)")
        return head + "\n" + timeline([ops[i] for i in self.core])


def timeline(history: History | Sequence[Operation], *, width: int = 48) -> str:
    """An ASCII timeline: one row per process, each operation a bar from call to return.

    Times are ranked (only their order matters), so the picture stays small. A
    bar ends in ``>`` when the operation never returned. Each operation is
    described under the rows, numbered as its bar.
    """
    ops = (history if isinstance(history, History) else History(history)).operations
    if type(width) is not int or width < 1:
        raise ConfigError(f"width must be an integer >= 1 (columns), got {_validate.shown(width)}")
    if not ops:
        return "(no operations)"
    times = sorted({op.call for op in ops} | {op.ret for op in ops if op.ret is not None})
    rank = {t: r for r, t in enumerate(times)}
    scale = max(1, min(6, width // max(1, len(times))))
    end = len(times) * scale + 1
    processes = sorted({op.process for op in ops})
    label = max(len(p) for p in processes)
    order = sorted(range(len(ops)), key=lambda i: (ops[i].call, ops[i].process))
    number = {i: n for n, i in enumerate(order, start=1)}
    rows = []
    for process in processes:
        line = [" "] * (end + 1)
        for i in order:
            op = ops[i]
            if op.process != process:
                continue
            start = rank[op.call] * scale
            stop = rank[op.ret] * scale if op.ret is not None else end
            line[start] = "|"
            for x in range(start + 1, stop):
                line[x] = "-"
            line[stop] = "|" if op.ret is not None else ">"
            tag = str(number[i])
            for k, ch in enumerate(tag):
                if start + 1 + k < stop:
                    line[start + 1 + k] = ch
        rows.append(f"{process.rjust(label)} {''.join(line).rstrip()}")
    notes = [f"  {number[i]}. {ops[i].process}: {ops[i].describe()}"
             + (f"  ({ops[i].label})" if ops[i].label else "") for i in order]
    return "\n".join(rows + notes)


# -- the core ------------------------------------------------------------------------------


def _as_of(ops: Sequence[Operation], t: int) -> list[Operation]:
    """The history as it stood at time ``t``: operations called by ``t``; those still running
    at ``t`` never returned (and lose their outputs)."""
    out = []
    for op in ops:
        if op.call > t:
            continue
        if op.ret is not None and op.ret > t:
            op = attrs.evolve(op, ret=None, output=None)
        out.append(op)
    return out


def _orphans(ops: Sequence[Operation], indices: Sequence[int], initial: Any) -> set[int]:
    """The indices of the reads and successful cases among ``indices`` whose value is neither the
    initial one nor written by another of them called before the reader returned (so it could come first)."""
    calls: dict[Any, list[tuple[int, int]]] = {}  # value -> (call, index) of the ops writing it
    for i in indices:
        op = ops[i]
        if op.kind in ("write", "cas"):
            calls.setdefault(op.input if op.kind == "write" else op.input[1], []).append((op.call, i))
    out = set()
    for i in indices:
        op = ops[i]
        if op.ret is None or op.kind == "write" or (op.kind == "cas" and op.output is not True):
            continue
        value, until = (op.output if op.kind == "read" else op.input[0]), op.ret
        if not _same(value, initial) and not any(call <= until and j != i
                                         for call, j in calls.get(value, ())):
            out.add(i)
    return out


def _core(ops: Sequence[Operation], max_steps: int, initial: Any) -> list[int]:
    """Indices into ``ops`` of a small non-linearizable sub-history (see the module docs)."""
    def fails(subset: Sequence[Operation]) -> bool:
        return _search(subset, max_steps, initial=initial) is None

    times = sorted({op.ret for op in ops if op.ret is not None})
    low, high = 0, len(times) - 1  # the full history (as of the last return) fails
    while low < high:
        middle = (low + high) // 2
        if fails(_as_of(ops, times[middle])):
            high = middle
        else:
            low = middle + 1
    cut = times[low] if times else 0
    # whole operations from here on, in call order; chunks are tried from the end
    kept = sorted((i for i, op in enumerate(ops) if op.call <= cut), key=lambda i: (ops[i].call, i))
    orphans = _orphans(ops, kept, initial)  # a removal may not orphan any other read
    chunk = max(1, len(kept) // 2)
    while True:
        shrunk = False
        end = len(kept)
        while end > 0:
            start = max(0, end - chunk)
            rest = kept[:start] + kept[end:]
            trial = [ops[j] for j in rest]
            if rest and _orphans(ops, rest, initial) <= orphans and fails(trial):
                kept, shrunk = rest, True
            end = start
        if chunk == 1 and not shrunk:
            break  # no single operation can go: 1-minimal
        if not shrunk or chunk > 1:
            chunk = max(1, chunk // 2)
    kept.sort()
    return kept


# -- the entry point -------------------------------------------------------------------------


def linearizable(history: History | Sequence[Operation], model: str = "register", *,
                 initial: Any = None, max_steps: int = MAX_STEPS) -> Verdict:
    """Check ``history`` against ``model`` (``"register"`` or ``"kv"``); return a :class:`Verdict`.

    ``"register"``: one register (every operation's key is None) holding ``initial``
    (None unless told: Porcupine's register tests start at 0), with read, write and cas. ``"kv"``: a map of such registers, one per key (every
    operation names its key); each key is checked on its own. Raises
    :class:`~replicalab.errors.ConfigError` for an unknown model, operations whose
    keys do not fit it, or a search longer than ``max_steps`` steps on one register
    (the search is exponential in the number of concurrent operations at worst).

        >>> from replicalab.checkers import Operation
        >>> ok = linearizable([Operation("a", 0, 2, "write", 1), Operation("b", 1, 3, "read", output=None)])
        >>> ok.ok, ok.order
        (True, (1, 0))
        >>> stale = linearizable([Operation("a", 0, 2, "write", 1), Operation("b", 3, 4, "read", output=None)])
        >>> stale.ok, stale.core
        (False, (0, 1))
    """
    if not isinstance(history, History):
        history = History(history)
    if not isinstance(model, str) or model not in MODELS:
        raise ConfigError(f"model must be one of {list(MODELS)}, got {_validate.shown(model)}")
    _check_value(initial, "initial (the registers' first value)")
    if type(max_steps) is not int or max_steps < 1:
        raise ConfigError(f"max_steps must be an integer >= 1, got {_validate.shown(max_steps)}")
    ops = history.operations
    keys = history.keys
    if model == "register" and keys not in ([], [None]):
        raise ConfigError(f"a register history has no keys (key=None), but this one names "
                          f"{keys[-1]!r}: use model='kv' for a map of registers")
    if model == "kv" and None in keys:
        raise ConfigError("every operation of a kv history names its key; one has key=None "
                          "(use model='register' for a single register)")
    by_key: dict[str | None, list[int]] = {key: [] for key in keys}
    for i, op in enumerate(ops):
        if not _idle(op):
            by_key[op.key].append(i)
    order: list[int] = []
    for key, indices in by_key.items():
        part = [ops[i] for i in indices]
        found = _search(part, max_steps, initial=initial)
        if found is None:
            core = _core(part, max_steps, initial)
            return Verdict(False, model, history, core=tuple(indices[i] for i in core), key=key,
                           initial=initial)
        order += [indices[i] for i in found]
    return Verdict(True, model, history, order=tuple(order), initial=initial)


def _idle(op: Operation) -> bool:
    """A read that never returned constrains nothing (it may as well not have happened)."""
    return op.kind == "read" and op.ret is None

