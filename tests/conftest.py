"""Shared fixtures.  Integration tests ask for ``engine``: they skip when no
engine answers, and fail instead under FORKLAB_REQUIRE_DOCKER=1 (as CI sets it)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from invoke import Collection, Program

import tasks

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_LABS = ROOT / "tests" / "fixtures" / "labs"


def pytest_configure(config):
    config.hostile_rows = []


def pytest_terminal_summary(terminalreporter, config):
    """The table of what each hostile script produced (README, "Safety")."""
    if not config.hostile_rows:
        return
    write = terminalreporter.write_line
    write("")
    write("| script | status | peak processes | wall time | container left |")
    write("|---|---|---|---|---|")
    for name, status, peak, wall, left in config.hostile_rows:
        write(f"| {name}.py | {status} | {peak if peak is not None else '?'} | {wall:.1f} s | {left} |")


@pytest.fixture(scope="session", autouse=True)
def english_unless_asked():
    """Tests expect English unless they ask for Chinese: a FORKLAB_LANG in the shell that runs them changes nothing."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("FORKLAB_LANG", raising=False)
        patch.delenv("INVOKE_FORKLAB_LANG", raising=False)
        yield


def pytest_collection_modifyitems(items):
    # Whatever asks for the engine is a docker test, marked or not.
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()):
            item.add_marker("docker")


@pytest.fixture(scope="session")
def engine():
    from forklab.engine import Engine
    from forklab.errors import EnvironmentProblem

    try:
        connected = Engine.connect(timeout=60)
    except EnvironmentProblem as exc:
        if os.environ.get("FORKLAB_REQUIRE_DOCKER") == "1":
            pytest.fail(f"FORKLAB_REQUIRE_DOCKER=1 but {exc.message}", pytrace=False)
        pytest.skip(exc.message)
    yield connected
    connected.close()


@pytest.fixture
def no_leftovers(engine):
    """Fails the test if it leaves a forklab container behind."""
    before = {c.id for c in engine.leftovers()}
    yield
    # A container a test leaked has ended (its lab finished); one still running
    # belongs to something else using the same engine at the same time.
    left = [c.name for c in engine.leftovers()
            if c.id not in before and "org.forklab.run" in c.labels and c.state != "running"]
    assert not left, f"containers left behind: {left}"


def containers_of(engine, report_name: str) -> list:
    """The kit's containers that are running (or left) for reports/REPORT_NAME."""
    return [c for c in engine.leftovers() if c.labels.get("org.forklab.lab") == report_name]


def signal_once_running(engine, proc, report_name: str, signum: int, timeout: float = 120) -> tuple[str, str]:
    """Send ``signum`` to ``proc`` as soon as its container for REPORT_NAME exists; return its output.

    It polls the engine for the container: a condition, not a guessed delay.
    """
    import time

    try:
        deadline = time.monotonic() + timeout
        while not containers_of(engine, report_name):
            assert proc.poll() is None, f"it ended before a {report_name} container ran"
            assert time.monotonic() < deadline, f"no {report_name} container appeared"
            time.sleep(0.02)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
    return out, err


def invoke_cli(argv: list[str], capsys, env: dict[str, str] | None = None, monkeypatch=None) -> tuple[int, str, str]:
    """Run ``invoke ARGV`` in-process, as a user would; return (exit code, stdout, stderr)."""
    if env and monkeypatch:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
    namespace = Collection.from_module(tasks)
    code = 0
    try:
        Program(namespace=namespace, version="test").run(["invoke", *argv], exit=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    """``cli("lab", "3")`` with reports going to a temporary folder."""
    reports = tmp_path / "reports"
    monkeypatch.setenv("INVOKE_FORKLAB_REPORTS_DIR", str(reports))

    def run(*argv: str, labs: Path | None = None):
        if labs is not None:
            monkeypatch.setenv("INVOKE_FORKLAB_LABS_DIR", str(labs))
        return invoke_cli(list(argv), capsys)

    run.reports = reports
    return run


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a Linux host")
