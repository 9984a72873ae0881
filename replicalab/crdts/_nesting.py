"""What an ORMap can nest, and the checks that keep its dot stores reachable (ORMap internals).

The value types keep the causal-CRDT interface themselves (``crdts/causal.py``);
this module lists them, finds a type by its ops or JSON name, and refuses
states no sequence of ops could produce (one dot naming two updates, a payload
under another replica's dot). ``crdts/ormap.py`` is the map itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from replicalab import _validate
from replicalab.crdts.causal import CausalCRDT
from replicalab.crdts.counters import PNCounter
from replicalab.crdts.orset import ORSet
from replicalab.crdts.registers import LWWRegister, MVRegister
from replicalab.dots import DotT
from replicalab.errors import ConfigError, MergeValidationError

#: The types whose every update is named by a dot, so a reset-remove can erase them.
NESTED: tuple[type[CausalCRDT], ...] = (MVRegister, LWWRegister, ORSet, PNCounter)
BY_NAME: dict[str, type[CausalCRDT]] = {t._dot_kind: t for t in NESTED}


def check_reachable(kind: type[CausalCRDT], key: Any, inner: Mapping[DotT, Any]) -> None:
    """Refuse one key's updates that no sequence of ops could leave together."""
    for dot, payload in inner.items():
        owner = kind._payload_owner(payload)
        if owner is not None and owner != dot[0]:
            raise MergeValidationError(
                f"update {dot[0]}:{dot[1]} of {_validate.shown(key)} carries {_validate.shown(payload)}, "
                f"a payload of {_validate.shown(owner)}; a replica's update carries its own payload"
            )
    kind._read(inner.values())  # e.g. one LWW marker with two values


def kind_of(value: Any) -> type[CausalCRDT]:
    if not (isinstance(value, type) and value in NESTED):
        raise ConfigError(
            f"ORMap values can be MVRegister, LWWRegister, ORSet or PNCounter, got {_validate.shown(value)}; "
            "a reset-remove needs values whose every update is named by a dot"
        )
    return value


def kind_of_op(op: Any) -> type[CausalCRDT]:
    for kind in NESTED:
        if isinstance(op, kind._dot_ops):
            return kind
    raise ConfigError(f"{_validate.shown(op)} is not an op of a value type an ORMap can hold")


def nested_op(_instance: Any, _attribute: Any, value: Any) -> None:
    allowed = tuple(op for kind in NESTED for op in kind._dot_ops)
    if not isinstance(value, allowed):
        raise ConfigError(
            f"ORMap.Update takes an op of its value type (e.g. PNCounter.Increment('a', 1), "
            f"MVRegister.Assign('v', replica='a')), got {_validate.shown(value)}"
        )
    prepared = getattr(value, "dot", None) is not None or getattr(value, "observed", None) is not None
    if prepared:
        raise ConfigError(
            f"ORMap.Update takes an unprepared op (no dot, no observed), got {_validate.shown(value)}; "
            "the map mints dots from its own context"
        )


def missing_holder(entries: Mapping[Any, dict[DotT, Any]], dot: DotT) -> Any:
    for key, store in entries.items():
        if dot in store:
            return key
    return NOBODY


NOBODY = object()


def two_updates(key: Any, dot: DotT, mine: Any, theirs: Any) -> MergeValidationError:
    return MergeValidationError(
        f"dot {dot[0]}:{dot[1]} names two different updates of {key!r} ({mine!r} and {theirs!r}); "
        "one dot is one update"
    )


def check_update_owners(ea: Mapping[Any, dict[DotT, Any]], eb: Mapping[Any, dict[DotT, Any]]) -> None:
    """Raise if one dot names updates of different keys on the two sides."""
    owner = {d: key for key, store in ea.items() for d in store}
    for key, store in eb.items():
        for d in store:
            mine = owner.get(d, key)
            if mine != key:
                raise MergeValidationError(
                    f"dot {d[0]}:{d[1]} names an update of {_validate.shown(mine)} on one side and of {_validate.shown(key)} on "
                    "the other; one dot is one update, so these states cannot both be reachable"
                )
