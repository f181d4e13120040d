"""GitHub Classroom: `invoke check N --summary FILE` and the workflow that runs it (no engine needed)."""

from __future__ import annotations

import io

import yaml

from forklab import classroom
from tests.support import ROOT, graded


def test_the_job_summary_has_the_points_line_and_each_visible_check(tmp_path):
    document = graded(tmp_path)
    text = classroom.summary(document)
    assert "\nPoints 4/6\n" in text
    rows = [line for line in text.splitlines() if line.startswith("| ✅ |") or line.startswith("| ❌ |")]
    assert len(rows) == 2 and rows[0].endswith("| 3/3 |") and rows[1].startswith("| ❌ |")
    assert rows[1].endswith("| 0/1 |")
    assert "hint: keep it alive" in text and "hidden checks: 1 of 2 passed" in text
    assert "secret" not in text
    assert classroom.annotations(document) == ["::notice title=Autograding complete::Points 4/6",
                                               '::notice title=Autograding report::{"totalPoints":4,"maxPoints":6}']


def test_publish_appends_and_prints_the_annotations_only_under_github_actions(tmp_path, monkeypatch):
    document = graded(tmp_path)
    path = tmp_path / "summary.md"
    path.write_text("earlier step\n", encoding="utf-8")
    out = io.StringIO()
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    classroom.publish(document, path, out)
    assert out.getvalue() == ""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    classroom.publish(document, path, out)
    assert out.getvalue().splitlines() == classroom.annotations(document)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n") and text.count("Points 4/6") == 2


def test_check_refuses_a_summary_in_a_missing_folder_before_running(cli, tmp_path):
    summary = tmp_path / "missing" / "summary.md"
    code, out, err = cli("check", "13", str(ROOT / "labs" / "13-reap-in-order" / "starter.py"),
                         "--summary", str(summary))
    assert code == 2 and out == ""
    assert err.strip() == (f"forklab: --summary {summary}: {summary.parent} is not a folder; give a file in an "
                           "existing folder")


def test_the_classroom_workflow_runs_invoke_check_and_writes_the_job_summary():
    path = ROOT / ".github" / "classroom" / "forklab-check.yml"
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    # What GitHub Classroom looks for: this name and this one job.
    assert workflow["name"] == "Autograding Tests"
    assert list(workflow["jobs"]) == ["run-autograding-tests"]
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    [check] = [step for step in steps if "invoke check" in step.get("run", "")]
    assert '--summary "$GITHUB_STEP_SUMMARY"' in check["run"]
    triggers = workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1 reads `on:` as true
    assert "push" in triggers


def test_the_summary_option_takes_a_value_and_leaves_the_path_after_it():
    import tasks

    assert tasks._check_path_as_option(["check", "13", "--summary", "s.md", "mine.py"]) == \
        ["check", "13", "--summary", "s.md", "--path", "mine.py"]
    assert tasks._check_path_as_option(["check", "13", "-s", "s.md"]) == ["check", "13", "-s", "s.md"]
