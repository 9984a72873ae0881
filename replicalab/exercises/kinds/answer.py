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

* ``sha256``: the SHA-256 hex digest of the right answer, lower-cased and
  stripped — only for answers with too many possibilities to try (a sentence,
  a long identifier). Never with ``choices``: hashing each choice would reveal it.

The starter is shipped with replicalab (data the exercise author wrote), never
the learner's file, so the grader may run it; the learner's own module only
answers the attribute's value.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
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

__all__ = ["PARAMS", "REQUIRED", "digest", "run", "validate", "violated_law"]

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


PARAMS = {"attribute": is_name, "choices": is_list_of(is_text), "sha256": is_sha256,
          "law_of": is_name, "ops": _ops}
REQUIRED = {"attribute"}


def validate(params: dict[str, Any]) -> None:
    """Exactly one source of the right answer, and no digest a list of choices gives away."""
    if ("sha256" in params) == ("law_of" in params):
        raise ConfigError("kind 'answer' needs exactly one of sha256 and law_of")
    if "law_of" in params and "ops" not in params:
        raise ConfigError("law_of needs ops (as for kind 'laws') to run the law checker with")
    if "sha256" in params and "choices" in params:
        raise ConfigError("sha256 with choices gives the answer away (hash each choice); derive "
                          "the answer when grading instead (law_of)")


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
