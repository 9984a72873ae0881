"""The options of a run: what each knob means, which values it takes, and which don't mix.

The seed's landscape (DESIGN §4), one knob per pattern:

``merge``     the merge policy: ``item-lww`` (as deployed), ``attribute-lww``, ``causal``, ``crdt``.
``writes``    ``plain`` (UpdateItem, no condition) or ``versioned``: the client
              reads the item locally, then writes with ``expect_version`` and
              retries on ``ConditionalCheckFailed`` (re-read, re-apply); the
              reconciliation scan flags version forks as ``detected``.
``routing``   ``local`` (write to your own region) or ``key-home``: every key
              has a home region (``homes`` or a stable hash) and writes from
              elsewhere travel there and back.
``mode``      ``mrec`` (asynchronous, the default), ``mrsc`` (synchronous, three
              regions, conflicts rejected) or ``single-primary`` (one writer
              region, writes forwarded to it).
``skew``      ``{region: ms}`` shifts regions' wall clocks.
``stamps``    ``wall`` or ``hlc``: what LWW orders by.
``durable``   whether a scenario's crash keeps the region's state.
``replicas_per_region``  1 (a region is one replica, the default) or more: one node per AZ.
``region_protocol``      with more than one: ``leader`` (:mod:`replicalab.quorum.region`) or
                         ``leaderless`` (:mod:`replicalab.quorum.zone`).
``n``, ``r``, ``w``, ``sloppy``  the leaderless region's quorums: home nodes per key (default:
                         every node of the region), read and write quorums (default: a
                         majority of ``n``), sloppy quorum with hinted handoff (default off).
``az_outages``           :class:`~replicalab.scenarios.regions.AzOutage` faults inside regions.
``az_partitions``        :class:`~replicalab.scenarios.regions.AzPartition` cuts between AZs of a region (healed
                         at ``until``, or never with ``until=None``).

The choices are string enums (:class:`Writes`, :class:`Routing`, :class:`Mode`,
:class:`Stamps`): a member equals its value, so ``options.mode == "mrsc"`` reads
as it says. :func:`validate` checks every option against a scenario and
refuses combinations that make no sense, naming the conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, Protocol, TypeVar

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError, ReplicaIdError
from replicalab.policies import MergePolicy, get_policy
from replicalab.sim.faults import Crash

__all__ = ["MODES", "REGION_PROTOCOLS", "ROUTING", "STAMPS", "WRITES", "Mode", "Options", "Routing", "Stamps",
           "Writes", "validate"]


class _Choice(str, Enum):
    """A string enum whose members print as their values."""

    def __str__(self) -> str:
        return str(self.value)


class Writes(_Choice):
    """How clients write: plain updates, or the version attribute with conditional updates."""

    PLAIN = "plain"
    VERSIONED = "versioned"


class Routing(_Choice):
    """Where a write goes: the client's own region, or the key's home region."""

    LOCAL = "local"
    KEY_HOME = "key-home"


class Mode(_Choice):
    """How regions replicate: asynchronously (MREC), synchronously (MRSC), or one primary."""

    MREC = "mrec"
    MRSC = "mrsc"
    SINGLE_PRIMARY = "single-primary"


class Stamps(_Choice):
    """What last-writer-wins orders by: a region's wall clock, or a hybrid logical clock."""

    WALL = "wall"
    HLC = "hlc"


WRITES = tuple(w.value for w in Writes)
ROUTING = tuple(r.value for r in Routing)
MODES = tuple(m.value for m in Mode)
STAMPS = tuple(s.value for s in Stamps)

C = TypeVar("C", bound=_Choice)


def _choice(name: str, value: Any, kind: type[C]) -> C:
    try:
        return kind(value)
    except (ValueError, TypeError):
        allowed = ", ".join(member.value for member in kind)
        raise ConfigError(f"unknown {name} {_validate.shown(value)}; choose one of: {allowed}") from None


@attrs.frozen
class Options:
    """The validated options of one run (see the module docs)."""

    merge: str = "item-lww"
    seed: int = 0
    writes: Writes = Writes.PLAIN
    routing: Routing = Routing.LOCAL
    mode: Mode = Mode.MREC
    homes: dict[str, str] = attrs.field(factory=dict)
    primary: str | None = None
    skew: dict[str, int] = attrs.field(factory=dict)
    stamps: Stamps = Stamps.WALL
    retries: int = 3
    durable: bool | None = None
    replicas_per_region: int = 1
    region_protocol: str | None = None
    az_outages: tuple[Any, ...] = ()
    az_partitions: tuple[Any, ...] = ()
    n: int | None = None
    r: int | None = None
    w: int | None = None
    sloppy: bool = False

    def non_default(self, defaults: Options | None = None) -> dict[str, Any]:
        """The options that differ from ``defaults``, for output (merge and seed excluded)."""
        defaults = defaults or Options()
        out: dict[str, Any] = {}
        for field in attrs.fields(Options):
            if field.name in ("merge", "seed"):
                continue
            value = getattr(self, field.name)
            if value != getattr(defaults, field.name):
                if isinstance(value, dict):
                    value = dict(sorted(value.items()))
                if field.name in ("az_outages", "az_partitions"):
                    value = [outage.to_plain() for outage in value]
                out[field.name] = value.value if isinstance(value, Enum) else value
        return out

    @property
    def label(self) -> str:
        """A short name for the pattern these options make, e.g. ``item-lww + versioned``."""
        if self.mode == "mrsc":
            base = "mrsc"
        elif self.mode == "single-primary":
            base = f"single-primary ({self.merge})"
        else:
            base = self.merge
        extras: list[str] = [self.writes] if self.writes != "plain" else []
        if self.routing != "local":
            extras.append(self.routing)
        if self.stamps != "wall":
            extras.append(f"{self.stamps} stamps")
        if self.replicas_per_region > 1 and self.region_protocol == "leaderless":
            extras.append(f"{self.replicas_per_region} AZs (leaderless n={self.n} r={self.r} w={self.w}"
                          + (" sloppy)" if self.sloppy else ")"))
        elif self.replicas_per_region > 1:
            extras.append(f"{self.replicas_per_region} AZs ({self.region_protocol})")
        return " + ".join([base, *extras])


class Scenario(Protocol):
    """What :func:`validate` needs to know of a scenario."""

    # Read-only (properties), so a frozen scenario class satisfies the protocol.
    @property
    def name(self) -> str: ...
    @property
    def regions(self) -> tuple[str, ...]: ...
    @property
    def homes(self) -> dict[str, str]: ...
    @property
    def primary(self) -> str | None: ...
    @property
    def skew(self) -> dict[str, int]: ...
    @property
    def epoch(self) -> int: ...
    @property
    def faults(self) -> tuple[Any, ...]: ...


def validate(scenario: Scenario, merge: str | MergePolicy = "item-lww", seed: int = 0,
             **given: Any) -> Options:
    """Validate run options against ``scenario``; raise :class:`ConfigError` on bad ones.

    ``merge`` is a registered policy's name or a :class:`~replicalab.policies.MergePolicy`
    instance (your own policy); ``Options.merge`` holds its name.
    """
    policy = get_policy(merge)
    merge = policy.name or type(policy).__name__
    if type(seed) is not int:
        raise ConfigError(f"seed must be an integer, got {_validate.shown(seed)}")
    unknown = sorted(set(given) - {f.name for f in attrs.fields(Options)} - {"merge", "seed"})
    if unknown:
        names = ", ".join(f.name for f in attrs.fields(Options))
        raise ConfigError(f"unknown option(s) {unknown}; options are: {names}")
    writes = _choice("writes", given.get("writes", "plain"), Writes)
    routing = _choice("routing", given.get("routing", "local"), Routing)
    mode = _choice("mode", given.get("mode", "mrec"), Mode)
    stamps = _choice("stamps", given.get("stamps", "wall"), Stamps)
    homes = given.get("homes")
    homes = dict(scenario.homes) if homes is None else homes
    if not isinstance(homes, Mapping):
        raise ConfigError(f"homes must be a mapping of key -> region, got {_validate.shown(homes)}")
    for key, region in homes.items():
        _region(scenario, region, f"home of {_validate.shown(key)}")
    primary = given.get("primary") or scenario.primary or sorted(scenario.regions)[-1]
    _region(scenario, primary, "primary")
    skew = given.get("skew")
    skew = dict(scenario.skew) if skew is None else skew
    if not isinstance(skew, Mapping):
        raise ConfigError(
            f"skew must be a mapping of region -> ms, e.g. {{'us-east-1': -60}}; got {_validate.shown(skew)}"
        )
    for region, ms in skew.items():
        _region(scenario, region, "skew")
        if type(ms) is not int:
            raise ConfigError(f"skew for {region} must be an integer number of ms, got {_validate.shown(ms)}")
        if scenario.epoch + ms < 0:
            raise ConfigError(
                f"skew {ms} ms for {region} would put its wall clock before the time origin "
                f"(epoch {scenario.epoch} ms); use a skew >= {-scenario.epoch}"
            )
    retries = given.get("retries", 3)
    if type(retries) is not int or retries < 0:
        raise ConfigError(f"retries must be an integer >= 0, got {_validate.shown(retries)}")
    if mode == "mrsc":
        # mrsc's region code is imported only by runs that use it (import replicalab stays lean).
        from replicalab.replica.mrsc import check_three_regions

        check_three_regions(scenario.regions)
    durable = given.get("durable")
    if durable is not None and not isinstance(durable, bool):
        raise ConfigError(f"durable must be True or False, got {_validate.shown(durable)}")
    _refuse_nonsense(scenario, merge, mode, routing, durable)
    per_region, protocol, outages = _inside_regions(scenario, mode, given)
    cuts = _az_partitions(scenario, per_region, protocol, given)
    n, r, w, sloppy = _quorums(protocol, per_region, writes, given)
    return Options(merge=merge, seed=seed, writes=writes, routing=routing, mode=mode,
                   homes=dict(homes), primary=primary, skew=dict(skew), stamps=stamps,
                   retries=retries, durable=durable, replicas_per_region=per_region,
                   region_protocol=protocol, az_outages=outages, az_partitions=cuts,
                   n=n, r=r, w=w, sloppy=sloppy)


def _quorums(protocol: str | None, per_region: int, writes: str, given: Mapping[str, Any]
             ) -> tuple[int | None, int | None, int | None, bool]:
    """Validate ``n``, ``r``, ``w`` and ``sloppy``: only with ``region_protocol="leaderless"``;
    ``n`` from 1 to ``replicas_per_region`` (default: all of them), ``r`` and ``w`` from 1 to
    ``n`` (default: a majority of ``n``). The versioned pattern is refused there: its
    condition would be checked on one coordinator's possibly stale copy."""
    named = [k for k in ("n", "r", "w") if given.get(k) is not None] + (
        ["sloppy"] if given.get("sloppy") not in (None, False) else [])
    if protocol != "leaderless":
        if named:
            raise ConfigError(f"{', '.join(named)} set the quorums of a leaderless region; give "
                              "replicas_per_region=3, region_protocol='leaderless' with them")
        return None, None, None, False
    if writes == "versioned":
        raise ConfigError("writes='versioned' checks a condition, which a leaderless region would "
                          "check on one coordinator's possibly stale copy; use region_protocol='leader' "
                          "for the versioned pattern")
    n = given.get("n")
    n = per_region if n is None else n
    if type(n) is not int or not 1 <= n <= per_region:
        raise ConfigError(f"n must be an integer from 1 to replicas_per_region={per_region} (the home "
                          f"nodes of a key in its region), got {_validate.shown(n)}")
    quorum = n // 2 + 1
    r, w = (given.get(k) for k in ("r", "w"))
    r = quorum if r is None else r
    w = quorum if w is None else w
    for name, value in (("r", r), ("w", w)):
        if type(value) is not int or not 1 <= value <= n:
            raise ConfigError(f"{name} must be an integer from 1 to n={n}, got {_validate.shown(value)}")
    sloppy = given.get("sloppy")
    sloppy = False if sloppy is None else sloppy
    if not isinstance(sloppy, bool):
        raise ConfigError(f"sloppy must be True or False, got {_validate.shown(sloppy)}")
    if sloppy and n == per_region:
        raise ConfigError(f"sloppy=True needs stand-in nodes outside a key's n home nodes: give n "
                          f"smaller than replicas_per_region={per_region} (e.g. n={per_region - 1})")
    return n, r, w, sloppy


#: The protocols inside a region (``region_protocol=``), with ``replicas_per_region`` > 1.
REGION_PROTOCOLS = ("leader", "leaderless")


def _inside_regions(scenario: Scenario, mode: str, given: Mapping[str, Any]
                    ) -> tuple[int, str | None, tuple[Any, ...]]:
    """Validate ``replicas_per_region``, ``region_protocol`` and ``az_outages`` (module docs).

    Refused, naming what would be valid: a protocol for one-replica regions (there is nothing
    to replicate inside), ``mode="mrsc"`` (its synchronous commit is a single
    replica's protocol), scenarios with a replication delay or faults naming whole regions
    (those are a single replica's timers and ids; use ``az_outages``), and scenarios with
    Merkle anti-entropy unless ``region_protocol="leaderless"`` (whose nodes then sync with
    the other home nodes of their keys, :mod:`replicalab.quorum.zone`) and the scenario has a
    ``horizon`` (anti-entropy timers never stop).
    """
    per_region = given.get("replicas_per_region", 1)
    if type(per_region) is not int or not 1 <= per_region <= 9:
        raise ConfigError(f"replicas_per_region must be an integer from 1 to 9, got {_validate.shown(per_region)}")
    protocol = given.get("region_protocol")
    outages = given.get("az_outages", ())
    if per_region == 1:
        if protocol is not None:
            raise ConfigError(f"region_protocol={_validate.shown(protocol)} runs inside a region of several replicas; "
                              "give replicas_per_region=3 (one per AZ) with it")
        if outages:
            raise ConfigError("az_outages take down one AZ of a region of several replicas; "
                              "give replicas_per_region=3 with them")
        return 1, None, ()
    protocol = "leader" if protocol is None else protocol
    if protocol not in REGION_PROTOCOLS:
        raise ConfigError(f"unknown region_protocol {_validate.shown(protocol)}; choose one of: "
                          f"{', '.join(REGION_PROTOCOLS)}")
    if mode == "mrsc":
        raise ConfigError("mode='mrsc' commits across regions from a single replica per region; "
                          f"with replicas_per_region={per_region} choose mode 'mrec' or 'single-primary'")
    if getattr(scenario, "replication_delay", None):
        raise ConfigError(f"scenario {scenario.name!r} delays replication, a timer of a single-replica "
                          f"region; with replicas_per_region > 1 run one of: {', '.join(_grouped_scenarios())}")
    if getattr(scenario, "anti_entropy", None) is not None:
        if protocol != "leaderless":
            raise ConfigError(f"scenario {scenario.name!r} repairs by Merkle anti-entropy, which runs "
                              "between the home nodes of a key in a leaderless region (or between "
                              "one-replica regions); give region_protocol='leaderless', or run one of: "
                              f"{', '.join(_grouped_scenarios())}")
        if getattr(scenario, "horizon", None) is None:
            raise ConfigError(f"scenario {scenario.name!r} runs periodic anti-entropy, whose timers never "
                              "stop, so the run never becomes quiet: give the scenario a horizon "
                              "(e.g. attrs.evolve(scenario, horizon=5000))")
    if scenario.faults:
        raise ConfigError(f"scenario {scenario.name!r} has faults naming whole regions; with "
                          "replicas_per_region > 1 give az_outages=[AzOutage(...)] instead")
    from replicalab.scenarios.regions import AzOutage  # only grouped runs need it

    if isinstance(outages, (str, bytes, Mapping)) or not isinstance(outages, (list, tuple)):
        raise ConfigError(f"az_outages must be a list of AzOutage(...), got {_validate.shown(outages)}")
    return per_region, protocol, _each_az(scenario, per_region, outages, AzOutage, "az_outages", "an AZ outage")


def _az_partitions(scenario: Scenario, per_region: int, protocol: str | None,
                   given: Mapping[str, Any]) -> tuple[Any, ...]:
    """Validate ``az_partitions``: a list of :class:`~replicalab.scenarios.regions.AzPartition`
    naming regions of the scenario and AZs that exist, in regions of several AZs running the
    ``leader`` protocol (whose nodes know what to do when a cut heals), or the ``leaderless``
    one in a scenario with Merkle anti-entropy (which brings the nodes of a region together
    after a cut heals: nothing else would, as no node restarts)."""
    cuts = given.get("az_partitions", ())
    if isinstance(cuts, (str, bytes, Mapping)) or not isinstance(cuts, (list, tuple)):
        raise ConfigError(f"az_partitions must be a list of AzPartition(...), got {_validate.shown(cuts)}")
    if not cuts:
        return ()
    if per_region == 1:
        raise ConfigError("az_partitions cut one AZ of a region of several replicas off from the others; "
                          "give replicas_per_region=3 with them")
    if protocol != "leader" and getattr(scenario, "anti_entropy", None) is None:
        raise ConfigError(f"az_partitions run with region_protocol='leader', or with 'leaderless' in a "
                          f"scenario with anti-entropy (attrs.evolve(scenario, anti_entropy=AntiEntropy(), "
                          f"horizon=5000)); region_protocol={protocol!r} alone has no heal handling for them")
    from replicalab.scenarios.regions import AzPartition  # only grouped runs need it

    return _each_az(scenario, per_region, cuts, AzPartition, "az_partitions", "an AZ partition")


def _each_az(scenario: Scenario, per_region: int, faults: Any, kind: Any, option: str,
             what: str) -> tuple[Any, ...]:
    """Check that every fault in ``faults`` is a ``kind`` naming a region of the scenario and
    an AZ that exists with ``per_region`` AZs."""
    azs = "abcdefghi"[:per_region]
    for fault in faults:
        if not isinstance(fault, kind):
            raise ConfigError(f"{option} must hold {kind.__name__}(...) values, got {_validate.shown(fault)}")
        _region(scenario, fault.region, what)
        if fault.az not in azs:
            raise ConfigError(f"AZ {fault.az!r} does not exist with replicas_per_region={per_region}; "
                              f"AZs are {list(azs)}")
    return tuple(faults)


def _grouped_scenarios() -> list[str]:
    from replicalab import scenarios  # the registry sits above this module

    return [name for name in scenarios.names()
            if scenarios.get(name).anti_entropy is None and not scenarios.get(name).replication_delay
            and not scenarios.get(name).faults]


def _region(scenario: Scenario, region: Any, what: str) -> None:
    if region not in scenario.regions:
        raise ReplicaIdError(
            f"{what} names unknown region {_validate.shown(region)}; regions are {list(scenario.regions)}"
        )


def _refuse_nonsense(scenario: Scenario, merge: str, mode: str, routing: str,
                     durable: bool | None) -> None:
    """Refuse option combinations that make no sense, naming the conflict (DESIGN §4).

    * ``mode="mrsc"`` orders writes by commit: there is nothing for a merge
      policy to resolve, so only the default ``merge="item-lww"`` is accepted.
    * ``mode="single-primary"`` sends every write to the primary; ``routing="key-home"``
      would send it to the key's home instead: two routing rules, one request.
    * ``durable`` says whether a crash keeps state: a scenario without a crash
      has nothing for it to change.
    """
    if mode == "mrsc" and merge != "item-lww":
        raise ConfigError(
            f"mode='mrsc' orders writes by commit, so merge={merge!r} would never run; "
            "leave merge at its default (item-lww) with mode='mrsc'")
    if mode == "single-primary" and routing == "key-home":
        raise ConfigError(
            "mode='single-primary' sends every write to the primary region and "
            "routing='key-home' sends it to the key's home: choose one of them")
    if durable is not None and not any(isinstance(f, Crash) for f in scenario.faults):
        raise ConfigError(
            f"durable={durable!r} says whether a crash keeps a region's state, but scenario "
            f"{scenario.name!r} has no crash; scenarios with one: crash")
