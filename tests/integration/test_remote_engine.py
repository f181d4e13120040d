"""An engine reached over TCP or through a Docker context gives the same normalized report.

Two engines are reached over TCP: the engine under test through a loopback proxy
(the transport alone; it runs wherever that engine has a local unix socket), and a
second dockerd this module starts with state of its own (a really different
engine; it needs root on Linux and `dockerd`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from forklab import engine as engine_module
from tests.integration.private_engine import (
    answers_ping,
    copy_base,
    log_tail,
    processes_naming,
    remove_folder,
    stop,
)
from tests.integration.support import lab_3_here_then
from tests.support import invoke_cli

pytestmark = pytest.mark.docker


class TcpToUnix:
    """A loopback TCP port that forwards to the engine's unix socket: a "remote" engine."""

    def __init__(self, unix_path: str) -> None:
        self.unix_path = unix_path
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.stopping = False
        self.threads: list[threading.Thread] = []
        self.sockets: list[socket.socket] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.unix_path)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                thread = threading.Thread(target=self._pipe, args=(a, b), daemon=True)
                thread.start()
                self.threads.append(thread)

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            try:
                target.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        self.stopping = True
        self.server.close()
        for sock in self.sockets:
            sock.close()
        for thread in self.threads:
            thread.join(timeout=5)


@pytest.fixture
def unix_socket(engine) -> str:
    url = engine.endpoint.url or engine_module._default_socket()
    if not url.startswith("unix://"):
        pytest.skip("the engine under test is not on a local unix socket")
    return url[len("unix://"):]


# -- a second engine of its own ----------------------------------------------------

def second_engine_problem() -> tuple[str, bool] | None:
    """Why no second dockerd can start here, and whether CI (root, dockerd installed) has what is missing."""
    if not sys.platform.startswith("linux"):
        return "a second dockerd needs a Linux host", False
    if os.geteuid() != 0:
        return "starting a second dockerd needs root", True
    if shutil.which("dockerd") is None:
        return "dockerd is not installed (Debian: `apt-get install docker.io`)", True
    return None


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


class SecondDockerd:
    """A dockerd with its own data root, exec root, pidfile, config and sockets, all in one folder.

    Without --containerd, dockerd starts a containerd of its own whose socket, state
    and root are under that exec root and data root, so it never meets the first
    engine's.  Labs run with no network and the image build needs none (the base
    has ps and pstree), so it leaves iptables and ip_forward alone.  It gets a
    bridge of its own: with --bridge=none, dockerd deletes the host's docker0
    (the first engine's) as it starts.
    """

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="forklab-engine2-"))
        self.data_root = self.folder / "data"
        self.log = self.folder / "dockerd.log"
        # Its own (empty) daemon.json: the first engine's could name hosts or a data root.
        (self.folder / "daemon.json").write_text("{}", encoding="utf-8")
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.bridge = f"fl2br{os.getpid() % 100000}"

    def start(self) -> None:
        subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge"], check=True)
        for _ in range(3):  # the free port may be taken before dockerd binds it
            self.url = f"tcp://127.0.0.1:{free_port()}"
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(
                    ["dockerd", "--config-file", str(self.folder / "daemon.json"),
                     "--data-root", str(self.data_root), "--exec-root", str(self.folder / "exec"),
                     "--pidfile", str(self.folder / "dockerd.pid"),
                     "-H", self.url, "-H", f"unix://{self.folder}/docker.sock",
                     f"--bridge={self.bridge}", "--iptables=false", "--ip-masq=false", "--ip-forward=false",
                     "--shutdown-timeout=5"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            if self._answers():
                return
            if "address already in use" not in self.log_tail():
                break
        pytest.fail(f"the second dockerd did not answer at {self.url}; its log ends:\n{self.log_tail()}",
                    pytrace=False)

    def _answers(self) -> bool:
        port = int(self.url.rsplit(":", 1)[1])
        return answers_ping(self.proc, lambda: socket.create_connection(("127.0.0.1", port), timeout=2))

    def log_tail(self) -> str:
        return log_tail(self.log)

    def stop(self) -> list[str]:
        """Stop this dockerd (by its pid, nothing else), clear its folder; say what had to be forced."""
        problems = stop(self.proc, "dockerd")
        # A dockerd that stops cleanly stops its containerd; a killed one leaves it running.
        pidfile = self.folder / "exec" / "containerd" / "containerd.pid"
        pid = int(pidfile.read_text().strip() or 0) if pidfile.exists() else 0
        if pid and pid in processes_naming(self.folder):  # not a pid used again since
            problems.append(f"its containerd (pid {pid}) outlived it: killed")
            os.kill(pid, signal.SIGKILL)
        if Path(f"/sys/class/net/{self.bridge}").exists():
            subprocess.run(["ip", "link", "delete", self.bridge], check=False)
        return problems + remove_folder(self.folder, mounts_expected=False)


@dataclass(frozen=True)
class SecondEngine:
    url: str
    data_root: Path
    client: docker.DockerClient
    base: str


@pytest.fixture(scope="session")
def second_engine(engine):
    """A second dockerd on a loopback TCP port, holding a copy of the first engine's base image."""
    problem = second_engine_problem()
    if problem:
        reason, ci_has_it = problem
        if ci_has_it and os.environ.get("FORKLAB_REQUIRE_DOCKER") == "1":
            pytest.fail(f"FORKLAB_REQUIRE_DOCKER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    daemon = SecondDockerd()
    client = None
    interfaces = set(os.listdir("/sys/class/net"))
    try:
        daemon.start()
        client = docker.DockerClient(base_url=daemon.url, timeout=300)
        base = copy_base(engine, client)
        yield SecondEngine(daemon.url, daemon.data_root, client, base)
    finally:
        if client is not None:
            client.close()
        left = daemon.stop()
    assert not left, f"the second dockerd did not stop cleanly: {left}"
    # The first engine keeps its network (docker0): builds' RUN steps need it.
    assert set(os.listdir("/sys/class/net")) == interfaces


def test_lab_3_over_tcp_gives_the_same_normalized_report(engine, unix_socket, cli, monkeypatch):
    proxy = TcpToUnix(unix_socket)
    try:
        report = lab_3_here_then(cli, lambda: monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{proxy.port}"))
    finally:
        proxy.close()
    assert f"at `tcp://127.0.0.1:{proxy.port}`, found via the DOCKER_HOST environment variable" in report


def test_a_docker_context_is_used_like_the_cli_would(engine, unix_socket, cli, monkeypatch, tmp_path: Path):
    from docker.context import ContextAPI

    def use_a_context() -> None:
        (tmp_path / "docker-config").mkdir()
        (tmp_path / "docker-config" / "config.json").write_text("{}", encoding="utf-8")
        monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
        monkeypatch.delenv("DOCKER_HOST", raising=False)
        ContextAPI.create_context("course", host=f"unix://{unix_socket}")
        monkeypatch.setenv("DOCKER_CONTEXT", "course")

    report = lab_3_here_then(cli, use_a_context)
    assert "found via the DOCKER_CONTEXT environment variable (course)" in report


def test_lab_3_on_a_second_engine_gives_the_same_normalized_report(engine, second_engine, cli, monkeypatch):
    first, second = engine.client.info(), second_engine.client.info()
    # Really another daemon: a root of its own.  (Its ID may equal the first's:
    # dockerd 20.10 derives it from /etc/docker/key.json, which both read.)
    assert second["DockerRootDir"] == str(second_engine.data_root)
    assert first["DockerRootDir"] != second["DockerRootDir"]
    report = lab_3_here_then(cli, lambda: monkeypatch.setenv("DOCKER_HOST", second_engine.url))
    assert f"at `{second_engine.url}`, found via the DOCKER_HOST environment variable" in report
    # It ran there: the second engine built the lab image it ran on, and kept no container.
    image = json.loads((cli.reports / "lab-03" / "result.json").read_text(encoding="utf-8"))["environment"]["image"]
    assert second_engine.client.images.get(image["id"]).id == image["id"]
    assert engine.find_image(image["id"]) is None
    assert second_engine.client.api.containers(all=True) == []


def test_doctor_describes_the_second_engine(second_engine, capsys, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", second_engine.url)
    code, out, err = invoke_cli(["doctor"], capsys)
    assert code == 0, out + err
    version = second_engine.client.version()
    assert f"✓ endpoint: {second_engine.url} (found via the DOCKER_HOST environment variable)" in out
    assert f"✓ engine: Docker Engine {version['Version']} (API {version['ApiVersion']})" in out
    assert f"✓ base image: {second_engine.base}\n" in out
    assert "✓ leftovers: 0 forklab container(s)" in out
