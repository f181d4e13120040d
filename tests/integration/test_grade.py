"""`invoke grade` on a small class in real containers (a loop and a fork bomb among them): the gradebook, each student's
results.json, no container left, and Ctrl-C keeping the students already graded."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.support import containers_of
from tests.support import ROOT

pytestmark = pytest.mark.docker

EXERCISE = ROOT / "labs" / "13-reap-in-order"


def gradebook(folder: Path) -> dict[str, dict]:
    text = (folder / "gradebook.csv").read_text(encoding="utf-8")
    return {row["student"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}


def results(folder: Path, student: str) -> dict:
    return json.loads((folder / student / "results.json").read_text(encoding="utf-8"))


def test_a_class_gets_its_gradebook_and_a_results_json_each(engine, cli, tmp_path, no_leftovers):
    root = tmp_path / "class"
    for name in ("full", "syntax", "loop", "bomb", "link"):
        (root / name).mkdir(parents=True)
    (root / "full" / "main.py").write_bytes((EXERCISE / "solution.py").read_bytes())
    (root / "starter.py").write_bytes((EXERCISE / "starter.py").read_bytes())
    (root / "syntax" / "main.py").write_text("import os\ndef reap(:\n    pass\n", encoding="utf-8")
    (root / "loop" / "main.py").write_text("while True:\n    pass\n", encoding="utf-8")
    (root / "bomb" / "main.py").write_bytes((ROOT / "tests" / "hostile" / "fork_bomb.py").read_bytes())
    secret = tmp_path / "secret.py"
    secret.write_text("print('not to be sent')\n", encoding="utf-8")
    (root / "link" / "main.py").symlink_to(secret)

    code, out, err = cli("grade", "13", str(root), "--timeout", "3", "--jobs", "2")
    assert code == 0, err
    folder = cli.reports / "grade-13"
    rows = gradebook(folder)
    assert list(rows) == ["bomb", "full", "link", "loop", "starter", "syntax"]
    summary = {name: (row["score"], row["total"], row["status"]) for name, row in rows.items()}
    assert summary["full"] == ("16", "16", "graded")
    assert summary["link"] == ("0", "16", "bad submission")
    assert summary["loop"] == summary["syntax"] == summary["bomb"] == ("0", "16", "no credit")
    assert summary["starter"][2] == "graded" and 0 < int(summary["starter"][0]) < 16
    assert rows["full"]["reason"] == "" and rows["starter"]["reason"] == ""
    assert rows["syntax"]["reason"].startswith("main.py does not parse: SyntaxError: ")
    assert rows["loop"]["reason"].startswith("it was still running after 3 s: an endless loop")
    assert rows["bomb"]["reason"].startswith("it reached the pids limit")
    assert rows["link"]["reason"] == "link/main.py is a symbolic link out of the student's folder"
    checks = [name for name in rows["full"] if name not in ("student", "score", "total", "status", "reason")]
    assert len(checks) == 7 and [rows["full"][name] for name in checks] == ["1", "2", "2", "2", "2", "1", "1"]
    assert [rows["link"][name] for name in checks] == [""] * 7  # nothing ran
    assert [rows["loop"][name] for name in checks] == ["0"] * 7  # it ran; nothing counts

    for student, row in rows.items():
        graded = results(folder, student)
        assert graded["score"] == int(row["score"]) and graded["max_score"] == 16
        assert sum(test["score"] for test in graded["tests"]) == graded["score"]
        hidden = [test for test in graded["tests"] if test["visibility"] != "visible"]
        assert [test["visibility"] for test in hidden] == ["after_published"] * 5
    assert {test["status"] for test in results(folder, "full")["tests"]} == {"passed"}
    assert {test["status"] for test in results(folder, "loop")["tests"]} == {"failed"}
    # The students whose program ran have the report `invoke check` writes; the link's target was never read.
    assert {"report.md", "report.html", "result.json", "stdout.log"} <= {p.name for p in (folder / "full").iterdir()}
    assert "not to be sent" not in "".join(p.read_text(encoding="utf-8", errors="replace")
                                           for p in folder.rglob("*") if p.is_file())
    text = (folder / "summary.md").read_text(encoding="utf-8")
    assert "6 students: 2 graded, 3 earned nothing, 1 bad submission(s), 0 not graded" in text
    assert "| 16 | 1 |" in text and "| a symbolic link out of the folder | 1 |" in text
    assert "Grades · exercise 13" in out and "gradebook: " in out

    # Again: every student is skipped, nothing runs, the gradebook is the same.
    before = (folder / "gradebook.csv").read_bytes()
    code, out, err = cli("grade", "13", str(root), "--timeout", "3")
    assert code == 0 and "skipped 6 student(s) graded earlier" in err
    assert (folder / "gradebook.csv").read_bytes() == before


def test_ctrl_c_keeps_the_students_graded_and_the_next_call_grades_the_others(engine, tmp_path, no_leftovers):
    root = tmp_path / "class"
    for name in ("a-full", "b-loop"):
        (root / name).mkdir(parents=True)
    (root / "a-full" / "main.py").write_bytes((EXERCISE / "solution.py").read_bytes())
    (root / "b-loop" / "main.py").write_text("while True:\n    pass\n", encoding="utf-8")
    reports = tmp_path / "reports"
    env = {**os.environ, "INVOKE_FORKLAB_REPORTS_DIR": str(reports)}
    command = [sys.executable, "-m", "invoke", "grade", "13", str(root), "--jobs", "1", "--timeout", "2"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    folder = reports / "grade-13"
    try:
        # One at a time, in name order: once a-full is written, the next container is b-loop's.
        deadline = time.monotonic() + 120
        while not ((folder / "a-full" / "grade.json").exists() and containers_of(engine, "check-13")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "b-loop's container never appeared"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "1 of 2 students are graded and kept in" in err
    assert json.loads((folder / "a-full" / "grade.json").read_text(encoding="utf-8"))["score"] == 16
    assert not (folder / "b-loop").exists() and not (folder / "gradebook.csv").exists()
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # nothing half-written

    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "skipped 1 student(s) graded earlier" in again.stderr
    rows = gradebook(folder)
    assert (rows["a-full"]["score"], rows["b-loop"]["status"]) == ("16", "no credit")
