"""What a sweep runs, as small values: the source of schedules, the groups, and chunks of cells.

A **cell** is one run: (schedule source, seed, group). A **group** is one row
of the aggregated output: a pattern of :mod:`replicalab.scenarios.compare`
(the same names and options ``replicalab compare`` uses), possibly crossed with
extra options (``options={"stamps": ["wall", "hlc"]}``). A **chunk** is a
consecutive run of seeds times every group, and it is what travels to a
worker: a few hundred bytes describing the cells, never a Result. Cells are
ordered seed-major — seed ``s`` runs every group before seed ``s + 1`` — and
that order is the order in which measurements are aggregated.

    >>> source = Source.scenario("london")
    >>> chunk = Chunk(source, range(0, 2), (Group.of(pattern("item-lww")),))
    >>> chunk.size
    2
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.scenarios.compare import Pattern, patterns
from replicalab.scenarios.world import TableScenario

__all__ = ["Chunk", "Group", "Source", "groups", "pattern", "pattern_ids", "slug"]


def slug(p: Pattern) -> str:
    """A pattern's short id, derived from its options: what it changes from the table as deployed.

        >>> [slug(p) for p in patterns()][:3]
        ['item-lww', 'versioned', 'mrsc']
    """
    changed = [str(v) for k, v in p.options.items() if (k, v) != ("merge", "item-lww")]
    return "+".join(changed) or "item-lww"


def pattern_ids() -> list[str]:
    """Every pattern's short id, in ``compare``'s order."""
    return [slug(p) for p in patterns()]


def pattern(name: str) -> Pattern:
    """The compare pattern called ``name`` (its short id, or its full name as ``compare`` prints it)."""
    for p in patterns():
        if name in (slug(p), p.name):
            return p
    raise ConfigError(f"unknown pattern {_validate.shown(name)}; choose 'all' or any of: "
                      f"{', '.join(pattern_ids())}")


@attrs.frozen
class Source:
    """Where a cell's schedule comes from: a registered scenario, or a generated workload per seed."""

    kind: str  # "scenario" | "workload"
    name: str
    minutes: int = 0

    @classmethod
    def scenario(cls, name: str) -> Source:
        """A registered scenario (``replicalab scenarios`` lists them); unknown names raise."""
        from replicalab import scenarios

        scenarios.get(name)  # raises ConfigError listing the valid names
        return cls("scenario", name)

    @classmethod
    def workload(cls, shape: str, minutes: int = 2) -> Source:
        """New traffic of one generated data shape per seed (see :mod:`replicalab.scenarios.workloads`)."""
        from replicalab.scenarios.workloads import workload

        workload(shape, seed=0, minutes=minutes)  # validates shape and minutes
        return cls("workload", shape, minutes)

    def at(self, seed: int) -> TableScenario:
        """The scenario this source gives for ``seed``."""
        if self.kind == "workload":
            from replicalab.scenarios.workloads import workload

            return workload(self.name, seed=seed, minutes=self.minutes)
        from replicalab import scenarios

        return scenarios.get(self.name)

    def describe(self) -> dict[str, Any]:
        """Plain data naming the source."""
        if self.kind == "workload":
            return {"workload": self.name, "minutes": self.minutes}
        return {"scenario": self.name}


@attrs.frozen
class Group:
    """One output row: a compare pattern, and extra options crossed with it (``extra``)."""

    name: str
    id: str
    active: str
    options: dict[str, Any]
    extra: dict[str, Any] = attrs.field(factory=dict)

    @classmethod
    def of(cls, p: Pattern, extra: Mapping[str, Any] | None = None) -> Group:
        """The group of pattern ``p`` with ``extra`` options; its name and id say the extras.

            >>> Group.of(pattern("causal"), {"stamps": "hlc"}).id
            'causal,stamps=hlc'
        """
        extra = dict(sorted((extra or {}).items()))
        suffix = "".join(f", {k}={_text(v)}" for k, v in extra.items())
        id_suffix = "".join(f",{k}={_text(v)}" for k, v in extra.items())
        return cls(name=p.name + suffix, id=slug(p) + id_suffix, active=p.active,
                   options={**p.options, **extra}, extra=extra)


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{v}" for k, v in sorted(value.items())) + "}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def groups(chosen: Sequence[Pattern], vary: Mapping[str, Sequence[Any]] | None) -> tuple[Group, ...]:
    """Every chosen pattern crossed with every combination of ``vary``'s values (pattern-major)."""
    vary = dict(sorted((vary or {}).items()))
    for name, values in vary.items():
        if not isinstance(name, str):
            raise ConfigError(f"options names an option with a string, got {_validate.shown(name)}")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ConfigError(f"options[{name!r}] must be a non-empty list of values to try, "
                              f"got {_validate.shown(values)}")
        for p in chosen:
            if name in p.options:
                raise ConfigError(f"pattern {slug(p)!r} already sets {name}={p.options[name]!r}; "
                                  f"drop {name} from the options or choose patterns that leave it open")
    combos = [dict(zip(vary, values, strict=True)) for values in itertools.product(*vary.values())]
    return tuple(Group.of(p, combo) for p in chosen for combo in combos)


@attrs.frozen
class Chunk:
    """Consecutive seeds times every group: the unit of work a worker receives."""

    source: Source
    seeds: Sequence[int]  # a range (contiguous seeds) or a tuple
    groups: tuple[Group, ...]

    @property
    def size(self) -> int:
        """How many cells (runs) the chunk holds."""
        return len(self.seeds) * len(self.groups)

    def cells(self) -> Iterator[tuple[int, Group]]:
        """``(seed, group)`` in cell order: seed-major."""
        for seed in self.seeds:
            for group in self.groups:
                yield seed, group
