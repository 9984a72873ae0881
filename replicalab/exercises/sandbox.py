"""The untrusted process: started with limits, watched from outside, killed with everything it started.

:class:`Sandbox` starts :mod:`replicalab.exercises._worker` so that

* it talks to the grader only over two dedicated pipes (the protocol), while
  its stdout and stderr go to a third pipe that the grader drains and caps;
* stdin is closed, its working directory is a private temporary directory,
  and its environment holds only what Python needs (no variable of the
  grader's: no tokens, no paths);
* Python runs isolated (``-I``: no ``PYTHON*`` variables, no user site, not
  the learner's folder first on ``sys.path``), so a ``json.py`` beside the
  learner's module shadows nothing the worker uses;
* it lowers its own CPU time, address space, file size and process limits
  (``setrlimit``) before the learner's module is imported;
* it runs in its own process group, and — where ``unshare`` can create
  them — in new user, PID and network namespaces: no network, and when the
  sandbox ends the kernel kills every process it started, detached or not.

:attr:`Sandbox.isolation` lists what applied, for the report. Nothing here
decides a score.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import replicalab
from replicalab.exercises import protocol

__all__ = ["MAX_CAPTURE", "Sandbox", "clean_text", "isolation_available"]

#: Bytes of the process's own stdout/stderr kept (the rest is read and dropped).
MAX_CAPTURE = 64 * 1024
#: Address space, bytes.
ADDRESS_SPACE = 2 * 1024 ** 3
#: Largest file the process may write, bytes.
FILE_SIZE = 16 * 1024 * 1024
_UNSHARE = ["--user", "--map-root-user", "--pid", "--fork", "--kill-child", "--net"]
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


_BOOTSTRAP = ("import sys; sys.dont_write_bytecode = True; sys.path.insert(0, sys.argv[1]); "
              "from replicalab.exercises._worker import main; sys.exit(main(sys.argv[2:]))")


class Sandbox:
    """One untrusted worker process; ``requests``/``replies`` are the grader's ends of the protocol."""

    def __init__(self, cpu_seconds: int) -> None:
        self.home = tempfile.mkdtemp(prefix="replicalab-sandbox-")
        to_worker_r, self.requests = os.pipe()
        self.replies, from_worker_w = os.pipe()
        limits = {"cpu": max(1, int(cpu_seconds)), "address_space": ADDRESS_SPACE,
                  "file_size": FILE_SIZE, "processes": 0}
        prefix = isolation_available()
        env = {"PATH": os.defpath, "HOME": self.home, "TMPDIR": self.home, "LANG": "C.UTF-8",
               "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1"}
        root = str(Path(replicalab.__file__).resolve().parent.parent)
        command = [*prefix, sys.executable, "-I", "-c", _BOOTSTRAP, root, str(to_worker_r),
                   str(from_worker_w), json.dumps({"limits": limits})]
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            pass_fds=(to_worker_r, from_worker_w), cwd=self.home, env=env,
            start_new_session=True,
        )
        os.close(to_worker_r)
        os.close(from_worker_w)
        os.set_blocking(self.requests, False)  # writes wait with the check's deadline, never forever
        self.isolation = _describe(limits, bool(prefix))
        self._captured = bytearray()
        self._lock = threading.Lock()
        self._drained = threading.Thread(target=self._drain, daemon=True)
        self._drained.start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        while True:
            chunk = self.process.stdout.read1(65536)  # type: ignore[attr-defined]
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
        if self.process.poll() is None:
            try:
                os.kill(self.process.pid if not isolation_available() else _child(self.process.pid),
                        signal.SIGUSR1)
            except (ProcessLookupError, PermissionError):
                return self.captured()
            self._drained.join(wait)
        return self.captured()

    def close(self) -> None:
        """Kill the process group (and the namespace, so every process in it); free the pipes."""
        for fd in (self.requests, self.replies):
            protocol.forget(fd)
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self._drained.join(2)
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.home, ignore_errors=True)


def _child(pid: int) -> int:
    """The worker under ``unshare --fork``: the only child of the unshare process."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return pid
    return int(children[0]) if children else pid


def _describe(limits: dict[str, int], namespaces: bool) -> tuple[str, ...]:
    applied = [f"CPU time {limits['cpu']} s", f"address space {ADDRESS_SPACE // 1024 ** 2} MiB",
               f"file size {FILE_SIZE // 1024 ** 2} MiB",
               "no new processes" if os.geteuid() != 0 else
               "process count not limited (the grader runs as root, which setrlimit does not bind)",
               "private temporary directory", "minimal environment", "stdin closed",
               f"output capped at {MAX_CAPTURE // 1024} KiB", "own process group"]
    if namespaces:
        applied += ["user, PID and network namespaces (no network; every process killed at the end)"]
    else:
        applied += ["no namespaces on this machine (network not isolated)"]
    return tuple(applied)
