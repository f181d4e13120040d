"""Finding the engine as the Docker CLI does: DOCKER_HOST, DOCKER_CONTEXT, the current context."""

from __future__ import annotations

import json

import pytest

from forklab import engine
from forklab.errors import EnvironmentProblem
from tests.support import linux_only


@pytest.fixture
def docker_config(tmp_path, monkeypatch):
    """An empty Docker client configuration, with one context named elsewhere."""
    from docker.context import ContextAPI

    # docker-py looks for contexts beside config.json, which must exist.
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    ContextAPI.create_context("elsewhere", host="unix:///run/elsewhere/docker.sock")
    return tmp_path


def test_docker_host_comes_first(docker_config, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    monkeypatch.setenv("DOCKER_CONTEXT", "elsewhere")
    assert engine.resolve_endpoint().source == "the DOCKER_HOST environment variable"


def test_docker_context_names_the_context(docker_config, monkeypatch):
    monkeypatch.setenv("DOCKER_CONTEXT", "elsewhere")
    found = engine.resolve_endpoint()
    assert found.url == "unix:///run/elsewhere/docker.sock"
    assert found.source == "the DOCKER_CONTEXT environment variable (elsewhere)"


def test_the_current_context_of_the_cli_config(docker_config):
    (docker_config / "config.json").write_text(json.dumps({"currentContext": "elsewhere"}), encoding="utf-8")
    found = engine.resolve_endpoint()
    assert found.url == "unix:///run/elsewhere/docker.sock"
    assert found.source == "the current Docker context (elsewhere)"


def test_otherwise_the_platform_default(docker_config):
    found = engine.resolve_endpoint()
    assert found.url is None and found.source == "the platform default"


def test_a_missing_context_is_an_environment_problem(docker_config, monkeypatch):
    monkeypatch.setenv("DOCKER_CONTEXT", "nope")
    with pytest.raises(EnvironmentProblem, match="Docker context 'nope' does not exist"):
        engine.resolve_endpoint()


def test_doctor_explains_a_stopped_engine(docker_config, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    rows = engine.diagnose()
    assert rows[0][0] == "endpoint" and "DOCKER_HOST" in rows[0][1]
    assert rows[1][0] == "socket" and "does not exist" in rows[1][1] and rows[1][2]


def test_doctor_explains_a_wrong_context(docker_config, monkeypatch):
    monkeypatch.setenv("DOCKER_CONTEXT", "nope")
    [(what, finding, fix)] = engine.diagnose()
    assert what == "engine" and "does not exist" in finding and "docker context use" in fix


def test_doctor_says_how_to_start_podman_for_a_podman_socket(docker_config, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/podman/podman.sock")
    rows = engine.diagnose()
    assert rows[1][0] == "socket" and "does not exist" in rows[1][1]
    assert f"podman system service --time=0 unix://{tmp_path}/podman/podman.sock" in rows[1][2]
    assert "docker.io" not in rows[1][2]


@linux_only  # Podman's default sockets are looked for on Linux
def test_doctor_points_at_a_running_podman_when_the_default_socket_is_missing(docker_config, monkeypatch, tmp_path):
    import socket

    monkeypatch.setattr(engine, "_default_socket", lambda: f"unix://{tmp_path}/docker.sock")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "podman").mkdir()
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(tmp_path / "podman" / "podman.sock"))
        rows = engine.diagnose()
    assert rows[1][0] == "socket" and f"{tmp_path}/docker.sock does not exist" in rows[1][1]
    assert rows[1][2].endswith(f"`export DOCKER_HOST=unix://{tmp_path}/podman/podman.sock`")


def test_a_refused_rlimit_says_what_to_do_in_one_line():
    import docker.errors

    text = ("runc: runc create failed: unable to start container process: error during container init: "
            "error setting rlimits for ready process: error setting rlimit type 7: operation not permitted: "
            "OCI permission denied")
    reason = engine._short_reason(docker.errors.APIError("500 Server Error", explanation=text))
    assert reason.startswith(text) and "\n" not in reason
    assert "default_ulimits" in reason and "containers.conf" in reason
    assert engine._short_reason(docker.errors.APIError("500", explanation="no such image")) == "no such image"


def test_doctor_says_to_check_or_unset_a_docker_host_that_points_nowhere(docker_config, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing-here.sock")
    rows = engine.diagnose()
    assert rows[1][0] == "socket"
    assert rows[1][2] == (f"DOCKER_HOST=unix://{tmp_path}/nothing-here.sock points where no engine answers: "
                          "check it, or `unset DOCKER_HOST` to use the default engine")


def test_running_containers_of_another_run_are_not_leftovers():
    running = engine.Leftover("a", "forklab-lab03-default-1", {}, "running")
    ended = engine.Leftover("b", "forklab-lab03-default-2", {}, "exited")
    assert engine.leftovers_row([running]) == (
        "leftovers", "0 forklab container(s) left behind; 1 running now (a run in progress, not a leftover)", "")
    assert engine.leftovers_row([running, ended])[2] == "`invoke clean`"


@pytest.mark.parametrize("rows, code", [
    ([("endpoint", "x", ""), ("engine", "Docker", "")], 0),
    ([("endpoint", "x", ""), ("leftovers", "1 left behind", "`invoke clean`")], 1),
    ([("endpoint", "x", ""), ("socket", "no engine", "start it")], 3),
])
def test_doctor_exits_1_for_a_problem_and_3_without_an_engine(monkeypatch, rows, code):
    from forklab import commands
    from forklab.console import Terminal

    monkeypatch.setattr(engine, "diagnose", lambda: rows)
    assert commands.doctor(None, Terminal()) == code
