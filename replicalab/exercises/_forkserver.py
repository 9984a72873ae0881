"""The template of the untrusted side: a clean process that forks one fresh worker per submission.

Starting Python and importing replicalab costs more than most checks, so the
grader starts this server once (see :class:`replicalab.exercises.sandbox.ForkServer`)
and asks it for a worker per submission. The server has imported what a worker
needs and never runs learner code, never reads a reply, never keeps a worker's
state: every worker is a fork of the same untouched template, and what one
worker changes in its memory (a patched module, a global) lives in its own
copy-on-write pages and ends with it.

One request on the control socket (a JSON object, with three descriptors sent
alongside: the worker's request pipe, reply pipe and output pipe, plus a status
pipe)::

    {"home": PATH, "limits": {...}, "namespaces": bool}

The server forks a *keeper*, which forks the *worker*::

    server ──fork──> keeper (own session; new PID namespace for its children)
                       └──fork──> worker (PID 1 of that namespace; own session;
                                  its own user and network namespaces;
                                  limits lowered, then the learner's module)

The keeper writes ``pid N`` (the worker's process id as the grader sees it) on
the status pipe, waits for the worker and writes ``exit C``; the grader learns
the worker ended when the status pipe closes. Killing the worker — PID 1 of its
namespace — kills every process it started. The worker sees neither the server
nor another submission's worker: it cannot name them (its own PID namespace),
has no capability over them (a user namespace nested below the server's, and
the server is not dumpable, so ``/proc/PID/mem`` and ``ptrace`` are refused),
and holds none of the server's descriptors. It also gets a mount namespace in
which every file system is read-only except its private directory (where the
machine allows it; the server asks once at start), so it leaves nothing behind
for the next worker or the grader. Where namespaces are not available
the worker is still a separate process in its own session with every limit,
and the grader restarts the server if a worker killed it.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import signal
import socket
import sys

from replicalab.exercises import _worker

__all__ = ["read_only_filesystem", "serve"]

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
#: Mount flags a read-only remount must keep (the kernel refuses to drop locked ones).
_KEPT_FLAGS = ((os.ST_NOSUID, 2), (os.ST_NODEV, 4), (os.ST_NOEXEC, 8), (os.ST_NOATIME, 1024),
               (os.ST_NODIRATIME, 2048), (os.ST_RELATIME, 1 << 21))
#: Mounts that may stay as they are: kernel views, not files a worker could leave behind.
_KERNEL_MOUNTS = ("/proc", "/sys", "/dev/pts")
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
#: Where the worker finds its descriptors (0 is /dev/null, 1 and 2 the output pipe).
REQUESTS_FD, REPLIES_FD = 3, 4
#: The largest request the server reads.
_MAX_REQUEST = 64 * 1024


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def _prctl(option: int, value: int) -> None:
    if _LIBC is not None and sys.platform.startswith("linux"):
        _LIBC.prctl(option, value, 0, 0, 0)


def _unshare(flags: int) -> None:
    if _LIBC is None or _LIBC.unshare(flags) != 0:
        error = ctypes.get_errno() if _LIBC is not None else 0
        raise OSError(error, f"unshare({flags:#x}) failed: {os.strerror(error)}")


def _mount(source: str | None, target: str, flags: int) -> None:
    if _LIBC is None or _LIBC.mount(None if source is None else source.encode(), target.encode(),
                                    None, flags, None) != 0:
        error = ctypes.get_errno() if _LIBC is not None else 0
        raise OSError(error, f"mount {target}: {os.strerror(error)}")


def read_only_filesystem(home: str) -> None:
    """In a mount namespace of this process's own: every mount read-only except ``home``.

    So a worker can leave nothing behind for the next one (or for the grader) but in its
    private directory, which the grader deletes. Raises OSError if a mount that holds
    files stays writable.
    """
    _unshare(_CLONE_NEWNS)
    _mount(None, "/", _MS_REC | _MS_PRIVATE)  # nothing done here reaches the grader's mounts
    _mount(home, home, _MS_BIND)
    with open("/proc/self/mountinfo", encoding="utf-8") as table:
        points = [line.split()[4].replace("\\040", " ") for line in table]
    for point in points:
        if point == home:
            continue
        try:
            flags = os.statvfs(point).f_flag
            if flags & os.ST_RDONLY:
                continue
            kept = sum(ms for st, ms in _KEPT_FLAGS if flags & st)
            _mount(None, point, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | kept)
        except OSError:
            if not point.startswith(_KERNEL_MOUNTS):
                raise


def _probe_read_only() -> bool:
    """Can a worker get a read-only file system on this machine? (Asked once, in a child.)"""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _unshare(_CLONE_NEWUSER)
            read_only_filesystem(os.getcwd())
            code = 0
        except BaseException:  # noqa: BLE001 - any failure means no
            pass
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def serve(control: int, namespaces: bool = False) -> int:
    """Fork a keeper and worker for each request on the ``control`` socket until it closes.

    The first message on the socket is the server's: ``{"read_only": bool}``, whether
    workers can have a read-only file system here.
    """
    _prctl(_PR_SET_DUMPABLE, 0)  # no /proc/PID/mem or ptrace of the template by its workers
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # ends with the grader
    sock = socket.socket(fileno=control)
    sock.send(json.dumps({"read_only": namespaces and _probe_read_only()}).encode())
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # keepers are reaped by the kernel
    while True:
        try:
            message, fds, _flags, _address = socket.recv_fds(sock, _MAX_REQUEST, 4)
        except OSError:
            return 1
        if not message:
            return 0
        if len(fds) != 4:
            for fd in fds:
                os.close(fd)
            continue
        try:
            request = json.loads(message)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            for fd in fds:
                os.close(fd)
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            try:
                sock.close()
                _keeper(request, fds)
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)


def _keeper(request: dict[str, object], fds: list[int]) -> None:
    """Start the worker in a new PID namespace, report its pid and, later, its exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    status = fds[3]
    os.setsid()
    namespaces = bool(request.get("namespaces"))
    try:
        if namespaces:
            _unshare(_CLONE_NEWPID)  # the next child is PID 1 of a namespace of its own
        pid = os.fork()
    except OSError as error:
        os.write(status, f"fail {error}\n".encode())
        os._exit(71)
    if pid == 0:
        os.close(status)
        _worker_main(request, fds[:3], namespaces)
    os.write(status, f"pid {pid}\n".encode())
    for fd in fds[:3]:
        os.close(fd)
    while True:
        try:
            _, code = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            code = 0
            break
        except InterruptedError:
            continue
    os.write(status, f"exit {os.waitstatus_to_exitcode(code)}\n".encode())
    os._exit(0)


def _worker_main(request: dict[str, object], fds: list[int], namespaces: bool) -> None:
    """Become the worker: descriptors, namespaces, session, home, then :func:`_worker.main`."""
    code = 70
    try:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # ends with its keeper
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        # out of the way first, so that no dup2 below overwrites a descriptor still to be moved
        requests, replies, output, null = (fcntl.fcntl(fd, fcntl.F_DUPFD, 16)
                                           for fd in (*fds, null))
        for fd, target in ((null, 0), (output, 1), (output, 2), (requests, REQUESTS_FD),
                           (replies, REPLIES_FD)):
            os.dup2(fd, target)  # stdin closed; stdout/stderr to the grader's capped pipe
        os.closerange(REPLIES_FD + 1, os.sysconf("SC_OPEN_MAX"))  # nothing of the server's
        home = str(request["home"])
        if namespaces:
            # below the server's user namespace: no capability over it or its other workers
            _unshare(_CLONE_NEWUSER | _CLONE_NEWNET)
        if request.get("read_only"):
            read_only_filesystem(home)
        os.setsid()
        os.chdir(home)
        os.environ["HOME"] = os.environ["TMPDIR"] = home
        limits = request.get("limits")
        code = _worker.main([str(REQUESTS_FD), str(REPLIES_FD),
                             json.dumps({"limits": limits if isinstance(limits, dict) else {}})])
    except BaseException as error:  # noqa: BLE001 - say why on the output pipe, then end
        try:
            os.write(2, f"replicalab worker: {type(error).__name__}: {error}\n".encode())
        except OSError:
            pass
    finally:
        os._exit(code)
