"""Labs 19 and 20, their facts read straight from result.json.

What a student checks by eye in the report: the file's lines, the handler's
lines, the zombies' states and pids at each checkpoint, without the
expectation engine, so a broken check cannot hide a broken lab.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import rows_at, variant

pytestmark = pytest.mark.docker

FILE_BEFORE = "    fork之前写入文件的一行"
FILE_PARENT = "    父进程写入的一行"
IN_CHILD = "atexit处理函数运行了, 在子进程中"
IN_PARENT = "atexit处理函数运行了, 在父进程中"


# -- lab 19: atexit, buffered files and os._exit --------------------------------------------

def test_lab_19_sys_exit_in_the_child_runs_the_parents_handler_and_flushes_its_buffer(lab_result):
    doc = lab_result(19)
    assert [v["variant"]["name"] for v in doc["variants"]] == ["sys-exit", "flush-first", "os-exit"]
    assert variant(doc, "sys-exit")["stdout"].splitlines() == [
        IN_CHILD, "子进程用sys.exit(0)结束了", "文件的内容:", FILE_BEFORE, FILE_BEFORE, FILE_PARENT, IN_PARENT]


def test_lab_19_flushing_first_fixes_the_file_but_not_the_handler(lab_result):
    lines = variant(lab_result(19), "flush-first")["stdout"].splitlines()
    assert lines == [IN_CHILD, "子进程用sys.exit(0)结束了", "文件的内容:", FILE_BEFORE, FILE_PARENT, IN_PARENT]


def test_lab_19_os_exit_runs_neither(lab_result):
    lines = variant(lab_result(19), "os-exit")["stdout"].splitlines()
    assert lines == ["子进程用os._exit(0)结束了", "文件的内容:", FILE_BEFORE, FILE_PARENT, IN_PARENT]


def test_lab_19_the_child_is_a_zombie_until_collected_however_it_ended(lab_result):
    doc = lab_result(19)
    for run, arg in zip(doc["variants"], ("sys.exit", "flush", "os._exit")):
        assert rows_at(run, "child-ended")["main"]["command"] == f"python3 lab.py {arg}"
        child = rows_at(run, "child-ended")["child"]
        assert child["state"] == "Z" and child["ppid"] == run["roles"]["main"]
        assert "child" not in rows_at(run, "collected")
        assert run["stderr"] == ""
