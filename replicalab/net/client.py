"""The small client command: one request to one replica of a running real-network run.

``replicalab client --hub 127.0.0.1:PORT --to eu-west-1 update sub_42 city=London`` connects
to a run's hub (while the run lasts: ``replicalab run london --net --listen SECONDS`` keeps it
open and prints its address), sends the request, prints the answer and exits. The request goes
to its replica like any of the story's calls, so it is in the run's trace and the ledger judges
it like any other write.
"""

from __future__ import annotations

import asyncio

from replicalab import _validate
from replicalab.errors import ConfigError, NetworkRunError
from replicalab.net import wire
from replicalab.net.config import check_loopback
from replicalab.replica.base import Request, Response

__all__ = ["ask"]


async def _ask(host: str, port: int, to: str, request: Request, client: str,
               timeout: float) -> tuple[str, Response]:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as error:
        raise NetworkRunError(f"no run is listening at {host}:{port} ({error.strerror or error}); "
                              "start one with 'replicalab run london --net --listen 30'") from None
    try:
        writer.write(wire.frame("hello", client=client))
        writer.write(wire.frame("ask", to=to, request=wire.encode(request)))
        await writer.drain()
        frame = await asyncio.wait_for(wire.read_frame(reader), timeout)
    except asyncio.TimeoutError:
        raise NetworkRunError(f"no answer from {to} within {timeout} s") from None
    finally:
        writer.close()
    if frame is None:
        raise NetworkRunError("the run ended before it answered")
    if frame["kind"] == "refused":
        raise ConfigError(f"the run refused the request: {frame['message']}")
    response = wire.decode(frame["response"])
    if frame["kind"] != "answer" or not isinstance(response, Response):
        raise NetworkRunError(f"an unexpected frame from the hub: {frame['kind']!r}")
    return frame["replica"], response


def ask(hub: str, to: str, request: Request, *, client: str = "cli",
        timeout: float = 10.0) -> tuple[str, Response]:
    """Send ``request`` to replica ``to`` through the run's hub at ``hub`` (``HOST:PORT``, HOST in
    127.0.0.0/8); return the answering replica and its :class:`Response`.

    A refused request (an unknown replica, an op id used already) raises :class:`ConfigError`;
    no run at that address, no answer within ``timeout`` seconds, or a run that ended first
    raise :class:`NetworkRunError`.
    """
    host, sep, port = hub.rpartition(":") if isinstance(hub, str) else ("", "", "")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"hub is HOST:PORT, e.g. 127.0.0.1:40123; got {_validate.shown(hub)}")
    if not isinstance(request, Request):
        raise ConfigError(f"a client sends a Request, got {_validate.shown(request)}")
    _validate.replica_id(client, "client name")
    if type(timeout) not in (int, float) or not 0 < timeout <= 600:
        raise ConfigError(f"timeout is in (0, 600] seconds, got {_validate.shown(timeout)}")
    return asyncio.run(_ask(check_loopback(host), int(port), to, request, client, timeout))
