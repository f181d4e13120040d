"""An engine reached over TCP or through a Docker context gives the same normalized report."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from forklab import engine as engine_module

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


def test_lab_3_over_tcp_gives_the_same_normalized_report(engine, unix_socket, cli, monkeypatch):
    code, out, err = cli("lab", "3")
    assert code == 0, out + err
    local = (cli.reports / "lab-03" / "normalized.md").read_bytes()
    proxy = TcpToUnix(unix_socket)
    try:
        monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{proxy.port}")
        code, out, err = cli("lab", "3")
    finally:
        proxy.close()
    assert code == 0, out + err
    assert (cli.reports / "lab-03" / "normalized.md").read_bytes() == local
    report = (cli.reports / "lab-03" / "report.md").read_text(encoding="utf-8")
    assert f"at `tcp://127.0.0.1:{proxy.port}`, found via the DOCKER_HOST environment variable" in report


def test_a_docker_context_is_used_like_the_cli_would(engine, unix_socket, cli, monkeypatch, tmp_path: Path):
    from docker.context import ContextAPI

    (tmp_path / "docker-config").mkdir()
    (tmp_path / "docker-config" / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    ContextAPI.create_context("course", host=f"unix://{unix_socket}")
    monkeypatch.setenv("DOCKER_CONTEXT", "course")
    code, out, err = cli("lab", "1")
    assert code == 0, out + err
    report = (cli.reports / "lab-01" / "report.md").read_text(encoding="utf-8")
    assert "found via the DOCKER_CONTEXT environment variable (course)" in report
