"""The observer that runs inside the lab container.

``python3 -m forklab.runner [--settings JSON] lab.py`` starts the lab, and then,
in one single-threaded loop (threads and fork do not mix):

* reads the lab's stdout and stderr from two pipes (or stdout from a pty), kept apart;
* answers ``checkpoint()`` calls on a Unix socket: each call blocks the caller
  while the runner takes a snapshot (raw ``ps`` text plus rows parsed from /proc,
  with the open descriptors of each of the lab's processes),
  up to MAX_SNAPSHOTS of them; the runner itself never waits on the socket;
* hears about every fork from the image's sitecustomize hook, and keeps a
  report only if the kernel bears out who sent it and who its parent is;
* is the reaper: as PID 1 or as a child subreaper it adopts orphans, records
  each reap it does, and waits for every descendant before it reports;
* reads the process table every round of its loop and at each snapshot, and
  records what it sees change there: a process given a new parent (adopted,
  by the runner or by a subreaper below it), a process first seen as a
  zombie, and a process gone from the table (reaped by someone else), each
  with the looks that bound when it happened;
* kills everything when the lab's time is up.

At the end it prints one JSON document on its stdout and exits.  The host reads
that document from the container's log; nothing else writes to the runner's
stdout, so nothing the lab prints can pass for it.

Standard library only: this file is copied into the image (forklab/inside/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import select
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

from forklab.inside.protocol import (  # noqa: F401 - the names the host and tests read here too
    ARCHIVE_ENV,
    CHAOS_ENV,
    MAX_NTH,
    NONCE_ENV,
    PS_FIELDS,
    RESERVED_ROLES,
    ROLE_REGEX,
    SCHEMA,
    SOCKET_ENV,
    VARIANT_ENV,
    WRITES_ENV,
)

ROLE_PATTERN = re.compile(ROLE_REGEX)
PR_SET_CHILD_SUBREAPER = 36
#: How often the runner looks for newly adopted orphans while nothing else happens.
SCAN_INTERVAL = 0.05
#: After a kill, how long to wait for the dead to be reaped.
KILL_GRACE = 2.0
#: At most this many snapshots per run, besides the "end" one, which is always
#: taken.  Each costs the host a file and a section in every report; a lab that
#: calls checkpoint() in a loop gets its calls answered (it goes on) and counted
#: beyond this, without a snapshot.
MAX_SNAPSHOTS = 200
#: The checkpoint socket: a request is one JSON line of at most REQUEST_CAP
#: bytes, sent whole within REQUEST_DEADLINE seconds of connecting; at most
#: MAX_CONNECTIONS stay open at once (a newcomer beyond that pushes out the
#: oldest).  The runner never waits for a connection: it reads what is there
#: and goes on, so nothing a lab does to the socket can hold up its loop, its
#: deadline or its document.
REQUEST_CAP = 64 * 1024
REQUEST_DEADLINE = 1.0
MAX_CONNECTIONS = 128
#: The longest a snapshot's ps may take; within the lab's time it also gets no
#: more than the time left.  The "end" snapshot comes after the lab's time and
#: gets END_PS_LIMIT.
PS_LIMIT = 10.0
END_PS_LIMIT = 2.0
#: Before a checkpoint's snapshot, the lab's other processes that are running
#: (R) get up to this long to reach their next wait: one that has just written
#: to a pipe and is on its way to read another is shown waiting, as it is for
#: the rest of the checkpoint, not caught between two system calls, which on a
#: busy machine can last milliseconds and would make two runs' reports differ.
#: One that is still running after it (a busy loop) is shown running.
SETTLE_LIMIT = 0.1
DEFAULTS = {"timeout": 20.0, "stdout": "pipe", "reaper": True, "unbuffered": False,
            "descendants": "wait", "output_cap": 4 * 1024 * 1024,
            "snapshot_start": False, "interval": 0.0,
            # The variant the lab runs as (FORKLAB_VARIANT), its environment
            # variables and lab.py's arguments (lab.yaml; the host refuses names
            # the kit sets itself, and the kit's own win here regardless).
            "variant": "default", "env": {}, "args": []}
#: What the runner reads of that folder: files, and bytes of each.
MAX_WRITERS = 512
WRITER_BYTES = 80 * 1024
PR_SET_DUMPABLE = 4


def decode_status(status: int | None) -> dict | None:
    """The raw wait status and what it means: an exit code or a signal."""
    if status is None:
        return None
    if os.WIFEXITED(status):
        return {"raw": status, "code": os.WEXITSTATUS(status), "signal": None, "signal_name": None}
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"SIG{number}"
        return {"raw": status, "code": None, "signal": number, "signal_name": name,
                "core_dumped": bool(os.WCOREDUMP(status))}
    return {"raw": status, "code": None, "signal": None, "signal_name": None}


def read_process_table() -> list[dict]:
    """One row per process, parsed from /proc (what ``ps`` reads too)."""
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    rows: list[dict] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue  # it ended while we looked
        # comm may hold spaces and parentheses: it ends at the last ')'.
        comm = stat[stat.find("(") + 1:stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2:].split()
        state = fields[0]
        if argv:
            command = " ".join(argv)
        else:
            command = f"[{comm}] <defunct>" if state == "Z" else f"[{comm}]"
        rows.append({"pid": pid, "ppid": int(fields[1]), "pgid": int(fields[2]),
                     "state": state, "comm": comm, "command": command,
                     "threads": int(fields[17]), "rss_kb": int(fields[21]) * page_kb,
                     "private_kb": _private_kb(pid) if state != "Z" else 0})
    rows.sort(key=lambda r: r["pid"])
    return rows


#: A snapshot lists at most this many open descriptors of each process (its
#: lowest), and counts the rest: a lab that opens thousands cannot slow it down.
MAX_FDS = 64
_ACCESS_MODES = {0: "r", 1: "w", 2: "rw"}


def read_fds(pid: int) -> dict | None:
    """A process's open file descriptors, from /proc: ``{"fds": [{fd, target, mode}], "more": N}``.

    ``target`` is what /proc/PID/fd/N links to (``pipe:[1234]``, ``/tmp/lab/data.txt``,
    ``socket:[99]``, ``/dev/null``), ``mode`` how it was opened (r, w or rw;
    for a pipe, which end).  None when they cannot be read (a process that is
    gone, or that made itself non-dumpable).
    """
    folder = f"/proc/{pid}/fd"
    try:
        numbers = sorted(int(name) for name in os.listdir(folder) if name.isdigit())
    except OSError:
        return None
    fds = []
    for fd in numbers[:MAX_FDS]:
        try:
            # As bytes: a file's name need not be UTF-8; the report gets U+FFFD for what is not.
            target = os.readlink(f"{folder}/{fd}".encode()).decode("utf-8", "replace")
        except OSError:
            continue  # closed while we looked
        # The mode of a pipe (which end) or a file; a socket's or an anonymous inode's says little.
        fds.append({"fd": fd, "target": target,
                    "mode": _access_mode(pid, fd) if target.startswith(("pipe:", "/")) else None})
    return {"fds": fds, "more": max(len(numbers) - MAX_FDS, 0)}


def _access_mode(pid: int, fd: int) -> str | None:
    """r, w or rw: the access mode in the flags of /proc/PID/fdinfo/FD (octal; its low two bits)."""
    try:
        handle = os.open(f"/proc/{pid}/fdinfo/{fd}", os.O_RDONLY)  # os.open: half the cost of open()
        try:
            text = os.read(handle, 512)
        finally:
            os.close(handle)
        flags = next(line for line in text.split(b"\n") if line.startswith(b"flags:"))
        return _ACCESS_MODES.get(int(flags.split()[1], 8) & 3)
    except (OSError, StopIteration, IndexError, ValueError):
        return None


def add_fds(rows: list[dict]) -> None:
    """Give each row of a live process its open descriptors (``fds``; ``fds_more`` beyond MAX_FDS).

    Only at a snapshot, and only for the lab's processes: the loop's own looks
    at the table stay as quick as they were.
    """
    for row in rows:
        if row["state"] == "Z":
            continue  # a zombie holds nothing open
        found = read_fds(row["pid"])
        row["fds"] = None if found is None else found["fds"]
        if found and found["more"]:
            row["fds_more"] = found["more"]


def _state_and_parent(pid: int) -> tuple[str, int] | None:
    """A process's state letter and its parent's pid, from /proc; None once it is gone (reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        fields = stat[stat.rfind(b")") + 2:].split()
        return fields[0].decode("ascii", "replace"), int(fields[1])
    except (OSError, ValueError, IndexError):
        return None


def _states_and_parents() -> list[dict]:
    """Every process's pid, state and parent, read from /proc's stat files only (quicker than the full table)."""
    rows = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _state_and_parent(int(entry))
            if found is not None:
                rows.append({"pid": int(entry), "state": found[0], "ppid": found[1]})
    return rows


def wait_until_settled(pids: list[int], limit: float = 1.0) -> None:
    """Give those of ``pids`` that are running (R) up to ``limit`` seconds to reach a wait (see SETTLE_LIMIT)."""
    deadline = time.monotonic() + limit
    running = pids
    while True:
        running = [pid for pid in running if (_state_and_parent(pid) or ("gone",))[0] == "R"]
        if not running or time.monotonic() >= deadline:
            return
        time.sleep(0.0002)


def _take_controlling_terminal() -> None:
    """In the new session's leader, before exec: make stdout's pty the controlling terminal."""
    import fcntl
    import termios

    fcntl.ioctl(1, termios.TIOCSCTTY, 0)


def select_readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def _private_kb(pid: int) -> int | None:
    """Memory only this process has (USS): pages it shares after fork() do not count.

    RSS counts shared pages in every process that maps them, so right after
    fork() parent and child both show the full size; USS shows copy-on-write.
    """
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as f:
            return sum(int(line.split()[1]) for line in f
                       if line.startswith(("Private_Clean:", "Private_Dirty:")))
    except (OSError, ValueError, IndexError):
        return None


def container_memory_bytes() -> int | None:
    """Memory in use by the whole container, as its cgroup counts it."""
    return cgroup_value("/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory/memory.usage_in_bytes")


def _read_first_line(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.readline().strip()
    except OSError:
        return None


def _cgroup_limit(*paths: str) -> int | None:
    """A cgroup limit as a number, or None when unlimited or unreadable."""
    for path in paths:
        value = _read_first_line(path)
        if value is None:
            continue
        if value == "max":
            return None
        try:
            number = int(value)
        except ValueError:
            continue
        # cgroup v1 spells "no memory limit" as a huge page-aligned number.
        return None if number >= 1 << 60 else number
    return None


def _status_field(name: str) -> str | None:
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _core_limit() -> int | None:
    """RLIMIT_CORE's soft limit in bytes (0: no core files), or None when unlimited or unknown."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_CORE)
    except (ImportError, OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY else soft


def no_core_files() -> None:
    """RLIMIT_CORE to 0 for this process and all it starts: a lab that aborts (lab 04's
    SIGABRT) ends the same way on every engine, whatever the engine's default.

    Set here, inside the container, and not as the engine's ulimit: lowering a
    limit needs no privilege, while an explicit ulimit replaces all of Podman's
    default_ulimits.  (A host whose core_pattern pipes cores to a program, such
    as systemd-coredump or apport, ignores this limit: the host kernel's choice.)
    """
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, OSError, ValueError):
        pass


def _filesystem_bytes(path: str) -> int | None:
    """The size of the file system mounted at ``path`` (a tmpfs's size= option), or None."""
    try:
        info = os.statvfs(path)
    except OSError:
        return None
    return info.f_blocks * info.f_frsize


def _root_is_read_only() -> bool | None:
    try:
        with open("/proc/self/mounts", encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 3 and parts[1] == "/":
                    return "ro" in parts[3].split(",")
    except OSError:
        pass
    return None


def _os_release() -> str | None:
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return None


def _prctl(option: int, value: int) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (ImportError, OSError, AttributeError):
        return False


def take_archive(environ=os.environ, name: str = ARCHIVE_ENV) -> str | None:
    """The archive's base64 text, its parts removed from ``environ`` (nothing the lab starts should carry them)."""
    count = environ.pop(name, None)
    if count is None:
        return None
    return "".join(environ.pop(f"{name}_{index}", "") for index in range(int(count)))


def take_archives(environ=os.environ) -> list[str | None]:
    """Every archive the container carries (FORKLAB_ARCHIVE, then FORKLAB_ARCHIVE1, 2, ...), all removed."""
    archives = [take_archive(environ)]
    while f"{ARCHIVE_ENV}{len(archives)}" in environ:
        archives.append(take_archive(environ, f"{ARCHIVE_ENV}{len(archives)}"))
    return archives


def _unpack_archive(encoded: str) -> str:
    """Unpack the script's files into the container's /tmp; return the folder."""
    import base64
    import io
    import tarfile

    # A fixed place, so a lab that prints its working directory prints the same in every run.
    folder = "/tmp/lab" if os.path.isdir("/tmp") and not os.path.exists("/tmp/lab") else \
        tempfile.mkdtemp(prefix="forklab-script-")
    os.makedirs(folder, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(encoded))) as archive:
        for member in archive.getmembers():
            # Only plain files and folders, only below the folder.
            target = os.path.realpath(os.path.join(folder, member.name))
            if not target.startswith(folder + os.sep) or not (member.isfile() or member.isdir()):
                raise ValueError(f"refusing archive member {member.name!r}")
        if hasattr(tarfile, "data_filter"):
            archive.extractall(folder, filter="data")
        else:  # Python before 3.11.4: the members were checked above
            archive.extractall(folder)
    return folder


def cgroup_value(*paths: str) -> int | None:
    """The first of these cgroup files that holds a number (a count, not a limit)."""
    for path in paths:
        value = _read_first_line(path)
        if value and value.isdigit():
            return int(value)
    return None


def oom_kills() -> int | None:
    """How many processes the kernel's OOM killer has killed in this container."""
    for path in ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"):
        try:
            with open(path, encoding="ascii") as f:
                for line in f:
                    if line.startswith("oom_kill "):
                        return int(line.split()[1])
        except (OSError, ValueError):
            continue
    return None


def read_writers(folder: str) -> dict:
    """What each Python process of the lab recorded of its writes, forks and waits.

    Returns {"processes": [...], "unreadable": N}; each process is
    {"pid", "start": "fork"|"exec", "ppid", "nth" and "at" (fork only: the
    parent's NTH fork, made after the parent's first AT events), "events"},
    events in the process's own order: ["w", text] (one write(2) to stdout),
    ["r", pid], ["e"] (exec'd Python), ["t"] (a thread's write follows),
    ["x"] (stopped recording: too much).  A pid that was used twice
    gives two processes.  Files are read without following links, and only
    so much of each: the lab's processes could have written anything here.
    """
    processes: list[dict] = []
    unreadable = 0
    try:
        names = sorted(os.listdir(folder), key=lambda n: (len(n), n))
    except OSError:
        return {"processes": [], "unreadable": 0}
    for name in names[:MAX_WRITERS]:
        if not name.isdigit():
            unreadable += 1
            continue
        try:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            unreadable += 1
            continue
        try:
            if not stat_is_regular(fd):
                unreadable += 1
                continue
            data = os.read(fd, WRITER_BYTES + 1)
        finally:
            os.close(fd)
        parsed = _parse_writer(int(name), data[:WRITER_BYTES])
        if parsed is None or len(data) > WRITER_BYTES:
            unreadable += 1
        processes.extend(parsed or [])
    unreadable += max(0, len(names) - MAX_WRITERS)
    return {"processes": processes, "unreadable": unreadable}


def stat_is_regular(fd: int) -> bool:
    import stat

    return stat.S_ISREG(os.fstat(fd).st_mode)


def _parse_writer(pid: int, data: bytes) -> list[dict] | None:
    """One pid's records (see checkpoint.py), or None if they do not parse."""
    processes: list[dict] = []
    at = 0
    while at < len(data):
        end = data.find(b"\n", at)
        if end < 0:
            return None
        head = data[at:end].split(b" ")
        at = end + 1
        kind, numbers = head[0], head[1:]
        if not all(n.isdigit() and len(n) < 12 for n in numbers):
            return None
        values = [int(n) for n in numbers]
        if kind in (b"S", b"B"):
            if len(values) != (1 if kind == b"S" else 3):
                return None
            process: dict = {"pid": pid, "start": "exec" if kind == b"S" else "fork", "ppid": values[0],
                             "events": []}
            if kind == b"B":
                process["nth"], process["at"] = values[1], values[2]
            processes.append(process)
            continue
        if not processes:
            return None
        events = processes[-1]["events"]
        if kind == b"W" and len(values) == 1:
            text = data[at:at + values[0]]
            if len(text) != values[0]:
                return None
            at += values[0]
            events.append(["w", text.decode("utf-8", "surrogateescape")])
        elif kind == b"R" and len(values) == 1:
            events.append(["r", values[0]])
        elif kind in (b"E", b"T", b"X") and not values:
            events.append([kind.decode().lower()])
        else:
            return None
    return processes


def _become_subreaper() -> bool:
    """Make orphaned descendants come to us even when we are not PID 1."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


class _Request:
    """One connection to the checkpoint socket, read a piece at a time as its bytes come."""

    __slots__ = ("sock", "caller", "parent", "state", "looked", "data", "deadline")

    def __init__(self, sock: socket.socket, caller: int, parent: int | None, deadline: float,
                 state: str | None = None, looked: tuple[float, float] | None = None) -> None:
        self.sock = sock
        # The kernel's word on who connected, and that process's parent and
        # state when the runner accepted the connection (None: already gone).
        # That is a look at the caller, bounded by ``looked`` (ms, before and after).
        self.caller = caller
        self.parent = parent
        self.state = state
        self.looked = looked
        self.data = b""
        self.deadline = deadline


class Runner:
    def __init__(self, script: str, settings: dict, chaos: str | None = None) -> None:
        unknown = set(settings) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown runner settings: {', '.join(sorted(unknown))}")
        self.settings = {**DEFAULTS, **settings}
        self.chaos = chaos
        self.script = os.path.abspath(script)
        self.peak_processes = 0
        self.oom_kills_before = oom_kills()
        self.t0 = time.monotonic()
        self.pid = os.getpid()
        self.subreaper = self.pid != 1 and _become_subreaper()
        # Whether reap() collects every child or only the lab's main process;
        # a timeout turns it on so the killed are always collected.
        self.reaping = bool(self.settings["reaper"])
        self.roles: dict[int, str] = {self.pid: "reaper"}
        self.holders: dict[str, int] = {"reaper": self.pid}
        self.events: list[dict] = []
        self.snapshots: list[dict] = []
        self.warnings: list[str] = []
        self.output = {"stdout": bytearray(), "stderr": bytearray()}
        self.dropped = {"stdout": 0, "stderr": 0}
        self.adopted: set[int] = set()
        self.main_pid: int | None = None
        self.main_status: int | None = None
        self.no_children = False
        self.timed_out = False
        self.torn_down = False
        self.main_exit_recorded = False
        self.open_streams: dict[int, str] = {}
        self.deadline = self.t0 + float(self.settings["timeout"])
        # The checkpoint socket: open connections in the order they came (so a
        # parent's fork report is read before its child's), and what was refused.
        self.selector: selectors.BaseSelector | None = None
        self.requests: list[_Request] = []
        self.refused: dict[str, int] = {}
        self.skipped_snapshots = 0
        # Fork reports: the pids that made one, the ones that did not hold up,
        # and a parent for every pid the runner knows (reported or seen in /proc).
        self.fork_reported: set[int] = set()
        self.dropped_fork_reports = 0
        self.parent_of: dict[int, int] = {}
        # What the runner has seen of each process below it, look by look:
        # its last state and parent and when it was seen (see observe()).
        # Exits and reaps the runner does not do itself can be seen only so.
        # Events are recorded for the processes the kit knows (main, those whose
        # fork was reported, those the runner adopted); the others (children
        # made by posix_spawn or subprocess, which no fork hook reports) are
        # watched too, so that what was seen before their report came counts.
        self.watch: dict[int, dict] = {}
        self.known: set[int] = set()

    # -- time ---------------------------------------------------------------
    def ms(self, t: float | None = None) -> float:
        return round(((time.monotonic() if t is None else t) - self.t0) * 1000, 3)

    # -- the lab process ------------------------------------------------------
    def _lab_environment(self, socket_path: str) -> dict:
        # Built from scratch so nothing leaks in from whoever started the
        # container; buffering in particular is decided here, never inherited.
        # The variant's own variables come first, so the kit's always win.
        env = {
            **{str(name): str(value) for name, value in dict(self.settings["env"]).items()},
            VARIANT_ENV: str(self.settings["variant"]),
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONIOENCODING": "utf-8",
            SOCKET_ENV: socket_path,
            WRITES_ENV: os.path.join(os.path.dirname(socket_path), "writes"),
        }
        if self.settings["unbuffered"]:
            env["PYTHONUNBUFFERED"] = "1"
        if self.settings["stdout"] != "pipe":
            env["TERM"] = "dumb"
        if self.chaos:
            env[CHAOS_ENV] = self.chaos
        return env

    def start(self) -> None:
        sockdir = tempfile.mkdtemp(prefix="forklab-")
        self.socket_path = os.path.join(sockdir, "runner.sock")
        self.writes_dir = os.path.join(sockdir, "writes")
        os.mkdir(self.writes_dir, 0o700)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.socket_path)
        self.listener.listen(128)
        self.listener.setblocking(False)

        if self.settings["stdout"] in ("tty", "tty-session"):
            out_read, out_write = os.openpty()
        else:
            out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        command = ["python3", os.path.basename(self.script), *map(str, self.settings["args"])]
        # With tty-session the pty is the controlling terminal of main's new
        # session: when main (the session leader) exits, the kernel sends
        # SIGHUP (and SIGCONT) to the terminal's foreground process group.
        take_terminal = _take_controlling_terminal if self.settings["stdout"] == "tty-session" else None
        proc = subprocess.Popen(command, cwd=os.path.dirname(self.script),
                                env=self._lab_environment(self.socket_path),
                                stdin=subprocess.DEVNULL, stdout=out_write, stderr=err_write,
                                start_new_session=True, preexec_fn=take_terminal)
        os.close(out_write)
        os.close(err_write)
        # Keep the Popen object: one that is dropped while its process runs goes
        # on subprocess's list of children to clean up, and the next
        # subprocess.run (the snapshot's ps) would quietly reap main, whose exit
        # status then never reaches the runner.
        self.main_process = proc
        self.main_pid = proc.pid
        self.roles[proc.pid] = "main"
        self.holders["main"] = proc.pid
        self.parent_of[proc.pid] = self.pid
        self.known.add(proc.pid)
        self.events.append({"event": "fork", "t_ms": self.ms(), "pid": proc.pid,
                            "ppid": self.pid, "note": "runner started " + " ".join(command)})
        self.open_streams = {out_read: "stdout", err_read: "stderr"}

    # -- the loop -------------------------------------------------------------
    def run(self) -> dict:
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        # A lab may signal its parent, which can be the runner: note it, carry on.
        # (As PID 1 the kernel drops signals it has no handler for, but Python
        # installs one for SIGINT; outside PID 1 SIGTERM and SIGHUP would end it.)
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, self._signalled)
        signal.set_wakeup_fd(wake_write)
        self.start()
        selector = selectors.DefaultSelector()
        for fd, name in self.open_streams.items():
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ, name)
        selector.register(self.listener, selectors.EVENT_READ, "socket")
        selector.register(wake_read, selectors.EVENT_READ, "wake")
        self.selector = selector
        deadline = self.deadline
        interval = float(self.settings["interval"] or 0)
        next_tick, ticks = time.monotonic() + interval, 0
        if self.settings["snapshot_start"]:
            self.snapshot("start", by=self.pid, roles={})

        while True:
            now = time.monotonic()
            if now >= deadline:
                self.timed_out = True
                self.warnings.append(f"time is up after {self.settings['timeout']} s: "
                                     "every remaining process was killed")
                self.kill_all()
                break
            socket_ready = False
            for key, _ in selector.select(min(SCAN_INTERVAL, deadline - now)):
                if key.data == "socket" or isinstance(key.data, _Request):
                    socket_ready = True
                elif key.data == "wake":
                    try:
                        os.read(wake_read, 4096)
                    except BlockingIOError:
                        pass
                elif not self.read_stream(key.fd):
                    selector.unregister(key.fd)
            # After the output: what a lab printed before its checkpoint is read first.
            if socket_ready:
                self.serve_socket()
            self.close_late_requests()
            if self.settings["descendants"] == "kill":
                self.tear_down_if_main_exited()
            self.reap()
            if time.monotonic() >= deadline:
                continue  # a busy container slows every step: check the time before the next
            looked = self.ms()
            rows = read_process_table()
            self.observe(rows, looked, self.ms())
            self.note_peak(rows)
            self.note_parents(rows)
            if self.finished(rows):
                break
            if interval and time.monotonic() >= next_tick:
                ticks += 1
                self.snapshot(f"every-{interval:g}s-{ticks}", by=self.pid, roles={})
                next_tick = time.monotonic() + interval

        self.serve_socket(final=True)  # fork reports that arrived at the very end
        self.drain_streams()
        self.snapshot("end", by=self.pid, roles={}, end=True)
        return self.document()

    def _signalled(self, number: int, frame: object) -> None:
        self.warnings.append(f"the runner received {signal.Signals(number).name} and ignored it")

    def note_peak(self, rows: list[dict]) -> None:
        """The most processes alive at once: the cgroup's count, or what /proc shows."""
        counted = cgroup_value("/sys/fs/cgroup/pids.current", "/sys/fs/cgroup/pids/pids.current")
        alive = 1 + len([r for r in self.descendants(rows) if r["state"] != "Z"])
        self.peak_processes = max(self.peak_processes, counted or 0, alive)

    def finished(self, rows: list[dict]) -> bool:
        if self.main_status is None or self.open_streams:
            return False
        if self.settings["reaper"]:
            return self.no_children
        # Without a reaper, the end is when nothing is left alive: zombies stay.
        return all(row["state"] == "Z" for row in self.descendants(rows))

    def descendants(self, rows: list[dict]) -> list[dict]:
        by_parent: dict[int, list[dict]] = {}
        for row in rows:
            by_parent.setdefault(row["ppid"], []).append(row)
        found, todo = [], [self.pid]
        while todo:
            for row in by_parent.get(todo.pop(), []):
                found.append(row)
                todo.append(row["pid"])
        return found

    # -- output -----------------------------------------------------------------
    def read_stream(self, fd: int) -> bool:
        """Read what is there; False once the stream has ended."""
        name = self.open_streams[fd]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        except OSError:  # a pty whose last writer is gone answers EIO
            data = b""
        if not data:
            os.close(fd)
            del self.open_streams[fd]
            return False
        room = self.settings["output_cap"] - len(self.output[name])
        self.output[name] += data[:max(room, 0)]
        self.dropped[name] += max(len(data) - max(room, 0), 0)
        return True

    def drain_streams(self) -> None:
        """Take what is left in the pipes; close any whose writer is still (dying) about."""
        for fd in list(self.open_streams):
            while fd in self.open_streams and self.read_stream(fd):
                if not select_readable(fd):
                    break
            if fd in self.open_streams:
                os.close(fd)
                del self.open_streams[fd]

    # -- reaping --------------------------------------------------------------
    def tear_down_if_main_exited(self) -> None:
        """descendants=kill: what a container does when its main process exits.

        The runner peeks (WNOWAIT) so main stays a zombie, kills every other
        process, and only then reaps main: nothing can run in between.
        """
        if self.torn_down or self.main_status is not None or self.main_pid is None:
            return
        try:
            info = os.waitid(os.P_PID, self.main_pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None:
            return
        self.torn_down = True
        # Record main's end now, when it happened; it is collected after the others.
        status = (info.si_status << 8 if info.si_code == os.CLD_EXITED
                  else info.si_status | (0x80 if info.si_code == os.CLD_DUMPED else 0))
        self.events.append({"event": "exit", "t_ms": self.ms(), "pid": self.main_pid,
                            "status": decode_status(status),
                            "alive_ms": (self.watch.get(self.main_pid) or {}).get("alive_ms")})
        self.main_exit_recorded = True
        self.events.append({"event": "teardown", "t_ms": self.ms(), "pid": self.main_pid,
                            "note": "main exited: every other process is killed, as when a "
                                    "container's main process exits"})
        self.kill_all(keep=self.main_pid)

    def reap(self) -> None:
        while True:
            try:
                if self.reaping:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                elif self.main_status is None and self.main_pid is not None:
                    pid, status = os.waitpid(self.main_pid, os.WNOHANG)
                else:
                    return
            except ChildProcessError:
                self.no_children = True
                return
            if pid == 0:
                return
            self.record_reap(pid, status)

    def record_reap(self, pid: int, status: int) -> None:
        t = self.ms()
        entry = self.watch.pop(pid, None)
        if pid != self.main_pid and pid not in self.adopted:
            # It came and went between two looks: adopted, then reaped.
            self.adopted.add(pid)
            self.known.add(pid)
            self.events.append({"event": "adopt", "t_ms": t, "pid": pid, "by": self.pid,
                                "from": entry["parent"] if entry else self.parent_of.get(pid),
                                "note": "seen when reaped"})
        if not (pid == self.main_pid and self.main_exit_recorded):
            # It exited after the last look that saw it running (alive_ms), and by now.
            self.events.append({"event": "exit", "t_ms": t, "pid": pid, "status": decode_status(status),
                                "alive_ms": entry["alive_ms"] if entry else None})
        self.events.append({"event": "reap", "t_ms": t, "pid": pid, "by": self.pid})
        if pid == self.main_pid:
            self.main_status = status
            self.main_process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by subprocess

    # -- what the process table shows --------------------------------------------
    def observe(self, rows: list[dict], started: float, ended: float) -> None:
        """Record what changed since the last look at the process table.

        ``rows`` were read between ``started`` and ``ended`` (ms).  A process
        seen there was there at some moment of that span, so what changes
        later happened after ``started``; what is seen changed (a new parent,
        a zombie, a process gone) had happened by ``ended``.  Those are the
        times recorded: the truth lies between two looks, and the report draws
        that span as what it is.
        """
        present = {row["pid"]: row for row in rows}
        for pid in [pid for pid in self.watch if pid not in present]:
            self.note_gone(pid, present, ended)
        for row in self.descendants(rows):
            self.see(row["pid"], row["state"], row["ppid"], started, ended)

    def see(self, pid: int, state: str, ppid: int, started: float, ended: float) -> None:
        """One look at one process: its state and parent, seen between ``started`` and ``ended``."""
        entry = self.watch.get(pid)
        if entry is None:
            # "parent" is the parent the events have given it so far (the
            # fork's, then each adopter's); None until its fork is reported.
            entry = self.watch[pid] = {"parent": self.parent_of.get(pid) if pid in self.fork_reported else None,
                                       "ppid": None, "state": None, "seen_ms": None, "alive_ms": None,
                                       "parent_since_ms": None, "zombie": None}
        elif entry["seen_ms"] is not None and started < entry["seen_ms"]:
            # A look older than one already taken in (a connection accepted
            # before a look at the table, its report read after): it adds nothing.
            self.tell(pid, entry)
            return
        if ppid != entry["ppid"]:
            entry["parent_since_ms"] = ended
        entry.update(ppid=ppid, state=state, seen_ms=started)
        if state == "Z":
            if entry["zombie"] is None:
                # It exited after the last look that saw it running and before this one.
                entry["zombie"] = {"t_ms": ended, "ppid": ppid, "alive_ms": entry["alive_ms"]}
        else:
            entry["alive_ms"] = started
        if pid not in self.known and ppid == self.pid and pid != self.main_pid:
            # Main is the runner's only child of its own making: any other was adopted.
            self.known.add(pid)
        self.tell(pid, entry)

    def tell(self, pid: int, entry: dict) -> None:
        """The events a known process's looks call for and that are not recorded yet."""
        if pid not in self.known:
            return
        if entry["ppid"] is not None and entry["ppid"] != entry["parent"] and pid != self.main_pid:
            # A process gets a new parent only when its parent dies: it was adopted,
            # by the runner or by a subreaper between the runner and it.
            event = {"event": "adopt", "t_ms": entry["parent_since_ms"], "pid": pid, "by": entry["ppid"],
                     "from": entry["parent"], "state": entry["state"]}
            if entry["ppid"] == self.pid:
                self.adopted.add(pid)
            self.events.append(event)
            entry["parent"] = entry["ppid"]
        zombie = entry["zombie"]
        if zombie is not None and not zombie.get("told"):
            zombie["told"] = True
            self.events.append({"event": "zombie", "t_ms": zombie["t_ms"], "pid": pid, "ppid": zombie["ppid"],
                                "alive_ms": zombie["alive_ms"]})

    def note_gone(self, pid: int, present: dict[int, dict], ended: float) -> None:
        """A process the runner did not reap has left the table: someone else reaped it.

        Only a zombie's parent can collect it with wait(), and a parent that
        is still alive has been the zombie's parent all along (a process is
        re-parented only when its parent dies): so a process last seen as a
        zombie of a parent that is still alive was reaped by that parent
        (``ppid_alive``).  One last seen running may have exited and been
        reaped between two looks by its parent, or by the kernel, when its
        parent ignores SIGCHLD: that is not known.
        """
        entry = self.watch.pop(pid)
        if pid not in self.known:
            return
        parent = present.get(entry["ppid"])
        self.events.append({"event": "gone", "t_ms": ended, "pid": pid, "seen_ms": entry["seen_ms"],
                            "state": entry["state"], "ppid": entry["ppid"], "alive_ms": entry["alive_ms"],
                            "ppid_alive": parent is not None and parent["state"] != "Z"})

    def become_known(self, pid: int, ppid: int, request: _Request) -> None:
        """A fork report held up: the process is known from now on, and its parent by fork is ``ppid``."""
        self.known.add(pid)
        entry = self.watch.get(pid)
        if entry is not None and entry["parent"] is None:
            entry["parent"] = ppid  # seen in the table before its report came
        looked = request.looked or (self.ms(), self.ms())
        if request.state is not None and request.parent is not None:  # read together from /proc
            self.see(pid, request.state, request.parent, looked[0], looked[1])
        elif entry is not None:
            self.tell(pid, entry)  # gone since: the next look at the table says so
        else:
            # It connected, so it lived, but it was gone before the runner ever saw it in the table.
            self.events.append({"event": "gone", "t_ms": looked[1], "pid": pid, "seen_ms": None, "state": None,
                                "ppid": ppid, "alive_ms": None, "ppid_alive": None})

    def kill_all(self, keep: int | None = None) -> None:
        """SIGKILL every descendant and reap them all, whatever the reaper setting.

        ``keep`` is a zombie not to reap yet (main, during a teardown).
        """
        self.reaping = keep is None
        end = time.monotonic() + KILL_GRACE
        while time.monotonic() < end:
            if self.pid == 1 and keep is None:
                # As PID 1, kill(-1) reaches every other process in the container at once:
                # the only way to stop a fork bomb that outruns a loop of kills.  It comes
                # before reading /proc, which is slow while dozens of processes hog the CPU.
                try:
                    os.kill(-1, signal.SIGKILL)
                except OSError:
                    pass
            alive = [r for r in self.descendants(read_process_table())
                     if r["state"] != "Z" and r["pid"] != keep]
            for row in alive:
                try:
                    os.kill(row["pid"], signal.SIGKILL)
                except OSError:
                    pass
            if keep is None:
                self.reap()
                if not alive and self.no_children:
                    break
            else:
                self.reap_all_but(keep)
                if not alive:
                    break
            time.sleep(0.01)
        self.reaping = True

    def reap_all_but(self, keep: int) -> None:
        """Reap every dead child except ``keep``, without touching its status."""
        for row in self.descendants(read_process_table()):
            if row["ppid"] == self.pid and row["state"] == "Z" and row["pid"] != keep:
                try:
                    pid, status = os.waitpid(row["pid"], os.WNOHANG)
                except ChildProcessError:
                    continue
                if pid:
                    self.record_reap(pid, status)

    # -- the checkpoint socket ------------------------------------------------
    def serve_socket(self, final: bool = False) -> None:
        """Take new connections, then read every open one, oldest first, without waiting for any.

        A request is handled once its line is whole.  ``final`` (the lab is
        over) hears the fork reports that came at the very end; a checkpoint
        found then has no caller left to answer.
        """
        self.accept_requests(final)
        for request in list(self.requests):
            if not final and time.monotonic() >= self.deadline:
                return  # the loop kills everything next; what is left is read in the final round
            self.read_request(request, final)
        if final:
            for request in list(self.requests):
                self.refuse(request, "unfinished")

    def accept_requests(self, final: bool = False) -> None:
        # A lab that connects in a loop must not keep the runner here: at most
        # MAX_CONNECTIONS each round, the rest wait for the next.  The final
        # round takes them all (no process is left to make more).
        accepted = 0
        while final or accepted < MAX_CONNECTIONS:
            accepted += 1
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # out of file descriptors: the connection waits in the queue
            if len(self.requests) >= MAX_CONNECTIONS:
                # Room for the newcomer: the oldest has had the longest to send
                # its line.  A crowd of silent connections so pushes out only
                # its own, and a checkpoint that comes after it still gets in.
                oldest = self.requests[0]
                self.read_request(oldest, final)
                if oldest in self.requests:
                    self.refuse(oldest, "crowded")
            conn.setblocking(False)
            # The kernel tells us who connected; the message cannot lie about it.
            creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            caller = struct.unpack("3i", creds)[0]
            # Its parent and state, read now: the sooner, the likelier the caller
            # is still there to ask.  That is a look at it, as good as one at the table.
            looked = self.ms()
            known = _state_and_parent(caller)
            request = _Request(conn, caller, known[1] if known else None,
                               time.monotonic() + REQUEST_DEADLINE, state=known[0] if known else None,
                               looked=(looked, self.ms()))
            self.requests.append(request)
            if self.selector is not None:
                self.selector.register(conn, selectors.EVENT_READ, request)

    def read_request(self, request: _Request, final: bool = False) -> None:
        """Read what this connection has sent; handle its line once it is whole."""
        ended = False
        while b"\n" not in request.data and len(request.data) <= REQUEST_CAP:
            try:
                chunk = request.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                chunk = b""  # reset by a caller that is gone
            if not chunk:
                ended = True
                break
            request.data += chunk
        line, newline, _ = request.data.partition(b"\n")
        if len(line) > REQUEST_CAP:
            self.refuse(request, "too_long")
        elif newline or (ended and line):
            self.handle(request, line, final)
        elif ended or final:
            self.refuse(request, "unfinished")

    def close_late_requests(self) -> None:
        """Close every connection that has had REQUEST_DEADLINE seconds and sent no whole line."""
        now = time.monotonic()
        for request in [r for r in self.requests if r.deadline <= now]:
            self.refuse(request, "unfinished")

    def refuse(self, request: _Request, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1
        self.close_request(request)

    def close_request(self, request: _Request) -> None:
        if self.selector is not None:
            try:
                self.selector.unregister(request.sock)
            except (KeyError, ValueError):
                pass
        request.sock.close()
        self.requests.remove(request)

    def answer(self, request: _Request, reply: dict) -> None:
        # The reply is a few dozen bytes: it fits the socket's buffer whether
        # or not the caller ever reads it, so sending never waits.
        try:
            request.sock.send((json.dumps(reply) + "\n").encode())
        except OSError:
            pass
        self.close_request(request)

    def handle(self, request: _Request, line: bytes, final: bool) -> None:
        try:
            message = json.loads(line.decode("utf-8"))
            op = message.get("op")
        except (ValueError, AttributeError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            self.refuse(request, "unreadable")
            return
        if op == "fork":
            self.note_fork(request, message)
            self.close_request(request)
            return
        if op != "checkpoint":
            self.refuse(request, "unreadable")
            return
        if final:
            self.refuse(request, "late")
            return
        name, roles = message.get("name"), message.get("roles") or {}
        error = check_request(name, roles)
        reply = {"ok": error is None, "error": error}
        if error is None:
            for role, pid in roles.items():
                self.name_role(pid, role)
            if self.room_for_snapshot():
                # The caller has sent its request but may not yet be blocked (a busy
                # machine leaves it runnable, R, for a moment): the snapshot shows it
                # waiting, as it is for the whole checkpoint.  Then the others.
                wait_until_settled([request.caller], min(1.0, max(self.deadline - time.monotonic(), 0)))
                wait_until_settled([row["pid"] for row in self.descendants(_states_and_parents())
                                    if row["state"] == "R" and row["pid"] != request.caller],
                                   min(SETTLE_LIMIT, max(self.deadline - time.monotonic(), 0)))
                self.snapshot(name, by=request.caller, roles={})
            else:
                reply["skipped"] = True
        self.answer(request, reply)

    # -- fork reports ---------------------------------------------------------
    def note_fork(self, request: _Request, message: dict) -> None:
        """Record the fork a child reports, if the report holds up against what the kernel says."""
        caller, parent = request.caller, request.parent
        ppid, t, nth = message.get("ppid"), message.get("t"), message.get("nth")
        if not self.fork_report_holds(caller, parent, ppid) or not isinstance(ppid, int):
            self.dropped_fork_reports += 1
            return
        self.fork_reported.add(caller)
        self.parent_of[caller] = ppid
        self.become_known(caller, ppid, request)
        # The child's own clock reading, unless it is not a moment of this run.
        moment = t if isinstance(t, float) and self.t0 <= t <= time.monotonic() else None
        event = {"event": "fork", "t_ms": self.ms(moment), "pid": caller, "ppid": ppid,
                 "nth": nth if isinstance(nth, int) and not isinstance(nth, bool) and 0 < nth <= MAX_NTH
                 else None}
        chaos = message.get("chaos")
        if self.chaos and isinstance(chaos, dict) and chaos.get("delayed") in ("parent", "child") \
                and isinstance(chaos.get("ms"), (int, float)) and 0 <= chaos["ms"] <= 60_000:
            event["chaos"] = {"delayed": chaos["delayed"], "ms": chaos["ms"]}
        self.events.append(event)

    def fork_report_holds(self, caller: int, parent: int | None, ppid: object) -> bool:
        """Whether ``caller`` (the kernel's word) may say it was forked by ``ppid`` (its own word).

        ``parent`` is the caller's parent when it connected (None if it was
        already gone).  A child reports its fork once, from its fork hook, and
        names the process that forked it; main is the runner's child and never
        reports.  When the caller is still there its report must name its real
        parent, with one exception: a parent that exited before the child's
        hook ran has handed the child to a reaper (the runner, PID 1, or a
        subreaper above the parent), so then the named parent must be gone and
        the reaper above it.  A caller that is gone cannot be asked; its report
        must at least name a process the runner knows.
        """
        if caller in (self.pid, self.main_pid) or caller in self.fork_reported:
            return False
        if isinstance(ppid, bool) or not isinstance(ppid, int) or ppid <= 0 or ppid in (caller, self.pid):
            return False
        if parent is None:
            known = _state_and_parent(caller)
            parent = known[1] if known else None
        if parent == ppid:
            return True
        if ppid not in self.parent_of:
            return False
        if parent is None:
            return True
        named = _state_and_parent(ppid)
        if named is not None and named[0] not in ("Z", "X"):
            return False  # the named parent still runs, yet it is not the caller's parent
        return parent in (self.pid, 1) or parent in self.ancestors(ppid)

    def ancestors(self, pid: int) -> set[int]:
        found: set[int] = set()
        while pid in self.parent_of and pid not in found:
            found.add(pid)
            pid = self.parent_of[pid]
        found.add(pid)
        found.discard(self.pid)
        return found

    def note_parents(self, rows: list[dict]) -> None:
        """Remember the first parent seen for every process of the lab (fork reports are checked against them)."""
        for row in self.descendants(rows):
            self.parent_of.setdefault(row["pid"], row["ppid"])

    def name_role(self, pid: int, role: str) -> None:
        # The role's last holder, looked up rather than searched for: a lab may
        # name thousands of pids, and each checkpoint must stay quick.
        holder = self.holders.get(role)
        if holder is not None and holder != pid and self.roles.get(holder) == role:
            warning = f"role {role!r} was given to two processes"
            if warning not in self.warnings:  # a lab that does it in a loop says it once
                self.warnings.append(warning)
        self.roles[pid] = role
        self.holders[role] = pid

    # -- snapshots ------------------------------------------------------------
    def room_for_snapshot(self) -> bool:
        """Whether one more snapshot fits under MAX_SNAPSHOTS; a "no" is counted."""
        if len(self.snapshots) < MAX_SNAPSHOTS:
            return True
        self.skipped_snapshots += 1
        return False

    def snapshot(self, name: str, by: int, roles: dict, end: bool = False) -> None:
        """Take a snapshot: ``end`` is the last one, always taken; the others only while there is room."""
        if not end and not self.room_for_snapshot():
            return
        started = time.monotonic()
        for role, pid in roles.items():
            self.name_role(pid, role)
        # The table first, at the checkpoint's moment; ps (tens of ms on a
        # busy machine) after it, so the rows show the state the caller asked about.
        looked = self.ms()
        rows = read_process_table()
        read = self.ms()
        self.observe(rows, looked, read)
        add_fds(self.descendants(rows))
        # ps may be slow (a busy machine, a full process table): it gets no
        # more than the lab's time left, so the runner keeps its deadline.
        limit = END_PS_LIMIT if end else min(PS_LIMIT, max(self.deadline - started, 0.05))
        try:
            ps = subprocess.run(["ps", "-eo", PS_FIELDS], stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=limit)
            raw = ps.stdout.decode("utf-8", "replace")
        except (OSError, subprocess.SubprocessError) as exc:
            # A fork bomb at the pids limit leaves no room even for ps.
            raw = f"(ps could not run: {exc})\n"
        # "rows_ms": when the rows were read: the moments this look at the table lies between.
        self.snapshots.append({"checkpoint": name, "by": by, "t_ms": self.ms(started), "rows_ms": [looked, read],
                               "cost_ms": round((time.monotonic() - started) * 1000, 3),
                               "container_memory_bytes": container_memory_bytes(),
                               "ps": raw, "processes": rows})

    # -- the result -------------------------------------------------------------
    def environment(self) -> dict:
        pid1 = _read_first_line("/proc/1/cmdline")
        return {
            "kernel": platform.release(),
            "machine": platform.machine(),
            "os": _os_release(),
            "python": platform.python_version(),
            "pid1": "runner" if self.pid == 1 else (pid1 or "").replace("\0", " ").strip(),
            "runner_pid": self.pid,
            "subreaper": self.subreaper,
            "uid": os.getuid(),
            "gid": os.getgid(),
            "cgroup": "v2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "v1",
            "limits": {
                "pids": _cgroup_limit("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"),
                "memory_bytes": _cgroup_limit("/sys/fs/cgroup/memory.max",
                                              "/sys/fs/cgroup/memory/memory.limit_in_bytes"),
                "timeout_s": self.settings["timeout"],
                "output_cap_bytes": self.settings["output_cap"],
                "core_bytes": _core_limit(),
                # The places a lab can write to (the root is read-only), with their sizes.
                "writable_bytes": {path: _filesystem_bytes(path) for path in ("/tmp", "/dev/shm")},
            },
            "read_only_root": _root_is_read_only(),
            "network_interfaces": sorted(os.listdir("/sys/class/net")) if os.path.isdir("/sys/class/net") else [],
            "capabilities_effective": _status_field("CapEff"),
            "no_new_privileges": _status_field("NoNewPrivs") == "1",
            "stdout": self.settings["stdout"],
            "reaper": self.settings["reaper"],
            "unbuffered": self.settings["unbuffered"],
            "descendants": self.settings["descendants"],
        }

    def _text(self, name: str) -> str:
        data = bytes(self.output[name])
        if name == "stdout" and self.settings["stdout"] != "pipe":
            data = data.replace(b"\r\n", b"\n")  # the pty's line discipline adds \r
        # surrogateescape keeps bytes that are not UTF-8 recoverable on the host.
        return data.decode("utf-8", "surrogateescape")

    def socket_warnings(self) -> list[str]:
        """One warning for each kind of thing the checkpoint socket turned away, with its count."""
        warnings = []
        if self.skipped_snapshots:
            warnings.append(f"{self.skipped_snapshots} snapshots beyond the first {MAX_SNAPSHOTS} were not "
                            "taken (their checkpoint calls returned at once); the end snapshot was")
        if self.dropped_fork_reports:
            warnings.append(f"{self.dropped_fork_reports} fork reports were dropped: their sender had already "
                            "reported its fork, was main, or named a parent the kernel does not confirm")
        texts = {
            "unfinished": f"sent no whole request within {REQUEST_DEADLINE:g} s (or before the lab ended) "
                          "and were closed",
            "too_long": f"sent a request longer than {REQUEST_CAP // 1024} KiB and were closed",
            "crowded": f"were closed unanswered to make room ({MAX_CONNECTIONS} were open at once)",
            "unreadable": "sent something other than a checkpoint or a fork report",
            "late": "asked for a checkpoint when the lab was over and got no answer",
        }
        for reason, count in sorted(self.refused.items()):
            warnings.append(f"{count} connections to the checkpoint socket {texts.get(reason, reason)}")
        return warnings

    def document(self) -> dict:
        return {
            "schema": SCHEMA,
            "status": "timeout" if self.timed_out else "finished",
            "environment": self.environment(),
            "main": {"pid": self.main_pid, "script": os.path.basename(self.script)},
            "exit": decode_status(self.main_status),
            "stdout": self._text("stdout"),
            "stderr": self._text("stderr"),
            "truncated": {name: count for name, count in self.dropped.items() if count},
            "snapshots": self.snapshots,
            "writers": (read_writers(self.writes_dir) if hasattr(self, "writes_dir")
                        else {"processes": [], "unreadable": 0}),
            "events": sorted(self.events, key=lambda e: e["t_ms"]),
            "roles": {str(pid): role for pid, role in sorted(self.roles.items())},
            "warnings": self.warnings + self.socket_warnings(),
            # What the checkpoint socket turned away (see MAX_SNAPSHOTS and REQUEST_CAP).
            "skipped_snapshots": self.skipped_snapshots,
            "dropped_fork_reports": self.dropped_fork_reports,
            "refused_requests": dict(sorted(self.refused.items())),
            "duration_ms": self.ms(),
            "peak_processes": self.peak_processes,
            "oom_kills": _difference(oom_kills(), self.oom_kills_before),
        }


def check_request(name: object, roles: object) -> str | None:
    """What is wrong with a checkpoint's name and roles, or None.

    The runner's rule, and checkpoint()'s own when the runner stepped aside.
    """
    if not isinstance(name, str) or not name or len(name) > 64:
        return "a checkpoint needs a name of 1 to 64 characters"
    if not isinstance(roles, dict):
        return "roles must map names to pids"
    for role, pid in roles.items():
        if not isinstance(role, str) or not ROLE_PATTERN.fullmatch(role):
            return f"role name {role!r} must be a letter followed by letters, digits, '-' or '_'"
        if role in RESERVED_ROLES:
            return f"role name {role!r} is the runner's own"
        if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            return f"role {role!r} must be given a pid"
    return None


def _difference(after: int | None, before: int | None) -> int | None:
    return None if after is None else after - (before or 0)


def _run_entry(archives: list[str | None], script_name: str, settings: dict) -> dict:
    """One run's document: its run, or every repetition of it (--repeat) in a fresh process tree.

    A run of a shared container may name its lab's archive (``archive``: N) and program (``script``).
    """
    runner = None
    try:
        repeat = int(settings.pop("repeat", 1))
        chaos = settings.pop("chaos", None)
        archive = archives[int(settings.pop("archive", 0))]
        script_name = str(settings.pop("script", script_name))
        script = os.path.join(_unpack_archive(archive), script_name) if archive else script_name
        runs = []
        for repetition in range(repeat):
            seed = f"{chaos['seed']}:{repetition}:{chaos['max_ms']}" if chaos else None
            runner = Runner(script, settings, chaos=seed)
            runs.append(runner.run())
            # What a PID 1 that never waits left behind is this run's lesson, not the next one's.
            runner.reaping = True
            runner.reap()
        return runs[0] if repeat == 1 else {"schema": SCHEMA, "status": "finished", "repeats": runs}
    except Exception:  # noqa: BLE001 - the host must get a document whatever happened
        if runner is not None and runner.main_pid:
            runner.kill_all()
        return {"schema": SCHEMA, "status": "runner-error", "error": traceback.format_exc()}


def fresh_start(places: tuple[str, ...] = ("/tmp", "/dev/shm")) -> bool:
    """Before the next run in a shared container: no process left but the runner, and ``places``
    as empty as a new container's (the runner's own files there included), so nothing the run
    before did is seen by the next.  Only a container's PID 1 does this (anywhere else ``places`` are
    not its own); False there, or if a process outlived SIGKILL, or a file could not be removed.
    Not cleared: System V IPC, POSIX message queues, keyrings; the course's labs use none, and a
    student's program never shares a container (the host's ``Lab.shares_containers``)."""
    if os.getpid() != 1:
        return False
    end = time.monotonic() + KILL_GRACE
    while True:
        try:
            os.kill(-1, signal.SIGKILL)  # every other process in the container
        except OSError:
            pass
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        # As PID 1 the runner sees every process of the container in /proc: none may be left.
        if not any(name.isdigit() and name != "1" for name in os.listdir("/proc")):
            break
        if time.monotonic() > end:
            return False
        time.sleep(0.005)
    return emptied(places)


def emptied(places: tuple[str, ...]) -> bool:
    """Remove everything in ``places`` (folders a lab made read-only too); whether they are empty now."""
    import shutil

    def writable_again(function, path, _):
        # A folder the lab made read-only: its owner (the runner's user) may open it up again.
        os.chmod(os.path.dirname(path), 0o700)
        function(path)

    for place in places:
        try:
            names = os.listdir(place)
        except OSError:
            continue
        for name in names:
            path = os.path.join(place, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    os.chmod(path, 0o700)
                    shutil.rmtree(path, onerror=writable_again)
                else:
                    os.unlink(path)
            except OSError:
                pass
        if os.listdir(place):
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m forklab.runner",
                                     description="Run a lab and print one JSON result document.")
    parser.add_argument("script", help="the lab program, e.g. lab.py inside the archive in "
                                       f"{ARCHIVE_ENV}, or a path in the image")
    parser.add_argument("--settings", default="{}", help="run settings as JSON (timeout, stdout, reaper, ...)")
    parser.add_argument("--shell", action="store_true",
                        help=f"unpack {ARCHIVE_ENV} and start an interactive shell in its folder (invoke shell)")
    parser.add_argument("--result-file", metavar="PATH",
                        help="write the document to PATH instead of stdout (docker compose's driver)")
    parser.add_argument("--then", metavar="JSON", default="",
                        help="a JSON argv to exec once the document is written: the process stays PID 1 "
                             "and the lab has no process left (forklab.inimage runs the next lab so)")
    args = parser.parse_args(argv)
    then = json.loads(args.then) if args.then else None
    # Read and forget the secrets before anything else runs; as a non-dumpable
    # process, the runner's /proc files (environ, fd/1) are closed to the lab's
    # processes although they share its uid.
    nonce = os.environ.pop(NONCE_ENV, None)
    archives = take_archives()
    archive = archives[0]
    _prctl(PR_SET_DUMPABLE, 0)
    no_core_files()
    if args.shell:
        os.chdir(_unpack_archive(archive) if archive else "/tmp")
        os.execvp("bash", ["bash"])
    document: dict
    try:
        settings = json.loads(args.settings)
        if isinstance(settings, list):
            # Several runs (of one lab or of several) that share a sandbox: one after
            # another in this container, each in a fresh process tree, /tmp and /dev/shm.
            documents: list[dict] = []
            for number, entry in enumerate(settings):
                if number and not fresh_start():
                    documents.append({"schema": SCHEMA, "status": "runner-error",
                                      "error": "not run: runs share a container only with the runner "
                                               "as its PID 1, and only once what the run before left "
                                               "(processes, files in /tmp and /dev/shm) is gone"})
                    continue
                documents.append(_run_entry(archives, args.script, entry))
            document = {"schema": SCHEMA, "status": "finished", "batch": documents}
        else:
            document = _run_entry(archives, args.script, settings)
    except Exception:  # noqa: BLE001 - the host must get a document whatever happened
        document = {"schema": SCHEMA, "status": "runner-error", "error": traceback.format_exc()}
    document["nonce"] = nonce
    text = json.dumps(document, ensure_ascii=True) + "\n"
    if args.result_file:
        partial = args.result_file + ".partial"
        with open(partial, "w", encoding="ascii") as handle:
            handle.write(text)
        os.replace(partial, args.result_file)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if then:
        os.execv(then[0], then)
    return 0


if __name__ == "__main__":  # python3 -m forklab.inside.runner (forklab.runner is the usual name)
    sys.exit(main())
