"""Loading a replica class named on a command line: ``MODULE:CLASS``, a module or a ``.py`` path.

What a frame says never imports anything (:mod:`replicalab.net.wire`); this is the one place
code is imported, because a person named it (``replicalab serve --replica``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import attrs

from replicalab import _validate
from replicalab.errors import ConfigError
from replicalab.net import wire
from replicalab.replica.base import Replica

__all__ = ["load_replica"]


def load_replica(spec: str) -> type[Replica]:
    """The replica class ``spec`` names (``mymodule:MyReplica`` or ``path/to/file.py:MyReplica``).

    A ``.py`` file is imported as a module named after the file (``flood.py`` -> ``flood``), in
    every process alike, so the qualified names of its message classes agree across the wire.
    The attrs classes the module defines or imports (its messages, the requests its clients
    send) are allowed on the wire. Anything else raises :class:`ConfigError`.
    """
    module_name, sep, name = spec.rpartition(":") if isinstance(spec, str) else ("", "", "")
    if not sep or not module_name or not name.isidentifier():
        raise ConfigError(f"a replica is named MODULE:CLASS, e.g. mymodule:MyReplica or "
                          f"flood.py:Flood; got {_validate.shown(spec)}")
    try:
        if module_name.endswith(".py"):
            stem = Path(module_name).stem
            found = importlib.util.spec_from_file_location(stem, module_name)
            if found is None or found.loader is None:
                raise ImportError(module_name)
            module = importlib.util.module_from_spec(found)
            sys.modules[stem] = module
            found.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except Exception as error:  # whatever the module's own code raised while importing
        raise ConfigError(f"cannot import {module_name!r}: {type(error).__name__}: {error}") from None
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Replica)):
        raise ConfigError(f"{module_name!r} has no Replica subclass {name!r}")
    # The attrs classes the module defines or imports are what its replica sends and receives
    # (the gossip exercise's Rumour is imported from replicalab): they may cross the wire.
    wire.allow(c for c in vars(module).values() if isinstance(c, type) and attrs.has(c))
    return cls
