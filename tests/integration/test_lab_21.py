"""Lab 21, process groups and sessions, its facts read straight from result.json.

What a student checks by eye in the report (the PGID and state of each row,
the daemon's parent, the lines), asserted without the expectation engine, so
a broken check cannot hide a broken lab.
"""

from __future__ import annotations

import pytest

from tests.integration.support import events_of, rows_at

pytestmark = pytest.mark.docker


def test_lab_21_prints_what_the_lesson_shows(lab_result):
    doc = lab_result(21)
    roles = doc["roles"]
    parent, child, cat = roles["parent"], roles["child"], roles["cat"]
    leader, m1, m2 = roles["leader"], roles["m1"], roles["m2"]
    first, daemon = roles["first"], roles["daemon"]
    tty = "没有控制终端 (打开 /dev/tty: No such device or address)"
    assert doc["stdout"].splitlines() == [
        f"0. 父进程{parent}: 进程组{parent}, 会话{parent}, 有控制终端",
        f"1. setpgid 之前: killpg({child}, 0) 抛出 ProcessLookupError, 还没有这个进程组",
        f"1. 父进程调用 setpgid({child}, {child}) 之后: 子进程{child}的进程组是{child}",
        f"1. 子进程{cat}已经 exec 了 cat: setpgid({cat}, {cat}) 抛出 PermissionError: Permission denied",
        f"2. 进程组{leader}: 子进程{leader}, 子进程{m1}, 子进程{m2}",
        f"2. killpg({leader}, SIGSTOP): {leader} T, {m1} T, {m2} T",
        f"2. killpg({leader}, SIGCONT): {leader} S, {m1} S, {m2} S",
        f"2. 子进程{leader} 被 SIGTERM 结束",
        f"2. 子进程{m1} 被 SIGTERM 结束",
        f"2. 子进程{m2} 被 SIGTERM 结束",
        f"3. setsid 之后, 第一个子进程{first}: 进程组{first}, 会话{first}, 会话首进程: 是, {tty}",
        f"3. 父进程回收了第一个子进程{first}",
        f"3. 守护进程{daemon}: 父进程1, 进程组{first}, 会话{first}, 会话首进程: 不是, {tty}",
        "3. 守护进程结束了",
    ]


def test_lab_21_setpgid_moves_the_child_out_of_its_parents_group(lab_result):
    doc = lab_result(21)
    before, after = rows_at(doc, "before-setpgid"), rows_at(doc, "after-setpgid")
    parent = before["parent"]
    assert parent["pgid"] == parent["pid"]
    assert before["child"]["pgid"] == parent["pid"], "before any setpgid the child is in its parent's group"
    assert after["child"]["pid"] == before["child"]["pid"]
    assert after["child"]["pgid"] == after["child"]["pid"], "the parent's call made the child a group leader"
    cat = rows_at(doc, "after-exec")["cat"]
    assert cat["command"] == "cat" and cat["pgid"] == parent["pid"], "the call after exec changed nothing"


def test_lab_21_one_signal_stops_continues_and_ends_the_whole_group(lab_result):
    doc = lab_result(21)
    members = ("leader", "m1", "m2")
    group = rows_at(doc, "group")
    leader = group["leader"]["pid"]
    assert [group[r]["pgid"] for r in members] == [leader] * 3
    assert group["parent"]["pgid"] == group["parent"]["pid"] != leader
    for checkpoint, state in (("group", "S"), ("stopped", "T"), ("continued", "S")):
        rows = rows_at(doc, checkpoint)
        assert [rows[r]["state"] for r in members] == [state] * 3, checkpoint
        assert [rows[r]["ppid"] for r in members] == [rows["parent"]["pid"]] * 3
        assert rows["parent"]["state"] == "S", f"the parent is not in the group and runs on at {checkpoint}"
    assert set(rows_at(doc, "after-killpg")) == {"reaper", "parent"}


def test_lab_21_the_daemon_has_its_own_session_and_is_adopted_by_the_reaper(lab_result):
    doc = lab_result(21)
    rows = rows_at(doc, "daemon")
    daemon, first = rows["daemon"], doc["roles"]["first"]
    assert "first" not in rows, "the first child has exited and been reaped"
    assert daemon["ppid"] == rows["reaper"]["pid"] == 1
    assert daemon["pgid"] == first != daemon["pid"], "in the group setsid() made, and not its leader"
    assert daemon["pgid"] != rows["parent"]["pgid"]
    [fork] = events_of(doc, "fork", "daemon")
    assert fork["ppid_role"] == "first"
    assert [e["by_role"] for e in events_of(doc, "adopt", "daemon")] == ["reaper"]
    assert [e["by_role"] for e in events_of(doc, "reap", "daemon")] == ["reaper"]
    assert rows_at(doc, "end").keys() == {"reaper"}
