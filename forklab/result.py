"""Turns what the runner saw into the result document (``result.json``).

The runner speaks in pids; people speak in roles.  This module attaches a role
to every process the runner saw (the names the lab gave at its checkpoints,
``reaper`` for the runner, ``main`` for the lab's first process, and
``unnamed-N`` for the rest, numbered by pid), so checks and reports can speak
of ``child`` and ``orphan``.  Raw pids stay in the document.
"""

from __future__ import annotations

import itertools
from enum import Enum
from typing import Any, Iterable, Optional, TypedDict

from forklab import orders


class RunRecord(TypedDict):
    """What one run brought back from its container, as every path makes it: the engine
    (``Engine.run_lab``, ``run_together``), ``outside.py``, the Compose driver (``inimage.py``)
    and the Gradescope grader (``autograder.py``); ``assemble`` makes the result of it."""

    #: The runner's document for this run (None: it printed none that carried the run's secret).
    document: Optional[dict]
    #: The host's own time limit ended the container (not the runner's timeout).
    timed_out: bool
    container_exit: Optional[int]
    runner_stderr: str
    #: The run's share of its container's time, in ms.
    duration_ms: float
    container: str

SCHEMA = "forklab.result/1"


def output_bytes(run: RunRecord) -> dict[str, bytes]:
    """The lab's stdout and stderr exactly as written (the runner keeps odd bytes recoverable)."""
    doc = run.get("document") or {}
    return {name: doc.get(name, "").encode("utf-8", "surrogateescape") for name in ("stdout", "stderr")}


def _text(data: bytes) -> str:
    """Printable text for JSON and reports: bytes that are not UTF-8 become U+FFFD."""
    return data.decode("utf-8", "replace")


def _int_keys(mapping: dict) -> dict[int, str]:
    return {int(pid): role for pid, role in mapping.items()}


def _seen_pids(doc: dict) -> set[int]:
    pids = {row["pid"] for snap in doc.get("snapshots", []) for row in snap["processes"]}
    pids |= {event["pid"] for event in doc.get("events", [])}
    return pids


_MAX_NTH: list = []


def _max_nth() -> int:
    """The runner's MAX_NTH, read when first needed: importing the whole runner costs the host ~25 ms."""
    if not _MAX_NTH:
        from forklab.inside.protocol import MAX_NTH

        _MAX_NTH.append(MAX_NTH)
    return _MAX_NTH[0]


def prepare() -> None:
    """Load now what assembling a result needs later (for a moment the host waits anyway)."""
    _max_nth()


def _nth(value: object) -> Optional[int]:
    """A fork's number as the fork hook counts it (1, 2, ...), or None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _max_nth():  # as the runner keeps it
        return None
    return value


def name_processes(doc: dict) -> dict[int, str]:
    """pid -> role for every process the runner saw.

    A process the lab did not name is named after its place in the fork tree:
    ``main.2`` is the child of main's second fork, ``main.2.1`` the child of
    that child's first fork, so names are the same from run to run.
    What the tree cannot place is ``unnamed-N``, by pid.

    Two children of one parent never share a name: a number already taken,
    missing or absurd gives the child the lowest number its parent's other
    children leave free, in the order the forks were reported.
    """
    roles = _int_keys(doc.get("roles", {}))
    runner_pid = (doc.get("environment") or {}).get("runner_pid")
    main_pid = (doc.get("main") or {}).get("pid")
    children: dict[int, list[dict]] = {}
    reported: set[int] = set()
    for event in doc.get("events", []):
        pid, ppid = event.get("pid"), event.get("ppid")
        if event.get("event") != "fork" or not ppid or pid in (main_pid, runner_pid) \
                or ppid == runner_pid or pid in reported:
            continue
        reported.add(pid)  # a process is forked once: its first report counts
        children.setdefault(ppid, []).append(event)
    tree_names: dict[int, str] = {}
    if main_pid:
        tree_names[main_pid] = "main"
    parents = [main_pid] if main_pid else []
    for parent in parents:  # grows as children are named: breadth first, each pid once
        kids = sorted((e for e in children.get(parent, []) if e["pid"] not in tree_names),
                      key=lambda e: (e.get("t_ms") or 0, e["pid"]))
        # A parent's forks are named in the order it made them ("nth", counted by
        # the fork hook in the parent), not in the order its children got to run.
        numbers: dict[int, int] = {}
        taken: set[int] = set()
        for event in kids:
            nth = _nth(event.get("nth"))
            if nth is not None and nth not in taken:
                numbers[event["pid"]] = nth
                taken.add(nth)
        free = (n for n in itertools.count(1) if n not in taken)
        for event in kids:
            if event["pid"] not in numbers:
                numbers[event["pid"]] = next(free)
        for event in kids:
            tree_names[event["pid"]] = f"{tree_names[parent]}.{numbers[event['pid']]}"
            parents.append(event["pid"])
    for pid, name in tree_names.items():
        roles.setdefault(pid, name)
    unnamed = sorted(_seen_pids(doc) - set(roles))
    for index, pid in enumerate(unnamed, start=1):
        roles[pid] = f"unnamed-{index}"
    return roles


def role_index(doc: dict, roles: dict[int, str]) -> dict[str, int]:
    """role -> pid, with ``main`` and ``reaper`` always meaning the lab's first process and PID 1.

    PID 1 is the runner, or, when the runner stepped aside (``reaper_pid``), the
    init or the lab's main itself: then ``main`` and ``reaper`` are one process.
    """
    index = {role: pid for pid, role in sorted(roles.items())}
    main_pid = (doc.get("main") or {}).get("pid")
    reaper_pid = doc.get("reaper_pid") or (doc.get("environment") or {}).get("runner_pid")
    if main_pid:
        index["main"] = main_pid
    if reaper_pid:
        index["reaper"] = reaper_pid
    return index


def look_note(event: dict, parent: Optional[str], lang: Optional[str] = None) -> Optional[str]:
    """What the runner saw, in words, for its looks at the table: a process first seen as a
    zombie, or gone from it.  What it saw, not what it concludes: who reaped is the trees' to say."""
    from forklab.pictures import words

    _ = words(lang)
    parent = parent or "?"
    if event["event"] == "zombie":
        note = _("first seen as a zombie of {parent}", parent=parent)
        if event.get("alive_ms") is not None:
            note += _("; last seen alive at {ms} ms", ms=f"{event['alive_ms']:.1f}")
        return note
    if event["event"] != "gone":
        return None
    if event.get("seen_ms") is None:
        return _("gone from the table before any look saw it there")
    if event.get("state") == "Z":
        text = ("gone from the table; last seen at {ms} ms as a zombie of {parent}, which was still alive"
                if event.get("ppid_alive") else
                "gone from the table; last seen at {ms} ms as a zombie of {parent}, which has ended too")
        return _(text, ms=f"{event['seen_ms']:.1f}", parent=parent)
    return _("gone from the table; last seen alive ({state}) at {ms} ms (parent {parent}): it exited and was "
             "reaped in between", state=event.get("state") or "?", ms=f"{event['seen_ms']:.1f}", parent=parent)


def _with_roles(doc: dict, roles: dict[int, str],
                lang: Optional[str] = None) -> tuple[list[dict], list[dict]]:
    def role(pid: Optional[int]) -> Optional[str]:
        return roles.get(pid) if pid is not None else None

    snapshots = []
    for snap in doc.get("snapshots", []):
        rows = [{**row, "role": role(row["pid"]), "parent_role": role(row["ppid"])}
                for row in snap["processes"]]
        snapshots.append({**snap, "by_role": role(snap.get("by")), "processes": rows})
    events = []
    for event in doc.get("events", []):
        extra = {"role": role(event["pid"])}
        for key in ("ppid", "by", "from"):
            if key in event:
                extra[f"{key}_role"] = role(event[key])
        note = look_note(event, extra.get("ppid_role"), lang)
        if note is not None:
            extra["note"] = note
        events.append({**event, **extra})
    return snapshots, events


def assemble(lab: Any, variant: Any, run: RunRecord, environment: dict) -> dict:
    """The result document of one run, before checks: everything the report needs.

    ``variant`` is the catalog's Run (name, title, settings); ``run`` is what the
    engine brought back: ``document`` (the runner's, or None), ``timed_out``,
    ``container_exit``, ``runner_stderr``, ``duration_ms``.
    """
    doc = run.get("document") or {}
    roles = name_processes(doc)
    snapshots, events = _with_roles(doc, roles, environment.get("lang"))
    container_env = doc.get("environment") or {}
    return {
        "schema": SCHEMA,
        "lab": {"number": lab.number, "kind": lab.kind,
                "title": lab.spec.title, "folder": lab.folder,
                "summary": lab.spec.summary.strip(),
                "claims": [claim.model_dump() for claim in lab.spec.claims],
                "key_checkpoint": lab.key_checkpoint,
                "pid_patterns": list(lab.spec.pid_patterns), "output_order": lab.spec.output_order,
                "orders": lab.spec.orders},
        "status": None,  # decided once checks have run
        "variant": {"name": variant.name, "title": variant.title},
        "environment": {**environment, "container": container_env,
                        "run_settings": variant.settings.model_dump()},
        "stdout": _text(output_bytes(run)["stdout"]),
        "stderr": _text(output_bytes(run)["stderr"]),
        "truncated": {name: doc.get("truncated", {}).get(name, 0) for name in ("stdout", "stderr")},
        "exit": doc.get("exit"),
        "main": {"pid": (doc.get("main") or {}).get("pid"),
                 "command": f"python3 {(doc.get('main') or {}).get('script', 'lab.py')}"},
        "snapshots": snapshots,
        "events": events,
        # Who wrote each piece of stdout, and each fork and wait, in each process's order.
        "orders": orders.analyse(orders.named_processes(
            doc.get("writers") or {}, roles, (doc.get("main") or {}).get("pid"), _text(output_bytes(run)["stdout"]),
            cut=bool((doc.get("truncated") or {}).get("stdout")),
            timed_out=doc.get("status") == "timeout" or bool(run.get("timed_out"))),
            _text(output_bytes(run)["stdout"])),
        "roles": role_index(doc, roles),
        "warnings": list(doc.get("warnings", [])),
        "checks": [],
        "runner": {"status": doc.get("status", "missing"), "error": doc.get("error"),
                   "stderr": run.get("runner_stderr", ""),
                   "container_exit": run.get("container_exit"),
                   "timed_out_on_host": bool(run.get("timed_out")),
                   # What the checkpoint socket turned away; the warnings say it in words.
                   "skipped_snapshots": doc.get("skipped_snapshots", 0),
                   "dropped_fork_reports": doc.get("dropped_fork_reports", 0),
                   "refused_requests": dict(doc.get("refused_requests") or {})},
        "peak_processes": doc.get("peak_processes"),
        # pid1: lab or init: how `docker stop -t N` ended the container (timeout_s, seconds, exit_code, signal).
        "stop": doc.get("stop"),
        "oom_kills": doc.get("oom_kills"),
        "timing": {"lab_ms": doc.get("duration_ms"), "container_ms": run.get("duration_ms"),
                   "snapshot_ms": [snap.get("cost_ms") for snap in snapshots]},
    }


class Status(str, Enum):
    """A run's or a lab's status, as result.json and the reports write it (the value)."""

    PASSED = "passed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    ERROR = "error"

    @classmethod
    def worst(cls, statuses: Iterable[str]) -> str:
        """The status of several runs: an error outweighs a timeout, a timeout a failure, a failure a pass."""
        seen = set(statuses)
        return next(status.value for status in (cls.ERROR, cls.TIMEOUT, cls.FAILED, cls.PASSED)
                    if status.value in seen)


def decide_status(result: dict, main_exit_is_checked: bool) -> str:
    """passed, failed, error or timeout; see docs/ARCHITECTURE.md."""
    runner = result["runner"]
    if runner["timed_out_on_host"] or runner["status"] == "timeout":
        return Status.TIMEOUT.value
    if runner["status"] != "finished":
        return Status.ERROR.value
    status = result.get("exit") or {}
    if not main_exit_is_checked and (status.get("code") != 0):
        return Status.ERROR.value
    return (Status.PASSED if all(check["passed"] for check in result["checks"]) else Status.FAILED).value


def combine(runs: list[dict]) -> dict:
    """One lab's result from its runs: a single run as it is; variants side by side.

    With variants, the top-level fields are the first variant's (so readers of
    ``stdout`` or ``snapshots`` find a run there), ``variants`` holds every run
    whole, ``checks`` holds all of them named by variant, and ``status`` is the
    worst of the runs.
    """
    if len(runs) == 1 and runs[0]["variant"]["name"] == "default":
        return runs[0]
    combined = dict(runs[0])
    combined["variants"] = runs
    combined["checks"] = [{**check, "name": f"[{run['variant']['name']}] {check['name']}",
                           "variant": run["variant"]["name"]} for run in runs for check in run["checks"]]
    combined["status"] = Status.worst(run["status"] for run in runs)
    return combined
