"""Evaluates a lab's expectations against a result document.

Each check reads like the sentence a TA would say, and a failed one says what
was expected and what was seen, in the report's language (forklab/i18n.py).
Checks only read the result: they never talk to Docker.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Callable, Optional

from forklab import catalog, i18n, normalize


class _Seen:
    """Lookups over one result document, and the words to say what was seen in."""

    def __init__(self, result: dict, lang: str = i18n.DEFAULT) -> None:
        self.result = result
        self.roles: dict[str, int] = result["roles"]
        self._ = i18n.translator(lang)

    def fd_names(self) -> dict[str, str]:
        """Open files' targets as the reports name them (pipes after their first holder)."""
        if not hasattr(self, "_fd_names"):
            self._fd_names = normalize.fd_names(self.result)
        return self._fd_names

    def snapshot(self, name: str) -> Optional[dict]:
        return next((s for s in self.result["snapshots"] if s["checkpoint"] == name), None)

    def no_snapshot(self, name: str) -> str:
        reached = [s["checkpoint"] for s in self.result["snapshots"]]
        return self._("checkpoint {name!r} was never reached (reached: {reached})",
                      name=name, reached=", ".join(reached) or self._("none"))

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


def _describe_status(status: dict, _: i18n.Translate) -> str:
    if status.get("signal"):
        return _("killed by {signal} (wait status {raw})", signal=status["signal_name"], raw=status["raw"])
    return _("exit code {code} (wait status {raw})", code=status.get("code"), raw=status["raw"])


def _lines(seen: _Seen, c: catalog.LinesCheck) -> tuple[bool, str]:
    _ = seen._
    missing = [role for role in catalog.PID_PLACEHOLDER.findall(c.match) if role not in seen.roles]
    if missing:
        return False, _("the pattern names {roles}, but no process had that role", roles=", ".join(missing))
    pattern = re.compile(catalog.PID_PLACEHOLDER.sub(lambda m: str(seen.roles[m.group(1)]), c.match))
    count = sum(1 for line in seen.result[c.stream].splitlines() if pattern.search(line))
    return count == c.count, _("expected {count} {stream} line(s) matching /{match}/; saw {seen}",
                               count=c.count, stream=c.stream, match=c.match, seen=count)


def _row_at(seen: _Seen, checkpoint: str, role: str) -> tuple[Optional[dict], Optional[str]]:
    """The role's row at a checkpoint, or why there is no checkpoint to look at."""
    snap = seen.snapshot(checkpoint)
    if snap is None:
        return None, seen.no_snapshot(checkpoint)
    return seen.row(snap, role), None


def _state(seen: _Seen, c: catalog.StateCheck) -> tuple[bool, str]:
    _ = seen._
    row, problem = _row_at(seen, c.checkpoint, c.role)
    if problem:
        return False, problem
    if row is None:
        return False, _("expected {role} in state {state} at {checkpoint}; it was not in the process table",
                        role=c.role, state=c.state, checkpoint=c.checkpoint)
    return row["state"] == c.state, _("expected {role} in state {state} at {checkpoint}; saw {seen} ({command})",
                                      role=c.role, state=c.state, checkpoint=c.checkpoint, seen=row["state"],
                                      command=row["command"])


def _parent(seen: _Seen, c: catalog.ParentCheck) -> tuple[bool, str]:
    _ = seen._
    row, problem = _row_at(seen, c.checkpoint, c.role)
    if problem:
        return False, problem
    if row is None:
        return False, _("expected {role}'s parent at {checkpoint} to be {parent}; {role} was not there",
                        role=c.role, checkpoint=c.checkpoint, parent=c.parent)
    passed = row["ppid"] == seen.roles.get(c.parent)
    return passed, _("expected {role}'s parent at {checkpoint} to be {parent}; saw {seen}",
                     role=c.role, checkpoint=c.checkpoint, parent=c.parent,
                     seen=row["parent_role"] or _("a process outside the lab"))


def _absent(seen: _Seen, c: catalog.AbsentCheck) -> tuple[bool, str]:
    _ = seen._
    row, problem = _row_at(seen, c.checkpoint, c.role)
    if problem:
        return False, problem
    if c.role not in seen.roles:
        return False, _("no process was ever named {role}, so its absence proves nothing", role=c.role)
    if row is None:
        return True, _("expected {role} gone at {checkpoint}; it was gone", role=c.role, checkpoint=c.checkpoint)
    return False, _("expected {role} gone at {checkpoint}; it was there in state {state}",
                    role=c.role, checkpoint=c.checkpoint, state=row["state"])


def _exit(seen: _Seen, c: catalog.ExitCheck) -> tuple[bool, str]:
    _ = seen._
    want = _("code {code}", code=c.code) if c.signal is None else _("signal {signal}", signal=c.signal)
    exits = seen.events("exit", c.role)
    if not exits:
        return False, _("expected {role} to exit with {want}; the runner did not see it exit "
                        "(it sees the processes it reaps: main and adopted orphans)", role=c.role, want=want)
    status = exits[-1]["status"]
    passed = status["code"] == c.code if c.signal is None else status["signal_name"] == c.signal
    return passed, _("expected {role} to exit with {want}; saw {seen}",
                     role=c.role, want=want, seen=_describe_status(status, _))


def _reaped(seen: _Seen, c: catalog.ReapedCheck) -> tuple[bool, str]:
    _ = seen._
    reaps = seen.events("reap", c.role)
    if not reaps:
        return False, _("expected {role} to be reaped by {by}; the runner saw no reap of {role}",
                        role=c.role, by=c.by)
    by = reaps[-1].get("by_role")
    return by == c.by or reaps[-1]["by"] == seen.roles.get(c.by), \
        _("expected {role} to be reaped by {by}; reaped by {seen}", role=c.role, by=c.by, seen=by)


def _no_zombies(seen: _Seen, c: catalog.NoZombiesCheck) -> tuple[bool, str]:
    _ = seen._
    snap = seen.snapshot("end")
    if snap is None:
        return False, _("the run has no end snapshot")
    zombies = [r["role"] or str(r["pid"]) for r in seen.lab_processes(snap) if r["state"] == "Z"]
    if zombies:
        return False, _("expected no zombies at the end; saw {count}: {roles}",
                        count=len(zombies), roles=", ".join(zombies))
    return True, _("expected no zombies at the end; saw none")


def _processes(seen: _Seen, c: catalog.ProcessesCheck) -> tuple[bool, str]:
    made = {e["pid"] for e in seen.result["events"] if e["event"] == "fork"}
    return len(made) == c.count, seen._("expected {count} processes (main and every fork); saw {seen}",
                                        count=c.count, seen=len(made))


def _orders(seen: _Seen, c: catalog.OrdersCheck) -> tuple[bool, str]:
    found = seen.result.get("orders") or {}
    if found.get("count") is None:
        reason = "; ".join(found.get("problems") or []) or seen._("no process wrote to stdout")
        return False, seen._("expected {count} possible output(s); the kit cannot count them: {reason}",
                             count=c.count, reason=reason)
    if not found.get("observed"):
        return False, seen._("expected {count} possible output(s); the graph allows {seen}, but not this run's "
                             "own output", count=c.count, seen=found["count"])
    return found["count"] == c.count, seen._("expected {count} possible output(s); the process graph allows {seen}",
                                             count=c.count, seen=found["count"])


_ENGLISH = i18n.translator(i18n.DEFAULT)


def _range(c: catalog.MemoryCheck, _: i18n.Translate = _ENGLISH) -> str:
    if c.min_mb is not None and c.max_mb is not None:
        return _("between {low:g} and {high:g} MiB", low=c.min_mb, high=c.max_mb)
    return (_("at least {low:g} MiB", low=c.min_mb) if c.min_mb is not None
            else _("at most {high:g} MiB", high=c.max_mb))


def _memory_wanted(c: catalog.MemoryCheck, _: i18n.Translate) -> str:
    """'expected child's private memory at after-fork to be at most 10 MiB'."""
    if c.measure == "container":
        return _("expected the container's memory at {checkpoint} to be {range}",
                 checkpoint=c.checkpoint, range=_range(c, _))
    if c.measure == "rss":
        return _("expected {role}'s rss memory at {checkpoint} to be {range}",
                 role=c.role, checkpoint=c.checkpoint, range=_range(c, _))
    return _("expected {role}'s private memory at {checkpoint} to be {range}",
             role=c.role, checkpoint=c.checkpoint, range=_range(c, _))


def _memory(seen: _Seen, c: catalog.MemoryCheck) -> tuple[bool, str]:
    _ = seen._
    snap = seen.snapshot(c.checkpoint)
    if snap is None:
        return False, seen.no_snapshot(c.checkpoint)
    if c.measure == "container":
        value = snap.get("container_memory_bytes")
        value = None if value is None else value / 1024
    else:
        assert c.role is not None  # lab.yaml's validation: rss and private name a role
        row = seen.row(snap, c.role)
        if row is None:
            return False, _("expected {role}'s {measure} memory at {checkpoint}; {role} was not there",
                            role=c.role, measure=c.measure, checkpoint=c.checkpoint)
        value = row.get(f"{c.measure}_kb")
    wanted = _memory_wanted(c, _)
    if value is None:
        return False, _("{wanted}; it could not be read", wanted=wanted)
    mib = value / 1024
    passed = (c.min_mb is None or mib >= c.min_mb) and (c.max_mb is None or mib <= c.max_mb)
    return passed, _("{wanted}; saw {mib:.0f} MiB", wanted=wanted, mib=mib)


#: A stop "waited" when it took at least this share of its grace period: docker
#: stop sends SIGKILL only once the whole period is over, SIGTERM heeded takes milliseconds.
WAITED_SHARE = 0.9


def stop_waited(stop: dict) -> bool:
    return stop["seconds"] >= WAITED_SHARE * stop["timeout_s"]


def _stop(seen: _Seen, c: catalog.StopCheck) -> tuple[bool, str]:
    _ = seen._
    if c.waited is None:
        wanted = _("expected docker stop to end the container with {signal}", signal=c.signal)
    elif c.waited:
        wanted = _("expected docker stop to end the container with {signal} after waiting out its grace period",
                   signal=c.signal)
    else:
        wanted = _("expected docker stop to end the container with {signal} before its grace period was over",
                   signal=c.signal)
    stop = seen.result.get("stop")
    if not stop:
        return False, _("{wanted}; the container was not stopped from outside (it ended by itself, or timed out)",
                        wanted=wanted)
    passed = stop["signal"] == c.signal and (c.waited is None or stop_waited(stop) == c.waited)
    ended = _("killed by {signal}", signal=stop["signal"]) if stop["signal"] else _("ended")
    return passed, _("{wanted}; `docker stop -t {timeout}` took {seconds:.2f} s and the container was {ended} "
                     "(exit {code})", wanted=wanted, timeout=stop["timeout_s"], seconds=stop["seconds"],
                     ended=ended, code=stop["exit_code"])


def _group(seen: _Seen, snap: dict, row: dict) -> str:
    """A row's process group, by the role of its leader (the process whose pid is the group's id)."""
    leader = next((r for r in snap["processes"] if r["pid"] == row["pgid"]), None)
    if leader is None:
        return seen._("a group whose leader is not in the table")
    return seen._("the group {role} leads", role=leader.get("role") or leader["pid"])


def _pgid(seen: _Seen, c: catalog.PgidCheck) -> tuple[bool, str]:
    _ = seen._
    snap = seen.snapshot(c.checkpoint)
    if snap is None:
        return False, seen.no_snapshot(c.checkpoint)
    row = seen.row(snap, c.role)
    if c.same_as is not None:
        wanted = _("expected {role} in {other}'s process group at {checkpoint}",
                   role=c.role, other=c.same_as, checkpoint=c.checkpoint)
        other = seen.row(snap, c.same_as)
        missing = [role for role, found in ((c.role, row), (c.same_as, other)) if found is None]
        if missing:
            return False, _("{wanted}; {role} was not in the process table", wanted=wanted, role=missing[0])
        assert row is not None and other is not None
        return row["pgid"] == other["pgid"], _("{wanted}; {role} was in {group}, {other} in {other_group}",
                                               wanted=wanted, role=c.role, group=_group(seen, snap, row),
                                               other=c.same_as, other_group=_group(seen, snap, other))
    wanted = (_("expected {role} to lead its own process group at {checkpoint}", role=c.role,
                checkpoint=c.checkpoint) if c.leader else
              _("expected {role} not to lead its process group at {checkpoint}", role=c.role,
                checkpoint=c.checkpoint))
    if row is None:
        return False, _("{wanted}; {role} was not in the process table", wanted=wanted, role=c.role)
    return (row["pgid"] == row["pid"]) == c.leader, _("{wanted}; it was in {group}", wanted=wanted,
                                                       group=_group(seen, snap, row))


#: Which access modes hold which end of a pipe.
_PIPE_ENDS = {"read": ("r", "rw"), "write": ("w", "rw"), "any": ("r", "w", "rw", None)}


def _fd_matches(c: catalog.FdsCheck, fd: dict, pipe: Optional[str] = None) -> bool:
    """Whether one open descriptor is what the check looks for (``pipe``: the target ``of`` names)."""
    if c.fd is not None and fd["fd"] != c.fd:
        return False
    target = fd["target"]
    if c.pipe is not None:
        return target.startswith("pipe:[") and fd.get("mode") in _PIPE_ENDS[c.pipe] \
            and (pipe is None or target == pipe)
    if not target.startswith("/"):
        return False  # a pipe, a socket: not a file
    assert c.file is not None  # lab.yaml's validation: a pipe or a file
    return fnmatch.fnmatchcase(target, c.file if c.file.startswith("/") else "*/" + c.file)


def _fd_what(c: catalog.FdsCheck, _: i18n.Translate) -> str:
    """'a pipe's write end', 'the write end of the pipe on reader's fd 3', 'data.txt', '... as fd 1'."""
    if c.of is not None:
        assert c.pipe is not None  # lab.yaml's validation: `of` goes with `pipe`
        of = {"holder": c.of_role, "number": c.of_fd}
        what = {"read": _("the read end of the pipe on {holder}'s fd {number}", **of),
                "write": _("the write end of the pipe on {holder}'s fd {number}", **of),
                "any": _("the pipe on {holder}'s fd {number}", **of)}[c.pipe]
    elif c.pipe is not None:
        what = {"read": _("a pipe's read end"), "write": _("a pipe's write end"), "any": _("a pipe")}[c.pipe]
    else:
        what = c.file or ""
    return what if c.fd is None else _("{what} as fd {fd}", what=what, fd=c.fd)


def _fds(seen: _Seen, c: catalog.FdsCheck) -> tuple[bool, str]:
    _ = seen._
    what = _fd_what(c, _)
    wanted = (_("expected {role} to hold {what} open at {checkpoint}", role=c.role, what=what,
                checkpoint=c.checkpoint) if c.holds else
              _("expected {role} not to hold {what} open at {checkpoint}", role=c.role, what=what,
                checkpoint=c.checkpoint))
    row, problem = _row_at(seen, c.checkpoint, c.role)
    if problem:
        return False, problem
    if row is None:
        return False, _("{wanted}; {role} was not in the process table", wanted=wanted, role=c.role)
    if row.get("fds") is None:
        return False, _("{wanted}; its descriptors could not be read", wanted=wanted)
    pipe = None
    if c.of is not None:
        snap = seen.snapshot(c.checkpoint)
        assert snap is not None and c.of_role is not None  # _row_at found the checkpoint; `of` names a role
        holder = seen.row(snap, c.of_role)
        pipe = next((fd["target"] for fd in (holder or {}).get("fds") or []
                     if fd["fd"] == c.of_fd and fd["target"].startswith("pipe:[")), None)
        if pipe is None:
            return False, _("{wanted}; {holder} held no pipe on fd {number} there", wanted=wanted,
                            holder=c.of_role, number=c.of_fd)
    names = seen.fd_names()
    matching = [fd for fd in row["fds"] if _fd_matches(c, fd, pipe)]
    if not matching and row.get("fds_more"):
        return False, _("{wanted}; it had {count} more descriptors than a snapshot reads, so this cannot be told",
                        wanted=wanted, count=row["fds_more"])
    shown = _(", ").join(normalize.fd_text(fd, names) for fd in (matching if matching else row["fds"]))
    if matching:
        return c.holds, _("{wanted}; it held {fds}", wanted=wanted, fds=shown)
    return not c.holds, _("{wanted}; it held none: {fds}", wanted=wanted, fds=shown or _("none"))


_EVALUATORS: dict[str, Callable] = {
    "processes": _processes, "memory": _memory, "stop": _stop,
    "lines": _lines, "state": _state, "parent": _parent, "absent": _absent,
    "exit": _exit, "reaped": _reaped, "no-zombies-at-end": _no_zombies,
    "pgid": _pgid, "fds": _fds, "orders": _orders,
}


def _memory_sentence(c: catalog.MemoryCheck, _: i18n.Translate) -> str:
    if c.role is None:
        return _("the container's memory at {checkpoint} is {range}", checkpoint=c.checkpoint, range=_range(c, _))
    if c.measure == "rss":
        return _("{role}'s rss memory at {checkpoint} is {range}",
                 role=c.role, checkpoint=c.checkpoint, range=_range(c, _))
    return _("{role}'s private memory at {checkpoint} is {range}",
             role=c.role, checkpoint=c.checkpoint, range=_range(c, _))


def _stop_sentence(c: catalog.StopCheck, _: i18n.Translate) -> str:
    if c.waited is None:
        return _("docker stop ends the container with {signal}", signal=c.signal)
    if c.waited:
        return _("docker stop ends the container with {signal} after the whole grace period", signal=c.signal)
    return _("docker stop ends the container with {signal} before the grace period is over", signal=c.signal)


#: The sentence each kind of check says when lab.yaml gives none of its own.
_SENTENCES: dict[str, Callable] = {
    "processes": lambda c, _: _("the lab makes {count} processes", count=c.count),
    "memory": _memory_sentence,
    "lines": lambda c, _: _("{count} {stream} line(s) match /{match}/", count=c.count, stream=c.stream,
                            match=c.match),
    "state": lambda c, _: _("{role} is in state {state} at {checkpoint}", role=c.role, state=c.state,
                            checkpoint=c.checkpoint),
    "parent": lambda c, _: _("{role}'s parent at {checkpoint} is {parent}", role=c.role, checkpoint=c.checkpoint,
                             parent=c.parent),
    "absent": lambda c, _: _("{role} is gone at {checkpoint}", role=c.role, checkpoint=c.checkpoint),
    "exit": lambda c, _: (_("{role} exits with code {code}", role=c.role, code=c.code) if c.signal is None
                          else _("{role} exits with {signal}", role=c.role, signal=c.signal)),
    "reaped": lambda c, _: _("{role} is reaped by {by}", role=c.role, by=c.by),
    "no-zombies-at-end": lambda c, _: _("no zombie is left at the end"),
    "orders": lambda c, _: _("the program can print {count} different output(s)", count=c.count),
    "stop": _stop_sentence,
    "pgid": lambda c, _: (
        _("{role} is in {other}'s process group at {checkpoint}", role=c.role, other=c.same_as,
          checkpoint=c.checkpoint) if c.same_as is not None else
        _("{role} leads its own process group at {checkpoint}", role=c.role, checkpoint=c.checkpoint) if c.leader
        else _("{role} does not lead its process group at {checkpoint}", role=c.role, checkpoint=c.checkpoint)),
    "fds": lambda c, _: (
        _("{role} holds {what} open at {checkpoint}", role=c.role, what=_fd_what(c, _), checkpoint=c.checkpoint)
        if c.holds else
        _("{role} does not hold {what} open at {checkpoint}", role=c.role, what=_fd_what(c, _),
          checkpoint=c.checkpoint)),
}


def sentence(expectation, lang: str = i18n.DEFAULT) -> str:
    """What a check says in ``lang``: lab.yaml's ``says`` (``says_zh`` in Chinese), else the generated sentence.

    In Chinese a check with an English ``says`` but no ``says_zh`` gets the
    generated Chinese sentence rather than English text.
    """
    if lang == "zh":
        own = getattr(expectation, "says_zh", None)
    else:
        own = expectation.says
    return own or _SENTENCES[expectation.check](expectation, i18n.translator(lang))


def hint(expectation, lang: str = i18n.DEFAULT) -> Optional[str]:
    """What to try when the check fails (an exercise's ``hint``, ``hint_zh`` in Chinese), or None."""
    if lang == "zh":
        return getattr(expectation, "hint_zh", None) or getattr(expectation, "hint", None)
    return getattr(expectation, "hint", None)


def evaluate(expectations: list, result: dict, lang: str = i18n.DEFAULT) -> list[dict]:
    """One ``{name, check, passed, detail, points, hidden, hint}`` per expectation, in lab.yaml's order, in ``lang``.

    ``points`` (1 unless lab.yaml says), ``hidden`` and ``hint`` grade an exercise (`invoke check`).
    """
    seen = _Seen(result, lang)
    outcomes = []
    for expectation in expectations:
        passed, detail = _EVALUATORS[expectation.check](seen, expectation)
        outcomes.append({"name": sentence(expectation, lang),
                         "check": expectation.check, "passed": bool(passed), "detail": detail,
                         "points": getattr(expectation, "points", 1), "hidden": getattr(expectation, "hidden", False),
                         "hint": hint(expectation, lang)})
    return outcomes


def score(outcomes: list[dict]) -> dict:
    """``{earned, total}``: the points of the checks that passed, of all of them."""
    return {"earned": sum(c.get("points", 1) for c in outcomes if c["passed"]),
            "total": sum(c.get("points", 1) for c in outcomes)}


def checks_main_exit(expectations: list) -> bool:
    """Whether the lab declares what its main process's exit should be."""
    return any(e.check == "exit" and e.role == "main" for e in expectations)
