"""`invoke check N --summary FILE` in a real container, as the GitHub Classroom workflow runs it."""

from __future__ import annotations

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.docker


def test_check_appends_the_points_to_the_job_summary_and_prints_classrooms_notices(engine, cli, tmp_path,
                                                                                    monkeypatch):
    summary = tmp_path / "step-summary.md"
    summary.write_text("## an earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, err = cli("check", "13", str(ROOT / "labs" / "13-reap-in-order" / "solution.py"),
                         "--summary", str(summary))
    assert code == 0, out + err
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## an earlier step\n### forklab · exercise 13 · ")
    assert "\nPoints 16/16\n" in text and "| ❌ |" not in text and "hidden checks: 5 of 5 passed" in text
    lines = out.splitlines()
    assert "::notice title=Autograding complete::Points 16/16" in lines
    assert '::notice title=Autograding report::{"totalPoints":16,"maxPoints":16}' in lines
