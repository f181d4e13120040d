"""Gradescope's autograder zip and results.json: no engine needed.

tests/integration/test_gradescope.py runs the zip as Gradescope lays it out.
"""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import pytest

from forklab import autograder, catalog
from forklab.console import Terminal
from forklab.settings import Settings
from tests.support import EXERCISES, ROOT, distinctive_lines, exercise, linux_only, runner_document

SETTINGS = Settings.from_config({}, ROOT)


def made_zip(lab) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(autograder.zip_bytes(autograder.zip_files(lab))))


# -- the zip -------------------------------------------------------------------------------------

@pytest.mark.parametrize("folder", EXERCISES, ids=lambda path: path.name[:2])
def test_the_zip_holds_no_solution_text(folder):
    lab = catalog.load_lab(folder)
    archive = made_zip(lab)
    names = archive.namelist()
    assert not [name for name in names if Path(name).name == "solution.py"]
    texts = {name: archive.read(name).decode("utf-8", "replace") for name in names}
    lines = distinctive_lines(folder / "solution.py")
    assert lines, "the search finds a solution's own lines"
    for line in lines:
        holders = [name for name, text in texts.items() if line in text]
        assert not holders, f"{folder.name}'s solution line {line!r} is in {holders}"


@pytest.mark.parametrize("folder", EXERCISES, ids=lambda path: path.name[:2])
def test_the_zip_holds_what_setup_and_the_run_need(folder):
    lab = catalog.load_lab(folder)
    archive = made_zip(lab)
    names = set(archive.namelist())
    kit = {f"kit/forklab/{name}" for name in ("autograder.py", "runner.py", "result.py", "checks.py", "exercises.py",
                                               "catalog.py", "commands.py", "i18n.py", "__init__.py")}
    runtime = {"runtime/sitecustomize.py", "runtime/forklab/__init__.py", "runtime/forklab/runner.py",
               "runtime/forklab/checkpoint.py", "runtime/forklab/inside/__init__.py",
               "runtime/forklab/inside/protocol.py", "runtime/forklab/inside/runner.py",
               "runtime/forklab/inside/checkpoint.py"}
    exercise_files = {f"kit/labs/{folder.name}/lab.yaml", f"kit/labs/{folder.name}/starter.py"}
    assert {"setup.sh", "run_autograder", "requirements.txt", autograder.CONFIG_NAME, "kit/labs/claims.yaml"} \
        | kit | runtime | exercise_files <= names
    # What the submission's processes import is the kit's own, byte for byte.
    assert archive.read("runtime/forklab/inside/checkpoint.py") == \
        (ROOT / "forklab" / "inside" / "checkpoint.py").read_bytes()
    assert archive.read("runtime/sitecustomize.py") == (ROOT / "containers" / "sitecustomize.py").read_bytes()
    # Every other file of the exercise's folder goes too (15's shelf of data files).
    on_disk = {path.relative_to(folder).as_posix() for path in folder.rglob("*")
               if path.is_file() and "__pycache__" not in path.parts and path.name != "solution.py"}
    assert {f"kit/labs/{folder.name}/{name}" for name in on_disk} <= names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    # Gradescope runs both scripts: executable, with LF endings.
    for name in ("setup.sh", "run_autograder"):
        info = archive.getinfo(name)
        assert stat.S_IMODE(info.external_attr >> 16) == 0o755 and info.create_system == 3
        assert archive.read(name).startswith(b"#!/usr/bin/env bash\n") and b"\r\n" not in archive.read(name)
    config = json.loads(archive.read(autograder.CONFIG_NAME))
    assert config == {"exercise": lab.number, "folder": folder.name, "lang": "en", "user": "forklab-grader",
                      "runtime": "/opt/forklab-runtime"}
    assert archive.read("requirements.txt") == (ROOT / "containers" / "report-requirements.txt").read_bytes()


def test_setup_installs_the_packages_and_makes_the_user():
    setup = autograder.SETUP_SH
    assert "apt-get install -y --no-install-recommends python3 python3-pip procps psmisc" in setup
    assert '--target "$here/deps" -r "$here/requirements.txt"' in setup
    assert "useradd --system" in setup and autograder.GRADER_USER in setup
    assert "chmod -R go-rwx" in setup, "the submission's user cannot read lab.yaml's hidden checks"
    run = autograder.RUN_AUTOGRADER
    assert "python3 -m forklab.autograder" in run and "/autograder/results/results.json" in run
    assert "exit 0" in run


def test_the_zip_is_the_same_bytes_every_time():
    lab = catalog.load_lab(EXERCISES[0])
    assert autograder.zip_bytes(autograder.zip_files(lab)) == autograder.zip_bytes(autograder.zip_files(lab))


def test_a_file_with_the_solutions_text_under_another_name_is_refused(tmp_path):
    folder = exercise(tmp_path)
    (folder / "answer.py").write_bytes((folder / "solution.py").read_bytes())
    with pytest.raises(catalog.UsageError, match=r"answer.py: holds the solution of exercise 21"):
        autograder.zip_files(catalog.load_lab(folder))


def test_write_zip_says_what_it_wrote(tmp_path, capsys):
    code = autograder.write_zip(SETTINGS, "13", str(tmp_path), Terminal())
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path / 'autograder-13.zip'}: exercise 13 (Fork N children, reap them in order) "
                          "for Gradescope: 16 points in 12 checks (5 hidden)")
    assert zipfile.ZipFile(tmp_path / "autograder-13.zip").testzip() is None
    autograder.write_zip(SETTINGS, "14", str(tmp_path / "mine.zip"), Terminal())
    assert "kit/labs/14-zombie-and-orphan/lab.yaml" in zipfile.ZipFile(tmp_path / "mine.zip").namelist()


@pytest.mark.parametrize("number, out, message", [
    ("3", None, "forklab: lab 03 is not an exercise; the exercises are 13, 14, 15, 16"),
    ("99", None, "forklab: there is no lab 99; the labs are 01-fork-returns"),
    ("13", ("missing", "a.zip"), "forklab: --out {out}: {folder} is not a folder"),
])
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, number, out, message):
    path = tmp_path.joinpath(*out) if out else None
    code, stdout, stderr = cli("autograder", number, *(["--out", str(path)] if path else []))
    assert code == 2 and stdout == ""
    [line] = stderr.strip().splitlines()
    assert line.startswith(message.format(out=path, folder=path.parent if path else None))
    assert not list(tmp_path.glob("**/*.zip")) and not list(ROOT.glob("autograder-*.zip.partial"))


# -- results.json --------------------------------------------------------------------------------

def autograde(tmp_path, files: dict) -> dict:
    """forklab.autograder's main on a submission folder holding ``files``; the results.json it wrote."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"folder": "13-reap-in-order", "user": "forklab-grader"}), encoding="utf-8")
    submission = tmp_path / "submission"
    submission.mkdir()
    for name, text in files.items():
        (submission / name).write_text(text, encoding="utf-8")
    results = tmp_path / "results" / "results.json"
    assert autograder.main(["--config", str(config), "--submission", str(submission),
                            "--results", str(results)]) == 0
    return json.loads(results.read_text(encoding="utf-8"))


def gradescope_shaped(results: dict) -> None:
    assert {"score", "max_score", "output", "tests", "execution_time"} <= set(results)
    assert results["max_score"] == 16 == sum(test["max_score"] for test in results["tests"])
    assert results["score"] == sum(test["score"] for test in results["tests"])
    for test in results["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
    hidden = [test for test in results["tests"] if test["visibility"] != "visible"]
    assert [test["name"] for test in hidden] == [f"hidden check {n}" for n in range(1, 6)]
    assert {test["visibility"] for test in hidden} == {"after_published"}


@pytest.mark.parametrize("files, reason", [
    ({}, "the folder is empty"),
    ({"a.py": "", "b.py": ""}, "2 .py files (a.py, b.py): keep one, or name the one to grade 13-reap-in-order.py "
                               "or solution.py or main.py"),
])
def test_a_submission_without_one_program_scores_zero_in_gradescopes_shape(tmp_path, files, reason):
    results = autograde(tmp_path, files)
    gradescope_shaped(results)
    assert results["score"] == 0
    visible = [test for test in results["tests"] if test["visibility"] == "visible"]
    assert {test["output"] for test in visible} == {f"not run: {reason}"}


@linux_only
def test_a_run_is_graded_as_invoke_grade_grades_it_and_the_sandbox_is_said(tmp_path, monkeypatch):
    document = runner_document()
    document["main"]["script"] = "mine.py"
    ran = []

    def run_variant(program, variant, sandbox, runtime):
        ran.append((program.script_name, variant.name, sandbox.pids, sandbox.memory_mb))
        return {"document": {**document, "nonce": None}, "timed_out": False, "container_exit": 0,
                "runner_stderr": "", "duration_ms": 800.0, "container": "gradescope"}

    monkeypatch.setattr(autograder, "run_variant", run_variant)
    monkeypatch.setattr(autograder, "network_namespace", lambda: (False, "not here"))
    monkeypatch.setattr(autograder, "adopt_orphans", lambda: None)  # not the test's own process
    monkeypatch.setattr(autograder.os, "geteuid", lambda: 1000)  # not root: run as the caller
    results = autograde(tmp_path, {"mine.py": "print('hi')\n"})
    gradescope_shaped(results)
    assert ran == [("mine.py", "default", 64, 256)]
    lines = results["output"].splitlines()
    assert lines[0].startswith("score: ") and lines[0].endswith(" of 16 points")
    assert lines[-1].startswith("sandbox: as ") and lines[-1].endswith("10 s, the network NOT cut off (not here)")
    exit_test = next(test for test in results["tests"] if test["name"] == "the parent exits with code 0")
    assert exit_test["status"] == "passed"


def test_results_json_is_written_whatever_goes_wrong(tmp_path):
    results = tmp_path / "out" / "results.json"
    assert autograder.main(["--config", str(tmp_path / "missing.json"), "--submission", str(tmp_path),
                            "--results", str(results)]) == 0
    written = json.loads(results.read_text(encoding="utf-8"))
    assert written["score"] == 0 and written["tests"] == []
    assert written["output"].startswith("forklab's autograder failed: FileNotFoundError: ")
    assert "\n" not in written["output"] and "Traceback" not in written["output"]
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"folder": "03-zombies-and-orphans"}), encoding="utf-8")
    autograder.main(["--config", str(config), "--submission", str(tmp_path), "--results", str(results)])
    assert json.loads(results.read_text(encoding="utf-8"))["output"] == \
        "lab 03 is not an exercise: its autograder has nothing to grade"
