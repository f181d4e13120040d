"""Labs 07, 09 and 10, their facts read straight from result.json.

These assert the same facts as the labs' expectations, but without the
expectation engine, so a broken check cannot hide a broken lab.
"""

from __future__ import annotations

import pytest

from tests.integration.support import events_of, rows_at, variant

pytestmark = pytest.mark.docker


def test_lab_7_a_line_before_fork_is_copied_with_the_buffer(lab_result):
    doc = lab_result(7)
    assert [v["variant"]["name"] for v in doc["variants"]] == ["pipe", "tty", "unbuffered"]
    pipe, tty, unbuffered = (variant(doc, n) for n in ("pipe", "tty", "unbuffered"))
    assert pipe["environment"]["container"]["stdout"] == "pipe"
    assert tty["environment"]["container"]["stdout"] == "tty"
    assert unbuffered["environment"]["container"]["unbuffered"] is True

    lines = {name: run["stdout"].splitlines() for name, run in
             (("pipe", pipe), ("tty", tty), ("unbuffered", unbuffered))}
    # Experiment 1: twice on a pipe (each process flushes its copy), once otherwise.
    assert lines["pipe"][:4] == ["1. fork之前打印的一行", "1. 子进程", "1. fork之前打印的一行", "1. 父进程"]
    for name in ("tty", "unbuffered"):
        assert lines[name][:3] == ["1. fork之前打印的一行", "1. 子进程", "1. 父进程"]
    # Experiment 2: os._exit() loses the buffered line on a pipe only; sys.exit() always flushes.
    assert "2. 子进程用os._exit(0)结束" not in lines["pipe"]
    for name in ("tty", "unbuffered"):
        assert lines[name].index("2. 子进程用os._exit(0)结束") < lines[name].index("2. 子进程用sys.exit(0)结束")
    # Experiments 3 and 4: flush=True and python3 -u print the line before fork() once everywhere.
    for run_lines in lines.values():
        assert run_lines.count("2. 子进程用sys.exit(0)结束") == 1
        assert run_lines.count("3. fork之前打印的一行, flush=True") == 1
        assert run_lines.count("4. python3 -u: fork之前打印的一行") == 1


def test_lab_7_unbuffered_lines_tear_and_buffered_ones_do_not(lab_result):
    doc = lab_result(7)
    for name in ("pipe", "tty"):
        assert variant(doc, name)["stdout"].endswith("5. 两个进程各打印一行哈哈哈:\n哈哈哈\n哈哈哈\n")
    assert variant(doc, "unbuffered")["stdout"].endswith("5. 两个进程各打印一行哈哈哈:\n哈哈哈哈哈哈\n\n")


def test_lab_7_python_u_is_a_child_that_reports_its_own_fork(lab_result):
    doc = lab_result(7)
    for run in doc["variants"]:
        parents = {e["role"]: e["ppid_role"] for e in run["events"] if e["event"] == "fork"}
        assert parents == {"main": "reaper", **{f"main.{n}": "main" for n in range(1, 7)},
                           "main.5.1": "main.5"}
        # Every parent waited for its child: nobody was adopted, no zombie was left.
        assert [e for e in run["events"] if e["event"] == "adopt"] == []
        assert [r for r in run["snapshots"][-1]["processes"] if r["state"] == "Z"] == []


# -- lab 09: reaping strategies --------------------------------------------------------------

def test_lab_9_each_strategy_leaves_its_zombies(lab_result):
    doc = lab_result(9)
    roles = doc["roles"]
    assert roles["parent"] == roles["main"]
    assert rows_at(doc, "blocked-in-wait")["parent"]["state"] == "S"
    assert "waited" not in rows_at(doc, "after-wait")
    # Zombies, each at the moment the lab says, and gone at the next checkpoint.
    zombies = {}
    for snap in doc["snapshots"]:
        zombies[snap["checkpoint"]] = sorted(r["role"] for r in snap["processes"] if r["state"] == "Z")
    assert zombies == {
        "blocked-in-wait": [], "after-wait": [],
        "between-polls": ["polled"], "after-poll": [],
        "peeked": ["peeked"], "after-waitid": [],
        "reap-all-ended": ["all-1", "all-2", "all-3"], "reap-all-ran": [],
        "reap-one-ended": ["one-1", "one-2", "one-3"], "reap-one-ran": ["one-2", "one-3"],
        "end": [],
    }
    for role in ("one-2", "one-3"):
        row = rows_at(doc, "reap-one-ran")[role]
        assert row["ppid"] == roles["parent"] and row["command"] == "[python3] <defunct>"


def test_lab_9_one_sigchld_for_three_children(lab_result):
    doc = lab_result(9)
    lines = doc["stdout"].splitlines()
    assert lines.count("4. 3个子进程都结束了, 等待处理的信号: ['SIGCHLD']") == 1
    assert lines.count("5. 3个子进程都结束了, 等待处理的信号: ['SIGCHLD']") == 1
    assert "4. reap_all 被调用了1次, 回收了3个子进程" in lines
    assert "5. reap_one 被调用了1次, 回收了1个子进程" in lines
    roles = doc["roles"]
    assert [f"4. reap_all 回收了子进程{roles[r]}" for r in ("all-1", "all-2", "all-3")] == \
        [line for line in lines if line.startswith("4. reap_all 回收了")]
    assert [line for line in lines if line.startswith("5. reap_one 回收了")] == \
        [f"5. reap_one 回收了子进程{roles['one-1']}"]
    assert f"3. waitid(WEXITED | WNOWAIT) 看到子进程{roles['peeked']}: si_code=CLD_EXITED, si_status=7, 但没有回收它" \
        in lines
    assert lines[1].startswith("2. 第1次 waitpid(WNOHANG) 返回 (0, 0)")


def test_lab_9_the_buggy_handlers_zombies_go_to_pid_1(lab_result):
    doc = lab_result(9)
    # The parent reaped every child but the two reap_one left; PID 1 took those.
    for role in ("one-2", "one-3"):
        assert [e["by_role"] for e in events_of(doc, "adopt", role)] == ["reaper"]
        assert [e["by_role"] for e in events_of(doc, "reap", role)] == ["reaper"]
        assert [e["status"]["code"] for e in events_of(doc, "exit", role)] == [0]
    for role in ("waited", "polled", "peeked", "all-1", "all-2", "all-3", "one-1"):
        assert events_of(doc, "adopt", role) == [] and events_of(doc, "reap", role) == []
    assert len({e["pid"] for e in doc["events"] if e["event"] == "fork"}) == 10


# -- lab 10: fork, then exec ------------------------------------------------------------------

def test_lab_10_exec_keeps_the_process_and_replaces_the_program(lab_result):
    doc = lab_result(10)
    roles = doc["roles"]
    before, after = rows_at(doc, "before-exec")["child"], rows_at(doc, "after-exec")["child"]
    assert before["pid"] == after["pid"] == roles["child"]
    assert before["ppid"] == after["ppid"] == roles["parent"]
    assert before["command"] == "python3 lab.py" and before["comm"] == "python3"
    assert after["command"].startswith("sh -c ") and after["command"].endswith(" fork+exec 4 5 7 8")
    assert after["comm"] == "sh"
    assert before["rss_kb"] > 64 * 1024 and after["rss_kb"] < 8 * 1024
    raw = doc["snapshots"][1]["ps"]
    line = next(ps_line for ps_line in raw.splitlines() if ps_line.split()[0] == str(roles["child"]))
    assert line.split()[4] == "sh"

    lines = doc["stdout"].splitlines()
    child, parent = roles["child"], roles["parent"]
    assert f"fork+exec: 子进程{child}, exec之前 (flush了)" in lines
    assert not [line for line in lines if "没有flush" in line]
    assert f"fork+exec: pid={child} ppid={parent} 目录=/tmp LAB_GREETING=你好" in lines


def test_lab_10_what_each_way_keeps(lab_result):
    doc = lab_result(10)
    roles = doc["roles"]
    lines = doc["stdout"].splitlines()
    assert lines[0] == "fd 7 没有close-on-exec, fd 8 有close-on-exec"
    parent = roles["parent"]
    assert f"posix_spawn: pid={roles['spawned']} ppid={parent} 目录=/ LAB_GREETING=你好" in lines
    assert f"subprocess: pid={roles['subprocess']} ppid={parent} 目录=/tmp LAB_GREETING=你好" in lines
    assert "fork+exec: fd 7 开着, fd 8 关了" in lines
    assert "posix_spawn: fd 7 开着, fd 8 关了" in lines
    assert "subprocess: fd 7 关了, fd 8 关了" in lines
    assert lines[-1] == "subprocess: 返回码 0"
    for checkpoint, role in (("posix-spawn", "spawned"), ("subprocess", "subprocess")):
        row = rows_at(doc, checkpoint)[role]
        assert row["ppid"] == parent and row["comm"] == "sh" and row["state"] == "S"


def test_lab_10_only_os_fork_is_heard_by_the_fork_hook(lab_result):
    doc = lab_result(10)
    roles = doc["roles"]
    forked = {e["role"] for e in doc["events"] if e["event"] == "fork"}
    assert forked == {"parent", "child"}
    # posix_spawn's and subprocess's children are known only from the snapshots that named them.
    assert roles["spawned"] not in {e["pid"] for e in doc["events"]}
    assert roles["subprocess"] not in {e["pid"] for e in doc["events"]}
    assert not [r for r in doc["snapshots"][-1]["processes"] if r["state"] == "Z"]


def test_lab_7_each_child_ends_before_the_next_fork(lab_result):
    from forklab import pictures

    doc = lab_result(7)
    for run in doc["variants"]:
        reaper, found = pictures.lives(run)
        end = pictures._run_end(run, found)
        lives = {one.role: one for one in found.values()}
        for n in range(1, 6):
            child, following = lives[f"main.{n}"], lives[f"main.{n + 1}"]
            running = [s for s in pictures.spans(child, end) if s.kind == "running"]
            # main waited for each child before the next fork: each is drawn running no later.
            assert running[-1].end < following.born_ms, (run["variant"]["name"], child.role)
            assert pictures.spans(child, end)[-1].end < end, f"{child.role} is drawn to the end"
        # main reaped them, not the runner: the runner saw each go, and main's own wait()
        # returned each (the fork hook's note), so the tree says so; main.5.1, which
        # main.5 forked after it exec'd python3 -u, was reaped by main.5.
        tree = pictures.text_tree(run)
        for n in range(1, 7):
            role = f"main.{n}"
            assert events_of(run, "reap", role) == [] and len(events_of(run, "gone", role)) == 1
            assert [line for line in tree if f" {role}  " in line][0].endswith(" · reaped by main")
        assert [line for line in tree if " main.5.1  " in line][0].endswith(" · reaped by main.5")
        assert not [line for line in tree if "by whom not seen" in line]
