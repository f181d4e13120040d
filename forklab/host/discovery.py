"""Finding the engine the way the Docker CLI would, and what to say when none answers there."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import docker.errors
from docker.context import ContextAPI

from forklab.errors import EnvironmentProblem
from forklab.host.containers import Leftover


@dataclass(frozen=True)
class Endpoint:
    url: Optional[str]
    tls: object
    source: str


def resolve_endpoint() -> Endpoint:
    """Where the Docker CLI would connect: DOCKER_HOST, DOCKER_CONTEXT, the current context."""
    if os.environ.get("DOCKER_HOST"):
        return Endpoint(None, None, "the DOCKER_HOST environment variable")
    name = os.environ.get("DOCKER_CONTEXT")
    source = "the DOCKER_CONTEXT environment variable"
    try:
        context = ContextAPI.get_context(name) if name else ContextAPI.get_current_context()
    except docker.errors.DockerException as exc:
        raise EnvironmentProblem(f"cannot read Docker context {name!r}: {exc}; "
                                 "check `docker context ls`") from None
    if context is None:
        raise EnvironmentProblem(f"Docker context {name!r} does not exist; see `docker context ls`")
    if not name:
        source = "the current Docker context" if context.name != "default" else "the platform default"
    if context.name == "default":
        return Endpoint(None, None, source)
    # docker-py spells a context's socket http+unix://; say it as the CLI does.
    host = re.sub(r"^http\+unix://", "unix://", context.Host or "")
    return Endpoint(host, context.TLSConfig, f"{source} ({context.name})")


def _default_socket() -> str:
    if sys.platform == "win32":
        return "npipe:////./pipe/docker_engine"
    return "unix:///var/run/docker.sock"


def _start_hint(where: str = "") -> str:
    if _names_podman(where):
        return _podman_start_hint(where)
    if sys.platform == "darwin" or sys.platform == "win32":
        return "start Docker Desktop (or Podman Desktop) and try again"
    return "start the engine (`sudo systemctl start docker`, or `sudo dockerd &`) and try again"


def _names_podman(where: str) -> bool:
    """An endpoint that names Podman: its default sockets (and Podman Desktop's) all do."""
    return "podman" in where.lower()


def _podman_start_hint(where: str) -> str:
    return ("start Podman's API service (`systemctl --user start podman.socket` rootless, "
            "`sudo systemctl start podman.socket` rootful, or "
            f"`podman system service --time=0 {where} &`) and try again")


def _podman_sockets() -> list[str]:
    """Podman's default API sockets that exist on this host, rootless first."""
    if not sys.platform.startswith("linux"):
        return []
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    found = []
    for path in (Path(runtime) / "podman" / "podman.sock", Path("/run/podman/podman.sock")):
        try:
            if path.is_socket():
                found.append(f"unix://{path}")
        except OSError:  # a folder this user may not enter
            pass
    return found


def leftovers_row(containers: list["Leftover"]) -> tuple[str, str, str]:
    """doctor's row for the kit's containers: a running one belongs to a run in progress
    (another terminal, a course script), not a leftover; only ended ones need `invoke clean`."""
    running = [c for c in containers if c.state == "running"]
    ended = [c for c in containers if c.state != "running"]
    finding = f"{len(ended)} forklab container(s) left behind"
    if running:
        finding += f"; {len(running)} running now (a run in progress, not a leftover)"
    return ("leftovers", finding, "`invoke clean`" if ended else "")


def _docker_host_hint() -> str:
    """When DOCKER_HOST is set, it is what to look at first."""
    host = os.environ.get("DOCKER_HOST")
    return (f"DOCKER_HOST={host} points where no engine answers: check it, or `unset DOCKER_HOST` "
            "to use the default engine") if host else ""
