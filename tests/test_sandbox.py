"""One sandbox, declared twice (the SDK and docker-compose.yml): they must agree."""

from __future__ import annotations

import yaml

from forklab import catalog, engine
from tests.conftest import ROOT


def compose_service() -> dict:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return data["services"]["lab"]


def test_compose_declares_the_same_sandbox_as_the_sdk():
    service = compose_service()
    box = engine.sandbox(catalog.RunSettings())
    assert service["network_mode"] == box["network_mode"] == "none"
    assert service["pids_limit"] == box["pids_limit"]
    assert service["mem_limit"] == box["mem_limit"] and service["memswap_limit"] == box["memswap_limit"]
    assert service["cap_drop"] == box["cap_drop"] == ["ALL"]
    assert service["security_opt"] == box["security_opt"]
    assert service["user"] == box["user"]
    assert service["read_only"] is box["read_only"] is True
    assert service["tmpfs"] == [f"{path}:{opts}" for path, opts in box["tmpfs"].items()]
    assert service["init"] is box["init"]
    assert service["hostname"] == box["hostname"]
    assert service["build"]["dockerfile"] == "containers/Dockerfile"


def test_shell_flags_carry_every_sandbox_setting():
    box = engine.sandbox(catalog.RunSettings(pids_limit=99, memory_mb=100))
    flags = engine.docker_run_flags(catalog.RunSettings(pids_limit=99, memory_mb=100))
    pairs = dict(zip(flags[::1], flags[1::1]))
    assert pairs["--pids-limit"] == "99" and box["pids_limit"] == 99
    assert pairs["--memory"] == "100m" and pairs["--memory-swap"] == "100m"
    assert pairs["--network"] == "none" and pairs["--user"] == "1000:1000"
    assert pairs["--cap-drop"] == "ALL" and pairs["--security-opt"] == "no-new-privileges"
    assert "--read-only" in flags and pairs["--tmpfs"].startswith("/tmp:")


def test_a_lab_may_loosen_limits_visibly():
    box = engine.sandbox(catalog.RunSettings(pids_limit=512, memory_mb=1024))
    assert box["pids_limit"] == 512 and box["mem_limit"] == "1024m"
