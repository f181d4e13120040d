"""Labs 8, 11 and 12, their facts read straight from result.json.

These assert the same facts as the labs' expectations, but without the
expectation engine, so a broken check cannot hide a broken lab.
"""

from __future__ import annotations

import pytest

from tests.integration.support import events_of, exit_of, rows_at, variant

pytestmark = pytest.mark.docker

MIB = 1024  # rows count memory in KiB


def test_lab_8_orphans_go_to_the_nearest_subreaper_or_pid_1(lab_result):
    doc = lab_result(8)
    assert [v["variant"]["name"] for v in doc["variants"]] == ["reaper", "pid1-never-waits", "python-pid1",
                                                               "docker-init"]
    for run in doc["variants"]:
        pid = run["roles"]
        assert pid["reaper"] == 1
        lines = run["stdout"].splitlines()
        # No subreaper: PID 1 adopts, not the grandparent, as soon as middle dies.
        if run["variant"]["name"] == "python-pid1":
            assert pid["main"] == 1  # the grandparent is PID 1 itself
            assert lines[0] == f"孤儿进程{pid['orphan']}: 父进程{pid['middle']}死了,收养我的是祖父进程1,因为它是 PID 1"
        else:
            assert pid["main"] != 1
            assert lines[0] == (f"孤儿进程{pid['orphan']}: 父进程{pid['middle']}死了,"
                                f"收养我的是1,不是祖父进程{pid['main']}")
        adopted = rows_at(run, "adopted")
        assert adopted["orphan"]["ppid"] == 1
        assert adopted["middle"]["state"] == "Z" and adopted["middle"]["ppid"] == pid["main"]
        # A subreaper adopts instead, then reaps.
        assert lines[1] == f"{pid['subreaper']} 调用了 prctl(PR_SET_CHILD_SUBREAPER, 1)"
        assert lines[2] == f"孤儿进程{pid['orphan2']}: 父进程{pid['middle2']}死了,收养我的是{pid['subreaper']}"
        below = rows_at(run, "adopted-by-subreaper")
        assert below["orphan2"]["ppid"] == pid["subreaper"]
        assert below["middle2"]["state"] == "Z" and below["middle2"]["ppid"] == pid["subreaper"]
        assert below["orphan"]["ppid"] == 1
        zombie = rows_at(run, "orphan2-zombie")["orphan2"]
        assert (zombie["state"], zombie["ppid"], zombie["command"]) == ("Z", pid["subreaper"], "[python3] <defunct>")
        assert lines[3] == f"subreaper {pid['subreaper']} 回收了孤儿进程{pid['orphan2']},状态 0"
        assert "orphan2" not in rows_at(run, "subreaper-reaped")
        # SIGCHLD ignored: no zombie, and wait() finds no child.
        assert rows_at(run, "ignoring-sigchld")["main"]["state"] == "S"
        assert lines[4] == "忽略 SIGCHLD 时 os.waitpid() 抛出 ChildProcessError: 子进程已被内核回收"
        assert "child" not in rows_at(run, "after-child-exit")
        assert events_of(run, "exit", "orphan2") == events_of(run, "exit", "child") == []
        assert len(lines) == 5 and run["stderr"] == ""
    reaper, never = variant(doc, "reaper"), variant(doc, "pid1-never-waits")
    [reaped] = events_of(reaper, "reap", "orphan")
    assert reaped["by"] == 1
    assert [e["status"]["code"] for e in events_of(reaper, "exit", "orphan")] == [0]
    assert set(rows_at(reaper, "end")) == {"reaper"}
    end = rows_at(never, "end")
    assert set(end) == {"reaper", "orphan"}
    assert end["orphan"]["state"] == "Z" and end["orphan"]["ppid"] == 1
    assert events_of(never, "reap", "orphan") == []


def test_lab_8_python_as_pid_1_keeps_zombies_and_ignores_sigterm(lab_result, no_leftovers):
    """The runner steps aside: the lab's python, or docker-init, is PID 1, watched from outside."""
    doc = lab_result(8)
    python, init = variant(doc, "python-pid1"), variant(doc, "docker-init")
    for run in (python, init):
        assert run["environment"]["container"]["runner"] == "stepped aside"
        assert run["status"] == "passed" and run["warnings"] == []
        # The runner is nowhere, and nothing docker exec started is among the rows.
        for snap in run["snapshots"]:
            assert all("forklab.runner" not in row["command"] for row in snap["processes"])
            assert all(row["ppid"] != 0 or row["pid"] == 1 for row in snap["processes"])
            assert "forklab.runner" not in snap["ps"]
        # Reaps cannot be seen from outside; forks can (the fork hook reports them on stderr).
        assert [e for e in run["events"] if e["event"] == "reap"] == []
        assert {e["pid"] for e in run["events"] if e["event"] == "fork"} == {
            run["roles"][role] for role in ("middle", "orphan", "subreaper", "middle2", "orphan2", "child")}
        assert run["stderr"] == ""  # the lines for the host are not the lab's output
    # PID 1 is the lab's python: main itself, and the orphan it adopted stays its zombie.
    assert python["environment"]["container"]["pid1"] == "python3 lab.py"
    end = rows_at(python, "end")
    assert set(end) == {"main", "orphan"}
    assert (end["main"]["pid"], end["main"]["ppid"], end["main"]["command"]) == (1, 0, "python3 lab.py")
    orphan = python["roles"]["orphan"]
    assert (end["orphan"]["state"], end["orphan"]["ppid"]) == ("Z", 1)
    raw = next(s["ps"] for s in python["snapshots"] if s["checkpoint"] == "end").splitlines()
    assert any(line.split()[:4] == ["1", "0", "1", "Ss"] and line.endswith("python3 lab.py") for line in raw)
    assert any(line.split()[:2] == [str(orphan), "1"] and line.split()[3].startswith("Z")
               and line.endswith("<defunct>") for line in raw)
    [adopted] = events_of(python, "adopt", "orphan")
    assert adopted["by"] == 1
    # With docker-init as PID 1, main is its child, and the init reaped the orphan.
    end = rows_at(init, "end")
    assert set(end) == {"reaper", "main"}
    assert end["main"]["ppid"] == 1 and end["main"]["command"] == "python3 lab.py"
    assert end["reaper"]["command"].endswith(" -- python3 -m forklab.checkpoint lab.py")
    assert rows_at(init, "adopted")["orphan"]["ppid"] == 1
    # docker stop: python as PID 1 ignores SIGTERM and waits out the grace period for SIGKILL;
    # under the init, SIGTERM reaches the lab and the stop is over long before.
    slow, quick = python["stop"], init["stop"]
    assert slow["timeout_s"] == quick["timeout_s"] == 2
    assert (slow["exit_code"], slow["signal"]) == (137, "SIGKILL")
    assert (quick["exit_code"], quick["signal"]) == (143, "SIGTERM")
    assert slow["seconds"] >= 0.95 * slow["timeout_s"]
    assert quick["seconds"] < slow["seconds"] / 4
    assert exit_of(python, "main")["signal_name"] == "SIGKILL" and exit_of(init, "main")["signal_name"] == "SIGTERM"


def test_lab_11_fork_copies_one_thread_and_start_methods_differ(lab_result):
    doc = lab_result(11)
    assert doc["stdout"].splitlines() == [
        "父进程有 2 个线程,另一个线程拿着锁,这时 fork()",
        "子进程有 1 个线程",
        "子进程: lock.acquire(timeout=0.5) 返回 False,没有线程会来释放它",
        "父进程: 线程放开锁之后 lock.acquire(timeout=0.5) 返回 True",
        "默认的启动方式: fork",
        "fork 子进程: greeting 是启动前改过的值, 本模块的 __name__ 是 __main__, 父进程是 main",
        "spawn 子进程: greeting 是模块加载时的值, 本模块的 __name__ 是 __mp_main__, 父进程是 main",
        "forkserver 子进程: greeting 是模块加载时的值, 本模块的 __name__ 是 __mp_main__, 父进程不是 main",
    ]
    # Python 3.11 does not warn about forking a process with threads.
    assert doc["environment"]["container"]["python"].startswith("3.11.")
    assert doc["stderr"] == ""
    # The kernel's view: main has 2 threads, the child it forked 1.
    threaded = rows_at(doc, "child-of-threaded-parent")
    assert (threaded["main"]["threads"], threaded["child"]["threads"]) == (2, 1)
    assert threaded["child"]["state"] == "S"
    forked = rows_at(doc, "in-fork-child")
    assert forked["fork_child"]["ppid"] == doc["roles"]["main"]
    assert forked["fork_child"]["command"] == forked["main"]["command"] == "python3 lab.py"
    # The forkserver child is forked by the fork server, which main started with
    # fork and exec; the fork server and the resource tracker outlive main and
    # are adopted and reaped by PID 1.
    main = doc["roles"]["main"]
    [by_server] = [e for e in doc["events"] if e["event"] == "fork" and e["ppid"] not in (main, 1)]
    helpers = {e["pid"] for e in doc["events"] if e["event"] == "adopt"}
    assert by_server["ppid"] in helpers and len(helpers) == 2
    for pid in helpers:
        [exit_event] = [e for e in doc["events"] if e["event"] == "exit" and e["pid"] == pid]
        [reap] = [e for e in doc["events"] if e["event"] == "reap" and e["pid"] == pid]
        assert exit_event["status"]["code"] == 0 and reap["by"] == 1


def test_lab_12_fork_fails_at_the_limits_and_costs_page_tables(lab_result):
    doc = lab_result(12)
    assert doc["environment"]["container"]["limits"]["pids"] == 16
    assert doc["stdout"].splitlines() == [
        "fork() 成功了 14 次, 第 15 次抛出 BlockingIOError, errno 11 (EAGAIN)",
        "14 个子进程都已退出并被回收",
        "RLIMIT_NPROC 设为 1: fork() 抛出 BlockingIOError (EAGAIN)",
        "RLIMIT_NPROC 改回原来的值: fork() 成功",
        "父进程内存  fork()  子进程的页表比 0 MiB 时多",
        "      0 MiB  成功        0 KiB",
        "     64 MiB  成功      128 KiB",
        "    128 MiB  成功      256 KiB",
    ]
    # At the limit: 13 stopped children hold their pids, one was let go so ps could run.
    free = rows_at(doc, "one-pid-free")
    stopped = {role for role, row in free.items() if row["state"] == "T"}
    assert stopped == {f"stopped{n}" for n in range(1, 14)}
    assert set(free) == stopped | {"reaper", "main"} and free["main"]["state"] == "S"
    snapshot = next(s for s in doc["snapshots"] if s["checkpoint"] == "one-pid-free")
    assert snapshot["ps"].startswith("    PID")
    assert set(rows_at(doc, "all-reaped")) == {"reaper", "main"}
    # Copy-on-write: the 128 MiB are counted in both, owned by neither, stored once.
    big = rows_at(doc, "fork-with-128MiB")
    assert big["main"]["rss_kb"] >= 128 * MIB and big["child128"]["rss_kb"] >= 128 * MIB
    assert big["child128"]["private_kb"] < 10 * MIB
    container = {s["checkpoint"]: s["container_memory_bytes"] // 2**20 for s in doc["snapshots"]}
    assert 128 <= container["fork-with-128MiB"] < 200
    assert container["fork-with-128MiB"] - container["fork-with-0MiB"] < 140


def test_lab_8_adoptions_and_reapers_are_drawn_from_evidence(lab_result):
    import re

    from forklab import pictures

    doc = lab_result(8)
    for run in doc["variants"]:
        tree = {line.split("── ")[-1].split()[0]: line for line in pictures.text_tree(run)[1:]}
        # orphan2 was forked by middle2 and adopted by the subreaper, which reaped it as its zombie.
        assert " · adopted by subreaper · " in tree["orphan2"] and tree["orphan2"].endswith("reaped by subreaper")
        mermaid = pictures.mermaid_tree(run)
        node = dict((role, node) for node, role in re.findall(r'^    (p\d+)\["([\w.-]+)', mermaid, re.M))
        assert f"    {node['subreaper']} -.->|adopts| {node['orphan2']}" in mermaid.splitlines()
        # SIGCHLD ignored: the kernel reaped the child; the kit does not say main did.
        assert tree["child"].endswith("reaped (by whom not seen)") and "reaped by main" not in tree["child"]
    for name in ("reaper", "pid1-never-waits"):
        run = variant(doc, name)
        # The runner saw the subreaper's adoption happen, and the child go without ever being a zombie.
        [adopted] = events_of(run, "adopt", "orphan2")
        assert (adopted["by_role"], adopted["from_role"]) == ("subreaper", "middle2")
        [gone] = events_of(run, "gone", "child")
        assert gone["state"] != "Z" and gone["ppid_role"] == "main" and events_of(run, "zombie", "child") == []
