"""Every possible output, from real runs: lab 23's textbook programs, --predict, --repeat and invoke run.

The counts below are derived by hand (labs/23-possible-outputs/README.md walks
each one); the graph's own tests (tests/test_graph.py) check the algorithm.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.integration.support import variant

pytestmark = pytest.mark.docker

#: variant -> (different outputs possible, every one of them when listed by hand)
BY_HAND = {
    "hello-four": (1, [["hello"] * 4]),
    "x-plus-minus": (3, [["p2: x=0", "p1: x=2", "p2: x=1"], ["p1: x=2", "p2: x=0", "p2: x=1"],
                         ["p1: x=2", "p2: x=1", "p2: x=0"]]),
    "and-or": (1, [["x"] * 5]),
    "wait": (2, [["A", "B", "C"], ["B", "A", "C"]]),
    "loop-wait": (1, [["child 0", "parent reaped 0", "child 1", "parent reaped 1"]]),
    "buffered": (2, [["p1: x=2", "p2: x=1", "p2: x=0"], ["p2: x=0", "p1: x=2", "p2: x=1"]]),
}


def test_lab_23_counts_what_was_worked_out_by_hand(lab_result):
    doc = lab_result(23)
    for name, (count, outputs) in BY_HAND.items():
        found = variant(doc, name)["orders"]
        assert found["problems"] == [], name
        assert found["count"] == count, name
        assert sorted(found["outputs"]) == sorted(outputs), name
        assert found["observed"] is True, f"{name}: the run's own output must be one of them"
    # Who wrote what: in `wait`, main writes A, waits for main.1, writes C; main.1 writes B.
    processes = {p["name"]: p["events"] for p in variant(doc, "wait")["orders"]["processes"]}
    assert processes == {"main": [["fork", "main.1"], ["write", "A\n"], ["reap", "main.1"], ["write", "C\n"]],
                         "main.1": [["write", "B\n"]]}
    # Unflushed on a pipe: each process's lines leave in one write at its exit.
    processes = {p["name"]: p["events"] for p in variant(doc, "buffered")["orders"]["processes"]}
    assert processes["main.1"] == [["write", "p1: x=2\np2: x=1\n"]]


def test_the_report_draws_the_graph_and_lists_the_outputs(cli):
    code, out, err = cli("lab", "23")
    assert code == 0, out + err
    normalized = (cli.reports / "lab-23" / "normalized.md").read_text(encoding="utf-8")
    assert normalized.count("### Every possible output") == 6
    assert "**3 different output(s) possible.**" in normalized
    assert "| 2 | B<br>A<br>C |" in normalized or "| 1 | B<br>A<br>C |" in normalized
    html = (cli.reports / "lab-23" / "report.html").read_text(encoding="utf-8")
    assert html.count('class="observed"') == 6, "each variant marks the output its run printed"
    assert html.count("<svg") >= 6 * 3, "a process graph beside each variant's tree and timeline"
    code, out, err = cli("lab", "23")
    assert (cli.reports / "lab-23" / "normalized.md").read_text(encoding="utf-8") == normalized


def test_predict_is_this_output_possible(cli):
    code, out, err = cli("lab", "23", "--predict", "--answer", "3", "--answer", "no")
    assert code == 0, out + err
    doc = json.loads((cli.reports / "lab-23" / "result.json").read_text(encoding="utf-8"))
    assert [(p["observed"], p["right"]) for p in doc["predictions"]] == [("3", True), ("no", True)]
    code, out, err = cli("lab", "23", "--predict", "--answer", "6", "--answer", "是")
    doc = json.loads((cli.reports / "lab-23" / "result.json").read_text(encoding="utf-8"))
    assert [p["right"] for p in doc["predictions"]] == [False, False]
    assert "wait" in doc["predictions"][1]["why"] and "`C` cannot come here" in doc["predictions"][1]["why"]
    assert "`C` cannot come here" in out


def test_repeat_marks_the_outputs_each_run_printed(cli):
    code, out, err = cli("lab", "23", "--repeat", "6")
    assert code == 0, out + err
    doc = json.loads((cli.reports / "lab-23-repeat" / "result.json").read_text(encoding="utf-8"))
    for summary in doc["repeat"]["variants"]:
        found = summary["orders"]
        count, outputs = BY_HAND[summary["variant"]]
        assert found["count"] == count and found["outside"] == 0 and found["graphs"] == 1
        assert sorted(o["lines"] for o in found["outputs"]) == sorted(outputs)
        assert sum(o["seen"] for o in found["outputs"]) == 6, summary["variant"]


def test_invoke_run_shows_the_outputs_of_any_fork_program(cli, tmp_path):
    script = tmp_path / "mine.py"
    script.write_text(textwrap.dedent("""
        import os
        pid = os.fork()
        if pid == 0:
            print("child one", flush=True)
            print("child two", flush=True)
            os._exit(0)
        print("parent", flush=True)
        os.waitpid(pid, 0)
        print("done", flush=True)
    """), encoding="utf-8")
    code, out, err = cli("run", str(script))
    assert code == 0, out + err
    report = (cli.reports / "run-mine" / "report.md").read_text(encoding="utf-8")
    assert "**3 different output(s) possible.**" in report
    assert "This run printed output" in report
    assert "every possible output: 3; this run printed number " in out
    # An exec'd program's output is not followed, and the report says so rather than count.
    script.write_text("import os\nif os.fork() == 0:\n    os.execvp('echo', ['echo', 'hi'])\nos.wait()\n",
                      encoding="utf-8")
    code, out, err = cli("run", str(script))
    report = (cli.reports / "run-mine" / "report.md").read_text(encoding="utf-8")
    assert "The kit does not count them for this run" in report and "echo" in report
    assert "every possible output: not counted (" in out
