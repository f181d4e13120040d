"""A main that exits with a code other than 0: its traceback comes first, in the report and the terminal (no engine)."""

from __future__ import annotations

import io

from forklab import normalize, report, result
from tests.support import ENVIRONMENT, MAIN, evaluated, runner_document

CHILD_TRACEBACK = """\
Traceback (most recent call last):
  File "/tmp/lab/lab.py", line 4, in <module>
    child()
OSError: the child's own error
"""
MAIN_TRACEBACK = f"""\
Traceback (most recent call last):
  File "/tmp/lab/lab.py", line 9, in <module>
    os.waitpid({MAIN}, 0)
ChildProcessError: [Errno 10] No child processes

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/tmp/lab/lab.py", line 11, in <module>
    raise RuntimeError("main {MAIN} gives up")
RuntimeError: main {MAIN} gives up
"""


def crashed(code: int = 1, stderr: str = CHILD_TRACEBACK + "a line\n" + MAIN_TRACEBACK + "printed later\n") -> dict:
    doc = runner_document()
    doc["exit"] = {"raw": code << 8, "code": code, "signal": None, "signal_name": None}
    doc["stderr"] = stderr
    return doc


def test_the_traceback_is_main_s_last_with_what_it_chains_to():
    assert normalize.main_traceback(crashed()) == MAIN_TRACEBACK
    # The child's, before main's, is left out; so is what follows the exception's line.


def test_there_is_none_when_main_exits_with_0_or_is_killed_or_prints_none():
    assert normalize.main_traceback(crashed(0)) == ""
    killed = crashed()
    killed["exit"] = {"raw": 9, "code": None, "signal": 9, "signal_name": "SIGKILL"}
    assert normalize.main_traceback(killed) == ""
    assert normalize.main_traceback(crashed(3, "sys.exit(3) prints nothing\n")) == ""
    # A traceback without a chain is taken alone.
    assert normalize.main_traceback(crashed(1, CHILD_TRACEBACK)) == CHILD_TRACEBACK


def rendered(tmp_path, doc: dict) -> dict[str, str]:
    document = evaluated(tmp_path, "  - {check: no-zombies-at-end}\n", doc)
    document["environment"].update(ENVIRONMENT)
    files = report.render(document, [result.output_bytes({"document": doc})])
    return {name: files[name].decode("utf-8") for name in ("normalized.md", "report.html")}, document


def test_the_report_shows_it_first(tmp_path):
    files, _ = rendered(tmp_path, crashed())
    text = files["normalized.md"]
    status, after = text.split("**The lab's main process exited with code 1**:\n\n```text\n", 1)
    assert status.startswith("# Lab 05 · Test\n**Status: error**")
    shown, rest = after.split("```\n", 1)
    assert shown.startswith("Traceback (most recent call last):\n") and "RuntimeError: main" in shown
    assert "the child's own error" not in shown
    assert rest.lstrip("\n").startswith("A test.")  # then the summary and everything else
    assert '<pre class="traceback">Traceback (most recent call last):' in files["report.html"]
    # Without a traceback, nothing is added.
    files, _ = rendered(tmp_path, crashed(1, "no traceback\n"))
    assert "exited with code" not in files["normalized.md"].split("A test.")[0]


def test_the_terminal_shows_it_first_and_not_again_in_the_tail(tmp_path):
    from rich.console import Console

    from forklab.console import Terminal

    _, document = rendered(tmp_path, crashed())
    assert document["status"] == "error"  # main's exit is not checked: the tail of the output is shown too
    term = Terminal()
    term.out = Console(file=io.StringIO(), width=200, highlight=False, soft_wrap=True)
    term.lab_summary(document, tmp_path)
    lines = term.out.file.getvalue().splitlines()
    assert lines[0] == "Lab 05 · Test"
    assert lines[1] == "  the lab's main process exited with code 1:"
    assert lines[2:4] == ["    Traceback (most recent call last):", '      File "/tmp/lab/lab.py", line 9, in <module>']
    assert lines[12] == f"    RuntimeError: main {MAIN} gives up"
    assert lines[13].startswith("  ✓ ")  # then the checks
    assert "last lines of stderr:" not in lines and "last lines of stdout:" in "\n".join(lines)
