"""Without an engine, integration tests skip; under FORKLAB_REQUIRE_DOCKER=1 they fail."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import ROOT

TEST = "tests/integration/test_labs.py::test_the_sandbox_is_what_the_report_says"


def run_without_engine(require: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock", "FORKLAB_REQUIRE_DOCKER": require}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST,
                           "-W", "ignore::ResourceWarning",
                           "-W", "ignore::pytest.PytestUnraisableExceptionWarning"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("require, exit_code, word", [("", 0, "1 skipped"), ("1", 1, "1 error")])
def test_no_engine(require, exit_code, word):
    done = run_without_engine(require)
    assert done.returncode == exit_code, done.stdout + done.stderr
    assert word in done.stdout
    if require:
        assert "FORKLAB_REQUIRE_DOCKER=1 but no container engine answers" in done.stdout
