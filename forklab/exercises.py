"""Exercises: students write the program, `invoke check N` grades it.

An exercise is a lab folder whose lab.yaml says ``kind: exercise``: starter.py
is what students get, solution.py the reference (`invoke lab N` runs it, and it
must pass every check).  A student's program runs as the exercise's program,
in the same sandbox, with the same run settings and checks; this module turns
that run into a grade: points per check, hidden checks shown only as a count,
a hint for each failed check, and one line saying why a submission that did
not run to its end earns nothing.  Nothing here talks to Docker.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from forklab import catalog, checks, i18n
from forklab.errors import UsageError

#: Students' working copies, beside the labs folder: work/13-reap-in-order.py.
WORK_DIR = "work"

#: The last line Python writes when a program does not parse.
_DOES_NOT_PARSE = re.compile(r"^(SyntaxError|IndentationError|TabError): ")
_WHERE = re.compile(r'^\s*File "[^"]*", line (\d+)')


def working_copy(labs_dir: Path, lab: catalog.Lab) -> tuple[Path, bool]:
    """work/NN-slug.py for exercise ``lab``, and whether it was made just now.

    Made from the starter on first use and never overwritten afterwards: it is
    the student's file.
    """
    path = labs_dir.parent / WORK_DIR / f"{lab.folder}.py"
    if path.exists() or path.is_symlink():
        return path, False
    starter = catalog.read_file(lab.starter_path, Path(lab.path).resolve(), catalog.MAX_SCRIPT_BYTES,
                                "a starter may hold")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as handle:  # x: a file made meanwhile is never replaced
            handle.write(starter)
    except FileExistsError:
        return path, False
    except OSError as exc:
        raise UsageError(f"{path}: cannot be made ({exc.strerror}); give the path of your program: "
                         f"`invoke check {lab.number} PATH`") from None
    return path, True


def why(run: dict, submission: str, _: i18n.Translate) -> tuple[Optional[str], bool]:
    """(one line on how the submission's run went wrong, or None; whether its checks count).

    A program that does not parse never ran, one still running at the timeout
    or stopped by the pids limit did not end by itself: nothing they showed
    counts.  A crash, the memory limit or a cut output is said, and what
    passed before it counts.
    """
    runner = run["runner"]
    limits = (run["environment"].get("container") or {}).get("limits") or {}
    peak = run.get("peak_processes")
    if peak and limits.get("pids") and peak >= limits["pids"]:
        return _("it reached the pids limit ({limit} processes at once): fork only in the parent, "
                 "a fixed number of times", limit=limits["pids"]), False
    if run["status"] == "timeout":
        return _("it was still running after {seconds:g} s: an endless loop, or a wait that never returns "
                 "(a pipe's write end left open keeps its reader waiting)",
                 seconds=run["environment"]["run_settings"]["timeout"]), False
    if runner["status"] != "finished":
        last = (runner.get("error") or "").strip().splitlines()[-1:] or [runner["status"]]
        return _("it could not be run: {reason}", reason=last[0]), False
    status = run.get("exit") or {}
    lines = [line for line in run["stderr"].splitlines() if line.strip()]
    if status.get("code") == 1 and lines and _DOES_NOT_PARSE.match(lines[-1]) \
            and "Traceback (most recent call last):" not in run["stderr"]:
        where = [m.group(1) for m in map(_WHERE.match, lines) if m]
        return _("{file} does not parse: {error}", file=submission,
                 error=lines[-1] + (_(" (line {line})", line=where[-1]) if where else "")), False
    if run.get("oom_kills"):
        return _("a process ran out of memory and was killed (the limit is {mib} MiB)",
                 mib=limits.get("memory_bytes", 0) // 2**20), True
    if status.get("signal"):
        return _("it was killed by {signal}", signal=status["signal_name"]), True
    if status.get("code"):
        last = lines[-1] if lines else _("nothing on stderr")
        return _("it crashed (exit code {code}): {line}", code=status["code"], line=last), True
    if any(run["truncated"].values()):
        return _("it printed more than the output limit; the rest was dropped"), True
    return None, True


def grade(document: dict, submission: str, lang: str) -> None:
    """Score a checked submission's result document in place.

    Adds ``score`` ({earned, total}) and ``check`` ({submission, reason,
    counted, hidden: {passed, total}}), and hides the hidden checks: they go
    last, those that passed first, each named only "hidden check", with no
    detail and no hint, so the report shows how many passed and nothing more.
    """
    _ = i18n.translator(lang)
    runs = document.get("variants") or [document]
    reason, counted = None, True
    for run in runs:
        reason, counted = why(run, submission, _)
        if reason:
            break
    every = document["checks"]
    score = checks.score(every)
    if not counted:
        score["earned"] = 0
    hidden = [c for c in every if c.get("hidden")]
    document["score"] = score
    document["check"] = {"submission": submission, "reason": reason, "counted": counted,
                         "hidden": {"passed": sum(1 for c in hidden if c["passed"]), "total": len(hidden)}}
    for holder in [document, *document.get("variants", [])]:
        holder["checks"] = _hide(holder["checks"], _)


def _hide(outcomes: list[dict], _: i18n.Translate) -> list[dict]:
    shown = [c for c in outcomes if not c.get("hidden")]
    hidden = sorted((c for c in outcomes if c.get("hidden")), key=lambda c: not c["passed"])
    return shown + [{"name": _("hidden check"), "check": "hidden", "passed": c["passed"], "detail": "",
                     "points": c.get("points", 1), "hidden": True, "hint": None} for c in hidden]
