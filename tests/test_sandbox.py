"""One sandbox, declared twice (the SDK and docker-compose.yml): they must agree."""

from __future__ import annotations

import re

import pytest
import yaml

from forklab import catalog, engine
from tests.support import ROOT


def compose_services() -> dict:
    """docker-compose.yml's services, with ${VAR:-default} read as its default (as Compose would)."""
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    text = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)
    return yaml.safe_load(text)["services"]


def compose_service() -> dict:
    return compose_services()["lab"]


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
    assert "ulimits" not in service and "ulimits" not in box  # Podman's default_ulimits would be replaced
    assert service["hostname"] == box["hostname"]
    assert service["build"]["dockerfile"] == "containers/Dockerfile"
    assert service["build"]["target"] == "with-labs"


def test_each_lab_with_its_own_limits_has_a_compose_service_with_them():
    services = compose_services()
    default = catalog.RunSettings()
    for number, path in sorted(catalog.find_labs(ROOT / "labs").items()):
        settings = catalog.load_lab(path).runs()[0].settings
        if (settings.pids_limit, settings.memory_mb) == (default.pids_limit, default.memory_mb):
            continue
        service = services[f"lab-{number:02d}"]
        box = engine.sandbox(settings)
        assert service["pids_limit"] == box["pids_limit"], number
        assert service["mem_limit"] == box["mem_limit"] == service["memswap_limit"], number
        assert service["command"] == [str(number)]
        assert {key: service[key] for key in ("cap_drop", "user", "read_only", "network_mode", "image")} == \
               {key: services["lab"][key] for key in ("cap_drop", "user", "read_only", "network_mode", "image")}


def test_the_compose_image_installs_what_the_report_code_imports():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = sorted(dep.split("#")[0].strip() for dep in project["dependencies"]
                    if not dep.startswith(("invoke", "docker")))
    lines = (ROOT / "containers" / "report-requirements.txt").read_text(encoding="utf-8").splitlines()
    assert sorted(line for line in lines if line and not line.startswith("#")) == wanted


def test_shell_flags_carry_every_sandbox_setting():
    box = engine.sandbox(catalog.RunSettings(pids_limit=99, memory_mb=100))
    flags = engine.docker_run_flags(catalog.RunSettings(pids_limit=99, memory_mb=100))
    pairs = dict(zip(flags[::1], flags[1::1]))
    assert pairs["--pids-limit"] == "99" and box["pids_limit"] == 99
    assert pairs["--memory"] == "100m" and pairs["--memory-swap"] == "100m"
    assert pairs["--network"] == "none" and pairs["--user"] == "1000:1000"
    assert pairs["--cap-drop"] == "ALL" and pairs["--security-opt"] == "no-new-privileges"
    mounts = [flags[i + 1] for i, flag in enumerate(flags) if flag == "--tmpfs"]
    assert "--read-only" in flags and [m.split(":")[0] for m in mounts] == ["/tmp", "/dev/shm"]
    assert all("size=" in m and "noexec" in m for m in mounts)


def test_a_lab_may_loosen_limits_visibly():
    box = engine.sandbox(catalog.RunSettings(pids_limit=512, memory_mb=1024))
    assert box["pids_limit"] == 512 and box["mem_limit"] == "1024m"
