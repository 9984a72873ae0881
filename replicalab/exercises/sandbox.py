"""The untrusted process: started with limits, watched from outside, killed with everything it started.

:class:`Sandbox` is one worker running :mod:`replicalab.exercises._worker`,
forked for one submission from the template process of the fork server
(:mod:`replicalab.exercises._forkserver`, started once per grader process by
:func:`fork_server`: Python started and replicalab imported, never any
learner code). The worker

* talks to the grader only over two dedicated pipes (the protocol), while
  its stdout and stderr go to a third pipe that the grader drains and caps;
* has stdin closed, a private temporary directory as working directory,
  ``HOME`` and ``TMPDIR``, and an environment that holds only what Python
  needs (no variable of the grader's: no tokens, no paths);
* runs Python isolated (``-I``: no ``PYTHON*`` variables, no user site, not
  the learner's folder first on ``sys.path``), so a ``json.py`` beside the
  learner's module shadows nothing the worker uses;
* lowers its own CPU time, address space, file size and process limits
  (``setrlimit``) before the learner's module is imported;
* runs in its own session and process group and — where ``unshare`` can
  create them — is PID 1 of a PID namespace of its own, in user and network
  namespaces of its own: no network, no way to name or touch the template or
  another submission's worker, and when it is killed the kernel kills every
  process it started, detached or not;
* where the machine allows a mount namespace, sees every file system read-only
  but its private directory: it can change no file the grader (or the next
  submission) reads.

:attr:`Sandbox.isolation` lists what applied, for the report. Nothing here
decides a score.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import replicalab
from replicalab.exercises import protocol

__all__ = ["MAX_CAPTURE", "Sandbox", "clean_text", "isolation_available", "workers_read_only"]

#: Bytes of the process's own stdout/stderr kept (the rest is read and dropped).
MAX_CAPTURE = 64 * 1024
#: Address space, bytes.
ADDRESS_SPACE = 2 * 1024 ** 3
#: Largest file the process may write, bytes.
FILE_SIZE = 16 * 1024 * 1024
_UNSHARE = ["--user", "--map-root-user", "--pid", "--fork", "--kill-child", "--net"]
#: The fork server's own namespaces (each worker adds a PID, user and network namespace).
_SERVER_UNSHARE = ("--user", "--map-root-user", "--net")
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """``text`` without ANSI escapes or control characters (newlines and tabs stay)."""
    return _CONTROL.sub("", text)


@functools.cache
def isolation_available() -> tuple[str, ...]:
    """The ``unshare`` prefix when this machine lets an ordinary process create namespaces, else ()."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return ()
    try:
        done = subprocess.run([unshare, *_UNSHARE, "true"], capture_output=True, timeout=10,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return ()
    return (unshare, *_UNSHARE) if done.returncode == 0 else ()


# Not ``python -I``: isolated mode ignores PYTHONHASHSEED, so every grader process gave its
# workers a different hash seed and learner code that depends on set order graded
# differently from run to run. ``-s`` (no user site) and the bootstrap's dropping of the
# script directory ('' for -c) keep what -I gave; the environment is ours (_environment).
_SERVER_FLAGS = ("-s",)
_SERVER_BOOTSTRAP = ("import sys; sys.path[:] = [p for p in sys.path if p]; "
                     "sys.dont_write_bytecode = True; sys.path.insert(0, sys.argv[1]); "
                     "from replicalab.exercises._forkserver import serve; "
                     "sys.exit(serve(int(sys.argv[2]), sys.argv[3] == '1'))")
#: How long a new worker may take to say its process id (the server may have to start first).
SPAWN_TIMEOUT = 20.0


def _environment(home: str) -> dict[str, str]:
    """What Python needs and nothing of the grader's (no tokens, no paths)."""
    return {"PATH": os.defpath, "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1"}


class ForkServer:
    """The grader's handle on the template process (:mod:`replicalab.exercises._forkserver`).

    One per grader process, started on first use by :func:`fork_server`. It runs with the
    workers' environment, in user and network namespaces of its own where the machine has
    them, and never runs learner code; the control socket is the grader's alone.
    """

    def __init__(self) -> None:
        self.home = tempfile.mkdtemp(prefix="replicalab-forkserver-")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.namespaces = bool(isolation_available())
        prefix = (isolation_available()[0], *_SERVER_UNSHARE) if self.namespaces else ()
        root = str(Path(replicalab.__file__).resolve().parent.parent)
        self.process = subprocess.Popen(
            [*prefix, sys.executable, *_SERVER_FLAGS, "-c", _SERVER_BOOTSTRAP, root, str(theirs.fileno()),
             "1" if self.namespaces else "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),), cwd=self.home, env=_environment(self.home),
            start_new_session=True,
        )
        theirs.close()
        self.socket = ours
        self.owner = os.getpid()
        self.read_only = False
        ours.settimeout(SPAWN_TIMEOUT)
        try:  # the server's hello: can its workers have a read-only file system here?
            hello = json.loads(ours.recv(256) or b"{}")
            self.read_only = isinstance(hello, dict) and hello.get("read_only") is True
        except (OSError, ValueError):
            pass
        ours.settimeout(None)

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.process.poll() is None

    def spawn(self, home: str, limits: dict[str, int], fds: tuple[int, int, int, int]) -> None:
        """Ask for a worker with private directory ``home`` on pipes ``fds`` (requests, replies,
        output, status); raises OSError if the server is gone."""
        request = json.dumps({"home": home, "limits": limits, "namespaces": self.namespaces,
                              "read_only": self.read_only})
        socket.send_fds(self.socket, [request.encode()], list(fds))

    def close(self) -> None:
        self.socket.close()
        if self.owner != os.getpid():
            return  # a forked copy of the grader: the server belongs to the parent
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        shutil.rmtree(self.home, ignore_errors=True)


_SERVER: ForkServer | None = None
_SERVER_LOCK = threading.Lock()


def fork_server(restart: bool = False) -> ForkServer:
    """This grader process's fork server, started (or restarted) when needed."""
    global _SERVER
    with _SERVER_LOCK:
        if _SERVER is not None and (restart or not _SERVER.alive()):
            _SERVER.close()
            _SERVER = None
        if _SERVER is None:
            _SERVER = ForkServer()
            atexit.register(_SERVER.close)
        return _SERVER


def workers_read_only() -> bool:
    """Does every worker of this grader process see every file system read-only but its own
    private directory? (False until the fork server has started, and where it cannot.)"""
    server = _SERVER
    return server is not None and server.alive() and server.read_only


class Sandbox:
    """One untrusted worker process; ``requests``/``replies`` are the grader's ends of the protocol.

    The worker is forked from the :class:`ForkServer`'s template, so it starts in about a
    millisecond with replicalab already imported; :attr:`pid` is its process id.
    """

    def __init__(self, cpu_seconds: int) -> None:
        self.home = tempfile.mkdtemp(prefix="replicalab-sandbox-")
        limits = {"cpu": max(1, int(cpu_seconds)), "address_space": ADDRESS_SPACE,
                  "file_size": FILE_SIZE, "processes": 0}
        self._captured = bytearray()
        self._lock = threading.Lock()
        self._status = b""
        self.exit_code: int | None = None
        for attempt in range(2):
            try:
                self._start(limits, restart=attempt > 0)
                break
            except OSError:
                if attempt:
                    shutil.rmtree(self.home, ignore_errors=True)
                    raise
        server = fork_server()
        self.isolation = _describe(limits, server.namespaces, server.read_only)
        self._drained = threading.Thread(target=self._drain, daemon=True)
        self._drained.start()

    def _start(self, limits: dict[str, int], restart: bool) -> None:
        to_worker_r, requests = os.pipe()
        replies, from_worker_w = os.pipe()
        output, output_w = os.pipe()
        status, status_w = os.pipe()
        theirs = (to_worker_r, from_worker_w, output_w, status_w)
        try:
            fork_server(restart).spawn(self.home, limits, theirs)
        except OSError:
            for fd in (*theirs, requests, replies, output, status):
                os.close(fd)
            raise
        for fd in theirs:
            os.close(fd)
        self.requests, self.replies, self._output, self._status_fd = requests, replies, output, status
        line = self._status_line(protocol.deadline(SPAWN_TIMEOUT))
        if not line.startswith("pid "):
            for fd in (requests, replies, output, status):
                os.close(fd)
            raise OSError(f"the fork server did not start a worker: {line or 'no answer'}")
        self.pid = int(line[4:])
        os.set_blocking(self.requests, False)  # writes wait with the check's deadline, never forever

    def _status_line(self, deadline: float) -> str:
        """The next line on the status pipe; '' at its end or at ``deadline``."""
        while b"\n" not in self._status:
            left = deadline - protocol.now()
            if left <= 0 or not select.select([self._status_fd], [], [], left)[0]:
                return ""
            chunk = os.read(self._status_fd, 256)
            if not chunk:
                return ""
            self._status += chunk
        line, _, self._status = self._status.partition(b"\n")
        return line.decode("ascii", "replace")

    def wait(self, timeout: float) -> int | None:
        """The worker's exit code once it ended (waiting up to ``timeout`` seconds), else None."""
        if self.exit_code is None:
            line = self._status_line(protocol.deadline(timeout))
            if line.startswith("exit "):
                self.exit_code = int(line[5:])
        return self.exit_code

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._output, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                room = MAX_CAPTURE - len(self._captured)
                if room > 0:
                    self._captured += chunk[:room]

    def captured(self) -> str:
        """What the process wrote to its own stdout/stderr so far (capped, cleaned)."""
        with self._lock:
            return clean_text(self._captured.decode("utf-8", "replace"))

    def dump_stack(self, wait: float = 0.5) -> str:
        """Ask the process to write its Python stack (faulthandler, SIGUSR1); return the capture."""
        try:
            os.kill(self.pid, signal.SIGUSR1)
        except (ProcessLookupError, PermissionError):
            return self.captured()
        self._drained.join(wait)
        return self.captured()

    def close(self) -> None:
        """Kill the worker (PID 1 of its namespace, so every process in it) and its process group;
        wait until its keeper saw it end; free the pipes and the directory."""
        for fd in (self.requests, self.replies):
            protocol.forget(fd)
            try:
                os.close(fd)
            except OSError:
                pass
        for kill in (os.kill, os.killpg):
            try:
                kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.wait(5)
        self._drained.join(2)
        for fd in (self._status_fd, self._output):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.home, ignore_errors=True)


def _describe(limits: dict[str, int], namespaces: bool, read_only: bool) -> tuple[str, ...]:
    applied = [f"CPU time {limits['cpu']} s", f"address space {ADDRESS_SPACE // 1024 ** 2} MiB",
               f"file size {FILE_SIZE // 1024 ** 2} MiB",
               "no new processes" if os.geteuid() != 0 else
               "process count not limited (the grader runs as root, which setrlimit does not bind)",
               "private temporary directory", "minimal environment", "stdin closed",
               f"output capped at {MAX_CAPTURE // 1024} KiB", "own process group",
               "a fresh process forked from a clean template per submission"]
    if namespaces:
        applied += ["user, PID and network namespaces of its own (no network; cannot see or signal "
                    "the template or other submissions; every process killed at the end)"]
    else:
        applied += ["no namespaces on this machine (network not isolated)"]
    applied += ["file system read-only but for its private directory" if read_only else
                "file system writable wherever the grader's user may write"]
    return tuple(applied)
