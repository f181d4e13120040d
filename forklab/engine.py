"""The one module that owns the container engine (through the Docker SDK).

It finds the engine the way the Docker CLI would, builds the lab image (and the
offline base where no registry answers), runs a lab in a sandboxed container,
brings the runner's result document back over the API, and removes every
container it made, Ctrl-C included.  Nothing is bind-mounted: the same code
works against Docker Desktop's VM, Podman and a remote DOCKER_HOST.

Its parts live in ``forklab/host/``: the sandbox (``sandbox``), finding the
engine (``discovery``), the image's inputs and the offline base's recipe
(``images``), and what every container shares (``containers``).  This module
connects, builds, runs and removes, and ``invoke doctor``'s checks; every
name of those parts is also reachable here, as ``engine.X``.
"""

from __future__ import annotations

import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Optional

import docker
import docker.constants
import docker.errors
import docker.utils
import requests.exceptions

from forklab import catalog, outside
from forklab.errors import EnvironmentProblem
from forklab.host.connection import _FACTS as _FACTS
from forklab.host.connection import _client as _client
from forklab.host.connection import _endpoint_key as _endpoint_key
from forklab.host.connection import connect_client
from forklab.host.containers import CANCELLED as CANCELLED
from forklab.host.containers import INPUTS_LABEL, LABEL, SESSION_LABEL, Leftover, _short_reason, container_identity
from forklab.host.containers import KNOWN_FAILURES as KNOWN_FAILURES
from forklab.host.containers import LAB_LABEL as LAB_LABEL
from forklab.host.containers import RUN_LABEL as RUN_LABEL
from forklab.host.containers import VARIANT_LABEL as VARIANT_LABEL
from forklab.host.discovery import (
    Endpoint,
    _default_socket,
    _docker_host_hint,
    _names_podman,
    _podman_sockets,
    _podman_start_hint,
    _start_hint,
    leftovers_row,
    resolve_endpoint,
)
from forklab.host.images import BASE_CA_DIR as BASE_CA_DIR
from forklab.host.images import CONTAINERS_DIR as CONTAINERS_DIR
from forklab.host.images import HOST_CA_BUNDLE as HOST_CA_BUNDLE
from forklab.host.images import (
    IMAGE_REPOSITORY,
    OFFLINE_SUITE,
    _bootstrap_command,
    build_context_files,
    inputs_digest,
    offline_base_problem,
    offline_base_tag,
)
from forklab.host.images import OFFLINE_PACKAGES as OFFLINE_PACKAGES
from forklab.host.images import OFFLINE_REPOSITORY as OFFLINE_REPOSITORY
from forklab.host.images import PACKAGE_DIR as PACKAGE_DIR
from forklab.host.images import PROJECT_ROOT as PROJECT_ROOT
from forklab.host.images import RUNNER_FILES as RUNNER_FILES
from forklab.host.sandbox import docker_run_flags as docker_run_flags
from forklab.host.sandbox import sandbox
from forklab.inside.protocol import NONCE_ENV
from forklab.result import RunRecord
from forklab.settings import debian_arch

#: Seconds the host waits beyond a lab's own timeout before it kills the container.
HOST_GRACE_S = 30

Say = Callable[[str], None]


# -- invoke doctor ---------------------------------------------------------------

def diagnose() -> list[tuple[str, str, str]]:
    """`invoke doctor`: (what, finding, fix or "") for each thing checked, in order."""
    rows: list[tuple[str, str, str]] = []
    try:
        endpoint = resolve_endpoint()
    except EnvironmentProblem as exc:
        return [("engine", exc.message, "pick an existing context: `docker context use default`")]
    where = endpoint.url or os.environ.get("DOCKER_HOST") or _default_socket()
    rows.append(("endpoint", f"{where} (found via {endpoint.source})", ""))
    if where.startswith("unix://"):
        path = Path(where[len("unix://"):])
        if not path.exists():
            # Only the platform default gives way to a Podman that is running.
            podman = [] if os.environ.get("DOCKER_HOST") or endpoint.url else _podman_sockets()
            if podman:
                fix = f"Podman's API socket is {podman[0]}: `export DOCKER_HOST={podman[0]}`"
            elif _names_podman(where):
                fix = _podman_start_hint(where)
            elif _docker_host_hint():
                fix = _docker_host_hint()
            else:
                fix = ("start Docker Desktop" if sys.platform in ("darwin", "win32") else
                       "install and start an engine (`sudo apt-get install docker.io`, then "
                       "`sudo systemctl start docker`)")
            rows.append(("socket", f"{path} does not exist: no engine is running there", fix))
            return rows
        if not os.access(path, os.R_OK | os.W_OK):
            fix = ("rootful Podman's socket is root's: run as root, or use rootless Podman "
                   "(`systemctl --user start podman.socket`, then "
                   "`export DOCKER_HOST=unix://$XDG_RUNTIME_DIR/podman/podman.sock`)"
                   if _names_podman(where) else "add yourself to the `docker` group and log in again")
            rows.append(("socket", f"{path} exists but this user may not use it", fix))
            return rows
    try:
        engine = Engine.connect(timeout=10)
    except EnvironmentProblem as exc:
        rows.append(("engine", exc.message, _start_hint(where) if _names_podman(where) else
                     _docker_host_hint() or _start_hint(where)))
        return rows
    try:
        info = engine.describe()
        host = engine.host_facts()
        mode = "rootless" if host["rootless"] else "rootful"
        cgroup = f", cgroup v{host['cgroup']}" if host["cgroup"] else ""
        rows.append(("engine", f"{info['name']} {info['version']} (API {info['api_version']}), "
                               f"{info['os']}/{info['arch']}, {mode}{cgroup}", ""))
        if host["rootless"] and host["cgroup"] == "1":
            # podman#6834, #13891: the container starts, its limits are silently not applied.
            rows.append(("limits", f"rootless {info['name']} on cgroup v1 cannot apply the pids and memory "
                                   "limits: labs run without them (each report shows the limits read inside)",
                         "boot with cgroup v2 (`systemd.unified_cgroup_hierarchy=1`) or use a rootful engine"))
        offline = offline_base_tag(engine.arch())
        from forklab.settings import DEFAULT_BASE_IMAGE

        bases = [tag for tag in (DEFAULT_BASE_IMAGE, offline) if engine.find_image(tag)]
        # Not built yet is not a problem: the first `invoke lab` builds what it needs.
        rows.append(("base image", ", ".join(bases) if bases else
                     "none yet (`invoke build` pulls it, or makes the offline base where no registry answers)", ""))
        digest = inputs_digest(build_context_files(), bases[0], engine.find_image(bases[0]).id) if bases else None
        tag = f"{IMAGE_REPOSITORY}:{digest[:12]}" if digest else None
        present = bool(tag and engine.find_image(tag))
        rows.append(("lab image", (f"{tag} is there" if present else
                                   f"{tag} is not built yet (`invoke build`, or any `invoke lab`, builds it)")
                     if tag else "needs a base first", ""))
        rows.append(leftovers_row(engine.leftovers()))
    finally:
        engine.close()
    return rows


# -- connecting: forklab/host/connection.py ------------------------------------------

class Engine:
    """A connected engine; all Docker SDK calls of the kit go through here."""

    def __init__(self, client: docker.DockerClient, endpoint: Endpoint, version: Optional[dict] = None) -> None:
        self.client = client
        self.endpoint = endpoint
        self._version: Optional[dict] = version
        #: Images found by reference in this call (never what was not found): each is asked for once.
        self._images: dict = {}
        # Containers that ran to their end are removed by a thread of their own
        # while the host checks and reports (close() waits for it).
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._remover: Optional[threading.Thread] = None
        self._removal_errors: list[str] = []

    @classmethod
    def connect(cls, timeout: int = 120) -> "Engine":
        """A client of the engine the Docker CLI would use.

        The first in a process asks the engine's /version (which also says that it
        answers) and speaks its API version from then on, as the SDK's own
        detection would; later ones reuse that answer and ask nothing.
        """
        return cls(*connect_client(timeout))

    def close(self) -> None:
        """Wait for the containers still being removed, then let the client go."""
        try:
            while True:
                with self._lock:
                    remover = self._remover
                if remover is None:
                    break
                remover.join()
        finally:
            self.client.close()
        if self._removal_errors:
            errors, self._removal_errors = self._removal_errors, []
            raise EnvironmentProblem(f"the engine did not remove {errors[0]}; `invoke clean` removes what "
                                     "the kit left behind")

    def _remove_later(self, name: str) -> None:
        version = (self._version or {}).get("ApiVersion")
        if not version:
            self.remove_container(name)
            return
        with self._lock:
            self._pending.append(name)
            if self._remover is None:
                self._remover = threading.Thread(target=self._remove_pending, args=(version,),
                                                 name="forklab-remove", daemon=False)
                self._remover.start()

    def _remove_pending(self, version: str) -> None:
        """The removing thread: its own client (the SDK's is not documented as thread-safe); it ends when
        nothing is left to remove, so a process never waits at exit for more than the removals."""
        client = None
        try:
            while True:
                with self._lock:
                    if not self._pending:
                        self._remover = None
                        return
                    name = self._pending.pop(0)
                try:
                    if client is None:
                        client = _client(self.endpoint, 60, version)
                    _remove(client, name)
                except Exception as exc:  # noqa: BLE001 - said by close()
                    self._removal_errors.append(f"container {name} ({_short_reason(exc)})")
        finally:
            if client is not None:
                client.close()

    def version(self) -> dict:
        """The engine's /version, asked once: Podman's takes about 0.4 s (it asks runc and conmon theirs)."""
        if self._version is None:
            self._version = self.client.version()
        return self._version

    def describe(self) -> dict:
        """The engine part of a report's environment."""
        version = self.version()
        name = "Docker Engine"
        for component in version.get("Components", []):
            if "podman" in component.get("Name", "").lower():
                name = "Podman"
        return {"name": name, "version": version.get("Version"), "api_version": version.get("ApiVersion"),
                "os": version.get("Os"), "arch": version.get("Arch"),
                "endpoint": self.endpoint.url or os.environ.get("DOCKER_HOST") or _default_socket(),
                "found_via": self.endpoint.source}

    def host_facts(self) -> dict:
        """How the engine runs (for `invoke doctor`): rootless or not, and its cgroup version ("1", "2" or "").

        Docker and Podman both say ``name=rootless`` among their security options.
        """
        info = self.client.info()
        return {"rootless": any("name=rootless" in option for option in info.get("SecurityOptions") or []),
                "cgroup": str(info.get("CgroupVersion") or "")}

    # -- images ---------------------------------------------------------------------
    def find_image(self, reference: str):
        found = self._images.get(reference)
        if found is not None:
            return found
        try:
            found = self.client.images.get(reference)
        except docker.errors.ImageNotFound:
            return None
        self._images[reference] = found
        return found

    def resolve_base(self, configured: str, mirror: Optional[str], say: Say, pull: bool = True) -> str:
        """The base image to build on: the configured one, or the offline base when it cannot be had.

        With ``pull=False`` (running a lab) an offline base already present is used
        without asking a registry again; ``invoke build`` always tries to pull.
        """
        if self.find_image(configured):
            return configured
        offline = offline_base_tag(self.arch())
        if not pull and self.find_image(offline):
            say(f"using the offline base {offline} ({configured} is not here; `invoke build` tries to pull it)")
            return offline
        try:
            say(f"pulling {configured} ...")
            repository, _, tag = configured.rpartition(":") if ":" in configured.split("/")[-1] \
                else (configured, "", "latest")
            self.client.images.pull(repository, tag=tag)
            self._images.clear()
            return configured
        except (docker.errors.APIError, docker.errors.DockerException,
                requests.exceptions.RequestException) as exc:
            reason = _short_reason(exc)
        if self.find_image(offline):
            say(f"{configured} cannot be pulled ({reason}); using the offline base {offline}")
            return offline
        problem = offline_base_problem()
        if problem:
            raise EnvironmentProblem(f"the base image {configured} cannot be pulled ({reason}) and the "
                                     f"offline base cannot be made here: {problem}")
        say(f"{configured} cannot be pulled ({reason}); making the offline base {offline} instead")
        return self.build_base(mirror, say)

    def arch(self) -> str:
        """The engine's architecture, as Docker and Debian name it (amd64, arm64)."""
        return debian_arch(self.version().get("Arch"))

    def build_base(self, mirror: Optional[str], say: Say, force: bool = False,
                   arch: Optional[str] = None) -> str:
        """`invoke base`: a Debian root file system from a Debian mirror, imported as an image.

        ``arch`` (amd64, arm64) defaults to the engine's; another one needs
        binfmt/qemu on this host for the packages' scripts, as mmdebstrap does.
        """
        native = self.arch()
        arch = arch or native
        tag = offline_base_tag(arch)
        if not force and self.find_image(tag):
            say(f"the offline base {tag} is already there")
            return tag
        problem = offline_base_problem()
        if problem:
            raise EnvironmentProblem(f"cannot make the offline base: {problem}")
        with tempfile.TemporaryDirectory(prefix="forklab-base-") as tmp:
            archive = Path(tmp) / "rootfs.tar"
            command = _bootstrap_command(archive, Path(tmp) / "root", mirror, arch)
            say(f"making a Debian {OFFLINE_SUITE} root file system for {arch}: " + " ".join(command[0]))
            for step in command:
                done = subprocess.run(step, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, check=False)
                if done.returncode != 0:
                    tail = done.stdout.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
                    raise EnvironmentProblem(f"{step[0]} failed (exit {done.returncode}): {tail[0]}; "
                                             "check that a Debian mirror is reachable")
            say(f"importing it as {tag} ...")
            self._images.clear()
            changes = [f"LABEL {LABEL}=true", 'CMD ["/bin/bash"]',
                       "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
            try:
                if arch == native:
                    # The tag goes in the repository name: Podman 4.3 ignores `tag` here.
                    self.client.api.import_image(src=str(archive), repository=tag, changes=changes)
                else:
                    # An import is stamped with the engine's architecture; a build
                    # FROM scratch takes the platform it is asked for.
                    self._build_base_for(archive, tag, arch, changes)
            except docker.errors.APIError as exc:
                raise EnvironmentProblem(f"the engine refused the offline base: {_short_reason(exc)}") from None
        return tag

    def _build_base_for(self, archive: Path, tag: str, arch: str, changes: list[str]) -> None:
        dockerfile = "FROM scratch\nADD rootfs.tar /\n" + "".join(f"{change}\n" for change in changes)
        with tempfile.TemporaryFile() as context:
            with tarfile.open(fileobj=context, mode="w") as tar:
                data = dockerfile.encode()
                info = tarfile.TarInfo("Dockerfile")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                tar.add(str(archive), arcname="rootfs.tar")
            context.seek(0)
            for chunk in self.client.api.build(fileobj=context, custom_context=True, tag=tag,
                                               platform=f"linux/{arch}", rm=True, decode=True):
                if "error" in chunk:
                    raise EnvironmentProblem(f"the engine refused the {arch} base: {chunk['error'].strip()}")

    def ensure_image(self, base: str, say: Say, progress: Say) -> tuple[str, str]:
        """The lab image for these inputs: (tag, id).  Unchanged inputs never rebuild."""
        base_image = self.find_image(base)
        files = build_context_files()
        digest = inputs_digest(files, base, base_image.id if base_image else "")
        tag = f"{IMAGE_REPOSITORY}:{digest[:12]}"
        existing = self.find_image(tag)
        if existing:
            return tag, existing.id
        say(f"building {tag} on {base} ...")
        self._images.pop(tag, None)
        context = io.BytesIO(catalog.pack(files))
        image_id = None
        try:
            for chunk in self.client.api.build(
                    fileobj=context, custom_context=True, dockerfile="containers/Dockerfile",
                    target="runtime", tag=tag, buildargs={"BASE_IMAGE": base},
                    labels={LABEL: "true", INPUTS_LABEL: digest}, rm=True, forcerm=True,
                    pull=False, decode=True):
                if "error" in chunk:
                    raise EnvironmentProblem(f"the lab image did not build: {chunk['error'].strip()}; "
                                             "run `invoke build` to see the whole log")
                if "stream" in chunk and chunk["stream"].strip():
                    progress(chunk["stream"].rstrip())
                if "aux" in chunk and "ID" in chunk["aux"]:
                    image_id = chunk["aux"]["ID"]
        except docker.errors.APIError as exc:
            raise EnvironmentProblem(f"the lab image did not build: {_short_reason(exc)}") from None
        image = self.find_image(tag)
        if image is None:
            raise EnvironmentProblem(f"the build finished but {tag} is not there; run `invoke build` again")
        return tag, image_id or image.id

    # -- running a lab -------------------------------------------------------------
    def run_lab(self, image_id: str, lab: catalog.Lab, run: catalog.Run, session: str = "",
                repeat: int = 1, chaos: Optional[dict] = None, head=None) -> RunRecord:
        """Run one lab (one variant of it) in a fresh sandboxed container; bring back what the runner saw.

        ``session`` labels every container of one `invoke` call, so an
        interrupted call can remove the ones its threads are still running.
        """
        if run.settings.stepped_aside:
            # lab.yaml's run: {pid1: lab} or {pid1: init}: the runner steps aside and
            # the host observes from outside (forklab/outside.py).
            return outside.run_lab(self, image_id, lab, run, session, repeat, chaos)
        return self.run_shared(image_id, lab, [run], session, repeat, chaos, head)[0]

    def run_shared(self, image_id: str, lab: catalog.Lab, runs: list[catalog.Run], session: str = "",
                   repeat: int = 1, chaos: Optional[dict] = None, head=None) -> list[RunRecord]:
        """Run ``runs`` of one lab, which have one ``container_key``, in one fresh sandboxed container
        (``run_together``); a record for each."""
        return self.run_together(image_id, [(lab, run) for run in runs], session, repeat, chaos, head)

    def run_together(self, image_id: str, pairs: list[tuple[catalog.Lab, catalog.Run]], session: str = "",
                     repeat: int = 1, chaos: Optional[dict] = None, head=None) -> list[RunRecord]:
        """Run each (lab, run) of ``pairs``, which have one ``container_key``, in one fresh sandboxed
        container, one after another (the runner gives each a fresh process tree, /tmp and /dev/shm,
        and its own lab's files); a record for each.

        Each record's ``duration_ms`` is its share of the container's time: its own run's time, and the
        container's start and end split evenly, so the records of a container add up to its time.
        ``head``: `invoke lab N`'s head start (forklab/host/headstart.py), which may have started this
        very container already.
        """
        lab, run = pairs[0]
        runs = [each for _, each in pairs]
        if len(runs) > 1 and any(each.container_key is None or each.container_key != run.container_key
                                 for each in runs):
            raise ValueError("only runs with one container_key share a container")
        # Each lab once, in the order of its first run; its archive's number is its place here.
        labs = list({id(each_lab): each_lab for each_lab, _ in pairs}.values())
        number_of = {id(each_lab): number for number, each_lab in enumerate(labs)}
        name, labels = container_identity(lab, run, session, tuple(runs) if len(runs) > 1 else ())
        if len(labs) > 1:
            labels[LAB_LABEL] = ",".join(each.report_name for each in labs)
            name = f"forklab-{len(labs)}-labs-{labels[RUN_LABEL]}"
        extra: dict[str, object] = {"repeat": repeat} if repeat > 1 else {}
        if chaos:
            extra["chaos"] = chaos
        nonce = uuid.uuid4().hex
        # The lab travels in the container's environment: nothing is mounted, so
        # this works with any engine, local or remote, and an edited lab needs no
        # new image.  Several labs: an archive each (FORKLAB_ARCHIVE, FORKLAB_ARCHIVE1, ...).
        shipped: dict[str, str] = {}
        scripts: list[str] = []
        for number, each_lab in enumerate(labs):
            script, archive = each_lab.shipped(number)
            scripts.append(script)
            shipped.update(archive)
        script = scripts[0]
        environment = {NONCE_ENV: nonce, **shipped}
        if len(runs) == 1:
            command = ["python3", *run.runner_command(script, **extra)]
        else:
            def entry(each_lab: catalog.Lab, each: catalog.Run) -> dict:
                number = number_of[id(each_lab)]
                where = {"archive": number, "script": scripts[number]} if number else {}
                return each.runner_entry(**extra, **where)

            command = ["python3", *catalog.runner_argv(script, [entry(each_lab, each) for each_lab, each in pairs])]
        timeout = sum(each.settings.timeout for each in runs) * repeat + HOST_GRACE_S
        adopted = None
        if head is not None:
            plain = {key: value for key, value in labels.items() if key not in (RUN_LABEL, SESSION_LABEL)}
            adopted = head.take(tuple(each.name for each in runs), {
                "image": image_id, "command": command, "environment": shipped, "labels": plain,
                "prefix": name.rsplit("-", 1)[0], "pids_limit": run.settings.pids_limit,
                "memory_mb": run.settings.memory_mb, "timeout": timeout})
        started = time.monotonic()
        if adopted is not None:
            name, nonce, started = adopted.name, adopted.nonce, adopted.started
        timed_out = False
        ended = False
        try:
            if session in CANCELLED:
                raise KeyboardInterrupt
            if adopted is not None:  # created and started by the head start (take() waited for the start)
                container = self.client.containers.prepare_model({"Id": name})
            else:
                container = self.client.containers.create(image_id, command, name=name, labels=labels,
                                                          environment=environment, detach=True,
                                                          **sandbox(run.settings))
                if session in CANCELLED:  # interrupted while this thread was creating it
                    raise KeyboardInterrupt
                container.start()
            _prepare_host()
            try:
                exit_status = container.wait(timeout=timeout)["StatusCode"]
            except requests.exceptions.RequestException:
                # docker-py raises ConnectionError (not ReadTimeout) here on unix sockets.
                timed_out = True
                container.kill()
                exit_status = container.wait(timeout=30)["StatusCode"]
            out = container.logs(stdout=True, stderr=False)
            err = container.logs(stdout=False, stderr=True)
            ended = session not in CANCELLED
        except docker.errors.APIError as exc:
            if session in CANCELLED:
                raise KeyboardInterrupt from None  # its container was removed under it
            which = ", ".join(f"{each.number:02d}" for each in labs)
            raise EnvironmentProblem(f"the engine failed to run lab {which}: "
                                     f"{_short_reason(exc)}") from None
        finally:
            # By name, so a Ctrl-C that lands inside create() still finds it.  A container
            # that ended and was read is removed while the host goes on; any other, now.
            if ended:
                self._remove_later(name)
            else:
                self.remove_container(name)
        container_ms = (time.monotonic() - started) * 1000
        document = _runner_document(out, nonce)
        documents = _shared_documents(document, len(runs))
        own = [_document_ms(each) for each in documents]
        overhead = max(0.0, container_ms - sum(own)) / len(runs)
        return [RunRecord(document=each, timed_out=timed_out, container_exit=exit_status,
                          runner_stderr=err.decode("utf-8", "replace"), duration_ms=round(ms + overhead, 1),
                          container=name) for each, ms in zip(documents, own)]

    def remove_container(self, name: str) -> None:
        """Remove a container whatever its state; one already gone is fine."""
        _remove(self.client, name)

    def leftovers(self, session: str = "") -> list["Leftover"]:
        """The kit's containers (of one call, if ``session``), in one request.

        (The SDK's high-level list inspects each container in a second request,
        which fails when another thread removes one in between.)
        """
        label = f"{SESSION_LABEL}={session}" if session else f"{LABEL}=true"
        return [Leftover(item["Id"], (item.get("Names") or ["?"])[0].lstrip("/"), item.get("Labels") or {},
                         item.get("State", ""))
                for item in self.client.api.containers(all=True, filters={"label": label})]

    def remove_session(self, session: str) -> None:
        """Remove every container of one `invoke` call, and stop its threads from making more."""
        if not session:
            return
        CANCELLED.add(session)
        for container in self.leftovers(session):
            self.remove_container(container.id)

    def clean(self, images: bool) -> tuple[int, int]:
        """Remove every labelled container (and, if asked, every labelled image)."""
        containers = 0
        for container in self.leftovers():
            self.remove_container(container.id)
            containers += 1
        removed_images = 0
        self._images.clear()
        if images:
            for image in self.client.images.list(filters={"label": f"{LABEL}=true"}):
                try:
                    self.client.images.remove(image.id, force=True)
                    removed_images += 1
                except docker.errors.NotFound:
                    pass
        return containers, removed_images


_PREPARING: list = []


def _prepare_host() -> None:
    """While the first container runs, a thread gets ready what the host needs after it: the
    report's compiled templates and the modules that assembling a result imports.  The host
    only waits then, so this costs it nothing; whatever is not ready yet is done when needed."""
    if _PREPARING:
        return
    _PREPARING.append(True)

    def prepare() -> None:
        try:
            from forklab import report, result

            result.prepare()
            report.prepare()
        except Exception:  # noqa: BLE001 - done again, and said, where it is needed
            pass

    threading.Thread(target=prepare, name="forklab-prepare", daemon=True).start()


def _remove(client: docker.DockerClient, name: str) -> None:
    try:
        client.api.remove_container(name, force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409:  # 409: removal already in progress
            raise



def _shared_documents(document: Optional[dict], count: int) -> list[Optional[dict]]:
    """Each run's document from what the runner printed for ``count`` runs in one container.

    One run: the document itself.  Several: the runner's batch, one document each; a runner that
    failed before it got to them (an error, or no document) is that for every run.
    """
    if count == 1:
        return [document]
    batch = document.get("batch") if isinstance(document, dict) else None
    if isinstance(document, dict) and isinstance(batch, list) and len(batch) == count \
            and all(isinstance(each, dict) for each in batch):
        return [{**each, "nonce": document["nonce"]} for each in batch]
    return [document] * count


def _document_ms(document: Optional[dict]) -> float:
    """How long the run of ``document`` took in its container (0 when it does not say)."""
    if not isinstance(document, dict):
        return 0.0
    repeats = document.get("repeats")
    parts = repeats if isinstance(repeats, list) else [document]
    total = 0.0
    for part in parts:
        ms = part.get("duration_ms") if isinstance(part, dict) else None
        total += ms if isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms > 0 else 0.0
    return total


def _runner_document(out: bytes, nonce: str) -> Optional[dict]:
    """The runner's one JSON document: the last line of the container's stdout that carries this run's nonce."""
    for line in reversed(out.splitlines()):
        if line.startswith(b"{") and nonce.encode() in line:
            try:
                document = json.loads(line.decode("utf-8"))
            except ValueError:
                continue
            if isinstance(document, dict) and document.get("nonce") == nonce:
                return document
    return None


def host_description() -> dict:
    return {"os": platform.system(), "release": platform.release(), "arch": platform.machine(),
            "python": platform.python_version()}
