"""From what the lab's processes recorded to the graph of every possible output.

Inside the container every Python process of the lab notes, in its own
order, each write(2) it made to stdout, each fork and each wait that
returned an ended child (forklab/inside/checkpoint.py); the runner hands those
notes over as ``writers`` (forklab/inside/runner.py ``read_writers``).  Here they
are named the way the report names processes (main, main.1, ...) and checked
against the run's stdout.  What the notes cannot vouch for is said as a
problem, in one line, and then nothing is counted:

* output the notes do not hold (a program run with exec, such as ``echo``,
  or a process the kit could not name) or output that was cut short;
* a thread that wrote (program order is then not one line of events);
* a process that wrote more than the notes keep, or notes that do not read;
* a Python program started by exec from another process (subprocess): the
  graph cannot tell when it started;
* a run stopped at its timeout.

The graph itself (forklab/graph.py) knows fork, wait and program order, and
that one write(2) of at most 4096 bytes to a pipe arrives whole.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Optional


def named_processes(writers: dict, roles: dict[int, str], main_pid: Optional[int],
                    stdout: str, cut: bool = False, timed_out: bool = False) -> dict:
    """{"processes": [{"name", "parent", "events"}], "problems": [...]} for the result document.

    ``roles`` is pid -> name as the report names processes; events are
    ``["write", text]``, ``["fork", child]`` and ``["reap", child]``.
    """
    problems: list[str] = []
    records = list((writers or {}).get("processes") or [])
    if (writers or {}).get("unreadable"):
        problems.append(f"{writers['unreadable']} process note(s) could not be read")
    if timed_out:
        problems.append("the run was stopped at its timeout, so the program did not finish")
    if cut:
        problems.append("the output was cut at the output limit")
    pids = Counter(record.get("pid") for record in records)
    for pid, times in sorted(pids.items()):
        if times > 1:
            problems.append(f"pid {pid} was used by two processes, one after the other")
    by_pid = {record.get("pid"): record for record in records}

    def name(pid: object) -> Optional[str]:
        return roles.get(pid) if isinstance(pid, int) else None

    # parent pid -> (after how many of the parent's events, which fork, the child's name)
    forks: dict[int, list[tuple[int, int, str]]] = {}
    processes: list[dict] = []
    for record in records:
        pid, own = record.get("pid"), name(record.get("pid"))
        if own is None:
            problems.append(f"a process (pid {pid}) the kit could not name wrote notes")
            continue
        if record.get("start") == "exec" and pid != main_pid:
            problems.append(f"{own} is a Python program another process started with exec "
                            "(subprocess): when it started is not known")
            continue
        parent = None
        if record.get("start") == "fork":
            parent = name(record.get("ppid"))
            if parent is None or record.get("ppid") not in by_pid:
                problems.append(f"{own}'s parent left no notes")
                continue
            forks.setdefault(record["ppid"], []).append((_number(record.get("at")), _number(record.get("nth")), own))
        processes.append({"name": own, "parent": parent, "pid": pid, "raw": record.get("events") or []})
    for process in processes:
        events = []
        raw = process.pop("raw")
        made = sorted(forks.get(process["pid"], []))
        for index, event in enumerate([*raw, None]):
            # The forks this process made after its first `index` events (each child says where).
            while made and (made[0][0] <= index or event is None):
                events.append(["fork", made.pop(0)[2]])
            kind = event[0] if event else None
            if kind == "w":
                # As the report shows stdout: bytes that are not UTF-8 become U+FFFD.
                events.append(["write", str(event[1]).encode("utf-8", "surrogateescape").decode("utf-8", "replace")])
            elif kind == "r":
                reaped = name(event[1])
                # The first wait that saw the child ended is the edge; a later
                # one (after waitid with WNOWAIT) adds nothing.
                if reaped is not None and event[1] in by_pid and ["reap", reaped] not in events:
                    events.append(["reap", reaped])
            elif kind == "t":
                problems.append(f"a thread of {process['name']} wrote to stdout")
            elif kind == "x":
                problems.append(f"{process['name']} wrote more than the kit keeps notes of")
        process["events"] = events
        del process["pid"]
    processes = _in_tree_order(processes)
    written = sum(len(text) for process in processes for kind, text in process["events"] if kind == "write")
    if not problems and written != len(stdout):
        if written < len(stdout):
            problems.append(f"{len(stdout) - written} character(s) of the output were written by something "
                            "the kit does not follow (a program run with exec, such as echo or ls)")
        else:
            problems.append("the notes hold more than the output")
    return {"processes": processes, "problems": sorted(set(problems), key=problems.index)}


def _number(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _in_tree_order(processes: list[dict]) -> list[dict]:
    """Each process before its children, a parent's children in the order it forked them:
    the same order in every run, whichever child the kernel happened to give a lower pid."""
    by_name = {p["name"]: p for p in processes}
    ordered: list[dict] = []

    def visit(process: dict) -> None:
        ordered.append(process)
        for kind, child in process["events"]:
            if kind == "fork" and child in by_name and by_name[child] not in ordered:
                visit(by_name[child])

    for process in processes:
        if process["parent"] is None:
            visit(process)
    return ordered + [p for p in processes if p not in ordered]


#: Outputs listed in full when there are at most this many.
#: Lines of output matched to their writers at most (the report lists 200).
MAX_ATTRIBUTED = 5000
MAX_ATTRIBUTION_STEPS = 200_000
LISTED = 50


def analyse(named: dict, stdout: str) -> dict:
    """The graph's answers for one run, kept in result.json under ``orders``.

    Adds to ``named``: ``count`` (different outputs the program can print, or
    None when it cannot be counted: see ``problems``), ``outputs`` (each a
    list of lines, when there are at most LISTED, else None) and ``observed``
    (whether this run's own output is one of them, or None).
    """
    from forklab import graph

    result = {**named, "count": None, "outputs": None, "observed": None}
    if named["problems"] or not named["processes"]:
        return result
    built = graph.Graph(named["processes"])
    result["count"] = built.count()
    if result["count"] is None:
        result["problems"] = list(built.problems) or [built.reason or "too many orders to count"]
        return result
    listed = built.outputs(limit=LISTED)
    result["outputs"] = [list(output) for output in listed] if listed is not None else None
    result["observed"] = bool(built.possible(stdout.splitlines()))
    return result


def possible(found: dict, lines: list[str]) -> Optional[bool]:
    """Whether the program whose notes are ``found`` (a run's ``orders``) can print ``lines``; None if unknown."""
    from forklab import graph

    if found.get("count") is None:
        return None
    return graph.Graph(found["processes"]).possible(list(lines))


def for_report(run: dict) -> Optional[dict]:
    """What a report shows of a run's graph, pids written as roles; None when there is nothing to show.

    There is something to show when the lab asks for it (lab.yaml
    ``orders: true``), when two processes or more wrote to stdout, or when
    the program forked and printed but the kit cannot count its outputs.
    ``outputs`` are lists of lines as the normalized report writes them;
    ``observed`` is the index in ``outputs`` of this run's own output (None
    if the outputs are not listed, or it is not among them).
    """
    from forklab import normalize

    found = run.get("orders") or {}
    processes = found.get("processes") or []
    writers = sum(1 for p in processes if any(kind == "write" for kind, _ in p["events"]))
    worth_it = (run["lab"].get("orders") or writers >= 2
                or (len(processes) >= 2 and found.get("problems") and run.get("stdout")))
    if not worth_it:
        return None
    patterns, names = run["lab"].get("pid_patterns", []), normalize.pid_names(run)

    def shown(text: str) -> str:
        return normalize.output(text, patterns, names)

    named = [{**p, "events": [[kind, shown(value) if kind == "write" else value] for kind, value in p["events"]]}
             for p in processes]
    own = shown(run["stdout"]).splitlines()
    # report.md and report.html each ask: the graph is worked out once.
    key = json.dumps([named, own, found.get("problems")], ensure_ascii=False, sort_keys=True)
    if key not in _VIEWS:
        while len(_VIEWS) >= 16:
            _VIEWS.pop(next(iter(_VIEWS)))
        _VIEWS[key] = _view(named, own, found)
    return _VIEWS[key]


_VIEWS: dict[str, dict] = {}


def _view(named: list[dict], own: list[str], found: dict) -> dict:
    from forklab import graph

    view: dict = {"count": None, "outputs": None, "observed": None, "problems": list(found.get("problems") or []),
                  "mermaid": None, "svg": None, "text": None}
    if view["problems"]:
        return view
    built = graph.Graph(named)
    view.update(mermaid=built.mermaid(), svg=built.svg(), text=built.text(), count=built.count())
    if view["count"] is None:
        view["problems"] = list(built.problems) or [built.reason or "too many orders to count"]
        return view
    listed = built.outputs(limit=LISTED)
    if listed is not None:
        view["outputs"] = [list(output) for output in listed]
        view["observed"] = next((index for index, output in enumerate(view["outputs"]) if output == own), None)
    return view


def why_not(found: dict, lines: list[str]) -> Optional[str]:
    """Why the program whose notes are ``found`` cannot print ``lines`` (None when it can, or when unknown)."""
    from forklab import graph

    if found.get("count") is None:
        return None
    return graph.Graph(found["processes"]).why_not(list(lines))


def writers_of(found: dict, stdout: str) -> Optional[list[tuple[str, list[str]]]]:
    """Each line of ``stdout`` with the process(es) that can have written it there, or None.

    Each process's lines are taken in its own order, and the lines of one
    write stay together.  When several processes could have written the
    same text at that point, all of them are named: the output cannot say
    which one it was.  None when the notes have problems or do not match.
    """
    if found.get("problems") or not found.get("processes"):
        return None
    queues = {p["name"]: [lines for kind, text in p["events"] if kind == "write"
                          for lines in [text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")]
                          if lines]
              for p in found["processes"]}
    names = list(queues)
    lines = stdout.splitlines()
    if len(lines) > MAX_ATTRIBUTED:
        return None

    def moves(state: tuple, index: int) -> list[tuple]:
        """The states after line ``index`` is written by each process that can write it next."""
        busy = [n for n, (unit, at) in enumerate(state) if at > 0]  # inside a write: it must go on
        after = []
        for n in busy or range(len(names)):
            unit, at = state[n]
            writes = queues[names[n]]
            if unit < len(writes) and writes[unit][at] == lines[index]:
                step = (unit + 1, 0) if at + 1 == len(writes[unit]) else (unit, at + 1)
                after.append(state[:n] + (step,) + state[n + 1:])
        return after

    # Depth first, each (line, state) tried once: greedy choices can dead-end when two processes print alike.
    start_state = tuple((0, 0) for _ in names)
    path, stack, failed = [start_state], [moves(start_state, 0) if lines else []], set()
    work = 0
    while len(path) <= len(lines):
        work += 1
        if work > MAX_ATTRIBUTION_STEPS:  # a budget, so that no output can hold up a report
            return None
        if not stack[-1]:
            failed.add((len(path) - 1, path.pop()))
            stack.pop()
            if not stack:
                return None
            continue
        state = stack[-1].pop()
        if (len(path), state) in failed:
            continue
        path.append(state)
        stack.append(moves(state, len(path) - 1) if len(path) <= len(lines) else [])
    shown: list[tuple[str, list[str]]] = []
    for index, line in enumerate(lines):
        before, after = path[index], path[index + 1]
        who = [names[n] for n in range(len(names)) if before[n] != after[n]]
        same = [name for name in names if any(line in writes for writes in queues[name])]
        # More than one process prints this text: which one it was here is not known.
        shown.append((line, same if len(same) > 1 else who))
    return shown
