"""Connecting to the engine the Docker CLI would use: one /version per process and endpoint.

Without pydantic or the rest of the kit, so that `invoke lab N`'s head start
(forklab/host/headstart.py) can connect before the host imports them.
"""

from __future__ import annotations

import os

import docker
import docker.constants
import docker.errors
import docker.utils
import requests.exceptions

from forklab.errors import EnvironmentProblem
from forklab.host.discovery import Endpoint, _default_socket, _start_hint, resolve_endpoint

#: What each engine said of itself (its /version), by where it answers: asked once per
#: process, so the clients of a call's other threads cost no round trip, and the
#: report's environment none either (Podman's /version takes about 0.4 s).
_FACTS: dict = {}


def _endpoint_key(endpoint: Endpoint) -> tuple:
    return (endpoint.url, *(os.environ.get(name) for name in ("DOCKER_HOST", "DOCKER_TLS_VERIFY",
                                                               "DOCKER_CERT_PATH")))


def _client(endpoint: Endpoint, timeout: int, version: str) -> docker.DockerClient:
    if endpoint.url:
        return docker.DockerClient(base_url=endpoint.url, tls=endpoint.tls, timeout=timeout, version=version)
    return docker.from_env(timeout=timeout, version=version)


def connect_client(timeout: int = 120) -> tuple[docker.DockerClient, Endpoint, dict]:
    """A client of the engine the Docker CLI would use, where it is, and what it said of itself.

    The first in a process asks the engine's /version (which also says that it
    answers) and speaks its API version from then on, as the SDK's own
    detection would; later ones reuse that answer and ask nothing.
    """
    endpoint = resolve_endpoint()
    key = _endpoint_key(endpoint)
    known = _FACTS.get(key)
    if known is not None:
        return _client(endpoint, timeout, known["ApiVersion"]), endpoint, known
    where = endpoint.url or os.environ.get("DOCKER_HOST") or _default_socket()
    if where.startswith("unix://") and not os.path.exists(where[len("unix://"):]):
        # Nothing listens there: said without the SDK, whose failed connection leaves its socket open.
        raise EnvironmentProblem(f"no container engine answers at {where} (found via "
                                 f"{endpoint.source}): {_start_hint(where)}")
    client = None
    try:
        # An unversioned request: the same /version the SDK's auto-detection asks.
        probe = _client(endpoint, timeout, docker.constants.MINIMUM_DOCKER_API_VERSION)
        try:
            facts = probe.api.version(api_version=False)
        finally:
            probe.close()
        api_version = facts.get("ApiVersion") if isinstance(facts, dict) else None
        if not isinstance(api_version, str):
            raise docker.errors.DockerException('the engine\'s /version has no "ApiVersion"')
        if docker.utils.version_lt(api_version, docker.constants.MINIMUM_DOCKER_API_VERSION):
            raise docker.errors.InvalidVersion(f"API version {api_version} is older than "
                                               f"{docker.constants.MINIMUM_DOCKER_API_VERSION}")
        client = _client(endpoint, timeout, api_version)
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        if client is not None:
            client.close()
        reason = str(exc).split("\n")[0]
        if "Permission denied" in reason:
            raise EnvironmentProblem(
                f"no permission to use the container engine at {where}; add your user to the "
                "`docker` group (then log in again) or run as a user who may") from None
        raise EnvironmentProblem(f"no container engine answers at {where} (found via "
                                 f"{endpoint.source}): {_start_hint(where)}") from None
    _FACTS[key] = facts
    return client, endpoint, facts
