"""Where chunks run: in this process, in a local process pool, or on a Dask cluster.

Every backend has the same shape: it takes the chunks in cell order and yields
each chunk's measurements **in that same order**, whichever worker finished
first. At most ``window`` chunks are in flight at once, so the measurements
waiting to be aggregated stay bounded however many seeds the sweep has. The
order of results never depends on scheduling, so the aggregated output is the
same bytes on every backend (Dask's advice too: gather by key, never by
completion).

* :func:`in_process` — ``workers=1``: no processes, no pickling.
* :func:`process_pool` — :class:`concurrent.futures.ProcessPoolExecutor` with the
  ``forkserver`` start method where the platform has it (else ``spawn``), never
  ``fork``: forking a process that runs threads (Jupyter, Dask, a test runner)
  can copy a held lock into the child. The fork server preloads this package, so
  workers start in milliseconds once it runs. As with any ``spawn`` pool, a script that
  calls :func:`replicalab.sweep` at the top level needs ``if __name__ == "__main__":``.
* :func:`on_dask` — ``dask="local"`` starts a ``distributed.LocalCluster`` on
  127.0.0.1 (one single-threaded worker process per requested worker); any other
  string is a scheduler address. Dask is imported here and only here, only when asked.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from replicalab.errors import ConfigError
from replicalab.sweeps.cells import Chunk
from replicalab.sweeps.measure import Measurement, run_chunk

__all__ = ["dask_client", "in_process", "on_dask", "process_pool", "start_method"]

Batch = tuple[Measurement, ...]


def in_process(chunks: Iterable[Chunk]) -> Iterator[Batch]:
    """Run each chunk here, one after another."""
    for chunk in chunks:
        yield run_chunk(chunk)


def start_method() -> str:
    """The start method for pool workers: ``forkserver`` where available, else ``spawn``."""
    import multiprocessing  # here, not at the top: Pyodide (the tutorials' Run buttons) has no processes

    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _in_order(submit: Callable[[Chunk], Any], result: Callable[[Any], Batch],
              chunks: Iterable[Chunk], window: int) -> Iterator[Batch]:
    """Keep up to ``window`` chunks in flight; yield their results in submission order."""
    pending: collections.deque[Any] = collections.deque()
    for chunk in chunks:
        pending.append(submit(chunk))
        if len(pending) >= window:
            yield result(pending.popleft())
    while pending:
        yield result(pending.popleft())


def _exit_with_parent() -> None:
    """Pool worker initializer: end this worker when the sweeping process is gone.

    A pool shut down normally stops its workers itself; but a sweeping process that is killed
    (SIGKILL, an OOM kill) cannot, and its workers would wait for work forever. The parent's
    sentinel becomes ready when the parent ends, however it ends.
    """
    import multiprocessing
    import multiprocessing.connection
    import os
    import threading

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="replicalab-exit-with-parent", daemon=True).start()


def process_pool(chunks: Iterable[Chunk], workers: int) -> Iterator[Batch]:
    """Run chunks on ``workers`` local processes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context(start_method())
    if start_method() == "forkserver":
        # The fork server imports replicalab once and every worker is a fork of it, instead of
        # each worker importing it again (~0.3 s apiece); later sweeps in the same process reuse
        # the server. '__main__' is the standard library's default entry, kept.
        context.set_forkserver_preload(["__main__", run_chunk.__module__])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_exit_with_parent)
    try:
        yield from _in_order(lambda c: pool.submit(run_chunk, c), lambda f: f.result(),
                             chunks, window=4 * workers)
    finally:
        # On an error or an interrupt, queued chunks are cancelled rather than run to the end.
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def dask_client(dask: Any, workers: int | None) -> Iterator[tuple[Any, int]]:
    """``(client, slots)`` for ``dask`` (see the module docs), released on exit; ``slots`` is the
    cluster's total number of worker threads, which the sweep sizes its chunks for."""
    try:
        import distributed
    except ImportError:
        raise ConfigError("dask= needs Dask's distributed scheduler: "
                          "pip install 'replicalab[dask]'") from None
    if not isinstance(dask, str):  # a Client the caller made and owns: not closed here
        if not isinstance(dask, distributed.Client):
            raise ConfigError(f"dask takes 'local', a scheduler address or a distributed.Client, "
                              f"got {type(dask).__name__}")
        yield dask, max(1, sum(dask.nthreads().values()))
        return
    if dask == "local":
        with distributed.LocalCluster(n_workers=workers or 2, threads_per_worker=1,
                                      processes=True, host="127.0.0.1", dashboard_address=None,
                                      silence_logs=40) as cluster, distributed.Client(cluster) as client:
            yield client, workers or 2
        return
    try:
        client = distributed.Client(dask, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise ConfigError(f"cannot reach a Dask scheduler at {dask!r} ({error}); give 'local' "
                          f"or an address such as tcp://127.0.0.1:8786") from None
    with client:
        yield client, max(1, sum(client.nthreads().values()))


def on_dask(chunks: Iterable[Chunk], client: Any, slots: int) -> Iterator[Batch]:
    """Run chunks as futures on a Dask ``client`` with ``slots`` worker threads."""
    yield from _in_order(lambda c: client.submit(run_chunk, c, pure=False),
                         lambda f: f.result(), chunks, window=4 * slots)
