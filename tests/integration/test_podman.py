"""Labs run the same on Podman's Docker-compatible API.

A rootful `podman system service` of this module's own (private storage, a
private socket, all in one temporary folder) gets a copy of the base image from
the engine under test; lab 3 then runs on it through DOCKER_HOST, as a user
would point forklab at Podman.  It needs Linux, root and `podman`; without them
it skips, and under FORKLAB_REQUIRE_PODMAN=1 (as CI sets it) it fails instead.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from forklab import engine as engine_module
from forklab.errors import EnvironmentProblem
from tests.integration.private_engine import (
    answers_ping,
    copy_base,
    log_tail,
    remove_folder,
    stop,
)
from tests.integration.support import lab_3_here_then
from tests.support import FIXTURE_LABS, invoke_cli

pytestmark = pytest.mark.docker

MiB = 1024 * 1024


def podman_problem() -> str | None:
    """Why no private Podman service can start here, or None."""
    if not sys.platform.startswith("linux"):
        return "Podman's service needs a Linux host"
    if shutil.which("podman") is None:
        return "podman is not installed (Debian: `apt-get install podman`)"
    if os.geteuid() != 0:
        return "the private Podman service runs rootful: it needs root"
    return None


def hard_limits(pid: int) -> dict[str, int]:
    """The hard open-files and processes limits of process PID ("unlimited" as a huge number)."""
    found = {}
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        for name, key in (("Max open files", "nofile"), ("Max processes", "nproc")):
            if line.startswith(name):
                hard = line[len(name):].split()[1]
                found[key] = 2 ** 63 if hard == "unlimited" else int(hard)
    return found


def container_ulimits() -> dict[str, int]:
    """Open files and processes for the service's containers: no more than it may grant.

    Rootful Podman asks for 1048576 of each unless containers.conf says otherwise,
    which a host that withholds CAP_SYS_RESOURCE (Podman inside a container, as in
    CI) refuses: "error setting rlimit type 7".  Docker's containers inherit the
    daemon's limits; these are the same idea.  Podman lowers its own process limit
    to kernel.pid_max, so that caps nproc too.
    """
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    infinite = resource.RLIM_INFINITY
    return {"nofile": 1048576 if nofile == infinite else min(nofile, 1048576),
            "nproc": pid_max if nproc == infinite else min(nproc, pid_max)}


class PodmanService:
    """`podman system service` with its own root, runroot, tmpdir and socket, all in one folder."""

    def __init__(self) -> None:
        # A short path: a unix socket's path must fit in 108 bytes.
        self.folder = Path(tempfile.mkdtemp(prefix="forklab-podman-"))
        self.socket = self.folder / "podman.sock"
        self.url = f"unix://{self.socket}"
        self.log = self.folder / "service.log"
        self.ulimits = container_ulimits()
        self.conf = self.folder / "containers.conf"
        entries = ", ".join(f'"{name}={value}:{value}"' for name, value in self.ulimits.items())
        self.conf.write_text(f"[containers]\ndefault_ulimits = [{entries}]\n", encoding="utf-8")
        self.storage = ["--root", str(self.folder / "root"), "--runroot", str(self.folder / "runroot"),
                        "--tmpdir", str(self.folder / "tmp"), "--events-backend", "file"]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["podman", *self.storage, "system", "service", "--time=0", self.url],
                env={**os.environ, "CONTAINERS_CONF": str(self.conf)},
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if not self._answers():
            pytest.fail(f"podman system service did not answer at {self.url}; its log ends:\n{self.log_tail()}",
                        pytrace=False)
        granted = hard_limits(self.proc.pid)
        too_high = {k: v for k, v in self.ulimits.items() if v > granted.get(k, 0)}
        assert not too_high, f"containers would ask for {too_high}, more than the service has: {granted}"

    def _answers(self) -> bool:
        def connect() -> socket.socket:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(2)
            try:
                conn.connect(str(self.socket))
            except OSError:
                conn.close()
                raise
            return conn

        return answers_ping(self.proc, connect)

    def cli(self, *argv: str) -> str:
        """The podman CLI on the same storage (it shares the service's locks)."""
        done = subprocess.run(["podman", *self.storage, *argv], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, env={**os.environ, "CONTAINERS_CONF": str(self.conf)},
                              timeout=120, check=True)
        return done.stdout

    def log_tail(self) -> str:
        return log_tail(self.log)

    def stop(self) -> list[str]:
        """Stop this service (by its pid, nothing else), clear its folder; say what had to be forced."""
        # Podman's overlay driver mounts its own storage folder, and leaves that mount when it ends.
        return stop(self.proc, "podman") + remove_folder(self.folder, mounts_expected=True)


@dataclass(frozen=True)
class Podman:
    url: str
    client: docker.DockerClient
    base: str
    service: PodmanService


@pytest.fixture(scope="module")
def podman(engine):
    """A private rootful Podman service holding a copy of the engine under test's base image."""
    problem = podman_problem()
    if problem:
        if os.environ.get("FORKLAB_REQUIRE_PODMAN") == "1":
            pytest.fail(f"FORKLAB_REQUIRE_PODMAN=1 but {problem}", pytrace=False)
        pytest.skip(problem)
    service = PodmanService()
    client = None
    try:
        service.start()
        client = docker.DockerClient(base_url=service.url, timeout=300)
        base = copy_base(engine, client)
        yield Podman(service.url, client, base, service)
    finally:
        if client is not None:
            client.close()
        left = service.stop()
    assert not left, f"the Podman service did not stop cleanly: {left}"


def test_lab_3_on_podman_gives_the_same_normalized_report(engine, podman, cli, monkeypatch):
    report = lab_3_here_then(cli, lambda: monkeypatch.setenv("DOCKER_HOST", podman.url))
    # The report names Podman, with the version its own CLI gives.
    version = podman.service.cli("version", "--format", "{{.Client.Version}}").strip()
    assert f"| Engine | Podman {version} (linux/" in report
    assert f"at `{podman.url}`, found via the DOCKER_HOST environment variable" in report
    document = json.loads((cli.reports / "lab-03" / "result.json").read_text(encoding="utf-8"))
    for run in document["variants"]:
        environment = run["environment"]
        assert environment["engine"]["name"] == "Podman" and environment["engine"]["version"] == version
        # Podman applied the sandbox's limits: the runner read them inside the container.
        assert environment["container"]["limits"]["pids"] == 64
        assert environment["container"]["limits"]["memory_bytes"] == 256 * MiB
        assert environment["container"]["pid1"] == "runner"
    # It ran on the image Podman built (found again by its id), and no container is left.
    image_id = document["environment"]["image"]["id"]
    assert podman.client.images.get(image_id).id == image_id
    assert engine.find_image(image_id) is None
    assert podman.client.api.containers(all=True) == []
    assert podman.service.cli("ps", "--all", "--external", "--quiet") == ""


def test_a_failing_build_on_podman_is_one_line(podman, monkeypatch):
    """Podman words a failed RUN its own way; the kit still says it in one line."""
    files = dict(engine_module.build_context_files())
    files["containers/Dockerfile"] = b"ARG BASE_IMAGE\nFROM ${BASE_IMAGE} AS runtime\nRUN echo broken >&2; exit 3\n"
    monkeypatch.setattr(engine_module, "build_context_files", lambda: sorted(files.items()))
    monkeypatch.setenv("DOCKER_HOST", podman.url)
    lab_engine = engine_module.Engine.connect(timeout=120)
    progress: list[str] = []
    try:
        with pytest.raises(EnvironmentProblem) as failed:
            lab_engine.ensure_image(podman.base, lambda line: None, progress.append)
    finally:
        lab_engine.close()
    message = failed.value.message
    assert "\n" not in message and message.startswith("the lab image did not build: ")
    assert 'building at STEP "RUN echo broken >&2; exit 3": while running runtime: exit status 3' in message
    assert "broken" in progress  # Podman streams the failing step's stderr
    # forcerm: no build container is left behind either.
    assert podman.service.cli("ps", "--all", "--external", "--quiet") == ""


def test_doctor_describes_podman(podman, capsys, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", podman.url)
    code, out, err = invoke_cli(["doctor"], capsys)
    assert code == 0, out + err
    version = podman.client.version()
    assert f"✓ endpoint: {podman.url} (found via the DOCKER_HOST environment variable)" in out
    assert re.search(rf"✓ engine: Podman {re.escape(version['Version'])} \(API {version['ApiVersion']}\), "
                     r"linux/\w+, rootful, cgroup v[12]\n", out), out
    assert podman.base in out and "✓ leftovers: 0 forklab container(s)" in out


def test_runs_that_share_a_container_on_podman_each_start_fresh(engine, podman, cli, monkeypatch):
    # Fixture labs 1 (it raises) and 6 with one job: lab 1's run, then lab 6's dirty and clean, in one
    # Podman container (lab 6's third run has another pids limit: a container of its own).
    monkeypatch.setenv("DOCKER_HOST", podman.url)
    code, out, err = cli("labs", "--only", "1,6", "--jobs", "1", labs=FIXTURE_LABS)
    assert code == 1, out + err  # lab 1 raises, so not every lab passed
    document = json.loads((cli.reports / "lab-06" / "result.json").read_text(encoding="utf-8"))
    assert document["status"] == "passed"
    seen = {run["variant"]["name"]: dict(line.split(" ", 1) for line in run["stdout"].splitlines())
            for run in document["variants"]}
    assert seen["dirty"]["container"] == seen["clean"]["container"] != seen["own"]["container"]
    assert (seen["clean"]["others"], seen["clean"]["tmp"], seen["clean"]["shm"]) == ("[]", "[]", "[]")
    one = json.loads((cli.reports / "lab-01" / "result.json").read_text(encoding="utf-8"))
    assert one["status"] == "error"
    assert podman.client.api.containers(all=True) == []
