"""Kind ``answer``: a written answer in the learner's module, checked against a digest.

``attribute`` names a module-level string (say ``VIOLATED_LAW``);
``choices`` lists the answers a learner may give (shown when the answer is
not one of them); ``sha256`` is the SHA-256 hex digest of the right answer,
lower-cased and stripped, so the exercise file does not give it away::

    kind = "answer"
    attribute = "VIOLATED_LAW"
    choices = ["commutative", "associative", "idempotent", "inflationary", "convergent"]
    sha256 = "..."    # python -c "import hashlib; print(hashlib.sha256(b'idempotent').hexdigest())"
"""

from __future__ import annotations

import hashlib
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

__all__ = ["PARAMS", "REQUIRED", "digest", "run"]


def digest(answer: str) -> str:
    """The digest an exercise file stores for ``answer`` (lower-cased, stripped)."""
    return hashlib.sha256(answer.strip().lower().encode()).hexdigest()


def _choices_hold_the_answer(params: dict[str, Any]) -> None:
    if "choices" in params and params["sha256"] not in {digest(c) for c in params["choices"]}:
        raise ConfigError("sha256 is not the digest of any of the choices")


PARAMS = {"attribute": is_name, "choices": is_list_of(is_text), "sha256": is_sha256}
REQUIRED = {"attribute", "sha256"}


def run(ctx: CheckContext) -> None:
    _choices_hold_the_answer(ctx.params)
    answer = find(ctx.module, ctx.params["attribute"], "answer")
    choices = ctx.params.get("choices")
    if not isinstance(answer, str) or not answer.strip():
        raise CheckFailed(f"set {ctx.params['attribute']} to your answer, a string"
                          + (f": one of {choices}" if choices else ""))
    if choices and answer.strip().lower() not in [c.lower() for c in choices]:
        raise CheckFailed(f"{ctx.params['attribute']} = {answer!r} is not one of {choices}")
    if digest(answer) != ctx.params["sha256"]:
        raise CheckFailed(f"{ctx.params['attribute']} = {answer!r} is not it")
