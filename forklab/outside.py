"""Running a lab with the runner stepped aside: the lab itself, or the engine's init, is PID 1.

Part of the engine layer: ``engine.Engine.run_lab`` hands every run whose
lab.yaml says ``run: {pid1: lab}`` or ``run: {pid1: init}`` to ``run_lab``
here, and gets back the same record, holding the same kind of document the
runner prints, so checks, normalization and reports work unchanged.

No process of the kit's is left inside the container to observe, so the host
observes from outside, through the engine API only (no bind mounts, no CLI):

1. The container's command is ``python3 -m forklab.checkpoint lab.py``, which
   unpacks the lab and execs ``python3 lab.py`` in the same process.  With
   ``pid1: lab``, PID 1 *is* the lab's python (``docker run IMAGE python3
   lab.py``); with ``pid1: init`` the engine's init is PID 1 (``docker run
   --init``: Docker's docker-init, which is tini; Podman's catatonit) and the
   lab is its child.  Same sandbox as every lab (``engine.sandbox``).
2. The lab's processes write one line to stderr per checkpoint and per fork,
   starting with this run's secret.  The host follows the container's stderr
   (``logs(follow=True)``) and leaves those lines out of the lab's output.
3. At a checkpoint the caller waits for SIGUSR1.  One ``docker exec python3
   ...`` (``LOOK``) reads /proc with the runner's own reader, takes the raw
   ``ps -eo pid,ppid,pgid,stat,comm,args``, then releases the caller with
   SIGUSR1, and prints all of it as one JSON line, which the host parses.
   What ``docker exec`` starts has parent 0 and is left out of the rows (so
   is what it starts in turn); the raw ps shows that python and its ps.
4. When main's program is over, main holds at its exit (checkpoint "end").
   The host waits inside the container until every other process has ended
   (zombies stay; an init's zombies are first reaped), takes the end snapshot,
   and stops the container as ``docker stop -t N`` does, timing the stop.

What cannot be seen from outside: who reaped whom, and the exit status of any
process but main's, which is the container's.  No sleep lines anything up:
every step waits for a line, an exec or the container.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from typing import TYPE_CHECKING, Optional

import docker.errors
import requests.exceptions

from forklab import catalog
from forklab.errors import EnvironmentProblem, UsageError
from forklab.host.containers import CANCELLED, _short_reason, container_identity
from forklab.host.sandbox import sandbox
from forklab.inside.protocol import HOST_ENV, HOST_MARK, PS_FIELDS, SCHEMA

if TYPE_CHECKING:
    from forklab.result import RunRecord

ROLE_PATTERN = re.compile(catalog.ROLE)
#: What the report says could not be observed from outside.
UNOBSERVED = ("reap", "exit (but main's)")
#: The container's signal numbers are Linux's, whatever the host is: exit 128+N means killed by N.
LINUX_SIGNALS = dict(enumerate(
    ("SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGKILL SIGUSR1 SIGSEGV SIGUSR2 "
     "SIGPIPE SIGALRM SIGTERM SIGSTKFLT SIGCHLD SIGCONT SIGSTOP SIGTSTP SIGTTIN SIGTTOU SIGURG "
     "SIGXCPU SIGXFSZ SIGVTALRM SIGPROF SIGWINCH SIGIO SIGPWR SIGSYS").split(), start=1))

#: The environment variable that carries ``LOOK`` into the exec, so that the
#: raw ps shows a short command line for it.
LOOK_ENV = "FORKLAB_LOOK"
#: The exec's command line.  ``-s`` and dropping "" from sys.path (the exec's
#: working directory, /tmp) keep out what the lab's processes may have written
#: to /tmp (a user site-packages with .pth files, a json.py): nothing in
#: the lab's reach runs in the process whose output the host believes.
LOOK_COMMAND = ["python3", "-s", "-c",
                f"import os, sys; sys.path[:] = [p for p in sys.path if p]; exec(os.environ[{LOOK_ENV!r}])"]
#: The exec's exit status once it has reached its end: the release was tried,
#: and its output says how it went.  Any other status means it never got that far.
LOOK_DONE = 0

#: Run inside the container by ``docker exec`` (``LOOK_COMMAND`` with the
#: arguments CALLER SETTLE_S INIT_REAPS DESCRIBE RELEASE): the process table as
#: the runner reads it, once the caller waits (and, for a checkpoint, once the
#: others that ran have reached a wait, for the end once every other process
#: has ended); then ps; then, unless this is the end, SIGUSR1 to
#: the caller.  One JSON line on stdout carries all of it, the raw ps as a
#: JSON string, so nothing a process puts in its command line can pass for
#: another field.  The release comes last, in ``finally``: the caller is still
#: waiting while both looks are taken, and a look that fails still releases it.
LOOK = r"""
import json, os, signal, subprocess, sys, time, traceback

caller, settle_s = int(sys.argv[1]), float(sys.argv[2])
init_reaps, describe, release = sys.argv[3] == "1", sys.argv[4] == "1", sys.argv[5] == "1"
result = {}


def look():
    from forklab.inside import runner

    def lab_rows():
        rows = runner.read_process_table()
        # What docker exec started (this process too) has parent 0: it is not the lab's.
        outside = {r["pid"] for r in rows if r["ppid"] == 0 and r["pid"] != 1}
        while True:
            more = {r["pid"] for r in rows if r["ppid"] in outside} - outside
            if not more:
                return [r for r in rows if r["pid"] not in outside]
            outside |= more

    runner.wait_until_settled([caller])
    if init_reaps:
        # The init (tini, catatonit) wakes to reap whenever one of its children
        # ends, as an orphan's parent just did; the snapshot shows it back asleep.
        runner.wait_until_settled([1])
    if release:
        # A checkpoint, not the end: the lab's other running processes get a moment to reach their next wait.
        runner.wait_until_settled([r["pid"] for r in lab_rows() if r["pid"] != caller], runner.SETTLE_LIMIT)
    deadline = time.monotonic() + settle_s
    while True:
        rows = lab_rows()
        # The end: only PID 1 and the caller alive.  Zombies stay, but an init reaps its own: wait for that.
        settled = all(r["state"] == "Z" and not (init_reaps and r["ppid"] == 1)
                      for r in rows if r["pid"] not in (1, caller))
        if settled or time.monotonic() >= deadline:
            break
        time.sleep(0.001)
    runner.add_fds(rows)
    seen = {"processes": rows, "settled": settled, "oom_kills": runner.oom_kills(),
            "container_memory_bytes": runner.container_memory_bytes()}
    if describe:
        seen["environment"] = runner.Runner("lab.py", {}).environment()
    return seen


try:
    try:
        result["seen"] = look()
    except Exception as exc:
        result["look_error"] = traceback.format_exception_only(type(exc), exc)[-1].strip()
    try:
        # After the table, as the runner does: the rows show the moment the caller asked about.
        ps = subprocess.run(["ps", "-eo", sys.argv[6]], stdin=subprocess.DEVNULL, capture_output=True)
        result["ps"] = ps.stdout.decode("utf-8", "replace")
    except Exception as exc:
        result["ps"] = ""
        result["ps_error"] = traceback.format_exception_only(type(exc), exc)[-1].strip()
finally:
    if release:
        try:
            os.kill(caller, signal.SIGUSR1)
            result["released"] = True
        except OSError as exc:
            result["released"] = False
            result["release_error"] = "kill: (%d): %s" % (caller, exc.strerror)
try:
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
except Exception:
    pass
os._exit(0)  # LOOK_DONE: the release was tried, whatever became of the output
"""


def run_lab(engine, image_id: str, lab: catalog.Lab, run: catalog.Run, session: str = "",
            repeat: int = 1, chaos: Optional[dict] = None) -> RunRecord:
    """Run one variant with the runner stepped aside; the same record as ``Engine.run_lab``."""
    if repeat > 1 or chaos:
        raise UsageError(f"--repeat and --chaos need the kit's runner inside the container, and lab "
                         f"{lab.number:02d}'s variant {run.name} runs without it (pid1: {run.settings.pid1}); "
                         "run the lab without them")
    return _Observer(engine, lab, run, session).run(image_id)


def read_look(out: Optional[bytes]) -> Optional[dict]:
    """What ``LOOK`` printed: one JSON object, and nothing else; None for anything else."""
    try:
        result = json.loads((out or b"").decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    return result if isinstance(result, dict) else None


def container_status(code: int) -> dict:
    """A container's exit status as a wait status: exit 128+N is how Docker and inits say "killed by N"."""
    if 128 < code < 160:
        number = code - 128
        return {"raw": number, "code": None, "signal": number,
                "signal_name": LINUX_SIGNALS.get(number, f"SIG{number}"), "core_dumped": False}
    return {"raw": (code & 0xFF) << 8, "code": code, "signal": None, "signal_name": None}


class _Observer:
    """One run, watched from outside: what the runner would have recorded, as far as it can be seen."""

    def __init__(self, engine, lab: catalog.Lab, run: catalog.Run, session: str) -> None:
        self.engine, self.lab, self.run_, self.session = engine, lab, run, session
        self.settings = run.settings
        self.mark = f"{HOST_MARK}{uuid.uuid4().hex} ".encode("ascii")
        self.snapshots: list[dict] = []
        self.events: list[dict] = []
        self.warnings: list[str] = []
        self.forked: dict[int, int] = {}
        self.adopted: set[int] = set()
        # PID 1 is the reaper: the lab's main itself (pid1: lab), or the init.
        self.main_pid: Optional[int] = 1 if self.settings.pid1 == "lab" else None
        self.roles: dict[int, str] = {1: "main" if self.settings.pid1 == "lab" else "reaper"}
        self.environment: Optional[dict] = None
        self.oom: list[int] = []
        self.stop: Optional[dict] = None
        self.timed_out = False
        self.lab_ms: Optional[float] = None
        self.t0 = time.monotonic()
        self.deadline = self.t0 + self.settings.timeout
        self.watchdog: Optional[threading.Timer] = None
        self.script = "lab.py"

    def ms(self, t: Optional[float] = None) -> float:
        return round(((time.monotonic() if t is None else t) - self.t0) * 1000, 3)

    # -- the container -------------------------------------------------------------
    def run(self, image_id: str) -> RunRecord:
        name, labels = container_identity(self.lab, self.run_, self.session)
        script, shipped = self.lab.shipped()
        self.script = script
        # The variant's own variables first, so the kit's always win (as in the runner).
        environment = {**self.run_.lab_environment(), HOST_ENV: self.mark[len(HOST_MARK):-1].decode("ascii"),
                       **shipped, "PYTHONIOENCODING": "utf-8"}
        if self.settings.unbuffered:
            environment["PYTHONUNBUFFERED"] = "1"
        box = {**sandbox(self.settings), "init": self.settings.pid1 == "init"}
        started = time.monotonic()
        cancelled = CANCELLED
        try:
            if self.session in cancelled:
                raise KeyboardInterrupt
            try:
                container = self.engine.client.containers.create(
                    image_id, ["python3", "-m", "forklab.checkpoint", script, *self.run_.args], name=name,
                    labels=labels,
                    environment=environment, detach=True, **box)
                if self.session in cancelled:  # interrupted while this thread was creating it
                    raise KeyboardInterrupt
                self.t0 = time.monotonic()
                self.deadline = self.t0 + self.settings.timeout
                container.start()
            except docker.errors.APIError as exc:
                if self.session in cancelled:
                    raise KeyboardInterrupt from None
                raise self._start_problem(exc) from None
            self.watchdog = threading.Timer(self.settings.timeout, self._time_is_up, args=(name,))
            self.watchdog.daemon = True
            self.watchdog.start()
            self._follow(container)
            self.watchdog.cancel()
            # After the stop, its own wait has the exit status already.
            exit_code = (self.stop["exit_code"] if self.stop is not None
                         else container.wait(timeout=self.settings.stop_grace + 30)["StatusCode"])
            ended_ms = self.ms()
            out = container.logs(stdout=True, stderr=False)
            err = container.logs(stdout=False, stderr=True)
        except docker.errors.APIError as exc:
            if self.session in cancelled:
                raise KeyboardInterrupt from None  # its container was removed under it
            raise EnvironmentProblem(f"the engine failed to run lab {self.lab.number:02d} "
                                     f"({self.run_.name}): {_short_reason(exc)}") from None
        finally:
            if self.watchdog is not None:
                self.watchdog.cancel()
            self.engine.remove_container(name)
        return {"document": self.document(exit_code, ended_ms, out, err), "timed_out": self.timed_out,
                "container_exit": exit_code, "runner_stderr": "",
                "duration_ms": round((time.monotonic() - started) * 1000, 1), "container": name}

    def _start_problem(self, exc: Exception) -> EnvironmentProblem:
        reason = _short_reason(exc)
        which = f"lab {self.lab.number:02d} ({self.run_.name})"
        if self.settings.pid1 == "init":
            return EnvironmentProblem(
                f"the engine could not run {which} with an init as PID 1 (docker run --init): {reason}; "
                "Docker needs its docker-init (`docker info` names the Init Binary), Podman needs catatonit "
                "(`sudo apt-get install catatonit` or `sudo dnf install catatonit`)")
        return EnvironmentProblem(f"the engine failed to run {which}: {reason}")

    def _time_is_up(self, name: str) -> None:
        """The watchdog's thread: kill the container through a connection of its own."""
        self.timed_out = True
        try:
            other = type(self.engine).connect(timeout=30)
            try:
                other.client.api.kill(name)
            finally:
                other.close()
        except Exception as exc:  # noqa: BLE001 - the container is removed in run() in any case
            self.warnings.append(f"the container could not be killed when time was up: {exc}")

    def _follow(self, container) -> None:
        """Read the container's stderr as it is written, acting on each line for the host."""
        consumed, pending = 0, b""
        while True:
            stream = container.logs(stream=True, follow=True, stdout=False, stderr=True)
            skip = consumed
            try:
                for chunk in stream:
                    if skip:
                        dropped = min(skip, len(chunk))
                        chunk, skip = chunk[dropped:], skip - dropped
                    consumed += len(chunk)
                    *lines, pending = (pending + chunk).split(b"\n")
                    for line in lines:
                        if self._heard(container, line):
                            return  # the end: looked at, and stopped
                    pending = pending[-65536:]  # a line that long without a newline holds no marker before its end
            except requests.exceptions.RequestException:
                pass
            finally:
                stream.close()
                # close() shuts the socket, but the response's file object still holds it open.
                response = getattr(stream, "_response", None)
                if response is not None:
                    response.close()
            # The stream ended: the container ended without holding at its end, or a quiet
            # lab outlasted the client's read timeout (docker-py ends the stream then too).
            # Only the engine can say which; in the second case, follow again past what was read.
            container.reload()
            if container.status != "running" or self.timed_out or time.monotonic() > self.deadline + 30:
                return

    # -- what the lab says -----------------------------------------------------------
    def _heard(self, container, line: bytes) -> bool:
        """Act on one stderr line; True once the run is over."""
        at = line.find(self.mark)
        if at < 0:
            return False
        try:
            message = json.loads(line[at + len(self.mark):].decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            self.warnings.append("a line meant for the host could not be read")
            return False
        if not isinstance(message, dict):
            return False
        if message.get("op") == "fork":
            pid, ppid, nth = (message.get(key) for key in ("pid", "ppid", "nth"))
            if (isinstance(pid, int) and isinstance(ppid, int) and isinstance(nth, int)
                    and not any(isinstance(value, bool) for value in (pid, ppid, nth))):
                self.events.append({"event": "fork", "t_ms": self.ms(), "pid": pid, "ppid": ppid, "nth": nth})
                self.forked[pid] = ppid
            return False
        if message.get("op") != "checkpoint":
            return False
        return self._checkpoint(container, message)

    def _checkpoint(self, container, message: dict) -> bool:
        caller, name, roles, main = (message.get(key) for key in ("pid", "name", "roles", "main"))
        if not (isinstance(caller, int) and caller > 0 and isinstance(name, str) and 0 < len(name) <= 64
                and isinstance(roles, dict)):
            self.warnings.append("a checkpoint request could not be read")
            return False
        if isinstance(main, int) and main > 0 and self.main_pid is None:
            self.main_pid = main
            self.roles.setdefault(main, "main")
        for role, pid in roles.items():
            if isinstance(role, str) and ROLE_PATTERN.fullmatch(role) and role != "reaper" \
                    and isinstance(pid, int) and not isinstance(pid, bool) and pid > 0:
                if any(other == role and other_pid != pid for other_pid, other in self.roles.items()):
                    self.warnings.append(f"role {role!r} was given to two processes")
                self.roles[pid] = role
        final = message.get("final") is True and caller == self.main_pid
        if final:
            self.lab_ms = self.ms()
        # One exec: the look, the raw ps and, unless this is the end, the release.
        exit_code, result = self._look(container, name, caller, settle=final, release=not final)
        if final:
            if self.watchdog is not None:
                self.watchdog.cancel()  # what is left is the stop, which has its own time limit
            self._stop(container)
            return True
        if exit_code != LOOK_DONE:
            # The exec never reached the release (python could not start, or was killed):
            # release the caller on its own, or it would wait until time is up.
            done = container.exec_run(["kill", "-USR1", str(caller)])
            if done.exit_code != 0:
                self.warnings.append(f"checkpoint {name!r}: process {caller} could not be released: "
                                     + done.output.decode("utf-8", "replace").strip())
        elif result is not None and result.get("released") is not True:
            reason = result.get("release_error")
            self.warnings.append(f"checkpoint {name!r}: process {caller} could not be released: "
                                 + (reason if isinstance(reason, str) else "no reason given"))
        return False

    # -- looking from outside ----------------------------------------------------------
    def _look(self, container, name: str, caller: int, settle: bool,
              release: bool) -> tuple[Optional[int], Optional[dict]]:
        """Run ``LOOK`` in the container and record its snapshot: (the exec's exit status, what it printed)."""
        started = time.monotonic()
        settle_s = max(0.0, self.deadline - started) if settle else 0.0
        look = container.exec_run([*LOOK_COMMAND, str(caller), f"{settle_s:.3f}",
                                   "1" if self.settings.pid1 == "init" else "0",
                                   "1" if self.environment is None else "0",
                                   "1" if release else "0", PS_FIELDS],
                                  environment={LOOK_ENV: LOOK}, demux=True)
        out, err = look.output
        result = read_look(out)
        seen = result.get("seen") if result is not None else None
        raw = result.get("ps") if result is not None else None
        if not (isinstance(seen, dict) and isinstance(seen.get("processes"), list) and isinstance(raw, str)):
            reason = result.get("look_error") if result is not None else None
            if not isinstance(reason, str):
                lines = (err or out or b"").decode("utf-8", "replace").strip().splitlines()[-1:]
                reason = lines[0] if lines else "no output"
            self.warnings.append(f"checkpoint {name!r}: the process table could not be read: {reason}")
            return look.exit_code, result
        if settle and not seen.get("settled"):
            self.warnings.append("time was up before every other process had ended: the end snapshot "
                                 "shows them still running")
        if seen.get("environment"):
            self.environment = seen["environment"]
        if seen.get("oom_kills") is not None:
            self.oom.append(seen["oom_kills"])
        self._note_adoptions(name, seen["processes"])
        self.snapshots.append({"checkpoint": name, "by": caller, "t_ms": self.ms(started),
                               "cost_ms": round((time.monotonic() - started) * 1000, 3),
                               "container_memory_bytes": seen.get("container_memory_bytes"),
                               "ps": raw, "processes": seen["processes"]})
        return look.exit_code, result

    def _note_adoptions(self, checkpoint: str, rows: list[dict]) -> None:
        """A process whose parent is PID 1, although PID 1 did not fork it, was adopted by PID 1."""
        for row in rows:
            pid, forked_by = row["pid"], self.forked.get(row["pid"])
            if row["ppid"] != 1 or pid in (1, self.main_pid) or pid in self.adopted or forked_by == 1:
                continue
            if forked_by is None and self.settings.pid1 == "lab":
                continue  # PID 1 is main, which forks too: without the fork's report there is no telling
            self.adopted.add(pid)
            self.events.append({"event": "adopt", "t_ms": self.ms(), "pid": pid, "by": 1, "state": row["state"],
                                "note": f"seen from outside at {checkpoint}"})

    def _stop(self, container) -> None:
        """`docker stop -t N`: SIGTERM to PID 1, then, if it is still there N seconds later, SIGKILL."""
        grace = self.settings.stop_grace
        started = time.monotonic()
        container.stop(timeout=grace)
        seconds = time.monotonic() - started
        code = container.wait(timeout=grace + 30)["StatusCode"]
        self.stop = {"timeout_s": grace, "seconds": round(seconds, 3), "exit_code": code,
                     "signal": container_status(code)["signal_name"]}

    # -- the document --------------------------------------------------------------------
    def document(self, exit_code: int, ended_ms: float, out: bytes, err: bytes) -> dict:
        cap = int(self.settings.output_cap_mb * 1024 * 1024)
        err = re.sub(re.escape(self.mark) + rb"[^\n]*\n?", b"", err)
        status = container_status(exit_code)
        if self.main_pid is not None:
            self.events.append({"event": "exit", "t_ms": ended_ms, "pid": self.main_pid, "status": status,
                                "note": "the container's exit status, seen from outside"})
        if self.timed_out:
            self.warnings.append(f"time is up after {self.settings.timeout:g} s: the container was killed")
        elif self.stop is None:
            self.warnings.append("main ended without holding at its exit: there is no end snapshot "
                                 "and no stop to measure")
        environment = {}
        if self.environment:
            environment = {**self.environment, "runner_pid": None, "subreaper": False,
                           "runner": "stepped aside", "observer": "host, through the engine",
                           "unobserved": list(UNOBSERVED), "stdout": "pipe",
                           "reaper": self.settings.pid1 == "init", "unbuffered": self.settings.unbuffered,
                           "limits": {**self.environment.get("limits", {}), "timeout_s": self.settings.timeout,
                                      "output_cap_bytes": cap}}
        return {
            "schema": SCHEMA,
            "status": "timeout" if self.timed_out else "finished",
            "environment": environment,
            "reaper_pid": 1,
            "main": {"pid": self.main_pid, "script": self.script},
            "exit": status if self.main_pid is not None else None,
            "stdout": out[:cap].decode("utf-8", "surrogateescape"),
            "stderr": err[:cap].decode("utf-8", "surrogateescape"),
            "truncated": {name: len(data) - cap for name, data in (("stdout", out), ("stderr", err))
                          if len(data) > cap},
            "snapshots": self.snapshots,
            "events": sorted(self.events, key=lambda e: e["t_ms"]),
            "roles": {str(pid): role for pid, role in sorted(self.roles.items())},
            "warnings": self.warnings,
            "duration_ms": self.lab_ms if self.lab_ms is not None else ended_ms,
            "peak_processes": max((len(s["processes"]) for s in self.snapshots), default=None),
            "oom_kills": self.oom[-1] - self.oom[0] if self.oom else None,
            "stop": self.stop,
        }
