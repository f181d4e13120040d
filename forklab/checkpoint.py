"""The one call a lab makes: ``checkpoint("zombie", child=pid)``.

Inside the kit, the call sends one request to the runner over a Unix socket and
blocks until the runner has taken its snapshot of the process table, so what the
report shows is exactly the moment the lab meant.  Outside the kit (a student
typing ``python3 lab.py`` in a terminal) there is no runner: the call prints the
``ps`` rows of the lab's process group itself, so the lab still teaches.

When the runner steps aside (lab.yaml ``run: {pid1: lab}`` or ``{pid1: init}``),
the lab itself is the container's main process and the host watches from
outside: the call writes one line to stderr and waits for SIGUSR1, which the
host sends (``docker exec ... kill -USR1 PID``) once it has taken the snapshot.
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

#: Environment variable holding the runner's socket path (set only by the runner).
SOCKET_ENV = "FORKLAB_SOCKET"
#: When the runner steps aside: this run's secret, which starts every line meant for the host.
HOST_ENV = "FORKLAB_HOST"
#: ... and the pid of the lab's main process (set by ``python3 -m forklab.checkpoint``).
MAIN_ENV = "FORKLAB_MAIN"
#: A line on stderr for the host: this, the secret, a space and one JSON object.
HOST_MARK = "\x1eforklab "

PS_FIELDS = "pid,ppid,pgid,stat,comm,args"


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

    from forklab.runner import check_request

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
_chaos_max_ms = 0
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
    _delay("parent")


def _report_fork() -> None:
    """Runs in every new child (registered by the image's sitecustomize)."""
    global _forks_made
    nth, _forks_made = _forks_made, 0
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
    chaos = os.environ.get("FORKLAB_CHAOS")
    if chaos:
        import random

        seed, repetition, max_ms = chaos.split(":")
        _chaos, _chaos_max_ms = random.Random(f"{seed}:{repetition}"), float(max_ms)
    os.register_at_fork(before=_count_fork, after_in_parent=_after_in_parent, after_in_child=_report_fork)


def _become_the_lab(script: str, args: list = ()) -> None:
    """``python3 -m forklab.checkpoint lab.py [ARG ...]``: the container's command when the runner steps aside.

    It unpacks the lab that travels in the container's environment (as the
    runner would), then execs ``python3 lab.py`` in this same process: the pid
    stays, so with ``pid1: lab`` the lab's python is PID 1 itself, and with
    ``pid1: init`` it is the init's child.  The image's sitecustomize then
    reports every fork to the host and makes main hold at its exit.
    """
    from forklab.runner import _unpack_archive, no_core_files, take_archive

    no_core_files()
    archive = take_archive()
    if archive:
        os.chdir(_unpack_archive(archive))
    os.environ[MAIN_ENV] = str(os.getpid())
    os.execvp("python3", ["python3", script, *args])


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python3 -m forklab.checkpoint lab.py [ARG ...]  (the runner steps aside; the host observes)")
    _become_the_lab(sys.argv[1], sys.argv[2:])
