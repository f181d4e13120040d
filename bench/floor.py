"""The floor of any tool built on Invoke and the Docker SDK: what each such command must do, and nothing more.

    .venv/bin/python bench/floor.py IMAGE
    .venv/bin/python bench/floor.py --standby CONTAINER

Start Python, import Invoke's program (what the `invoke` console script imports) and the
Docker SDK, connect as forklab/engine.py does (the engine's /version, asked unversioned,
then a client that speaks its API version), create a container of IMAGE running
`python3 -c pass`, start it, wait for it, read its logs, remove it.  Nothing of forklab's
is imported.  bench/speed.py times this whole process against a bare `docker run --rm`;
`invoke lab 1` cannot be faster than this on the same machine.

With --standby, the container is already running (started before, as a command could leave
one running for the next): the same start-up and connection, then one `docker exec` of
`python3 -c pass` in it.  That is the floor of a design the kit does not have, measured so that
the choice can be made on numbers: it keeps a container running between commands.
"""

from __future__ import annotations

import sys

import docker
import docker.constants
from invoke.main import program


def main(image: str, standby: bool = False) -> int:
    assert program is not None  # imported for its cost: the `invoke` console script's import
    # As Engine.connect: one unversioned /version, then a client pinned to the engine's API version.
    probe = docker.from_env(timeout=120, version=docker.constants.MINIMUM_DOCKER_API_VERSION)
    try:
        api_version = probe.api.version(api_version=False)["ApiVersion"]
    finally:
        probe.close()
    client = docker.from_env(timeout=120, version=api_version)
    if standby:
        try:
            return 0 if client.containers.get(image).exec_run(["python3", "-c", "pass"]).exit_code == 0 else 2
        finally:
            client.close()
    try:
        container = client.containers.create(image, ["python3", "-c", "pass"], detach=True)
        try:
            container.start()
            status = container.wait()["StatusCode"]
            container.logs(stdout=True, stderr=False)
            container.logs(stdout=False, stderr=True)
        finally:
            container.remove(force=True)
    finally:
        client.close()
    return 0 if status == 0 else 2


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--standby":
        sys.exit(main(sys.argv[2], standby=True))
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(f"usage: {sys.argv[0]} IMAGE | --standby CONTAINER")
    sys.exit(main(sys.argv[1]))
