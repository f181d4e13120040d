"""Evaluates a lab's expectations against a result document.

Each check reads like the sentence a TA would say, and a failed one says what
was expected and what was seen.  Checks only read the result: they never talk
to Docker.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from forklab import catalog


class _Seen:
    """Lookups over one result document."""

    def __init__(self, result: dict) -> None:
        self.result = result
        self.roles: dict[str, int] = result["roles"]

    def snapshot(self, name: str) -> Optional[dict]:
        return next((s for s in self.result["snapshots"] if s["checkpoint"] == name), None)

    def no_snapshot(self, name: str) -> str:
        reached = [s["checkpoint"] for s in self.result["snapshots"]]
        return f"checkpoint {name!r} was never reached (reached: {', '.join(reached) or 'none'})"

    def row(self, snapshot: dict, role: str) -> Optional[dict]:
        pid = self.roles.get(role)
        return next((r for r in snapshot["processes"] if r["pid"] == pid), None) if pid else None

    def lab_processes(self, snapshot: dict) -> list[dict]:
        """The rows that descend from the reaper (a host may show others)."""
        reaper = self.roles.get("reaper")
        ours, found = {reaper}, True
        while found:
            found = False
            for row in snapshot["processes"]:
                if row["ppid"] in ours and row["pid"] not in ours:
                    ours.add(row["pid"])
                    found = True
        return [row for row in snapshot["processes"] if row["pid"] in ours and row["pid"] != reaper]

    def events(self, kind: str, role: str) -> list[dict]:
        pid = self.roles.get(role)
        return [e for e in self.result["events"] if e["event"] == kind and e["pid"] == pid]


def _describe_status(status: dict) -> str:
    if status.get("signal"):
        return f"killed by {status['signal_name']} (wait status {status['raw']})"
    return f"exit code {status.get('code')} (wait status {status['raw']})"


def _lines(seen: _Seen, c: catalog.LinesCheck) -> tuple[bool, str]:
    missing = [role for role in catalog.PID_PLACEHOLDER.findall(c.match) if role not in seen.roles]
    if missing:
        return False, f"the pattern names {', '.join(missing)}, but no process had that role"
    pattern = re.compile(catalog.PID_PLACEHOLDER.sub(lambda m: str(seen.roles[m.group(1)]), c.match))
    count = sum(1 for line in seen.result[c.stream].splitlines() if pattern.search(line))
    return count == c.count, f"expected {c.count} {c.stream} line(s) matching /{c.match}/; saw {count}"


def _row_at(seen: _Seen, checkpoint: str, role: str) -> tuple[Optional[dict], Optional[str]]:
    """The role's row at a checkpoint, or why there is no checkpoint to look at."""
    snap = seen.snapshot(checkpoint)
    if snap is None:
        return None, seen.no_snapshot(checkpoint)
    return seen.row(snap, role), None


def _state(seen: _Seen, c: catalog.StateCheck) -> tuple[bool, str]:
    row, problem = _row_at(seen, c.checkpoint, c.role)
    if problem:
        return False, problem
    if row is None:
        return False, f"expected {c.role} in state {c.state} at {c.checkpoint}; it was not in the process table"
    return row["state"] == c.state, (f"expected {c.role} in state {c.state} at {c.checkpoint}; "
                                     f"saw {row['state']} ({row['command']})")


def _parent(seen: _Seen, c: catalog.ParentCheck) -> tuple[bool, str]:
    row, problem = _row_at(seen, c.checkpoint, c.role)
    if problem:
        return False, problem
    if row is None:
        return False, f"expected {c.role}'s parent at {c.checkpoint} to be {c.parent}; {c.role} was not there"
    passed = row["ppid"] == seen.roles.get(c.parent)
    return passed, (f"expected {c.role}'s parent at {c.checkpoint} to be {c.parent}; "
                    f"saw {row['parent_role'] or 'a process outside the lab'}")


def _absent(seen: _Seen, c: catalog.AbsentCheck) -> tuple[bool, str]:
    row, problem = _row_at(seen, c.checkpoint, c.role)
    if problem:
        return False, problem
    if c.role not in seen.roles:
        return False, f"no process was ever named {c.role}, so its absence proves nothing"
    if row is None:
        return True, f"expected {c.role} gone at {c.checkpoint}; it was gone"
    return False, f"expected {c.role} gone at {c.checkpoint}; it was there in state {row['state']}"


def _exit(seen: _Seen, c: catalog.ExitCheck) -> tuple[bool, str]:
    want = f"code {c.code}" if c.signal is None else f"signal {c.signal}"
    exits = seen.events("exit", c.role)
    if not exits:
        return False, (f"expected {c.role} to exit with {want}; the runner did not see it exit "
                       "(it sees the processes it reaps: main and adopted orphans)")
    status = exits[-1]["status"]
    passed = status["code"] == c.code if c.signal is None else status["signal_name"] == c.signal
    return passed, f"expected {c.role} to exit with {want}; saw {_describe_status(status)}"


def _reaped(seen: _Seen, c: catalog.ReapedCheck) -> tuple[bool, str]:
    reaps = seen.events("reap", c.role)
    if not reaps:
        return False, f"expected {c.role} to be reaped by {c.by}; the runner saw no reap of {c.role}"
    by = reaps[-1].get("by_role")
    return by == c.by or reaps[-1]["by"] == seen.roles.get(c.by), \
        f"expected {c.role} to be reaped by {c.by}; reaped by {by}"


def _no_zombies(seen: _Seen, c: catalog.NoZombiesCheck) -> tuple[bool, str]:
    snap = seen.snapshot("end")
    if snap is None:
        return False, "the run has no end snapshot"
    zombies = [r["role"] or str(r["pid"]) for r in seen.lab_processes(snap) if r["state"] == "Z"]
    if zombies:
        return False, f"expected no zombies at the end; saw {len(zombies)}: {', '.join(zombies)}"
    return True, "expected no zombies at the end; saw none"


def _processes(seen: _Seen, c: catalog.ProcessesCheck) -> tuple[bool, str]:
    made = {e["pid"] for e in seen.result["events"] if e["event"] == "fork"}
    return len(made) == c.count, f"expected {c.count} processes (main and every fork); saw {len(made)}"


def _range(c: catalog.MemoryCheck) -> str:
    if c.min_mb is not None and c.max_mb is not None:
        return f"between {c.min_mb:g} and {c.max_mb:g} MiB"
    return f"at least {c.min_mb:g} MiB" if c.min_mb is not None else f"at most {c.max_mb:g} MiB"


def _memory(seen: _Seen, c: catalog.MemoryCheck) -> tuple[bool, str]:
    snap = seen.snapshot(c.checkpoint)
    if snap is None:
        return False, seen.no_snapshot(c.checkpoint)
    if c.measure == "container":
        who, value = "the container", snap.get("container_memory_bytes")
        value = None if value is None else value / 1024
    else:
        row = seen.row(snap, c.role)
        if row is None:
            return False, f"expected {c.role}'s {c.measure} memory at {c.checkpoint}; {c.role} was not there"
        who, value = c.role, row.get(f"{c.measure}_kb")
    what = "memory" if c.measure == "container" else f"{c.measure} memory"
    wanted = f"expected {who}'s {what} at {c.checkpoint} to be {_range(c)}"
    if value is None:
        return False, f"{wanted}; it could not be read"
    mib = value / 1024
    passed = (c.min_mb is None or mib >= c.min_mb) and (c.max_mb is None or mib <= c.max_mb)
    return passed, f"{wanted}; saw {mib:.0f} MiB"


#: A stop "waited" when it took at least this share of its grace period: docker
#: stop sends SIGKILL only once the whole period is over, SIGTERM heeded takes milliseconds.
WAITED_SHARE = 0.9


def stop_waited(stop: dict) -> bool:
    return stop["seconds"] >= WAITED_SHARE * stop["timeout_s"]


def _stop(seen: _Seen, c: catalog.StopCheck) -> tuple[bool, str]:
    stop = seen.result.get("stop")
    grace = "" if c.waited is None else (" after waiting out its grace period" if c.waited
                                         else " before its grace period was over")
    wanted = f"expected docker stop to end the container with {c.signal}{grace}"
    if not stop:
        return False, f"{wanted}; the container was not stopped from outside (it ended by itself, or timed out)"
    passed = stop["signal"] == c.signal and (c.waited is None or stop_waited(stop) == c.waited)
    ended = f"killed by {stop['signal']}" if stop["signal"] else "ended"
    return passed, (f"{wanted}; `docker stop -t {stop['timeout_s']}` took {stop['seconds']:.2f} s "
                    f"and the container was {ended} (exit {stop['exit_code']})")


_EVALUATORS: dict[str, Callable] = {
    "processes": _processes, "memory": _memory, "stop": _stop,
    "lines": _lines, "state": _state, "parent": _parent, "absent": _absent,
    "exit": _exit, "reaped": _reaped, "no-zombies-at-end": _no_zombies,
}

_SENTENCES: dict[str, Callable] = {
    "processes": lambda c: f"the lab makes {c.count} processes",
    "memory": lambda c: (f"the container's memory at {c.checkpoint} is {_range(c)}" if c.role is None
                         else f"{c.role}'s {c.measure} memory at {c.checkpoint} is {_range(c)}"),
    "lines": lambda c: f"{c.count} {c.stream} line(s) match /{c.match}/",
    "state": lambda c: f"{c.role} is in state {c.state} at {c.checkpoint}",
    "parent": lambda c: f"{c.role}'s parent at {c.checkpoint} is {c.parent}",
    "absent": lambda c: f"{c.role} is gone at {c.checkpoint}",
    "exit": lambda c: f"{c.role} exits with " + (f"code {c.code}" if c.signal is None else c.signal),
    "reaped": lambda c: f"{c.role} is reaped by {c.by}",
    "no-zombies-at-end": lambda c: "no zombie is left at the end",
    "stop": lambda c: f"docker stop ends the container with {c.signal}" + (
        "" if c.waited is None else " after the whole grace period" if c.waited else " before the grace period is over"),
}


def evaluate(expectations: list, result: dict) -> list[dict]:
    """One ``{name, check, passed, detail}`` per expectation, in lab.yaml's order."""
    seen = _Seen(result)
    outcomes = []
    for expectation in expectations:
        passed, detail = _EVALUATORS[expectation.check](seen, expectation)
        outcomes.append({"name": expectation.says or _SENTENCES[expectation.check](expectation),
                         "check": expectation.check, "passed": bool(passed), "detail": detail})
    return outcomes


def checks_main_exit(expectations: list) -> bool:
    """Whether the lab declares what its main process's exit should be."""
    return any(e.check == "exit" and e.role == "main" for e in expectations)
