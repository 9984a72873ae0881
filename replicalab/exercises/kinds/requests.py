"""Kind ``requests``: the learner's DynamoDB requests (data), replayed on a GlobalTable, judged by the ledger.

``attribute`` names a module-level list of request-file entries in the learner's module
(``{at, region, client, <Operation>: <request>}``, DynamoDB JSON, as
:mod:`replicalab.dynamodb.requestfile` reads them). The answer is data: the grader fetches
the plain list from the learner's process and replays it with its own
:class:`~replicalab.dynamodb.GlobalTable`; no learner code runs on the grader's side.
``base`` names a shipped request file (:data:`~replicalab.dynamodb.requestfile.EXAMPLES`)
whose table, regions, epoch and items the entries run on. ``writes`` pins down the story:
the entries must be exactly these writes — who, where, when, and the attribute values each
sets — so an answer cannot move a write to another region or time or drop it. ``expect``
maps summary counts (``silently_lost``, ``rejected``, ...) or ``converged`` to what every
run must show, over ``seeds`` seeds, under ``merge`` and scenario ``options``::

    kind = "requests"
    attribute = "REQUESTS"
    base = "london"
    writes = [{ at = "14:07:12.140", region = "eu-west-1", client = "portal",
                sets = { delivery_address = "12 High Street, London" } }]
    seeds = 20
    expect = { silently_lost = 0, rejected = 0 }
"""

from __future__ import annotations

import json
from typing import Any

from replicalab.errors import ConfigError, ReplicaLabError
from replicalab.exercises.kinds.common import (
    CheckContext,
    CheckFailed,
    find,
    is_int,
    is_name,
    plain,
)
from replicalab.exercises.kinds.scenario import _expect, _options

__all__ = ["PARAMS", "REQUIRED", "run"]

#: The most entries an answer may hold (an exercise's story has a handful).
MAX_ENTRIES = 20


def _base(value: Any, key: str) -> None:
    from replicalab.dynamodb.requestfile import EXAMPLES

    if value not in EXAMPLES:
        raise ConfigError(f"{key!r} must be a shipped request file ({', '.join(EXAMPLES)}), got {value!r}")


def _writes(value: Any, key: str) -> None:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{key!r} must be a list of {{at, region, client, sets}} tables")
    for i, write in enumerate(value):
        if not isinstance(write, dict) or set(write) != {"at", "region", "client", "sets"} or \
                not all(isinstance(write[k], str) for k in ("at", "region", "client")) or \
                not isinstance(write["sets"], dict) or not write["sets"]:
            raise ConfigError(f"{key}[{i}] must be {{at, region, client, sets = {{attribute = value}}}}")


def _merge(value: Any, key: str) -> None:
    from replicalab.policies import POLICIES

    if value not in POLICIES:
        raise ConfigError(f"{key!r} must be a merge policy name ({', '.join(POLICIES)}), got {value!r}")


PARAMS = {"attribute": is_name, "base": _base, "writes": _writes, "seeds": is_int(1, 200),
          "merge": _merge, "options": _options, "expect": _expect}
REQUIRED = {"attribute", "base", "writes", "expect"}


def _answer(ctx: CheckContext) -> Any:
    """The learner's entries as a RequestFile on the base file's table; CheckFailed if not."""
    from replicalab.dynamodb.requestfile import MAX_FILE_BYTES, example, load_requests

    name = ctx.params["attribute"]
    entries = plain(find(ctx.module, name, "list of requests"))
    if not isinstance(entries, list) or not entries:
        raise CheckFailed(f"{name} must be a list of request entries "
                          "({at, region, client, UpdateItem: {...}}), as the starter's is")
    if len(entries) > MAX_ENTRIES:
        raise CheckFailed(f"{name} holds {len(entries)} entries; this story needs at most {MAX_ENTRIES}")
    base = example(ctx.params["base"])
    document = {
        "table": {"TableName": base.name,
                  "KeySchema": [{"AttributeName": k, "KeyType": t}
                                for k, t in zip(base.key, ("HASH", "RANGE"), strict=False)],
                  "AttributeDefinitions": [{"AttributeName": k, "AttributeType": base.key_types.get(k, "S")}
                                           for k in base.key]},
        "regions": list(base.regions), "epoch": base.epoch, "items": list(base.items),
        "requests": entries}
    try:
        text = json.dumps(document, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise CheckFailed(f"{name} must hold plain JSON data (dicts, lists, strings, numbers, "
                          f"true/false/None): {error}") from None
    if len(text) > MAX_FILE_BYTES:
        raise CheckFailed(f"{name} is too large ({len(text)} characters)")
    try:
        return load_requests(text)
    except ReplicaLabError as error:
        raise CheckFailed(f"{name} is not a valid request list: {error}") from None


def _story(ctx: CheckContext, result: Any, requests: Any) -> None:
    """The entries are exactly the pinned writes, each setting its values (as applied)."""
    from replicalab.dynamodb.global_table import parse_time

    name = ctx.params["attribute"]
    pinned = ctx.params["writes"]
    if len(requests.entries) != len(pinned):
        raise CheckFailed(f"{name} must hold exactly the story's {len(pinned)} writes, got "
                          f"{len(requests.entries)} entries")
    wrote = [e for e in result.trace.of_kind("Wrote") if e.get("client") != ""]
    for want in pinned:
        at = parse_time(want["at"], requests.epoch)
        found = [e for e in wrote if e.time == at and e.replica == want["region"]
                 and e.get("client") == want["client"]
                 and all(e.get("attributes").get(k) == v for k, v in want["sets"].items())]
        if not found:
            sets = ", ".join(f"{k} = {v!r}" for k, v in want["sets"].items())
            raise CheckFailed(f"no entry of {name} is the {want['client']}'s write in "
                              f"{want['region']} at {want['at']} that sets {sets}; the story's "
                              "writes keep their region, time and values (add conditions, not moves)")


def run(ctx: CheckContext) -> None:
    requests = _answer(ctx)
    merge = ctx.params.get("merge", "item-lww")
    options = dict(ctx.params.get("options", {}))
    expect = ctx.params["expect"]
    for seed in range(ctx.seed, ctx.seed + ctx.params.get("seeds", 1)):
        try:
            replay = requests.replay(merge=merge, seed=seed, **options)
        except ReplicaLabError as error:
            raise CheckFailed(f"{ctx.params['attribute']} could not be replayed: {error}") from None
        result = replay.result
        _story(ctx, result, requests)
        got: dict[str, Any] = {**result.summary, "converged": result.converged}
        wrong = {k for k, v in expect.items() if got[k] != v}
        if not wrong:
            continue
        problems = ", ".join(f"{k} = {got[k]!r} (expected {expect[k]!r})" for k in sorted(wrong))
        lines = [f"    {e.write} ({e.client}): {e.verdict} — {e.why}" for e in result.ledger
                 if e.verdict != "kept"]
        extra = "".join(f", {k}={v!r}" for k, v in sorted(options.items()))
        raise CheckFailed(
            f"{merge}, seed {seed}: {problems}\n" + ("\n".join(lines) + "\n" if lines else "")
            + "\nReplay it: save the list as a request file and run\n\n"
            f"    replicalab run my-requests.json --merge {merge} --seed {seed}"
            + (f"   # with{extra[1:]}" if extra else ""))
