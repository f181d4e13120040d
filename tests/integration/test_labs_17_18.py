"""Labs 17 and 18, their facts read straight from result.json.

What a student checks by eye in the report, asserted without the expectation
engine, so a broken check cannot hide a broken lab.
"""

from __future__ import annotations

import pytest

from tests.integration.support import events_of, rows_at

pytestmark = pytest.mark.docker


def pipe_ends(row: dict) -> dict[int, tuple[str, str]]:
    """fd -> (pipe, end) for the pipes a process row holds."""
    return {fd["fd"]: (fd["target"], fd["mode"]) for fd in row["fds"] if fd["target"].startswith("pipe:[")}


# -- lab 17: pipes and exec ---------------------------------------------------------------

def test_lab_17_wc_prints_only_after_the_parent_closes_the_write_end(lab_result):
    doc = lab_result(17)
    assert doc["stdout"].splitlines() == [
        "管道: 读端 fd 3, 写端 fd 4",
        "ls: 退出码 0",
        "wc: 状态 S, 在读管道 (read), 还没有打印",
        "父进程关闭写端 fd 4",
        "3",
        "wc -l: 退出码 0",
    ]


def test_lab_17_the_reader_sleeps_while_the_parent_holds_the_write_end(lab_result):
    doc = lab_result(17)
    rows = rows_at(doc, "parent-holds-write-end")
    # ls has ended and been reaped: only the parent and wc are left.
    assert set(rows) == {"reaper", "parent", "reader"}
    reader, parent = rows["reader"], rows["parent"]
    assert reader["state"] == "S" and reader["command"] == "wc -l"
    assert reader["ppid"] == parent["pid"]
    # wc reads the pipe on fd 0 and holds no write end of it; the parent holds that write end on fd 4.
    wc_pipes = pipe_ends(reader)
    pipe, end = wc_pipes[0]
    assert end == "r"
    assert (pipe, "w") not in wc_pipes.values()
    assert pipe_ends(parent)[4] == (pipe, "w")
    assert 3 not in pipe_ends(parent), "the parent closed its read end"


def test_lab_17_at_the_end_the_parent_holds_no_end_and_reaped_both(lab_result):
    doc = lab_result(17)
    rows = rows_at(doc, "all-reaped")
    assert set(rows) == {"reaper", "parent"}
    assert 3 not in pipe_ends(rows["parent"]) and 4 not in pipe_ends(rows["parent"])
    for role in ("main.1", "reader"):
        assert events_of(doc, "adopt", role) == [] and events_of(doc, "reap", role) == []
    parents = {e["role"]: e["ppid_role"] for e in doc["events"] if e["event"] == "fork"}
    assert parents == {"parent": "reaper", "main.1": "parent", "reader": "parent"}


# -- lab 18: signals and fork -------------------------------------------------------------

def test_lab_18_handlers_are_inherited_by_fork_and_reset_by_exec(lab_result):
    doc = lab_result(18)
    roles = doc["roles"]
    lines = doc["stdout"].splitlines()
    child = roles["inheritor"]
    assert lines[:3] == [
        f"1. fork之后, 子进程{child}: SIGUSR1 有处理函数, SIGUSR2 被忽略",
        f"处理函数 on_usr1 在进程{child}中运行",
        f"1. exec之后, 子进程{child} (cat): SIGUSR1 默认, SIGUSR2 被忽略",
    ]
    before, after = rows_at(doc, "before-exec")["inheritor"], rows_at(doc, "after-exec")["inheritor"]
    assert before["pid"] == after["pid"] == child
    assert before["command"] == "python3 lab.py" and after["command"] == "cat"
    assert after["state"] == "S" and after["ppid"] == roles["parent"]


def test_lab_18_a_pending_signal_stays_with_the_parent(lab_result):
    doc = lab_result(18)
    roles = doc["roles"]
    lines = doc["stdout"].splitlines()
    [second] = [e["pid"] for e in doc["events"] if e["event"] == "fork" and e["role"] == "main.2"]
    assert lines[3:8] == [
        "2. 父进程: SigBlk=['SIGUSR1'] SigPnd=[] ShdPnd=['SIGUSR1']",
        f"2. 子进程{second}: SigBlk=['SIGUSR1'] SigPnd=[] ShdPnd=[]",
        "2. 子进程解除阻塞之后, on_usr1 运行了0次",
        f"处理函数 on_usr1 在进程{roles['parent']}中运行",
        "2. 父进程解除阻塞之后, on_usr1 运行了1次",
    ]


def test_lab_18_blocking_sigchld_around_fork_closes_the_race(lab_result):
    doc = lab_result(18)
    roles = doc["roles"]
    lines = doc["stdout"].splitlines()
    [early] = [e["pid"] for e in doc["events"] if e["event"] == "fork" and e["role"] == "main.3"]
    assert lines[8:12] == [
        f"3. SIGCHLD: 子进程{early}结束了, 但 jobs 里还没有它",
        f"3. 父进程登记任务A (子进程{early}): 太晚了, 它已经被回收",
        f"3. 父进程登记任务B (子进程{roles['job']}), 等待处理: ShdPnd=['SIGCHLD']",
        f"3. SIGCHLD: 任务B (子进程{roles['job']}) 结束, 退出码 5",
    ]
    # While SIGCHLD is blocked, the ended child waits as a zombie of the parent.
    job = rows_at(doc, "sigchld-blocked")["job"]
    assert job["state"] == "Z" and job["ppid"] == roles["parent"]
    assert "job" not in rows_at(doc, "end")


def test_lab_18_a_waitpid_minus_one_reaper_hides_subprocess_exit_code(lab_result):
    doc = lab_result(18)
    assert doc["stdout"].splitlines()[12:] == [
        "4. reap_any 回收了 subprocess 的子进程, 退出码 3",
        "4. sh 以 3 退出, subprocess.run(check=True) 没有抛出异常, 返回码 0",
        "4. 只回收自己的子进程: subprocess.run(check=True) 抛出 CalledProcessError, 返回码 3",
    ]
    assert doc["stderr"] == ""
    assert [r for r in doc["snapshots"][-1]["processes"] if r["state"] == "Z"] == []
