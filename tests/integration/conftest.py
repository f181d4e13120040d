"""What the per-lab integration tests share: run a lab once per module, read its result.json."""

from __future__ import annotations

import json

import pytest

from forklab import commands
from forklab.console import Terminal
from forklab.settings import Settings
from tests.conftest import ROOT


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


def variant(result_doc: dict, name: str) -> dict:
    return next(v for v in result_doc["variants"] if v["variant"]["name"] == name)


def rows_at(run: dict, checkpoint: str) -> dict[str, dict]:
    snap = next(s for s in run["snapshots"] if s["checkpoint"] == checkpoint)
    return {row["role"]: row for row in snap["processes"]}


def events_of(run: dict, kind: str, role: str) -> list[dict]:
    return [e for e in run["events"] if e["event"] == kind and e["role"] == role]


def exit_of(run: dict, role: str) -> dict:
    [event] = events_of(run, "exit", role)
    return event["status"]


def lab_3_here_then(cli, switch) -> str:
    """Lab 3 on the engine under test, then again after ``switch()`` points forklab elsewhere.

    Both must pass with the same normalized.md, byte for byte; returns the
    second run's report.md.
    """
    code, out, err = cli("lab", "3")
    assert code == 0, out + err
    local = (cli.reports / "lab-03" / "normalized.md").read_bytes()
    switch()
    code, out, err = cli("lab", "3")
    assert code == 0, out + err
    assert (cli.reports / "lab-03" / "normalized.md").read_bytes() == local
    return (cli.reports / "lab-03" / "report.md").read_text(encoding="utf-8")
