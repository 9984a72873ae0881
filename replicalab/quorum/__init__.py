"""Quorums inside a region: a leaderless (Dynamo) cluster of sans-I/O nodes.

* :mod:`~replicalab.quorum.ring` — consistent hashing with virtual nodes, preference lists;
* :mod:`~replicalab.quorum.versions` — dotted versions, siblings, the reconcile join;
* :mod:`~replicalab.quorum.config` — N, R, W, sloppy quorum, timeouts;
* :mod:`~replicalab.quorum.node` — the node: storage, coordination, hinted handoff,
  read repair, Merkle anti-entropy;
* :mod:`~replicalab.quorum.pbs` — probabilistically bounded staleness (Bailis et al. 2012);
* :mod:`~replicalab.quorum.leader`, :mod:`~replicalab.quorum.region` — a leader per partition,
  and a global table's region of AZ nodes under it;
* :mod:`~replicalab.quorum.zone` — a global table's region of AZ nodes without a leader
  (N/R/W quorums over the region's table).

Runs of a cluster live in :mod:`replicalab.scenarios.dynamo`; their verdicts in
:mod:`replicalab.ledger.quorum`.
"""

from replicalab.quorum.config import QuorumConfig
from replicalab.quorum.messages import Get, GetDone, Put, PutDone
from replicalab.quorum.node import NOT_REACHED, DynamoNode
from replicalab.quorum.ring import HashRing
from replicalab.quorum.versions import DottedVersion, reconcile

__all__ = ["NOT_REACHED", "DynamoNode", "Get", "GetDone", "HashRing", "Put", "PutDone",
           "QuorumConfig", "DottedVersion", "reconcile"]
