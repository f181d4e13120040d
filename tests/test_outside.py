"""The runner stepped aside: the host's side of the protocol, against a fake engine (no Docker)."""

from __future__ import annotations

import json
from pathlib import Path

import docker.errors
import pytest

from forklab import catalog, outside
from forklab.errors import EnvironmentProblem, UsageError

ORPHAN, MIDDLE = 12, 8


def row(pid, ppid, state="S", command="python3 lab.py"):
    return {"pid": pid, "ppid": ppid, "pgid": 1, "state": state, "comm": "python3", "command": command,
            "threads": 1, "rss_kb": 9000, "private_kb": 3000}


class Exec:
    def __init__(self, output, exit_code=0):
        self.output, self.exit_code = output, exit_code


class Stream(list):
    def close(self):
        pass


class FakeContainer:
    """Plays a lab whose main is PID 1: two forks, one checkpoint, then the hold at exit."""

    def __init__(self, environment: dict, exit_on_stop: int = 137):
        self.environment, self.exit_on_stop = environment, exit_on_stop
        self.calls: list = []
        self.exit_code = None
        self.streams = 0

    def stderr(self) -> bytes:
        mark = "\x1eforklab " + self.environment["FORKLAB_HOST"] + " "
        lines = ["a line of the lab's own",
                 mark + '{"op": "fork", "pid": 8, "ppid": 1, "nth": 1, "t": 1.5}',
                 mark + '{"op": "fork", "pid": 12, "ppid": 8, "nth": 1, "t": 1.6}',
                 # Another run's secret (or the lab imitating one): shown as output, never obeyed.
                 '\x1eforklab 0123 {"op": "checkpoint", "name": "fake", "pid": 12, "roles": {}, "main": 1}',
                 mark + json.dumps({"op": "checkpoint", "name": "adopted", "pid": ORPHAN,
                                    "roles": {"orphan": ORPHAN, "middle": MIDDLE}, "main": 1, "final": False}),
                 mark + json.dumps({"op": "checkpoint", "name": "end", "pid": 1, "roles": {}, "main": 1,
                                    "final": True})]
        return "".join(line + "\n" for line in lines).encode("utf-8")

    status = "running"

    def start(self):
        self.calls.append("start")

    def reload(self):
        self.calls.append("reload")

    def logs(self, stream=False, follow=False, stdout=True, stderr=True):
        if stream:
            data = self.stderr()
            self.streams += 1
            return Stream([data[:50], data[50:]])  # chunks need not end at a line's end
        return self.stderr() if stderr else "孤儿进程12\n".encode("utf-8")

    def exec_run(self, command, demux=False, environment=None):
        n = len(outside.LOOK_COMMAND)
        if command[:n] != outside.LOOK_COMMAND:
            self.calls.append(command)
            return Exec(b"")
        assert environment == {outside.LOOK_ENV: outside.LOOK} and demux
        caller, settle, _, describe, release, fields = command[n:]
        self.calls.append(("look", int(caller), float(settle) > 0, release == "1"))
        if int(caller) == ORPHAN:
            rows = [row(1, 0), row(MIDDLE, 1, "Z", "[python3] <defunct>"), row(ORPHAN, 1)]
        else:
            rows = [row(1, 0), row(ORPHAN, 1, "Z", "[python3] <defunct>")]
        seen = {"processes": rows, "settled": True, "oom_kills": 0, "container_memory_bytes": 5 << 20}
        if describe == "1":
            seen["environment"] = {"pid1": "python3 lab.py", "runner_pid": 4, "limits": {"pids": 64}}
        result = {"seen": seen, "ps": f"    PID    PPID    PGID STAT COMMAND         COMMAND  ({fields})\n"}
        if release == "1":
            result["released"] = True
        return self.answer(result)

    def answer(self, result: dict) -> Exec:
        """What the exec prints, as LOOK prints it, and its exit status."""
        return Exec((json.dumps(result).encode() + b"\n", b""), outside.LOOK_DONE)

    def stop(self, timeout):
        self.calls.append(("stop", timeout))
        self.exit_code = self.exit_on_stop

    def wait(self, timeout=None):
        return {"StatusCode": self.exit_code}


class FakeEngine:
    def __init__(self, fail: Exception | None = None, exit_on_stop: int = 137):
        self.fail, self.exit_on_stop = fail, exit_on_stop
        self.created: dict = {}
        self.removed: list = []
        self.container = None
        self.client = self  # client.containers.create
        self.containers = self

    def create(self, image, command, **options):
        if self.fail:
            raise self.fail
        self.created = {"command": command, **options}
        self.container = FakeContainer(options["environment"], self.exit_on_stop)
        return self.container

    def remove_container(self, name):
        self.removed.append(name)


def lab_run(tmp_path: Path, pid1: str) -> tuple[catalog.Lab, catalog.Run]:
    folder = tmp_path / "08-aside"
    folder.mkdir()
    (folder / "lab.py").write_text("print('hi')\n", encoding="utf-8")
    (folder / "lab.yaml").write_text(f"number: 8\ntitle: Aside\nsummary: s\nrun: {{pid1: {pid1}}}\n"
                                     "expect: [{check: absent, checkpoint: end, role: middle}]\n", encoding="utf-8")
    lab = catalog.load_lab(folder)
    return lab, lab.runs()[0]


def test_the_host_snapshots_releases_and_stops_in_order(tmp_path):
    engine = FakeEngine()
    lab, run = lab_run(tmp_path, "lab")
    record = outside.run_lab(engine, "sha256:img", lab, run, session="s1")
    created = engine.created
    assert created["command"] == ["python3", "-m", "forklab.checkpoint", "lab.py"]
    assert created["init"] is False and created["read_only"] is True and created["cap_drop"] == ["ALL"]
    assert "FORKLAB_ARCHIVE" in created["environment"] and created["labels"]["org.forklab.managed"] == "true"
    # Each checkpoint: one exec that looks (/proc, then ps) and releases the caller; the end: one
    # exec that waits for the rest to settle, looks and releases nobody; then the stop.
    assert engine.container.calls == ["start", ("look", ORPHAN, False, True), ("look", 1, True, False), ("stop", 2)]
    assert engine.removed == [record["container"]]
    doc = record["document"]
    assert doc["schema"] == "forklab.runner/1" and doc["status"] == "finished"
    assert [s["checkpoint"] for s in doc["snapshots"]] == ["adopted", "end"]
    assert doc["snapshots"][0]["ps"].endswith(f"({outside.PS_FIELDS})\n")
    assert doc["roles"] == {"1": "main", "8": "middle", "12": "orphan"}
    assert doc["reaper_pid"] == 1 and doc["main"]["pid"] == 1
    assert doc["environment"]["runner"] == "stepped aside" and doc["environment"]["runner_pid"] is None
    kinds = [(e["event"], e["pid"]) for e in doc["events"]]
    assert kinds == [("fork", MIDDLE), ("fork", ORPHAN), ("adopt", ORPHAN), ("exit", 1)]
    assert doc["exit"]["signal_name"] == "SIGKILL" and doc["stop"]["exit_code"] == 137
    assert doc["stop"]["signal"] == "SIGKILL" and doc["stop"]["timeout_s"] == 2
    # The host's lines are left out of the lab's stderr; the one with a wrong secret stays.
    lines = doc["stderr"].split("\n")
    assert lines[0] == "a line of the lab's own" and lines[1].startswith("\x1eforklab 0123 ")
    assert lines[2:] == [""] and doc["warnings"] == []


class QuietContainer(FakeContainer):
    """The first stream ends early, as docker-py's does when a quiet lab outlasts its read timeout."""

    def logs(self, stream=False, follow=False, stdout=True, stderr=True):
        if stream and self.streams == 0:
            self.streams += 1
            return Stream([self.stderr()[:130]])  # one fork line whole, the next cut in two
        return super().logs(stream, follow, stdout, stderr)


def test_a_stream_that_ends_while_the_container_runs_is_followed_again(tmp_path):
    engine = FakeEngine()
    engine.create = lambda image, command, **options: setattr(
        engine, "container", QuietContainer(options["environment"])) or engine.container
    lab, run = lab_run(tmp_path, "lab")
    doc = outside.run_lab(engine, "sha256:img", lab, run)["document"]
    assert engine.container.streams == 2 and engine.container.calls[:2] == ["start", "reload"]
    # What the first stream had read is not read again: each fork is recorded once.
    assert [e["pid"] for e in doc["events"] if e["event"] == "fork"] == [MIDDLE, ORPHAN]
    assert doc["stop"]["signal"] == "SIGKILL" and doc["warnings"] == []


def test_with_an_init_pid_1_is_the_reaper_and_the_run_asks_for_init(tmp_path):
    engine = FakeEngine(exit_on_stop=143)
    lab, run = lab_run(tmp_path, "init")
    doc = outside.run_lab(engine, "sha256:img", lab, run)["document"]
    assert engine.created["init"] is True
    assert doc["roles"]["1"] == "reaper" and doc["main"]["pid"] == 1  # the fake's main says it is 1
    assert doc["stop"]["signal"] == "SIGTERM" and doc["exit"]["signal_name"] == "SIGTERM"


def test_a_missing_init_is_one_line_that_says_what_to_install(tmp_path):
    engine = FakeEngine(fail=docker.errors.APIError("500 Server Error", explanation="catatonit: not found"))
    lab, run = lab_run(tmp_path, "init")
    with pytest.raises(EnvironmentProblem) as info:
        outside.run_lab(engine, "sha256:img", lab, run)
    message = info.value.message
    assert "\n" not in message and "catatonit: not found" in message
    assert "Podman needs catatonit" in message and "docker-init" in message


def test_repeat_and_chaos_need_the_runner(tmp_path):
    lab, run = lab_run(tmp_path, "lab")
    with pytest.raises(UsageError, match="--repeat and --chaos need the kit's runner"):
        outside.run_lab(FakeEngine(), "sha256:img", lab, run, repeat=3)


@pytest.mark.parametrize("code, decoded", [
    (137, (None, "SIGKILL", 9)), (143, (None, "SIGTERM", 15)), (0, (0, None, 0)), (3, (3, None, 768)),
])
def test_a_containers_exit_status_reads_as_a_wait_status(code, decoded):
    status = outside.container_status(code)
    assert (status["code"], status["signal_name"], status["raw"]) == decoded


class ManyCheckpoints(FakeContainer):
    """A lab that stops at five checkpoints, every one of them by a different process, before its end."""

    def stderr(self) -> bytes:
        mark = "\x1eforklab " + self.environment["FORKLAB_HOST"] + " "
        lines = [mark + json.dumps({"op": "checkpoint", "name": f"c{n}", "pid": 20 + n, "roles": {}, "main": 1})
                 for n in range(5)]
        lines.append(mark + json.dumps({"op": "checkpoint", "name": "end", "pid": 1, "roles": {}, "main": 1,
                                        "final": True}))
        return "".join(line + "\n" for line in lines).encode("utf-8")


def engine_with(container_class) -> FakeEngine:
    engine = FakeEngine()
    engine.create = lambda image, command, **options: setattr(
        engine, "container", container_class(options["environment"])) or engine.container
    return engine


def test_each_checkpoint_costs_one_exec_that_also_releases_its_caller(tmp_path):
    engine = engine_with(ManyCheckpoints)
    lab, run = lab_run(tmp_path, "lab")
    doc = outside.run_lab(engine, "sha256:img", lab, run)["document"]
    assert [s["checkpoint"] for s in doc["snapshots"]] == ["c0", "c1", "c2", "c3", "c4", "end"]
    execs = [call for call in engine.container.calls if call not in ("start", ("stop", 2))]
    assert execs == [("look", 20 + n, False, True) for n in range(5)] + [("look", 1, True, False)]
    assert doc["warnings"] == []


class Failing(FakeContainer):
    """An exec that goes wrong in one of several ways (``how``, set on the class)."""

    how = ""

    def answer(self, result: dict) -> Exec:
        if self.how == "no python":  # the exec could not start python: it never reached the release
            return Exec((None, b"OCI runtime exec failed: no such file or directory\n"), 126)
        if self.how == "look failed":  # the look raised; the ps and the release went on
            return super().answer({"look_error": "PermissionError: [Errno 13] Permission denied",
                                   "ps": result["ps"], **{k: v for k, v in result.items() if k == "released"}})
        if self.how == "not released":
            if "released" in result:
                result = {**result, "released": False, "release_error": "kill: (12): No such process"}
            return super().answer(result)
        if self.how == "garbled":  # something wrote into the exec's stdout: no JSON, but it ran to its end
            return Exec((super().answer(result).output[0][:40] + b"\n{}\n", b""), outside.LOOK_DONE)
        raise AssertionError(self.how)


@pytest.mark.parametrize("how, released_again, warning", [
    ("no python", True, "checkpoint 'adopted': the process table could not be read: OCI runtime exec failed"),
    ("look failed", False, "checkpoint 'adopted': the process table could not be read: PermissionError: "),
    ("not released", False, "checkpoint 'adopted': process 12 could not be released: kill: (12): No such process"),
    ("garbled", False, "checkpoint 'adopted': the process table could not be read: {}"),
])
def test_a_look_that_goes_wrong_is_a_warning_and_the_caller_is_released_once(tmp_path, how, released_again,
                                                                               warning):
    container_class = type("Failing", (Failing,), {"how": how})
    engine = engine_with(container_class)
    lab, run = lab_run(tmp_path, "lab")
    doc = outside.run_lab(engine, "sha256:img", lab, run)["document"]
    calls = engine.container.calls
    # A second SIGUSR1 would kill a caller that is no longer waiting for it: only an exec that
    # never reached its release is followed by a release of its own.
    assert (["kill", "-USR1", str(ORPHAN)] in calls) is released_again
    assert any(w.startswith(warning) for w in doc["warnings"]), doc["warnings"]
    assert doc["stop"] is not None


linux_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc, as in the container")


@linux_proc
def test_the_look_reads_the_table_takes_ps_and_releases_the_caller_for_real(tmp_path):
    """LOOK itself, run on this machine as docker exec runs it, against a caller that waits for SIGUSR1.

    The caller's command line holds a newline and a JSON object: the raw ps is a JSON string, so
    nothing in it can stand for another field.  The working directory holds a json.py and a
    user site-packages with a .pth file, as a lab could leave in /tmp: neither runs.
    """
    import os
    import signal
    import subprocess
    import sys

    waiting = ("import signal, sys; signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1}); "
               "print('waiting', flush=True); signal.sigwait({signal.SIGUSR1}); print('released', flush=True)")
    forged = '\n{"seen": {"processes": []}, "ps": "forged", "released": false}'
    caller = subprocess.Popen([sys.executable, "-c", waiting, forged], stdout=subprocess.PIPE, text=True)
    try:
        assert caller.stdout is not None and caller.stdout.readline() == "waiting\n"
        (tmp_path / "json.py").write_text("raise SystemExit('the json.py of the working directory ran')\n")
        site = tmp_path / "userbase" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
        site.mkdir(parents=True)
        (site / "lab.pth").write_text("import sys; sys.stdout.write('a .pth file ran\\n')\n")
        # Python outside any virtual environment (which has no user site-packages), finding the kit
        # on PYTHONPATH, as the image's python does.
        python = getattr(sys, "_base_executable", "") or sys.executable
        environment = {**os.environ, outside.LOOK_ENV: outside.LOOK, "PYTHONUSERBASE": str(tmp_path / "userbase"),
                       "PYTHONPATH": str(Path(outside.__file__).resolve().parents[1])}
        command = [python, *outside.LOOK_COMMAND[1:], str(caller.pid), "0.000", "0", "1", "1", outside.PS_FIELDS]
        done = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, timeout=60)
        assert done.returncode == outside.LOOK_DONE, done.stderr
        result = outside.read_look(done.stdout)
        assert result is not None, done.stdout
        assert result["released"] is True and "release_error" not in result and "look_error" not in result
        rows = {row["pid"]: row for row in result["seen"]["processes"]}
        assert rows[caller.pid]["state"] == "S" and "fds" in rows[caller.pid]
        assert result["seen"]["environment"]["pid1"]
        assert result["ps"].splitlines()[0].split()[:2] == ["PID", "PPID"]
        assert any(line.split()[0] == str(caller.pid) for line in result["ps"].splitlines()[1:])
        assert caller.stdout.readline() == "released\n" and caller.wait(timeout=30) == 0
    finally:
        if caller.poll() is None:
            caller.send_signal(signal.SIGKILL)
            caller.wait()
        if caller.stdout is not None:
            caller.stdout.close()


@linux_proc
def test_the_look_says_when_the_caller_could_not_be_released(tmp_path):
    import os
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    command = [sys.executable, *outside.LOOK_COMMAND[1:], str(gone.pid), "0.000", "0", "0", "1", outside.PS_FIELDS]
    done = subprocess.run(command, cwd=tmp_path, env={**os.environ, outside.LOOK_ENV: outside.LOOK},
                          capture_output=True, timeout=60)
    result = outside.read_look(done.stdout)
    assert done.returncode == outside.LOOK_DONE and result is not None
    assert result["released"] is False
    assert result["release_error"] == f"kill: ({gone.pid}): No such process"
