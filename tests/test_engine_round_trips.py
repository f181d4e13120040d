"""The engine is asked each thing once per call: its /version, and each image.

A stand-in engine on a Unix socket answers as Docker's API does and counts what it is asked.
"""

from __future__ import annotations

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler

import pytest

from forklab import engine
from tests.support import linux_only

VERSION = {"ApiVersion": "1.41", "Version": "20.10.24", "Os": "linux", "Arch": "amd64", "Components": []}
IMAGES = {"forklab/base:x": {"Id": "sha256:" + "a" * 64, "RepoTags": ["forklab/base:x"]}}


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """DOCKER_HOST pointing at the stand-in; the list of the paths it was asked."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 - http.server's name
            asked.append(self.path)
            status, body = 404, {"message": f"No such image: {self.path}"}
            if self.path.endswith("/version"):
                status, body = 200, VERSION
            elif "/images/" in self.path and self.path.endswith("/json"):
                name = self.path.split("/images/", 1)[1].rsplit("/json", 1)[0].replace("%2F", "/")
                name = name.replace("%3A", ":")
                if name in IMAGES:
                    status, body = 200, IMAGES[name]
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def address_string(self):
            return "stand-in"

        def log_message(self, *args):
            pass

    path = tmp_path / "engine.sock"
    server = _Server(str(path), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setattr(engine, "_FACTS", {})
    yield asked
    server.shutdown()
    server.server_close()


@linux_only
def test_one_version_request_serves_every_connection_and_the_report(stand_in):
    first = engine.Engine.connect(timeout=10)
    second = engine.Engine.connect(timeout=10)
    try:
        assert first.describe()["version"] == "20.10.24" and second.describe()["api_version"] == "1.41"
        assert first.arch() == "amd64"
    finally:
        first.close()
        second.close()
    assert [path for path in stand_in if path.endswith("/version")] == ["/version"]
    assert not [path for path in stand_in if "_ping" in path]


@linux_only
def test_requests_speak_the_engines_api_version(stand_in):
    connected = engine.Engine.connect(timeout=10)
    try:
        assert connected.find_image("forklab/base:x") is not None
    finally:
        connected.close()
    assert any(path.startswith("/v1.41/images/") for path in stand_in)


@linux_only
def test_an_image_found_is_asked_for_once_and_one_missing_every_time(stand_in):
    connected = engine.Engine.connect(timeout=10)
    try:
        for _ in range(3):
            assert connected.find_image("forklab/base:x").id == IMAGES["forklab/base:x"]["Id"]
            assert connected.find_image("forklab/lab:nothing") is None
    finally:
        connected.close()
    images = [path for path in stand_in if "/images/" in path]
    assert len([path for path in images if "base" in path]) == 1
    assert len([path for path in images if "nothing" in path]) == 3

