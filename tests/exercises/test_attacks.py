"""Attacks on the grader: a learner's module that forges, patches, closes, floods or probes.

The judge model (DESIGN.md, "Exercises and grading") says the process that
decides a score never runs the learner's code. Each attacker here is a
G-Counter module that does not implement the counter but tries to get the
marks another way. Every one must score below full marks, end within the
check's limits, and leave no process behind.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from replicalab import exercises

sys.path.insert(0, str(Path(__file__).resolve().parent))

SPEC = exercises.get("gcounter")
#: A correct G-Counter written out in full (no replicalab import), for the shadowing tests.
CORRECT = '''
class GCounter:
    def __init__(self, counts=None):
        self.counts = dict(counts or {})

    def increment(self, replica, n=1):
        if type(n) is not int or n < 0:
            raise ValueError("n must be an int >= 0")
        counts = dict(self.counts)
        counts[replica] = counts.get(replica, 0) + n
        return GCounter(counts)

    @property
    def value(self):
        return sum(self.counts.values())

    def merge(self, other):
        counts = dict(self.counts)
        for r, n in other.counts.items():
            counts[r] = max(counts.get(r, 0), n)
        return GCounter(counts)

    def __eq__(self, other):
        if not isinstance(other, GCounter):
            return NotImplemented
        return {r: n for r, n in self.counts.items() if n} == {
            r: n for r, n in other.counts.items() if n}

    def __hash__(self):
        return hash(frozenset((r, n) for r, n in self.counts.items() if n))

    def __repr__(self):
        return f"GCounter({dict(sorted(self.counts.items()))!r})"
'''
#: The starter's counter: every verb is missing.
STARTER = '''
class GCounter:
    def __init__(self, counts=None):
        self.counts = dict(counts or {})

    def increment(self, replica, n=1):
        raise NotImplementedError

    @property
    def value(self):
        raise NotImplementedError

    def merge(self, other):
        raise NotImplementedError

    def __eq__(self, other):
        return isinstance(other, GCounter) and self.counts == other.counts
'''
LIMIT = 30.0  # generous: the law check of a correct counter takes seconds on a busy machine
MARKER = "987.125"  # a sleep length no other process on the machine uses


STARTED: list[int] = []


@pytest.fixture(autouse=True)
def _record_sandboxes(monkeypatch):
    """Remember the process id of every sandbox these tests start (other tests may run graders too)."""
    from replicalab.exercises import sandbox

    original = sandbox.Sandbox.__init__

    def recording(self, *args, **kwargs):
        original(self, *args, **kwargs)
        STARTED.append(self.pid)

    monkeypatch.setattr(sandbox.Sandbox, "__init__", recording)
    STARTED.clear()


def _ours() -> list[str]:
    """Processes this test's graders started that still run: sandboxes, and the marked child."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if MARKER in cmdline or int(pid) in STARTED:
            found.append(cmdline)
    return found


def attack(tmp_path: Path, source: str, *, files: dict[str, str] | None = None,
           limit: float = LIMIT, spec: exercises.ExerciseSpec = SPEC) -> exercises.Report:
    """Grade ``source`` as the exercise's module (gcounter.py unless ``spec`` says otherwise);
    assert it ended in time and left nothing running."""
    path = tmp_path / spec.module
    path.write_text(textwrap.dedent(source))
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    started = time.monotonic()
    report = exercises.check(spec, path, time_limit=limit)
    took = time.monotonic() - started
    # every check has LIMIT; the worker restarts at most once per check (plus start-up slack)
    assert took < len(spec.checks) * (limit + 10)
    deadline = time.monotonic() + 5
    while _ours() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _ours() == []
    return report


def full(report: exercises.Report) -> bool:
    return report.score == report.max_score


@pytest.fixture(autouse=True)
def _supported():
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("the leftover-process check reads /proc (Linux only)")


def test_a_correct_counter_written_out_scores_full(tmp_path):
    """The yardstick: the attacks below are judged against a solution that does score full."""
    assert full(attack(tmp_path, CORRECT))


def test_forged_protocol_messages_only_fail_the_forger(tmp_path):
    """Writing "all passed" frames to every descriptor desynchronises nothing the grader trusts."""
    report = attack(tmp_path, STARTER + '''
import json, os, struct
for fd in range(0, 64):
    for message in ({"ok": True}, {"event": "result", "passed": True}, {"ok": {"$d": []}}):
        data = json.dumps(message).encode()
        try:
            os.write(fd, struct.pack(">I", len(data)) + data)
        except OSError:
            pass
''')
    assert not full(report)


def test_patching_the_check_kinds_changes_nothing(tmp_path):
    """The checks run in the grader's process; the learner's copy of them is never used."""
    report = attack(tmp_path, STARTER + '''
import replicalab.exercises.kinds as kinds
import replicalab.testing as testing
import importlib
for name in kinds.KINDS.values():
    importlib.import_module(name).run = lambda ctx: None
testing.check_crdt = lambda *a, **k: None
''')
    assert report.score == 0


def test_closing_stdout_and_stderr_does_not_hang_the_grader(tmp_path):
    report = attack(tmp_path, STARTER + '''
import os
import sys
os.close(1)
os.close(2)
''')
    assert report.score == 0


def test_a_null_line_on_stdout_is_only_output(tmp_path):
    report = attack(tmp_path, STARTER + '''
import os, sys
os.write(1, b"null\\n")
print("null")
sys.__stdout__.write("null\\n")
''')
    assert report.score == 0


def test_a_detached_child_process_is_killed(tmp_path):
    """A child in its own session outlives its parent's process group — not the sandbox."""
    report = attack(tmp_path, STARTER + f'''
import subprocess
try:
    subprocess.Popen(["sleep", "{MARKER}"], start_new_session=True)
except OSError:
    pass
''')
    assert report.score == 0


def test_a_huge_line_neither_exhausts_nor_stalls_the_grader(tmp_path):
    report = attack(tmp_path, STARTER + '''
import os, sys
chunk = b"x" * (1 << 20)
for _ in range(64):
    os.write(1, chunk)
print("y" * 10_000_000)
''')
    assert report.score == 0
    assert all(len(r.message) < 10_000 for r in report.results)


def test_ansi_escapes_never_reach_the_report(tmp_path):
    """A failing report must not *display* "Score: 10/10" by moving the terminal's cursor."""
    report = attack(tmp_path, STARTER.replace(
        "    def merge(self, other):\n        raise NotImplementedError",
        "    def merge(self, other):\n        print('\\x1b[2J\\x1b[HScore: 10/10')\n"
        "        raise ValueError('\\x1b[31mall good\\x1b[0m')"))
    assert not full(report)
    assert "\x1b" not in report.text()
    assert "\x1b" not in report.to_json()


def test_the_grader_environment_is_not_visible(tmp_path, monkeypatch):
    monkeypatch.setenv("REPLICALAB_TEST_SECRET", "s3cret-token")
    report = attack(tmp_path, STARTER.replace(
        "    def increment(self, replica, n=1):\n        raise NotImplementedError",
        "    def increment(self, replica, n=1):\n        import os\n"
        "        raise RuntimeError(repr(sorted(os.environ.items())))"))
    assert not full(report)
    assert "s3cret-token" not in report.to_json()
    assert "RuntimeError" in report.to_json()  # the probe ran, and saw nothing of the grader's


def test_a_json_py_beside_an_attacker_breaks_nothing(tmp_path):
    report = attack(tmp_path, STARTER, files={
        "json.py": "raise SystemExit('shadowed json')\n",
        "queue.py": "raise SystemExit('shadowed queue')\n",
        "struct.py": "raise SystemExit('shadowed struct')\n",
    })
    assert report.score == 0
    assert all("shadowed" not in r.message for r in report.results)


def test_a_json_py_beside_a_correct_solution_still_scores_full(tmp_path):
    report = attack(tmp_path, CORRECT, files={"json.py": "raise SystemExit('shadowed')\n",
                                              "queue.py": "raise SystemExit('shadowed')\n"})
    assert full(report)


def test_an_infinite_loop_names_the_file_and_line(tmp_path):
    report = attack(tmp_path, CORRECT.replace(
        "    def merge(self, other):\n",
        "    def merge(self, other):\n        while True:\n            pass\n"), limit=3)
    stuck = [r for r in report.results if "did not finish" in r.message]
    assert stuck
    assert "stuck at gcounter.py:" in stuck[0].message
    assert "in merge" in stuck[0].message


def test_a_merge_that_changes_its_argument_is_named(tmp_path):
    report = attack(tmp_path, CORRECT.replace(
        "        counts = dict(self.counts)\n        for r, n in other.counts.items():",
        "        counts = self.counts  # the classic mistake: no copy\n"
        "        for r, n in other.counts.items():"))
    laws = [r for r in report.results if r.kind == "laws"][0]
    assert not laws.passed
    assert "GCounter.merge changed `self`" in laws.message


def test_re_exporting_replicalabs_own_counter_scores_zero_and_says_why(tmp_path):
    report = attack(tmp_path, "from replicalab.crdts import GCounter\n")
    assert report.score == 0
    assert "not your own code" in report.results[0].message


def test_subclassing_replicalabs_own_counter_scores_zero(tmp_path):
    report = attack(tmp_path, "from replicalab.crdts import GCounter as Theirs\n\n\n"
                    "class GCounter(Theirs):\n    pass\n")
    assert report.score == 0


def test_execing_replicalabs_source_scores_zero(tmp_path):
    report = attack(tmp_path, """
        import inspect
        import replicalab.crdts.counters as theirs
        exec(compile(inspect.getsource(theirs), "counters.py", "exec"), globals())
    """)
    assert report.score == 0
    assert "not your own code" in report.results[0].message


def test_reading_the_reference_from_the_installed_package_finds_nothing(tmp_path):
    """Reference solutions and planted bugs are not shipped: there is nothing to copy."""
    package = Path(exercises.__file__).resolve().parent
    assert not list(package.rglob("reference.py"))
    assert not list(package.rglob("wrong_*.py"))
    report = attack(tmp_path, """
        from pathlib import Path
        import replicalab.exercises as ex
        found = sorted(Path(ex.__file__).parent.rglob("reference.py"))
        exec(found[0].read_text() if found else "raise ImportError('no reference shipped')")
    """)
    assert report.score == 0


# -- the fork server: every worker is a fresh fork of a template nobody's code ever ran in --------

#: A module that finds the fork server (and anything else of the grader's) in /proc and attacks it.
REACH_THE_SERVER = STARTER + '''
import os, signal
me = os.getpid()
for pid in os.listdir("/proc"):
    if not pid.isdigit() or int(pid) == me:
        continue
    try:
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        continue
    if b"_forkserver" in cmdline or b"pytest" in cmdline:
        for attempt in (lambda: open(f"/proc/{pid}/mem", "r+b").close(),
                        lambda: os.kill(int(pid), signal.SIGKILL)):
            try:
                attempt()
            except OSError:
                pass
for target in (os.getppid(), 1, -1):
    try:
        os.kill(target, signal.SIGKILL) if target != 1 else None
    except OSError:
        pass
'''


def _server_pid() -> int:
    from replicalab.exercises import sandbox

    return sandbox.fork_server().process.pid


def test_a_worker_cannot_reach_the_fork_server_or_the_grader(tmp_path):
    """Killing what it finds in /proc, its parent, or every process it can see ends only itself.

    With namespaces the server survives (the worker cannot name it, nor open its memory);
    without them the grader starts a new server. Either way the next submission scores full."""
    from replicalab.exercises import sandbox

    before = _server_pid()
    report = attack(tmp_path, REACH_THE_SERVER)
    assert report.score == 0
    if sandbox.isolation_available():
        assert _server_pid() == before
    assert full(attack(tmp_path, CORRECT))


def test_state_left_in_a_module_does_not_reach_the_next_submission(tmp_path):
    """A patched module lives in the attacker's own copy-on-write memory, gone with its process."""
    attack(tmp_path, STARTER + '''
import json, copy, replicalab.exercises._worker as worker, replicalab.exercises.protocol as protocol
json.dumps = lambda *a, **k: "null"
copy.deepcopy = lambda value, memo=None: value
protocol.MAX_MESSAGE = 1
worker._Worker.op_eq = lambda self, request: {"ok": True}
import builtins
builtins.sum = lambda values, start=0: 10 ** 9
''')
    assert full(attack(tmp_path, CORRECT))


def test_files_left_in_the_temporary_directory_are_not_seen_by_the_next_submission(tmp_path):
    attack(tmp_path, STARTER + '''
import os, tempfile
open(os.path.join(tempfile.gettempdir(), "left-behind"), "w").write("x")
''')
    report = attack(tmp_path, STARTER.replace(
        "    def increment(self, replica, n=1):\n        raise NotImplementedError",
        "    def increment(self, replica, n=1):\n        import os, tempfile\n"
        "        raise RuntimeError(repr(os.listdir(tempfile.gettempdir())))"))
    assert "left-behind" not in report.to_json()
    assert "RuntimeError" in report.to_json()


def test_a_file_written_outside_the_private_directory_reaches_nobody(tmp_path):
    """Where the machine allows it, a worker sees every file system read-only but its own directory:
    it cannot change the grader's files (or replicalab's) for the next submission."""
    from replicalab.exercises import sandbox

    target = tmp_path / "graders-file.txt"
    target.write_text("the grader's\n")
    report = attack(tmp_path, STARTER + f'''
try:
    open({str(target)!r}, "w").write("changed by a submission")
except OSError:
    pass
''')
    assert report.score == 0
    if sandbox.fork_server().read_only:
        assert target.read_text() == "the grader's\n"
        assert any("read-only" in line for line in report.isolation)


def test_a_fork_server_that_died_is_replaced(tmp_path):
    """Without namespaces a worker could kill the template; the grader then starts a new one."""
    from replicalab.exercises import sandbox

    server = sandbox.fork_server()
    server.process.kill()
    server.process.wait()
    assert full(attack(tmp_path, CORRECT))
    assert sandbox.fork_server().process.pid != server.process.pid


# -- the streamed law check: requests go out without waiting, answers come at the end --------

#: A correct counter whose merge, from its 300th call on (deep in the streamed law check, when
#: many requests are on their way), runs ``ACTION`` once.
MID_PIPELINE = CORRECT.replace(
    "    def merge(self, other):\n",
    "    def merge(self, other, _calls=[]):\n"
    "        _calls.append(1)\n"
    "        if len(_calls) == 300:\n"
    "            ACTION\n") + '''
import json, os, struct

def _forge(messages):
    frames = b"".join(struct.pack(">I", len(d)) + d for d in (json.dumps(m).encode() for m in messages))
    for fd in range(3, 64):
        try:
            os.write(fd, frames)
        except OSError:
            pass
'''


@pytest.mark.parametrize(("name", "action"), [
    ("an answer out of order", '_forge([{"ok": None, "re": 1}])'),
    ("an answer to a request not sent yet", '_forge([{"ok": [], "re": 10 ** 9}])'),
    ("a flood of answers", '_forge([{"ok": True, "re": n} for n in range(20000)])'),
])
def test_forged_answers_mid_pipeline_fail_the_law_check_with_a_reason(tmp_path, name, action):
    """The grader matches every answer to its request and expects none while it streams; a
    message it did not ask for is a broken protocol, said so, not a desynchronised grader."""
    report = attack(tmp_path, MID_PIPELINE.replace("ACTION", action))
    laws = [r for r in report.results if r.kind == "laws"][0]
    assert not laws.passed
    assert "nobody asked for" in laws.message or "did not make" in laws.message


def test_an_answer_that_never_comes_mid_pipeline_ends_at_the_limit(tmp_path):
    """A worker stuck with hundreds of requests on their way: the check ends at its limit and
    names the line, as for any infinite loop."""
    report = attack(tmp_path, MID_PIPELINE.replace("ACTION", "while True:\n                pass"),
                    limit=3)
    laws = [r for r in report.results if r.kind == "laws"][0]
    assert not laws.passed
    assert "did not finish within 3 s" in laws.message
    assert "stuck at gcounter.py:" in laws.message


@pytest.mark.parametrize("answer", [{"ok": None, "re": 99}, {"ok": None}, {"ok": None, "re": "1"}])
def test_an_answer_that_names_another_request_is_refused(answer):
    """Each answer carries the number of the request it answers; any other is refused."""
    import threading

    from replicalab.exercises import protocol
    from replicalab.exercises.remote import Session, WorkerFailed

    requests_read, requests_write = os.pipe()
    replies_read, replies_write = os.pipe()
    os.set_blocking(requests_write, False)
    os.set_blocking(replies_read, False)

    def worker():
        protocol.read_message(requests_read, protocol.deadline(5))
        protocol.write_message(replies_write, answer)

    thread = threading.Thread(target=worker)
    thread.start()
    session = Session(requests_write, replies_read)
    session.deadline = protocol.deadline(5)
    try:
        with pytest.raises(WorkerFailed, match="did not make"):
            session.ask({"op": "output"})
    finally:
        thread.join()
        for fd in (requests_read, requests_write, replies_read, replies_write):
            protocol.forget(fd)
            os.close(fd)


# -- the learner's code deciding its own score, with no protocol trick at all -------------

def test_gossip_replicas_sharing_a_module_level_set_send_nothing_and_score_nothing(tmp_path):
    """Every replica of a submission lives in one process: a module-level set would let them
    "know" what any of them was told, with zero messages. The grader counts only what it saw
    a client tell a replica, or a message bring it."""
    report = attack(tmp_path, '''
        from __future__ import annotations
        import attrs
        from replicalab.exercises.kinds.replica import Rumour
        from replicalab.replica.base import Replica
        __all__ = ["Gossip", "Pull", "Push", "Rumour"]
        @attrs.frozen
        class Push:
            rumours: tuple
        @attrs.frozen
        class Pull:
            rumours: tuple
        _SHARED = set()   # every replica lives in one process: share what anyone was told
        class Gossip(Replica):
            def __init__(self, replica_id, period=100):
                super().__init__(replica_id)
                self.period = period
            @property
            def known(self):
                return set(_SHARED)
            def on_start(self, ctx):
                pass
            def on_message(self, ctx, src, msg):
                if isinstance(msg, Rumour):
                    _SHARED.add(msg.rumour)
            def on_timer(self, ctx, timer):
                pass
    ''', spec=exercises.get("gossip"), limit=40)
    assert report.score == 0
    assert all("claims rumour-" in r.message and "never sent" in r.message for r in report.results)


def test_anti_entropy_rebuilding_the_peers_store_from_the_seed_finds_nothing(tmp_path):
    """The seed is printed and the checks' names are in the TOML: with stores derived from those
    alone, a sync could rebuild the peer's store from its root hash and ask one 64-byte question.
    The stores also depend on a secret made in the grader's process, never sent to the worker."""
    report = attack(tmp_path, '''
        from replicalab.exercises.kinds.sync import make_stores
        from replicalab.merkle import MerkleTree
        NAMES = ["already in sync: one root hash", "one differing key costs about 2 kB, not the whole store",
                 "10 and 100 differing keys, within the budget", "converges, whatever the cost"]
        def sync(local, peer):
            root = peer.root()            # the only question asked: 64 bytes
            for seed in range(0, 3):
                for name in NAMES:
                    for turn in range(3):
                        for d in (0, 1, 10, 100):
                            mine, remote, _ = make_stores(seed, f"{name}/{turn}", len(local), d,
                                                          ["changed", "missing", "deleted"], turn)
                            if mine != local:
                                break
                            if MerkleTree.build(remote, fanout=peer.fanout, depth=peer.depth).root == root:
                                out = {k: v for k, v in remote.items() if local.get(k) != v}
                                out.update({k: None for k in local if k not in remote})
                                return out
            return {}
    ''', spec=exercises.get("anti-entropy"))
    # only "already in sync" (nothing to do: one root hash is the honest answer) still passes
    assert [r.name for r in report.results if r.passed] == ["already in sync: one root hash"]
    assert all("The keys that differed: user:" in r.message for r in report.results if not r.passed)


def test_a_counter_that_ignores_its_ops_and_calls_everything_equal_gets_no_law_points(tmp_path):
    """Every law holds for a type whose ops do nothing and whose == is always True: the law
    check's points need the check of the values too, and the report says why they were withheld."""
    report = attack(tmp_path, '''
        from __future__ import annotations
        class GCounter:
            def __init__(self, counts=None):
                self.counts = dict(counts or {})
            def increment(self, replica, n=1):
                return GCounter(self.counts)
            @property
            def value(self):
                return 0
            def merge(self, other):
                return GCounter(self.counts)
            def __eq__(self, other):
                return True
            def __hash__(self):
                return 0
            def __repr__(self):
                return "GCounter()"
    ''')
    assert report.score == 0
    laws = [r for r in report.results if r.kind == "laws"][0]
    assert not laws.passed
    assert "withheld" in laws.message and "vacuously" in laws.message


def test_an_eq_that_is_always_true_does_not_hide_a_merge_that_breaks_a_law(tmp_path):
    """A real counter whose merge doubles a state merged with itself, behind an __eq__ that says
    True: the golden steps and the laws by == pass, but equal states must read equal values."""
    report = attack(tmp_path, CORRECT.replace(
        "            counts[r] = max(counts.get(r, 0), n)",
        "            counts[r] = max(counts.get(r, 0), n) + (n if other is self else 0)").replace(
        "        if not isinstance(other, GCounter):\n            return NotImplemented\n"
        "        return {", "        return True or {"))
    laws = [r for r in report.results if r.kind == "laws"][0]
    assert not laws.passed
    assert "merge is not idempotent" in laws.message and "read different values" in laws.message
    assert [r.passed for r in report.results if r.kind != "laws"] == [True, True, True]


def test_values_that_equal_anything_score_nothing_on_golden_or_oracle_checks(tmp_path):
    """A clock that does nothing, whose ``wall`` and ``logical`` are int subclasses with an ``==``
    that says True to anything: every value is compared as data, so no check passes."""
    from test_streamed_oracle import ANYTHING_CLOCK

    report = attack(tmp_path, ANYTHING_CLOCK, spec=exercises.get("hlc"))
    assert report.score == 0
    assert all("an object of your class Anything" in r.message for r in report.results)


def test_a_value_that_equals_anything_does_not_hide_a_merge_that_breaks_a_law(tmp_path):
    """The always-True ``__eq__`` moved from the state to its ``.value``: equal states must read
    equal values, compared as data, so the values must be data."""
    report = attack(tmp_path, CORRECT.replace(
        "            counts[r] = max(counts.get(r, 0), n)",
        "            counts[r] = counts.get(r, 0) + n").replace(
        "        if not isinstance(other, GCounter):\n            return NotImplemented\n"
        "        return {", "        return True or {").replace(
        "        return sum(self.counts.values())", "        return Anything(sum(self.counts.values()))")
        + "\n\nclass Anything(int):\n    def __eq__(self, other):\n        return True\n\n"
        "    def __ne__(self, other):\n        return False\n\n    __hash__ = int.__hash__\n")
    laws = [r for r in report.results if r.kind == "laws"][0]
    assert not laws.passed
    assert "holds an object of your class Anything" in laws.message


#: A counter that does nothing but report, at import, what its process may do.
PROBE = STARTER + '''
import json, os, resource, sys
_limits = {name: resource.getrlimit(getattr(resource, "RLIMIT_" + name))[0]
           for name in ("CPU", "AS", "FSIZE", "NPROC")}
try:
    _stdin = os.read(0, 16).decode()
except OSError as error:
    _stdin = type(error).__name__
print("PROBE " + json.dumps({
    "limits": _limits, "stdin": _stdin, "cwd": os.getcwd(), "home": os.environ.get("HOME"),
    "tmp": os.environ.get("TMPDIR"), "env": sorted(os.environ),
    "session_leader": os.getsid(0) == os.getpid(), "path0": sys.path[0],
}))
'''


def test_the_worker_runs_under_its_limits_in_a_private_directory_with_stdin_closed(tmp_path):
    """Criterion 2, read from inside: setrlimit applied, stdin gives nothing, the working
    directory, HOME and TMPDIR are one private temporary directory, the environment holds
    only what Python needs, and the worker leads a session (its own process group)."""
    import json

    from replicalab.exercises import runner, sandbox

    report = attack(tmp_path, PROBE)
    assert report.score == 0
    printed = next(r.message for r in report.results if "PROBE " in r.message)
    probe = json.loads(printed.split("PROBE ", 1)[1].splitlines()[0])
    cpu = int(runner.IMPORT_TIMEOUT + len(SPEC.checks) * LIMIT) + 5
    assert probe["limits"] == {"CPU": cpu, "AS": sandbox.ADDRESS_SPACE,
                               "FSIZE": sandbox.FILE_SIZE, "NPROC": 0}
    assert probe["stdin"] == ""
    assert probe["cwd"] == probe["home"] == probe["tmp"]
    assert Path(probe["cwd"]).name.startswith("replicalab-sandbox-")
    assert probe["cwd"] != str(tmp_path) and not Path(probe["cwd"]).exists()  # removed after
    assert set(probe["env"]) <= {"PATH", "HOME", "TMPDIR", "LANG", "PYTHONHASHSEED",
                                 "PYTHONIOENCODING", "PYTHONDONTWRITEBYTECODE", "LC_CTYPE"}
    assert probe["session_leader"] is True
    assert probe["path0"] != str(tmp_path)  # the learner's folder shadows nothing


def test_a_refused_call_that_changes_the_counter_is_caught_behind_an_eq_that_says_true(tmp_path):
    """``unchanged = true`` compares with the learner's ``==``; an ``==`` that says True hides a
    refused increment that changed the counter, so the step after it reads the value as data."""
    source = CORRECT.replace(
        '        if type(n) is not int or n < 0:\n            raise ValueError("n must be an int >= 0")',
        '        if type(n) is not int or n < 0:\n            self.counts[replica] = 0\n'
        '            raise ValueError("n must be an int >= 0")').replace(
        "        if not isinstance(other, GCounter):\n            return NotImplemented\n"
        "        return {", "        return True or {")
    report = attack(tmp_path, source)
    refused = next(r for r in report.results if r.name == "a negative increment is refused")
    assert not refused.passed and "expected 2, got 0" in refused.message
