"""The README's first two commands are what CI runs, verbatim."""

from __future__ import annotations

import re

from tests.support import ROOT


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert first_block and text.index(first_block.group(0)) < text.index("## "), \
        "the README starts with its commands"
    return [line for line in first_block.group(1).splitlines() if line.strip()]


def test_the_readme_starts_with_two_commands_ci_runs_verbatim():
    lab, tests = readme_commands()
    assert lab.endswith("invoke lab 3") and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f'LAB_COMMAND="{lab}"' in ci
    assert f'TEST_COMMAND="{tests}"' in ci
    assert 'bash -c "$LAB_COMMAND"' in ci and 'bash -c "$TEST_COMMAND"' in ci


def test_the_course_workflow_verifies_on_linux_and_tests_the_host_side_elsewhere():
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "labs.yml").read_text(encoding="utf-8"))
    verify, host = workflow["jobs"]["verify"], workflow["jobs"]["host-side"]
    assert verify["runs-on"].startswith("ubuntu")
    assert any(step.get("run", "").endswith("invoke verify") for step in verify["steps"])
    assert {"macos-latest", "windows-latest"} <= set(host["strategy"]["matrix"]["os"])
    [test_step] = [step for step in host["steps"] if "pytest" in step.get("run", "")]
    # The markers it deselects are the ones the suite declares (--strict-markers).
    assert test_step["run"] == 'python -m pytest -m "not docker and not linux"'
    assert "3.9" in host["strategy"]["matrix"]["python"], "the oldest Python pyproject.toml allows"
