"""Convert published linearizability test histories into replicalab history documents.

Sources (see README.md in this folder for commits and licences):

* Knossos ``data/cas-register/{good,bad}/*.edn`` — Jepsen histories of a
  compare-and-set register, as EDN maps ``{:process :type :f :value}``;
* Porcupine ``test_data/jepsen/etcd_NNN.log`` — Jepsen etcd logs, one
  ``INFO  jepsen.util - P :type :f value`` line per event.

Usage (the repositories are local git clones or mirrors)::

    python tests/linearizability/convert.py KNOSSOS_GIT PORCUPINE_GIT OUT_DIR [names...]
    python tests/linearizability/convert.py --check KNOSSOS_GIT PORCUPINE_GIT   # every history

Each output file is ``{"source": ..., "verdict": true|false, "history": <replicalab/history>}``.
The rules, following each checker's own reading of its data:

* times are positions in the file (Porcupine: among the lines its parser
  matches), so only their order matters;
* Knossos: ``:ok`` completes an operation; ``:fail`` means it did not happen
  (dropped); ``:info`` or no completion means it never returned (``ret=None``);
  a read whose ``:ok`` value is ``nil`` matches any state in Knossos's model, so
  it is dropped; a successful cas has output True; processes that are not
  integers (``:nemesis``) are not clients and are skipped;
* Porcupine (``parseJepsenLog`` in ``porcupine_test.go``): ``:ok :read nil`` is
  a read of the initial (None) value; ``:fail :cas`` is a cas that observed a
  different value (output False); ``:fail :read :timed-out`` is a read with an
  unknown output (dropped: it constrains nothing); an operation still open at
  the end never returned.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from replicalab.checkers import History, Operation  # noqa: E402

# -- a small EDN reader (maps, vectors, lists, keywords, integers, nil, strings) ------------------

_TOKEN = re.compile(r'\s+|,|;[^\n]*|[\[\]{}()]|"(?:\\.|[^"\\])*"|[^\s,\[\]{}()";]+')


def read_edn(text: str) -> Any:
    tokens = [t for t in _TOKEN.findall(text) if t.strip() and t != "," and not t.startswith(";")]
    position = 0

    def value() -> Any:
        nonlocal position
        token = tokens[position]
        position += 1
        closing = {"[": "]", "(": ")", "{": "}"}.get(token)
        if closing:
            items = []
            while tokens[position] != closing:
                items.append(value())
            position += 1
            if token == "{":
                return dict(zip(items[::2], items[1::2], strict=True))
            return items
        if token == "nil":
            return None
        if token in ("true", "false"):
            return token == "true"
        if token.startswith('"'):
            return json.loads(token)
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        return token  # a keyword or symbol, kept as text (":ok")

    return value()


def knossos(text: str) -> History:
    events = read_edn(text)
    open_ops: dict[Any, tuple[int, dict[str, Any]]] = {}
    done: list[tuple[int, dict[str, Any], int | None, dict[str, Any] | None]] = []
    for t, event in enumerate(events):
        process = event[":process"]
        if type(process) is not int:
            continue
        kind = event[":type"]
        if kind == ":invoke":
            open_ops[process] = (t, event)
            continue
        call, invoke = open_ops.pop(process)
        if kind == ":ok":
            done.append((call, invoke, t, event))
        elif kind == ":info":
            done.append((call, invoke, None, None))
    done += [(call, invoke, None, None) for call, invoke in open_ops.values()]
    ops = []
    for call, invoke, ret, completion in sorted(done, key=lambda d: d[0]):
        f, process = invoke[":f"], str(invoke[":process"])
        if f == ":read":
            if completion is None or completion[":value"] is None:
                continue
            ops.append(Operation(process, call, ret, "read", output=completion[":value"]))
        elif f == ":write":
            ops.append(Operation(process, call, ret, "write", invoke[":value"]))
        elif f == ":cas":
            expected, new = invoke[":value"]
            ops.append(Operation(process, call, ret, "cas", (expected, new),
                                 None if ret is None else True))
        else:
            raise ValueError(f"unexpected operation {f}")
    return History(ops)


_LINE = re.compile(r"^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail)\s+:(read|write|cas)\s+(.*)$")


def porcupine(text: str) -> History:
    open_ops: dict[str, tuple[int, str, Any]] = {}
    ops: list[Operation] = []
    t = 0
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        process, kind, f, rest = match.groups()
        if kind == "invoke":
            if f == "cas":
                a, b = re.fullmatch(r"\[(\d+)\s+(\d+)\]", rest).groups()  # type: ignore[union-attr]
                given: Any = (int(a), int(b))
            else:
                given = None if rest == "nil" else int(rest)
            open_ops[process] = (t, f, given)
        else:
            if f == "read" and kind == "fail" and rest != ":timed-out":
                continue
            call, _, given = open_ops.pop(process)
            if f == "read" and kind == "ok":
                ops.append(Operation(process, call, t, "read", output=None if rest == "nil" else int(rest)))
            elif f == "write" and kind == "ok":
                ops.append(Operation(process, call, t, "write", given))
            elif f == "cas":
                ops.append(Operation(process, call, t, "cas", given, kind == "ok"))
        t += 1
    for process, (call, f, given) in open_ops.items():
        if f == "write":
            ops.append(Operation(process, call, None, "write", given))
        elif f == "cas":
            ops.append(Operation(process, call, None, "cas", given))
    return History(sorted(ops, key=lambda op: (op.call, op.process)))


def porcupine_verdicts(test_go: str) -> dict[int, bool]:
    return {int(n): v == "true" for n, v in
            re.findall(r"checkJepsen\(t, (\d+), (true|false)\)", test_go)}


def show(git: str, path: str) -> str:
    return subprocess.run(["git", "--git-dir", git, "show", f"HEAD:{path}"], check=True,
                          capture_output=True, text=True).stdout


def main(knossos_git: str, porcupine_git: str, out: str, names: list[str]) -> None:
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    verdicts = porcupine_verdicts(show(porcupine_git, "porcupine_test.go"))
    for name in names:
        if name.startswith("etcd_"):
            path = f"test_data/jepsen/{name}.log"
            history, verdict, repo = porcupine(show(porcupine_git, path)), verdicts[int(name[5:])], \
                "anishathalye/porcupine"
        else:
            path = f"data/cas-register/{name}.edn"
            history, verdict, repo = knossos(show(knossos_git, path)), name.startswith("good/"), \
                "jepsen-io/knossos"
        doc = {"source": f"{repo}/{path}", "verdict": verdict, "history": history.to_plain()}
        (target / (name.replace("/", "-") + ".json")).write_text(json.dumps(doc, sort_keys=True) + "\n")


def check_all(knossos_git: str, porcupine_git: str) -> int:
    """Check every Knossos cas-register and Porcupine etcd history; print and count disagreements."""
    from replicalab.checkers import linearizable

    listing = subprocess.run(["git", "--git-dir", knossos_git, "ls-tree", "-r", "--name-only",
                              "HEAD", "data/cas-register"], check=True, capture_output=True,
                             text=True).stdout.split()
    cases = [(path, knossos(show(knossos_git, path)), "/good/" in path)
             for path in listing if path.endswith(".edn")]
    verdicts = porcupine_verdicts(show(porcupine_git, "porcupine_test.go"))
    cases += [(f"etcd_{n:03d}", porcupine(show(porcupine_git, f"test_data/jepsen/etcd_{n:03d}.log")), v)
              for n, v in sorted(verdicts.items())]
    wrong = 0
    for name, history, expected in cases:
        ok = linearizable(history).ok
        wrong += ok != expected
        print(f"{name}: {len(history)} operations, {'linearizable' if ok else 'not linearizable'}"
              f"{'' if ok == expected else '  DISAGREES with the published verdict'}")
    print(f"{len(cases) - wrong} of {len(cases)} agree")
    return 1 if wrong else 0


if __name__ == "__main__":
    if sys.argv[1] == "--check":
        sys.exit(check_all(sys.argv[2], sys.argv[3]))
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
