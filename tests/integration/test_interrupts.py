"""Ctrl-C and SIGTERM at any moment, and two runs at once: nothing leaks, nothing is half-written."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.support import containers_of, signal_once_running
from tests.support import ROOT

pytestmark = pytest.mark.docker
REPORT_FILES = {"normalized.md", "report.md", "report.html", "result.json", "stdout.log", "stderr.log"}


def invoke(reports: Path, *argv: str) -> subprocess.Popen:
    env = {**os.environ, "INVOKE_FORKLAB_REPORTS_DIR": str(reports)}
    return subprocess.Popen([sys.executable, "-m", "invoke", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_whole(reports: Path) -> None:
    """Every report folder complete, no half-written file or folder anywhere."""
    stray = [p.name for p in reports.iterdir() if p.name.startswith(".")]
    assert stray == [], f"half-written leftovers: {stray}"
    for folder in reports.iterdir():
        if folder.is_dir():
            assert REPORT_FILES <= {p.name for p in folder.iterdir()}, f"{folder.name} is incomplete"
            json.loads((folder / "result.json").read_text(encoding="utf-8"))


def test_sigterm_removes_the_container_and_exits_143(engine, tmp_path):
    proc = invoke(tmp_path, "run", str(ROOT / "tests/hostile/endless_loop.py"), "--timeout", "60")
    _, err = signal_once_running(engine, proc, "run-endless-loop", signal.SIGTERM)
    assert proc.returncode == 143 and "terminated" in err
    assert containers_of(engine, "run-endless-loop") == []
    assert not (tmp_path / "run-endless-loop").exists()


def test_twenty_interrupts_at_random_moments_leave_nothing_behind(engine, tmp_path):
    first = invoke(tmp_path, "lab", "1")
    first.communicate(timeout=120)
    assert first.returncode == 0
    rng = random.Random(20261126)
    codes = []
    for _ in range(20):
        proc = invoke(tmp_path, "lab", "1")
        # The moment is the experiment here, not a way to wait for something:
        # anywhere from Python starting up to the report being swapped in.
        time.sleep(rng.uniform(0.0, 1.5))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        codes.append(proc.returncode)
        if proc.returncode != 130:
            # The signal came outside forklab's work: while Python and Invoke were
            # still starting (nothing begun), or after the report was written
            # (Python's own exit code then: 0, 1, or death by SIGINT).
            before = out == "" and "forklab:" not in err  # a traceback of Python's start-up may name forklab's files
            after = "passed · report:" in out
            assert proc.returncode in (0, 1, -signal.SIGINT) and (before or after), (proc.returncode, out, err)
        assert containers_of(engine, "lab-01") == []
        assert_whole(tmp_path)
    assert codes.count(130) >= 5, f"too few runs were really interrupted: {codes}"


def test_two_runs_at_once_do_not_collide(engine, tmp_path):
    procs = [invoke(tmp_path, "lab", "3"), invoke(tmp_path, "lab", "3"),
             invoke(tmp_path, "run", str(ROOT / "tests/hostile/daemon.py")),
             invoke(tmp_path, "run", str(ROOT / "tests/hostile/daemon.py"))]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, out + err
    assert_whole(tmp_path)
    assert json.loads((tmp_path / "lab-03" / "result.json").read_text(encoding="utf-8"))["status"] == "passed"
