"""The in-container runner, run directly on a Linux host (as a child subreaper).

These need no engine: the runner is plain Python, and what it observes is the
kernel's, whichever PID namespace it runs in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, linux_only, run_runner

pytestmark = [pytest.mark.linux, linux_only]


def rows_at(doc: dict, checkpoint: str) -> dict[str, dict]:
    snap = next(s for s in doc["snapshots"] if s["checkpoint"] == checkpoint)
    roles = {int(pid): role for pid, role in doc["roles"].items()}
    return {roles[r["pid"]]: r for r in snap["processes"] if r["pid"] in roles}


def test_lab_3_on_the_host_shows_the_zombie_and_the_adopted_orphan(tmp_path):
    doc = run_runner(tmp_path, (ROOT / "labs/03-zombies-and-orphans/lab.py").read_text(encoding="utf-8"))
    assert doc["status"] == "finished"
    assert doc["exit"]["code"] == 0
    zombie = rows_at(doc, "zombie")
    assert zombie["child"]["state"] == "Z"
    assert zombie["child"]["command"] == "[python3] <defunct>"
    assert zombie["child"]["rss_kb"] == 0
    assert rows_at(doc, "child-alive")["child"]["rss_kb"] > 64 * 1024
    assert "child" not in rows_at(doc, "after-wait")
    adopted = rows_at(doc, "adopted")
    assert adopted["orphan"]["ppid"] == doc["environment"]["runner_pid"]
    orphan_pid = adopted["orphan"]["pid"]
    kinds = [e["event"] for e in doc["events"] if e["pid"] == orphan_pid]
    # The runner may catch the orphan as its zombie in a look before it reaps it.
    assert [kind for kind in kinds if kind != "zombie"] == ["fork", "adopt", "exit", "reap"]
    assert kinds.count("zombie") <= 1 and kinds.index("adopt") < kinds.index("exit")


def test_stdout_and_stderr_stay_apart_and_cannot_pose_as_the_result(tmp_path):
    doc = run_runner(tmp_path, """\
        import sys
        print('{"schema": "forklab.runner/1", "status": "finished", "snapshots": []}')
        print("to stderr", file=sys.stderr)
    """)
    assert doc["stdout"].startswith('{"schema"')
    assert doc["stderr"] == "to stderr\n"
    assert [s["checkpoint"] for s in doc["snapshots"]] == ["end"]


def test_buffering_is_not_inherited_from_the_host(tmp_path):
    # On a pipe, text printed before fork() without a flush is copied into the
    # child's buffer and written twice: the lesson of the tutorial's 8 lines.
    doc = run_runner(tmp_path, """\
        import os, sys
        print("before fork", os.environ.get("PYTHONUNBUFFERED"))
        if os.fork() == 0:
            sys.exit(0)
        os.wait()
    """)
    assert doc["stdout"] == "before fork None\nbefore fork None\n"


def test_unbuffered_when_the_lab_asks(tmp_path):
    doc = run_runner(tmp_path, """\
        import os, sys
        print("before fork")
        if os.fork() == 0:
            sys.exit(0)
        os.wait()
    """, unbuffered=True)
    assert doc["stdout"] == "before fork\n"


def test_a_variant_s_name_env_and_args_reach_the_lab_and_the_kit_s_own_win(tmp_path):
    doc = run_runner(tmp_path, """\
        import json, os, sys
        print(json.dumps({"argv": sys.argv[1:], "variant": os.environ.get("FORKLAB_VARIANT"),
                          "mode": os.environ.get("MODE"), "path": os.environ["PATH"],
                          "socket": os.environ["FORKLAB_SOCKET"]}))
    """, variant="fast", env={"MODE": "a b", "PATH": "/nowhere", "FORKLAB_SOCKET": "/nowhere"},
        args=["--n", "3", "two words"])
    seen = json.loads(doc["stdout"])
    assert seen["argv"] == ["--n", "3", "two words"]
    assert (seen["variant"], seen["mode"]) == ("fast", "a b")
    # lab.yaml may not name these (catalog refuses them); given anyway, the kit's own stay.
    assert seen["path"] != "/nowhere" and seen["socket"] != "/nowhere"
    [started] = [e for e in doc["events"] if e.get("note", "").startswith("runner started")]
    assert started["note"] == "runner started python3 lab.py --n 3 two words"


def test_without_a_variant_the_lab_runs_as_default(tmp_path):
    doc = run_runner(tmp_path, "import os, sys\nprint(os.environ['FORKLAB_VARIANT'], sys.argv[1:])\n")
    assert doc["stdout"] == "default []\n"


def test_a_snapshot_lists_each_live_process_s_open_descriptors(tmp_path):
    doc = run_runner(tmp_path, """\
        import os
        from forklab.checkpoint import checkpoint
        read_end, write_end = os.pipe()
        data = open("data.txt", "w")
        pid = os.fork()
        if pid == 0:
            os.close(write_end)
            data.close()
            checkpoint("reading", reader=os.getpid(), writer=os.getppid())
            os.read(read_end, 1)
            os._exit(0)
        os.write(write_end, b".")
        os.waitpid(pid, 0)
    """)
    rows = rows_at(doc, "reading")
    reader = {fd["fd"]: fd for fd in rows["reader"]["fds"]}
    writer = {fd["fd"]: fd for fd in rows["writer"]["fds"]}
    pipe = writer[3]["target"]
    assert pipe.startswith("pipe:[") and (writer[3]["mode"], writer[4]["mode"]) == ("r", "w")
    assert writer[4]["target"] == pipe and writer[5]["target"].endswith("/data.txt") and writer[5]["mode"] == "w"
    # The reader closed its write end and the file: of the pipe it holds the read end only
    # (its fd 4 now is its connection to the runner, for the checkpoint).
    assert [fd for fd in reader.values() if fd["target"] == pipe] == [{"fd": 3, "target": pipe, "mode": "r"}]
    assert not [fd for fd in reader.values() if fd["target"].endswith("/data.txt")]
    assert reader[4]["target"].startswith("socket:[")
    assert reader[1]["mode"] == "w" and reader[1]["target"] == writer[1]["target"]  # stdout: the runner's pipe
    # The runner's own descriptors are not the lab's to see.
    runner_row = next(r for s in doc["snapshots"] for r in s["processes"]
                      if r["pid"] == doc["environment"]["runner_pid"])
    assert "fds" not in runner_row


def test_a_process_with_many_descriptors_has_the_first_listed_and_the_rest_counted(tmp_path):
    doc = run_runner(tmp_path, """\
        import os
        from forklab.checkpoint import checkpoint
        kept = [os.open("/dev/null", os.O_RDONLY) for _ in range(100)]
        checkpoint("many")
    """)
    [main] = [r for r in next(s for s in doc["snapshots"] if s["checkpoint"] == "many")["processes"]
              if r["pid"] == doc["main"]["pid"]]
    from forklab.runner import MAX_FDS

    assert len(main["fds"]) == MAX_FDS and [fd["fd"] for fd in main["fds"]] == sorted(fd["fd"] for fd in main["fds"])
    assert main["fds_more"] >= 100 + 3 - MAX_FDS


def test_stdout_can_be_a_terminal(tmp_path):
    doc = run_runner(tmp_path, "import sys\nprint(sys.stdout.isatty(), sys.stderr.isatty())\n", stdout="tty")
    assert doc["stdout"] == "True False\n"


def test_every_fork_is_reported(tmp_path):
    doc = run_runner(tmp_path, """\
        import os
        os.fork(); os.fork(); os.fork()
        print("哈哈哈", flush=True)
        while True:
            try:
                os.wait()
            except ChildProcessError:
                break
    """)
    forks = [e for e in doc["events"] if e["event"] == "fork"]
    assert len(forks) == 8  # the runner's start of main, then 7 forks
    assert doc["stdout"].count("哈哈哈") == 8


def test_time_up_kills_every_process(tmp_path):
    doc = run_runner(tmp_path, """\
        import os
        from forklab.checkpoint import checkpoint
        if os.fork() == 0:
            checkpoint("looping", looper=os.getpid())
            while True:
                pass
        os.wait()
    """, timeout=1.5)
    assert doc["status"] == "timeout"
    looper = int(next(pid for pid, role in doc["roles"].items() if role == "looper"))
    statuses = [e["status"] for e in doc["events"] if e["event"] == "exit"]
    assert all(s["signal_name"] == "SIGKILL" for s in statuses)
    assert not Path(f"/proc/{looper}").exists()
    assert [s["checkpoint"] for s in doc["snapshots"]] == ["looping", "end"]


def test_without_a_reaper_the_adopted_orphan_stays_a_zombie(tmp_path):
    doc = run_runner(tmp_path, """\
        import os
        if os.fork() == 0:
            middle = os.getpid()
            if os.fork() == 0:
                while os.getppid() == middle:
                    pass
                os._exit(0)
            os._exit(0)
        os.wait()
    """, reaper=False, timeout=10)
    assert doc["status"] == "finished"
    end = doc["snapshots"][-1]
    runner = doc["environment"]["runner_pid"]
    zombies = [r for r in end["processes"] if r["state"] == "Z" and r["ppid"] == runner]
    assert len(zombies) == 1
    # Adopted, then first seen as a zombie, and never reaped: no exit, reap or gone.
    events = [e for e in doc["events"] if e["pid"] == zombies[0]["pid"]]
    assert [e["event"] for e in events] == ["fork", "adopt", "zombie"]
    assert events[2]["ppid"] == runner


def test_a_process_on_its_way_to_a_wait_is_shown_waiting(tmp_path):
    # Once its parent is asleep in the checkpoint, the child works for 20 ms of
    # its own CPU time before it reads: a snapshot taken at once would catch it
    # running (R).  The runner lets it reach the read, where it stays for the
    # rest of the checkpoint.
    doc = run_runner(tmp_path, """\
        import os, time
        from forklab.checkpoint import checkpoint

        def state(pid):
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0]

        parent = os.getpid()
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            while state(parent) != "S":
                pass
            start = time.thread_time()
            while time.thread_time() - start < 0.02:
                pass
            os.read(go_r, 1)
            os._exit(0)
        checkpoint("on-its-way", parent=parent, child=pid)
        os.write(go_w, b".")
        os.waitpid(pid, 0)
    """)
    assert doc["status"] == "finished"
    assert rows_at(doc, "on-its-way")["child"]["state"] == "S"


def test_a_busy_loop_is_shown_running_and_does_not_hold_up_the_checkpoint(tmp_path):
    doc = run_runner(tmp_path, """\
        import os
        from forklab.checkpoint import checkpoint
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            while os.getppid() == parent:
                pass
            os._exit(0)
        checkpoint("spinning", parent=parent, child=pid)
        checkpoint("still-spinning", parent=parent, child=pid)
    """, timeout=10)
    assert doc["status"] == "finished"
    assert [s["checkpoint"] for s in doc["snapshots"]] == ["spinning", "still-spinning", "end"]
    assert rows_at(doc, "spinning")["child"]["state"] == "R"
    assert rows_at(doc, "still-spinning")["child"]["state"] == "R"


def test_a_bad_role_name_is_refused_to_the_lab(tmp_path):
    doc = run_runner(tmp_path, """\
        import os
        from forklab.checkpoint import checkpoint
        checkpoint("x", **{"reaper": os.getpid()})
    """)
    assert "CheckpointError: role name 'reaper' is the runner's own" in doc["stderr"]
    assert doc["exit"]["code"] == 1


def test_outside_the_kit_checkpoint_prints_the_process_group(tmp_path):
    lab = tmp_path / "lab.py"
    lab.write_text("import os\nfrom forklab.checkpoint import checkpoint\n"
                   "checkpoint('alone', me=os.getpid())\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "FORKLAB_SOCKET"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, str(lab)], capture_output=True, text=True, env=env,
                          check=True, start_new_session=True)
    assert done.stderr.startswith("--- checkpoint alone (me=")
    assert "PID" in done.stderr.splitlines()[1]
    assert "<- me" in done.stderr


def test_a_fork_is_credited_to_its_parent_even_when_the_parent_is_already_gone(tmp_path):
    # Each child forks a grandchild and exits at once; the grandchild's report
    # may run after its parent is gone, when getppid() already names the reaper.
    doc = run_runner(tmp_path, """\
        import os
        for _ in range(20):
            if os.fork() == 0:
                os.fork()
                os._exit(0)
        while True:
            try:
                os.wait()
            except ChildProcessError:
                break
    """)
    forks = [e for e in doc["events"] if e["event"] == "fork"]
    main = doc["main"]["pid"]
    children = {e["pid"] for e in forks if e["ppid"] == main}
    grandchildren = [e for e in forks if e["pid"] != main and e["ppid"] != main]
    assert len(children) == 20 and len(grandchildren) == 20
    assert all(e["ppid"] in children for e in grandchildren)
    assert sorted(e["nth"] for e in forks if e["ppid"] == main) == list(range(1, 21))


def test_nothing_but_the_runner_can_reap_main(tmp_path, monkeypatch):
    # A Popen object dropped while its process runs goes on subprocess's list of
    # children to clean up; the next subprocess.run (a snapshot's ps) would then
    # reap main, and the runner would wait for a status that never comes.
    import gc
    import subprocess as sp

    from forklab.runner import Runner

    lab = tmp_path / "lab.py"
    lab.write_text("import os\nos._exit(5)\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", f"{ROOT}{os.pathsep}{ROOT / 'containers'}")
    runner = Runner(str(lab), {"timeout": 10})
    runner.start()
    try:
        stat = Path(f"/proc/{runner.main_pid}/stat")
        while stat.read_text().split(") ")[1][0] != "Z":
            pass  # main has exited once it is a zombie
        gc.collect()
        sp._cleanup()
        pid, status = os.waitpid(runner.main_pid, os.WNOHANG)
        assert pid == runner.main_pid and os.WEXITSTATUS(status) == 5
        runner.record_reap(pid, status)
    finally:
        runner.listener.close()
        for fd in runner.open_streams:
            os.close(fd)


def test_the_runner_can_hand_its_process_to_the_next_step(tmp_path):
    # docker compose's driver chains runs so: the document goes to a file, and the
    # same process (PID 1 in a container) becomes the next command.
    lab = tmp_path / "lab.py"
    lab.write_text("import os\nprint('hello from', os.getpid())\n", encoding="utf-8")
    result_file = tmp_path / "result.json"
    then = [sys.executable, "-c", "import os, sys; print('next step is', os.getpid())"]
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'containers'}"}
    process = subprocess.Popen([sys.executable, "-m", "forklab.runner", "--settings", '{"timeout": 15}',
                                "--result-file", str(result_file), "--then", json.dumps(then), str(lab)],
                               stdout=subprocess.PIPE, env=env)
    out, _ = process.communicate(timeout=45)
    assert process.returncode == 0
    assert out.decode().splitlines() == [f"next step is {process.pid}"], "no document on stdout; same pid"
    document = json.loads(result_file.read_text(encoding="ascii"))
    assert document["status"] == "finished" and document["stdout"].startswith("hello from ")
    assert not list(tmp_path.glob("*.partial"))


HOSTILE = ROOT / "tests" / "hostile"


def test_connections_that_send_nothing_cannot_hold_up_the_runner(tmp_path):
    # Before, the runner waited up to 2 s on each connection in turn: 300 silent
    # ones kept it from its deadline for ten minutes, and from its document.
    doc = run_runner(tmp_path, """\
        import os, socket
        print("holding 300 connections", flush=True)
        held = []
        for _ in range(300):
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.connect(os.environ["FORKLAB_SOCKET"])
            held.append(connection)
        while True:
            pass
    """, timeout=2)
    assert doc["status"] == "timeout"
    assert doc["stdout"] == "holding 300 connections\n"
    assert doc["exit"]["signal_name"] == "SIGKILL"
    assert [s["checkpoint"] for s in doc["snapshots"]] == ["end"]
    assert sum(doc["refused_requests"].values()) == 300, doc["refused_requests"]
    assert any("sent no whole request within 1 s" in w for w in doc["warnings"])


def test_a_long_line_a_crowd_and_unread_replies_leave_checkpoints_working(tmp_path):
    doc = run_runner(tmp_path, (HOSTILE / "socket_abuse.py").read_text(encoding="utf-8"))
    assert doc["exit"]["code"] == 0, doc["stderr"]
    assert doc["stdout"] == "the runner hung up on a 4 MiB line\ncheckpoint() still works\n"
    names = [s["checkpoint"] for s in doc["snapshots"]]
    assert names == [f"unread-{n}" for n in range(20)] + ["after", "end"]
    assert doc["refused_requests"]["too_long"] == 1
    # The 300 silent ones: closed when their time was up, or as the lab ended.
    assert sum(doc["refused_requests"].values()) == 301


def test_false_fork_reports_are_dropped_and_counted(tmp_path):
    doc = run_runner(tmp_path, (HOSTILE / "forged_forks.py").read_text(encoding="utf-8"))
    assert doc["exit"]["code"] == 0, doc["stderr"]
    main = doc["main"]["pid"]
    forks = [e for e in doc["events"] if e["event"] == "fork"]
    first = [e for e in forks if e["pid"] != main]
    assert [(e["ppid"], e["nth"]) for e in first] == [(main, 1)], forks
    assert doc["dropped_fork_reports"] == 42
    assert any(w.startswith("42 fork reports were dropped") for w in doc["warnings"])


def test_a_fork_is_credited_to_its_gone_parent_under_a_subreaper_too(tmp_path):
    # main is a subreaper: a grandchild whose parent exited before its fork hook
    # ran now has main as its parent, and still names the parent that forked it.
    doc = run_runner(tmp_path, """\
        import ctypes, os
        assert ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
        for _ in range(20):
            if os.fork() == 0:
                os.fork()
                os._exit(0)
        while True:
            try:
                os.wait()
            except ChildProcessError:
                break
    """)
    forks = [e for e in doc["events"] if e["event"] == "fork"]
    main = doc["main"]["pid"]
    children = {e["pid"] for e in forks if e["ppid"] == main}
    grandchildren = [e for e in forks if e["pid"] != main and e["ppid"] != main]
    assert len(children) == 20 and len(grandchildren) == 20
    assert all(e["ppid"] in children for e in grandchildren)
    assert doc["dropped_fork_reports"] == 0


def test_checkpoints_beyond_the_cap_return_without_a_snapshot(tmp_path):
    from forklab.runner import MAX_SNAPSHOTS

    doc = run_runner(tmp_path, """\
        import os
        from forklab.checkpoint import checkpoint
        from forklab.runner import MAX_SNAPSHOTS
        for number in range(MAX_SNAPSHOTS + 50):
            checkpoint("spam-%d" % number)
        checkpoint("late", latecomer=os.getpid())
        print("every call returned")
    """, timeout=60)
    assert doc["stdout"] == "every call returned\n"
    assert [s["checkpoint"] for s in doc["snapshots"]] == [f"spam-{n}" for n in range(MAX_SNAPSHOTS)] + ["end"]
    assert doc["skipped_snapshots"] == 51
    assert doc["roles"][str(doc["main"]["pid"])] == "latecomer"  # its roles still count
    assert any(w.startswith(f"51 snapshots beyond the first {MAX_SNAPSHOTS}") for w in doc["warnings"])


def test_ps_gets_no_more_than_the_time_left(tmp_path, monkeypatch):
    import subprocess as sp

    from forklab import runner as runner_module

    asked = []

    def slow_ps(*args, timeout=None, **kwargs):
        asked.append(timeout)
        raise sp.TimeoutExpired(args[0], timeout)

    lab = tmp_path / "lab.py"
    lab.write_text("", encoding="utf-8")
    runner = runner_module.Runner(str(lab), {"timeout": 600})
    monkeypatch.setattr(runner_module.subprocess, "run", slow_ps)
    runner.deadline = runner_module.time.monotonic() + 0.5
    runner.snapshot("late", by=runner.pid, roles={})
    runner.snapshot("end", by=runner.pid, roles={}, end=True)
    assert 0 < asked[0] <= 0.5 and asked[1] == runner_module.END_PS_LIMIT
    assert all(s["ps"].startswith("(ps could not run: ") for s in runner.snapshots)


def test_fork_tree_names_are_unique_whatever_the_numbers_say():
    from forklab.result import name_processes

    def fork(pid, ppid, nth, t):
        return {"event": "fork", "pid": pid, "ppid": ppid, "nth": nth, "t_ms": t}

    doc = {"environment": {"runner_pid": 1}, "main": {"pid": 10}, "roles": {"1": "reaper"}, "snapshots": [],
           "events": [fork(10, 1, None, 0), fork(11, 10, 1, 1), fork(12, 10, 1, 2), fork(13, 10, -5, 3),
                      fork(14, 10, 10**30, 4), fork(15, 10, None, 5), fork(16, 10, 2, 6), fork(17, 10, True, 7),
                      fork(18, 11, 1, 8), fork(11, 16, 3, 9),  # a second report for 11
                      fork(20, 21, 1, 10), fork(21, 20, 1, 11)]}  # a loop no fork tree has
    names = name_processes(doc)
    assert names[11] == "main.1" and names[16] == "main.2" and names[18] == "main.1.1"
    assert [names[pid] for pid in (12, 13, 14, 15, 17)] == ["main.3", "main.4", "main.5", "main.6", "main.7"]
    assert {names[20], names[21]} == {"unnamed-1", "unnamed-2"}
    assert len(set(names.values())) == len(names)


def test_what_a_fork_report_must_match(tmp_path):
    from forklab.runner import Runner

    def gone_pid() -> int:
        process = subprocess.Popen(["true"])
        process.wait()
        return process.pid

    lab = tmp_path / "lab.py"
    lab.write_text("", encoding="utf-8")
    runner = Runner(str(lab), {})
    main, child, subreaper, stranger = 1001, gone_pid(), 1003, 1004
    alive = os.getpid()  # a process that still runs
    runner.main_pid = main
    runner.parent_of = {main: runner.pid, child: subreaper, subreaper: main, alive: main}
    runner.fork_reported = {child}
    holds = runner.fork_report_holds
    assert not holds(main, runner.pid, runner.pid)  # main is the runner's own child: it never reports
    assert not holds(child, subreaper, subreaper)  # a second report from one pid
    assert not holds(2000, main, True) and not holds(2000, main, -1) and not holds(2000, 2000, 2000)
    assert not holds(2000, runner.pid, runner.pid)  # only main is the runner's child
    assert holds(2000, main, main)  # the parent the kernel names
    assert not holds(2000, main, 4242)  # a parent the runner never heard of
    assert not holds(2000, main, alive)  # a parent that still runs, yet is not the caller's
    # The named parent is gone, the caller handed to a reaper: the runner, PID 1,
    # or a subreaper above the named parent; not any other process.
    assert holds(2000, runner.pid, child) and holds(2001, 1, child) and holds(2002, subreaper, child)
    assert holds(2003, main, child)
    assert not holds(2004, stranger, child)
    # A caller gone before it could be asked: its parent must at least be known.
    assert holds(gone_pid(), None, child) and not holds(gone_pid(), None, 4242)


def test_a_role_given_to_two_processes_is_said_once(tmp_path):
    doc = run_runner(tmp_path, """\
        import os
        from forklab.checkpoint import checkpoint
        for _ in range(5):
            checkpoint("mine", x=os.getpid())
            checkpoint("other", x=os.getpid() + 100000)
    """)
    assert doc["exit"]["code"] == 0, doc["stderr"]
    assert doc["warnings"] == ["role 'x' was given to two processes"]


def test_a_role_name_with_a_trailing_newline_is_refused():
    from forklab import runner

    # re.match with `$` accepts a newline at the end; a role must be the whole name.
    assert runner.check_request("zombie", {"child": 7}) is None
    assert "role name 'child\\n'" in runner.check_request("zombie", {"child\n": 7})


def events_for(doc: dict, role: str) -> list[dict]:
    pid = next(int(p) for p, r in doc["roles"].items() if r == role)
    return [e for e in doc["events"] if e["pid"] == pid]


def test_a_subreaper_adopts_and_its_zombie_is_seen_then_gone(tmp_path):
    # Main makes itself a subreaper; middle forks the orphan and dies, so main,
    # not the runner, adopts the orphan, and later reaps it as its zombie.
    doc = run_runner(tmp_path, """\
        import ctypes, os
        from forklab.checkpoint import checkpoint
        assert ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) == 0
        main = os.getpid()
        middle = os.fork()
        if middle == 0:
            middle = os.getpid()
            if os.fork() == 0:
                while os.getppid() != main:
                    pass
                checkpoint("adopted", orphan=os.getpid(), middle=middle)
                os._exit(0)
            os._exit(0)
        os.waitpid(middle, 0)
        orphan = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT).si_pid
        checkpoint("orphan-zombie", orphan=orphan)
        os.waitpid(orphan, 0)
        checkpoint("after-wait")
    """)
    main = doc["main"]["pid"]
    middle = next(int(p) for p, r in doc["roles"].items() if r == "middle")
    events = {e["event"]: e for e in events_for(doc, "orphan")}
    assert sorted(events) == ["adopt", "fork", "gone", "zombie"], "the runner neither adopted nor reaped it"
    assert (events["adopt"]["by"], events["adopt"]["from"]) == (main, middle)
    assert events["zombie"]["ppid"] == main
    # The exit lies between the last look that saw it running and the first that saw it a zombie.
    assert events["zombie"]["alive_ms"] is not None and events["zombie"]["alive_ms"] < events["zombie"]["t_ms"]
    gone = events["gone"]
    assert (gone["state"], gone["ppid"], gone["ppid_alive"]) == ("Z", main, True)
    assert gone["seen_ms"] < gone["t_ms"]
    # Each snapshot is a look too: the zombie was seen by the one at orphan-zombie at the latest,
    # and the one at after-wait found it gone.
    looked = {s["checkpoint"]: s["rows_ms"] for s in doc["snapshots"]}
    assert events["zombie"]["t_ms"] <= looked["orphan-zombie"][1]
    assert looked["orphan-zombie"][0] < gone["t_ms"] <= looked["after-wait"][1]


def test_a_child_reaped_by_the_kernel_is_seen_gone_while_running(tmp_path):
    # SIGCHLD ignored: the kernel discards the child when it exits; it is never a zombie.
    doc = run_runner(tmp_path, """\
        import os, signal
        from forklab.checkpoint import checkpoint
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        child = os.fork()
        if child == 0:
            checkpoint("alive", child=os.getpid())
            os._exit(0)
        try:
            os.waitpid(child, 0)
        except ChildProcessError:
            pass
        while True:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
        checkpoint("after")
    """)
    kinds = [e["event"] for e in events_for(doc, "child")]
    assert kinds == ["fork", "gone"]
    [gone] = [e for e in events_for(doc, "child") if e["event"] == "gone"]
    assert gone["state"] != "Z" and gone["ppid"] == doc["main"]["pid"]
    assert gone["alive_ms"] == gone["seen_ms"] < gone["t_ms"]


def test_only_processes_the_kit_knows_get_events(tmp_path):
    # posix_spawn's child is reported by no fork hook: the runner watches it but records nothing of it.
    doc = run_runner(tmp_path, """\
        import os
        pid = os.posix_spawn("/bin/sh", ["sh", "-c", "exit 0"], os.environ)
        os.waitpid(pid, 0)
        print(pid)
    """)
    spawned = int(doc["stdout"])
    assert [e for e in doc["events"] if e["pid"] == spawned] == []


def test_emptied_removes_files_links_and_folders_made_read_only(tmp_path):
    from forklab.inside.runner import emptied

    place, outside = tmp_path / "tmp", tmp_path / "outside.txt"
    outside.write_text("keep", encoding="utf-8")
    (place / "locked" / "inner").mkdir(parents=True)
    (place / "locked" / "inner" / "file").write_text("x", encoding="utf-8")
    (place / "mark").write_text("x", encoding="utf-8")
    (place / "link").symlink_to(outside)
    (place / "dirlink").symlink_to(tmp_path)
    (place / "locked" / "inner").chmod(0o500)
    (place / "locked").chmod(0o500)
    assert emptied((str(place),)) is True
    assert list(place.iterdir()) == []
    assert outside.read_text(encoding="utf-8") == "keep", "a link's target is not the runner's to remove"


def test_variants_share_a_container_only_with_the_runner_as_its_pid_1(tmp_path):
    # On the host the runner is not PID 1: /tmp is not its own, so after the first variant
    # the others are refused, and nothing of /tmp is touched.
    marker = tmp_path / "still-here"
    marker.write_text("x", encoding="utf-8")
    lab = tmp_path / "lab.py"
    lab.write_text("import os\nprint('variant', os.environ['FORKLAB_VARIANT'])\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'containers'}"}
    entries = [{"timeout": 15, "variant": "first"}, {"timeout": 15, "variant": "second"}]
    done = subprocess.run([sys.executable, "-m", "forklab.runner", "--settings", json.dumps(entries), str(lab)],
                          capture_output=True, env=env, timeout=60, check=True)
    document = json.loads(done.stdout.decode())
    first, second = document["batch"]
    assert document["status"] == "finished"
    assert first["status"] == "finished" and first["stdout"] == "variant first\n"
    assert second["status"] == "runner-error" and "PID 1" in second["error"]
    assert marker.exists()
