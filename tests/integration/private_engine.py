"""What the tests that start an engine of their own share (a second dockerd, a Podman service).

Each such engine lives in one temporary folder; these start-up and clean-up steps
act on that folder and that process only.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

from forklab.settings import Settings
from tests.support import ROOT

START_SECONDS = 60
STOP_SECONDS = 60


def base_of(engine) -> str:
    """The base image `invoke lab` builds on with ENGINE (its tag is the kit's to choose);
    made first, as `invoke base` would, where it is not there yet."""
    settings = Settings.from_config({}, ROOT)
    return engine.resolve_base(settings.base_image, settings.mirror, lambda line: None, pull=False)


def copy_base(engine, client) -> str:
    """Stream the base image from ENGINE into CLIENT's engine (no registry needed), its id kept."""
    base = base_of(engine)
    client.images.load(engine.client.api.get_image(base))
    assert client.images.get(base).id == engine.find_image(base).id
    return base


def answers_ping(process: subprocess.Popen, connect: Callable[[], socket.socket]) -> bool:
    """Poll the engine's /_ping until it answers (True), PROCESS exits or the deadline passes (False)."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with connect() as conn:
                conn.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
                if re.match(rb"HTTP/1\.[01] 200", conn.recv(64)):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def log_tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def stop(process: subprocess.Popen | None, name: str) -> list[str]:
    """SIGTERM to PROCESS (by its pid, nothing else), SIGKILL after STOP_SECONDS; say if it had to be forced."""
    if process is None or process.poll() is not None:
        return []
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
        return []
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_SECONDS)
        return [f"{name} (pid {process.pid}) ignored SIGTERM for {STOP_SECONDS} s: killed"]


def mounts_under(folder: Path) -> list[str]:
    """Mount points at or below FOLDER, deepest first."""
    points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    return sorted((p for p in points if p == str(folder) or p.startswith(f"{folder}/")), key=len, reverse=True)


def processes_naming(folder: Path) -> list[int]:
    """Pids whose command line names FOLDER: the engine and what it started there."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(folder).encode() in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            pass  # it ended meanwhile
    return pids


def remove_folder(folder: Path, mounts_expected: bool) -> list[str]:
    """Remove FOLDER once nothing runs from it, unmounting what is still mounted; say what went wrong.

    ``mounts_expected``: the engine is known to leave mounts behind (Podman's
    overlay driver does); otherwise a mount left is a problem, unmounted lazily.
    """
    deadline = time.monotonic() + STOP_SECONDS
    while processes_naming(folder) and time.monotonic() < deadline:
        time.sleep(0.05)
    problems = [f"pid {pid} still runs from {folder}" for pid in processes_naming(folder)]
    for point in mounts_under(folder):
        if not mounts_expected:
            problems.append(f"{point} was left mounted: unmounted")
        done = subprocess.run(["umount", *([] if mounts_expected else ["--lazy"]), point],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            problems.append(f"{point} could not be unmounted: {done.stderr.strip()}")
    shutil.rmtree(folder, ignore_errors=True)
    if folder.exists():
        problems.append(f"{folder} could not be removed")
    return problems
