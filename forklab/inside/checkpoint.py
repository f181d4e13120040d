"""The one call a lab makes: ``checkpoint("zombie", child=pid)``.

Inside the kit, the call sends one request to the runner over a Unix socket and
blocks until the runner has taken its snapshot of the process table, so what the
report shows is exactly the moment the lab meant.  Outside the kit (a student
typing ``python3 lab.py`` in a terminal) there is no runner: the call prints the
``ps`` rows of the lab's process group itself, so the lab still teaches.

When the runner steps aside (lab.yaml ``run: {pid1: lab}`` or ``{pid1: init}``),
the lab itself is the container's main process and the host watches from
outside: the call writes one line to stderr and waits for SIGUSR1, which the
host sends (from the same ``docker exec`` that takes the snapshot) once it has taken it.
``python3 -m forklab.checkpoint lab.py`` starts such a lab (see the end of this file).

Only the standard library is used: this file runs inside the lab image.
"""

from __future__ import annotations

import os
import socket
import sys
import time

# json and subprocess load only when a checkpoint is called: this module is
# imported by every Python process of a lab (through sitecustomize), and a
# fork report needs neither.
from forklab.inside.protocol import (  # noqa: F401 - the names the host and tests read here too
    CHAOS_ENV,
    HOST_ENV,
    HOST_MARK,
    MAIN_ENV,
    PS_FIELDS,
    SOCKET_ENV,
    WRITES_ENV,
)


class CheckpointError(RuntimeError):
    """The runner refused a checkpoint (for example, a role that is not a pid)."""


def checkpoint(name: str, **roles: int) -> None:
    """Mark a moment worth seeing, naming the processes that matter.

    ``name`` is how the report refers to this moment; each keyword names a role
    and gives the pid that plays it, e.g. ``checkpoint("zombie", parent=os.getpid(),
    child=pid)``.  Returns once the snapshot has been taken.
    """
    if not isinstance(name, str) or not name:
        raise TypeError("checkpoint name must be a non-empty string")
    for role, pid in roles.items():
        if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            raise TypeError(f"role {role!r} must be given a pid (a positive int), not {pid!r}")
    # Whatever this process printed so far belongs before the snapshot.
    _flush_std_streams()
    path = os.environ.get(SOCKET_ENV)
    if path:
        _ask_runner(path, name, roles)
    elif os.environ.get(HOST_ENV) and os.environ.get(MAIN_ENV):
        _ask_host(name, roles)
    else:
        _print_ps(name, roles)


def _flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _send(path: str, message: dict | str, wait_for_reply: bool) -> dict | None:
    if isinstance(message, str):
        data = (message + "\n").encode("ascii")
    else:
        import json

        data = (json.dumps(message, ensure_ascii=True) + "\n").encode("ascii")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(data)
        if not wait_for_reply:
            return None
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    if not reply:
        return {}
    import json

    return json.loads(reply.decode("utf-8"))


def _ask_runner(path: str, name: str, roles: dict[str, int]) -> None:
    message = {"op": "checkpoint", "name": name, "pid": os.getpid(), "roles": roles,
               "t": time.monotonic()}
    reply = _send(path, message, wait_for_reply=True)
    if not reply or not reply.get("ok"):
        raise CheckpointError((reply or {}).get("error", "the runner did not answer"))


def _tell_host(message: str) -> None:
    """One line on stderr that the host reads from the container's log and leaves out of the output.

    One write(2) call: lines shorter than a pipe's buffer are never torn apart.
    """
    os.write(2, ("%s%s %s\n" % (HOST_MARK, os.environ.get(HOST_ENV, ""), message)).encode("ascii"))


def _ask_host(name: str, roles: dict[str, int], final: bool = False) -> None:
    """The runner stepped aside: say where we are, and wait until the host has looked.

    SIGUSR1 is blocked before the line is written, so an answer that comes at
    once is kept pending, not lost, and sigwait() takes it (a blocked signal
    reaches even a PID 1, which otherwise ignores signals it has no handler for).
    """
    import json
    import signal

    from forklab.inside.runner import check_request

    error = check_request(name, roles)
    if error:
        raise CheckpointError(error)
    answer = {signal.SIGUSR1}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, answer)
    try:
        _tell_host(json.dumps({"op": "checkpoint", "name": name, "pid": os.getpid(), "roles": roles,
                               "main": int(os.environ[MAIN_ENV]), "final": final}, ensure_ascii=True))
        signal.sigwait(answer)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _hold_at_exit() -> None:
    """main's program is over: hold here, so the host can look a last time and then stop us.

    Registered with atexit in main only; a forked child that runs its copy of
    the atexit list is not main and goes on ending.
    """
    if str(os.getpid()) != os.environ.get(MAIN_ENV):
        return
    _flush_std_streams()
    _ask_host("end", {}, final=True)


def _print_ps(name: str, roles: dict[str, int]) -> None:
    """Outside the kit: show this process group's rows, the way the report would."""
    import subprocess

    by_pid = {pid: role for role, pid in roles.items()}
    names = ", ".join(f"{role}={pid}" for role, pid in roles.items())
    header = f"--- checkpoint {name}" + (f" ({names})" if names else "") + " ---"
    try:
        text = subprocess.run(["ps", "-eo", PS_FIELDS], capture_output=True, text=True,
                              errors="replace", check=False).stdout
    except OSError as exc:
        print(f"{header}\n(ps is not available here: {exc})", file=sys.stderr, flush=True)
        return
    lines = text.splitlines()
    group = os.getpgrp()
    shown = lines[:1]
    for line in lines[1:]:
        parts = line.split(None, 3)
        try:
            pid, pgid = int(parts[0]), int(parts[2])
        except (IndexError, ValueError):
            continue
        if pgid == group or pid in by_pid:
            shown.append(line + (f"   <- {by_pid[pid]}" if pid in by_pid else ""))
    print(header, *shown, sep="\n", file=sys.stderr, flush=True)


#: Set in the parent just before each fork, read by the child (fork copies
#: them): how many forks the parent has made, and the parent's own pid.
#: getppid() in the child would be wrong if the parent had already exited.
_forks_made = 0
_forking_pid = 0


#: --chaos: a seeded generator, and the decision for the fork under way, drawn
#: in the parent before the fork so that the child (a copy) knows it too.
_chaos = None
_chaos_max_ms = 0.0
_decision = None


def _count_fork() -> None:
    global _forks_made, _forking_pid, _decision
    _forks_made += 1
    _forking_pid = os.getpid()
    if _chaos is not None:
        # At least a quarter of the maximum, so the side that waits really is late.
        _decision = ("parent" if _chaos.random() < 0.5 else "child",
                     round(_chaos.uniform(_chaos_max_ms / 4, _chaos_max_ms), 1))


def _delay(side: str) -> None:
    if _decision is not None and _decision[0] == side:
        time.sleep(_decision[1] / 1000)


def _after_in_parent() -> None:
    # No system call here: CPython runs this hook also when fork() failed,
    # before it reads errno for the exception.
    _delay("parent")


def _report_fork() -> None:
    """Runs in every new child (registered by the image's sitecustomize)."""
    global _forks_made, _recorded, _events
    nth, _forks_made = _forks_made, 0
    if _record_dir is not None:  # this process starts a file of its own
        # Where the fork was in the parent: after the parent's first _events
        # events (this is the parent's count, copied by fork).
        at, _recorded, _events = _events, 0, 0
        _record(b"B %d %d %d\n" % (_forking_pid or os.getppid(), nth, at), event=False)
    path = os.environ.get(SOCKET_ENV)
    if not path and not os.environ.get(HOST_ENV):
        return
    # Numbers only, written out by hand: no json import in every process.
    message = '{"op": "fork", "pid": %d, "ppid": %d, "nth": %d, "t": %r' % (
        os.getpid(), _forking_pid or os.getppid(), nth, time.monotonic())
    if _decision is not None:
        message += ', "chaos": {"delayed": "%s", "ms": %r}' % _decision
    message += "}"
    try:
        if path:
            _send(path, message, wait_for_reply=False)
        else:
            _tell_host(message)  # the runner stepped aside: the host reads it from stderr
    except OSError:
        # The runner may be gone (a timeout is tearing everything down); the
        # fork itself must not fail because nobody is listening.
        pass
    _delay("child")


#: Who wrote what (FORKLAB_WRITES, set by the runner): each process appends
#: to its own file in that folder, named by its pid, what it did in the
#: order it did it: ``S PPID`` (a Python program started by exec: main, or
#: one a subprocess ran), ``B PPID NTH AT`` (born as its parent's NTH fork,
#: made after the parent's first AT events), then the events: ``E`` (exec'd
#: another Python program), ``W LEN`` and the LEN bytes of one write(2) to
#: the runner's stdout, ``R PID`` (a wait returned that child, ended), ``T``
#: (the next write came from a thread), and ``X`` once it has recorded
#: RECORD_LIMIT bytes (it stops).  The parent writes nothing at a fork: the
#: child says where the fork was, so a failed fork() is never disturbed.  The
#: host builds the graph of every possible output order from these files
#: (forklab/graph.py); the runner reads them at the end.
RECORD_LIMIT = 64 * 1024
_record_dir: str | None = None
_recorded = 0
_events = 0
#: (st_dev, st_ino) of the runner's stdout: writes that go anywhere else
#: (a pipe put on fd 1 with dup2, a file) are not the program's output.
_stdout_identity: tuple | None = None
_real_write = os.write


def _record(data: bytes, event: bool = True) -> None:
    """Append to this process's file; opened and closed each time, so no
    descriptor of the kit's ever shows among the program's own."""
    global _recorded, _events
    if _record_dir is None or _recorded > RECORD_LIMIT:
        return
    _events += event
    _recorded += len(data)
    if _recorded > RECORD_LIMIT:
        data = b"X\n"
    try:
        fd = os.open(os.path.join(_record_dir, str(os.getpid())),
                     os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            _real_write(fd, data)
        finally:
            os.close(fd)
    except OSError:
        pass  # a full /tmp must not break the program's own writes


def _is_stdout(fd: int) -> bool:
    try:
        status = os.fstat(fd)
    except OSError:
        return False
    return (status.st_dev, status.st_ino) == _stdout_identity


def _record_write(fd: int, data, written: int) -> None:
    if written <= 0 or not _is_stdout(fd):
        return
    threading = sys.modules.get("threading")
    if threading is not None and threading.current_thread() is not threading.main_thread():
        _record(b"T\n")  # a thread wrote: program order is no longer one line of events
    _record(b"W %d\n" % written + bytes(memoryview(data).cast("B")[:written]))


def _recording_write(fd, data):
    """os.write, and a note of what went to stdout."""
    written = _real_write(fd, data)
    _record_write(fd, data, written)
    return written


def _ended(result) -> int:
    """The pid a wait function returned, if that child has ended (not only stopped or continued)."""
    if result is None:
        return 0
    if hasattr(result, "si_code"):  # waitid
        return result.si_pid if result.si_code in (os.CLD_EXITED, os.CLD_KILLED, os.CLD_DUMPED) else 0
    pid, status = result[0], result[1]
    return pid if pid > 0 and (os.WIFEXITED(status) or os.WIFSIGNALED(status)) else 0


def _recording_wait(real):
    """A wait function that notes the child it returned."""
    def wait(*args, **kwargs):
        result = real(*args, **kwargs)
        pid = _ended(result)
        if pid:
            _record(b"R %d\n" % pid)
        return result
    wait.__name__ = real.__name__
    wait.__qualname__ = real.__qualname__
    wait.__doc__ = real.__doc__
    return wait


def _install_write_recording(folder: str) -> None:
    """Record, in this process and every process it forks, each write to stdout, fork and wait.

    sys.stdout is rebuilt on the same layers Python gave it (the same
    buffer size, line buffering and write-through, so what reaches fd 1 and
    when is unchanged), only its raw layer notes each write(2); os.write is
    wrapped the same way, and the wait functions note whom they returned.
    """
    global _record_dir, _stdout_identity
    import io

    try:
        status = os.fstat(1)
    except OSError:
        return
    _record_dir, _stdout_identity = folder, (status.st_dev, status.st_ino)
    if os.path.exists(os.path.join(folder, str(os.getpid()))):
        _record(b"E\n")  # this process exec'd a new Python program: it goes on
    else:
        _record(b"S %d\n" % os.getppid(), event=False)  # started by exec (main, or a program run by subprocess)

    class _RecordingFileIO(io.FileIO):
        def write(self, data):
            written = super().write(data)
            if written:
                _record_write(self.fileno(), data, written)
            return written

    old = sys.stdout
    if old is not None and getattr(old, "fileno", None) is not None:
        try:
            same_fd = old.fileno() == 1
        except (OSError, ValueError):
            same_fd = False
        if same_fd:
            raw = _RecordingFileIO(1, "wb", closefd=False)
            raw.name = "<stdout>"
            # -u: no buffer between the text layer and the file; else one as Python made it.
            binary = (io.BufferedWriter(raw, buffer_size=status.st_blksize if status.st_blksize > 1
                                        else io.DEFAULT_BUFFER_SIZE)
                      if isinstance(getattr(old, "buffer", None), io.BufferedWriter) else raw)
            text: io.TextIOWrapper = old  # type: ignore[assignment]  # sys.stdout is a TextIOWrapper at start-up
            stream = io.TextIOWrapper(binary, encoding=text.encoding, errors=text.errors, newline="\n",
                                      line_buffering=text.line_buffering, write_through=text.write_through)
            old.flush()
            sys.stdout = stream
            if sys.__stdout__ is old:
                sys.__stdout__ = stream  # type: ignore[misc]  # replaced on purpose: one stdout, recorded
            _kept.append(old)  # kept, so it is never collected half-way through the program
    os.write = _recording_write
    for name in ("wait", "waitpid", "wait3", "wait4", "waitid"):
        if hasattr(os, name):
            setattr(os, name, _recording_wait(getattr(os, name)))


_kept: list = []


def install_fork_reporting() -> None:
    """Tell the runner (or, when it stepped aside, the host) about every fork in this process and its descendants.

    Stepped aside, main (the process ``python3 -m forklab.checkpoint`` became)
    also holds at its exit until the host has looked and stops the container.

    With --chaos (FORKLAB_CHAOS="SEED:REPETITION:MAX_MS") each fork also delays
    the parent or the child, chosen and timed by a generator seeded for this
    repetition, so rare interleavings show up and a seed repeats them.
    """
    global _chaos, _chaos_max_ms
    if not ((os.environ.get(SOCKET_ENV) or os.environ.get(MAIN_ENV)) and hasattr(os, "register_at_fork")):
        return
    if os.environ.get(MAIN_ENV) and os.environ.get(HOST_ENV):
        import atexit

        atexit.register(_hold_at_exit)
    chaos = os.environ.get(CHAOS_ENV)
    if chaos:
        import random

        seed, repetition, max_ms = chaos.split(":")
        _chaos, _chaos_max_ms = random.Random(f"{seed}:{repetition}"), float(max_ms)
    folder = os.environ.get(WRITES_ENV)
    if folder and os.environ.get(SOCKET_ENV):
        _install_write_recording(folder)
    os.register_at_fork(before=_count_fork, after_in_parent=_after_in_parent, after_in_child=_report_fork)


def _become_the_lab(script: str, args: tuple | list = ()) -> None:
    """``python3 -m forklab.checkpoint lab.py [ARG ...]``: the container's command when the runner steps aside.

    It unpacks the lab that travels in the container's environment (as the
    runner would), then execs ``python3 lab.py`` in this same process: the pid
    stays, so with ``pid1: lab`` the lab's python is PID 1 itself, and with
    ``pid1: init`` it is the init's child.  The image's sitecustomize then
    reports every fork to the host and makes main hold at its exit.
    """
    from forklab.inside.runner import _unpack_archive, no_core_files, take_archive

    no_core_files()
    archive = take_archive()
    if archive:
        os.chdir(_unpack_archive(archive))
    os.environ[MAIN_ENV] = str(os.getpid())
    os.execvp("python3", ["python3", script, *args])


def main(argv: list[str]) -> None:
    """``python3 -m forklab.checkpoint lab.py [ARG ...]``: become the lab (the runner steps aside)."""
    if not argv:
        sys.exit("usage: python3 -m forklab.checkpoint lab.py [ARG ...]  (the runner steps aside; the host observes)")
    _become_the_lab(argv[0], argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
