"""Merge policies: what a table replica does with a local write and with a remote item.

A policy is a stateless strategy object with two verbs, both pure:

* ``write(item, ...)`` applies a client's update to the replica's current item;
* ``merge(local, incoming)`` combines the replica's item with one received
  from another replica.

Both return an :class:`Outcome`: the new item, the :class:`Loss` of every
attribute value that vanished (whose write, displaced by which write, and the
rule that decided), and a one-line note for the timeline. The policy explains
itself; it does *not* judge — the ledger decides whether a loss was a
legitimate overwrite or a silent loss from ground-truth causality.

The policies, by name (see :func:`get_policy`):

``item-lww``
    DynamoDB global tables (MREC): the whole item with the greatest stamp
    ``(wall, region, seq)`` wins. A concurrent write to a *different*
    attribute is lost with the losing item, and nobody is told.
``attribute-lww``
    Cassandra-style: every attribute is its own LWW register. Writes to
    different attributes both survive; concurrent writes to the same
    attribute still lose one, silently.
``causal``
    Dynamo-style version vectors: a version replaces only versions it has
    seen (whose clocks it dominates); concurrent versions are kept side by
    side as siblings for the reader to resolve. Nothing concurrent is dropped.
``crdt``
    Items as CRDT maps (:mod:`replicalab.crdts` rules): multi-value registers,
    counters (every ``ADD`` counts; a ``SET`` resets the increments it saw) and
    add-wins OR-Sets per attribute; nothing concurrent is lost.

One module per policy: ``base.py`` (the contract, :class:`Outcome`,
:class:`Loss`), ``lww.py``, ``causal.py``, ``crdt.py``; every name is
importable from ``replicalab.policies``.

Every ``merge`` is a join on reachable items: commutative, associative and
idempotent, so replicas that receive the same items in any order, with
duplicates, converge.
"""

from __future__ import annotations

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.policies.base import UNATTRIBUTED, Loss, MergePolicy, Outcome
from replicalab.policies.causal import CausalSiblings
from replicalab.policies.crdt import CrdtMap
from replicalab.policies.lww import AttributeLWW, ItemLWW

__all__ = [
    "POLICIES",
    "UNATTRIBUTED",
    "AttributeLWW",
    "CausalSiblings",
    "ItemLWW",
    "Loss",
    "MergePolicy",
    "Outcome",
    "get_policy",
    "policy_names",
]


#: The registry of policies by name.
POLICIES: dict[str, MergePolicy] = {
    p.name: p for p in (ItemLWW(), AttributeLWW(), CausalSiblings(), CrdtMap())
}


def policy_names() -> list[str]:
    """The registered policy names, sorted."""
    return sorted(POLICIES)


def get_policy(name: str | MergePolicy) -> MergePolicy:
    """Look a policy up by name; an unknown name raises :class:`ConfigError` listing the valid ones.

        >>> get_policy("item-lww").summary
        'whole item, latest (wall timestamp, region) wins (DynamoDB MREC)'
    """
    if isinstance(name, MergePolicy):
        return name
    try:
        return POLICIES[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown merge policy {_validate.shown(name)}; choose one of: {', '.join(policy_names())}"
        ) from None

