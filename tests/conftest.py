"""Shared fixtures.  Integration tests ask for ``engine``: they skip when no
engine answers, and fail instead under FORKLAB_REQUIRE_DOCKER=1 (as CI sets it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The helpers' asserts explain themselves as a test's do (conftest.py and test modules get this already).
pytest.register_assert_rewrite("tests.support", "tests.integration.support")

from tests.support import invoke_cli  # noqa: E402


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


