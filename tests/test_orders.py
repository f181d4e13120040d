"""Who wrote each piece of stdout: the notes the fork hook keeps, read by the runner, named by the host.

The runner runs directly on this Linux host (as in tests/test_runner.py); the
graph itself is tested in tests/test_graph.py.
"""

from __future__ import annotations

import os

import pytest

from forklab import orders, runner
from forklab.result import name_processes
from tests.support import linux_only, run_runner

pytestmark = [pytest.mark.linux, linux_only]


def named(doc: dict) -> dict:
    found = orders.named_processes(doc["writers"], name_processes(doc), doc["main"]["pid"], doc["stdout"],
                                   timed_out=doc["status"] == "timeout")
    return orders.analyse(found, doc["stdout"])


def events_of(found: dict) -> dict[str, list]:
    return {p["name"]: p["events"] for p in found["processes"]}


def test_each_process_notes_its_writes_forks_and_waits_in_its_own_order(tmp_path):
    doc = run_runner(tmp_path, """
        import os, sys
        print("before", flush=True)
        pid = os.fork()
        if pid == 0:
            print("child")          # flushed at exit: one write
            os.write(1, b"raw\\n")  # os.write is noted too
            sys.stdout.flush()
            os._exit(0)
        os.waitpid(pid, 0)
        print("after")
    """)
    found = named(doc)
    assert found["problems"] == []
    assert events_of(found) == {
        "main": [["write", "before\n"], ["fork", "main.1"], ["reap", "main.1"], ["write", "after\n"]],
        "main.1": [["write", "raw\n"], ["write", "child\n"]],
    }
    assert [p["parent"] for p in found["processes"]] == [None, "main"]
    assert found["count"] == 1 and found["observed"] is True


def test_a_buffer_copied_by_fork_is_written_by_the_child_that_flushes_it(tmp_path):
    # On a pipe, "once" is still in main's buffer at fork(): both processes write it.
    doc = run_runner(tmp_path, """
        import os
        print("once")
        if os.fork() == 0:
            print("child")
        else:
            os.wait()
            print("parent")
    """)
    found = named(doc)
    assert events_of(found)["main.1"] == [["write", "once\nchild\n"]]
    assert events_of(found)["main"][-1] == ["write", "once\nparent\n"]
    assert found["count"] == 1  # the parent waits: child's write, then the parent's


def test_the_recording_keeps_python_s_buffering(tmp_path):
    program = """
        import io, sys
        kind = [k.__name__ for k in (io.BufferedWriter, io.FileIO) if isinstance(sys.stdout.buffer, k)]
        print(*kind, sys.stdout.line_buffering, sys.stdout.write_through,
              sys.stdout.encoding, sys.stdout.name, sys.stdout.fileno(), sys.stdout.isatty(), flush=True)
    """
    assert run_runner(tmp_path, program)["stdout"] == "BufferedWriter False False utf-8 <stdout> 1 False\n"
    assert run_runner(tmp_path, program, stdout="tty")["stdout"] == "BufferedWriter True False utf-8 <stdout> 1 True\n"
    assert run_runner(tmp_path, program, unbuffered=True)["stdout"] == "FileIO False True utf-8 <stdout> 1 False\n"


def test_the_notes_never_hold_a_descriptor_open_in_the_program(tmp_path):
    doc = run_runner(tmp_path, """
        import os
        before = sorted(os.listdir("/proc/self/fd"))
        print("a line", flush=True)
        if os.fork() == 0:
            print("child", flush=True)
            print(sorted(os.listdir("/proc/self/fd")) == before, flush=True)
            os._exit(0)
        os.wait()
        print(sorted(os.listdir("/proc/self/fd")) == before, flush=True)
    """)
    assert doc["stdout"].splitlines()[-2:] == ["True", "True"]


def test_writes_that_go_elsewhere_are_not_the_output(tmp_path):
    # A pipe put on fd 1 with dup2 (a shell's pipeline) is not the runner's stdout.
    doc = run_runner(tmp_path, """
        import os, sys
        read, write = os.pipe()
        saved = os.dup(1)
        os.dup2(write, 1)
        os.write(1, b"into the pipe\\n")
        os.dup2(saved, 1)
        print(os.read(read, 100).decode().strip(), "came back", flush=True)
    """)
    found = named(doc)
    assert events_of(found)["main"] == [["write", "into the pipe came back\n"]]
    assert found["problems"] == []


def test_output_from_an_exec_d_program_is_said_not_guessed(tmp_path):
    doc = run_runner(tmp_path, """
        import os
        print("python", flush=True)
        pid = os.fork()
        if pid == 0:
            os.execvp("echo", ["echo", "from echo"])
        os.waitpid(pid, 0)
    """)
    found = named(doc)
    assert found["count"] is None
    assert any("written by something the kit does not follow" in p for p in found["problems"])


def test_a_thread_that_writes_is_a_problem(tmp_path):
    doc = run_runner(tmp_path, """
        import os, threading
        t = threading.Thread(target=lambda: print("from a thread", flush=True))
        t.start(); t.join()
        if os.fork() == 0:
            os._exit(0)
        os.wait()
    """)
    found = named(doc)
    assert found["count"] is None and any("thread" in p for p in found["problems"])


def test_a_wait_that_saw_a_stopped_child_is_no_edge(tmp_path):
    doc = run_runner(tmp_path, """
        import os, signal
        pid = os.fork()
        if pid == 0:
            os.kill(os.getpid(), signal.SIGSTOP)
            print("child", flush=True)
            os._exit(0)
        os.waitpid(pid, os.WUNTRACED)   # returns: stopped, not ended
        print("parent", flush=True)
        os.kill(pid, signal.SIGCONT)
        os.waitpid(pid, 0)
    """)
    found = named(doc)
    reaps = [e for e in events_of(found)["main"] if e[0] == "reap"]
    assert reaps == [["reap", "main.1"]]
    assert events_of(found)["main"].index(reaps[0]) > events_of(found)["main"].index(["write", "parent\n"])
    assert found["count"] == 2  # the stop kept the order, but the graph does not know it: both orders


def test_a_timeout_is_said(tmp_path):
    doc = run_runner(tmp_path, """
        import os, time
        os.fork()
        print("x", flush=True)
        time.sleep(60)
    """, timeout=2)
    assert any("timeout" in p for p in named(doc)["problems"])


def test_a_fork_sits_where_the_child_says_in_its_parent_s_events(tmp_path):
    doc = run_runner(tmp_path, """
        import os
        print("one", flush=True)
        a = os.fork()
        if a == 0:
            os._exit(0)
        b = os.fork()
        if b == 0:
            print("b", flush=True)
            os._exit(0)
        print("two", flush=True)
        os.waitpid(a, 0); os.waitpid(b, 0)
        if os.fork() == 0:
            os._exit(0)
        os.wait()
    """)
    assert events_of(named(doc))["main"] == [
        ["write", "one\n"], ["fork", "main.1"], ["fork", "main.2"], ["write", "two\n"],
        ["reap", "main.1"], ["reap", "main.2"], ["fork", "main.3"], ["reap", "main.3"]]


def test_the_runner_reads_forged_notes_without_harm(tmp_path):
    folder = tmp_path / "writes"
    folder.mkdir()
    (folder / "100").write_bytes(b"S 1\nW 6\nhello\nR 101\n")
    (folder / "101").write_bytes(b"B 100 1 1\nW 99\nshort")            # a length that lies
    (folder / "102").write_bytes(b"B 100 2 1\nF 5\n")                  # a record that is no record
    (folder / "103").write_bytes(b"S 1\n" + b"W 1\nx" * 40000)        # more than the runner reads
    (folder / "nope").write_bytes(b"S 1\n")
    os.symlink("/etc/passwd", folder / "104")
    os.mkfifo(folder / "105")
    found = runner.read_writers(str(folder))
    assert [p["pid"] for p in found["processes"]] == [100]
    assert found["processes"][0]["events"] == [["w", "hello\n"], ["r", 101]]
    assert found["unreadable"] == 6


def test_a_pid_used_twice_is_a_problem_not_a_merge(tmp_path):
    folder = tmp_path / "writes"
    folder.mkdir()
    (folder / "7").write_bytes(b"S 1\nW 2\na\n")
    (folder / "8").write_bytes(b"B 7 1 1\nW 2\nb\nB 7 2 1\nW 2\nc\n")
    found = runner.read_writers(str(folder))
    assert [p["pid"] for p in found["processes"]] == [7, 8, 8]
    named_ = orders.named_processes(found, {7: "main", 8: "main.1"}, 7, "a\nb\nc\n")
    assert any("pid 8 was used by two processes" in p for p in named_["problems"])


def test_who_wrote_each_line_and_when_the_output_cannot_tell():
    found = {"problems": [], "processes": [
        {"name": "main", "parent": None, "events": [["fork", "main.1"], ["write", "hi\n"], ["write", "A\nB\n"]]},
        {"name": "main.1", "parent": "main", "events": [["write", "hi\n"], ["write", "C\n"]]}]}
    assert orders.writers_of(found, "hi\nC\nhi\nA\nB\n") == [
        ("hi", ["main", "main.1"]), ("C", ["main.1"]), ("hi", ["main", "main.1"]), ("A", ["main"]), ("B", ["main"])]
    # The lines of one write come together: C cannot land between A and B.
    assert orders.writers_of(found, "hi\nhi\nA\nC\nB\n") is None
    assert orders.writers_of(found, "something else\n") is None
    assert orders.writers_of({**found, "problems": ["a thread wrote"]}, "hi\n") is None
