"""The same replicas on a real network: separate OS processes, TCP on 127.0.0.1, real timers.

The replicas are sans-I/O (:mod:`replicalab.replica.base`): their handlers record commands
and a runtime carries them out. The simulator is one runtime; this package is another. It
runs the *unchanged* replica classes — the table replica, the gossip exercise's replica, a
replica of your own — one per process:

* :mod:`~replicalab.net.node`: the runtime inside each process (``replicalab serve``);
* :mod:`~replicalab.net.hub`: starts the processes, carries their messages (delay, loss,
  partitions, crashes injected on the way), plays the clients, and stops everything;
* :mod:`~replicalab.net.client`: the small client command (``replicalab client``): one
  request to one replica of a running run;
* :mod:`~replicalab.net.history`: merges the processes' own reports into one trace in the
  simulator's format, ordered by happens-before, with ground-truth causality for the ledger;
* :mod:`~replicalab.net.wire`: the frames, in replicalab's versioned JSON; never pickle;
* :mod:`~replicalab.net.config`: loopback only (127.0.0.0/8), ports chosen by the OS.

A real run is the one documented exception to determinism: the operating system schedules
the processes, so the same configuration can give different times, and near a race a
different outcome. Everything that prints a real run says so.
"""

from __future__ import annotations

from replicalab.net.client import ask
from replicalab.net.config import Crash, Heal, NetConfig, Partition, check_loopback
from replicalab.net.history import NetRun
from replicalab.net.hub import ClientCall, run
from replicalab.net.loading import load_replica
from replicalab.net.node import NetContext, serve

__all__ = ["ClientCall", "ask", "Crash", "Heal", "NetConfig", "NetContext", "NetRun", "Partition",
           "check_loopback", "load_replica", "run", "serve"]
