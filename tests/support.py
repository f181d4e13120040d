"""What the tests share that is not a fixture: paths, markers and helpers (fixtures and hooks live in conftest.py).

Import these from here, never from a conftest module or another test module.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from invoke import Collection, Program

import tasks
from forklab import catalog, checks, exercises, report, result
from forklab.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_LABS = ROOT / "tests" / "fixtures" / "labs"


def invoke_cli(argv: list[str], capsys, env: dict[str, str] | None = None, monkeypatch=None) -> tuple[int, str, str]:
    """Run ``invoke ARGV`` in-process, as a user would; return (exit code, stdout, stderr)."""
    if env and monkeypatch:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
    namespace = Collection.from_module(tasks)
    code = 0
    try:
        Program(namespace=namespace, version="test").run(["invoke", *argv], exit=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a Linux host")


# -- the in-container runner, run directly on the host ----------------------------------

def run_runner(tmp_path: Path, program: str, timeout: float = 15, **settings) -> dict:
    lab = tmp_path / "lab.py"
    lab.write_text(textwrap.dedent(program), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'containers'}",
           # The host's own setting must not reach the lab: the runner decides buffering.
           "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, "-m", "forklab.runner", "--settings",
                           json.dumps({"timeout": timeout, **settings}), str(lab)],
                          capture_output=True, env=env, timeout=timeout + 30, check=True)
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 1, "the runner prints exactly one line: its document"
    return json.loads(lines[0])


# -- a small result document made here (no engine) --------------------------------------

RUNNER, MAIN, CHILD, ORPHAN = 1, 7, 8, 12


def row(pid, ppid, state="S", command="python3 lab.py", rss_kb=9000):
    return {"pid": pid, "ppid": ppid, "pgid": MAIN, "state": state, "comm": "python3",
            "command": command, "threads": 1, "rss_kb": rss_kb, "private_kb": rss_kb // 3}


def runner_document() -> dict:
    ok = {"raw": 0, "code": 0, "signal": None, "signal_name": None}
    return {
        "schema": "forklab.runner/1", "status": "finished",
        "environment": {"runner_pid": RUNNER, "pid1": "runner", "subreaper": False, "os": "Debian 12",
                        "kernel": "6.1", "cgroup": "v2", "python": "3.11.2", "uid": 1000, "gid": 1000,
                        "limits": {"pids": 64, "memory_bytes": 268435456, "timeout_s": 20},
                        "network_interfaces": ["lo"], "read_only_root": True,
                        "capabilities_effective": "0000000000000000", "no_new_privileges": True,
                        "stdout": "pipe", "unbuffered": False, "reaper": True},
        "main": {"pid": MAIN, "script": "lab.py"}, "exit": ok,
        "stdout": "哈哈哈\n哈哈哈\nnot this one: 哈\n", "stderr": "", "truncated": {},
        "snapshots": [
            {"checkpoint": "zombie", "by": MAIN, "t_ms": 1.0, "cost_ms": 9.0, "ps": "PID ...\n",
             "processes": [row(RUNNER, 0, "R", "python3 -m forklab.runner"), row(MAIN, RUNNER),
                           row(CHILD, MAIN, "Z", "[python3] <defunct>", 0), row(30, MAIN)]},
            {"checkpoint": "adopted", "by": ORPHAN, "t_ms": 2.0, "cost_ms": 9.0, "ps": "PID ...\n",
             "processes": [row(RUNNER, 0, "R"), row(MAIN, RUNNER), row(ORPHAN, RUNNER)]},
            {"checkpoint": "end", "by": RUNNER, "t_ms": 3.0, "cost_ms": 9.0, "ps": "PID ...\n",
             "processes": [row(RUNNER, 0, "R")]},
        ],
        "events": [
            {"event": "fork", "t_ms": 0.1, "pid": MAIN, "ppid": RUNNER},
            {"event": "fork", "t_ms": 0.2, "pid": CHILD, "ppid": MAIN},
            {"event": "fork", "t_ms": 0.3, "pid": ORPHAN, "ppid": CHILD},
            {"event": "adopt", "t_ms": 1.5, "pid": ORPHAN, "by": RUNNER},
            {"event": "exit", "t_ms": 2.5, "pid": ORPHAN, "status": {**ok, "raw": 768, "code": 3}},
            {"event": "reap", "t_ms": 2.5, "pid": ORPHAN, "by": RUNNER},
            {"event": "exit", "t_ms": 2.9, "pid": MAIN, "status": ok},
            {"event": "reap", "t_ms": 2.9, "pid": MAIN, "by": RUNNER},
        ],
        "roles": {str(RUNNER): "reaper", str(MAIN): "parent", str(CHILD): "child", str(ORPHAN): "orphan"},
        "warnings": [], "duration_ms": 3.5,
    }


def lab_with(tmp_path: Path, expect_yaml: str) -> catalog.Lab:
    folder = tmp_path / "05-test"
    folder.mkdir(exist_ok=True)
    (folder / "lab.py").write_text("", encoding="utf-8")
    (folder / "lab.yaml").write_text(
        "number: 5\ntitle: Test\nsummary: A test.\nkey_checkpoint: zombie\n"
        "claims:\n  - {zh: 僵尸进程是父进程, en: The zombie is the parent, verdict: 'false'}\n"
        f"expect:\n{expect_yaml}", encoding="utf-8")
    return catalog.load_lab(folder)


def evaluated(tmp_path, expect_yaml: str, doc: dict | None = None) -> dict:
    lab = lab_with(tmp_path, expect_yaml)
    run = {"document": doc or runner_document(), "timed_out": False, "container_exit": 0}
    [variant] = lab.runs()
    document = result.assemble(lab, variant, run, {"host": {}, "engine": {}, "image": {}})
    document["checks"] = checks.evaluate(variant.expect, document)
    document["status"] = result.decide_status(document, checks.checks_main_exit(variant.expect))
    return document


def rendered(tmp_path, doc=None) -> dict[str, bytes]:
    document = evaluated(tmp_path, "  - {check: state, checkpoint: zombie, role: child, state: Z}\n", doc)
    document["environment"].update(host={"os": "Linux", "release": "6", "arch": "x86_64", "python": "3.11"},
                                   engine={"name": "Docker Engine", "version": "20.10", "os": "linux",
                                           "arch": "amd64", "endpoint": "unix:///x", "found_via": "test"},
                                   image={"tag": "forklab/lab:x", "base": "b", "id": "sha256:1"})
    return report.render(document, [result.output_bytes({"document": doc or runner_document()})])
# A command line (argv) that sets the terminal's title, clears the screen, moves
# back over what was written, reverses the text after it, starts HTML and a
# character reference, splits a table cell and forges a second line.
HOSTILE_ARGV = ("python3 -c pass \x1b]0;PWNED\x07\x1b[2J\r\x08 \u202eexe.txt\u202c \u2066iso\u2069 \x9b1m "
                "<b>bold</b> &#x202e; a|b `tick\n└── reaper  forged")
# A zombie's command is its comm, which prctl(PR_SET_NAME) sets to anything.
HOSTILE_COMM = "[\x1b[2J\u202e\x07] <defunct>"
# A checkpoint's name is any string of up to 64 characters the lab chooses.
HOSTILE_NAME = "we`ird | <b>\x1b[2J\u202e\nname"
# Raw control, bidi and invisible characters: none may reach a report (newline and tab may).
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def hostile_document() -> dict:
    doc = runner_document()
    zombie, adopted = doc["snapshots"][0], doc["snapshots"][1]
    zombie["processes"][2]["command"] = HOSTILE_COMM
    zombie["processes"][3]["command"] = HOSTILE_ARGV
    adopted["checkpoint"] = HOSTILE_NAME
    adopted["processes"].append(row(CHILD, MAIN, "Z", HOSTILE_COMM, 0))
    doc["stdout"] = "bidi: \u202etxt.exe\u202c, isolated \u2067x\u2069, \u200bhidden\n"
    return doc


# -- lab.yaml -----------------------------------------------------------------------------

GOOD = """\
number: 7
title: A lab
summary: What it shows.
expect:
  - check: lines
    match: "^hi$"
    count: 1
"""


def make_lab(tmp_path: Path, yaml_text: str, folder: str = "07-a-lab") -> Path:
    path = tmp_path / folder
    path.mkdir(parents=True)
    (path / "lab.py").write_text("print('hi')\n", encoding="utf-8")
    (path / "lab.yaml").write_text(yaml_text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, yaml_text: str) -> str:
    with pytest.raises(UsageError) as info:
        catalog.load_lab(make_lab(tmp_path, yaml_text))
    message = info.value.message
    assert "\n" not in message
    return message


# -- the Chinese interface -------------------------------------------------------------------

ENVIRONMENT = {"host": {"os": "Linux", "release": "6", "arch": "x86_64", "python": "3.11"},
               "engine": {"name": "Docker Engine", "version": "20.10", "os": "linux", "arch": "amd64",
                          "endpoint": "unix:///x", "found_via": "test"},
               "image": {"tag": "forklab/lab:x", "base": "b", "id": "sha256:1"}}


def _python_keys(path) -> dict[str, str]:
    """The literal first argument of every ``_(...)`` (or ``x._(...)``) call in a module."""
    keys = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and node.args and (
                getattr(node.func, "id", None) == "_" or getattr(node.func, "attr", None) == "_"):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                keys[first.value] = f"{path.name}:{node.lineno}"
            # else _(row["status"]): a value; i18n.WORDS lists those
    return keys


# -- exercises ------------------------------------------------------------------------------

LABS = ROOT / "labs"
EXERCISES = [path for _, path in sorted(catalog.find_labs(LABS).items())
             if catalog.load_lab(path).spec.kind == "exercise"]


def exercise(tmp_path: Path, expect: str = "  - {check: no-zombies-at-end}\n", solution: bool = True) -> Path:
    folder = tmp_path / "labs" / "21-mine"
    folder.mkdir(parents=True)
    (folder / "lab.yaml").write_text(f"kind: exercise\nnumber: 21\ntitle: Mine\nsummary: An exercise.\n"
                                     f"expect:\n{expect}", encoding="utf-8")
    (folder / "starter.py").write_text("# TODO: fork\n", encoding="utf-8")
    if solution:
        (folder / "solution.py").write_text("import os\nos.fork()\n", encoding="utf-8")
    (folder / "data.txt").write_text("data\n", encoding="utf-8")
    return folder


GRADED = ("  - {check: lines, match: '^哈哈哈$', count: 2, points: 3, hint: 'print it twice', hint_zh: '打印两次'}\n"
          "  - {check: state, checkpoint: zombie, role: child, state: S, hint: 'keep it alive'}\n"
          "  - {check: no-zombies-at-end, hidden: true, hint: 'secret hint', says: 'secret sentence'}\n"
          "  - {check: state, checkpoint: zombie, role: parent, state: Z, hidden: true, says: 'a secret too'}\n")


def graded(tmp_path, doc: dict | None = None, timed_out: bool = False) -> dict:
    document = evaluated(tmp_path, GRADED, doc)
    if timed_out:
        document["runner"]["status"] = "timeout"
        document["status"] = "timeout"
    exercises.grade(document, "mine.py", "en")
    return document


def distinctive_lines(solution: Path) -> list[str]:
    """Lines of a solution that neither its starter (given code, the calls it names) nor any
    lab's program holds: the answer, line by line."""
    common = "\n".join(path.read_text(encoding="utf-8")
                       for path in [solution.parent / "starter.py", *LABS.glob("*/lab.py")])
    return [line for line in (line.strip() for line in solution.read_text(encoding="utf-8").splitlines())
            if len(line) >= 12 and line not in common]
