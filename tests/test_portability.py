"""The host side runs on Windows and macOS too: proven here by taking POSIX-only parts away."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.support import ROOT

POSIX_ONLY = ("fcntl", "pwd", "grp", "pty", "termios", "resource", "posix_spawn")

# Invoke has its own Windows branch (it imports fcntl only elsewhere), so it is
# loaded first; what is tested is that forklab's code never needs these.
HIDE = f"""
import importlib.abc, os, sys
import invoke, invoke.program, invoke.terminals

class Hidden(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {POSIX_ONLY!r}:
            raise ImportError(f"{{name}} is not available on this platform")
        return None

sys.meta_path.insert(0, Hidden())
for name in {POSIX_ONLY!r}:
    sys.modules.pop(name, None)

def no_fork(*args, **kwargs):
    raise AssertionError("the host side called os.fork")

os.fork = no_fork
"""


def run_hidden(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", HIDE + textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120)


def test_host_modules_import_and_render_without_posix_only_modules(tmp_path):
    done = run_hidden(f"""
        import tasks
        from forklab import catalog, checks, commands, engine, index, outside, predict, report, result, repeat
        from pathlib import Path
        from tests.test_checks_and_report import rendered
        files = rendered(Path({str(tmp_path)!r}))
        assert files["report.md"].decode("utf-8").startswith("# Lab 05")
        for number, path in catalog.find_labs(Path("labs")).items():
            catalog.load_lab(path).program()
        print("ok", sorted(tasks.ns.task_names)[:3])
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ok ")


@pytest.mark.parametrize("encoding", ["cp1252", "cp936"])
def test_a_narrow_console_gets_question_marks_not_a_crash(encoding):
    done = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        from forklab.console import Terminal
        term = Terminal()
        term.out.print("哈哈哈 ✓ 我是子进程 ✗")
        term.say("僵尸进程 ✓")
    """)], cwd=ROOT, capture_output=True, env={**os.environ, "PYTHONIOENCODING": encoding}, timeout=60)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert b"?" in done.stdout + done.stderr


def test_the_invoke_list_works_with_posix_only_modules_hidden():
    done = run_hidden("""
        import sys
        from invoke import Program, Collection
        import tasks
        sys.argv = ["invoke", "list"]
        try:
            Program(namespace=Collection.from_module(tasks)).run(["invoke", "list"])
        except SystemExit as exc:
            sys.exit(exc.code)
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Zombies and orphans" in done.stdout
