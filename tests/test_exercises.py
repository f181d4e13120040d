"""Exercises (kind: exercise), `invoke check`'s grading and `invoke handout`, without an engine."""

from __future__ import annotations

import gzip
import io
import re
import shutil
import tarfile

import pytest
import yaml
from rich.console import Console

import tasks
from forklab import catalog, checks, console, exercises, handout
from forklab.errors import UsageError
from tests.support import (
    EXERCISES,
    GRADED,
    LABS,
    ROOT,
    distinctive_lines,
    evaluated,
    exercise,
    graded,
    runner_document,
)


def names_in(archive: bytes) -> set:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(archive))) as tar:
        return set(tar.getnames())


# -- the catalog -------------------------------------------------------------------------------

def test_the_course_ships_four_exercises_each_with_a_starter_and_a_solution():
    assert [path.name[:2] for path in EXERCISES] == ["13", "14", "15", "16"]
    for path in EXERCISES:
        lab = catalog.load_lab(path)
        assert lab.spec.kind == "exercise" and lab.solution_path.is_file() and lab.starter_path.is_file()
        # Every exercise has hidden checks, and hints that say it in Chinese too.
        expect = lab.spec.expect
        assert any(c.hidden for c in expect) and any(not c.hidden for c in expect)
        assert all(bool(c.hint) == bool(c.hint_zh) for c in expect), path.name


def test_an_exercise_runs_its_solution_and_never_ships_its_starter(tmp_path):
    lab = catalog.load_lab(exercise(tmp_path))
    assert lab.spec.kind == "exercise" and lab.kind == "lab"
    script, archive = lab.program()
    assert script == "solution.py"
    assert names_in(archive) == {"solution.py", "lab.yaml", "data.txt"}


def test_an_exercise_needs_a_starter_and_has_no_lab_py(tmp_path):
    folder = exercise(tmp_path)
    (folder / "lab.py").write_text("", encoding="utf-8")
    with pytest.raises(UsageError, match="an exercise has no lab.py"):
        catalog.load_lab(folder)
    (folder / "lab.py").unlink()
    (folder / "starter.py").unlink()
    with pytest.raises(UsageError, match=r"needs its program \(an exercise.s folder: its starter.py\)"):
        catalog.load_lab(folder)


def test_a_students_copy_without_the_solution_loads_but_has_nothing_for_invoke_lab(tmp_path):
    lab = catalog.load_lab(exercise(tmp_path, solution=False))
    assert lab.missing_solution
    with pytest.raises(UsageError) as caught:
        lab.program()
    assert caught.value.message == ("lab 21 is an exercise and this copy has no solution.py; "
                                    "check your own program with `invoke check 21`")


def test_a_submission_goes_with_the_exercises_data_but_not_its_solution_starter_or_lab_yaml(tmp_path):
    lab = catalog.load_lab(exercise(tmp_path))
    mine = tmp_path / "mine.py"
    mine.write_text("print('hi')\n", encoding="utf-8")
    checked = catalog.load_submission(lab, mine)
    assert checked.kind == "check" and checked.report_name == "check-21"
    script, archive = checked.program()
    assert script == "mine.py" and names_in(archive) == {"mine.py", "data.txt"}
    # It runs with the exercise's own checks and settings.
    assert checked.runs()[0].expect == lab.runs()[0].expect


@pytest.mark.parametrize("name, content, message", [
    ("gone.py", None, "gone.py: no such file"),
    ("notes.txt", "x", "notes.txt: not a Python file; give the .py file you wrote"),
    ("nul.py", "a\0b", "nul.py: not Python source (it holds NUL bytes)"),
])
def test_a_bad_submission_path_is_one_line(tmp_path, name, content, message):
    lab = catalog.load_lab(exercise(tmp_path))
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        catalog.load_submission(lab, path)
    assert caught.value.message.endswith(message) and "\n" not in caught.value.message


def test_points_are_whole_numbers_from_zero_and_one_by_default(tmp_path):
    lab = catalog.load_lab(exercise(tmp_path, "  - {check: no-zombies-at-end}\n"
                                              "  - {check: no-zombies-at-end, points: 3}\n"))
    assert [c.points for c in lab.spec.expect] == [1, 3]
    with pytest.raises(UsageError, match=r"expect\[0\]\.points"):
        catalog.load_lab(exercise(tmp_path / "b", "  - {check: no-zombies-at-end, points: -1}\n"))


def test_a_check_role_may_be_a_name_from_the_fork_tree(tmp_path):
    lab = catalog.load_lab(exercise(tmp_path, "  - {check: absent, checkpoint: end, role: main.1}\n"))
    assert lab.spec.expect[0].role == "main.1"


# -- grading -----------------------------------------------------------------------------------


def test_evaluate_gives_each_check_its_points_hidden_and_hint(tmp_path):
    document = evaluated(tmp_path, GRADED)
    first = document["checks"][0]
    assert (first["points"], first["hidden"], first["hint"]) == (3, False, "print it twice")
    assert document["checks"][1]["points"] == 1 and document["checks"][1]["hint"] == "keep it alive"
    lab = catalog.load_lab(tmp_path / "05-test")
    assert checks.hint(lab.spec.expect[0], "zh") == "打印两次"
    assert checks.hint(lab.spec.expect[1], "zh") == "keep it alive"  # no hint_zh: the English one


def test_the_score_is_the_points_of_the_checks_that_passed(tmp_path):
    document = graded(tmp_path)
    # lines (3) passed, child in S failed (1), no zombies at end passed (1), parent in Z failed (1).
    assert document["score"] == {"earned": 4, "total": 6}
    assert document["check"] == {"submission": "mine.py", "reason": None, "counted": True,
                                 "hidden": {"passed": 1, "total": 2}}


def test_hidden_checks_say_nothing_but_whether_they_passed_and_go_last_passed_first(tmp_path):
    document = graded(tmp_path)
    hidden = [c for c in document["checks"] if c["hidden"]]
    assert [c["passed"] for c in hidden] == [True, False]
    assert all(c["name"] == "hidden check" and c["detail"] == "" and c["hint"] is None for c in hidden)
    assert [c["hidden"] for c in document["checks"]] == [False, False, True, True]
    text = repr(document)
    assert "secret" not in text and "parent in state Z" not in text


def test_a_program_that_does_not_parse_scores_zero_and_says_where(tmp_path):
    doc = runner_document()
    doc["exit"] = {"raw": 256, "code": 1, "signal": None, "signal_name": None}
    doc["stderr"] = '  File "/tmp/lab/mine.py", line 3\n    def f(\n         ^\nSyntaxError: \'(\' was never closed\n'
    document = graded(tmp_path, doc)
    assert document["score"]["earned"] == 0
    assert document["check"]["reason"] == "mine.py does not parse: SyntaxError: '(' was never closed (line 3)"
    assert document["check"]["counted"] is False


def test_a_syntax_error_raised_while_running_is_a_crash_not_a_program_that_does_not_parse(tmp_path):
    doc = runner_document()
    doc["exit"] = {"raw": 256, "code": 1, "signal": None, "signal_name": None}
    doc["stderr"] = 'Traceback (most recent call last):\n  File "x", line 1\nSyntaxError: bad input\n'
    document = graded(tmp_path, doc)
    assert document["check"]["reason"] == "it crashed (exit code 1): SyntaxError: bad input"
    assert document["check"]["counted"] is True and document["score"]["earned"] == 4


def test_a_timeout_or_the_pids_limit_scores_zero(tmp_path):
    document = graded(tmp_path, timed_out=True)
    assert document["score"] == {"earned": 0, "total": 6}
    assert document["check"]["reason"].startswith("it was still running after 20 s: an endless loop")
    doc = runner_document()
    doc["peak_processes"] = 64
    (tmp_path / "b").mkdir()
    document = graded(tmp_path / "b", doc)
    assert document["score"]["earned"] == 0
    assert document["check"]["reason"].startswith("it reached the pids limit (64 processes at once)")


def test_the_terminal_shows_checks_hints_the_hidden_count_and_the_score(tmp_path):
    document = graded(tmp_path)
    term = console.Terminal("en")
    term.out = Console(file=io.StringIO(), width=200, highlight=False, soft_wrap=True)
    term.check_summary(document, tmp_path / "reports" / "check-05")
    text = term.out.file.getvalue()
    assert "Check · exercise 05 · Test · mine.py" in text
    assert "✓ 2 stdout line(s) match /^哈哈哈$/ (3 points)" in text
    assert "✗ child is in state S at zombie" in text
    assert "expected child in state S at zombie; saw Z" in text and "hint: keep it alive" in text
    assert "hint: print it twice" not in text  # a passed check needs no hint
    assert "hidden checks: 1 of 2 passed" in text and "secret" not in text
    assert "score: 4 of 6 points" in text


def test_the_report_shows_the_score(tmp_path):
    from forklab import commands, report, result
    from tests.test_i18n import ENVIRONMENT

    evaluated(tmp_path, GRADED)  # makes the lab folder
    lab = catalog.load_lab(tmp_path / "05-test")
    [variant] = lab.runs()
    document = commands.checked(lab, variant, {"document": runner_document(), "timed_out": False,
                                                "container_exit": 0}, ENVIRONMENT)
    exercises.grade(document, "mine.py", "en")
    files = report.render(document, [result.output_bytes({"document": runner_document()})])
    assert "**Score: 4 of 6 points**" in files["normalized.md"].decode("utf-8")
    assert "Score: 4 of 6 points" in files["report.html"].decode("utf-8")
    for name, data in files.items():
        assert b"secret" not in data, name


def test_the_working_copy_is_made_from_the_starter_once_and_never_overwritten(tmp_path):
    lab = catalog.load_lab(exercise(tmp_path))
    path, made = exercises.working_copy(tmp_path / "labs", lab)
    assert made and path == tmp_path / "work" / "21-mine.py"
    assert path.read_text(encoding="utf-8") == "# TODO: fork\n"
    path.write_text("# mine now\n", encoding="utf-8")
    again, made = exercises.working_copy(tmp_path / "labs", lab)
    assert again == path and not made and path.read_text(encoding="utf-8") == "# mine now\n"


@pytest.mark.parametrize("argv, expected", [
    (["check", "13"], ["check", "13"]),
    (["check", "13", "work/x.py"], ["check", "13", "--path", "work/x.py"]),
    (["check", "--lang", "zh", "13", "x.py"], ["check", "--lang", "zh", "13", "--path", "x.py"]),
    (["check", "13", "--path", "x.py"], ["check", "13", "--path", "x.py"]),
    (["lab", "3"], ["lab", "3"]),
])
def test_invoke_check_takes_an_optional_path_after_the_number(argv, expected):
    assert tasks._check_path_as_option(argv) == expected


def test_invoke_check_of_a_lab_that_is_not_an_exercise_is_one_line_and_exit_2(cli):
    code, out, err = cli("check", "3")
    assert code == 2 and err == "forklab: lab 03 is not an exercise; the exercises are 13, 14, 15, 16\n"


def test_invoke_check_of_a_missing_file_is_one_line_and_exit_2(cli, tmp_path):
    code, out, err = cli("check", "13", str(tmp_path / "gone.py"))
    assert code == 2 and err == f"forklab: {tmp_path / 'gone.py'}: no such file\n"


# -- the handout -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def made_handout(tmp_path_factory):
    out = tmp_path_factory.mktemp("handout") / "course"
    summary = handout.write(ROOT, LABS, out)
    return out, summary


def test_distinctive_lines_are_found():
    lines = distinctive_lines(LABS / "13-reap-in-order" / "solution.py")
    assert "pid, status = os.waitpid(pid, 0)" in lines and "import os" not in lines
    assert "pid = os.fork()" not in lines, "a line every lab has gives nothing away"
    for path in EXERCISES:
        assert len(distinctive_lines(path / "solution.py")) >= 5, path.name


def test_no_solution_text_is_in_the_handout(made_handout):
    out, summary = made_handout
    assert summary["solutions"] == 4
    assert not list(out.rglob("solution.py"))
    texts = {path: path.read_bytes().decode("utf-8", "replace") for path in out.rglob("*") if path.is_file()}
    assert len(texts) > 50, "the handout holds the kit and the labs"
    for path in EXERCISES:
        for line in distinctive_lines(path / "solution.py"):
            holders = [str(file.relative_to(out)) for file, text in texts.items() if line in text]
            assert not holders, f"{path.name}'s solution line {line!r} is in {holders}"


def test_the_handout_keeps_the_kit_lessons_and_starters_not_the_tests(made_handout):
    out, _ = made_handout
    for name in ("tasks.py", "README.md", "pyproject.toml", "forklab/runner.py", "containers/Dockerfile",
                 "labs/GLOSSARY.zh.md", "labs/13-reap-in-order/starter.py", "labs/13-reap-in-order/README.zh.md",
                 "labs/15-pipeline/shelf/fork.txt", "labs/03-zombies-and-orphans/lab.py"):
        assert (out / name).is_file(), name
    assert not (out / "tests").exists() and not (out / "reports").exists() and not (out / "work").exists()
    assert not list(out.rglob("__pycache__"))


def test_the_handouts_labs_load_without_hidden_checks_or_given_away_answers(made_handout):
    out, summary = made_handout
    labs = {number: catalog.load_lab(path) for number, path in catalog.find_labs(out / "labs").items()}
    assert sorted(labs) == sorted(catalog.find_labs(LABS))
    course = {number: catalog.load_lab(path) for number, path in catalog.find_labs(LABS).items()}
    hidden = sum(1 for lab in course.values() for c in lab.spec.expect if c.hidden)
    assert summary["hidden"] == hidden > 0
    for number, lab in labs.items():
        every = [*lab.spec.expect, *(c for v in lab.spec.variants for c in v.expect)]
        assert not any(c.hidden for c in every), number
        if lab.spec.kind == "exercise":
            assert lab.missing_solution and not lab.spec.claims
    # Lab 06 asks how many processes three forks make: its processes check would answer it.
    assert not [c for c in labs[6].spec.expect if c.check == "processes"]
    assert [c for c in course[6].spec.expect if c.check == "processes"]
    assert summary["answers"] > 0
    # Lab 23 asks how many outputs a program can print: no variant keeps its count.
    assert not [c for v in labs[23].spec.variants for c in v.expect if c.check == "orders"]
    # Every other check stays.
    for number, lab in course.items():
        questions = [q.answer.model_dump() for q in lab.spec.predict]
        kept = [c for c in lab.spec.expect if not c.hidden
                and not any(handout._answers(c.model_dump(), answer) for answer in questions)]
        assert len(labs[number].spec.expect) == len(kept), number


def test_a_prediction_is_given_away_only_by_the_checks_that_state_its_answer():
    assert handout._answers({"check": "lines", "match": "^哈哈哈$", "count": 8}, {"lines": "^哈哈哈$"})
    assert not handout._answers({"check": "lines", "match": "^准备fork$", "count": 1}, {"lines": "^哈哈哈$"})
    assert handout._answers({"check": "state", "checkpoint": "zombie", "role": "child", "state": "Z"},
                            {"zombies_at": "zombie"})
    assert not handout._answers({"check": "state", "checkpoint": "end", "role": "child", "state": "Z"},
                                {"zombies_at": "zombie"})
    assert handout._answers({"check": "parent", "checkpoint": "adopted", "role": "orphan", "parent": "reaper"},
                            {"parent": "orphan@adopted"})
    assert not handout._answers({"check": "parent", "checkpoint": "adopted", "role": "middle", "parent": "reaper"},
                                {"parent": "orphan@adopted"})
    # How many outputs, or whether one is possible: an orders check states the count.
    assert handout._answers({"check": "orders", "count": 3}, {"orders": True})
    assert handout._answers({"check": "orders", "count": 2}, {"possible": ["A", "C", "B"]})
    assert not handout._answers({"check": "processes", "count": 5}, {"orders": True})


def test_an_exercises_claims_and_their_verdicts_are_left_out(tmp_path):
    root = tmp_path / "course"
    shutil.copytree(LABS / "01-fork-returns", root / "labs" / "01-fork-returns")
    shutil.copy(LABS / "claims.yaml", root / "labs" / "claims.yaml")
    folder = root / "labs" / "21-mine"
    folder.mkdir()
    (folder / "starter.py").write_text("# TODO\n", encoding="utf-8")
    (folder / "solution.py").write_text("import os\n", encoding="utf-8")
    (folder / "lab.yaml").write_text("kind: exercise\nnumber: 21\ntitle: Mine\nsummary: x.\nclaims:\n"
                                     "  - {id: zombie-is-the-parent, shows: it is the child}\n"
                                     "expect:\n  - {check: no-zombies-at-end}\n", encoding="utf-8")
    summary = handout.write(root, root / "labs", tmp_path / "out")
    students = yaml.safe_load((tmp_path / "out/labs/21-mine/lab.yaml").read_text(encoding="utf-8"))
    assert "claims" not in students
    ids = [claim["id"] for claim in yaml.safe_load((tmp_path / "out/labs/claims.yaml").read_text(encoding="utf-8"))]
    assert "zombie-is-the-parent" not in ids and ids, "only the claims lab 01 tests are kept"
    assert summary["claims"] > 1
    for _, path in catalog.find_labs(tmp_path / "out" / "labs").items():
        catalog.load_lab(path)


def test_the_handout_replaces_only_an_earlier_handout(tmp_path):
    out = tmp_path / "out"
    handout.write(ROOT, LABS, out)
    (out / "stale.txt").write_text("from before", encoding="utf-8")
    handout.write(ROOT, LABS, out)
    assert not (out / "stale.txt").exists() and (out / "tasks.py").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no half-made folder is left"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match="not empty and not a handout"):
        handout.write(ROOT, LABS, mine)
    assert (mine / "thesis.tex").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("where", [".", "labs", "labs/13-reap-in-order", ".."])
def test_the_handout_is_never_written_over_the_course(where):
    with pytest.raises(UsageError) as caught:
        handout.write(ROOT, LABS, ROOT / where)
    assert "\n" not in caught.value.message


def test_invoke_handout_says_what_it_left_out(cli, tmp_path):
    code, out, err = cli("handout", "--out", str(tmp_path / "students"))
    assert code == 0, err
    kinds = [yaml.safe_load((folder / "lab.yaml").read_text(encoding="utf-8")).get("kind", "lab")
             for folder in LABS.iterdir() if re.match(r"\d\d-", folder.name)]
    assert kinds.count("exercise") == 4 and kinds.count("lab") >= 12
    assert re.search(rf"handout: .*students \({kinds.count('lab')} labs and 4 exercises; left out: 4 solutions, "
                     r"\d+ hidden checks", out)
    code, out, err = cli("handout", "--out", str(ROOT / "labs"))
    assert code == 2 and err.startswith("forklab: --out ") and err.count("\n") == 1
