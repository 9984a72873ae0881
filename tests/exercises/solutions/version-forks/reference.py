"""The reference for exercise ``version-forks`` (written out, as a learner would). Exercise: the reconciliation scan (replicalab exercise ``version-forks``).

With a version attribute and conditional updates, every write claims the
version it produces (``expect_version + 1``). The check runs against the
*local* region's copy, so two regions can both pass it at version 17 and both
write 18; last-writer-wins then keeps one. The loss is no longer silent: the
regions' write logs hold two acknowledged writes claiming version 18 of the
same item — a *version fork* — and a reconciliation job can find it.

Fill in the body marked ``raise NotImplementedError``. Keep the name and
signature: the checks call it. Then run::

    replicalab exercise check version-forks version_forks.py

Try it by hand on a real run: the London incident with versioned writes::

    from replicalab import scenarios
    r = scenarios.run("london", writes="versioned")
    log = [{"write": e.get("write"), "key": e.get("key"), "region": e.replica,
            **e.get("attributes")} for e in r.trace.of_kind("Wrote")]
    print(find_forks(log))
"""

from __future__ import annotations

from typing import Any

Fork = tuple[str, int, list[str]]


def find_forks(writes: list[dict[str, Any]]) -> list[Fork]:
    """The version forks in ``writes``: two or more writes claiming the same version of one key.

    ``writes`` is the regions' write log as plain data, one dict per
    acknowledged write, in no particular order — what a DynamoDB Stream gives
    you::

        {"write": "w1", "key": "sub_42", "region": "eu-west-1", "version": 18}

    Write ids are unique. Records may carry more fields (client, time...);
    ignore them. A write that set no version (a plain ``UpdateItem``, a
    ``PutItem`` of append-only data) has no ``"version"`` key or
    ``"version": None``: it claims no version, so it is ignored.

    Contract: return one ``(key, version, write_ids)`` per ``(key, version)``
    claimed by two or more writes, with ``write_ids`` sorted; the forks
    sorted by key, then version. No fork: ``[]``.

        >>> find_forks([
        ...     {"write": "w1", "key": "sub_42", "region": "eu-west-1", "version": 18},
        ...     {"write": "w3", "key": "sub_42", "region": "eu-west-1", "version": 19},
        ...     {"write": "w2", "key": "sub_42", "region": "us-east-1", "version": 18},
        ... ])
        [('sub_42', 18, ['w1', 'w2'])]
    """
    claims: dict[tuple[str, int], list[str]] = {}
    for record in writes:
        version = record.get("version")
        if version is None:
            continue
        claims.setdefault((record["key"], version), []).append(record["write"])
    return [(key, version, sorted(ids)) for (key, version), ids in sorted(claims.items())
            if len(ids) >= 2]
