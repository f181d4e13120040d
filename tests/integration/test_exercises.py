"""The four exercises in real containers: each solution earns full marks, each starter runs and
earns little, a program that does not parse, loops or fork-bombs earns 0 with one line saying
why, and `invoke check` works inside a student's handout."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from forklab import catalog, commands, handout
from forklab.console import Terminal
from forklab.settings import Settings
from tests.support import ROOT

EXERCISES = {13: "13-reap-in-order", 14: "14-zombie-and-orphan", 15: "15-pipeline", 16: "16-prefork-pool"}


@pytest.fixture
def grade(engine, tmp_path):
    settings = Settings.from_config({"reports_dir": str(tmp_path / "reports")}, ROOT)

    def run(number: int, path) -> dict:
        lab = catalog.load_lab(ROOT / "labs" / EXERCISES[number])
        return commands.check_submission(settings, lab, path, Terminal()).document

    return run


@pytest.mark.parametrize("number", sorted(EXERCISES))
def test_the_solution_earns_full_marks_and_the_starter_runs_and_earns_little(grade, number):
    lab = catalog.load_lab(ROOT / "labs" / EXERCISES[number])
    solved = grade(number, lab.solution_path)
    assert solved["score"]["earned"] == solved["score"]["total"] > 0, \
        [c["detail"] for c in solved["checks"] if not c["passed"]]
    assert solved["status"] == "passed" and solved["check"]["reason"] is None
    assert solved["check"]["hidden"]["passed"] == solved["check"]["hidden"]["total"] > 0
    started = grade(number, lab.starter_path)
    # The starter runs to its end (no crash, nothing for the grader to excuse) and fails most checks.
    assert started["check"]["reason"] is None and started["exit"]["code"] == 0
    assert started["score"]["earned"] <= started["score"]["total"] // 4
    assert sum(not c["passed"] for c in started["checks"]) > len(started["checks"]) // 2


@pytest.mark.parametrize("source, reason", [
    ("import os\ndef reap(:\n    pass\n", "bad.py does not parse: SyntaxError: "),
    ("while True:\n    pass\n", "it was still running after 10 s: an endless loop"),
    ((ROOT / "tests" / "hostile" / "fork_bomb.py").read_text(encoding="utf-8"),
     "it reached the pids limit (64 processes at once)"),
])
def test_a_program_that_does_not_parse_loops_or_fork_bombs_earns_nothing(grade, tmp_path, source, reason):
    path = tmp_path / "bad.py"
    path.write_text(source, encoding="utf-8")
    document = grade(13, path)
    assert document["score"] == {"earned": 0, "total": 16}
    assert document["check"]["reason"].startswith(reason) and "\n" not in document["check"]["reason"]
    assert document["check"]["counted"] is False


def test_a_program_that_crashes_keeps_what_passed_and_garbage_output_is_graded_too(grade, tmp_path):
    crash = tmp_path / "crash.py"
    crash.write_text("import os\nif os.fork() == 0:\n    os._exit(11)\nos.wait()\nraise RuntimeError('boom')\n",
                     encoding="utf-8")
    document = grade(13, crash)
    assert document["check"]["reason"] == "it crashed (exit code 1): RuntimeError: boom"
    assert document["check"]["counted"] is True and 0 < document["score"]["earned"] < document["score"]["total"]
    garbage = grade(13, ROOT / "tests" / "hostile" / "bad_bytes.py")
    assert garbage["check"]["reason"] is None and garbage["score"]["total"] == 16
    assert "\ufffd" in garbage["stdout"] or "\x1b" in garbage["stdout"]


def test_invoke_check_says_the_reason_in_one_line_and_exits_1(engine, cli, tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("def f(:\n", encoding="utf-8")
    code, out, err = cli("check", "13", str(path))
    assert code == 1
    [reason] = [line for line in out.splitlines() if "does not parse" in line]
    assert reason.strip() == ("bad.py does not parse: SyntaxError: invalid syntax (line 1) "
                              "(so no check counts)")
    assert "score: 0 of 16 points" in out
    assert (cli.reports / "check-13" / "result.json").is_file()


def test_invoke_check_works_inside_the_handout(engine, tmp_path):
    course = tmp_path / "course"
    handout.write(ROOT, ROOT / "labs", course)
    env = {key: value for key, value in os.environ.items() if not key.startswith("INVOKE_FORKLAB")}

    def invoke(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "invoke", *argv], cwd=course, env=env,
                              capture_output=True, text=True, timeout=300)

    first = invoke("check", "13")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "work/13-reap-in-order.py: made from the exercise's starter" in first.stderr
    assert (course / "work" / "13-reap-in-order.py").read_bytes() == \
        (ROOT / "labs" / EXERCISES[13] / "starter.py").read_bytes()
    assert "hidden checks" not in first.stdout, "the handout has no hidden checks"
    solved = invoke("check", "13", str(ROOT / "labs" / EXERCISES[13] / "solution.py"))
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert "score: 11 of 11 points" in solved.stdout
    assert (course / "reports" / "check-13" / "report.md").is_file()
    refused = invoke("lab", "13")
    assert refused.returncode == 2
    assert refused.stderr == ("forklab: lab 13 is an exercise and this copy has no solution.py; "
                              "check your own program with `invoke check 13`\n")


def test_exercise_13_catches_a_parent_that_reaps_whichever_child_ends_first(engine, no_leftovers, tmp_path):
    """wait() instead of waitpid(pid): the children end youngest first, so it reaps them backwards,
    even with the machine busy (four at once): the kernel wakes such a parent before a dead
    child shows as a zombie, and the next child waits for that."""
    import json
    import re

    solution = (ROOT / "labs" / "13-reap-in-order" / "solution.py").read_text(encoding="utf-8")
    wrong = re.sub(r"pid, status = os\.waitpid\(pid, 0\)", "pid, status = os.wait()", solution)
    assert wrong != solution
    program = tmp_path / "wrong.py"
    program.write_text(wrong, encoding="utf-8")
    runs = [subprocess.Popen([sys.executable, "-m", "invoke", "check", "13", "--path", str(program)],
                             cwd=ROOT, env={**os.environ, "INVOKE_FORKLAB_REPORTS_DIR": str(tmp_path / f"r{n}")},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(4)]
    for run in runs:
        out, err = run.communicate(timeout=180)
        assert run.returncode == 1, out + err
    scores = [json.loads((tmp_path / f"r{n}" / "check-13" / "result.json").read_text(encoding="utf-8"))["score"]
              for n in range(4)]
    assert all(score["earned"] < score["total"] for score in scores), scores
