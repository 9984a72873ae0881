"""Kind ``answer``: a written answer in the learner's module, checked against the right one.

``attribute`` names a module-level string (say ``VIOLATED_LAW``); ``choices``
lists the answers a learner may give (shown when the answer is not one of
them). Where the right answer comes from is the point of the kind: the
exercise file must not give it away.

* ``law_of`` (with ``ops``, as for kind ``laws``): the right answer is the law of
  a join that class ``law_of`` *of the exercise's own starter* breaks, found when
  the check runs, on the grader's side, by the same law checker the learner is
  asked to run (:func:`replicalab.testing.check_crdt`, seed 0). Nothing in the
  exercise file names it, so no hash of a choice can match it::

      kind = "answer"
      attribute = "VIOLATED_LAW"
      choices = ["commutative", "associative", "idempotent", "inflationary", "convergent"]
      law_of = "Bag"
      ops = [{ call = "add", args = [["home", "about"], ["a", "b", "c"]], at = 1 }]

* ``computed``: the name of an entry of :data:`COMPUTED` (a fixed table: data picks
  an entry, never code), a function that works the answer out on the grader's side
  with replicalab's own implementation — for a number the learner predicts::

      computed = "merkle-one-key-descent-reads"

* ``sha256``: the SHA-256 hex digest of the right answer, lower-cased and
  stripped — only for answers with too many possibilities to try (a sentence,
  a long identifier). Never with ``choices``, never for a number: hashing each
  choice, or each number up to a million, would reveal it.

The starter is shipped with replicalab (data the exercise author wrote), never
the learner's file, so the grader may run it; the learner's own module only
answers the attribute's value.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from replicalab.errors import ConfigError
from replicalab.exercises.kinds.common import (
    CheckContext,
    CheckFailed,
    find,
    is_list_of,
    is_name,
    is_sha256,
    is_text,
)

__all__ = ["COMPUTED", "PARAMS", "REQUIRED", "digest", "run", "validate", "violated_law"]

#: How a law checker's message names each law (first match wins).
LAW_NAMES = (("is not commutative", "commutative"), ("is not associative", "associative"),
             ("is not idempotent", "idempotent"), ("is not inflationary", "inflationary"),
             ("is not an inflation", "inflationary"), ("did not converge", "convergent"))


def digest(answer: str) -> str:
    """The digest an exercise file stores for ``answer`` (lower-cased, stripped)."""
    return hashlib.sha256(answer.strip().lower().encode()).hexdigest()


def _ops(value: Any, key: str) -> None:
    from replicalab.exercises.kinds.laws import PARAMS as LAW_PARAMS

    LAW_PARAMS["ops"](value, key)


def _one_key_descent_reads() -> str:
    """Reads of the top-down descent over both views of two trees of fanout 16 and depth 4
    that differ in one key (the prediction asked for in exercise ``merkle-diff``)."""
    from replicalab.exercises.oracles.merkle_diff import descent_reads
    from replicalab.merkle import MerkleTree

    store = {f"key{i:03d}": b"value" for i in range(100)}
    ours = MerkleTree.build(store, fanout=16, depth=4)
    theirs = MerkleTree.build({**store, "key042": b"changed"}, fanout=16, depth=4)
    return str(descent_reads(ours, theirs))


def _cheapest_quorum(n: int, budget: float) -> str:
    """"N/R/W" for ``n`` replicas: the smallest R + W whose fresh-read miss probability
    C(N−W, R) / C(N, R) is within ``budget``, and among those the smallest W (writes are the
    hot path) — the exercise ``choose-quorum``, worked out with replicalab's PBS closed form."""
    from replicalab.scenarios.pbs import closed_form

    best = min((r + w, w, r) for r in range(1, n + 1) for w in range(1, n + 1)
               if closed_form(n, r, w) <= budget)
    _, w, r = best
    return f"{n}/{r}/{w}"


def _cheapest_quorum_5() -> str:
    return _cheapest_quorum(5, 0.10)


def _cheapest_quorum_6() -> str:
    return _cheapest_quorum(6, 0.05)


#: Answers worked out when grading, by name.
COMPUTED: dict[str, Callable[[], str]] = {
    "merkle-one-key-descent-reads": _one_key_descent_reads,
    "cheapest-quorum-5-within-10-percent": _cheapest_quorum_5,
    "cheapest-quorum-6-within-5-percent": _cheapest_quorum_6}


def _computed(value: Any, key: str) -> None:
    if value not in COMPUTED:
        raise ConfigError(f"{key!r} must be one of {sorted(COMPUTED)}, got {value!r}")


PARAMS = {"attribute": is_name, "choices": is_list_of(is_text), "sha256": is_sha256,
          "law_of": is_name, "ops": _ops, "computed": _computed}
SOURCES = ("sha256", "law_of", "computed")
REQUIRED = {"attribute"}


def validate(params: dict[str, Any]) -> None:
    """Exactly one source of the right answer, and no digest a list of choices gives away."""
    if sum(source in params for source in SOURCES) != 1:
        raise ConfigError("kind 'answer' needs exactly one of sha256, law_of and computed")
    if "law_of" in params and "ops" not in params:
        raise ConfigError("law_of needs ops (as for kind 'laws') to run the law checker with")
    if "sha256" in params and ("choices" in params or any(
            digest(str(n)) == params["sha256"] for n in range(100_000))):
        raise ConfigError("this sha256 gives the answer away (hash each choice, or each number); "
                          "work the answer out when grading instead (law_of, computed)")


@functools.lru_cache(maxsize=8)
def violated_law(starter: Path, class_name: str, ops: str) -> str:
    """The law class ``class_name`` of the exercise's ``starter`` breaks (``ops``: JSON op tables)."""
    from hypothesis import strategies as st

    from replicalab.exercises.kinds.laws import op_strategy
    from replicalab.testing import LawViolation, check_crdt

    spec = importlib.util.spec_from_file_location("replicalab_exercise_starter", starter)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot read the starter {starter}")
    module = importlib.util.module_from_spec(spec)  # not in sys.modules: nothing else sees it
    spec.loader.exec_module(module)
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ConfigError(f"law_of names {class_name!r}, which the starter does not define")
    strategy = st.one_of(*[op_strategy(op) for op in json.loads(ops)])
    try:
        check_crdt(cls, ops=strategy, max_examples=200, seed=0)
    except LawViolation as violation:
        first_line = str(violation).splitlines()[0]
        for phrase, law in LAW_NAMES:
            if phrase in first_line:
                return law
        raise ConfigError(f"the starter's {class_name} fails a check that is not a law: "
                          f"{first_line}") from None
    raise ConfigError(f"the starter's {class_name} breaks no law: there is nothing to find")


def _right_answer(ctx: CheckContext) -> str:
    """The digest of the right answer."""
    if "sha256" in ctx.params:
        return str(ctx.params["sha256"])
    if "computed" in ctx.params:
        return digest(COMPUTED[ctx.params["computed"]]())
    if ctx.starter is None:
        raise ConfigError("law_of needs the exercise's starter")
    law = violated_law(ctx.starter, ctx.params["law_of"],
                       json.dumps(ctx.params["ops"], sort_keys=True))
    choices = ctx.params.get("choices")
    if choices and law not in [c.strip().lower() for c in choices]:
        raise ConfigError(f"the starter breaks {law!r}, which is not one of the choices {choices}")
    return digest(law)


def run(ctx: CheckContext) -> None:
    validate(ctx.params)
    answer = find(ctx.module, ctx.params["attribute"], "answer")
    choices = ctx.params.get("choices")
    if not isinstance(answer, str) or not answer.strip():
        raise CheckFailed(f"set {ctx.params['attribute']} to your answer, a string"
                          + (f": one of {choices}" if choices else ""))
    if choices and answer.strip().lower() not in [c.lower() for c in choices]:
        raise CheckFailed(f"{ctx.params['attribute']} = {answer!r} is not one of {choices}")
    if digest(answer) != _right_answer(ctx):
        raise CheckFailed(f"{ctx.params['attribute']} = {answer!r} is not it")
