"""Labs 19 and 20, their facts read straight from result.json.

What a student checks by eye in the report: the file's lines, the handler's
lines, the zombies' states and pids at each checkpoint, without the
expectation engine, so a broken check cannot hide a broken lab.
"""

from __future__ import annotations

import pytest

from tests.integration.support import rows_at, variant

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


# -- lab 20: three misconceptions about wait() ----------------------------------------------

def test_lab_20_sigkill_to_a_zombie_changes_nothing(lab_result):
    doc = lab_result(20)
    roles = doc["roles"]
    before, after = rows_at(doc, "zombie")["zombie"], rows_at(doc, "after-kill")["zombie"]
    # Same pid, same parent, still Z: the signal was accepted and did nothing.
    assert before["pid"] == after["pid"] == roles["zombie"]
    assert before["ppid"] == after["ppid"] == roles["parent"]
    assert before["state"] == after["state"] == "Z"
    assert after["command"] == "[python3] <defunct>"
    assert "zombie" not in rows_at(doc, "after-wait")
    lines = doc["stdout"].splitlines()
    pid = roles["zombie"]
    assert lines[:3] == [f"1. 子进程{pid}已经退出, 状态 Z",
                         f"1. os.kill({pid}, SIGKILL) 没有报错, 状态仍是 Z",
                         f"1. waitpid 回收了子进程{pid}, 退出码 5: SIGKILL没有改变任何事"]


def test_lab_20_one_wait_collects_one_of_three_zombies(lab_result):
    doc = lab_result(20)
    roles = doc["roles"]
    zombies = {name: sorted(r["role"] for r in rows_at(doc, name).values() if r["state"] == "Z")
               for name in ("three-zombies", "one-wait", "all-waited")}
    assert zombies == {"three-zombies": ["z1", "z2", "z3"], "one-wait": ["z2", "z3"], "all-waited": []}
    for role in ("z2", "z3"):
        assert rows_at(doc, "one-wait")[role]["ppid"] == roles["parent"]
    lines = doc["stdout"].splitlines()
    assert f"2. 一次 os.wait() 回收了子进程{roles['z1']}(退出码 1), 还剩2个僵尸进程" in lines
    assert "2. 又调用了2次 os.wait(), 才把它们都回收" in lines


def test_lab_20_wait_in_a_child_raises_at_once(lab_result):
    doc = lab_result(20)
    lines = doc["stdout"].splitlines()
    assert lines[-2:] == ["3. 子进程调用 os.wait(): ChildProcessError: No child processes", "3. 父进程回收了这个子进程"]
    # The child went on past its wait() to a checkpoint while its parent was still alive.
    waiter = rows_at(doc, "child-waited")["waiter"]
    assert waiter["ppid"] == doc["roles"]["parent"] and waiter["state"] != "Z"
    assert doc["stderr"] == ""
    assert len({e["pid"] for e in doc["events"] if e["event"] == "fork"}) == 6
