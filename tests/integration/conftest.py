"""What the per-lab integration tests share: run a lab once per module, read its result.json."""

from __future__ import annotations

import json
import shutil

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
            folder = reports / f"lab-{number:02d}"
            if code != 0:
                # The next test of this lab runs it again, into the same folder: keep this run's
                # report, and say in the failure what the runner counted against each variant.
                kept = reports.parent / f"failed-{reports.name}-lab-{number:02d}"
                if folder.is_dir() and not kept.exists():
                    shutil.copytree(folder, kept)
                result = json.loads((folder / "result.json").read_text(encoding="utf-8")) \
                    if (folder / "result.json").is_file() else {}
                runners = {run["variant"]["name"]: run.get("runner") for run in result.get("variants") or [result]
                           if isinstance(run.get("variant"), dict)}
                raise AssertionError(f"lab {number} did not pass; its report is kept in {kept}; the runners: "
                                     f"{json.dumps(runners, sort_keys=True)}")
            seen[number] = json.loads((folder / "result.json").read_text(encoding="utf-8"))
        return seen[number]

    return run


