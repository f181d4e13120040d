"""`invoke lab N`'s head start: the lab's containers start before the host has imported the rest.

A plain `invoke lab N` (no option that changes its containers) leaves a plan: what
each container it ran was created with (image, runner command, environment but
the nonce, labels, pids and memory limits, time allowed).  The next plain `invoke
lab N` whose inputs have not changed since (the lab's folder, labs/claims.yaml,
the kit's own files and containers/, the labs folder asked for) creates and starts
those containers at once, with the Docker SDK alone, and imports pydantic, the
lab.yaml models, rich and Jinja2 while they run.

The run then builds each container's arguments as it always does and adopts a
started container only if they are the same (``HeadStart.take``); any other is
removed and the lab runs as usual.  A head start can make a run sooner, never
different.  The plan cannot widen the sandbox: a container is created from
``sandbox_for`` with the plan's two limits, and only the kit's runner command.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from forklab.settings import LAB_FOLDER, cache_dir

#: A plan of another shape is not read.
PLAN_VERSION = 1
#: A plan of more containers than this is not a plain `invoke lab N`'s, and is not read.
MAX_CONTAINERS = 16
_RUNNER = ["python3", "-m", "forklab.runner"]
_KIT = Path(__file__).resolve().parents[1]


def _stat(path: str) -> Optional[tuple]:
    """Type, size, change times and inode of ``path`` (not followed, if a link); None if it is not there."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino


def _stats(root: Path, into: list) -> None:
    """``_stat`` of everything below ``root``, by name, links not followed."""
    for folder, folders, files in os.walk(root, followlinks=False):
        folders[:] = sorted(name for name in folders if name != "__pycache__")
        for name in sorted(files) + folders:
            path = os.path.join(folder, name)
            into.append((os.path.relpath(path, root), _stat(path)))


def lab_folder(labs_dir: Path, number: str) -> Optional[Path]:
    """The folder of lab ``number`` ('3' or '03'), or None where the catalog would say more."""
    if not re.fullmatch(r"\d{1,2}", number.strip()):
        return None
    found = [path for path in sorted(labs_dir.iterdir())
             if (match := LAB_FOLDER.match(path.name)) and int(match.group(1)) == int(number) and path.is_dir()]
    return found[0] if len(found) == 1 else None


def plan_key(labs_dir: Path, folder: Path, image_settings: tuple) -> str:
    """What a plan depends on: a change to any of these is another key."""
    import docker

    parts: list = [PLAN_VERSION, sys.version, docker.__version__, image_settings, os.path.realpath(folder)]
    _stats(folder, parts)
    parts.append(_stat(str(labs_dir / "claims.yaml")))
    _stats(_KIT, parts)
    _stats(_KIT.parent / "containers", parts)
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _plan_file(folder: Path) -> Path:
    name = hashlib.sha256(os.path.realpath(folder).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_dir("plans") / f"{name}.json"


def _valid_entry(entry: Any) -> bool:
    """A container of a plan, of the one shape the kit writes (anything else: no head start)."""
    if not isinstance(entry, dict) or set(entry) != {"runs", "args"}:
        return False
    args = entry["args"]
    strings = lambda value: isinstance(value, dict) and all(  # noqa: E731
        isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    return (isinstance(entry["runs"], list) and all(isinstance(name, str) for name in entry["runs"])
            and isinstance(args, dict)
            and set(args) == {"image", "command", "environment", "labels", "prefix", "pids_limit", "memory_mb",
                              "timeout"}
            and isinstance(args["image"], str) and re.fullmatch(r"sha256:[0-9a-f]{64}", args["image"]) is not None
            and isinstance(args["command"], list) and args["command"][:3] == _RUNNER
            and all(isinstance(part, str) for part in args["command"])
            and strings(args["environment"]) and strings(args["labels"])
            and isinstance(args["prefix"], str) and re.fullmatch(r"forklab-[A-Za-z0-9_.-]+", args["prefix"]) is not None
            and all(isinstance(args[name], int) and not isinstance(args[name], bool) and args[name] > 0
                    for name in ("pids_limit", "memory_mb"))
            and isinstance(args["timeout"], (int, float)) and 0 < args["timeout"] <= 100_000)


def read_plan(folder: Path, key: str) -> list[dict]:
    """The containers of the plan kept for ``key`` (none kept, another key's, unreadable, not this user's: [])."""
    try:
        with open(_plan_file(folder), "rb") as handle:
            if hasattr(os, "getuid") and os.fstat(handle.fileno()).st_uid != os.getuid():
                return []
            plan = json.loads(handle.read(4 * 1024 * 1024).decode("utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(plan, dict) or plan.get("key") != key or not isinstance(plan.get("containers"), list):
        return []
    containers = plan["containers"]
    if len(containers) > MAX_CONTAINERS or not all(_valid_entry(entry) for entry in containers):
        return []
    return containers


def write_plan(folder: Path, key: str, containers: list[dict]) -> None:
    """Keep ``containers`` as the plan for ``key`` (written beside and swapped in; a failure is only no plan)."""
    path = _plan_file(folder)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        # The user's alone: a plan holds the lab's files (an exercise's solution too).
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"key": key, "containers": containers}, handle, separators=(",", ":"))
        os.replace(partial, path)
    except OSError:
        try:
            os.unlink(partial)
        except OSError:
            pass


def comparable(args: dict) -> dict:
    """``args`` as a plan keeps them (JSON's types), so that two can be compared."""
    return json.loads(json.dumps(args))


@dataclass
class Started:
    """A container the head start created and is starting: its name, nonce and when it started."""

    name: str
    nonce: str
    args: dict
    started: float
    #: The start request, made on a thread of its own while the host imports the rest (the engine
    #: takes about 0.2 s to answer it); ``ready()`` waits for it.
    starting: Optional[threading.Thread] = None
    failed: bool = False

    def ready(self) -> bool:
        """Wait until the engine has started the container; whether it did."""
        if self.starting is not None and self.starting.ident is not None:
            self.starting.join()
        return not self.failed and self.starting is not None


@dataclass
class HeadStart:
    """What `invoke lab N` started before it knew its lab, and what it saw to plan the next one."""

    client: Any
    endpoint: Any
    facts: dict
    session: str
    folder: Path
    key: str
    started: dict[tuple, Started] = field(default_factory=dict)
    #: The arguments of every container this run made or adopted (the next plan), by its runs.
    seen: dict[tuple, dict] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, runs: tuple, args: dict) -> Optional[Started]:
        """The container started for ``runs``, if it was created with exactly ``args``; else None
        (and a container started for them with other arguments is removed)."""
        with self._lock:
            self.seen[runs] = comparable(args)
            started = self.started.pop(runs, None)
        if started is None:
            return None
        if started.args == self.seen[runs] and started.ready():
            return started
        self._remove([started])
        return None

    def finish(self, save: bool) -> None:
        """Remove what no run adopted; with ``save``, keep what this run made as the next plan.

        Each container is forgotten only once it is removed, so a Ctrl-C in the middle leaves the
        rest for the next call (tasks.py makes one before it exits).
        """
        while True:
            with self._lock:
                if not self.started:
                    break
                runs, left = next(iter(self.started.items()))
            self._remove([left])
            with self._lock:
                self.started.pop(runs, None)
        with self._lock:
            seen = [{"runs": list(runs), "args": args} for runs, args in self.seen.items()]
        if save and seen:
            write_plan(self.folder, self.key, seen)

    def close(self) -> None:
        """Remove what no run adopted, and let the connection go (the run may never have taken it)."""
        self.finish(save=False)
        self.client.close()

    def _remove(self, containers: list[Started]) -> None:
        for each in containers:
            each.ready()  # a start still under way would otherwise start a container just removed
            try:
                self.client.api.remove_container(each.name, force=True, v=True)
            except Exception:  # noqa: BLE001 - not there (never created), or `invoke clean` finds it by its labels
                pass


def begin(labs_dir: Path, number: str, image_settings: tuple) -> Optional[HeadStart]:
    """Connect, and start the containers of the plan for lab ``number`` if there is one.

    None where anything is not as planned (no such lab, no engine, ...): the run
    then finds out and says so in its own words.
    """
    from forklab import interrupts
    from forklab.host.connection import connect_client
    from forklab.host.containers import RUN_LABEL, SESSION_LABEL
    from forklab.host.sandbox import sandbox_for
    from forklab.inside.protocol import NONCE_ENV

    try:
        folder = lab_folder(labs_dir, number)
        if folder is None:
            return None
        key = plan_key(labs_dir, folder, image_settings)
        client, endpoint, facts = connect_client()
    except Exception:  # noqa: BLE001 - the run itself says what is wrong
        return None
    head = HeadStart(client, endpoint, facts, uuid.uuid4().hex[:12], folder, key)
    try:
        for entry in read_plan(folder, key):
            args = entry["args"]
            run_id = uuid.uuid4().hex[:12]
            nonce = uuid.uuid4().hex
            name = f"{args['prefix']}-{run_id}"
            # Kept before it is created, so that whatever stops this removes it by its name; a Ctrl-C
            # waits until the engine has made it and its start is under way.
            started = Started(name, nonce, args, time.monotonic())
            with interrupts.deferred():
                head.started[tuple(entry["runs"])] = started
                container = client.containers.create(
                    args["image"], args["command"], name=name, detach=True,
                    labels={**args["labels"], RUN_LABEL: run_id, SESSION_LABEL: head.session},
                    environment={NONCE_ENV: nonce, **args["environment"]},
                    **sandbox_for(args["pids_limit"], args["memory_mb"]))
                started.starting = threading.Thread(target=_start, args=(endpoint, facts, container.id, started),
                                                    name="forklab-head-start", daemon=True)
                started.starting.start()
    except Exception:  # noqa: BLE001 - what did start is removed; the run goes on as usual
        head.finish(save=False)
    except BaseException:  # Ctrl-C, SIGTERM: removed, and the caller says so
        head.finish(save=False)
        raise
    return head


def _start(endpoint, facts: dict, container_id: str, started: Started) -> None:
    """Start the container, with a client of this thread's own (the SDK's is not known to be thread-safe)."""
    from forklab.host.connection import _client

    try:
        client = _client(endpoint, 120, facts["ApiVersion"])
        try:
            client.api.start(container_id)
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - not adopted then: removed, and the run makes its own
        started.failed = True
