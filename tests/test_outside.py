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

    def exec_run(self, command, demux=False):
        self.calls.append(command[:2] if command[0] == "python3" else command)
        if command[0] == "python3":
            caller, settle = int(command[3]), float(command[4])
            self.calls[-1] = ("look", caller, settle > 0)
            if caller == ORPHAN:
                rows = [row(1, 0), row(MIDDLE, 1, "Z", "[python3] <defunct>"), row(ORPHAN, 1)]
            else:
                rows = [row(1, 0), row(ORPHAN, 1, "Z", "[python3] <defunct>")]
            seen = {"processes": rows, "settled": True, "oom_kills": 0, "container_memory_bytes": 5 << 20}
            if command[6] == "1":
                seen["environment"] = {"pid1": "python3 lab.py", "runner_pid": 4, "limits": {"pids": 64}}
            return Exec((json.dumps(seen).encode(), b""))
        if command[0] == "ps":
            return Exec((b"    PID    PPID    PGID STAT COMMAND         COMMAND\n", b""))
        return Exec(b"")

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
    # Each checkpoint: look (/proc, then ps), then release the caller; the end: look, settle, stop.
    assert engine.container.calls == [
        "start", ("look", ORPHAN, False), ["ps", "-eo", outside.PS_FIELDS], ["kill", "-USR1", str(ORPHAN)],
        ("look", 1, True), ["ps", "-eo", outside.PS_FIELDS], ("stop", 2)]
    assert engine.removed == [record["container"]]
    doc = record["document"]
    assert doc["schema"] == "forklab.runner/1" and doc["status"] == "finished"
    assert [s["checkpoint"] for s in doc["snapshots"]] == ["adopted", "end"]
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
