"""`invoke grade` without an engine: finding the submissions, the gradebook, Gradescope's
results.json, the summary, and a second call skipping the students already graded."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path

import pytest

from forklab import catalog, commands, grade, i18n
from forklab.console import Terminal
from forklab.settings import Settings
from tests.support import ENVIRONMENT, ROOT, _python_keys, linux_only, runner_document

EXERCISE = ROOT / "labs" / "13-reap-in-order"
SOLUTION = (EXERCISE / "solution.py").read_text(encoding="utf-8")
_ = i18n.translator("en")


@pytest.fixture
def lab():
    return catalog.load_lab(EXERCISE)


def found(root: Path, lab) -> dict[str, grade.Submission]:
    submissions, ignored = grade.discover(root, lab, _)
    found.ignored = ignored
    return {s.student: s for s in submissions}


# -- finding the submissions ------------------------------------------------------------------

def test_a_folder_or_a_py_file_per_student_and_the_program_in_a_folder(tmp_path, lab):
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "whatever.py").write_text(SOLUTION, encoding="utf-8")  # the only .py: whatever its name
    (tmp_path / "ann" / "notes.txt").write_text("hi", encoding="utf-8")
    (tmp_path / "ben.py").write_text(SOLUTION, encoding="utf-8")
    (tmp_path / "cai").mkdir()
    for name in ("helper.py", "13-reap-in-order.py"):  # several: the working copy's name is the program
        (tmp_path / "cai" / name).write_text(SOLUTION, encoding="utf-8")
    (tmp_path / "dan").mkdir()
    for name in ("a.py", "main.py", ".hidden.py"):  # hidden files are passed over
        (tmp_path / "dan" / name).write_text(SOLUTION, encoding="utf-8")
    (tmp_path / "README.txt").write_text("the class", encoding="utf-8")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    (tmp_path / "__MACOSX").mkdir()
    students = found(tmp_path, lab)
    assert sorted(students) == ["ann", "ben", "cai", "dan"]
    assert found.ignored == ["README.txt"]
    assert {name: s.shown_path for name, s in students.items()} == {
        "ann": "ann/whatever.py", "ben": "ben.py", "cai": "cai/13-reap-in-order.py", "dan": "dan/main.py"}
    assert all(s.path is not None and s.problem is None and s.reason is None for s in students.values())
    # The same program under the same name is the same fingerprint; another program is another.
    assert students["ann"].fingerprint != students["ben"].fingerprint
    assert len({s.fingerprint for s in students.values()}) == 4  # the names differ


def test_bad_submissions_are_rows_with_a_reason_not_errors(tmp_path, lab):
    (tmp_path / "empty").mkdir()
    (tmp_path / "nopy").mkdir()
    (tmp_path / "nopy" / "answer.txt").write_text("x", encoding="utf-8")
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "a.py").write_text("", encoding="utf-8")
    (tmp_path / "two" / "b.py").write_text("", encoding="utf-8")
    (tmp_path / "both").mkdir()
    (tmp_path / "both" / "main.py").write_text(SOLUTION, encoding="utf-8")
    (tmp_path / "both.py").write_text(SOLUTION, encoding="utf-8")
    (tmp_path / "binary.py").write_bytes(b"\x7fELF\0\0")
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "main.py").write_bytes(b"#" * (catalog.MAX_SCRIPT_BYTES + 1))
    (tmp_path / "folder.py").mkdir()  # a folder whose name ends in .py is a student's folder
    students = found(tmp_path, lab)
    problems = {name: (s.problem, s.reason) for name, s in students.items()}
    assert problems == {
        "empty": ("empty-folder", "the folder is empty"),
        "nopy": ("no-program", "no .py file in the folder (it holds answer.txt)"),
        "two": ("several-programs", "2 .py files (a.py, b.py): keep one, or name the one to grade "
                                    "13-reap-in-order.py or solution.py or main.py"),
        "both": ("two-submissions", "both has both a folder and a .py file; keep one"),
        "binary": ("binary", "binary.py is not a program's text (it holds NUL bytes)"),
        "big": ("too-big", "big/main.py is 257 KiB, more than a program may be (256 KiB)"),
        "folder.py": ("empty-folder", "the folder is empty"),
    }
    assert all(s.path is None for s in students.values())


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="symbolic links")
def test_a_link_out_of_the_folder_is_refused_and_one_inside_followed(tmp_path, lab):
    outside = tmp_path / "outside.py"
    outside.write_text(SOLUTION, encoding="utf-8")
    root = tmp_path / "class"
    (root / "eve").mkdir(parents=True)
    (root / "eve" / "main.py").symlink_to(outside)
    (root / "fay.py").symlink_to(outside)
    (root / "gus").mkdir()
    (root / "gus" / "real.py").write_text(SOLUTION, encoding="utf-8")
    (root / "gus" / "main.py").symlink_to(root / "gus" / "real.py")
    (root / "hal").symlink_to(root / "gus")  # a folder linked inside the class is that folder
    students = found(root, lab)
    assert students["eve"].problem == "link-out" and students["eve"].path is None
    assert students["eve"].reason == "eve/main.py is a symbolic link out of the student's folder"
    assert students["fay"].problem == "link-out"
    assert students["fay"].reason == "fay.py is a symbolic link out of the submissions folder"
    assert students["gus"].path == root / "gus" / "main.py"
    assert students["hal"].path is not None and students["hal"].problem is None


@linux_only
def test_a_name_that_is_not_utf8_is_a_row_with_its_bytes_written_out(tmp_path, lab):
    name = os.fsdecode(b"caf\xe9")
    (tmp_path / name).mkdir()
    (tmp_path / name / "main.py").write_text(SOLUTION, encoding="utf-8")
    (tmp_path / "gil").mkdir()
    (tmp_path / "gil" / os.fsdecode(b"m\xe9.py")).write_text(SOLUTION, encoding="utf-8")
    students = found(tmp_path, lab)
    assert students["caf\\xe9"].problem == "name-not-utf8" and students["caf\\xe9"].folder == "caf\\xe9"
    assert students["caf\\xe9"].reason == "the name caf\\xe9 is not UTF-8; rename it"
    assert students["gil"].problem == "name-not-utf8" and students["gil"].path is None
    # The name is text the gradebook and the reports can hold.
    grade.gradebook_csv([grade.row_not_run(students["caf\\xe9"], grade.expected_checks(lab, "en"))],
                        grade.expected_checks(lab, "en")).decode("utf-8")


def test_each_student_has_a_folder_of_their_own(tmp_path, lab):
    for name in ("Ann", "ann", "summary.md", "gradebook.csv"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "main.py").write_text(SOLUTION, encoding="utf-8")
    if len(os.listdir(tmp_path)) < 4:
        pytest.skip("this file system does not tell Ann from ann")
    folders = {name: s.folder for name, s in found(tmp_path, lab).items()}
    assert folders == {"Ann": "Ann", "ann": "ann~2", "gradebook.csv": "gradebook.csv~2",
                       "summary.md": "summary.md~2"}


def test_a_name_as_long_as_a_file_system_allows_still_gets_a_report_folder(tmp_path, settings, no_engine):
    root = tmp_path / "class"
    long = "学" * 83 + "x"  # 250 bytes: a name the file system takes, too long for a report built beside it
    (root / long).mkdir(parents=True)
    assert grade.grade(settings, "13", str(root), 2, Terminal()) == 0
    [folder] = [p for p in (settings.reports_dir / "grade-13").iterdir() if p.is_dir()]
    assert len(folder.name.encode("utf-8")) <= grade.MAX_FOLDER_BYTES and folder.name.startswith("学" * 60)
    assert json.loads((folder / "grade.json").read_text(encoding="utf-8"))["student"] == long


# -- rows, the gradebook, Gradescope ------------------------------------------------------------

def run_row(lab, tmp_path, stdout: str = "", code: int = 0):
    """A student's row and files from a run the runner might have sent back (no engine)."""
    program_path = tmp_path / "main.py"
    program_path.write_text(SOLUTION, encoding="utf-8")
    submission = grade.Submission("ann", folder="ann", path=program_path, shown_path="ann/main.py",
                                  fingerprint="f")
    program = grade._load(lab, submission, catalog.exercise_data(lab))
    document = runner_document()
    document["stdout"] = stdout
    document["exit"] = {"raw": code << 8, "code": code, "signal": None, "signal_name": None}
    document["main"]["script"] = "main.py"
    [variant] = program.runs()
    environment = {**ENVIRONMENT, "lang": "en"}
    record = {"document": document, "timed_out": False, "container_exit": 0, "duration_ms": 500.0}
    return grade.assess(program, submission, [(variant, record)], environment)


def test_a_run_makes_a_row_a_report_and_gradescope_results_with_hidden_checks_hidden(tmp_path, lab):
    expected = grade.expected_checks(lab, "en")
    row, files, details = run_row(lab, tmp_path)
    assert {"report.md", "report.html", "result.json", "normalized.md"} <= set(files)
    assert row["status"] == "graded" and row["total"] == 16 == sum(c["points"] for c in expected)
    assert [c["points"] for c in row["checks"]] == [c["points"] for c in expected]
    assert row["score"] == sum(c["earned"] for c in row["checks"])
    # The exit check passes (code 0), the order checks do not: no line printed.
    assert row["checks"][6] == {"passed": True, "points": 1, "hidden": False, "earned": 1}
    assert row["checks"][1]["earned"] == 0 and row["checks"][1]["passed"] is False
    for visibility in grade.HIDDEN_VISIBILITIES:
        results = grade.gradescope(row, expected, details, _, visibility)
        assert set(results) == {"score", "max_score", "output", "tests"}
        assert results["score"] == row["score"] and results["max_score"] == 16
        assert sum(t["score"] for t in results["tests"]) == results["score"]
        assert sum(t["max_score"] for t in results["tests"]) == results["max_score"]
        for test in results["tests"]:
            assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}
            assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
        visible = [t for t in results["tests"] if t["visibility"] == "visible"]
        hidden = [t for t in results["tests"] if t["visibility"] != "visible"]
        assert [t["name"] for t in visible] == [c["name"] for c in expected if not c["hidden"]]
        # A hidden check says only its number and whether it passed: not what it looks at.
        assert [t["name"] for t in hidden] == [f"hidden check {n}" for n in range(1, 6)]
        assert {t["visibility"] for t in hidden} == {visibility} and {t["output"] for t in hidden} == {""}
        assert "all-reaped" not in json.dumps(hidden)
    failed = next(t for t in visible if t["name"].startswith("child 1"))
    assert failed["output"].startswith("the pattern names main.1, but no process had that role\n")
    assert "hint: os.wait() returns whichever child ended first" in failed["output"]
    assert results["output"].splitlines()[0] == f"score: {row['score']} of 16 points"
    # The report's result.json hides them the same way.
    saved = json.loads(files["result.json"])
    assert saved["check"]["student"] == "ann" and saved["score"]["earned"] == row["score"]
    assert [c["name"] for c in saved["checks"] if c["hidden"]] == ["hidden check"] * 5


def test_a_run_that_does_not_count_scores_zero_in_every_test(tmp_path, lab):
    row, files, details = run_row(lab, tmp_path, code=1)
    assert row["status"] == "graded" and row["problem"] == "crashed"
    timeout = dict(row, status=grade.NO_CREDIT, score=0, reason="it was still running after 10 s: ...",
                   checks=[dict(c, earned=0) for c in row["checks"]])
    results = grade.gradescope(timeout, grade.expected_checks(lab, "en"), details, _)
    assert results["score"] == 0 and {t["status"] for t in results["tests"]} == {"failed"}
    passed = [t for t, d in zip(results["tests"], details) if d["passed"] and not d["hidden"]]
    assert passed and all("it passed but does not count: it was still running" in t["output"] for t in passed)
    assert "(so no check counts)" in results["output"]


def test_a_bad_submission_has_every_test_failed_with_its_reason(lab):
    expected = grade.expected_checks(lab, "en")
    submission = grade.Submission("bo", problem="empty-folder", reason="the folder is empty")
    row = grade.row_not_run(submission, expected)
    results = grade.gradescope(row, expected, None, _, "hidden")
    assert results["score"] == 0 and results["max_score"] == 16 and len(results["tests"]) == len(expected)
    assert {t["output"] for t in results["tests"] if t["visibility"] == "visible"} == {"not run: the folder is empty"}
    assert {t["visibility"] for t in results["tests"]} == {"visible", "hidden"}
    assert results["output"] == "score: 0 of 16 points\nthe folder is empty"


def test_the_gradebook_quotes_names_and_defuses_formulas(lab):
    expected = grade.expected_checks(lab, "en")
    names = ['Smith, Ann', 'say "hi"', "two\nlines", "=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "张三"]
    rows = [grade.row_not_run(grade.Submission(name, problem="empty-folder", reason="the folder is empty"), expected)
            for name in names]
    rows.append(dict(grade.row_not_run(grade.Submission("zoe"), expected), status=grade.GRADED, score=3,
                     reason="=cmd.py does not parse",
                     checks=[{"passed": i == 0, "points": c["points"], "hidden": c["hidden"],
                              "earned": c["points"] if i == 0 else 0} for i, c in enumerate(expected)]))
    data = grade.gradebook_csv(rows, expected)
    text = data.decode("utf-8")  # UTF-8, Chinese names as they are
    table = list(csv.reader(io.StringIO(text, newline="")))
    visible = [c["name"] for c in expected if not c["hidden"]]
    assert table[0] == ["student", "score", "total", "status", "reason", *visible]
    assert [r[0] for r in table[1:]] == ['Smith, Ann', 'say "hi"', "two\nlines", "'=HYPERLINK(\"http://x\")",
                                         "'+1", "'-2", "'@SUM(A1)", "张三", "zoe"]
    assert all(len(r) == 5 + len(visible) for r in table)
    assert table[1][1:5] == ["0", "16", "bad submission", "the folder is empty"]
    assert table[1][5:] == [""] * len(visible)  # nothing ran: no points either way
    assert table[-1][1:5] == ["3", "16", "graded", "'=cmd.py does not parse"]
    assert table[-1][5:] == ["1"] + ["0"] * (len(visible) - 1)


def test_the_summary_counts_scores_failed_checks_and_problems(lab):
    expected = grade.expected_checks(lab, "en")

    def ran(score, failing):
        return {"status": grade.GRADED, "score": score, "problem": None, "reason": None, "student": "s",
                "checks": [{"passed": i not in failing, "points": c["points"], "hidden": c["hidden"],
                            "earned": 0 if i in failing else c["points"]} for i, c in enumerate(expected)]}

    rows = [ran(16, set()), ran(16, set()), ran(14, {1}), ran(12, {1, 2}),
            grade.row_not_run(grade.Submission("x", problem="empty-folder", reason="r"), expected),
            grade.row_not_run(grade.Submission("y", problem="empty-folder", reason="r"), expected),
            dict(grade.row_not_run(grade.Submission("z", problem="timeout", reason="r"), expected),
                 status=grade.NO_CREDIT)]
    numbers = grade.summarize(rows, expected)
    assert numbers["statuses"] == {"graded": 4, "no credit": 1, "bad submission": 2, "error": 0}
    histogram = {b["low"]: b["count"] for b in numbers["histogram"]}
    assert histogram[16] == 2 and histogram[14] == 1 and histogram[12] == 1 and histogram[0] == 3
    assert sum(histogram.values()) == 7 and len(histogram) == 17
    assert [(f["name"], f["failed"], f["of"]) for f in numbers["failed"]] == [
        (expected[1]["name"], 2, 4), (expected[2]["name"], 1, 4)]
    assert numbers["problems"] == [("empty-folder", 2), ("timeout", 1)]
    assert numbers["full"] == 2 and numbers["median"] == 12
    text = grade.summary_md(numbers, lab, _).decode("utf-8")
    assert "| 16 | 2 |" in text and "| an empty folder | 2 |" in text and "| still running at the timeout | 1 |" in text
    assert f"| {grade._md(expected[1]['name'])} | 2 | 2 of 4 |" in text


def test_every_text_of_the_grader_has_a_chinese_form():
    keys = _python_keys(ROOT / "forklab" / "grade.py")
    assert "the folder is empty" in keys and "Grades · exercise {number:02d} · {title}" in keys
    values = [*grade.PROBLEMS.values(), grade.GRADED, grade.NO_CREDIT, grade.BAD, grade.ERROR]
    missing = [key for key in [*keys, *values] if key not in i18n.ZH]
    assert not missing, missing


# -- the command: bad input, resuming ------------------------------------------------------------

@pytest.fixture
def settings(tmp_path):
    return Settings.from_config({"reports_dir": str(tmp_path / "reports")}, ROOT)


@pytest.fixture
def no_engine(monkeypatch):
    """The grader must not need an engine here: asking for one fails the test."""
    def refuse():
        raise AssertionError("an engine was asked for")

    monkeypatch.setattr(commands, "connect", refuse)


def test_a_class_of_bad_submissions_is_graded_without_an_engine_and_skipped_the_second_time(
        tmp_path, settings, no_engine, capsys):
    root = tmp_path / "class"
    for name in ("ann", "bob"):
        (root / name).mkdir(parents=True)
    (root / "cy.py").write_bytes(b"\0")
    assert grade.grade(settings, "13", str(root), 2, Terminal()) == 0
    folder = settings.reports_dir / "grade-13"
    assert sorted(p.name for p in folder.iterdir()) == ["ann", "bob", "cy", "gradebook.csv", "summary.md"]
    for student in ("ann", "bob", "cy"):
        assert sorted(p.name for p in (folder / student).iterdir()) == ["grade.json", "report.md", "results.json"]
    table = list(csv.reader(io.StringIO(folder.joinpath("gradebook.csv").read_text(encoding="utf-8"), newline="")))
    assert [(r[0], r[1], r[3]) for r in table[1:]] == [("ann", "0", "bad submission"), ("bob", "0", "bad submission"),
                                                      ("cy", "0", "bad submission")]
    err = capsys.readouterr().err
    assert "ann: bad submission: the folder is empty" in err and "skipped" not in err
    before = (folder / "ann" / "grade.json").stat().st_mtime_ns
    assert grade.grade(settings, "13", str(root), 2, Terminal()) == 0
    assert "skipped 3 student(s) graded earlier" in capsys.readouterr().err
    assert (folder / "ann" / "grade.json").stat().st_mtime_ns == before
    # A student who hands in again is graded again; the others stay skipped.
    (root / "bob" / "notes.txt").write_text("x", encoding="utf-8")
    assert grade.grade(settings, "13", str(root), 2, Terminal()) == 0
    assert "skipped 2 student(s)" in capsys.readouterr().err
    assert json.loads((folder / "bob" / "grade.json").read_text(encoding="utf-8"))["problem"] == "no-program"
    # --again grades everyone again.
    assert grade.grade(settings, "13", str(root), 2, Terminal(), again=True) == 0
    assert "skipped" not in capsys.readouterr().err


def test_students_graded_earlier_are_skipped_and_need_no_engine(tmp_path, settings, lab, no_engine, capsys):
    """What an interrupted grade leaves (each finished student's folder) is what the next one skips."""
    root = tmp_path / "class"
    root.mkdir()
    for name in ("ann", "bob"):
        (root / f"{name}.py").write_text(SOLUTION, encoding="utf-8")
    students, _ignored = grade.discover(root, lab, _)
    exercise = grade.exercise_digest(lab, catalog.exercise_data(lab))
    expected = grade.expected_checks(lab, "en")
    folder = settings.reports_dir / "grade-13"
    for submission in students:
        (tmp_path / submission.student).mkdir()
        row, files, details = run_row(lab, tmp_path / submission.student)
        row.update(student=submission.student, fingerprint=grade._full_fingerprint(submission, exercise))
        grade._write_student(settings, folder, submission, row, lab, expected, _, "after_published", files, details)
    assert grade.grade(settings, "13", str(root), 2, Terminal()) == 0
    captured = capsys.readouterr()
    assert "skipped 2 student(s) graded earlier" in captured.err
    assert "Grades · exercise 13" in captured.out
    table = list(csv.reader(io.StringIO((folder / "gradebook.csv").read_text(encoding="utf-8"), newline="")))
    assert [r[0] for r in table[1:]] == ["ann", "bob"]
    # Another timeout is another grade: those students are graded again (here: an engine is asked for).
    with pytest.raises(AssertionError, match="an engine was asked for"):
        grade.grade(settings, "13", str(root), 2, Terminal(), extra=commands.overrides(timeout="3"))
    # A row the grader could not make (status error) is never taken as finished.
    row_file = folder / "ann" / "grade.json"
    row_file.write_text(json.dumps(dict(json.loads(row_file.read_text(encoding="utf-8")), status="error")),
                        encoding="utf-8")
    assert grade.finished(folder, students[0], exercise) is None
    assert grade.finished(folder, students[1], exercise) is not None


@pytest.mark.parametrize("argv, expected", [
    (["grade", "12", "."], "forklab: lab 12 is not an exercise; the exercises are 13, 14"),
    (["grade", "99", "."], "forklab: there is no lab 99"),
    (["grade", "13", "no-such-folder"], "forklab: no-such-folder: no such folder; give the folder that holds"),
    (["grade", "13", "tasks.py"], "forklab: tasks.py: not a folder;"),
    (["grade", "13", ".", "--jobs", "0"], "forklab: --jobs 0: give a number of containers from 1 to 16"),
    (["grade", "13", ".", "--timeout", "x"], "forklab: --timeout x: not a number"),
    (["grade", "13", ".", "--gradescope-hidden", "never"], "forklab: --gradescope-hidden never: give after_published"),
    (["grade", "13"], "forklab: 'grade' did not receive required positional arguments: 'submissions'"),
])
def test_bad_input_is_one_line_and_exit_2(cli, argv, expected, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, err = cli(*argv)
    assert code == 2, err
    assert err.startswith(expected) and err.count("\n") == 1 and "Traceback" not in err
    assert not cli.reports.exists(), "nothing is written for bad input"


def test_an_empty_submissions_folder_is_exit_2(cli, tmp_path):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / ".DS_Store").write_bytes(b"")
    code, out, err = cli("grade", "13", str(tmp_path / "class"))
    assert code == 2 and "class: no submissions in it" in err and err.count("\n") == 1


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_no_engine_is_exit_3_and_nothing_is_written(cli, tmp_path, monkeypatch):
    import gc

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    (tmp_path / "class" / "ann").mkdir(parents=True)
    (tmp_path / "class" / "ann" / "main.py").write_text(SOLUTION, encoding="utf-8")
    (tmp_path / "class" / "bob").mkdir()
    code, out, err = cli("grade", "13", str(tmp_path / "class"))
    gc.collect()
    assert code == 3 and err.startswith("forklab: no container engine answers") and err.count("\n") == 1
    assert not (cli.reports / "grade-13").exists()
