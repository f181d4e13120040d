"""What the per-lab integration tests share: run a lab once per module, read its result.json."""

from __future__ import annotations

import json

import pytest

from forklab import commands
from forklab.console import Terminal
from forklab.settings import Settings
from tests.support import ROOT


@pytest.fixture(scope="module")
def lab_result(engine, tmp_path_factory):
    """Runs a lab once per module (as `invoke lab N` does) and returns its result.json."""
    reports = tmp_path_factory.mktemp("reports")
    settings = Settings.from_config({"reports_dir": str(reports)}, ROOT)
    seen: dict[int, dict] = {}

    def run(number: int) -> dict:
        if number not in seen:
            code, _ = commands.guarded(lambda: commands.run_lab(settings, str(number), Terminal()))
            assert code == 0, f"lab {number} did not pass; see {reports}"
            path = reports / f"lab-{number:02d}" / "result.json"
            seen[number] = json.loads(path.read_text(encoding="utf-8"))
        return seen[number]

    return run


