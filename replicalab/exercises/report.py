"""What ``replicalab exercise check`` found: one result per check, points, and how to show them."""

from __future__ import annotations

from typing import Any

import attrs

from replicalab.trace import canonical_json

__all__ = ["CheckResult", "Report"]

REPORT_FORMAT = "replicalab/exercise-report"


@attrs.frozen
class CheckResult:
    """One check's outcome: passed or not, the points it earned, and what to tell the learner."""

    name: str
    kind: str
    points: int
    max_points: int
    passed: bool
    message: str = ""
    hint: str = ""

    def to_plain(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return attrs.asdict(self)


@attrs.frozen
class Report:
    """Every check of one exercise run against one learner module.

    Deterministic: the same module, exercise and seed give the same report
    (no timings; a time limit is reported as the limit that was exceeded).
    """

    exercise: str
    title: str
    module: str
    seed: int
    results: tuple[CheckResult, ...]
    #: The limits and isolation the learner's process ran under (see :mod:`~replicalab.exercises.sandbox`).
    isolation: tuple[str, ...] = ()

    @property
    def score(self) -> int:
        """Points earned."""
        return sum(r.points for r in self.results)

    @property
    def max_score(self) -> int:
        """Points available."""
        return sum(r.max_points for r in self.results)

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(r.passed for r in self.results)

    def to_plain(self) -> dict[str, Any]:
        """The report as plain data (what ``--json`` prints)."""
        return {
            "format": REPORT_FORMAT,
            "schema_version": 1,
            "exercise": self.exercise,
            "module": self.module,
            "seed": self.seed,
            "score": self.score,
            "max_score": self.max_score,
            "passed": self.passed,
            "checks": [r.to_plain() for r in self.results],
            "sandbox": list(self.isolation),
        }

    def to_json(self) -> str:
        """Canonical JSON: same inputs, same bytes (for autograders)."""
        return canonical_json(self.to_plain())

    def text(self) -> str:
        """For people: a line per check; the first failure in full, with its hint."""
        lines = [f"{self.exercise} — {self.title} ({self.module}, seed {self.seed})", ""]
        width = max(len(f"{r.points}/{r.max_points}") for r in self.results)
        first = True
        for r in self.results:
            mark = "PASS" if r.passed else "FAIL"
            lines.append(f"  {mark}  {f'{r.points}/{r.max_points}':>{width}}  {r.name}")
            if r.passed:
                continue
            body = r.message if first else r.message.split("\n", 1)[0]
            lines.extend(f"        {line}".rstrip() for line in body.splitlines())
            if first and r.hint:
                lines.append(f"        hint: {r.hint}")
            first = False
        verdict = "all checks pass" if self.passed else (
            f"{sum(not r.passed for r in self.results)} of {len(self.results)} checks fail")
        lines += ["", f"Score: {self.score}/{self.max_score} · {verdict}"]
        if self.isolation:
            lines.append("Your code ran in a separate process: " + "; ".join(self.isolation) + ".")
        return "\n".join(lines)
