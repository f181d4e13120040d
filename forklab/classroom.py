"""GitHub Classroom: `invoke check N --summary PATH` puts the score where autograding tools read it.

PATH (``$GITHUB_STEP_SUMMARY`` in a workflow) gets the job summary: a line
``Points X/Y``, a table of the checks (the hidden ones as a count) and, when
the run went wrong, the one line on why.  Under GitHub Actions
(``GITHUB_ACTIONS=true``) the points also go out as the two notice
annotations GitHub Classroom's autograding reporter writes and Classroom
reads: ``Points X/Y`` titled "Autograding complete", and
``{"totalPoints": X, "maxPoints": Y}`` titled "Autograding report".
.github/classroom/forklab-check.yml is the workflow that runs it.
"""

import json
import os
import sys
from pathlib import Path
from typing import Optional, TextIO

from forklab.errors import UsageError


def summary_path(text: str) -> Path:
    """--summary PATH, checked before anything runs: a file (made if need be) in an existing folder."""
    path = Path(text).expanduser()
    if not path.parent.is_dir():
        raise UsageError(f"--summary {text}: {path.parent} is not a folder; give a file in an existing folder")
    if path.exists() and not path.is_file():
        raise UsageError(f"--summary {text}: not a regular file; give the file the summary is appended to")
    return path


def _cell(text: object) -> str:
    """Text for one cell of a Markdown table: on one line, its pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def summary(document: dict) -> str:
    """The Markdown a graded document (exercises.grade) adds to the job summary."""
    lab, graded, score = document["lab"], document["check"], document["score"]
    lines = [f"### forklab · exercise {lab['number']:02d} · {_cell(lab['title'])} · {_cell(graded['submission'])}",
             "", f"Points {score['earned']}/{score['total']}", ""]
    if graded["reason"]:
        lines += [f"**{_cell(graded['reason'])}**" + ("" if graded["counted"] else " (so no check counts)"), ""]
    lines += ["| | check | points |", "|---|---|---|"]
    for check in document["checks"]:
        if check.get("hidden"):
            continue
        points = check.get("points", 1)
        earned = points if check["passed"] and graded["counted"] else 0
        text = _cell(check["name"])
        if not check["passed"]:
            text += f"<br>{_cell(check['detail'])}" + (f"<br>hint: {_cell(check['hint'])}" if check.get("hint") else "")
        lines.append(f"| {'✅' if check['passed'] else '❌'} | {text} | {earned}/{points} |")
    hidden = graded["hidden"]
    if hidden["total"]:
        lines.append(f"| | hidden checks: {hidden['passed']} of {hidden['total']} passed | |")
    return "\n".join(lines) + "\n\n"


def annotations(document: dict) -> list[str]:
    """The two workflow commands GitHub Classroom's autograding reporter prints, with this score."""
    score = document["score"]
    report = json.dumps({"totalPoints": score["earned"], "maxPoints": score["total"]}, separators=(",", ":"))
    return [f"::notice title=Autograding complete::Points {score['earned']}/{score['total']}",
            f"::notice title=Autograding report::{report}"]


def publish(document: dict, path: Path, out: Optional[TextIO] = None) -> None:
    """Append the summary to ``path``; under GitHub Actions, print the annotations too (to ``out``, else stdout)."""
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(summary(document))
    except OSError as exc:
        raise UsageError(f"--summary {path}: cannot be written ({exc.strerror})") from None
    if os.environ.get("GITHUB_ACTIONS") == "true":
        out = out or sys.stdout
        out.write("".join(line + "\n" for line in annotations(document)))
        out.flush()
